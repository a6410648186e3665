"""Numba kernel of the synthetic L3 order-flow generator (`hft.data.generate`).

The kernel simulates one instrument's market-by-order book on a fixed price grid and writes, per message, one
LOBSTER message row and one top-L orderbook row into caller-allocated arrays. It runs in chunks: it stops when
the output arrays are nearly full (status `ST_MORE`) or at the end of the session (`ST_DONE`); all state lives
in `GenState` (NamedTuple of numpy arrays), so the driver calls it again to continue. A second pair of kernels
formats the rows as LOBSTER CSV bytes.

Randomness is xoshiro256** on a uint64[4] state held in `GenState.rng`, so the stream depends only on the seed
(never on numba's or numpy's global generators).

Grid coordinates: a price is an index ``i`` in ``[0, G)``; its price in ticks is ``base_ticks + i``. The fair
price is held in half-ticks (``h``, index units × 2). Best bid is -1 when the bid side is empty, best ask is G
when the ask side is empty.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hft.core.jit import njit

# --- message types (LOBSTER) ---------------------------------------------------------------------------------
MT_SUBMIT = 1
MT_CANCEL = 2
MT_DELETE = 3
MT_EXEC = 4
MT_HIDDEN = 5

# --- kernel status codes ---------------------------------------------------------------------------------------
ST_MORE = 0  # output arrays are full: call again
ST_DONE = 1  # session end reached
ST_ORDER_CAPACITY = -1  # more resting orders than order slots (raise the capacity)

# --- GenState.ints indices -------------------------------------------------------------------------------------
I_BID = 0  # best bid index, -1 when empty
I_ASK = 1  # best ask index, G when empty
I_NACT = 2  # number of resting orders
I_NFREE = 3  # free order slots on the stack
I_NEXT_ID = 4  # next order id
I_HALF = 5  # fair price, in half-ticks of grid index
I_NLEV_BID = 6  # non-empty bid levels
I_NLEV_ASK = 7  # non-empty ask levels
I_INIT_DONE = 8  # 1 once the opening book has been laid
N_INTS = 9

# --- GenState.floats indices -----------------------------------------------------------------------------------
F_T = 0  # seconds since session start
F_EXC = 1  # Hawkes excitation (events/s) at time F_T
N_FLOATS = 2

# --- Params.f indices ------------------------------------------------------------------------------------------
P_T_END = 0  # session length, s
P_MU = 1  # Hawkes baseline rate (events/s at profile 1)
P_ALPHA = 2  # Hawkes jump of the excitation per event (events/s)
P_BETA = 3  # Hawkes decay rate (1/s)
P_NU = 4  # cancel rate per resting order (1/s at profile 1)
P_JUMP = 5  # fair-price half-tick jump rate (1/s at profile 1)
P_REVERT = 6  # fair-price mean reversion per jump (probability shift per half-tick of deviation)
P_P_LIMIT = 7  # share of Hawkes events that are limit orders
P_P_MARKET = 8  # share of Hawkes events that are market orders (the rest are hidden executions)
P_P_PARTIAL = 9  # share of cancels that are partial (type 2)
P_INFORM = 10  # market-order side tilt per tick of (fair − mid)
P_PROF_A = 11  # U-shape: opening amplitude
P_PROF_TA = 12  # U-shape: opening decay (fraction of session)
P_PROF_B = 13  # U-shape: closing amplitude
P_PROF_TB = 14  # U-shape: closing decay (fraction of session)
P_PROF_NORM = 15  # U-shape: normaliser (mean of the profile is 1)
P_PROF_MAX = 16  # U-shape: maximum of the normalised profile
N_PF = 17

# --- Params.i indices ------------------------------------------------------------------------------------------
Q_G = 0  # grid size
Q_BASE_TICKS = 1  # price in ticks of grid index 0
Q_TICK_UNITS = 2  # price units (dollars × 10000) per tick
Q_START_NS = 3  # session start, ns after midnight
Q_LEVELS = 4  # L, levels per side in the orderbook rows
Q_INIT_LEVELS = 5  # opening book: levels per side
Q_INIT_ORDERS = 6  # opening book: orders per level
Q_HALF0 = 7  # fair price at the open (half-ticks of index); mean-reversion anchor
Q_MAX_FILLS = 8  # at most this many resting orders consumed by one incoming order
Q_PREOPEN = 9  # 1: the opening book is laid without messages (like orders resting before 09:30)
N_PI = 10


class GenState(NamedTuple):
    """Mutable simulation state (all numpy arrays; the kernel updates them in place)."""

    lvl_head: np.ndarray  # int64[G]: first (oldest) order slot at the price, -1 if none
    lvl_tail: np.ndarray  # int64[G]: last order slot at the price, -1 if none
    lvl_size: np.ndarray  # int64[G]: visible size at the price
    o_id: np.ndarray  # int64[cap]: order id of a slot
    o_px: np.ndarray  # int64[cap]: price index
    o_side: np.ndarray  # int64[cap]: 1 buy, -1 sell
    o_size: np.ndarray  # int64[cap]: remaining size
    o_prev: np.ndarray  # int64[cap]: previous slot in the price queue (-1 at head)
    o_next: np.ndarray  # int64[cap]: next slot in the price queue (-1 at tail)
    o_pos: np.ndarray  # int64[cap]: position of the slot in `active`
    active: np.ndarray  # int64[cap]: dense list of resting slots (for uniform cancel picks)
    free: np.ndarray  # int64[cap]: stack of free slots
    ints: np.ndarray  # int64[N_INTS]: scalar state, see I_*
    floats: np.ndarray  # float64[N_FLOATS]: scalar state, see F_*
    rng: np.ndarray  # uint64[4]: xoshiro256** state


class Params(NamedTuple):
    """Read-only model parameters and sampling tables."""

    f: np.ndarray  # float64[N_PF], see P_*
    i: np.ndarray  # int64[N_PI], see Q_*
    depth_cdf: np.ndarray  # float64[K]: P(offset from the anchor <= k ticks)
    lim_size_cdf: np.ndarray  # float64[S]: limit-order size buckets, cumulative probability
    lim_size_lo: np.ndarray  # int64[S]: bucket lower bound (shares)
    lim_size_hi: np.ndarray  # int64[S]: bucket upper bound (shares)
    lim_size_step: np.ndarray  # int64[S]: bucket granularity (1, or 100 for round lots)
    mkt_size_cdf: np.ndarray  # float64[M]: market-order size buckets
    mkt_size_lo: np.ndarray
    mkt_size_hi: np.ndarray
    mkt_size_step: np.ndarray


def new_state(grid: int, capacity: int, seed_words: np.ndarray) -> GenState:
    """A fresh state for a grid of `grid` prices and `capacity` order slots (book empty)."""
    st = GenState(
        lvl_head=np.full(grid, -1, np.int64),
        lvl_tail=np.full(grid, -1, np.int64),
        lvl_size=np.zeros(grid, np.int64),
        o_id=np.zeros(capacity, np.int64),
        o_px=np.zeros(capacity, np.int64),
        o_side=np.zeros(capacity, np.int64),
        o_size=np.zeros(capacity, np.int64),
        o_prev=np.full(capacity, -1, np.int64),
        o_next=np.full(capacity, -1, np.int64),
        o_pos=np.full(capacity, -1, np.int64),
        active=np.zeros(capacity, np.int64),
        free=np.arange(capacity - 1, -1, -1, dtype=np.int64),
        ints=np.zeros(N_INTS, np.int64),
        floats=np.zeros(N_FLOATS, np.float64),
        rng=np.asarray(seed_words, dtype=np.uint64).copy(),
    )
    st.ints[I_BID] = -1
    st.ints[I_ASK] = grid
    st.ints[I_NFREE] = capacity
    return st


# ================================================================================================================
# random numbers: xoshiro256**
# ================================================================================================================


@njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, inline="always")
def _next_u64(s: np.ndarray) -> np.uint64:
    s0 = s[0]
    s1 = s[1]
    s2 = s[2]
    s3 = s[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3
    return result


@njit(cache=True, inline="always")
def _uniform(s: np.ndarray) -> float:
    """Uniform in [0, 1) with 53 random bits."""
    return float(_next_u64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _below(s: np.ndarray, n: int) -> int:
    """Uniform integer in [0, n)."""
    k = int(_uniform(s) * n)
    return k if k < n else n - 1


@njit(cache=True, inline="always")
def _exponential(s: np.ndarray) -> float:
    """Exp(1)."""
    return -np.log(1.0 - _uniform(s))


@njit(cache=True, inline="always")
def _pick(s: np.ndarray, cdf: np.ndarray) -> int:
    u = _uniform(s)
    for k in range(cdf.shape[0]):
        if u < cdf[k]:
            return k
    return cdf.shape[0] - 1


@njit(cache=True, inline="always")
def _draw_size(s: np.ndarray, cdf: np.ndarray, lo: np.ndarray, hi: np.ndarray, step: np.ndarray) -> int:
    b = _pick(s, cdf)
    n_steps = (hi[b] - lo[b]) // step[b] + 1
    return lo[b] + step[b] * _below(s, n_steps)


# ================================================================================================================
# book operations
# ================================================================================================================


@njit(cache=True)
def _add_order(st: GenState, side: int, px: int, size: int) -> int:
    """Append a new order at the tail of its price queue. Returns its slot, or -1 without a free slot."""
    ints = st.ints
    if ints[I_NFREE] == 0:
        return -1
    ints[I_NFREE] -= 1
    slot = st.free[ints[I_NFREE]]
    st.o_id[slot] = ints[I_NEXT_ID]
    ints[I_NEXT_ID] += 1
    st.o_px[slot] = px
    st.o_side[slot] = side
    st.o_size[slot] = size
    st.o_next[slot] = -1
    tail = st.lvl_tail[px]
    st.o_prev[slot] = tail
    if tail >= 0:
        st.o_next[tail] = slot
    else:
        st.lvl_head[px] = slot
        if side == 1:
            ints[I_NLEV_BID] += 1
        else:
            ints[I_NLEV_ASK] += 1
    st.lvl_tail[px] = slot
    st.lvl_size[px] += size
    st.o_pos[slot] = ints[I_NACT]
    st.active[ints[I_NACT]] = slot
    ints[I_NACT] += 1
    if side == 1:
        if px > ints[I_BID]:
            ints[I_BID] = px
    elif px < ints[I_ASK]:
        ints[I_ASK] = px
    return slot


@njit(cache=True)
def _remove_order(st: GenState, slot: int) -> None:
    """Unlink a slot from its queue and the active list; update best prices."""
    ints = st.ints
    px = st.o_px[slot]
    side = st.o_side[slot]
    st.lvl_size[px] -= st.o_size[slot]
    prev = st.o_prev[slot]
    nxt = st.o_next[slot]
    if prev >= 0:
        st.o_next[prev] = nxt
    else:
        st.lvl_head[px] = nxt
    if nxt >= 0:
        st.o_prev[nxt] = prev
    else:
        st.lvl_tail[px] = prev
    # swap-remove from the active list
    pos = st.o_pos[slot]
    last = st.active[ints[I_NACT] - 1]
    st.active[pos] = last
    st.o_pos[last] = pos
    ints[I_NACT] -= 1
    st.o_pos[slot] = -1
    st.o_size[slot] = 0
    st.free[ints[I_NFREE]] = slot
    ints[I_NFREE] += 1
    if st.lvl_head[px] < 0:  # the level emptied
        g = st.lvl_head.shape[0]
        if side == 1:
            ints[I_NLEV_BID] -= 1
            if px == ints[I_BID]:
                p = px - 1
                if ints[I_NLEV_BID] == 0:
                    p = -1
                while p >= 0 and st.lvl_head[p] < 0:
                    p -= 1
                ints[I_BID] = p
        else:
            ints[I_NLEV_ASK] -= 1
            if px == ints[I_ASK]:
                p = px + 1
                if ints[I_NLEV_ASK] == 0:
                    p = g
                while p < g and st.lvl_head[p] < 0:
                    p += 1
                ints[I_ASK] = p


@njit(cache=True)
def _snapshot(st: GenState, prm: Params, row: np.ndarray) -> None:
    """Write the top-L book (LOBSTER orderbook layout) into `row`."""
    levels = prm.i[Q_LEVELS]
    base = prm.i[Q_BASE_TICKS]
    tu = prm.i[Q_TICK_UNITS]
    # asks (levels exist up to the side's level count, so the scans stay inside the grid)
    p = st.ints[I_ASK]
    n_ask = min(levels, st.ints[I_NLEV_ASK])
    for k in range(levels):
        if k < n_ask:
            while st.lvl_head[p] < 0:
                p += 1
            row[4 * k] = (base + p) * tu
            row[4 * k + 1] = st.lvl_size[p]
            p += 1
        else:
            row[4 * k] = 9999999999
            row[4 * k + 1] = 0
    p = st.ints[I_BID]
    n_bid = min(levels, st.ints[I_NLEV_BID])
    for k in range(levels):
        if k < n_bid:
            while st.lvl_head[p] < 0:
                p -= 1
            row[4 * k + 2] = (base + p) * tu
            row[4 * k + 3] = st.lvl_size[p]
            p -= 1
        else:
            row[4 * k + 2] = -9999999999
            row[4 * k + 3] = 0


@njit(cache=True)
def _emit(st: GenState, prm: Params, msg: np.ndarray, book: np.ndarray, n: int, t_ns: int, mtype: int,
          oid: int, size: int, px: int, side: int) -> int:
    """Write message row `n` and the book after it; return n + 1."""
    msg[n, 0] = t_ns
    msg[n, 1] = mtype
    msg[n, 2] = oid
    msg[n, 3] = size
    msg[n, 4] = (prm.i[Q_BASE_TICKS] + px) * prm.i[Q_TICK_UNITS]
    msg[n, 5] = side
    _snapshot(st, prm, book[n])
    return n + 1


@njit(cache=True)
def _sweep(st: GenState, prm: Params, msg: np.ndarray, book: np.ndarray, n: int, t_ns: int, side: int,
           limit_px: int, qty: int) -> tuple[int, int]:
    """An incoming order of `side` takes resting liquidity FIFO up to `limit_px`.

    Emits one type-4 row per resting order touched. Returns (rows written so far, unfilled quantity).
    """
    fills = 0
    max_fills = prm.i[Q_MAX_FILLS]
    while qty > 0 and fills < max_fills:
        if side == 1:
            best = st.ints[I_ASK]
            if st.ints[I_NLEV_ASK] == 0 or best > limit_px:
                break
        else:
            best = st.ints[I_BID]
            if st.ints[I_NLEV_BID] == 0 or best < limit_px:
                break
        slot = st.lvl_head[best]
        q = min(qty, st.o_size[slot])
        oid = st.o_id[slot]
        rside = st.o_side[slot]
        if q == st.o_size[slot]:
            _remove_order(st, slot)
        else:
            st.o_size[slot] -= q
            st.lvl_size[best] -= q
        qty -= q
        fills += 1
        n = _emit(st, prm, msg, book, n, t_ns, MT_EXEC, oid, q, best, rside)
    return n, qty


@njit(cache=True, inline="always")
def _profile(prm: Params, t: float) -> float:
    """Normalised U-shaped intraday intensity at `t` seconds after the open (mean 1 over the session)."""
    f = prm.f
    u = t / f[P_T_END]
    return (1.0 + f[P_PROF_A] * np.exp(-u / f[P_PROF_TA])
            + f[P_PROF_B] * np.exp(-(1.0 - u) / f[P_PROF_TB])) / f[P_PROF_NORM]


# ================================================================================================================
# the simulation
# ================================================================================================================


@njit(cache=True)
def _open_book(st: GenState, prm: Params, msg: np.ndarray, book: np.ndarray, n: int) -> int:
    """Lay the opening book around the fair price: best levels first, alternating sides."""
    rng = st.rng
    h = st.ints[I_HALF]
    a_bid = (h - 1) // 2
    a_ask = (h + 2) // 2
    preopen = prm.i[Q_PREOPEN] == 1
    t_ns = prm.i[Q_START_NS]
    for k in range(prm.i[Q_INIT_LEVELS]):
        for _j in range(prm.i[Q_INIT_ORDERS]):
            for side in (1, -1):
                px = a_bid - k if side == 1 else a_ask + k
                size = _draw_size(rng, prm.lim_size_cdf, prm.lim_size_lo, prm.lim_size_hi, prm.lim_size_step)
                slot = _add_order(st, side, px, size)
                if slot >= 0 and not preopen:
                    n = _emit(st, prm, msg, book, n, t_ns, MT_SUBMIT, st.o_id[slot], size, px, side)
    st.ints[I_INIT_DONE] = 1
    return n


@njit(cache=True)
def run_chunk(st: GenState, prm: Params, msg: np.ndarray, book: np.ndarray) -> tuple[int, int]:
    """Simulate until `msg`/`book` are nearly full or the session ends.

    Args:
        st: state, updated in place.
        prm: parameters.
        msg: int64[n, 6] message rows (time ns after midnight, type, order id, size, price units, direction).
        book: int64[n, 4L] orderbook rows (the book after each message).

    Returns:
        (rows written, status): status `ST_MORE`, `ST_DONE` or a negative error code.
    """
    f = prm.f
    rng = st.rng
    ints = st.ints
    fl = st.floats
    g = prm.i[Q_G]
    cap_rows = msg.shape[0]
    margin = prm.i[Q_MAX_FILLS] + 2
    n = 0
    if ints[I_INIT_DONE] == 0:
        n = _open_book(st, prm, msg, book, n)
    t_end = f[P_T_END]
    start_ns = prm.i[Q_START_NS]
    prof_max = f[P_PROF_MAX]
    while True:
        if n + margin > cap_rows:
            return n, ST_MORE
        # --- Ogata thinning over three components: fair-price jumps, cancels, Hawkes order arrivals ---
        nact = ints[I_NACT]
        lam_bar = (f[P_MU] + f[P_NU] * nact + f[P_JUMP]) * prof_max + fl[F_EXC]
        dt = _exponential(rng) / lam_bar
        t = fl[F_T] + dt
        fl[F_T] = t
        fl[F_EXC] *= np.exp(-f[P_BETA] * dt)
        if t >= t_end:
            return n, ST_DONE
        prof = _profile(prm, t)
        lam_j = f[P_JUMP] * prof
        lam_c = f[P_NU] * nact * prof
        lam_h = f[P_MU] * prof + fl[F_EXC]
        u = _uniform(rng) * lam_bar
        if u >= lam_j + lam_c + lam_h:
            continue  # rejected candidate
        t_ns = start_ns + int(t * 1e9)
        if u < lam_j:
            # fair price: ±1 half-tick, weakly mean-reverting; kept well inside the grid
            h = ints[I_HALF]
            p_up = 0.5 - f[P_REVERT] * (h - prm.i[Q_HALF0])
            p_up = min(0.9, max(0.1, p_up))
            if h < 200:
                p_up = 1.0
            elif h > 2 * g - 200:
                p_up = 0.0
            ints[I_HALF] = h + 1 if _uniform(rng) < p_up else h - 1
            continue
        if u < lam_j + lam_c:
            # cancel a uniformly chosen resting order: partial (type 2) or full delete (type 3)
            if nact == 0:
                continue
            slot = st.active[_below(rng, nact)]
            size = st.o_size[slot]
            px = st.o_px[slot]
            side = st.o_side[slot]
            oid = st.o_id[slot]
            if size >= 2 and _uniform(rng) < f[P_P_PARTIAL]:
                if size > 100 and size % 100 == 0:
                    q = 100 * (1 + _below(rng, size // 100 - 1))
                else:
                    q = 1 + _below(rng, size - 1)
                st.o_size[slot] -= q
                st.lvl_size[px] -= q
                n = _emit(st, prm, msg, book, n, t_ns, MT_CANCEL, oid, q, px, side)
            else:
                _remove_order(st, slot)
                n = _emit(st, prm, msg, book, n, t_ns, MT_DELETE, oid, size, px, side)
            continue
        # --- a Hawkes order arrival: excites further arrivals ---
        fl[F_EXC] += f[P_ALPHA]
        h = ints[I_HALF]
        bid = ints[I_BID]
        ask = ints[I_ASK]
        kind = _uniform(rng)
        if kind < f[P_P_LIMIT]:
            # limit order: price = anchor ∓ offset drawn from the depth profile
            side = 1 if _uniform(rng) < 0.5 else -1
            k = _pick(rng, prm.depth_cdf)
            if side == 1:
                px = (h - 1) // 2 - k  # highest tick at or below fair − ½ tick
            else:
                px = (h + 2) // 2 + k  # lowest tick at or above fair + ½ tick
            if px < 0 or px >= g:
                continue
            size = _draw_size(rng, prm.lim_size_cdf, prm.lim_size_lo, prm.lim_size_hi, prm.lim_size_step)
            marketable = (side == 1 and ints[I_NLEV_ASK] > 0 and px >= ask) or (
                side == -1 and ints[I_NLEV_BID] > 0 and px <= bid)
            if marketable:
                n, size = _sweep(st, prm, msg, book, n, t_ns, side, px, size)
                if size == 0:
                    continue
                # never rest a remainder that would still cross (fill cap reached): drop it
                if (side == 1 and ints[I_NLEV_ASK] > 0 and px >= ints[I_ASK]) or (
                        side == -1 and ints[I_NLEV_BID] > 0 and px <= ints[I_BID]):
                    continue
            slot = _add_order(st, side, px, size)
            if slot < 0:
                return n, ST_ORDER_CAPACITY
            n = _emit(st, prm, msg, book, n, t_ns, MT_SUBMIT, st.o_id[slot], size, px, side)
            continue
        # market order or hidden execution: the aggressor leans towards the fair price
        if ints[I_NLEV_BID] == 0 or ints[I_NLEV_ASK] == 0:
            continue
        gap = 0.5 * h - 0.5 * (bid + ask)  # fair − mid, ticks
        p_buy = min(0.85, max(0.15, 0.5 + f[P_INFORM] * gap))
        side = 1 if _uniform(rng) < p_buy else -1
        size = _draw_size(rng, prm.mkt_size_cdf, prm.mkt_size_lo, prm.mkt_size_hi, prm.mkt_size_step)
        if kind < f[P_P_LIMIT] + f[P_P_MARKET]:
            n, _left = _sweep(st, prm, msg, book, n, t_ns, side, g if side == 1 else -1, size)
        else:
            # hidden execution (type 5): against a non-displayed order on the other side; book unchanged
            if ask - bid >= 2:
                px = bid + 1 + _below(rng, ask - bid - 1)
            else:
                px = bid if side == -1 else ask
            n = _emit(st, prm, msg, book, n, t_ns, MT_HIDDEN, 0, size, px, -side)


# ================================================================================================================
# CSV formatting
# ================================================================================================================


@njit(cache=True)
def _put_uint(buf: np.ndarray, pos: int, v: int) -> int:
    if v == 0:
        buf[pos] = 48
        return pos + 1
    nd = 0
    x = v
    while x > 0:
        nd += 1
        x //= 10
    end = pos + nd
    x = v
    for k in range(nd):
        buf[end - 1 - k] = 48 + x % 10
        x //= 10
    return end


@njit(cache=True)
def _put_int(buf: np.ndarray, pos: int, v: int) -> int:
    if v < 0:
        buf[pos] = 45  # '-'
        return _put_uint(buf, pos + 1, -v)
    return _put_uint(buf, pos, v)


@njit(cache=True)
def format_messages(msg: np.ndarray, n: int, buf: np.ndarray) -> int:
    """Write `n` message rows as LOBSTER CSV into `buf` (needs 80 bytes per row); return bytes written.

    Time is written as seconds after midnight with exactly nine decimals (``34200.004241176``).
    """
    pos = 0
    for r in range(n):
        t = msg[r, 0]
        pos = _put_uint(buf, pos, t // 1_000_000_000)
        buf[pos] = 46  # '.'
        frac = t % 1_000_000_000
        div = 100_000_000
        for _k in range(9):
            buf[pos + 1 + _k] = 48 + (frac // div) % 10
            div //= 10
        pos += 10
        for c in range(1, 6):
            buf[pos] = 44  # ','
            pos = _put_int(buf, pos + 1, msg[r, c])
        buf[pos] = 10
        pos += 1
    return pos


@njit(cache=True)
def format_book(book: np.ndarray, n: int, buf: np.ndarray) -> int:
    """Write `n` orderbook rows as CSV into `buf` (needs 12 bytes per field); return bytes written."""
    pos = 0
    ncol = book.shape[1]
    for r in range(n):
        for c in range(ncol):
            if c > 0:
                buf[pos] = 44
                pos += 1
            pos = _put_int(buf, pos, book[r, c])
        buf[pos] = 10
        pos += 1
    return pos
