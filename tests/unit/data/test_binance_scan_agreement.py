"""The compiled Binance scanner and the json reader read every line alike (`hft.data.binance`, "Accepted lines").

The scanner (`hft.data._binance_scan._scan`, numba) and the json reader (`hft.data._binance_json.read_line`, plain
Python over `json.loads`) share no code. Every line of the real captures must give the same message and level rows
through both; generated lines of every edge shape must too: a line the scanner takes, json takes into the same
rows; a line the scanner refuses, json refuses, or takes and the scanner then takes its compact spelling into the
same rows. Where the importer finds them apart, its error names both readings and the CPU target (a planted
fault shows it).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.errors import DataValidationError
from hft.data import _binance_read, binance
from hft.data._binance_json import MAX_INT, Refusal, SymbolMismatch, read_line
from hft.data._binance_scan import (
    _C_N,
    _L_COLS,
    _M_COLS,
    _MIX_FIRST,
    _MIX_N,
    _SLOT_ID,
    C_LINE,
    C_LVLS,
    C_MSGS,
    M_E,
    M_ID,
    M_LV0,
    M_NLV,
    M_POS,
    M_PU,
    M_SHAPE,
    M_T,
    M_TS,
    M_TYPE,
    M_U_FIRST,
    P_DONE,
    P_FALLBACK,
    P_SYMBOL,
    T_SNAPSHOT,
    _scan,
    _slot_of,
)

COLS = [M_TS, M_TYPE, M_E, M_T, M_U_FIRST, M_ID, M_PU, M_NLV, M_SHAPE]  # a line's own columns
SYM = "BTCUSDT"
# every line of one file per market (each with its snapshot); of the others every 16th line and every snapshot
# (HFT_SCAN_AGREEMENT_ALL=1: every line of every file, ~20 s more)
CAPTURES = {"spot/ethusdt_20240808.gz": 1, "usdm/ethusdt_20240808.gz": 1, "cm/ethusd_perp_20240808.gz": 1,
            "spot/btcusdt_20240808.gz": 16, "spot/btcusdt_20240809.gz": 16, "spot/ethusdt_20240809.gz": 16,
            "usdm/btcusdt_20240808.gz": 16, "cm/btcusd_perp_20240808.gz": 16, "cm/btcusd_perp_20240809.gz": 16,
            "cm/ethusd_perp_20240809.gz": 16}


def scan(buf: bytes, symbol: str = SYM) -> tuple[int, np.ndarray, np.ndarray]:
    """The scanner over `buf` from its start: (status, message rows, level rows) of the lines it took."""
    msgs = np.zeros((len(buf) // 24 + 8, _M_COLS), np.int64)
    lv = np.zeros((len(buf) // 10 + 8, _L_COLS), np.int64)
    cnt = np.zeros(_C_N, np.int64)
    cnt[C_LINE] = 1
    status = _scan(np.frombuffer(buf, np.uint8), len(buf), np.frombuffer(symbol.encode(), np.uint8), msgs, lv, cnt)
    return status, msgs[: cnt[C_MSGS]], lv[: cnt[C_LVLS]]


def rows(msg: Any, levels: Any) -> tuple[list[int], list[list[int]]]:
    """A line's reading, comparable: its own message columns and its level rows."""
    return [int(msg[c]) for c in COLS], [[int(x) for x in r] for r in levels]


# --- the real captures: every line ------------------------------------------------------------------------------
@pytest.mark.shared_data
@pytest.mark.parametrize(("rel", "stride"), CAPTURES.items())
def test_the_lines_of_the_real_captures_read_alike(shared_data: Path, rel: str, stride: int) -> None:
    path = shared_data / "binance" / rel
    data = gzip.decompress(path.read_bytes())
    symbol = path.name.rsplit("_", 1)[0].upper()
    status, msgs, lv = scan(data, symbol)
    assert status == P_DONE and len(msgs) == data.count(b"\n"), "the scanner takes every line of a real capture"
    stride = 1 if os.environ.get("HFT_SCAN_AGREEMENT_ALL") else stride
    for j in range(len(msgs)):
        if j % stride and msgs[j, M_TYPE] != T_SNAPSHOT:
            continue
        pos = int(msgs[j, M_POS])
        line = data[pos: data.index(b"\n", pos)]
        got = read_line(line, symbol)
        a = int(msgs[j, M_LV0])
        assert rows(msgs[j], lv[a: a + int(msgs[j, M_NLV])]) == rows(got.msg, got.levels), (rel, j + 1)


