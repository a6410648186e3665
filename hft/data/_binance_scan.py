"""Numba scanner for Binance capture lines (see `hft.data.binance` for the format and the accepted shapes).

It parses compact ``<local_ns> <json>`` lines straight from decompressed bytes into a message table and a
level table of exact decimal digits; anything it does not accept is reported back (``P_FALLBACK``) so the
importer can route that line through `json.loads`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hft.core.dtypes import BUY, SELL

# --- scanner output layout ---------------------------------------------------------------------------------
# message table: int64 [n, _M_COLS]
M_LINE, M_TS, M_TYPE, M_E, M_T, M_U_FIRST, M_ID, M_PU, M_LV0, M_NLV, M_SHAPE, M_FILE = range(12)
_M_COLS = 12
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


def _key_code(text: str) -> np.uint64:
    """Hash of a JSON key / short string exactly as `_span_code` computes it (arithmetic modulo 2**64).

    A numpy ``uint64`` so that the kernels compare it as one: a Python int above 2**63 would be typed uint64 and
    one below int64, and numba compares uint64 with int64 as float64.
    """
    h = len(text)
    for c in text.encode():
        h = (h * 1_000_003 + c) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(h)


_K_STREAM, _K_DATA, _K_LASTID, _K_BIDS, _K_ASKS, _K_SYMBOL, _K_PAIR = (
    _key_code(k) for k in ("stream", "data", "lastUpdateId", "bids", "asks", "symbol", "pair"))
_K_e, _K_E, _K_T, _K_s, _K_ps, _K_U, _K_u, _K_pu, _K_b, _K_a, _K_B, _K_A, _K_t, _K_p, _K_q, _K_m, _K_M, _K_X = (
    _key_code(k) for k in ("e", "E", "T", "s", "ps", "U", "u", "pu", "b", "a", "B", "A", "t", "p", "q", "m", "M", "X"))
_V_DEPTH, _V_TRADE, _V_TICKER, _V_MARKET = (_key_code(v) for v in ("depthUpdate", "trade", "bookTicker", "MARKET"))
_ALL_CODES = [_key_code(k) for k in ("stream", "data", "lastUpdateId", "bids", "asks", "symbol", "pair", "e", "E",
                                     "T", "s", "ps", "U", "u", "pu", "b", "a", "B", "A", "t", "p", "q", "m", "M",
                                     "X", "depthUpdate", "trade", "bookTicker", "MARKET")]
assert len(set(_ALL_CODES)) == len(_ALL_CODES) and 0 not in _ALL_CODES  # 0: no event code seen
_NO_CODE = np.uint64(0)
_HASH_MUL = np.uint64(1_000_003)


# ===========================================================================================================
# numba scanner
# ===========================================================================================================
@njit(cache=True)
def _span_code(buf: np.ndarray, a: int, b: int) -> np.uint64:
    """`_key_code` of the bytes ``buf[a:b]``. Unsigned: it wraps modulo 2**64 by definition, where a wrapping
    signed multiply is undefined behaviour to LLVM (numba marks int64 arithmetic ``nsw``) and came out wrong once
    inlined into `_scan` for CPUs with AVX2."""
    h = np.uint64(b - a)
    for i in range(a, b):
        h = h * _HASH_MUL + np.uint64(buf[i])
    return h


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
    over 18 significant digits (leading zeros do not count: the rule of `hft.data.binance._is_dec`)."""
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
    handle and the tables hold exactly the lines before it.
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
        ev_code = _NO_CODE
        e_ms = _ABSENT
        t_ms = _ABSENT
        first_u = _ABSENT
        uid = _ABSENT
        pu = _ABSENT
        tid = _ABSENT
        lastid = _ABSENT
        maker = -1
        shape = 0
        n_b_arr = 0
        n_a_arr = 0
        has_b_str = False
        has_B = False
        has_a_str = False
        has_A = False
        has_p = False
        has_q = False
        bp = bd = bqm = bqd = ap = ad = aqm = aqd = pm = pd = qm = qd = 0
        in_data = False
        data_seen = False
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
            if buf[i] == 125:  # '}' closes an (empty or finished) object
                ok = False
                break
            if buf[i] != 34:
                ok = False
                break
            ke = _string_end(buf, i, eol)
            if ke < 0 or ke + 2 >= eol or buf[ke + 1] != 58:
                ok = False
                break
            key = _span_code(buf, i + 1, ke)
            i = ke + 2
            c = buf[i]
            if not in_data:
                if key == _K_DATA and c == 123 and not data_seen:
                    in_data = True
                    data_seen = True
                    i += 1
                    continue
                elif key == _K_LASTID:
                    i = _parse_int(buf, i, eol, num)
                    lastid = num[0]
                elif key == _K_E:
                    i = _parse_int(buf, i, eol, num)
                    e_ms = num[0]
                elif key == _K_T:
                    i = _parse_int(buf, i, eol, num)
                    t_ms = num[0]
                elif key == _K_BIDS:
                    n0 = cnt[C_LVLS]
                    i = _parse_levels(buf, i, eol, BUY, lv, cnt, tmp)
                    n_b_arr = 1 + cnt[C_LVLS] - n0
                elif key == _K_ASKS:
                    n0 = cnt[C_LVLS]
                    i = _parse_levels(buf, i, eol, SELL, lv, cnt, tmp)
                    n_a_arr = 1 + cnt[C_LVLS] - n0
                elif (key in (_K_STREAM, _K_SYMBOL, _K_PAIR)) and c == 34:
                    se = _string_end(buf, i, eol)
                    if se > 0 and key == _K_SYMBOL and nsym > 0:
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
                if c == 34:  # string values
                    se = _string_end(buf, i, eol)
                    if se < 0:
                        ok = False
                        break
                    a = i + 1
                    if key == _K_e:
                        ev_code = _span_code(buf, a, se)
                    elif key == _K_s:
                        if nsym > 0:
                            if se - a != nsym:
                                sym_bad = True
                            else:
                                for k in range(nsym):
                                    if buf[a + k] != sym[k]:
                                        sym_bad = True
                    elif key == _K_ps:
                        shape |= SH_PS
                    elif key == _K_X:
                        if _span_code(buf, a, se) != _V_MARKET:
                            shape |= SH_NONMARKET
                    elif key == _K_b:
                        has_b_str = _parse_dec(buf, a, se, tmp, 0)
                        bp, bd = tmp[0], tmp[1]
                        ok = has_b_str
                    elif key == _K_B:
                        has_B = _parse_dec(buf, a, se, tmp, 0)
                        bqm, bqd = tmp[0], tmp[1]
                        ok = has_B
                    elif key == _K_a:
                        has_a_str = _parse_dec(buf, a, se, tmp, 0)
                        ap, ad = tmp[0], tmp[1]
                        ok = has_a_str
                    elif key == _K_A:
                        has_A = _parse_dec(buf, a, se, tmp, 0)
                        aqm, aqd = tmp[0], tmp[1]
                        ok = has_A
                    elif key == _K_p:
                        has_p = _parse_dec(buf, a, se, tmp, 0)
                        pm, pd = tmp[0], tmp[1]
                        ok = has_p
                    elif key == _K_q:
                        has_q = _parse_dec(buf, a, se, tmp, 0)
                        qm, qd = tmp[0], tmp[1]
                        ok = has_q
                    i = se + 1  # other string fields (stream, X, …) are skipped
                elif 48 <= c <= 57:  # integers
                    i = _parse_int(buf, i, eol, num)
                    if key == _K_E:
                        e_ms = num[0]
                    elif key == _K_T:
                        t_ms = num[0]
                    elif key == _K_U:
                        first_u = num[0]
                    elif key == _K_u:
                        uid = num[0]
                    elif key == _K_pu:
                        pu = num[0]
                        shape |= SH_PU
                    elif key == _K_t:
                        tid = num[0]
                elif c == 116 or c == 102:  # true / false
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
                    if key == _K_m:
                        maker = v
                elif c == 91:  # level arrays
                    if key == _K_b:
                        n0 = cnt[C_LVLS]
                        i = _parse_levels(buf, i, eol, BUY, lv, cnt, tmp)
                        n_b_arr = 1 + cnt[C_LVLS] - n0
                    elif key == _K_a:
                        n0 = cnt[C_LVLS]
                        i = _parse_levels(buf, i, eol, SELL, lv, cnt, tmp)
                        n_a_arr = 1 + cnt[C_LVLS] - n0
                    else:
                        ok = False
                else:
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
                if i >= eol:
                    ok = False
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
                        if i >= eol:
                            ok = False
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
            if data_seen and lastid == _ABSENT:
                if ev_code == _V_DEPTH and n_b_arr > 0 and n_a_arr > 0 and e_ms != _ABSENT \
                        and first_u != _ABSENT and uid != _ABSENT:
                    typ = T_DEPTH
                elif ev_code == _V_TRADE and has_p and has_q and maker >= 0 and tid != _ABSENT \
                        and t_ms != _ABSENT and n_b_arr == 0 and n_a_arr == 0:
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
                elif (ev_code == _V_TICKER or ev_code == _NO_CODE) and has_b_str and has_B and has_a_str and has_A \
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
            elif not data_seen and lastid != _ABSENT and n_b_arr > 0 and n_a_arr > 0:
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
                cnt[C_MSGS] = n + 1
                cnt[C_POS] = eol + 1
                cnt[C_LINE] += 1
                continue
        # not taken: roll back this line's levels and hand it to the caller
        cnt[C_LVLS] = lv_start
        return status
    return P_DONE


