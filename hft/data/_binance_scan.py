"""Numba scanner for Binance capture lines (see `hft.data.binance` for the format and the accepted shapes).

It parses compact ``<local_ns> <json>`` lines straight from decompressed bytes into a message table and a
level table of exact decimal digits; anything it does not accept is reported back (``P_FALLBACK``) so the
importer can route that line through `json.loads`.
"""

from __future__ import annotations

import numpy as np

from hft.core.dtypes import BUY, SELL
from hft.core.jit import njit

# --- scanner output layout ---------------------------------------------------------------------------------
# message table: int64 [n, _M_COLS]
# (line number, local time, type, E, T, U, id: u / t / lastUpdateId, pu, first level row, levels, shape bits, file,
# the line's first byte in its file)
M_LINE, M_TS, M_TYPE, M_E, M_T, M_U_FIRST, M_ID, M_PU, M_LV0, M_NLV, M_SHAPE, M_FILE, M_POS = range(13)
_M_COLS = 13
# message types
T_DEPTH, T_TRADE, T_TICKER, T_SNAPSHOT = 1, 2, 3, 4
_TYPE_NAMES = {T_DEPTH: "depthUpdate", T_TRADE: "trade", T_TICKER: "bookTicker", T_SNAPSHOT: "snapshot"}
# shape bits
SH_PU, SH_PS, SH_NONMARKET = 1, 2, 4
# level table: int64 [n, _L_COLS]: side, price digits, price decimals, qty digits, qty decimals
L_SIDE, L_PM, L_PD, L_QM, L_QD = range(5)
_L_COLS = 5
# counters: int64 [_C_N]
C_MSGS, C_LVLS, C_POS, C_LINE = range(4)
_C_N = 4
# scanner status
P_DONE, P_FALLBACK, P_FULL, P_SYMBOL = 0, 1, 2, 3

_ABSENT = -(1 << 62)

# --- the strings the scanner knows (keys and values): each read by its id, its bytes compared in full ------------
_LITERALS = ("stream", "data", "lastUpdateId", "bids", "asks", "symbol", "pair",  # top-level keys (and E, T)
             "e", "E", "T", "s", "ps", "U", "u", "pu", "b", "a", "B", "A", "t", "p", "q", "m", "X",  # data keys
             "depthUpdate", "trade", "bookTicker", "MARKET")  # values
(K_STREAM, K_DATA, K_LASTID, K_BIDS, K_ASKS, K_SYMBOL, K_PAIR, K_e, K_E, K_T, K_s, K_ps, K_U, K_u, K_pu, K_b, K_a,
 K_B, K_A, K_t, K_p, K_q, K_m, K_X, V_DEPTH, V_TRADE, V_TICKER, V_MARKET) = range(len(_LITERALS))
_DATA_FIRST, _DATA_LAST = K_e, K_X  # the data keys the importer reads (each at most once)
# what a data key holds: a string, an integer, a boolean, a decimal string, a decimal string or a level list
_C_STR, _C_INT, _C_BOOL, _C_DEC, _C_DEC_OR_LEVELS = 1, 2, 3, 4, 5
_KEY_CLASS = np.zeros(len(_LITERALS), np.int64)
for _k in (K_e, K_s, K_ps, K_X):
    _KEY_CLASS[_k] = _C_STR
for _k in (K_E, K_T, K_U, K_u, K_pu, K_t):
    _KEY_CLASS[_k] = _C_INT
_KEY_CLASS[K_m] = _C_BOOL
for _k in (K_B, K_A, K_p, K_q):
    _KEY_CLASS[_k] = _C_DEC
for _k in (K_b, K_a):
    _KEY_CLASS[_k] = _C_DEC_OR_LEVELS
_TOP_KEYS = (1 << K_STREAM) | (1 << K_DATA) | (1 << K_LASTID) | (1 << K_BIDS) | (1 << K_ASKS) | (1 << K_SYMBOL) \
    | (1 << K_PAIR) | (1 << K_E) | (1 << K_T)
_SNAPSHOT_ONLY = _TOP_KEYS & ~((1 << K_STREAM) | (1 << K_DATA))  # top-level keys no combined-stream message has

_MAX_LIT = max(len(t) for t in _LITERALS)
_LIT = np.zeros((len(_LITERALS), _MAX_LIT), np.uint8)
_LIT_LEN = np.array([len(t) for t in _LITERALS], np.int64)
for _k, _t in enumerate(_LITERALS):
    _LIT[_k, :len(_t)] = np.frombuffer(_t.encode(), np.uint8)


