"""A replay run's set-up, the same for both engines: its parameters (`EngineConfig`), the checks of its input,
its state built from the instruments (`setup`: the legs and their local views, the clock, the gateway and the
ways back to the engine, the order view, the logs, the strategy's `Context`), the single-instrument names of
leg 0, and the carry-over from one session (day) to the next.

`hft.sim.engine.Engine` and `hft.sim.engine_nb.NbEngine` share no base class: each holds this state itself and
names, attribute by attribute, which of these functions it takes (``__init__ = run_setup.init``, ...).
`RunEngine` is that state and the methods the shared rules call back (`hft.sim.run_events`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from hft.book.l2 import book_for
from hft.core.bounds import FAULT_FIELDS, MAX_LATENCY_NS, expected, first_out_of_domain
from hft.core.clock import ManualClock
from hft.core.dtypes import EV_ADD, EV_LEVEL_SET
from hft.core.errors import SimError
from hft.core.orders import REPORT_EXPIRED
from hft.gateway.intents import ExecutionReport  # not the lazy package
from hft.sim.latency import LatencyModel, constant
from hft.sim.legs import Leg, LegInput, merge_streams
from hft.sim.run_events import local
from hft.sim.strategy import Context, OrderState, Strategy

if TYPE_CHECKING:
    from hft.gateway.intents import Decision
    from hft.sim.engine_nb.buffers import Spares
    from hft.sim.run_output import RunOutput


_E = TypeVar("_E")


@dataclass(frozen=True)
class EngineConfig:
    """Run parameters (latencies in ns via latency models; money multiplier of the symbol)."""

    entry: LatencyModel = field(default_factory=lambda: constant(1_000_000))
    response: LatencyModel = field(default_factory=lambda: constant(1_000_000))
    feed: LatencyModel | None = None  # None: the data's own local timestamps
    sample_ns: int = 1_000_000_000  # equity sampling period (local time)
    account: str = "SIM"
    strategy: str = "strategy"


class RunEngine(Protocol):
    """A replay engine (`hft.sim.engine.Engine`, `hft.sim.engine_nb.NbEngine`): its public surface, the run state
    `setup` gives it, and the steps the shared rules of `hft.sim.run_events` call back (each engine's own or
    those rules)."""

    cfg: EngineConfig
    strategy: Strategy
    ctx: Context
    legs: list[Leg]
    cur: int  # the leg the strategy's context refers to (the leg of the callback)
    clock: ManualClock
    gw: Any  # the `GatewayService`
    events: np.ndarray
    spares: Spares | None
    heap: list[tuple[int, int, int, tuple]]
    decisions: Sequence[Decision]
    transitions: list[Any]
    live_orders: dict[int, OrderState]
    _leg_ix: Any
    _own: Any
    _seq: int
    _key: int
    _n_entry: int
    _cmd_at: int  # the venue arrival of the last command sent (`hft.sim.latency.session_arrival`)
    _n_resp: int
    _extra_sink: Callable[[Any], None] | None
    _back: EngineRef  # the gateway's weak way back to the engine (dispatcher, sink)
    _order_rows: list[tuple]
    _fill_rows: list[tuple]
    _equity_rows: Any
    _side_of: MutableMapping[int, int]
    _leg_of: MutableMapping[int, int]
    _acks: dict[int, tuple[int, int]]
    _ack_rows: np.ndarray | None
    _dec_legs: np.ndarray | None
    _order_legs: np.ndarray | None

    def run(self, progress: Callable[[int, int], None] | None = None, *, multiplier: int | None = None
            ) -> RunOutput: ...
    def submit(self, side: int, price: int, qty: int, otype: int | None, tif: int | None, leg: int = 0,
               opt: tuple = ...) -> Any: ...  # `opt`: `hft.core.orders.order_options`
    def cancel(self, order_id: int) -> Any: ...
    def replace(self, order_id: int, price: int, qty: int) -> Any: ...
    def wake_at(self, t: int, payload: Any) -> None: ...
    def put_nowait(self, cmd: Any) -> None: ...
    def _push(self, t: int, prio: int, item: tuple) -> None: ...
    def _intent(self, kind: int, side: int, price: int, qty: int, otype: int, tif: int, target: int,
                leg: int = 0, opt: tuple = ...) -> Any: ...
    def _schedule_reports(self, now: int, reports: np.ndarray) -> None: ...
    def _deliver(self, rep: Any) -> None: ...
    def _refresh_top(self, k: int = 0) -> bool: ...
    def _sample(self) -> None: ...
    def _sink(self, record: Any) -> None: ...
    def _leg_at(self, i: int) -> int: ...


class EngineRef:
    """The gateway's dispatcher and decision sink for one engine, holding it weakly. The engine owns its gateway
    and its strategy context; strong references back from them made every engine a reference cycle, freed only by
    a later gc pass, its arrays (~15 MB for a LOBSTER day: the gateway arena, the decision rows, books) held
    meanwhile, so that the next run's allocations took fresh pages (page faults) instead of the freed memory."""

    __slots__ = ("_engine",)

    def __init__(self, engine: RunEngine) -> None:
        self._engine = weakref.ref(engine)

    def put_nowait(self, cmd: Any) -> None:
        """The engine's ``put_nowait`` (the gateway's step 7)."""
        self._engine().put_nowait(cmd)  # type: ignore[union-attr]

    def sink(self, record: Any) -> None:
        """The engine's ``_sink`` (the gateway's decision and transition records)."""
        self._engine()._sink(record)  # type: ignore[union-attr]


