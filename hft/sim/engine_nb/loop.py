"""The numba engine's loop kernels, one per venue kind (`run_l2`, `run_l3`): the market streams and, on the
in-kernel order path, the kernel heap, in the reference engine's clock order until a wake (`hft.sim.engine_nb`)."""

from __future__ import annotations

from hft.book.l2 import (
    L2_OK,
    clear_arrays,
    set_level_inline,
)
from hft.book.l3 import l3_view, ptr
from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    SELL,
)
from hft.sim.engine_nb.order_path import (
    _fast_cmd_l2,
    _fast_cmd_l3,
    _fast_intents,
    _fast_report,
    _fast_schedule,
    _kfirst,
)
from hft.sim.engine_nb.state import (
    _I64_MAX,
    _NO_ROWS,
    EVM_AT,
    EVM_LEG,
    EVM_OWN,
    H_P,
    H_T,
    H_TYPE,
    HC_OID,
    IT_CMD,
    LM_HI,
    OI_LEG,
    S_BP,
    S_BS,
    S_BT,
    S_EV,
    S_FAST,
    S_FLAGS,
    S_GLEG,
    S_IEX,
    S_ILOC,
    S_MMQ,
    S_NEQ,
    S_NEXT_SAMPLE,
    S_NH,
    S_NINT,
    S_NOW,
    S_SAMPLE_NS,
    S_SKID,
    S_STOP,
    S_STORM_NEXT,
    S_T,
    S_WAKE,
    SK_NONE,
    W_BOUND,
    W_CHUNK,
    W_END,
    W_EQ_FULL,
    W_EXCH_FALLBACK,
    W_GROW,
    W_INTENTS,
    W_LOCAL_FALLBACK,
    W_REPORTS,
    _kernel,
)
from hft.sim.engine_nb.streams import (
    _before,
    _exch_l2,
    _exch_l3,
    _live_hi,
    _local,
    _local_leg,
    _pick,
    _prefetch_rows,
    _sample,
    _top_now,
    _venue_l2_leg,
    _venue_l3_leg,
)
from hft.sim.run_events import (
    PRI_EXCH_MD,
)
from hft.sim.venue_common import P_NCONS, P_NREP


