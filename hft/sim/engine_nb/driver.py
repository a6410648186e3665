"""The numba engine's Python driver: `NbEngine` (the drop-in for `Engine` whose market streams and, when eligible,
order path run in the numba loop kernels of `hft.sim.engine_nb.loop`), and its helpers."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from operator import attrgetter, is_not

import numpy as np

from hft.core.dtypes import (
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    FLAG_EOM,
    NO_PRICE,
)
from hft.core.errors import SimError
from hft.core.orders import (
    INTENT_NEW,
    N_OPT,
    NO_OPTIONS,
)
from hft.gateway import kernels as GK
from hft.gateway import records
from hft.gateway.intents import TypedIntentEnvelope, typed_intent_v1
from hft.sim import run_events, run_output, run_setup
from hft.sim.engine import Engine
from hft.sim.engine_nb import buffers
from hft.sim.engine_nb.logs import (
    LazyMap,
    LazyRecords,
    ack_log_rows,
    concat_records,
    decision_log_of,
    fill_log_of,
    order_log_of,
)
from hft.sim.engine_nb.loop import _fill_evm, run_l2, run_l3
from hft.sim.engine_nb.order_path import heap_push_cmd, heap_push_rep
from hft.sim.engine_nb.state import (
    _I64_MAX,
    D_COLS,
    D_LEG,
    EQ_COLS,
    EVM_AT,
    EVM_LEG,
    EVM_OWN,
    EVM_ROWS,
    EVM_ROWS_LEGS,
    F_COLS,
    FR_OID,
    H_COLS,
    HR_FEE,
    HR_OID,
    HR_PRICE,
    HR_QTY,
    HR_TS,
    IN_COLS,
    IN_OPT,
    IN_SUBMIT,
    KERNEL_INTENT,
    LM_CASH,
    LM_COLS,
    LM_COLS_LEGS,
    LM_FEES,
    LM_FFRAC,
    LM_HI,
    LM_MULT,
    LM_POS,
    LM_ROWED,
    LM_RPOS,
    LM_Y,
    MAX_INTENTS,
    N_STATE,
    O_COLS,
    OI_ACK_TS,
    OI_COLS,
    OI_LEG,
    OI_QUEUE,
    OI_SIDE,
    OR_ACTION,
    OR_OID,
    OR_ORDER_TYPE,
    OR_PRICE,
    OR_QTY,
    OR_SIDE,
    OR_TIF,
    OR_TS,
    S_ACCT,
    S_BP,
    S_BS,
    S_BT,
    S_CMD_AT,
    S_EV,
    S_FAST,
    S_FLAGS,
    S_GLEG,
    S_IEX,
    S_ILOC,
    S_KEY,
    S_LEG,
    S_MODE,
    S_MULT,
    S_ND,
    S_NENTRY,
    S_NEQ,
    S_NEXT_SAMPLE,
    S_NF,
    S_NH,
    S_NINT,
    S_NO,
    S_NORD,
    S_NOW,
    S_NRESP,
    S_ORD_CHANGED,
    S_POS,
    S_RLEG,
    S_RN,
    S_ROWED,
    S_RPOS,
    S_SAMPLE_NS,
    S_SEQ,
    S_SKID,
    S_SKPTR,
    S_SPARAMS,
    S_STOP,
    S_STORM_NEXT,
    S_STRAT,
    S_T,
    S_WAKE,
    SK_CONTEXT,
    SK_EXTERNAL,
    SK_NONE,
    SO_COLS,
    SO_ID,
    SO_LEAVES,
    SO_PRICE,
    SO_QTY,
    SO_QUEUE,
    SO_SIDE,
    SO_STATUS,
    SO_STATUS_CODES,
    SO_STATUS_NAMES,
    W_BOOK,
    W_BOUND,
    W_CHUNK,
    W_END,
    W_EQ_FULL,
    W_EXCH_FALLBACK,
    W_FLAGS,
    W_GROW,
    W_INTENTS,
    W_LOCAL_FALLBACK,
    W_MONEY,
    W_REPORTS,
    W_RFLAGS,
    W_TRADE,
    WAKE_BOOK,
    WAKE_NAMES,
    WAKE_TRADE,
)
from hft.sim.engine_nb.strategy_kernels import (
    ORDER_RULE_KERNELS,
    call_context_kernel,
    check_intents,
    fill_context,
    kernel_code,
    leg_orders,
    loop_kernel_arrays,
    reset_intents,
    strategy_on_book,
)
from hft.sim.engine_nb.streams import trade_push
from hft.sim.entry_points import entry_point
from hft.sim.exchange_l3 import L3Venue
from hft.sim.fees import MONEY_REALIZED, fill_refusal, realized_after
from hft.sim.latency import latency_of, session_arrival, venue_times
from hft.sim.legs import local_stream
from hft.sim.run_events import PRI_EXCH_ARRIVAL, PRI_LOCAL_RESP, PRI_TIMER
from hft.sim.run_output import ORDER_LEG_DTYPE, RunOutput, decision_log
from hft.sim.run_records import ACK_LOG_DTYPE, DECISION_LOG_DTYPE, EQUITY_DTYPE
from hft.sim.strategy import OrderState, Strategy
from hft.sim.venue_common import P_NREP


def strategy_wakes(strategy: Strategy) -> frozenset[str]:
    """What wakes `strategy`: its ``wakes`` attribute, else the callbacks it overrides (and ``timer`` when
    ``timer_ns > 0``). A callback outside this set is never called by `NbEngine`."""
    declared = getattr(strategy, "wakes", None)
    history = {"trade"} if getattr(strategy, "trade_history", 0) > 0 else set()  # `Context.trades` needs them
    if declared is not None:
        bad = sorted(set(declared) - set(WAKE_NAMES))
        if bad:
            raise SimError(f"strategy wakes: expected a subset of {list(WAKE_NAMES)}, was {bad}")
        return frozenset(declared) | history
    cls = type(strategy)
    out = {name for name, meth in (("book", "on_book"), ("trade", "on_trade"), ("order", "on_order_update"))
           if getattr(cls, meth) is not getattr(Strategy, meth)}
    if strategy.timer_ns > 0:
        out.add("timer")
    return frozenset(out | history)


_UNWRITTEN = object()  # (a value no heap item is)
# the arrays the kernel call takes that Python code may replace (grow): the driver's, and each leg's venue's
_DRIVER_ARRAYS = attrgetter("_eq", "_sord", "_h", "_drows", "_orows", "_frows", "_order_info")
_VENUE_ARRAYS = attrgetter("book", "orders", "cons", "out")


# ======================================================================= Python driver
@run_setup.leg0_names  # the single-instrument names: leg 0's
class NbEngine:
    """The replay engine with the market streams in numba (module docstring): `hft.sim.engine.Engine`'s
    constructor, `of_legs`, `run` and `RunOutput`, and the same run hashes.

    A strategy with an ``nb_kernel`` name (and ``nb_params()``) runs its book callback as that strategy kernel
    inside the loop (``strategy_kernels = False`` on the engine forces the Python callbacks).

    It shares no base class with `Engine`: the rules both run are functions of `hft.sim.run_setup`,
    `hft.sim.run_events` and `hft.sim.run_output`, taken below by name (as they are) or called from this class's
    own versions of a step (the in-kernel order path's)."""

    __init__ = run_setup.init
    of_legs = classmethod(run_setup.of_legs)

    # the shared rules taken as they are; `submit`, `cancel`, `replace`, `put_nowait`, `_intent`, `_push`,
    # `_schedule_reports`, `_deliver` and `_refresh_top` are this class's own (below)
    continue_from = run_setup.continue_from
    end_session = run_setup.end_session
    _set_multiplier = run_setup.set_multiplier
    _sink = run_events.sink
    wake_at = run_events.wake_at
    _dispatch_item = run_events.dispatch_item
    _leg_at = run_events.leg_at
    _local_event = run_events.local_event
    _sample = run_events.sample
    _output = run_output.run_output

    strategy_kernels = True
    in_kernel_orders = True  # False: commands, reports and kernel intents always go through Python
    _skid = SK_NONE
    _kwho = "strategy kernel"  # the strategy as its kernel's intent checks name it (set with its kernel)
    _orders_dirty = True
    _fast = False  # the in-kernel order path is on (set by `run`, off again once its results are handed over)
    used_in_kernel_orders = False  # whether the last `run` used the in-kernel order path
    _rows0 = 256  # initial rows of the in-kernel order path's buffers
    _tight = False  # tests: grow those buffers only when full, so that the kernel runs out of room mid-call

    _ltop: np.ndarray | None = None  # the kernel's copy of leg 0's `local_top` (set by `run`)
    _tops: np.ndarray | None = None  # per leg: the per-event top (`Leg.top`, a view) and the strategy's snapshot

    def _refresh_top(self, k: int = 0) -> bool:
        changed = run_events.refresh_top(self, k)
        if self._tops is not None:
            self._tops[k, 4:] = self.legs[k].top
        return changed

    def _sync_top(self) -> None:
        tv = self._tops_mv
        for leg, o in self._top_slots:
            b, a = tv[o], tv[o + 2]
            leg.local_top = (None if b == NO_PRICE else b, tv[o + 1], None if a == NO_PRICE else a, tv[o + 3])

    # --- the strategy's order view for strategy kernels -------------------------------------------------------
    def submit(self, side: int, price: int, qty: int, otype: int | None, tif: int | None, leg: int = 0,
               opt: tuple = NO_OPTIONS) -> object:
        self._orders_dirty = True
        d = run_events.submit(self, side, price, qty, otype, tif, leg, opt)
        if self._fast and d.accepted and not d.duplicate:  # the kernel's side map is the one reports read
            self._room_side(d.order_id)
            self._order_info[d.order_id, OI_SIDE] = side
            self._order_info[d.order_id, OI_LEG] = leg
        return d

    def _order_leg(self, order_id: int) -> int:
        """The leg of an order (in-kernel order path: the kernel's side map has every order's, `_leg_of` not)."""
        if self._fast and 0 <= order_id < self._order_info.shape[0]:
            return int(self._order_info[order_id, OI_LEG])
        return self._leg_of.get(order_id, 0)

    def cancel(self, order_id: int) -> object:
        self._orders_dirty = True
        if self._fast:
            self._leg_of[order_id] = self._order_leg(order_id)  # the reference's cancel reads `_leg_of`
        return run_events.cancel(self, order_id)

    def replace(self, order_id: int, price: int, qty: int) -> object:
        self._orders_dirty = True
        if self._fast:
            self._leg_of[order_id] = self._order_leg(order_id)
        return run_events.replace(self, order_id, price, qty)

    def _deliver(self, rep: object) -> None:
        self._orders_dirty = True
        run_events.deliver(self, rep)
        if not self._fast:  # (in-kernel order path: the kernel books fills itself)
            self._mirror_accounting(self.cur)
            if self._skid == SK_CONTEXT:  # the loop's `acct[AC_REAL]`: each leg's exact average-cost state of the
                # fills Python booked, which the loop rounds as it rounds the state of its own fill rows
                for k, real in enumerate(self._py_realized):
                    realized_after(self._fill_rows, real, k, self._leg_of, self.legs[k].mult)
                    self._real_state(k)[:] = real[1:]

    def _real_state(self, k: int) -> np.ndarray:
        """Leg `k`'s realised-PnL state of a kernel with the full context (position, cost basis, realised PnL, fee
        millionths owed): the state row's ``S_RPOS:S_ROWED`` (one leg), else its row of the leg matrix."""
        return self._st[S_RPOS: S_ROWED + 1] if self._lm.shape[0] == 1 else self._lm[k, LM_RPOS: LM_ROWED + 1]

    def _realized(self, leg: int = 0) -> int:
        """A kernel with the full context on the in-kernel order path: the realised PnL of `leg`, the kernel's fill
        rows not yet seen (from ``st[S_RN]``) folded into each leg's state (`_real_state`) by `realized_after`, the
        rule the loop's `streams._realized_fold` folds them by; a `SimError` when a value would not fit int64."""
        st, info = self._st, self._order_info
        n0, nf = int(st[S_RN]), int(st[S_NF])
        rows = self._frows[:nf]
        leg_of = {} if len(self.legs) == 1 else {int(oid): int(info[oid, OI_LEG]) for oid in rows[n0:, FR_OID]}
        real = 0
        for k, leg in enumerate(self.legs):
            cols = self._real_state(k)
            state = [n0, *(int(x) for x in cols)]
            r = realized_after(rows, state, k, leg_of, int(st[S_MULT]) if len(self.legs) == 1 else leg.mult)
            cols[:] = state[1:]
            real = r if k == leg else real
        st[S_RN] = nf
        return real

    def _mirror_accounting(self, k: int) -> None:
        """Leg `k`'s position, cash and fees into the kernel's leg matrix (Python books them: not `_fast`)."""
        leg, row = self.legs[k], self._lm[k]
        row[LM_POS], row[LM_CASH], row[LM_FEES], row[LM_FFRAC] = leg.position, leg.cash, leg.fees, leg.fee_frac

    def _sync_orders(self) -> None:
        """Mirror `live_orders` (insertion order) into the kernel's order rows."""
        orders = self.live_orders
        if len(orders) + MAX_INTENTS > self._sord.shape[0]:
            self._sord = np.zeros((2 * (len(orders) + MAX_INTENTS), SO_COLS), dtype=np.int64)
        leg_of = self._order_leg
        for j, o in enumerate(orders.values()):
            self._sord[j, :SO_QUEUE] = (o.order_id, o.side, o.price, o.leaves, SO_STATUS_CODES[o.status], o.qty,
                                        leg_of(o.order_id))
        self._st[S_NORD] = len(orders)
        self._orders_dirty = False

    def _pull_orders(self) -> None:
        """`live_orders` := the kernel's order rows (the in-kernel order path changed them)."""
        rows = self._sord[: int(self._st[S_NORD])].tolist()
        self.live_orders = {r[SO_ID]: OrderState(r[SO_ID], r[SO_SIDE], r[SO_PRICE], r[SO_QTY], r[SO_LEAVES],
                                                 SO_STATUS_NAMES[r[SO_STATUS]]) for r in rows}
        self._st[S_ORD_CHANGED] = 0

    # --- the in-kernel order path: Python's side of it ----------------------------------------------------------
    # With `_fast`, commands and reports in flight live on the kernel heap and the counters (idempotency keys,
    # latency draws, heap sequence) in the state row, whoever creates them: Python code that sends an intent (a
    # fallback path, the gateway's StormGuard) pushes onto the same heap and writes the same rows, so the
    # order of everything is the reference engine's.
    def _intent(self, kind: int, side: int, price: int, qty: int, otype: int, tif: int, target: int,
                leg: int = 0, opt: tuple = NO_OPTIONS) -> object:
        if not self._fast:
            return run_events.intent(self, kind, side, price, qty, otype, tif, target, leg, opt)
        st = self._st
        st[S_KEY] += 1
        now = self.clock.now_ns()
        env = TypedIntentEnvelope(typed_intent_v1(kind, int(st[S_KEY]), self.cfg.account, self.cfg.strategy,
                                                  self.legs[leg].symbol, side, price, qty, otype, tif, now, target,
                                                  *opt),
                                  now)
        return self.gw.process(env)

    def put_nowait(self, cmd: object) -> None:
        if not self._fast:
            return run_events.put_nowait(self, cmd)
        st = self._st
        now = self.clock.now_ns()
        lat = latency_of(self.cfg.entry, now, int(st[S_NENTRY]))
        st[S_NENTRY] += 1
        at = session_arrival(now + lat, int(st[S_CMD_AT]))
        st[S_CMD_AT] = at
        self._heap_room()
        heap_push_cmd(self._h, st, at, PRI_EXCH_ARRIVAL, action=cmd.action, order_id=cmd.order_id,
                      side=cmd.side, price=cmd.price, qty=cmd.qty, order_type=cmd.order_type, tif=cmd.tif,
                      opt=cmd.options)
        if int(st[S_NO]) >= self._orows.shape[0]:
            self._orows = buffers.grown(self._orows, 1)
            self._arg_key = None
        row = self._orows[int(st[S_NO])]
        row[OR_TS], row[OR_OID], row[OR_PRICE], row[OR_QTY] = now, cmd.order_id, cmd.price, cmd.qty
        row[OR_ACTION], row[OR_SIDE], row[OR_ORDER_TYPE], row[OR_TIF] = cmd.action, cmd.side, cmd.order_type, cmd.tif
        st[S_NO] += 1

    def _schedule_reports(self, now: int, reports: np.ndarray) -> None:
        if not self._fast:
            return run_events.schedule_reports(self, now, reports)
        st = self._st
        for r in reports.tolist():
            lat = latency_of(self.cfg.response, now, int(st[S_NRESP]))
            st[S_NRESP] += 1
            self._heap_room()
            heap_push_rep(self._h, st, now + lat, PRI_LOCAL_RESP, *r)  # its parameters: `VENUE_REPORT`'s fields

    def _push(self, t: int, prio: int, item: tuple) -> None:
        if not self._fast:
            return run_events.push(self, t, prio, item)
        heapq.heappush(self.heap, (t, prio, int(self._st[S_SEQ]), item))
        self._st[S_SEQ] += 1

    def _heap_room(self) -> None:
        """Room for one more item on the kernel heap."""
        if self._st[S_NH] >= self._h.shape[0]:
            self._h = buffers.grown(self._h, 1)
            self._arg_key = None

    def _room_side(self, oid: int) -> None:
        need = oid + 2 if self._tight else 2 * (oid + 2 * MAX_INTENTS + 2)  # half free: few regrowths
        if need >= self._order_info.shape[0]:
            grown = np.zeros((2 * need, OI_COLS), dtype=np.int64)
            grown[: self._order_info.shape[0]] = self._order_info
            self._order_info = grown
            self._arg_key = None

    def _room(self) -> None:
        """Room for the next kernel call: a command's reports on the heap, a batch of intents, rows."""
        st = self._st
        out = 0
        for leg in self.legs:  # each venue's report and consumption buffers for any one call (L3: order-table rows)
            v = leg.venue if self._l3_venue else leg.venue.v
            if self._l3_venue:
                v.ensure_room(MAX_INTENTS)
            else:
                v._ensure()
            out = max(out, v.out.shape[0])
        tight = self._tight
        spare = 1 if tight else 4 * MAX_INTENTS
        if self._h.shape[0] - st[S_NH] < out + spare:
            self._h = buffers.grown(self._h, out + spare)
        for name, col in (("_drows", S_ND), ("_orows", S_NO), ("_frows", S_NF)):
            a = getattr(self, name)
            if a.shape[0] - st[col] < (1 if tight else max(4 * MAX_INTENTS + 64, a.shape[0] // 2)):  # half free
                setattr(self, name, buffers.grown(a, spare))
        if self._sord.shape[0] - st[S_NORD] < spare:
            self._sord = buffers.grown(self._sord, spare)
        self._room_side(int(GK.next_order_id(self.gw.arena)))

    def _money_refusal(self, what: int) -> SimError:
        """The `SimError` of a W_MONEY wake: the kernel heap's first item is the fill whose money did not fit (what:
        a `hft.sim.fees.MONEY_*` code), nothing of it applied; named as the reference engine names it. `MONEY_REALIZED`:
        the realised PnL of a kernel with the full context could not fold the fill row at ``st[S_RN]`` (`_realized`
        names it as ``ctx.realized_pnl`` would)."""
        if what == MONEY_REALIZED:
            try:
                self._realized()
            except SimError as e:
                return e
            return SimError(f"realised PnL: fill row {int(self._st[S_RN])}: expected values within int64")
        ts, oid, price, qty, fee = (int(self._h[0, c]) for c in (HR_TS, HR_OID, HR_PRICE, HR_QTY, HR_FEE))
        info = self._order_info
        side, k = (int(info[oid, OI_SIDE]), int(info[oid, OI_LEG])) if 0 <= oid < info.shape[0] else (0, 0)
        lm = self._lm
        mult = int(lm[k, LM_MULT]) if lm.shape[0] > 1 else int(self._st[S_MULT])
        return fill_refusal(what, ts, oid, side, price, qty, fee, mult, int(lm[k, LM_POS]), int(lm[k, LM_CASH]),
                            int(lm[k, LM_FEES]))

    def _fast_eligible(self, wakes: frozenset[str]) -> bool:
        """The in-kernel order path needs: a strategy kernel and no other Python callback, the gateway's metrics
        timing off (no per-intent wall-clock histogram) and no extra record sink (either venue)."""
        gw = self.gw
        served = {"book", "order"} if self._skid in ORDER_RULE_KERNELS else {"book"}  # the kernel's own rules
        return (self.in_kernel_orders and self._skid != SK_NONE and "book" in wakes and wakes <= served
                and gw.config.timing == "off" and gw.sink == self._back.sink and self._extra_sink is None
                and getattr(gw, "_put", None) == self._back.put_nowait)

    def _fast_segments(self) -> list[tuple[str, int, int]]:
        """The run's decisions in order, as segments ("py" | "kernel", start, stop) of Python's list and of the
        kernel's rows: the marks recorded after each kernel call ((kernel rows, Python decisions) so far) say
        that Python's decisions [previous mark, mark) came before the kernel rows of that call."""
        segs: list[tuple[str, int, int]] = []
        k = p = 0
        for nd, np_ in [*self._dmarks, (int(self._st[S_ND]), len(self.decisions))]:
            for src, a, b in (("py", p, np_), ("kernel", k, nd)):
                if b <= a:
                    continue
                if segs and segs[-1][0] == src and segs[-1][2] == a:  # the last call's rows go on: one segment
                    segs[-1] = (src, segs[-1][1], b)
                else:
                    segs.append((src, a, b))
            k, p = max(k, nd), max(p, np_)
        return segs

    def _kernel_decision_log(self, rows: np.ndarray) -> np.ndarray:
        """`DECISION_LOG_DTYPE` rows of the kernel's decision rows (what `decision_log` makes of their records)."""
        return decision_log_of(rows)

    def _kernel_records(self, rows: np.ndarray) -> Callable[[], list]:
        """A function building the gateway's `Decision` records of the kernel's decision rows (as
        `GatewayService.process` makes them); it holds what it needs, not the engine (`LazyRecords` outlives it)."""

        acct, strat = self.cfg.account, self.cfg.strategy
        syms = [leg.symbol for leg in self.legs]

        def build() -> list:
            out: list = []
            for seq, ts, key, kind, side, price, qty, otype, tif, target, code, oid, leg in rows.tolist():
                sym = syms[leg]
                cmd = records.command(kind, oid if kind == INTENT_NEW else target, key, acct, strat, sym, side, price,
                                      qty, otype, tif, ts) if code == 0 else None
                out.append(records.from_code(seq, ts, ts, (key, kind, acct, strat, sym, side, price, qty, otype, tif,
                                                           target), code, oid, cmd))
            return out

        return build

    def _fast_finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The in-kernel order path's results: the (decisions, orders, fills) logs built from the kernel's rows,
        the decision records as a lazily built sequence, the engine's Python state (final order view, side
        map, counters) as the reference engine leaves it."""

        st = self._st
        drows = self._drows[: int(st[S_ND])]  # (the lazy records read them: the decision rows are never reused)
        py = self.decisions
        segs = self._fast_segments()
        parts = [decision_log(py[a:b]) if src == "py" else self._kernel_decision_log(drows[a:b])
                 for src, a, b in segs]
        dec = concat_records(parts, DECISION_LOG_DTYPE)

        parts_of = [py[a:b] if src == "py" else self._kernel_records(drows[a:b]) for src, a, b in segs]

        def records() -> list:  # (no reference to the engine: the records outlive it)
            out: list = []
            for part in parts_of:
                out.extend(part if isinstance(part, list) else part())
            return out

        self.decisions = LazyRecords(records)
        orders = order_log_of(self._orows[: int(st[S_NO])])
        fills = fill_log_of(self._frows[: int(st[S_NF])])
        if len(self.legs) > 1:  # the leg of each decision (the run hash covers it), without building the records
            of_symbol = {leg.symbol: leg.index for leg in self.legs}
            self._dec_legs = np.concatenate(
                [np.array([of_symbol[d.symbol] for d in py[a:b]], dtype=np.int64) if src == "py" else
                 drows[a:b, D_LEG] for src, a, b in segs]) if segs else np.zeros(0, np.int64)
        self._pull_orders()
        hi = min(int(GK.next_order_id(self.gw.arena)), self._order_info.shape[0])  # every id given so far
        info = self._order_info[:hi]
        ours = np.flatnonzero(info[:, OI_SIDE] != 0)
        sides = info[ours, OI_SIDE]
        self._side_of = LazyMap(lambda: dict(zip(ours.tolist(), sides.tolist(), strict=True)))
        if len(self.legs) > 1:  # each order's leg: the run hash's rows, and `_leg_of` built on first use
            legs_of = info[ours, OI_LEG]
            ol = self._order_legs = np.zeros(len(ours), ORDER_LEG_DTYPE)
            ol["order_id"], ol["leg"], prev = ours, legs_of, self._leg_of
            self._leg_of = LazyMap(lambda: {**prev, **dict(ol[legs_of != 0].tolist())})
        if self._acks:  # acks Python delivered before: merged by order id
            acked = ours[info[ours, OI_ACK_TS] != 0]
            self._acks.update(zip(acked.tolist(), zip(info[acked, OI_ACK_TS].tolist(),
                                                      info[acked, OI_QUEUE].tolist(), strict=True), strict=True))
        else:  # the ack log itself (what `_output` makes of `_acks`: rows by order id)
            acks = np.empty(hi, ACK_LOG_DTYPE)  # (rows written whole: three int64 fields, no padding)
            self._ack_rows = acks[: ack_log_rows(info, OI_SIDE, OI_ACK_TS, OI_QUEUE, hi, acks)]
        info[:] = 0  # the buffer goes back zeroed (`_take`)
        self._key, self._n_entry, self._n_resp, self._seq = (int(st[S_KEY]), int(st[S_NENTRY]), int(st[S_NRESP]),
                                                             int(st[S_SEQ]))
        self._cmd_at = int(st[S_CMD_AT])
        self._fast = False
        return dec, orders, fills

    def _exec_intents(self, n: int) -> None:
        """Send the strategy kernel's intents, in order, through the gateway (as its Python callback would)."""
        n = check_intents(n, self._intents, self._kwho)
        for r in map(KERNEL_INTENT.row._make, self._intents[:n].tolist()):  # each row by its fields' names
            if r.kind == IN_SUBMIT:
                self.submit(r.side, r.price, r.qty, r.order_type or None, r.tif or None, r.leg,
                            r[IN_OPT:IN_OPT + N_OPT])
            else:
                self.cancel(r.order_id)

    def _on_book(self) -> None:
        """The strategy's book callback from Python: its kernel, or its Python `on_book`."""
        if self._skid != SK_NONE:
            if self._orders_dirty:
                self._sync_orders()
            k = self.cur
            st = self._st
            st[S_LEG] = k
            st[S_POS] = self.legs[k].position  # several legs: the leg matrix holds them all (set per call)
            sord, nord = self._sord, int(st[S_NORD])
            if self._kc is not None and len(self.legs) > 1:  # the leg's orders only (`streams._external_on_book`)
                sord = self._kc_orders()
                st[S_NORD] = leg_orders(self._sord, nord, k, sord)
                reset_intents(self._intents, k)
            if self._skid == SK_CONTEXT:  # its context from Python's view, the prints from the loop's own rows
                depth, trades, acct = (a[k] for a in self._kc[:3])
                fill_context(self.ctx, sord, int(st[S_NORD]), depth, None, acct,
                             real=self._realized(k) if self._fast else None)  # (the kernel's fills: its rows)
                n = call_context_kernel(st, self._tops[k, 4:], sord, self._intents, depth, trades, acct)
            else:
                n = strategy_on_book(st, self._tops[k, 4:], sord, self._intents, self._tops, self._lm)
            st[S_NORD] = nord
            self._exec_intents(int(n))
        elif self._mask & WAKE_BOOK:
            self.strategy.on_book(self.ctx)

    def _apply_local_py(self, i: int) -> None:
        """The reference `_apply_local` for merged event `i` (used when the kernel needs the local book to grow)."""
        kind, side, price, qty, flags = (int(self._kind[i]), int(self._side[i]), int(self._price[i]),
                                         int(self._qty[i]), int(self._flags[i]))
        k = self.cur = self._leg_at(i)
        self._local_event(i, kind, side, price, qty)
        if (kind == EV_TRADE or kind == EV_EXEC or kind == EV_HIDDEN_EXEC) and self._mask & WAKE_TRADE:
            self.ctx.deliver_trade(side if kind == EV_TRADE else -side, price, qty)
        elif (kind == EV_TRADE or kind == EV_EXEC or kind == EV_HIDDEN_EXEC) and self._skid == SK_CONTEXT:
            trade_push(self._kc[1][k], self._kc[2][k], self.clock.now_ns(), side if kind == EV_TRADE else -side,
                       price, qty)
        if flags & FLAG_EOM:
            self._refresh_top(k)
            self._on_book()

    def _kc_orders(self) -> np.ndarray:
        """A kernel from outside: the rows its leg's order view is copied into (`leg_orders`), grown with the
        loop's order view."""
        kc = self._kc
        if kc[3].shape[0] < self._sord.shape[0]:
            self._kc = kc = (*kc[:3], np.zeros_like(self._sord))
        return kc[3]

    def _entry(self) -> tuple[Callable[..., int], tuple]:
        """The kernel's compiled entry point and its arguments after the state row, rebuilt only when an array was
        replaced (book growth, bigger buffers). Calling the compiled overload directly skips the dispatcher's
        per-call type resolution of ~20 arguments (several µs per wake)."""
        vs = self._venue_arrays
        k = self._arg_key
        key = _DRIVER_ARRAYS(self)
        for leg, v in zip(self.legs, vs, strict=True):
            key += (leg.local, *_VENUE_ARRAYS(v))
        if k is None or len(k) != len(key) or any(map(is_not, k, key)):  # an array was replaced (identity)
            self._arg_key = key
            if self._kc is not None:
                self._kc_orders()  # as many rows as the order view

            def per_leg(name: str) -> tuple:  # one item per leg (a numba UniTuple: the loop indexes it by leg)
                return tuple(getattr(v, name) for v in vs)

            common = (self._evm, self._tops, self._lm, tuple(leg.local for leg in self.legs), self.is_l3,
                      self.gw.arena, self._eq, self._sord, self._intents, per_leg("book"), per_leg("orders"))
            args = ((*common, per_leg("cons"), per_leg("params"), per_leg("out"), per_leg("ref"), self._lrefs,
                     self._h, self._drows, self._orows, self._frows, self._order_info, self.cfg.entry,
                     self.cfg.response, self._kc) if self._l3_venue else
                    (*common, per_leg("fq"), per_leg("cons"), per_leg("qm"), per_leg("params"), per_leg("out"),
                     self._h, self._drows, self._orows, self._frows, self._order_info, self.cfg.entry,
                     self.cfg.response, self._kc))
            kernel = run_l3 if self._l3_venue else run_l2
            entry = entry_point(kernel, (self._st, *args))  # `hft.sim.entry_points`
            self._arg_cache = (entry, args)
        return self._arg_cache

    def run(self, progress: Callable[[int, int], None] | None = None, *, multiplier: int | None = None
            ) -> RunOutput:
        """Replay every event; returns the `RunOutput` (identical to `Engine.run`'s). Several legs: one venue kind
        and one local-view kind for all, the Python strategy callbacks and order path (module docstring)."""

        self._set_multiplier(multiplier)
        legs = self.legs
        nl = len(legs)
        multi = nl > 1
        ev = self.events
        n = len(ev)
        # one int64 matrix for the event columns (one kernel argument instead of nine); row 2 is the venue's clock
        # at exchange item i, max(exch_ts[:i+1]) (`venue_times`: exchange times may step back), the time the
        # exchange stream runs on; several legs: + leg, own index
        evm_name = "evm_legs" if multi else "evm"
        # (the same read-only events with the data's own local times: the last run's matrix is this one, as it was;
        # several legs: the same merged stream, `legs.merge_streams`, whose leg, own and local-order rows are its
        # own too)
        evm_source = ev if self.cfg.feed is None else None
        spares = self.spares if self.spares is not None else buffers.Spares()  # (None: this run's own, dropped after)
        evm, filled = spares.take_of(evm_name, (EVM_ROWS_LEGS if multi else EVM_ROWS, n), evm_source)
        if not filled:
            _fill_evm(ev, evm)  # (the events are within the value domain: `run_setup.setup`, `check_events`)
            venue_times(evm[1], out=evm[2])
            ls = local_stream(ev, self._leg_ix, nl, self.cfg.feed)
            evm[0] = ls.times
            if multi:
                evm[EVM_LEG] = self._leg_ix
                evm[EVM_OWN] = self._own
                evm[EVM_AT] = ls.order
        self._evm = evm
        exch = evm[2]  # the venue's clock (the Python paths time exchange events as the kernel does)
        self._loc, self._exch = evm[0], evm[2]
        self._at = evm[EVM_AT] if multi else None  # the merged index of each local event (several legs)
        self._kind, self._side, self._price, self._qty, self._oid, self._flags = evm[3], evm[4], evm[5], evm[6], \
            evm[7], evm[8]
        self._arg_key = None
        self._l3_venue = isinstance(self.venue, L3Venue)
        self._venue_arrays = [leg.venue if self._l3_venue else leg.venue.v for leg in legs]  # what holds them
        for leg in legs:
            if isinstance(leg.venue, L3Venue) != self._l3_venue or not (self._l3_venue or hasattr(leg.venue, "v")):
                raise SimError("numba engine: expected an L2MarketVenue or an L3Venue, one kind for every leg")
            if leg.is_l3 != self.is_l3:
                raise SimError("numba engine: expected one local view kind (L2 or L3 data) for every leg")
            if leg.reference is not None and not self._l3_venue:
                raise SimError("numba engine: reference rows for the local view need the L3 venue (LOBSTER data)")
        no_rows = np.zeros((0, 4), dtype=np.int64)
        no_rows.flags.writeable = False  # the same numba type as the rows (read-only): one specialisation
        self._lrefs = tuple(leg.reference if leg.reference is not None else no_rows for leg in legs)
        wakes = strategy_wakes(self.strategy)
        self._mask = (WAKE_BOOK if "book" in wakes else 0) | (WAKE_TRADE if "trade" in wakes else 0)
        self._tops = tops = np.empty((nl, 8), dtype=np.int64)  # per leg: the per-event top and the snapshot
        # `_sync_top` reads the snapshots at every wake: leg k's at 8k + 4 of the flat rows, through a memoryview
        self._tops_mv, self._top_slots = memoryview(tops.reshape(-1)), [(leg, 8 * k + 4) for k, leg in enumerate(legs)]
        for k, leg in enumerate(legs):
            b, bq, a, aq = leg.local_top
            tops[k, :4] = leg.top
            tops[k, 4:] = [NO_PRICE if b is None else b, bq, NO_PRICE if a is None else a, aq]
            leg.top = tops[k, :4]  # the Python code paths write the kernel's row
        self._ltop = tops[0, 4:]
        # equity rows: one per leg per sample_ns of local time while there is data (grown when a feed model
        # stretches it)
        span = int(max(evm[0].max(), evm[2, n - 1]) - evm[0, 0]) if n else 0
        est = (span // self.cfg.sample_ns + 2) * nl if self.cfg.sample_ns > 0 else 0
        # not zero-filled (a memset of the memory the last run freed): rows are written before they are read
        self._eq = np.empty((max(16, min(1 << 20, est)), EQ_COLS), dtype=np.int64)
        st = self._st = np.zeros(N_STATE, dtype=np.int64)
        # the leg matrix: one leg's is the state row's S_POS.. columns (`LM_*`), several legs' their own rows
        lm = self._lm = st[S_POS: S_POS + LM_COLS].reshape(1, LM_COLS) if not multi else \
            np.zeros((nl, LM_COLS_LEGS), dtype=np.int64)
        self._sord = np.zeros((16, SO_COLS), dtype=np.int64)
        self._intents = np.zeros((MAX_INTENTS, IN_COLS), dtype=np.int64)
        # the arrays of a kernel from outside with the full context, or of any on several legs (`loop_kernel_arrays`);
        # None for every other run: the loop is then compiled without that code (numba prunes ``kc is not None``
        # branches by type), which on a znver4 host cost the pure replay ~20 %
        self._kc = None
        kname = getattr(self.strategy, "nb_kernel", None) if self.strategy_kernels else None
        if kname is not None and "book" in wakes:
            # a built-in kernel's code, or an external kernel's C entry (kept alive on the engine)
            # lazy: cycle (hft.sim.kernel_check imports hft.sim.engine_nb.state, whose package imports this module)
            from hft.sim.kernel_check import strategy_label

            self._kwho = strategy_label(type(self.strategy))  # names the strategy in its intents' checks
            self._skid, st[S_SKPTR], self._kentry = kernel_code(kname, self._kwho)
            params = [int(x) for x in self.strategy.nb_params()]
            if len(params) > S_FAST - S_SPARAMS:
                raise SimError(f"strategy kernel: expected at most {S_FAST - S_SPARAMS} parameters, was "
                               f"{len(params)}")
            st[S_SPARAMS: S_SPARAMS + len(params)] = params
            self._mask &= ~WAKE_BOOK  # the kernel runs the book callback in the loop
            if self._skid == SK_CONTEXT or (multi and self._skid == SK_EXTERNAL):
                self._kc = loop_kernel_arrays(nl, int(getattr(self.strategy, "depth_levels", 0)),
                                              int(getattr(self.strategy, "trade_history", 0)), self._sord.shape[0])
            if self._skid == SK_CONTEXT and type(self.strategy).on_trade is Strategy.on_trade:
                # the prints it keeps: the loop's own rows
                self._mask &= ~WAKE_TRADE
                wakes = wakes - {"trade"}
        st[S_SKID] = self._skid
        self._orders_dirty = True
        # the in-kernel order path (class docstring): its heap, rows and side map exist (empty) in every run, so
        # that the L2 kernel has one signature
        fast = self._fast_eligible(wakes)
        self._dec_legs = self._order_legs = None
        # on that path, room for a busy strategy (an order row per event: `_room` keeps half of it free, so that
        # LOBSTER `mm`, ~0.4 orders per message, never grows it); untouched pages cost nothing, grown copies do.
        # The last run's buffers are reused (`_take`), except by tests that make them tight on purpose.
        rows = self._rows0 + (min(n, 1 << 20) if fast and not self._tight else 0)
        exact = self._tight
        self._h = spares.take("h", (max(2, self._rows0 // 4), H_COLS), exact=exact)
        self._drows = np.empty((rows, D_COLS), dtype=np.int64)  # not reused (lazy records read it); rows written whole
        self._orows = spares.take("orows", (rows, O_COLS), exact=exact)
        self._frows = spares.take("frows", (rows // 4, F_COLS), exact=exact)
        self._order_info = spares.take("order_info", (rows, OI_COLS), exact=exact, zeros=True)
        self._dmarks: list[tuple[int, int]] = []
        self._fast = self.used_in_kernel_orders = fast
        st[S_MULT] = self._mult  # the money factor of fills: the in-kernel order path's, a context kernel's PnL
        for k, leg in enumerate(legs):
            if multi:
                lm[k, LM_MULT] = leg.mult
        if self._fast:
            st[S_KEY], st[S_NENTRY], st[S_NRESP], st[S_SEQ] = self._key, self._n_entry, self._n_resp, self._seq
            st[S_CMD_AT] = self._cmd_at
            # as `process` looks them up (-1: unknown)
            st[S_ACCT] = self.gw.indices("account").get(self.cfg.account, -1)
            st[S_STRAT] = self.gw.indices("strategy").get(self.cfg.strategy, -1)
            for k, leg in enumerate(legs):  # the kernel owns the accounting from here (one leg: st[S_POS:])
                lm[k, LM_POS], lm[k, LM_CASH], lm[k, LM_FEES], lm[k, LM_FFRAC] = (leg.position, leg.cash, leg.fees,
                                                                                  leg.fee_frac)
        st[S_NOW] = self.clock.now_ns()
        st[S_SAMPLE_NS] = self.cfg.sample_ns if n else 0
        st[S_NEXT_SAMPLE] = int(self._loc[0]) if n else 0
        st[S_WAKE] = self._mask
        for k, leg in enumerate(legs):
            lm[k, LM_Y] = self.gw.indices("symbol").get(leg.symbol, -1)
            lm[k, LM_HI] = 1 << 62
        t0 = time.perf_counter()
        self.strategy.on_start(self.ctx)
        timer_on = "timer" in wakes and self.strategy.timer_ns > 0
        if n and timer_on:
            self._push(int(self._loc[0]) + self.strategy.timer_ns, PRI_TIMER, ("timer",))
        chunk = max(n // 200, 1)
        heap = self.heap
        clock = self.clock
        strategy, ctx = self.strategy, self.ctx
        fast = self._fast
        gw = self.gw
        self._py_realized = [[0, 0, 0, 0, 0] for _ in legs]  # not `fast`: each leg's `realized_after` state
        if not fast:  # Python owns the accounting: the kernel's copy is written where it changes (`_deliver`)
            for k in range(nl):
                self._mirror_accounting(k)
        # The state row through a memoryview: a Python int in or out at a fraction of a numpy scalar's cost, on
        # the path that runs once per strategy callback.
        sv = memoryview(st)
        leg_ix = self._leg_ix
        sv[S_STOP] = n
        top: object = _UNWRITTEN  # the heap's first item as the state row has it (a tuple: the same object, the same
        # values)
        same_arrays = False  # the kernel's arrays are known to be the last call's (`_entry` need not look)
        while True:
            h0 = heap[0] if heap else None
            if h0 is not top:
                top = h0
                sv[S_BT], sv[S_BP], sv[S_BS] = (h0[0], h0[1], h0[2]) if h0 is not None else (_I64_MAX, 9, 0)
            if fast:  # the kernel owns position, cash and fees; the gateway's policy state is Python's
                sv[S_FAST] = 1 if gw.enabled else 0
                sv[S_MODE] = gw.mode
                sv[S_STORM_NEXT] = min(gw.next_storm_check_ns, _I64_MAX)
                self._room()
            if progress is not None:
                sv[S_STOP] = (sv[S_ILOC] // chunk + 1) * chunk
            if self._orders_dirty:
                self._sync_orders()
            entry, args = self._arg_cache if same_arrays else self._entry()
            code = entry(st, *args)
            now = sv[S_NOW]
            if now > clock.now_ns():
                clock.set(now)
            self._sync_top()
            if code == W_BOOK:  # (first: the one wake of a Python book callback)
                self.cur = 0 if leg_ix is None else int(leg_ix[sv[S_EV]])  # (`_leg_at`, inline)
                strategy.on_book(ctx)
                # Python replaces a kernel array only to grow it: at the other wakes (venue commands, fallbacks,
                # full buffers), in `_room` (in-kernel order path) and when orders change (`_sync_orders`; sending
                # one). A book callback that sent nothing left them all as they were.
                same_arrays = not fast and not self._orders_dirty
                continue
            same_arrays = False
            if fast:
                for leg, row in zip(legs, lm.tolist(), strict=True):
                    leg.position, leg.cash, leg.fees, leg.fee_frac = (row[LM_POS], row[LM_CASH], row[LM_FEES],
                                                                      row[LM_FFRAC])
                if st[S_ORD_CHANGED]:
                    self._pull_orders()
                self._dmarks.append((int(st[S_ND]), len(self.decisions)))
            if code == W_GROW:
                if self._l3_venue:  # what the L3 venue must grow (a command's status; 0: buffers only)
                    legs[int(st[S_GLEG])].venue.grow(int(st[S_FLAGS]))
                    st[S_FLAGS] = 0
                continue  # `_room` (before the next call) makes the rest of the room
            if code == W_MONEY:
                raise self._money_refusal(int(st[S_FLAGS]))
            if code == W_RFLAGS:
                gw.handle_flags(int(st[S_FLAGS]), clock.now_ns())
                if st[S_RLEG]:  # the strategy's order rule the report asked for, after the StormGuard
                    self.cur, st[S_RLEG] = int(st[S_RLEG]) - 1, 0
                    self._on_book()
                continue
            if code == W_BOUND:
                t, _, _, item = heapq.heappop(heap)
                clock.set(max(t, clock.now_ns()))
                st[S_NOW] = clock.now_ns()
                if st[S_ILOC] >= n and st[S_IEX] >= n and item[0] == "timer":
                    continue  # the data is over: drain in-flight orders and reports, no more timers
                self._dispatch_item(t, item)
                if item[0] == "cmd" and item[1].action == INTENT_NEW:
                    lm[self._leg_of.get(item[1].order_id, 0), LM_HI] += 1  # it may have taken the next L2 slot
                st[S_NOW] = clock.now_ns()
            elif code == W_INTENTS:
                self._exec_intents(int(st[S_NINT]))
            elif code == W_TRADE:
                i = int(st[S_EV])
                k = self.cur = self._leg_at(i)
                kind, side = int(self._kind[i]), int(self._side[i])
                if self._skid == SK_CONTEXT:  # (a context kernel that also has an `on_trade`)
                    trade_push(self._kc[1][k], self._kc[2][k], clock.now_ns(), side if kind == EV_TRADE else -side,
                               int(self._price[i]), int(self._qty[i]))
                ctx.deliver_trade(side if kind == EV_TRADE else -side, int(self._price[i]), int(self._qty[i]))
                if int(self._flags[i]) & FLAG_EOM:
                    self._refresh_top(k)
                    self._on_book()
            elif code == W_FLAGS:
                self.gw.handle_flags(int(st[S_FLAGS]), clock.now_ns())
                self.cur = self._leg_at(int(st[S_EV]))
                self._on_book()
            elif code == W_REPORTS:
                venue = legs[self._leg_at(int(st[S_EV]))].venue
                v = venue if self._l3_venue else venue.v
                reps = v.out[: int(v.params[P_NREP])].copy()
                self._schedule_reports(int(st[S_T]), reps)
            elif code == W_LOCAL_FALLBACK:
                i = int(st[S_ILOC])
                clock.set(max(int(self._loc[i]), clock.now_ns()))
                self._apply_local_py(i if self._at is None else int(self._at[i]))
                st[S_ILOC] = i + 1
                st[S_NOW] = clock.now_ns()
            elif code == W_EXCH_FALLBACK:
                i = int(st[S_IEX])
                t = int(exch[i])
                clock.set(max(t, clock.now_ns()))
                reps = legs[self._leg_at(i)].venue.market(t, int(self._kind[i]), int(self._side[i]),
                                                          int(self._price[i]), int(self._qty[i]), int(self._oid[i]))
                if len(reps):
                    self._schedule_reports(t, reps)
                st[S_IEX] = i + 1
                st[S_NOW] = clock.now_ns()
            elif code == W_EQ_FULL:
                self._eq = buffers.grown(self._eq, 1)
                self._arg_key = None
            elif code == W_CHUNK:
                if progress is not None:
                    progress(int(st[S_ILOC]), n)
            elif code == W_END:
                break
            else:
                raise SimError(f"numba engine: expected a venue status ok, was {int(st[S_FLAGS])}")
        arrays = self._fast_finish() if fast else None
        if n and st[S_SAMPLE_NS] > 0:
            # the reference pops (and drops) the pending sample after the data ends: its time still moves the clock
            clock.set(max(int(st[S_NEXT_SAMPLE]), clock.now_ns()))
        ne = int(st[S_NEQ])
        if self._eq.shape[0] < (ne + 1) * nl:
            self._eq = buffers.grown(self._eq, nl)
        self._equity_rows = []
        for leg in legs:
            leg.equity_rows = []
        self._sample()  # the final sample, exactly as the reference takes it
        # the rows as the equity log itself (EQUITY_DTYPE: the EQ_COLS int64 columns), which `_output` takes as is
        if multi:
            for k, leg in enumerate(legs):
                self._eq[ne * nl + k] = leg.equity_rows[0]
                leg.equity_rows = self._eq[k: (ne + 1) * nl: nl].view(EQUITY_DTYPE)[:, 0]
        else:
            self._eq[ne] = self._equity_rows[0]
            self._equity_rows = self._eq[: ne + 1].view(EQUITY_DTYPE)[:, 0]
        wall = time.perf_counter() - t0
        if progress is not None:
            progress(n, n)
        self._evm = self._loc = self._exch = self._at = None  # the matrix (and its row views) go back to the spare slot
        self._kind = self._side = self._price = self._qty = self._oid = self._flags = None
        self._arg_key = self._arg_cache = None
        spares.give(evm_name, evm, evm_source)  # (no kernel writes it)
        for name in ("h", "orows", "frows", "order_info"):  # nothing returned refers to them
            spares.give(name, getattr(self, "_" + name))
            setattr(self, "_" + name, None)
        return self._output(n, wall, arrays)


# the engines by their ``engine:`` name in a replay config
ENGINES: dict[str, type[Engine] | type[NbEngine]] = {"python": Engine, "numba": NbEngine}