def init(eng: RunEngine, events: np.ndarray, venue: Any, gateway_factory: Callable[..., Any], strategy: Strategy,
         symbol: str, config: EngineConfig | None = None, *, book_level: str = "L2",
         seed_levels: list[tuple[int, int, int]] | None = None, sink: Callable[[Any], None] | None = None,
         reference: np.ndarray | None = None, spares: Spares | None = None) -> None:
    """An engine's constructor: a run of one instrument (the arguments: `hft.sim.engine.Engine`)."""
    setup(eng, [LegInput(events, venue, symbol, book_level, seed_levels or (), reference)], gateway_factory,
          strategy, config, sink, spares)


def of_legs(cls: type, legs: Sequence[LegInput], gateway_factory: Callable[..., Any], strategy: Strategy,
            config: EngineConfig | None = None, *, sink: Callable[[Any], None] | None = None,
            spares: Spares | None = None) -> Any:
    """A run over the instruments `legs` on one clock (`hft.sim.engine`, module docstring), through one gateway
    that holds every leg's symbol. One leg is the single-instrument run. (An engine's ``of_legs`` classmethod.)"""
    eng = cls.__new__(cls)
    setup(eng, list(legs), gateway_factory, strategy, config, sink, spares)
    return eng


def setup(eng: RunEngine, legs: list[LegInput], gateway_factory: Callable[..., Any], strategy: Strategy,
          config: EngineConfig | None, sink: Callable[[Any], None] | None, spares: Spares | None = None) -> None:
    """Engine `eng`'s run state (`RunEngine`) for the instruments `legs`: the input checked, the legs' streams
    merged on one clock, each leg's local view seeded, the gateway built, the order view and logs empty."""
    if not legs:
        raise SimError("engine: expected at least one instrument, was none")
    from hft.core.selftest import ensure  # lazy: keeps the self-test out of the kernels' cache key

    for level in sorted({leg.book_level for leg in legs}):  # the venue kernels answered right on this CPU
        ensure(f"replay-{level.lower()}")
    if len({leg.symbol for leg in legs}) != len(legs):
        raise SimError(f"engine: expected distinct symbols, was {[leg.symbol for leg in legs]}")
    eng.cfg = config or EngineConfig()
    eng.spares = spares
    if len(legs) == 1:
        events, eng._leg_ix, eng._own = legs[0].events, None, None
    else:
        merged = merge_streams([leg.events for leg in legs], spares)
        # arrays (read-only; the numba engine's matrix rows); the Python loop takes them as lists (`Engine.run`)
        events, eng._leg_ix, eng._own = merged.events, merged.leg, merged.own
    check_events(events)  # before the books are sized from them
    check_periods(eng.cfg.sample_ns, strategy.timer_ns)
    eng.events = events
    eng.strategy = strategy
    eng.legs = [Leg(k, li.symbol, li.venue, li.book_level == "L3",
                    view_reference(li.reference, len(li.events), li.book_level == "L3"), book_for(li.events),
                    mult=int(li.multiplier)) for k, li in enumerate(legs)]
    eng.cur = 0  # the leg the strategy's context refers to (the leg of the callback)
    eng.clock = ManualClock(int(events["exch_ts"][0]) if len(events) else 0)
    eng._extra_sink = sink
    eng.decisions = []
    eng.transitions = []
    # the gateway's way back to this engine (dispatcher, decision sink) and the strategy's context hold it
    # weakly (`EngineRef`), so that a finished engine is freed when its last user drops it
    eng._back = back = EngineRef(eng)
    eng.gw = gateway_factory(eng.clock, back, back.sink)
    for leg, li in zip(eng.legs, legs, strict=True):
        for side, price, qty in li.seed_levels:
            local(leg, EV_ADD if leg.is_l3 else EV_LEVEL_SET, side, price, qty)
        eng._refresh_top(leg.index)
    eng.heap = []
    eng._seq = 0
    eng._n_entry = 0
    eng._cmd_at = 0
    eng._n_resp = 0
    eng._key = 0
    eng.live_orders = {}
    eng._order_rows = []
    eng._fill_rows = []
    eng._equity_rows = []
    eng._side_of = {}  # NbEngine: built lazily after its run
    eng._leg_of = {}  # order id -> leg (several instruments; absent: leg 0)
    eng._acks = {}  # order id -> (ACK's local arrival ns, queue ahead at entry)
    eng._ack_rows = None  # the ack log when a numba engine built it from its own rows
    eng._dec_legs = None  # several legs: each decision's leg when a numba engine has them
    eng._order_legs = None  # several legs: `ORDER_LEG_DTYPE` rows a numba engine built
    eng.ctx = Context(weakref.proxy(eng))