@_kernel
def run_l2(st, evm, tops, lm, lbooks, is_l3, arena, eq, sord, intents, vbooks, vorders_l, vfqs, vcons_l, qms,
           vparams_l, vouts, h, drows, orows, frows, order_info, lat_e, lat_r, kc) -> int:
    """Advance the market streams (L2 venue) until a wake; see the module docstring. With ``st[S_FAST]`` the
    kernel heap `h` (commands and reports in flight) runs here too (`NbEngine`, "In-kernel order path").
    Per-leg state comes as tuples with one item per leg (`lbooks`, `vbooks` ...), rows of `tops` and of the leg
    matrix `lm` ("Several legs" in `hft.sim.engine_nb`). `kc`: the arrays of a kernel from outside with the
    full context, or of any on several legs (each leg's depth, trades and acct, `hft.sim.kernel_api`, and a leg's
    order view: `strategy_kernels.loop_kernel_arrays`); None for every other run."""
    lref = _NO_ROWS  # reference rows are L3 (LOBSTER) data only
    # (row 1, the data's exchange times, is not read here: the exchange stream runs on the venue's clock, row 2)
    loc_t, ex_pm, kind, side, price, qty, flags = evm[0], evm[2], evm[3], evm[4], evm[5], evm[6], evm[8]
    multi = len(lbooks) > 1  # a constant of the layout (tuple length): one leg's code has no several-legs branch
    # the leg of each event and its index in its leg's stream, and the merged index of each local event (several
    # legs; no negative-index wrap, as in `run_l3`). Pointer reads, unchecked even under NUMBA_BOUNDSCHECK: `at` read
    # only at i_loc (src 1), `lg` and `own` at at[i_loc] and i_ex (src 3); `_pick` returns those sources only below
    # n, the row length, and `at` is a permutation of 0..n-1 (`legs.local_stream`; evm is C-contiguous:
    # `buffers.take`)
    lg = ptr(evm[EVM_LEG] if multi else evm[0])
    own = ptr(evm[EVM_OWN] if multi else evm[0])
    at = ptr(evm[EVM_AT] if multi else evm[0])
    kl = kv = 0  # the legs of the local stream and of the exchange stream
    lbq, laq, lbb, lab, lst, top, ltop, y = _local_leg(0, lbooks, tops, lm)
    vbook, vbq, vaq, vbb, vab, vst, vorders, vfq, vcons, qm, vparams, vout = _venue_l2_leg(
        0, vbooks, vorders_l, vfqs, vcons_l, qms, vparams_l, vouts)
    hi = _live_hi(vorders, lm[0, LM_HI])
    n = loc_t.shape[0]
    i_loc = st[S_ILOC]
    i_ex = st[S_IEX]
    now = st[S_NOW]
    ns = st[S_NEXT_SAMPLE]
    sample_ns = st[S_SAMPLE_NS]
    ne = st[S_NEQ]
    bt = st[S_BT]
    bp = st[S_BP]
    stop = st[S_STOP]
    wake = st[S_WAKE]
    ex_last = ex_pm[n - 1] if n > 0 else 0  # the latest exchange time (exchange times need not be sorted)
    code = W_END
    if wake == 0 and st[S_SKID] == SK_NONE and hi == 0 and vparams[P_NCONS] == 0 and not multi:
        # Exchange fast-forward. With no order of ours at the venue and nothing consumed, exchange market data
        # only moves the venue's book, which nothing else reads before the next heap item (the bound); and no
        # wake can create one (the strategy wakes on no market data). So the exchange items before the bound
        # are applied here in one tight loop, and the merged loop below only sees local data and samples
        # (a sample's "data left" test reads ex_last, not i_ex). It stops at anything unusual, which the
        # merged loop then meets at its turn (and hands to Python).
        while i_ex < n and _before(ex_pm[i_ex], PRI_EXCH_MD, bt, bp):
            k = kind[i_ex]
            s = side[i_ex]
            q = qty[i_ex]
            if k == EV_LEVEL_SET or k == EV_SNAPSHOT_LEVEL:
                if (s != BUY and s != SELL) or q < 0 or set_level_inline(vbq, vaq, vbb, vab, vst, s, price[i_ex], q) != L2_OK:
                    break
            elif k == EV_CLEAR:
                clear_arrays(vbq, vaq, vbb, vab, vst, s)
            elif k == EV_TRADE and s != 0 and ((s != BUY and s != SELL) or q <= 0):
                break  # the Python venue raises on it
            i_ex += 1
    fast = st[S_FAST] != 0
    bs = st[S_BS]
    st[S_MMQ] = 0  # Python may have changed the order view since the last call (`streams._book_rule`)
    while True:
        src, ct, cp = _pick(i_loc, i_ex, n, loc_t, ex_pm, ex_last, ns, sample_ns)
        # the first heap item: the kernel heap's (fast mode) or the Python heap's, in (time, priority, seq) order
        kfirst = fast and _kfirst(st, h, bt, bp, bs)
        ht = h[0, H_T] if kfirst else bt
        hp = h[0, H_P] if kfirst else bp
        if src == 0 or _before(ht, hp, ct, cp):  # ties go to the market streams, as in the reference loop
            if kfirst:
                t_now = ht if ht > now else now
                if h[0, H_TYPE] == IT_CMD:
                    if multi and order_info[h[0, HC_OID], OI_LEG] != kv:  # to the venue of its order's leg
                        lm[kv, LM_HI] = hi
                        kv = order_info[h[0, HC_OID], OI_LEG]
                        vbook, vbq, vaq, vbb, vab, vst, vorders, vfq, vcons, qm, vparams, vout = _venue_l2_leg(
                            kv, vbooks, vorders_l, vfqs, vcons_l, qms, vparams_l, vouts)
                        hi = _live_hi(vorders, lm[kv, LM_HI])
                    w, hi = _fast_cmd_l2(st, h, vbook, vorders, vfq, vcons, qm, vparams, vout, lat_r, hi)
                else:
                    w = _fast_report(st, t_now, h, arena, frows, sord, order_info, lm, tops, intents, drows, orows,
                                     lat_e)
                if w == W_GROW:
                    st[S_GLEG] = kv  # the venue of that leg (L3: what must grow is in st[S_FLAGS])
                    code = w
                    break
                now = t_now
                if w >= 0:
                    code = w
                    break
                continue
            code = W_BOUND if (src != 0 or bt != _I64_MAX) else W_END
            if i_ex > 0 and ex_pm[i_ex - 1] > now:
                now = ex_pm[i_ex - 1]  # exchange items a fast-forward applied early count now
            break
        t_now = ct if ct > now else now
        if src == 1:
            if i_loc >= stop:
                code = W_CHUNK
                break
            m = at[i_loc] if multi else i_loc  # the local event's merged index
            if multi:  # (rows 3.. ahead of i_loc: the local order is close to the merged one)
                _prefetch_rows(evm, i_loc, 0, EVM_AT, 3, 4, 5, 6, 8, EVM_LEG)
            if multi and lg[m] != kl:
                _top_now(lbq, laq, lst, top)
                kl = lg[m]
                lbq, laq, lbb, lab, lst, top, ltop, y = _local_leg(kl, lbooks, tops, lm)
            vq = (vorders, vfq, hi)  # leg kl's venue, for a kernel's queue column (`kc`; kv's is current in `hi`)
            if kc is not None:  # noqa: SIM102 (nested: with kc None numba prunes this branch by type)
                if multi and kl != kv:
                    vq = (vorders_l[kl], vfqs[kl], lm[kl, LM_HI])
            w = _local(st, m, kind, side, price, qty, flags, lbq, laq, lbb, lab, lst, top, ltop, is_l3, arena,
                       wake, y, t_now, sord, intents, lref, own[m] if multi else m, kl, tops, lm, kc, vq, frows,
                       order_info)
            now = t_now
            if w == W_LOCAL_FALLBACK:
                code = w
                break
            i_loc += 1
            if w == W_INTENTS and fast and t_now < st[S_STORM_NEXT]:
                w = _fast_intents(st, st[S_NINT], intents, t_now, arena, lm, h, drows, orows, sord, order_info,
                                  lat_e)
                if w == W_GROW:
                    w = W_INTENTS  # no room: Python sends them (and grows the buffers before the next call)
            if w >= 0:
                st[S_EV] = m  # a merged index (the driver reads the event's columns and leg at it)
                st[S_T] = ct
                code = w
                break
        elif src == 2:
            if not _sample(tops, lm, eq, ne, t_now):
                code = W_EQ_FULL
                break
            ne += 1
            ns += sample_ns
            now = t_now
        else:
            if multi:
                _prefetch_rows(evm, i_ex, 1, 3, 4, 5, 6, 7, EVM_LEG, EVM_LEG)
            if multi and lg[i_ex] != kv:
                lm[kv, LM_HI] = hi
                kv = lg[i_ex]
                vbook, vbq, vaq, vbb, vab, vst, vorders, vfq, vcons, qm, vparams, vout = _venue_l2_leg(
                    kv, vbooks, vorders_l, vfqs, vcons_l, qms, vparams_l, vouts)
                hi = _live_hi(vorders, lm[kv, LM_HI])
            if fast and h.shape[0] - st[S_NH] < vout.shape[0]:
                st[S_GLEG] = kv
                code = W_GROW  # the reports it may produce need heap room: nothing applied
                break
            w = _exch_l2(st, i_ex, ct, kind, side, price, qty, vbook, vbq, vaq, vbb, vab, vst, vorders, vfq, vcons,
                         qm, vparams, vout, hi)
            if w == W_EXCH_FALLBACK:
                code = w
                break
            now = t_now
            i_ex += 1
            if w == W_REPORTS and fast:
                _fast_schedule(st, ct, vout, vparams[P_NREP], h, lat_r)
                w = -1
            if w >= 0:
                st[S_EV] = i_ex - 1
                st[S_T] = ct
                code = w
                break
    st[S_ILOC] = i_loc
    st[S_IEX] = i_ex
    st[S_NOW] = now
    st[S_NEXT_SAMPLE] = ns
    st[S_NEQ] = ne
    lm[kv, LM_HI] = hi
    _top_now(lbq, laq, lst, top)
    return code


