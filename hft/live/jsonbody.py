"""The one rule the live service decodes a JSON request body by: the order API (`hft.live.orders`), the admin
routes (`hft.live.app`) and the signed signal webhooks (`hft.live.webhooks.schema`).

`decode(decoder, body, known)`: msgspec's strict decoding into the route's `msgspec.Struct` (malformed JSON,
wrong types, unknown fields where the struct forbids them, missing fields), then the one check msgspec lacks: a
key repeated within one object (``{"qty": 1, "qty": 100}``) is refused, where msgspec keeps the last value
(msgspec issue 648). Any failure is a `BodyError` naming the field, what was expected and its kind (the
webhooks' ``gateway_validation_errors{type}`` label); each route answers it with its own 4xx.

The duplicate check is cheap on the order path: a valid body holds a colon for every key (`K` keys, at least
`K` colons), so when the colons are no more than the distinct keys the decoded struct holds (`known(obj)`, a
lower bound is enough), no key can repeat; for a flat object whose string values hold colons, the count of
``"`` settles it as exactly (`unique_keys`' `quotes`); only the rest (a nested object, an escaped quote, a
repeated key) is scanned exactly (`duplicate_key`: an iterative token scan, no recursion).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

_AT = re.compile(r"at `\$\.?([^`\[]*)")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]*)`")
# a JSON string (its escapes unrolled) or a structural character; outside strings a valid body has no `"`, so
# scanning the matches in order meets every string whole
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:]')
_STR_DEC = msgspec.json.Decoder(str)


class BodyError(Exception):
    """A request body refused: the `field` (``$body`` for the whole), the `reason` (what was expected) and the
    `kind`: ``malformed_json``, ``unknown_field``, ``missing_field``, ``type``, ``duplicate_key``."""

    def __init__(self, field: str, reason: str, kind: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.kind = kind


def error_of(exc: msgspec.ValidationError | msgspec.DecodeError | UnicodeDecodeError, body: bytes = b"") -> BodyError:
    """The `BodyError` of a msgspec decoding error: the field its message names, msgspec's message as reason.
    Invalid UTF-8 inside a JSON string (msgspec < 0.23 raises `UnicodeDecodeError`, 0.23 a `DecodeError`) names the
    key of the string in `body` (`utf8_error`)."""
    if isinstance(exc, UnicodeDecodeError) or (not isinstance(exc, msgspec.ValidationError) and not is_utf8(body)):
        return utf8_error(body)
    msg = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        m = _UNKNOWN.search(msg)
        if m:
            return BodyError(m.group(1), msg, "unknown_field")
        m = _MISSING.search(msg)
        if m:
            return BodyError(m.group(1), msg, "missing_field")
        m = _AT.search(msg)
        return BodyError(m.group(1) if m and m.group(1) else "$body", msg, "type")
    return BodyError("$body", f"malformed JSON: {msg}", "malformed_json")


def decode(decoder: msgspec.json.Decoder, body: bytes, known: Callable[[Any], int] | None = None) -> Any:
    """`body` decoded by `decoder` and checked for repeated keys, or `BodyError`. `known(obj)`: how many distinct
    keys the decoded object shows the body held (a lower bound; None: 0, every body with a colon is scanned)."""
    try:
        obj = decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise error_of(exc, body) from None
    unique_keys(body, known(obj) if known is not None else 0)
    return obj


def is_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def utf8_error(body: bytes) -> BodyError:
    """The `BodyError` of a body holding invalid UTF-8 inside a JSON string: the field is the key whose value
    holds the first invalid byte (``$body`` when it is in a key itself, or cannot be placed)."""
    try:
        body.decode("utf-8")
        return BodyError("$body", "expected UTF-8 text", "type")
    except UnicodeDecodeError as e:
        pos = e.start
    reason = f"expected UTF-8 text, byte {pos} (0x{body[pos]:02x}) is not"
    key = None  # the key of the innermost value being read
    last = b'""'
    tokens = _TOKEN.finditer(body)
    for m in tokens:
        if m.start() > pos:
            break
        t = m.group()
        if t[0] == 0x22:
            if m.end() > pos:  # the invalid byte is in this string: a key if a colon follows
                after = next(tokens, None)
                if key is None or (after is not None and after.group() == b":"):
                    return BodyError("$body", reason + " (in a key)", "type")
                return BodyError(key, reason, "type")
            last = t
        elif t[0] == 0x3A:
            k = _unescaped(last) if b"\\" in last else last[1:-1]
            key = k.decode("utf-8", "replace")
    return BodyError("$body", reason, "type")


def unique_keys(body: bytes, known: int, quotes: int = 0) -> None:
    """`BodyError` (kind ``duplicate_key``) when an object of `body` (valid JSON, already decoded) repeats a key.

    `known`: a lower bound of the distinct keys of its top-level object; the scan is skipped when the body has
    no more colons than that. `quotes`: for a flat object, the ``"`` characters it holds when no key repeats
    (2 per key and 2 per string value the decoded object shows; 0: not given): a repeat adds 2 per repeated key
    (and 2 per string value it carries), an escaped quote 1, so a body holding exactly that many repeats no key
    and a colon inside a value (a client order id ``desk:1:10:00``) does not cost the scan."""
    if body.count(b":") <= known:
        return
    if quotes and body.count(b'"') == quotes:
        return
    dup = duplicate_key(body)
    if dup is not None:
        raise BodyError(dup, f"duplicate key `{dup}`: expected each key once in an object", "duplicate_key")


def duplicate_key(body: bytes) -> str | None:
    """The first key repeated within one object of `body` (valid JSON), after unescaping (``"q\\u0074y"`` is
    ``qty``), else None. Iterative: any depth."""
    stack: list[set[bytes] | None] = []
    last = b""
    for m in _TOKEN.finditer(body):
        t = m.group()
        c = t[0]
        if c == 0x22:  # a string: a key if a colon follows
            last = t
        elif c == 0x3A:  # ':' after the key `last` of the innermost object
            key = _unescaped(last) if b"\\" in last else last[1:-1]
            seen = stack[-1]
            if seen is not None:
                if key in seen:
                    return key.decode("utf-8", "replace")
                seen.add(key)
        elif c == 0x7B:  # '{'
            stack.append(set())
        elif c == 0x5B:  # '['
            stack.append(None)
        else:  # '}' or ']'
            stack.pop()
    return None


def _unescaped(token: bytes) -> bytes:
    """A JSON string token's value as UTF-8 (a lone surrogate escape kept as such; an undecodable token, which a
    body msgspec accepted should not hold, as written)."""
    try:
        return _STR_DEC.decode(token).encode("utf-8", "surrogatepass")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return token[1:-1]