def leg0(name: str) -> property:
    """An engine attribute of the single-instrument API that is leg 0's `name`."""

    def get(self: RunEngine) -> Any:
        return getattr(self.legs[0], name)

    def put(self: RunEngine, value: Any) -> None:
        setattr(self.legs[0], name, value)

    return property(get, put, doc=f"Leg 0's ``{name}``.")


# the single-instrument API's names of an engine -> the attribute of leg 0 each is
_LEG0_NAMES = {"venue": "venue", "symbol": "symbol", "is_l3": "is_l3", "reference": "reference", "local": "local",
               "local_top": "local_top", "_top": "top", "_mult": "mult", "position": "position", "cash": "cash",
               "fees": "fees", "fee_frac": "fee_frac"}


def leg0_names(cls: type[_E]) -> type[_E]:
    """Class decorator of an engine: the single-instrument API's names (``engine.position``, ``engine.venue``,
    ...) as properties reading and writing leg 0's (`leg0`)."""
    for attr, name in _LEG0_NAMES.items():
        setattr(cls, attr, leg0(name))
    return cls


def set_multiplier(eng: RunEngine, multiplier: int | None) -> None:
    """A single instrument's money factor, given to ``run`` (None: the legs keep theirs)."""
    if multiplier is None:
        return
    if len(eng.legs) > 1:
        raise SimError("engine: expected the legs' own money factors (several instruments), was one for all")
    eng.legs[0].mult = int(multiplier)


# --- sessions (several days in one run: `hft.sim.sessions`) --------------------------------------------------------
def continue_from(eng: RunEngine, prev: RunEngine) -> None:
    """Start this session where `prev` (the previous day's engine, on the same gateway) ended: position,
    cash and fees carry over, and so do the idempotency keys and the latency draw counters (no key is
    reused and the seeded latency series goes on)."""
    if [leg.symbol for leg in prev.legs] != [leg.symbol for leg in eng.legs]:
        raise SimError(f"sessions: expected the instruments {[leg.symbol for leg in prev.legs]}, was "
                       f"{[leg.symbol for leg in eng.legs]}")
    for leg, old in zip(eng.legs, prev.legs, strict=True):
        leg.position, leg.cash, leg.fees, leg.fee_frac = old.position, old.cash, old.fees, old.fee_frac
    eng._key, eng._n_entry, eng._n_resp, eng._seq = prev._key, prev._n_entry, prev._n_resp, prev._seq
    eng._cmd_at = prev._cmd_at


def end_session(eng: RunEngine) -> int:
    """Close the session after ``run``: every order still live expires at the gateway (as a venue expires
    day orders at the close; the next session's venue starts from its own book). Returns how many."""
    now = eng.clock.now_ns()
    live = list(eng.live_orders.values())
    for o in live:
        eng.gw.on_execution_report(ExecutionReport(ts=now, order_id=o.order_id, kind=REPORT_EXPIRED, price=o.price, qty=0,
                                                   leaves=0))
    eng.live_orders.clear()
    return len(live)


# --- the input's checks ------------------------------------------------------------------------------------------
def check_periods(sample_ns: int, timer_ns: int) -> None:
    """The sampling period and the strategy's timer within ``0..MAX_LATENCY_NS`` (both engines add them to times in
    int64: `hft.core.bounds`), else a `SimError` naming it."""
    for what, ns in (("sample", sample_ns), ("strategy timer_ns", timer_ns)):
        if not 0 <= int(ns) <= MAX_LATENCY_NS:
            raise SimError(f"{what}: expected {expected('latency')}, was {int(ns)}", key=what)


def check_events(events: np.ndarray) -> None:
    """Every event's times and price within the value domain (`hft.core.bounds`: the engines add latencies to
    times and sum prices in int64), else a `SimError` naming the first event and field outside it. Both engines,
    at set-up, before any book is built."""
    row, fault = first_out_of_domain(events)
    if row >= 0:
        name = FAULT_FIELDS[fault]
        raise SimError(f"event {row + 1}: {name} {int(events[name][row])}: expected {expected(name)}, the simulator's "
                       "range", key=name, hint="times are int64 ns since 1970, prices int64 ticks")


def view_reference(reference: np.ndarray | None, n: int, is_l3: bool) -> np.ndarray | None:
    """Validated reference rows for the local view (read-only int64, C order), or None."""
    if reference is None:
        return None
    if not is_l3:
        raise SimError("engine reference rows: expected L3 (LOBSTER) data, was an L2 stream")
    ref = np.ascontiguousarray(reference, dtype=np.int64)
    if ref.ndim != 2 or ref.shape[0] != n or ref.shape[1] < 4 or ref.shape[1] % 4:
        raise SimError(f"engine reference rows: expected int64 rows of 4*L columns, one per event ({n}), was "
                       f"shape {ref.shape}")
    ref = ref.view()
    ref.flags.writeable = False
    return ref