def _slot_of(text: bytes, mix_n: int, mix_first: int) -> int:
    """The slot `_lookup` looks `text` up in: its length, first and last byte mixed into 0..255 (small integers
    throughout: nothing here can overflow). Only a candidate: `_lookup` then compares every byte."""
    return (len(text) * mix_n + text[0] * mix_first + text[-1]) & 255


def _slot_table() -> tuple[int, int, np.ndarray]:
    """Multipliers that give every literal its own slot (searched once, at import) and the table slot → literal id
    (-1: none)."""
    for mix_n in range(1, 256, 2):
        for mix_first in range(1, 256, 2):
            slots = [_slot_of(t.encode(), mix_n, mix_first) for t in _LITERALS]
            if len(set(slots)) == len(slots):
                table = np.full(256, -1, np.int64)
                table[slots] = np.arange(len(slots))
                return mix_n, mix_first, table
    raise AssertionError("no slot multipliers for the scanner's literals")


_MIX_N, _MIX_FIRST, _SLOT_ID = _slot_table()


# ===========================================================================================================
# numba scanner
# ===========================================================================================================
@njit(cache=True)
def _lookup(buf: np.ndarray, a: int, b: int) -> int:
    """The id of the literal (`_LITERALS`) the bytes ``buf[a:b]`` spell, or -1. Its length, first and last byte pick
    the one candidate (`_slot_of`), whose bytes are then compared in full: no other string is ever taken for a
    known one. (The hash this replaced wrapped a signed multiply: undefined behaviour to LLVM, since numba marks
    int64 arithmetic ``nsw``; inlined into `_scan` for CPUs with AVX2 it came out wrong and every line was refused.)
    Precondition: ``0 <= a <= b <= len(buf)`` (the callers pass a string's body between its quotes)."""
    n = b - a
    if n == 0 or n > _MAX_LIT:
        return -1
    k = _SLOT_ID[(n * _MIX_N + buf[a] * _MIX_FIRST + buf[b - 1]) & 255]
    if k < 0 or _LIT_LEN[k] != n:
        return -1
    for j in range(n):
        if buf[a + j] != _LIT[k, j]:
            return -1
    return k


@njit(cache=True)
def _string_end(buf: np.ndarray, i: int, end: int) -> int:
    """`i` at the opening quote → index of the closing quote, or -1 (escape, control char, no end)."""
    i += 1
    while i < end:
        c = buf[i]
        if c == 34:  # '"'
            return i
        if c == 92 or c < 32:  # backslash or control (newline): not handled by the fast path
            return -1
        i += 1
    return -1


@njit(cache=True)
def _parse_int(buf: np.ndarray, i: int, end: int, out: np.ndarray) -> int:
    """Non-negative JSON integer at `i` → out[0]; returns the index after it, or -1."""
    j = i
    while j < end and 48 <= buf[j] <= 57:
        j += 1
    n = j - i
    # at most 19 digits, 19 only below 9e18: the value fits int64, so the sum below cannot overflow
    if n == 0 or n > 19 or (n == 19 and buf[i] > 56) or (n > 1 and buf[i] == 48):
        return -1
    v = 0
    for k in range(i, j):
        v = v * 10 + (buf[k] - 48)
    out[0] = v
    return j


@njit(cache=True)
def _parse_dec(buf: np.ndarray, a: int, b: int, out: np.ndarray, k: int) -> bool:
    """Decimal string body ``buf[a:b]`` (no quotes) → out[k] digits, out[k+1] decimals. False if malformed or
    over 18 significant digits (leading zeros do not count: the rule of `hft.data._binance_json._dec`)."""
    v = 0
    nd = 0  # significant digits summed into v
    digits = False
    dot = -1
    for j in range(a, b):
        c = buf[j]
        if 48 <= c <= 57:
            digits = True
            if nd == 0 and c == 48:  # a leading zero adds nothing
                continue
            if nd == 18:  # a 19th significant digit: refused, never summed (it could overflow int64)
                return False
            v = v * 10 + (c - 48)
            nd += 1
        elif c == 46 and dot < 0:  # '.'
            dot = j
        else:
            return False
    if not digits or dot == a or dot == b - 1:
        return False
    out[k] = v
    out[k + 1] = 0 if dot < 0 else b - dot - 1
    return True