# --- generated lines: every edge shape --------------------------------------------------------------------------
class Obj(list):
    """A JSON object as (key, value) pairs, so that a key may be given twice."""


class Raw(str):
    """A value spelled as given (``-0``, ``1.5``, an escaped string)."""


def spell(v: Any, sep: tuple[str, str]) -> str:
    if isinstance(v, Obj):
        return "{" + sep[0].join(f"{json.dumps(k, ensure_ascii=False)}{sep[1]}{spell(x, sep)}" for k, x in v) + "}"
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, list):
        return "[" + sep[0].join(spell(x, sep) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def _slot(text: str) -> int:
    return _slot_of(text.encode(), _MIX_N, _MIX_FIRST)


def _slot_twin(literal: str) -> str:
    """A string of `literal`'s length, not it, that the scanner looks up in `literal`'s slot: only the byte
    comparison tells them apart (its middle changed, or for a short literal other printable end bytes)."""
    n = len(literal)
    if n >= 3:
        return literal[0] + ("x" if literal[1] != "x" else "y") + literal[2:]
    printable = [chr(c) for c in range(32, 127) if chr(c) not in '"\\']
    for first in printable:
        for last in printable:
            cand = first + last if n == 2 else first
            if cand != literal and (n == 2 or first == last) and _slot(cand) == _slot(literal):
                return cand
    raise AssertionError(f"no twin of {literal!r}")


TWINS = [_slot_twin(k) for k in ("data", "stream", "e", "ps", "lastUpdateId", "depthUpdate", "MARKET")]
assert all(_SLOT_ID[_slot(t)] >= 0 for t in TWINS)

def mostly(good: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    """`good` about 7 times in 8, else `odd` (`st.one_of` would pick each about as often)."""
    return st.integers(0, 7).flatmap(lambda i: odd if i == 3 else good)


ints = mostly(st.integers(0, 10**13), st.sampled_from([0, 1, MAX_INT - 1, MAX_INT, 2**63 - 1, 2**63, 10**20]))
plain_dec = st.builds(lambda w, f: w + ("." + f if f else ""), st.from_regex(r"[0-9]{1,6}", fullmatch=True),
                      st.from_regex(r"[0-9]{0,8}", fullmatch=True))
edge_dec = st.sampled_from(["0", "0.0", "00.10", "000", "1.", ".5", "1e5", "-1", "1.2.3", "", "\u0663", "1" * 18,
                            "1" * 19, "0" * 5 + "1" * 18, "1" * 18 + ".0", "0." + "0" * 17 + "1", "0." + "1" * 18,
                            " 1", "1,0", "9" * 18 + "." + "0" * 30, "12\udcff"])
decs = mostly(plain_dec, edge_dec)
levels = st.lists(mostly(st.lists(decs, min_size=2, max_size=2),
                         st.one_of(st.lists(decs, max_size=3), st.just([1, 2]), st.just("1"))), max_size=4)
odd_values = st.sampled_from([None, True, False, 1.5, Raw("-3"), Raw("-0"), Raw("1.0"), Raw("1E2"), [], Obj(), "x",
                              0, 7, MAX_INT - 1, MAX_INT, Raw('"btc\\u0040x"'), Raw('"a\\"b"'), Raw('"t\\tab"'),
                              "\u00e9t\u00e9", "bad\udcff", Raw("NaN"), Raw("[[\"1\",\"2\"]]")])
symbols = st.sampled_from([SYM, SYM, SYM, "ETHUSDT", "BTCUSDTX", "btcusdt", "BTCUSD\u00c9"])
keys = st.sampled_from(["M", "x", "stream", "data", "bids", "lastUpdateId", "E2", "\u00e9", 'a"b', "", *TWINS,
                        "e", "E", "T", "s", "ps", "U", "u", "pu", "b", "a", "B", "A", "t", "p", "q", "m", "X",
                        "symbol", "pair", "asks"])


@st.composite
def messages(draw: st.DrawFn) -> Obj:
    """A valid message (depth, trade, ticker, snapshot; spot, usdm or cm fields) of a symbol (mostly the stream's),
    then 0-3 mutations."""
    sym = draw(symbols)
    kind = draw(st.sampled_from(["depth", "trade", "ticker", "snapshot"]))
    opt = draw(st.lists(st.booleans(), min_size=4, max_size=4))
    if kind == "snapshot":
        top = Obj([("lastUpdateId", draw(ints))] + ([("E", draw(ints)), ("T", draw(ints))] if opt[0] else [])
                  + ([("symbol", sym), ("pair", "BTCUSD")] if opt[1] else [])
                  + [("bids", draw(levels)), ("asks", draw(levels))])
        body = top
    else:
        if kind == "depth":
            body = Obj([("e", "depthUpdate"), ("E", draw(ints))] + ([("T", draw(ints))] if opt[0] else [])
                       + [("s", sym)] + ([("ps", "BTCUSD")] if opt[1] else [])
                       + [("U", draw(ints)), ("u", draw(ints))] + ([("pu", draw(ints))] if opt[2] else [])
                       + [("b", draw(levels)), ("a", draw(levels))])
        elif kind == "trade":
            body = Obj([("e", "trade"), ("E", draw(ints)), ("T", draw(ints)), ("s", sym), ("t", draw(ints)),
                        ("p", draw(decs)), ("q", draw(decs))]
                       + ([("X", draw(st.sampled_from(["MARKET", "INSURANCE_FUND", "MARKE"])))] if opt[0] else [])
                       + [("m", draw(st.booleans()))] + ([("M", True)] if opt[1] else []))
        else:
            body = Obj(([("e", "bookTicker")] if opt[0] else []) + [("u", draw(ints)), ("s", sym)]
                       + ([("ps", "BTCUSD")] if opt[1] else [])
                       + [("b", draw(decs)), ("B", draw(decs)), ("a", draw(decs)), ("A", draw(decs))]
                       + ([("T", draw(ints)), ("E", draw(ints))] if opt[2] else []))
        top = Obj(([("stream", draw(st.sampled_from(["btcusdt@depth", Raw('"btcusdt\\u0040trade"'), "x"])))]
                   if opt[3] else []) + [("data", body)])
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from([top, body]))
        op = draw(st.sampled_from(["drop", "add", "twice", "retype", "shuffle", "event", "unwrap"]))
        if op == "drop" and target:
            del target[draw(st.integers(0, len(target) - 1))]
        elif op == "add":
            target.insert(draw(st.integers(0, len(target))), (draw(keys), draw(st.one_of(odd_values, ints, decs))))
        elif op == "twice" and target:
            k, v = target[draw(st.integers(0, len(target) - 1))]
            target.insert(draw(st.integers(0, len(target))), (k, draw(st.sampled_from([v, v, "1", 1]))))
        elif op == "retype" and target:
            i = draw(st.integers(0, len(target) - 1))
            target[i] = (target[i][0], draw(st.one_of(odd_values, ints, decs, levels, symbols)))
        elif op == "shuffle":
            target[:] = draw(st.permutations(list(target)))
        elif op == "event":
            e = draw(st.sampled_from(["depthUpdate", "trade", "bookTicker", "aggTrade", "MARKET", 5, None]))
            body[:] = [kv for kv in body if kv[0] != "e"] + ([("e", e)] if e is not None else [])
        elif op == "unwrap" and top is not body:
            top[:] = list(body)
    return top


ts_texts = mostly(st.integers(1, 2 * 10**18).map(str),
                  st.sampled_from(["0", "01", str(MAX_INT - 1), str(MAX_INT), "1" * 20, "", "-5", "1.5"]))


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    """A capture line of a generated message in one of several spellings."""
    obj = draw(messages())
    sep = draw(st.sampled_from([(",", ":"), (",", ":"), (",", ":"), (", ", ": "), (" ,", " :")]))
    text = draw(ts_texts) + draw(mostly(st.just(" "), st.sampled_from(["  ", "\t", ""]))) + spell(obj, sep)
    text += draw(mostly(st.just(""), st.sampled_from(["\r", " ", "x", "}"])))
    return text.encode("utf-8", "surrogateescape")


def _json(line: bytes, symbol: str = SYM) -> tuple[str, Any]:
    try:
        return "ok", read_line(line, symbol, compact=True)
    except SymbolMismatch as exc:
        return "symbol", exc
    except Refusal as exc:
        return "refused", exc


@settings(max_examples=500)
@given(lines())
def test_generated_lines_read_alike(line: bytes) -> None:
    """A line the scanner takes, json takes into the same rows (or finds the same other symbol); a line the
    scanner refuses, json refuses, or takes and the scanner takes its compact spelling into the same rows."""
    status, msgs, lv = scan(line)
    verdict, got = _json(line)
    if status == P_DONE:
        assert verdict == "ok", (line, got)
        assert rows(msgs[0], lv) == rows(got.msg, got.levels), line
    elif status == P_SYMBOL:
        assert verdict == "symbol", (line, got)
    else:
        assert status == P_FALLBACK
        if verdict == "ok":
            status2, msgs2, lv2 = scan(got.compact)
            assert status2 == P_DONE, (line, got.compact)
            assert rows(msgs2[0], lv2) == rows(got.msg, got.levels), (line, got.compact)
        elif verdict == "symbol":  # its compact spelling, read as the symbol it names, is another symbol's
            verdict2, got2 = _json(line, got.symbol)
            assert verdict2 == "ok" and scan(got2.compact)[0] == P_SYMBOL, (line, got2)


# --- the importer: a line both refuse is the data's fault, a line they read apart the kernel's -------------------
def _capture(tmp_path: Path, lines: list[str]) -> Path:
    from tests.unit.data.test_binance import write

    return write(tmp_path / "usdm" / "btcusdt_20240808.gz", lines)


def _lines() -> list[str]:
    from tests.unit.data.test_binance import usdm_lines

    return usdm_lines()


def _import(path: Path) -> Any:
    return binance.import_binance([path])


@pytest.mark.parametrize(("change", "reason"), [
    (lambda ln: ln.replace(' {"stream":"btcusdt@trade","data":', " ")[:-1],
     'expected a combined-stream message {"stream":…,"data":{…}} or a depth snapshot {"lastUpdateId":…}, found an '
     "object with keys ['e', 'E', 'T', 's', 't', 'p', 'q', 'X', 'm']"),
    (lambda ln: ln.replace('{"stream"', '{"id":7,"stream"'),
     "message: expected the keys ['stream', 'data'], found key 'id'"),
    (lambda ln: ln.replace('"X":"MARKET"', '"X":null'),
     "trade data field 'X': expected a string, found null"),
    (lambda ln: ln.replace('"X":"MARKET"', '"X":"MARKET","o":{"a":1}'),
     "trade data field 'o': expected a string, an integer 0 <= n < 9000000000000000000 or a boolean, found {\"a\": 1}"),
    (lambda ln: ln.replace('"t":7', '"t":7.0'),
     "trade data field 't': expected an integer 0 <= n < 9000000000000000000, found 7.0"),
    (lambda ln: ln.replace('"t":7', '"t":-7'),
     "trade data field 't': expected an integer 0 <= n < 9000000000000000000, found -7"),
    (lambda ln: ln.replace('"t":7', '"t":9000000000000000000'),
     "trade data field 't': expected an integer 0 <= n < 9000000000000000000, found 9000000000000000000"),
    (lambda ln: ln.replace('"m":true', '"m":1'), "trade data field 'm': expected true or false, found 1"),
    (lambda ln: ln.replace('"p":"100.00"', '"p":"1000000000000000000.0"'),
     "trade data field 'p': expected a decimal string [0-9]+(.[0-9]+)? of at most 18 significant digits, found "
     '"1000000000000000000.0"'),
    (lambda ln: ln.replace('"t":7', '"t":7,"t":8'), "trade data: expected each key once, found 't' twice"),
    (lambda ln: ln.replace('"s":"BTCUSDT"', '"s":"BTC\\"USDT"'),
     "s: expected a string without '\"', '\\' or control characters, found 'BTC\"USDT'"),
    (lambda ln: "0" + ln, "local_receive_ts_ns: expected an integer 0 < n < 9000000000000000000 without leading "
                          "zeros, found '01003'"),
    (lambda ln: "0 " + ln.split(" ", 1)[1], "local_receive_ts_ns: expected an integer 0 < n < 9000000000000000000 "
                                             "without leading zeros, found '0'"),
    (lambda ln: "1" * 20 + " " + ln.split(" ", 1)[1],
     "local_receive_ts_ns: expected an integer 0 < n < 9000000000000000000 without leading zeros, found "
     "'11111111111111111111'"),
    (lambda ln: ln.replace('"e":"trade"', '"e":"aggTrade"'),
     "expected a depthUpdate, trade or bookTicker event, found event 'aggTrade'"),
    (lambda ln: ln.replace('"t":7,', ''), "trade: expected the fields ['t', 'T', 'p', 'q', 'm'], missing ['t']"),
])
def test_a_line_outside_the_accepted_shapes_is_the_datas_fault(tmp_path: Path, change: Any, reason: str) -> None:
    """Both readers refuse it: a DataValidationError naming the file, the line and why (json's one-line reason)."""
    lines = _lines()
    lines[3] = change(lines[3])
    path = _capture(tmp_path, lines)
    with pytest.raises(DataValidationError) as exc:
        _import(path)
    assert not isinstance(exc.value, binance.ScannerDisagreement)
    assert str(exc.value) == f"{path}: row 4: {reason}" and exc.value.fields["line"] == 4


def test_lines_the_scanner_leaves_to_json_import_as_their_compact_spelling(tmp_path: Path) -> None:
    """CRLF line ends, spaces, escapes json decodes to plain characters, other key orders, a key given twice that
    the importer does not read: read through json, the same events as the compact lines."""
    compact = _lines()
    loose = [ln.replace(',"', ', "').replace('":', '": ').replace("@", "\\u0040") + "\r" for ln in compact]
    loose[3] = loose[3].replace('"X": "MARKET"', '"M": null, "X": "MARKET", "M": true')
    a = _import(_capture(tmp_path / "a", compact))
    b = _import(_capture(tmp_path / "b", loose))
    assert np.array_equal(a.events, b.events) and len(a.events) > 0


def _stand_in(fault: str) -> Any:
    """The compiled scanner with a planted fault: `refuse` every line (the miscompiled scanner of the issue),
    `misread` every price it writes (one more in its last digit), or find `symbol` another symbol in every line."""
    real = _scan

    def scan_(buf: np.ndarray, end: int, sym: np.ndarray, msgs: np.ndarray, lv: np.ndarray, cnt: np.ndarray) -> int:
        if fault in ("refuse", "symbol"):
            return P_FALLBACK if fault == "refuse" else P_SYMBOL
        k0 = int(cnt[C_LVLS])
        status = real(buf, end, sym, msgs, lv, cnt)
        lv[k0: cnt[C_LVLS], 1] += 1
        return status

    return scan_


@pytest.mark.parametrize(("fault", "scanner_says"), [
    ("refuse", 'the scanner refuses its compact form \'1000 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate"…\''),
    ("misread", "the scanner reads it as depthUpdate ts 1000 E 1723161257000 T 1723161257000 U 90 u 95 pu 80, 1 level "
                "[b 99.91 9.000]"),
])
def test_a_scanner_that_reads_a_valid_line_otherwise_is_named_with_both_readings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str, scanner_says: str) -> None:
    """A planted fault in the compiled scanner is not blamed on the data: the error says the scanner and json.loads
    disagree, gives both readings and the CPU target, and how to fall back."""
    path = _capture(tmp_path, _lines())
    monkeypatch.setattr(_binance_read, "_scan", _stand_in(fault))
    with pytest.raises(binance.ScannerDisagreement) as exc:
        _import(path)
    err = exc.value
    target = binance.cpu_target()
    assert str(err) == (
        f"{path}: row 1: the compiled scanner and json.loads disagree on this line (a fault of the scanner compiled "
        f"for CPU target {target}, not of the data): json.loads reads depthUpdate ts 1000 E 1723161257000 "
        f"T 1723161257000 U 90 u 95 pu 80, 1 level [b 99.90 9.000]; {scanner_says}")
    assert "\n" not in str(err) and err.exit_code == 12 and err.fields["cpu_target"] == target
    assert "NUMBA_CPU_NAME=x86-64-v2" in (err.hint or "")


