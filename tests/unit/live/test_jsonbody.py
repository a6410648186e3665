"""`hft.live.jsonbody`: the one decoding rule of the service's JSON bodies, its repeated-key check above all."""

from __future__ import annotations

import json
import random

import msgspec
import pytest

from hft.live import jsonbody as J


@pytest.mark.parametrize("body, dup", [
    (b'{"a": 1, "a": 2}', "a"),
    (b'{"a" : 1 , "a"\n:2}', "a"),
    (b'{"qty": 1, "q\\u0074y": 2}', "qty"),  # the same key once unescaped
    (b'{"t": "10:00:00", "u": {"k": 1, "k": 2}}', "k"),  # in a nested object
    (b'{"a": [{"x": 1}, {"x": 1, "x": 2}]}', "x"),
    (b'{"a": {"b": 1}, "c": {"b": 2}}', None),  # one key in two objects
    (b'{"a": [{"x": 1}, {"x": 1}]}', None),
    (b'{"a": "x\\": \\"a\\": y", "b": "a"}', None),  # escaped quotes and colons inside a value
    (b'{"\\u00e9": 1, "\xc3\xa9": 2}', "\u00e9"),
    (b'[]', None),
    (b'{}', None),
])
def test_duplicate_key(body, dup):
    json.loads(body)  # valid JSON, as the scan assumes
    assert J.duplicate_key(body) == dup


def test_decode_refuses_a_repeated_key_naming_it():
    dec = msgspec.json.Decoder(dict)
    with pytest.raises(J.BodyError) as ei:
        J.decode(dec, b'{"qty": 1, "qty": 100}')
    assert (ei.value.field, ei.value.kind) == ("qty", "duplicate_key")
    assert J.decode(dec, b'{"qty": 1}', len) == {"qty": 1}


@pytest.mark.parametrize("body, field, kind", [
    (b'{"qty": ', "$body", "malformed_json"),
    (b'{"qty": "1"}', "qty", "type"),
    (b'{"qty": 1, "colour": 2}', "colour", "unknown_field"),
    (b'{}', "qty", "missing_field"),
])
def test_decode_names_the_field(body, field, kind):
    class Body(msgspec.Struct, forbid_unknown_fields=True):
        qty: int

    with pytest.raises(J.BodyError) as ei:
        J.decode(msgspec.json.Decoder(Body), body)
    assert (ei.value.field, ei.value.kind) == (field, kind)


def test_the_fast_path_never_hides_a_repeated_key():
    """`unique_keys(body, known)` skips the scan only when colons <= known distinct keys: random flat bodies with
    colons in values, spaces, and repeated keys, against Python's own pairs."""
    rng = random.Random(7)
    names = ["a", "b", "c", "d"]
    for _ in range(2000):
        pairs = [(rng.choice(names), rng.choice([1, "x:y", "z", ":"])) for _ in range(rng.randint(0, 5))]
        body = ("{" + ", ".join(f'"{k}"{" " * rng.randint(0, 1)}:{json.dumps(v)}' for k, v in pairs) + "}").encode()
        distinct = len({k for k, _ in pairs})
        repeated = distinct != len(pairs)
        try:
            J.unique_keys(body, distinct)
        except J.BodyError:
            assert repeated, body
        else:
            assert not repeated, body


class _Flat(msgspec.Struct, forbid_unknown_fields=True):
    a: str = ""
    b: str = ""
    c: str = ""
    n: int = 0


def test_the_quote_count_path_never_hides_a_repeated_key():
    """With the quotes a flat body holds when no key repeats (2 per key and per string value), colons inside
    values (and inside an overwritten value) do not cost the scan, and a repeated key is still found: random
    flat bodies (escapes, spaces, colons and quotes inside values) against Python's own pairs."""
    rng = random.Random(11)
    for _ in range(5000):
        pairs = [(k, rng.randint(0, 9) if k == "n" else rng.choice(["", "x:y", "::", "z", "a\\u003ab", 'q\\":']))
                 for k in (rng.choice("abcn") for _ in range(rng.randint(0, 6)))]
        body = ("{" + ", ".join(f'"{k}"{" " * rng.randint(0, 1)}:' + (f'"{v}"' if isinstance(v, str) else str(v))
                                for k, v in pairs) + "}").encode()
        msgspec.json.decode(body, type=_Flat)  # valid, as decoded before the check (every occurrence typed)
        keys = {k for k, _ in pairs}
        strings = len(keys - {"n"})
        try:
            J.unique_keys(body, len(keys), 2 * (len(keys) + strings))
        except J.BodyError:
            assert len(keys) != len(pairs), body
        else:
            assert len(keys) == len(pairs), body