@njit(cache=True)
def _parse_levels(buf: np.ndarray, i: int, end: int, side: int, lv: np.ndarray, cnt: np.ndarray,
                  tmp: np.ndarray) -> int:
    """``[["p","q"],…]`` at `i` → level rows; returns the index after ``]``, -1 malformed, -2 table full."""
    if buf[i] != 91:
        return -1
    i += 1
    if i < end and buf[i] == 93:
        return i + 1
    while i < end:
        if buf[i] != 91 or i + 1 >= end or buf[i + 1] != 34:
            return -1
        e1 = _string_end(buf, i + 1, end)
        if e1 < 0 or not _parse_dec(buf, i + 2, e1, tmp, 0):
            return -1
        if e1 + 2 >= end or buf[e1 + 1] != 44 or buf[e1 + 2] != 34:
            return -1
        e2 = _string_end(buf, e1 + 2, end)
        if e2 < 0 or not _parse_dec(buf, e1 + 3, e2, tmp, 2):
            return -1
        if e2 + 1 >= end or buf[e2 + 1] != 93:
            return -1
        n = cnt[C_LVLS]
        if n >= lv.shape[0]:
            return -2
        lv[n, L_SIDE] = side
        lv[n, L_PM] = tmp[0]
        lv[n, L_PD] = tmp[1]
        lv[n, L_QM] = tmp[2]
        lv[n, L_QD] = tmp[3]
        cnt[C_LVLS] = n + 1
        i = e2 + 2
        if i < end and buf[i] == 44:
            i += 1
        elif i < end and buf[i] == 93:
            return i + 1
        else:
            return -1
    return -1