@_kernel
def run_l3(st, evm, tops, lm, lbooks, is_l3, arena, eq, sord, intents, vbooks, vorders_l, vcons_l, vparams_l,
           vouts, vrefs, lrefs, h, drows, orows, frows, order_info, lat_e, lat_r, kc) -> int:
    """Advance the market streams (L3 venue) until a wake; see the module docstring. `lrefs`: each leg's local
    view's reference rows (``[0, 4]``: none, the view is built from the events). With ``st[S_FAST]`` the kernel
    heap `h` (commands and reports in flight) runs here too (`NbEngine`, "In-kernel order path"). Per-leg state as
    in `run_l2`."""
    loc_t, ex_pm, kind, side, price, qty, oid, flags = (evm[0], evm[2], evm[3], evm[4], evm[5], evm[6], evm[7],
                                                         evm[8])
    multi = len(lbooks) > 1  # a constant of the layout (tuple length): one leg's code has no several-legs branch
    # the leg of each event and its index in its leg's stream, and the merged index of each local event (several
    # legs), read without numba's negative-index wrap (the loop's indices are never negative; as in `run_l2`)
    lg = ptr(evm[EVM_LEG] if multi else evm[0])
    own = ptr(evm[EVM_OWN] if multi else evm[0])
    at = ptr(evm[EVM_AT] if multi else evm[0])
    kl = kv = 0  # the legs of the local stream and of the exchange stream
    # the venues' books are replaced (grown) only between calls
    vv, vorders, vcons, vparams, vout, vref = _venue_l3_leg(0, vbooks, vorders_l, vcons_l, vparams_l, vouts, vrefs)
    lbq, laq, lbb, lab, lst, top, ltop, y = _local_leg(0, lbooks, tops, lm)
    lref = lrefs[0]
    n = loc_t.shape[0]
    i_loc = st[S_ILOC]
    i_ex = st[S_IEX]
    now = st[S_NOW]
    ns = st[S_NEXT_SAMPLE]
    sample_ns = st[S_SAMPLE_NS]
    ne = st[S_NEQ]
    bt = st[S_BT]
    bp = st[S_BP]
    stop = st[S_STOP]
    wake = st[S_WAKE]
    ex_last = ex_pm[n - 1] if n > 0 else 0  # the latest exchange time (exchange times need not be sorted)
    code = W_END
    fast = st[S_FAST] != 0
    bs = st[S_BS]
    st[S_MMQ] = 0  # Python may have changed the order view since the last call (`streams._book_rule`)
    while True:
        src, ct, cp = _pick(i_loc, i_ex, n, loc_t, ex_pm, ex_last, ns, sample_ns)
        # the first heap item: the kernel heap's (fast mode) or the Python heap's, in (time, priority, seq) order
        kfirst = fast and _kfirst(st, h, bt, bp, bs)
        ht = h[0, H_T] if kfirst else bt
        hp = h[0, H_P] if kfirst else bp
        if src == 0 or _before(ht, hp, ct, cp):  # ties go to the market streams, as in the reference loop
            if kfirst:
                t_now = ht if ht > now else now
                if h[0, H_TYPE] == IT_CMD:
                    if multi and order_info[h[0, HC_OID], OI_LEG] != kv:  # to the venue of its order's leg
                        kv = order_info[h[0, HC_OID], OI_LEG]
                        vv, vorders, vcons, vparams, vout, vref = _venue_l3_leg(kv, vbooks, vorders_l, vcons_l,
                                                                                vparams_l, vouts, vrefs)
                    w = _fast_cmd_l3(st, h, vv, vorders, vcons, vparams, vout, vref, lat_r)
                else:
                    w = _fast_report(st, t_now, h, arena, frows, sord, order_info, lm, tops, intents, drows, orows,
                                     lat_e)
                if w == W_GROW:
                    st[S_GLEG] = kv  # the venue of that leg (L3: what must grow is in st[S_FLAGS])
                    code = w
                    break
                now = t_now
                if w >= 0:
                    code = w
                    break
                continue
            code = W_BOUND if (src != 0 or bt != _I64_MAX) else W_END
            if i_ex > 0 and ex_pm[i_ex - 1] > now:
                now = ex_pm[i_ex - 1]
            break
        t_now = ct if ct > now else now
        if src == 1:
            if i_loc >= stop:
                code = W_CHUNK
                break
            m = at[i_loc] if multi else i_loc  # the local event's merged index
            if multi and lg[m] != kl:
                _top_now(lbq, laq, lst, top)
                kl = lg[m]
                lbq, laq, lbb, lab, lst, top, ltop, y = _local_leg(kl, lbooks, tops, lm)
                lref = lrefs[kl]
            vq = (vv, vorders, vparams)  # leg kl's venue, for a kernel's queue column (`kc`)
            if kc is not None:  # noqa: SIM102 (nested: with kc None numba prunes this branch by type)
                if multi and kl != kv:
                    vq = (l3_view(vbooks[kl]), vorders_l[kl], vparams_l[kl])
            w = _local(st, m, kind, side, price, qty, flags, lbq, laq, lbb, lab, lst, top, ltop, is_l3, arena,
                       wake, y, t_now, sord, intents, lref, own[m] if multi else m, kl, tops, lm, kc, vq, frows,
                       order_info)
            now = t_now
            if w == W_LOCAL_FALLBACK:
                code = w
                break
            i_loc += 1
            if w == W_INTENTS and fast and t_now < st[S_STORM_NEXT]:
                w = _fast_intents(st, st[S_NINT], intents, t_now, arena, lm, h, drows, orows, sord, order_info,
                                  lat_e)
                if w == W_GROW:
                    w = W_INTENTS  # no room: Python sends them (and grows the buffers before the next call)
            if w >= 0:
                st[S_EV] = m  # a merged index (the driver reads the event's columns and leg at it)
                st[S_T] = ct
                code = w
                break
        elif src == 2:
            if not _sample(tops, lm, eq, ne, t_now):
                code = W_EQ_FULL
                break
            ne += 1
            ns += sample_ns
            now = t_now
        else:
            if multi and lg[i_ex] != kv:
                kv = lg[i_ex]
                vv, vorders, vcons, vparams, vout, vref = _venue_l3_leg(kv, vbooks, vorders_l, vcons_l, vparams_l,
                                                                        vouts, vrefs)
            if fast and h.shape[0] - st[S_NH] < vout.shape[0]:
                st[S_GLEG] = kv
                st[S_FLAGS] = 0
                code = W_GROW  # the reports it may produce need heap room: nothing applied
                break
            w = _exch_l3(st, i_ex, ct, kind, side, price, qty, oid, vv, vorders, vcons, vparams, vout, vref)
            if w == W_EXCH_FALLBACK:
                code = w
                break
            now = t_now
            i_ex += 1
            if w == W_REPORTS and fast:
                _fast_schedule(st, ct, vout, vparams[P_NREP], h, lat_r)
                w = -1
            if w >= 0:
                st[S_EV] = i_ex - 1
                st[S_T] = ct
                code = w
                break
    st[S_ILOC] = i_loc
    st[S_IEX] = i_ex
    st[S_NOW] = now
    st[S_NEXT_SAMPLE] = ns
    st[S_NEQ] = ne
    _top_now(lbq, laq, lst, top)
    return code


@_kernel
def _fill_evm(events, evm) -> None:
    """The event columns as int64 rows (1 exch_ts, 3.. kind, side, price, qty, order_id, flags) in one pass over the
    record array (within the value domain, `hft.core.bounds`: `run_setup.setup` checked them). Rows 0 (local times)
    and 2 (the venue's clock, `hft.sim.latency.venue_times`) are the driver's."""
    for i in range(events.shape[0]):
        e = events[i]
        evm[1, i] = e.exch_ts
        evm[3, i] = e.kind
        evm[4, i] = e.side
        evm[5, i] = e.price
        evm[6, i] = e.qty
        evm[7, i] = e.order_id
        evm[8, i] = e.flags