def test_a_scanner_that_finds_another_symbol_in_a_valid_line_is_named(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = _capture(tmp_path, _lines())
    monkeypatch.setattr(_binance_read, "_scan", _stand_in("symbol"))
    with pytest.raises(binance.ScannerDisagreement, match=r"row 1: the compiled scanner and json\.loads disagree .*"
                       r"the scanner finds another symbol than BTCUSDT in it"):
        _import(path)


def test_the_cpu_target_is_numbas(monkeypatch: pytest.MonkeyPatch) -> None:
    import numba

    monkeypatch.setattr(numba.config, "CPU_NAME", "x86-64-v3")
    assert binance.cpu_target() == "x86-64-v3"
    monkeypatch.setattr(numba.config, "CPU_NAME", None)
    assert binance.cpu_target().startswith("host: ")  # the format of every message naming it (hft.core.selftest)


@pytest.mark.parametrize("tail", [b"123 {", b'123 {"data":{', b'123 {"data":{"e":', b'123 {"data":{"m":tru',
                                  b'123 {"bids":[["1","2"],', b"123", b"123 "])
def test_a_buffer_that_ends_inside_a_line_is_refused_without_reading_past_it(tail: bytes) -> None:
    """Every read is checked against the buffer's end (NUMBA_BOUNDSCHECK=1 runs of the suite see any that is
    not): a capture cut inside its last line is refused by both readers."""
    assert scan(tail)[0] == P_FALLBACK
    assert _json(tail)[0] == "refused"