@njit(cache=True)
def _scan(buf: np.ndarray, end: int, sym: np.ndarray, msgs: np.ndarray, lv: np.ndarray,
          cnt: np.ndarray) -> int:
    """Scan lines from ``cnt[C_POS]`` (line number ``cnt[C_LINE]``) until `end` or a line it cannot take.

    Returns a ``P_*`` status; on anything but P_DONE, ``cnt[C_POS]``/``cnt[C_LINE]`` point at the line to
    handle and the tables hold exactly the lines before it. It takes exactly the compact spellings of the shapes
    `hft.data._binance_json.read_line` accepts, into the same rows (module docstring of `hft.data.binance`).
    Preconditions: ``0 <= cnt[C_POS]`` and ``end <= len(buf)``; every read is checked against `end`.
    """
    tmp = np.zeros(4, dtype=np.int64)
    num = np.zeros(1, dtype=np.int64)
    nsym = sym.shape[0]
    while cnt[C_POS] < end:
        start = cnt[C_POS]
        if cnt[C_MSGS] >= msgs.shape[0]:
            return P_FULL
        lv_start = cnt[C_LVLS]
        # Parse against the buffer end: no accepted token spans a newline (strings stop at control bytes,
        # numbers at non-digits), so the line end is checked once, after the closing brace.
        eol = end
        status = P_FALLBACK
        # fields of this line
        ts = -1
        typ = 0
        ev = -2  # the event ("e"): -2 none given, -1 an unknown one, else its literal id
        e_ms = _ABSENT
        t_ms = _ABSENT
        first_u = _ABSENT
        uid = _ABSENT
        pu = _ABSENT
        tid = _ABSENT
        lastid = _ABSENT
        maker = -1
        shape = 0
        seen_top = 0  # bits (1 << id) of the top-level keys given, and of the data keys given
        seen_data = 0
        n_b_arr = 0  # 1 + the levels of a "b" / "bids" list (0: none given)
        n_a_arr = 0
        has_b_str = False
        has_B = False
        has_a_str = False
        has_A = False
        has_p = False
        has_q = False
        bp = bd = bqm = bqd = ap = ad = aqm = aqd = pm = pd = qm = qd = 0
        in_data = False
        sym_bad = False
        i = _parse_int(buf, start, eol, num)
        ok = i > 0 and i < eol and buf[i] == 32 and num[0] > 0
        if ok:
            ts = num[0]
            i += 1
            ok = i < eol and buf[i] == 123  # '{'
            i += 1
        # object walker: top level, and one nested "data" object
        while ok:
            if i >= eol or buf[i] != 34:  # a key ('}' right after '{' or ',': an empty object, a trailing comma)
                ok = False
                break
            ke = _string_end(buf, i, eol)
            if ke < 0 or ke + 2 >= eol or buf[ke + 1] != 58:
                ok = False
                break
            key = _lookup(buf, i + 1, ke)
            i = ke + 2
            c = buf[i]
            if not in_data:
                if key < 0 or not (_TOP_KEYS >> key) & 1 or (seen_top >> key) & 1:
                    ok = False  # an unknown top-level key, or one given twice
                    break
                seen_top |= 1 << key
                if key == K_DATA:
                    if c != 123:
                        ok = False
                        break
                    in_data = True
                    i += 1
                    continue
                elif key == K_LASTID or key == K_E or key == K_T:
                    i = _parse_int(buf, i, eol, num)
                    if key == K_LASTID:
                        lastid = num[0]
                    elif key == K_E:
                        e_ms = num[0]
                    else:
                        t_ms = num[0]
                elif key == K_BIDS or key == K_ASKS:
                    n0 = cnt[C_LVLS]
                    i = _parse_levels(buf, i, eol, BUY if key == K_BIDS else SELL, lv, cnt, tmp)
                    if key == K_BIDS:
                        n_b_arr = 1 + cnt[C_LVLS] - n0
                    else:
                        n_a_arr = 1 + cnt[C_LVLS] - n0
                elif c == 34:  # stream, symbol, pair: strings
                    se = _string_end(buf, i, eol)
                    if se > 0 and key == K_SYMBOL and nsym > 0:
                        if se - i - 1 != nsym:
                            sym_bad = True
                        else:
                            for k in range(nsym):
                                if buf[i + 1 + k] != sym[k]:
                                    sym_bad = True
                    i = se + 1 if se > 0 else -1
                else:
                    i = -1
            else:
                cls = 0  # a key the importer does not read: any string, integer or boolean
                if _DATA_FIRST <= key <= _DATA_LAST:
                    if (seen_data >> key) & 1:
                        ok = False  # a data key given twice
                        break
                    seen_data |= 1 << key
                    cls = _KEY_CLASS[key]
                if c == 34:  # a string
                    if cls == _C_INT or cls == _C_BOOL:
                        ok = False
                        break
                    se = _string_end(buf, i, eol)
                    if se < 0:
                        ok = False
                        break
                    a = i + 1
                    if key == K_e:
                        ev = _lookup(buf, a, se)
                    elif key == K_s:
                        if nsym > 0:
                            if se - a != nsym:
                                sym_bad = True
                            else:
                                for k in range(nsym):
                                    if buf[a + k] != sym[k]:
                                        sym_bad = True
                    elif key == K_ps:
                        shape |= SH_PS
                    elif key == K_X:
                        if _lookup(buf, a, se) != V_MARKET:
                            shape |= SH_NONMARKET
                    elif key == K_b:
                        has_b_str = _parse_dec(buf, a, se, tmp, 0)
                        bp, bd = tmp[0], tmp[1]
                        ok = has_b_str
                    elif key == K_B:
                        has_B = _parse_dec(buf, a, se, tmp, 0)
                        bqm, bqd = tmp[0], tmp[1]
                        ok = has_B
                    elif key == K_a:
                        has_a_str = _parse_dec(buf, a, se, tmp, 0)
                        ap, ad = tmp[0], tmp[1]
                        ok = has_a_str
                    elif key == K_A:
                        has_A = _parse_dec(buf, a, se, tmp, 0)
                        aqm, aqd = tmp[0], tmp[1]
                        ok = has_A
                    elif key == K_p:
                        has_p = _parse_dec(buf, a, se, tmp, 0)
                        pm, pd = tmp[0], tmp[1]
                        ok = has_p
                    elif key == K_q:
                        has_q = _parse_dec(buf, a, se, tmp, 0)
                        qm, qd = tmp[0], tmp[1]
                        ok = has_q
                    i = se + 1  # other strings (stream, M, …) are skipped
                elif 48 <= c <= 57:  # an integer
                    if cls != 0 and cls != _C_INT:
                        ok = False
                        break
                    i = _parse_int(buf, i, eol, num)
                    if key == K_E:
                        e_ms = num[0]
                    elif key == K_T:
                        t_ms = num[0]
                    elif key == K_U:
                        first_u = num[0]
                    elif key == K_u:
                        uid = num[0]
                    elif key == K_pu:
                        pu = num[0]
                        shape |= SH_PU
                    elif key == K_t:
                        tid = num[0]
                elif c == 116 or c == 102:  # true / false
                    if cls != 0 and cls != _C_BOOL:
                        ok = False
                        break
                    if c == 116 and i + 4 <= eol and buf[i + 1] == 114 and buf[i + 2] == 117 and buf[i + 3] == 101:
                        v = 1
                        i += 4
                    elif (c == 102 and i + 5 <= eol and buf[i + 1] == 97 and buf[i + 2] == 108
                          and buf[i + 3] == 115 and buf[i + 4] == 101):
                        v = 0
                        i += 5
                    else:
                        ok = False
                        break
                    if key == K_m:
                        maker = v
                elif c == 91 and (key == K_b or key == K_a):  # level lists
                    n0 = cnt[C_LVLS]
                    i = _parse_levels(buf, i, eol, BUY if key == K_b else SELL, lv, cnt, tmp)
                    if key == K_b:
                        n_b_arr = 1 + cnt[C_LVLS] - n0
                    else:
                        n_a_arr = 1 + cnt[C_LVLS] - n0
                else:  # null, an object, another list, a negative number, …
                    ok = False
            if not ok:
                break
            if i == -2:
                status = P_FULL
                ok = False
                break
            if i < 0 or i >= eol:
                ok = False
                break
            # separator or end of object
            c = buf[i]
            if c == 44:
                i += 1
            elif c == 125:
                i += 1
                if in_data:
                    in_data = False
                    if i >= eol:
                        ok = False
                        break
                    c = buf[i]
                    if c == 44:
                        i += 1
                    elif c == 125:
                        i += 1
                        break
                    else:
                        ok = False
                else:
                    break
            else:
                ok = False
        # classify the complete line
        if ok and not in_data and (i == end or buf[i] == 10):
            eol = i
            n = cnt[C_MSGS]
            lv_n = cnt[C_LVLS] - lv_start
            if (seen_top >> K_DATA) & 1:
                if seen_top & _SNAPSHOT_ONLY:
                    pass  # a combined-stream message holds only "stream" and "data"
                elif ev == V_DEPTH:
                    if n_b_arr > 0 and n_a_arr > 0 and e_ms != _ABSENT and first_u != _ABSENT and uid != _ABSENT:
                        typ = T_DEPTH
                elif ev == V_TRADE:
                    if has_p and has_q and maker >= 0 and tid != _ABSENT and t_ms != _ABSENT and n_b_arr == 0 \
                            and n_a_arr == 0:
                        if cnt[C_LVLS] >= lv.shape[0]:
                            status = P_FULL
                        else:
                            typ = T_TRADE
                            k = cnt[C_LVLS]
                            lv[k, L_SIDE] = SELL if maker == 1 else BUY
                            lv[k, L_PM] = pm
                            lv[k, L_PD] = pd
                            lv[k, L_QM] = qm
                            lv[k, L_QD] = qd
                            cnt[C_LVLS] = k + 1
                            lv_n = 1
                            uid = tid
                elif (ev == V_TICKER or ev == -2) and has_b_str and has_B and has_a_str and has_A \
                        and uid != _ABSENT and n_b_arr == 0 and n_a_arr == 0:
                    if cnt[C_LVLS] + 2 > lv.shape[0]:
                        status = P_FULL
                    else:
                        typ = T_TICKER
                        k = cnt[C_LVLS]
                        lv[k, L_SIDE] = BUY
                        lv[k, L_PM] = bp
                        lv[k, L_PD] = bd
                        lv[k, L_QM] = bqm
                        lv[k, L_QD] = bqd
                        lv[k + 1, L_SIDE] = SELL
                        lv[k + 1, L_PM] = ap
                        lv[k + 1, L_PD] = ad
                        lv[k + 1, L_QM] = aqm
                        lv[k + 1, L_QD] = aqd
                        cnt[C_LVLS] = k + 2
                        lv_n = 2
            elif lastid != _ABSENT and n_b_arr > 0 and n_a_arr > 0:
                typ = T_SNAPSHOT
                uid = lastid
            if typ != 0 and sym_bad:
                status = P_SYMBOL
                typ = 0
            if typ != 0:
                msgs[n, M_LINE] = cnt[C_LINE]
                msgs[n, M_TS] = ts
                msgs[n, M_TYPE] = typ
                msgs[n, M_E] = e_ms
                msgs[n, M_T] = t_ms
                msgs[n, M_U_FIRST] = first_u
                msgs[n, M_ID] = uid
                msgs[n, M_PU] = pu
                msgs[n, M_LV0] = lv_start
                msgs[n, M_NLV] = lv_n
                msgs[n, M_SHAPE] = shape
                msgs[n, M_FILE] = 0
                msgs[n, M_POS] = start
                cnt[C_MSGS] = n + 1
                cnt[C_POS] = eol + 1
                cnt[C_LINE] += 1
                continue
        # not taken: roll back this line's levels and hand it to the caller
        cnt[C_LVLS] = lv_start
        return status
    return P_DONE
