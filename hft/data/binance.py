r"""Binance capture importer: gzipped ``<local_receive_ts_ns> <raw JSON>`` lines → canonical L2 events.

Input: ``{spot,usdm,cm}/<symbol>_<YYYYMMDD>.gz`` (see ../shared/data/README.md). Each line is a combined-stream
message (``{"stream":…,"data":{…}}``: ``depthUpdate``, ``trade``, ``bookTicker``) or the REST depth snapshot
(``{"lastUpdateId":…,"bids":[…],"asks":[…]}``). Several files of one symbol import as ONE stream, ordered by
the date in their names; sequence continuity is checked across the file boundary.

Market: the parent folder name (``spot``/``usdm``/``cm``) when it is one of those, else the message shapes: a
depth diff with ``pu`` is a futures stream, with ``ps`` (pair) coin-margined; without ``pu`` spot.

Synchronisation (Binance's "manage a local order book" procedure):

1. Depth diffs before the first snapshot line are buffered.
2. At the snapshot (``lastUpdateId`` = L): CLEAR, then every snapshot level. Buffered diffs are then replayed,
   then the live ones: a diff with ``u <= L`` is dropped; the first applied diff must span L+1 — spot:
   ``U <= L+1``; futures: ``pu <= L`` (futures update ids are not contiguous, so ``U`` may exceed L+1; ``pu``
   says which update the diff follows). After that, continuity is ``U == prev_u + 1`` (spot) or
   ``pu == prev_u`` (usdm, cm).
3. A break raises `DataGapError` naming file, line, expected and found. With ``allow_gaps`` it emits an
   EV_CLEAR flagged FLAG_RESYNC and keeps applying diffs flagged FLAG_RESYNC (the book then holds only levels
   updated since the gap: incomplete but never stale). If a later snapshot line exists, the stream resyncs on
   it exactly as in step 2 (diffs since the gap are re-applied against it). Gaps are counted in ``meta``.
4. Snapshot lines while in sync are redundant and skipped (counted).

Events: snapshot → EV_CLEAR then EV_SNAPSHOT_LEVEL per level (FLAG_EOM on the last); diff → EV_LEVEL_SET per
level in message order (Binance sends bids first), FLAG_EOM on the last level of the message (a diff without levels emits nothing);
trade → EV_TRADE, side = aggressor (buyer is maker ``m`` → SELL), trade id in ``order_id`` and ``seq``;
bookTicker → two EV_TICKER events (BUY = best bid, SELL = best ask, FLAG_EOM on the ask), ``seq`` = its ``u``.

Times: ``local_ts`` is the line prefix. ``exch_ts`` is ``E`` (event time, ms → ns) for diffs, snapshots and
futures tickers, and ``T`` (trade time) for trades, the moment the trade happened. Spot tickers and spot
snapshots carry no exchange time: they get the latest ``E`` seen before them in the stream (the line's local
time if none was seen yet). Buffered diffs are applied when the snapshot arrives, so their ``local_ts`` is
raised to the snapshot's (their ``exch_ts`` is kept). A line whose events would step back in local time is a
`DataValidationError` naming its file and line (the sync kernel checks each message as it emits it: the rule the
event check applies to every stream, which could only count events).

Prices and quantities are decimal strings converted to integer ticks / lots exactly (integer arithmetic on the
digits, never float) with the tick and lot of `SYMBOL_TABLE`; for other symbols the tick (lot) is inferred
as 10^-d for the largest number of significant decimals d seen. A value not on its tick/lot is a
`DataValidationError`. Trades with ``X`` other than ``MARKET`` (insurance fund, ADL) are skipped and counted.

Accepted lines (one rule, two readers). A line is ``<local_receive_ts_ns> <json>``: the time an integer
0 < n < 9e18 without leading zeros (at most 19 digits; it needs no check to fit int64), one space, one JSON object;
no string in it (key or value) holds a ``"``, a ``\`` or a control character once decoded (compact JSON spells
none of them without an escape), and no key the importer reads is given twice in one object. The object is

* a depth snapshot: keys ``lastUpdateId`` (int), ``bids``, ``asks`` (level lists), and optionally ``E``, ``T``
  (int), ``symbol``, ``pair``, ``stream`` (strings); nothing else. Or
* a combined-stream message: keys ``data`` (an object) and optionally ``stream`` (a string); nothing else.
  ``data`` holds the fields below, each of its type, and any other key with a string, an integer or a boolean
  (ignored): ``e`` ``s`` ``ps`` ``X`` strings; ``E`` ``T`` ``U`` ``u`` ``pu`` ``t`` ints; ``m`` a boolean; ``B``
  ``A`` ``p`` ``q`` decimal strings; ``b`` ``a`` decimal strings or level lists. By ``e``: ``depthUpdate`` needs
  ``E U u`` and ``b a`` as level lists; ``trade`` needs ``t T p q m`` (``b``/``a`` not lists); ``bookTicker`` or
  no ``e`` needs ``u b B a A`` (``b``/``a`` decimal strings); any other ``e`` is refused.

An int is a JSON integer 0 <= n < 9e18 (not a float, not a boolean); a decimal string is ``[0-9]+(.[0-9]+)?``
(ASCII digits) of at most 18 significant digits (leading zeros do not count); a level list is ``[]`` or
``[["price","qty"],…]`` of decimal strings. ``s`` (and a snapshot's ``symbol``) must name the stream's symbol.

Two readers: a numba scanner (`hft.data._binance_scan`) reads the compact spelling of these shapes straight from
the decompressed bytes; `hft.data._binance_json` reads any spelling through `json.loads` into the same rows,
sharing no code with it. A line the scanner refuses (whitespace, escapes, other spellings, or a bad line) is read
through json: a refusal there is a `DataValidationError` naming file, line and why; an accepted line is imported
from the json reading once the scanner reads its compact spelling into the same rows. Where the two disagree
(there, or on a sample of the lines the scanner read itself: the first 16, 16 spread over the file, the last,
every snapshot) the error is `ScannerDisagreement`: both readings and the CPU target the scanner was compiled
for, a fault of the compiled kernel and not of the data (fall back with ``NUMBA_CPU_NAME=x86-64-v2``).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TICKER,
    EV_TRADE,
    EVENT_DTYPE,
    FLAG_EOM,
    FLAG_RESYNC,
    SELL,
)
from hft.core.errors import DataGapError, DataValidationError
from hft.core.fileio import MAX_DECOMPRESSION_RATIO, decompressed_limit
from hft.core.instrument import Instrument
from hft.core.jit import njit
from hft.data._binance_read import ScannerDisagreement, _scan_file, _Tables, cpu_target
from hft.data._binance_scan import (
    _ABSENT,
    _TYPE_NAMES,
    L_PD,
    L_PM,
    L_QD,
    L_QM,
    L_SIDE,
    M_E,
    M_FILE,
    M_ID,
    M_LINE,
    M_LV0,
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
from hft.data._convert import Locate, place, quote_asset, row_error, row_place

__all__ = ["BinanceData", "ScannerDisagreement", "cpu_target", "import_binance"]

MARKETS = ("spot", "usdm", "cm")
VENUES = {"spot": "BINANCE_SPOT", "usdm": "BINANCE_USDM", "cm": "BINANCE_CM"}

# (market, symbol) → (tick_size, lot_size, contract_size). Ticks are the exchange's PRICE_FILTER tick; lots
# are the finest quantity step in the feed (spot books carry residual quantities finer than the order step,
# so spot uses the wire precision, 8 decimals). cm quantities are contracts of contract_size USD: inverse
# (coin-margined) instruments, PnL and fees in the base coin (hft.sim.fees).
SYMBOL_TABLE: dict[tuple[str, str], tuple[str, str, str]] = {
    ("spot", "BTCUSDT"): ("0.01", "0.00000001", "1"),
    ("spot", "ETHUSDT"): ("0.01", "0.00000001", "1"),
    ("usdm", "BTCUSDT"): ("0.10", "0.001", "1"),
    ("usdm", "ETHUSDT"): ("0.01", "0.001", "1"),
    ("cm", "BTCUSD_PERP"): ("0.1", "1", "100"),
    ("cm", "ETHUSD_PERP"): ("0.01", "1", "10"),
}

_I64_MAX = np.iinfo(np.int64).max
_MAX_MS = _I64_MAX // 1_000_000  # the latest exchange time (ms) whose nanoseconds fit int64

_NAME_RE = re.compile(r"^([a-z0-9_]+)_(\d{8})\.gz$", re.IGNORECASE)

# ===========================================================================================================
# numba: exact decimal → integer units, and the synchronisation state machine
# ===========================================================================================================
@njit(cache=True)
def _to_units(mant: np.ndarray, dec: np.ndarray, unit_mant: int, unit_dec: int, out: np.ndarray) -> int:
    """value = mant·10^-dec in units of unit_mant·10^-unit_dec (``unit_mant > 0``), exactly. Returns the first row
    that is not a whole number of units, or whose units do not fit int64, or -1. Every product is checked before
    it is taken: a wrapping int64 multiply is undefined behaviour (numba marks signed arithmetic ``nsw``)."""
    for i in range(mant.shape[0]):
        m = mant[i]
        d = dec[i]
        while d > 0 and m % 10 == 0 and m != 0:  # trailing zeros of the decimals say nothing
            m //= 10
            d -= 1
        if m == 0:
            out[i] = 0
            continue
        if d > unit_dec:  # a digit finer than the unit's decimals: not a multiple of the unit
            return i
        v = m
        for _ in range(unit_dec - d):
            if v > _I64_MAX // 10:
                return i
            v *= 10
        if v % unit_mant != 0:
            return i
        out[i] = v // unit_mant
    return -1


@njit(cache=True)
def _max_sig_decimals(mant: np.ndarray, dec: np.ndarray) -> int:
    """Largest number of significant decimals (trailing zeros ignored) among the values."""
    best = 0
    for i in range(mant.shape[0]):
        m = mant[i]
        d = dec[i]
        while d > 0 and m % 10 == 0 and m != 0:
            m //= 10
            d -= 1
        if m == 0:
            d = 0
        if d > best:
            best = d
    return best


# sync modes
_WAIT, _NEED_FIRST, _SYNCED, _RESYNC = 0, 1, 2, 3
# sync kernel status
S_OK, S_GAP, S_FULL, S_NO_SNAPSHOT, S_BACK = 0, 1, 2, 3, 4
# counters written by the sync kernel
(K_EVENTS, K_DROPPED, K_GAPS, K_SNAPSHOTS, K_SNAP_SKIPPED, K_NONMARKET, K_GAP_MSG, K_GAP_EXPECTED,
 K_GAP_FOUND, K_BUFFERED, K_RESYNC_EVENTS, K_GAP_FIRST, K_BACK_MSG, K_BACK_LOCAL) = range(14)
_K_N = 14
# sync state: mode, lastUpdateId, prev_u, buf_from, the last local time emitted
_ST_LAST_LOCAL, _ST_N = 4, 5


@njit(cache=True, inline="always")
def _in_order(st: np.ndarray, kc: np.ndarray, j: int, local: int) -> bool:
    """Whether message `j`'s events at `local` keep the stream in local time order (the rule the event check
    applies to every stream); False records `j` and the time it went back from (S_BACK: the importer names the
    line, which the scan recorded in ``M_LINE``)."""
    if local < st[_ST_LAST_LOCAL]:
        kc[K_BACK_MSG] = j
        kc[K_BACK_LOCAL] = st[_ST_LAST_LOCAL]
        return False
    st[_ST_LAST_LOCAL] = local
    return True


@njit(cache=True)
def _emit(out: np.ndarray, k: int, exch: int, local: int, price: int, qty: int, oid: int, seq: int, kind: int,
          side: int, flags: int) -> None:
    out[k].exch_ts = exch
    out[k].local_ts = local
    out[k].price = price
    out[k].qty = qty
    out[k].order_id = oid
    out[k].seq = seq
    out[k].kind = kind
    out[k].side = side
    out[k].flags = flags


@njit(cache=True)
def _apply_depth(msgs: np.ndarray, j: int, side: np.ndarray, px: np.ndarray, qty: np.ndarray, spot: bool,
                 allow_gaps: bool, local_floor: int, st: np.ndarray, out: np.ndarray, kc: np.ndarray) -> int:
    """Sync rule + emission for depth message `j`. st = [mode, lastUpdateId, prev_u, buf_from]."""
    mode = st[0]
    u = msgs[j, M_ID]
    first_u = msgs[j, M_U_FIRST]
    pu = msgs[j, M_PU]
    flags = 0
    expected = 0
    found = 0
    ok = True
    if mode == _NEED_FIRST:
        lid = st[1]
        if u <= lid:
            kc[K_DROPPED] += 1
            return S_OK
        ok = first_u <= lid + 1 if spot else (pu != _ABSENT and pu <= lid)
        if not ok:
            expected = lid + 1 if spot else lid
            found = first_u if spot else pu
    elif mode == _SYNCED:
        ok = first_u == st[2] + 1 if spot else pu == st[2]
        if not ok:
            expected = st[2] + 1 if spot else st[2]
            found = first_u if spot else pu
    else:  # _RESYNC
        ok = True
        flags = FLAG_RESYNC
    if not ok:
        if kc[K_GAPS] == 0:  # record the first break
            kc[K_GAP_MSG] = j
            kc[K_GAP_EXPECTED] = expected
            kc[K_GAP_FOUND] = found
            kc[K_GAP_FIRST] = 1 if mode == _NEED_FIRST else 0
        if not allow_gaps:
            return S_GAP
        kc[K_GAPS] += 1
        st[0] = _RESYNC
        st[3] = j
        flags = FLAG_RESYNC
        k = kc[K_EVENTS]
        if k >= out.shape[0]:
            return S_FULL
        local = max(msgs[j, M_TS], local_floor)
        if not _in_order(st, kc, j, local):
            return S_BACK
        _emit(out, k, msgs[j, M_E] * 1000000, local, 0, 0, 0, u, EV_CLEAR, 0, FLAG_RESYNC)
        kc[K_EVENTS] = k + 1
        kc[K_RESYNC_EVENTS] += 1
    elif mode == _NEED_FIRST:
        st[0] = _SYNCED
    st[2] = u
    n = msgs[j, M_NLV]
    k = kc[K_EVENTS]
    if k + n > out.shape[0]:
        return S_FULL
    a = msgs[j, M_LV0]
    exch = msgs[j, M_E] * 1000000
    local = max(msgs[j, M_TS], local_floor)
    if n > 0 and not _in_order(st, kc, j, local):
        return S_BACK
    for r in range(n):
        f = flags | (FLAG_EOM if r == n - 1 else 0)
        _emit(out, k + r, exch, local, px[a + r], qty[a + r], 0, u, EV_LEVEL_SET, side[a + r], f)
    kc[K_EVENTS] = k + n
    if flags != 0:
        kc[K_RESYNC_EVENTS] += n
    return S_OK


@njit(cache=True, inline="always")
def _mark(org: np.ndarray, k0: int, k1: int, j: int) -> None:
    """Events `k0`..`k1` came from message `j`: recorded in `org` only when origins are asked (else it is empty)."""
    if org.shape[0] > 0:
        org[k0:k1] = j


@njit(cache=True)
def _sync(msgs: np.ndarray, side: np.ndarray, px: np.ndarray, qty: np.ndarray, spot: bool, allow_gaps: bool,
          out: np.ndarray, kc: np.ndarray, org: np.ndarray) -> int:
    """Run the synchronisation over the whole message table, writing events into `out` (and, when `org` is not
    empty, each event's message index into it: `_mark`). Returns S_*."""
    st = np.zeros(_ST_N, dtype=np.int64)
    st[0] = _WAIT
    st[3] = 0
    st[_ST_LAST_LOCAL] = -9223372036854775807 - 1
    last_exch = -1
    for j in range(msgs.shape[0]):
        typ = msgs[j, M_TYPE]
        local = msgs[j, M_TS]
        if msgs[j, M_E] != _ABSENT:
            last_exch = msgs[j, M_E] * 1000000
        if typ == T_DEPTH:
            if st[0] == _WAIT:
                continue  # buffered until the snapshot
            k = kc[K_EVENTS]
            status = _apply_depth(msgs, j, side, px, qty, spot, allow_gaps, 0, st, out, kc)
            if status != S_OK:
                return status
            _mark(org, k, kc[K_EVENTS], j)
        elif typ == T_SNAPSHOT:
            kc[K_SNAPSHOTS] += 1
            if st[0] == _SYNCED or st[0] == _NEED_FIRST:
                kc[K_SNAP_SKIPPED] += 1
                continue
            n = msgs[j, M_NLV]
            k = kc[K_EVENTS]
            if k + n + 1 > out.shape[0]:
                return S_FULL
            exch = last_exch if last_exch >= 0 else local
            lid = msgs[j, M_ID]
            if not _in_order(st, kc, j, local):
                return S_BACK
            _emit(out, k, exch, local, 0, 0, 0, lid, EV_CLEAR, 0, 0)
            a = msgs[j, M_LV0]
            for r in range(n):
                f = FLAG_EOM if r == n - 1 else 0
                _emit(out, k + 1 + r, exch, local, px[a + r], qty[a + r], 0, lid, EV_SNAPSHOT_LEVEL, side[a + r], f)
            kc[K_EVENTS] = k + 1 + n
            _mark(org, k, k + 1 + n, j)
            buf_from = st[3]
            st[0] = _NEED_FIRST
            st[1] = lid
            # replay the diffs buffered since the start (or since the gap) against this snapshot
            for b in range(buf_from, j):
                if msgs[b, M_TYPE] == T_DEPTH:
                    kc[K_BUFFERED] += 1
                    k = kc[K_EVENTS]
                    status = _apply_depth(msgs, b, side, px, qty, spot, allow_gaps, local, st, out, kc)
                    if status != S_OK:
                        return status
                    _mark(org, k, kc[K_EVENTS], b)  # a buffered diff's events name its own line
        elif typ == T_TRADE:
            if msgs[j, M_SHAPE] & SH_NONMARKET:
                kc[K_NONMARKET] += 1
                continue
            k = kc[K_EVENTS]
            if k + 1 > out.shape[0]:
                return S_FULL
            a = msgs[j, M_LV0]
            tid = msgs[j, M_ID]
            if not _in_order(st, kc, j, local):
                return S_BACK
            _emit(out, k, msgs[j, M_T] * 1000000, local, px[a], qty[a], tid, tid, EV_TRADE, side[a], FLAG_EOM)
            kc[K_EVENTS] = k + 1
            _mark(org, k, k + 1, j)
        elif typ == T_TICKER:
            k = kc[K_EVENTS]
            if k + 2 > out.shape[0]:
                return S_FULL
            a = msgs[j, M_LV0]
            exch = msgs[j, M_E] * 1000000 if msgs[j, M_E] != _ABSENT else (last_exch if last_exch >= 0 else local)
            u = msgs[j, M_ID]
            if not _in_order(st, kc, j, local):
                return S_BACK
            _emit(out, k, exch, local, px[a], qty[a], 0, u, EV_TICKER, BUY, 0)
            _emit(out, k + 1, exch, local, px[a + 1], qty[a + 1], 0, u, EV_TICKER, SELL, FLAG_EOM)
            kc[K_EVENTS] = k + 2
            _mark(org, k, k + 2, j)
    if kc[K_SNAPSHOTS] == 0:
        return S_NO_SNAPSHOT
    return S_OK


# ===========================================================================================================
# Python driver
# ===========================================================================================================
@dataclass(frozen=True)
class BinanceData:
    """An imported Binance stream: read-only events, the instrument, and importer facts."""

    events: np.ndarray
    instrument: Instrument
    meta: dict[str, Any] = field(default_factory=dict)
    origin: Locate | None = None  # event row -> its file and line (`import_binance(origins=True)`)


def _decompress(path: Path) -> bytes:
    """Whole gzip file → bytes; corrupt or truncated input is a DataValidationError naming the line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataValidationError(f"{path}: expected a readable file, {exc.strerror}", file=str(path)) from None
    if not raw:
        raise DataValidationError(f"{row_place(path, 1)}: expected a gzip capture, found an empty file",
                                  file=str(path), line=1, expected="gzip data", found="0 bytes")
    if raw[:2] != b"\x1f\x8b":
        raise DataValidationError(f"{row_place(path, 1)}: expected a gzip stream (magic 1f8b), found {raw[:8]!r}",
                                  file=str(path), line=1, expected="gzip magic 1f8b", found=raw[:8].hex())
    parts = []
    rest = raw
    limit = decompressed_limit(len(raw))
    total = 0
    try:
        while rest:
            d = zlib.decompressobj(31)  # gzip wrapper: header and CRC checked by zlib
            buf = rest
            while True:  # bounded: never more than `limit` + 1 bytes out (a gzip of newlines asks for GiBs)
                chunk = d.decompress(buf, limit - total + 1)
                parts.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise DataValidationError(
                        f"{path}: expected at most {limit:,} decompressed bytes ({MAX_DECOMPRESSION_RATIO}x its "
                        f"{len(raw):,} compressed bytes), it holds more (a gzip bomb?)", file=str(path),
                        expected=f"<= {limit} bytes", found=f"> {limit} bytes")
                if d.eof:
                    break
                if not chunk and not d.unconsumed_tail:
                    raise EOFError("compressed stream ends before its end-of-stream marker")
                buf = d.unconsumed_tail
            rest = d.unused_data
    except (EOFError, zlib.error) as exc:
        part = b"".join(parts)
        line = part.count(b"\n") + 1
        raise DataValidationError(
            f"{row_place(path, line)}: expected a complete gzip stream, found {type(exc).__name__}: {exc} "
            f"after {len(part)} decompressed bytes", file=str(path), line=line,
            expected="complete gzip stream", found=str(exc)) from None
    parts = [p for p in parts if p]
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _order_files(paths: list[Path]) -> tuple[list[Path], str | None, str | None]:
    """Sort by the date in the name; check one symbol and one market. Returns (paths, symbol, market)."""
    if not paths:
        raise DataValidationError("expected at least one Binance capture file, got none")
    keyed = []
    for p in paths:
        m = _NAME_RE.match(p.name)
        keyed.append((m.group(2) if m else "", m.group(1).upper() if m else None, p))
    symbols = {s for _, s, _ in keyed}
    if len(symbols) > 1:
        raise DataValidationError(
            f"expected files of one symbol, found {sorted(str(s) for s in symbols)}: {[str(p) for p in paths]}",
            file=str(paths[0]), expected="one symbol", found=sorted(str(s) for s in symbols))
    markets = {p.parent.name.lower() for p in paths}
    market = markets.pop() if len(markets) == 1 and next(iter(markets)) in MARKETS else None
    if len(paths) > 1:
        if any(not d for d, _, _ in keyed):
            raise DataValidationError(f"expected names <symbol>_<YYYYMMDD>.gz to order several files, found "
                                      f"{[p.name for p in paths]}", file=str(paths[0]))
        dates = [d for d, _, _ in keyed]
        if len(set(dates)) != len(dates):
            raise DataValidationError(f"expected one file per date, found {sorted(dates)}", file=str(paths[0]))
        if len({p.parent.name.lower() for p in paths}) > 1:
            raise DataValidationError(f"expected files of one market folder, found {[str(p) for p in paths]}",
                                      file=str(paths[0]))
    keyed.sort(key=lambda t: t[0])
    return [p for _, _, p in keyed], keyed[0][1], market


def _symbol_from_data(path: Path, data: bytes) -> str:
    m = re.search(rb'"s":"([A-Za-z0-9_]+)"', data[:1 << 16])
    if not m:
        raise DataValidationError(f"{path}: expected a symbol in the name <symbol>_<YYYYMMDD>.gz or in the "
                                  "messages, found none", file=str(path))
    return m.group(1).decode()


def _unit(dec_str: str) -> tuple[int, int]:
    """"0.10" → (10, 2): the unit as digits and decimals."""
    whole, _, frac = dec_str.partition(".")
    return int(whole + frac), len(frac)


# the JSON key of a level's price / quantity, by message type and side (BUY, SELL)
_KEYS = {("price", T_DEPTH): ("b", "a"), ("quantity", T_DEPTH): ("b", "a"),
         ("price", T_SNAPSHOT): ("bids", "asks"), ("quantity", T_SNAPSHOT): ("bids", "asks"),
         ("price", T_TRADE): ("p", "p"), ("quantity", T_TRADE): ("q", "q"),
         ("price", T_TICKER): ("b", "a"), ("quantity", T_TICKER): ("B", "A")}


def _convert(values: np.ndarray, decs: np.ndarray, unit: str, what: str, msgs: np.ndarray, lv: np.ndarray,
             files: list[Path]) -> np.ndarray:
    """Level digits/decimals → integer units of `unit`; an off-unit value names its file, line, key and text."""
    out = np.empty(len(values), dtype=np.int64)
    um, ud = _unit(unit)
    bad = _to_units(values, decs, um, ud, out)
    if bad >= 0:
        holders = np.flatnonzero(msgs[:, M_NLV] > 0)  # the message holding level row `bad`
        j = int(holders[np.searchsorted(msgs[holders, M_LV0], bad, side="right") - 1])
        text = str(int(values[bad]))
        d = int(decs[bad])
        if d:
            text = text.rjust(d + 1, "0")
            text = text[:-d] + "." + text[-d:]
        key = _KEYS[what, int(msgs[j, M_TYPE])][0 if lv[bad, L_SIDE] == BUY else 1]
        units = Fraction(int(values[bad]), 10 ** d) / Fraction(um, 10 ** ud)  # exact, in Python's integers
        expected = (f"a {what} that is a multiple of {unit}" if units.denominator != 1
                    else f"a {what} of at most {_I64_MAX} x {unit}")
        raise row_error(files[int(msgs[j, M_FILE])], int(msgs[j, M_LINE]), key, expected, text)
    return out


def import_binance(paths: list[Path], *, allow_gaps: bool = False, origins: bool = False) -> BinanceData:
    """Import Binance capture files of one symbol (several = one stream, ordered by the date in the name);
    `origins` keeps each event's message (`BinanceData.origin`: its file and line), else nothing is recorded.

    Raises:
        DataValidationError: unreadable / corrupt / truncated gzip, a malformed line, mixed symbols, no
            snapshot, a price or quantity off its tick or lot (each names file, line, expected, found).
        DataGapError: a sequence break while ``allow_gaps`` is False.
    """
    from hft.core.selftest import ensure  # lazy: keeps the self-test out of the kernels' cache key
    ensure("binance")  # the scanner, units and sync kernels answered right on this CPU target
    files, symbol, market = _order_files([Path(p) for p in paths])
    tables: list[_Tables] = []
    for i, path in enumerate(files):
        data = _decompress(path)
        symbol = symbol or _symbol_from_data(path, data)
        t = _scan_file(path, data, np.frombuffer(symbol.encode(), dtype=np.uint8))
        t.msgs[:, M_FILE] = i
        tables.append(t)
    assert symbol is not None
    msgs, lv = _join(tables)
    _check_times(msgs, files)
    market = market or _market_from_shapes(msgs)
    tick, lot, contract, tick_source = _units(market, symbol, lv)
    px = _convert(lv[:, L_PM], lv[:, L_PD], tick, "price", msgs, lv, files)
    qty = _convert(lv[:, L_QM], lv[:, L_QD], lot, "quantity", msgs, lv, files)
    side = np.ascontiguousarray(lv[:, L_SIDE])

    cap = len(lv) + 2 * len(msgs) + 16  # re-applied diffs after a resync can need more: then retry larger
    while True:
        out = np.zeros(cap, dtype=EVENT_DTYPE)  # zeroed: padding bytes stay deterministic (hashes)
        kc = np.zeros(_K_N, dtype=np.int64)
        org = np.zeros(cap if origins else 0, dtype=np.int64)
        status = _sync(msgs, side, px, qty, market == "spot", allow_gaps, out, kc, org)
        if status != S_FULL:
            break
        cap *= 2
    if status == S_NO_SNAPSHOT:
        raise DataValidationError(
            f"{row_place(files[0], tables[0].lines)}: expected a REST depth snapshot line {{\"lastUpdateId\":…}}, found none "
            f"in {sum(t.lines for t in tables)} lines", file=str(files[0]), line=tables[0].lines,
            expected="a snapshot line", found="none")
    if status == S_BACK:
        j = int(kc[K_BACK_MSG])
        raise row_error(files[int(msgs[j, M_FILE])], int(msgs[j, M_LINE]), "local_receive_ts_ns",
                        f"lines in local time order (>= {int(kc[K_BACK_LOCAL])}, the stream's time before it)",
                        str(int(msgs[j, M_TS])))
    gap = _first_gap(kc, msgs, files, market) if (status == S_GAP or kc[K_GAPS]) else None
    if status == S_GAP:
        assert gap is not None
        raise DataGapError(
            f"{row_place(gap['file'], gap['line'])}: sequence break: expected {gap['field']} {gap['op']} {gap['expected']}, "
            f"found {gap['found']} ({gap['rule']})", file=gap["file"], line=gap["line"],
            expected=gap["expected"], found=gap["found"], hint="pass --allow-gaps to clear and resync at the break")
    events = out[: kc[K_EVENTS]]
    events.flags.writeable = False
    instrument = Instrument(symbol=symbol, venue=VENUES[market], tick_size=tick, lot_size=lot, price_scale=1,
                            currency=_currency(market, symbol), timezone="UTC", book_level="L2",
                            contract_size=contract, kind="inverse" if market == "cm" else "linear",
                            settle_currency=symbol.split("USD")[0] if market == "cm" else "")
    meta: dict[str, Any] = {
        "source": "binance",
        "market": market,
        "files": [str(f) for f in files],
        "lines": [t.lines for t in tables],
        "messages": {name: int((msgs[:, M_TYPE] == t).sum()) for t, name in _TYPE_NAMES.items()},
        "depth_levels": int(msgs[msgs[:, M_TYPE] == T_DEPTH, M_NLV].sum()),
        "tick_source": tick_source,
        "snapshots": int(kc[K_SNAPSHOTS]),
        "snapshots_skipped": int(kc[K_SNAP_SKIPPED]),
        "buffered_diffs": int(kc[K_BUFFERED]),
        "dropped_diffs": int(kc[K_DROPPED]),
        "trades_non_market_skipped": int(kc[K_NONMARKET]),
        "gaps": int(kc[K_GAPS]),
        "resync_events": int(kc[K_RESYNC_EVENTS]),
        "allow_gaps": allow_gaps,
    }
    if gap:
        meta["first_gap"] = gap
    return BinanceData(events, instrument, meta, _locate(org, msgs, files) if origins else None)


def _locate(org: np.ndarray, msgs: np.ndarray, files: list[Path]) -> Locate:
    """Event row k → the file and line of the message it came from (`org`: each event's message index)."""
    where = msgs[:, [M_FILE, M_LINE]]  # a copy: the message table itself is not kept
    return lambda k: place(files[int(where[org[k], 0])], int(where[org[k], 1]))


def _join(tables: list[_Tables]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-file tables (level offsets re-based)."""
    if len(tables) == 1:
        return tables[0].msgs, tables[0].lv
    offsets = np.cumsum([0] + [len(t.lv) for t in tables[:-1]])
    for t, off in zip(tables, offsets, strict=True):
        t.msgs[:, M_LV0] += off
    return np.concatenate([t.msgs for t in tables]), np.concatenate([t.lv for t in tables])


def _check_times(msgs: np.ndarray, files: list[Path]) -> None:
    """Refuse an exchange time (``E``, ``T``, ms) whose nanoseconds do not fit int64, naming its line: the sync
    kernel multiplies them by 10^6 unchecked."""
    for col, key in ((M_E, "E"), (M_T, "T")):
        bad = np.flatnonzero(msgs[:, col] > _MAX_MS)
        if len(bad):
            j = int(bad[0])
            raise row_error(files[int(msgs[j, M_FILE])], int(msgs[j, M_LINE]), key,
                            f"an exchange time in ms up to {_MAX_MS} (int64 nanoseconds)", str(int(msgs[j, col])))


def _market_from_shapes(msgs: np.ndarray) -> str:
    """Diffs with ``ps`` (pair) → cm, with ``pu`` → usdm, else spot."""
    shape = msgs[msgs[:, M_TYPE] == T_DEPTH, M_SHAPE]
    if len(shape) and (shape & SH_PS).all():
        return "cm"
    return "usdm" if len(shape) and (shape & SH_PU).all() else "spot"


def _units(market: str, symbol: str, lv: np.ndarray) -> tuple[str, str, str, str]:
    """(tick, lot, contract size, source): from `SYMBOL_TABLE`, else inferred from the decimals seen."""
    entry = SYMBOL_TABLE.get((market, symbol))
    if entry:
        return (*entry, "table")
    tick = _pow10_str(_max_sig_decimals(lv[:, L_PM], lv[:, L_PD]))
    lot = _pow10_str(_max_sig_decimals(lv[:, L_QM], lv[:, L_QD]))
    # Binance coin-margined contracts: 100 USD for BTC, 10 USD for the others
    contract = ("100" if symbol.startswith("BTC") else "10") if market == "cm" else "1"
    return tick, lot, contract, "inferred"


def _first_gap(kc: np.ndarray, msgs: np.ndarray, files: list[Path], market: str) -> dict[str, Any]:
    """Where and how the first sequence break happened (for the error and for meta)."""
    j = int(kc[K_GAP_MSG])
    what = "U" if market == "spot" else "pu"
    first = bool(kc[K_GAP_FIRST])
    if first:
        rule = f"the first diff after the snapshot must span lastUpdateId + 1: {what} <= {int(kc[K_GAP_EXPECTED])}"
    else:
        rule = f"continuity {'U == prev_u + 1' if market == 'spot' else 'pu == prev_u'}"
    return {"file": str(files[int(msgs[j, M_FILE])]), "line": int(msgs[j, M_LINE]), "field": what,
            "op": "<=" if first else "=", "expected": int(kc[K_GAP_EXPECTED]), "found": int(kc[K_GAP_FOUND]),
            "rule": rule}


def _pow10_str(d: int) -> str:
    return "1" if d <= 0 else "0." + "0" * (d - 1) + "1"


def _currency(market: str, symbol: str) -> str:
    if market == "cm":
        return "USD"
    return quote_asset(symbol) or "USD"
