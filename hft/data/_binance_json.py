"""The `json.loads` reading of a Binance capture line: the accepted shapes (`hft.data.binance`'s docstring) in
plain Python, into the message and level rows the compiled scanner (`hft.data._binance_scan`) writes.

It shares no code with the scanner: the scanner is fast and reads only compact lines; this reader is slow and
reads any JSON spelling of the same message. The importer reads every line the scanner refuses here (a line this
reader refuses is a data fault, `Refusal`, with a one-line reason), and checks that the two agree: the scanner must
read the compact re-serialisation (`Reading.compact`) of every line this reader accepts into the same rows, and
a sample of the lines it read itself must read the same here (else a kernel fault,
`hft.data.binance.ScannerDisagreement`). tests/unit/data/test_binance_scan_agreement.py holds them equal on every
line of the real captures and on generated edge shapes.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from hft.core.dtypes import BUY, SELL
from hft.data._binance_scan import (
    _ABSENT,
    _M_COLS,
    M_E,
    M_ID,
    M_NLV,
    M_PU,
    M_SHAPE,
    M_T,
    M_TS,
    M_TYPE,
    M_U_FIRST,
    SH_NONMARKET,
    SH_PS,
    SH_PU,
    T_DEPTH,
    T_SNAPSHOT,
    T_TICKER,
    T_TRADE,
)

MAX_INT = 9 * 10**18  # integers read: 0 <= v < 9e18 (at most 19 digits, the 19th below 9: int64 without a check)
MAX_DIGITS = 18  # significant digits of a decimal string (leading zeros do not count)

# what each key may hold: int (0 <= v < MAX_INT, not a boolean), str, bool, dec (a decimal string), levels (a list
# of ["price", "qty"] decimal strings), obj (the data object)
_SNAPSHOT_KEYS = {"lastUpdateId": "int", "E": "int", "T": "int", "bids": "levels", "asks": "levels",
                  "symbol": "str", "pair": "str", "stream": "str"}
_WRAPPER_KEYS = {"stream": "str", "data": "obj"}
_DATA_KEYS = {"e": "str", "s": "str", "ps": "str", "X": "str", "E": "int", "T": "int", "U": "int", "u": "int",
              "pu": "int", "t": "int", "m": "bool", "b": "dec|levels", "a": "dec|levels", "B": "dec", "A": "dec",
              "p": "dec", "q": "dec"}
_NEEDS = {"depthUpdate": ("E", "U", "u", "b", "a"), "trade": ("t", "T", "p", "q", "m"),
          "bookTicker": ("u", "b", "B", "a", "A")}
_WHAT = {"int": f"an integer 0 <= n < {MAX_INT}", "str": "a string", "bool": "true or false",
         "dec": f"a decimal string [0-9]+(.[0-9]+)? of at most {MAX_DIGITS} significant digits",
         "levels": "a list of [\"price\", \"qty\"] decimal strings",
         "dec|levels": "a decimal string or a list of [\"price\", \"qty\"] decimal strings", "obj": "an object"}
_TS_RE = re.compile(rb"([0-9]+) (.*)\Z", re.DOTALL)
_ESCAPED = re.compile(r'["\\\x00-\x1f]')  # what compact JSON must escape (the scanner reads no escape)


class Refusal(ValueError):
    """A line outside the accepted shapes: `reason` is one line ("…: expected X, found Y"); `key` the field."""

    def __init__(self, reason: str, *, expected: str | None = None, found: str | None = None,
                 key: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.expected, self.found, self.key = reason, expected, found, key


class SymbolMismatch(Refusal):
    """A well-formed message of another symbol (`symbol`: the one it names)."""

    symbol = ""


class Reading(NamedTuple):
    """One line read: its message row (`_M_COLS` ints; line, level offset, file and position 0), its level rows
    (side, price digits, price decimals, qty digits, qty decimals) and, when asked, its compact spelling (what the
    scanner must read into the same rows; else empty)."""

    msg: tuple[int, ...]
    levels: list[tuple[int, int, int, int, int]]
    compact: bytes


def short(b: bytes | str, n: int = 80) -> str:
    """`b` quoted for a message, cut at `n` characters."""
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else b
    return repr(s if len(s) <= n else s[:n] + "…")


class _Obj(dict):
    """A JSON object that remembers which of its keys were given more than once (the last value is kept)."""

    dups: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> _Obj:
    obj = _Obj(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.dups = tuple(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return obj


def read_line(line: bytes, symbol: str, *, compact: bool = False) -> Reading:
    """The rows of one capture line (``<local_receive_ts_ns> <json>``) of `symbol`'s stream (and with `compact`,
    its compact spelling: the timestamp, one space, ``json.dumps(…, separators=(",", ":"), ensure_ascii=False)``).

    Raises:
        SymbolMismatch: a message of another symbol (``s`` / ``symbol``).
        Refusal: anything outside the accepted shapes, naming what and why.
    """
    m = _TS_RE.match(line)
    if not m:
        raise Refusal(f"expected '<local_receive_ts_ns> <json>', found {short(line)}",
                      expected="<local_receive_ts_ns> <json>", found=short(line))
    digits = m.group(1)
    ts = int(digits) if len(digits) <= 19 else MAX_INT  # (Python refuses to read a 4301-digit integer)
    if not 0 < ts < MAX_INT or digits[:1] == b"0":
        raise Refusal(f"local_receive_ts_ns: expected an integer 0 < n < {MAX_INT} without leading zeros, found "
                      f"{short(digits)}", expected=f"an integer 0 < n < {MAX_INT}", found=digits.decode(),
                      key="local_receive_ts_ns")
    # bytes that are not UTF-8 stay as they are (surrogates): the scanner takes any byte inside a string too
    text = m.group(2).decode("utf-8", "surrogateescape")
    try:
        obj = json.loads(text, object_pairs_hook=_pairs)
    except (ValueError, RecursionError) as exc:
        raise Refusal(f"expected a JSON message, found {short(text)} ({exc})", expected="JSON",
                      found=str(exc)) from None
    if not isinstance(obj, dict):
        raise Refusal(f"expected a JSON object, found {type(obj).__name__} {short(text)}", expected="a JSON object",
                      found=type(obj).__name__)
    if "\\" in text:  # without an escape no decoded string holds '"', '\\' or a control character (json refuses them raw)
        _no_escapes(obj)
    msg = [0] * _M_COLS
    for col in (M_E, M_T, M_U_FIRST, M_ID, M_PU):
        msg[col] = _ABSENT
    msg[M_TS] = ts
    if "data" in obj:
        levels = _data_message(obj, msg, symbol)
    elif "lastUpdateId" in obj:
        levels = _snapshot(obj, msg, symbol)
    else:
        raise Refusal(f"expected a combined-stream message {{\"stream\":…,\"data\":{{…}}}} or a depth snapshot "
                      f"{{\"lastUpdateId\":…}}, found an object with keys {_keys(obj)}",
                      expected="{\"stream\":…,\"data\":{…}} or {\"lastUpdateId\":…}", found=_keys(obj))
    msg[M_NLV] = len(levels)
    if not compact:
        return Reading(tuple(msg), levels, b"")
    # surrogates (bytes that were not UTF-8, or escaped ones) as 3 bytes each: the scanner skips any byte >= 0x80
    spelled = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    return Reading(tuple(msg), levels, digits + b" " + spelled)


def _keys(obj: dict[str, Any]) -> str:
    keys = list(obj)
    return str(keys[:12])[:-1] + ", …]" if len(keys) > 12 else str(keys)


def _no_escapes(v: Any, where: str = "") -> None:
    """Refuse a string (key or value) holding a character compact JSON escapes: the scanner reads no escape."""
    if isinstance(v, str):
        if _ESCAPED.search(v):
            raise Refusal(f"{where or 'a string'}: expected a string without '\"', '\\' or control characters, "
                          f"found {short(v)}", expected="no '\"', '\\' or control characters", found=short(v),
                          key=where or None)
    elif isinstance(v, dict):
        for k, x in v.items():
            _no_escapes(k, "a key")
            _no_escapes(x, k)
    elif isinstance(v, list):
        for x in v:
            _no_escapes(x, where)


def _spelled(v: Any, n: int = 80) -> str:
    """A JSON value as JSON spells it, cut at `n` characters."""
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + "…"


def _refuse_type(what: str, key: str, kind: str, v: Any) -> Refusal:
    return Refusal(f"{what} field {key!r}: expected {_WHAT[kind]}, found {_spelled(v)}", expected=_WHAT[kind],
                   found=_spelled(v), key=key)


def _is_int(v: Any) -> bool:
    return type(v) is int and 0 <= v < MAX_INT


def _dec(v: Any) -> tuple[int, int] | None:
    """A decimal string (``[0-9]+(.[0-9]+)?``, ASCII digits, at most `MAX_DIGITS` significant ones) → (its digits as
    an integer, its number of decimals); None if it is not one."""
    if type(v) is not str or not v.isascii():
        return None
    whole, dot, frac = v.partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()):  # ASCII: isdigit() is [0-9]+
        return None
    digits = whole + frac
    if len(digits.lstrip("0")) > MAX_DIGITS:
        return None
    return int(digits), len(frac)


def _levels(v: Any, side: int) -> list[tuple[int, int, int, int, int]] | None:
    """A level list (``[["price","qty"],…]`` of decimal strings) → level rows of `side`; None if it is not one."""
    if type(v) is not list:
        return None
    out = []
    for lvl in v:
        if type(lvl) is not list or len(lvl) != 2:
            return None
        p, q = _dec(lvl[0]), _dec(lvl[1])
        if p is None or q is None:
            return None
        out.append((side, p[0], p[1], q[0], q[1]))
    return out


_SIDES = {"bids": BUY, "asks": SELL, "b": BUY, "a": SELL}  # whose levels a level list holds


def _check(what: str, obj: _Obj, kinds: dict[str, str], *, others: bool) -> dict[str, Any]:
    """Every key of `obj` holds what `kinds` says; a key not in `kinds` is refused (`others` False) or may hold a
    string, an integer or a boolean (`others` True); no key of `kinds` twice. Returns the decimal strings and level
    lists read: key → (digits, decimals) or its level rows."""
    dup = [k for k in obj.dups if k in kinds or not others]
    if dup:
        raise Refusal(f"{what}: expected each key once, found {dup[0]!r} twice", expected="each key once",
                      found=f"{dup[0]!r} twice", key=dup[0])
    read: dict[str, Any] = {}
    for k, v in obj.items():
        kind = kinds.get(k)
        if kind is None:
            if not others:
                raise Refusal(f"{what}: expected the keys {list(kinds)}, found key {k!r}", expected=str(list(kinds)),
                              found=repr(k), key=k)
            if not (type(v) in (str, bool) or _is_int(v)):
                raise Refusal(f"{what} field {k!r}: expected a string, an integer 0 <= n < {MAX_INT} or a boolean, "
                              f"found {_spelled(v)}", key=k, found=_spelled(v),
                              expected=f"a string, an integer 0 <= n < {MAX_INT} or a boolean")
            continue
        if kind == "int":
            ok = _is_int(v)
        elif kind == "str":
            ok = type(v) is str
        elif kind == "bool":
            ok = type(v) is bool
        elif kind == "obj":
            ok = isinstance(v, dict)
        else:  # dec, levels, dec|levels
            if type(v) is list:
                got = _levels(v, _SIDES[k]) if kind != "dec" else None
            else:
                got = _dec(v) if kind != "levels" else None
            ok = got is not None
            read[k] = got
        if not ok:
            raise _refuse_type(what, k, kind, v)
    return read


def _same_symbol(found: str, symbol: str, key: str) -> None:
    if found != symbol:
        exc = SymbolMismatch(f"expected symbol {symbol}, found {key} {short(found)}", expected=symbol,
                             found=short(found), key=key)
        exc.symbol = found
        raise exc


def _snapshot(obj: _Obj, msg: list[int], symbol: str) -> list[tuple[int, int, int, int, int]]:
    read = _check("snapshot", obj, _SNAPSHOT_KEYS, others=False)
    missing = [k for k in ("lastUpdateId", "bids", "asks") if k not in obj]
    if missing:
        raise Refusal(f"snapshot: expected the keys lastUpdateId, bids and asks, missing {missing}",
                      expected="lastUpdateId, bids, asks", found=f"missing {missing}")
    if "symbol" in obj:
        _same_symbol(obj["symbol"], symbol, "symbol")
    msg[M_TYPE] = T_SNAPSHOT
    msg[M_ID] = obj["lastUpdateId"]
    msg[M_E] = obj.get("E", _ABSENT)
    msg[M_T] = obj.get("T", _ABSENT)
    return [row for k in obj if k in ("bids", "asks") for row in read[k]]  # in the order written


def _data_message(obj: _Obj, msg: list[int], symbol: str) -> list[tuple[int, int, int, int, int]]:
    _check("message", obj, _WRAPPER_KEYS, others=False)
    data: _Obj = obj["data"]
    e = data.get("e")
    what = e if isinstance(e, str) and e in _NEEDS else "message"
    read = _check(f"{what} data", data, _DATA_KEYS, others=True)
    if e is None:
        e = "bookTicker"  # spot's bookTicker stream names no event
    if e not in _NEEDS:
        raise Refusal(f"expected a depthUpdate, trade or bookTicker event, found event {short(e)}",
                      expected="depthUpdate, trade or bookTicker", found=short(e), key="e")
    missing = [k for k in _NEEDS[e] if k not in data]
    if missing:
        raise Refusal(f"{e}: expected the fields {list(_NEEDS[e])}, missing {missing}", expected=str(list(_NEEDS[e])),
                      found=f"missing {missing}")
    lists = e == "depthUpdate"  # its b and a are level lists, any other's are decimal strings
    for k in ("b", "a"):
        if k in data and (type(data[k]) is list) != lists:
            raise _refuse_type(e, k, "levels" if lists else "dec", data[k])
    if "s" in data:
        _same_symbol(data["s"], symbol, "s")
    msg[M_E] = data.get("E", _ABSENT)
    msg[M_T] = data.get("T", _ABSENT)
    msg[M_U_FIRST] = data.get("U", _ABSENT)
    msg[M_PU] = data.get("pu", _ABSENT)
    msg[M_SHAPE] = ((SH_PU if "pu" in data else 0) | (SH_PS if "ps" in data else 0)
                    | (SH_NONMARKET if data.get("X", "MARKET") != "MARKET" else 0))
    if e == "depthUpdate":
        msg[M_TYPE] = T_DEPTH
        msg[M_ID] = data["u"]
        return [row for k in data if k in ("b", "a") for row in read[k]]  # in the order written
    if e == "trade":
        msg[M_TYPE] = T_TRADE
        msg[M_ID] = data["t"]
        (pm, pd), (qm, qd) = read["p"], read["q"]
        return [(SELL if data["m"] else BUY, pm, pd, qm, qd)]  # the buyer is the maker: a sell
    msg[M_TYPE] = T_TICKER
    msg[M_ID] = data["u"]
    return [(side, *read[pk], *read[qk]) for side, pk, qk in ((BUY, "b", "B"), (SELL, "a", "A"))]
