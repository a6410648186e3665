"""`GatewayService`: the one order gateway, used by the simulator and by live processes alike.

See `hft.gateway` (package docstring) and docs/gateway.md for the public API, the pipeline and the design
review. Single writer: every method mutates state and must be called from one thread / one event loop task.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from hft.core.clock import Clock
from hft.core.errors import GatewayError
from hft.core.money import round_owed
from hft.core.orders import (
    CMD_NEW,
    COMMAND_DTYPE,
    DECISION_DTYPE,
    EXEC_REPORT_DTYPE,
    INTENT_CANCEL,
    INTENT_DTYPE,
    MODE_NAMES,
    NO_OPTIONS,
    OPTION_NAMES,
    R_DISPATCH_FAILED,
    R_GATEWAY_DISABLED,
    R_OK,
    R_POLICY_CANCEL_ONLY,
    R_POLICY_REJECT_ALL,
    R_STRATEGY_CANCEL_ONLY,
    R_STRATEGY_DISABLED,
    STORM_HALT,
    STORM_NAMES,
    STORM_NORMAL,
    VENUE_REPORT_DTYPE,
)
from hft.core.report_rows import venue_reports
from hft.gateway import kernels as K
from hft.gateway import records, risk_checks
from hft.gateway.channel import LocalIntentChannel
from hft.gateway.config import (
    GatewayConfig,
    LimitSet,
    apply_limit_changes,
    diff_limits,
    limit_tables,
    load_config,
)
from hft.gateway.dedup import DedupStore
from hft.gateway.exposure import Exposure, ExposureStore
from hft.gateway.flatten import flatten_positions
from hft.gateway.intake import _NO_KEY, _OTYPE_BITS, _TIF_BITS, OneIntentPaths, _core_entry, _process_one
from hft.gateway.intents import (
    Decision,
    ExecutionReport,
    OrderCommand,
)
from hft.gateway.metrics import GatewayMetrics
from hft.gateway.policy import LEVELS, GatewayPolicy, PolicyTransition, StormGuard
from hft.gateway.risk import RiskEngine

log = logging.getLogger("hft.gateway")

STRATEGY_MODES: dict[str, int] = {"enabled": R_OK, "cancel_only": R_STRATEGY_CANCEL_ONLY,
                                  "disabled": R_STRATEGY_DISABLED}
"""A strategy's own mode (`GatewayService.set_strategy_mode`) → the reason its new orders and replaces are refused
with (none when enabled); cancels pass in every mode."""

class ListDispatcher:
    """A trivial dispatcher keeping commands in a list (tests, benches, offline runs)."""

    def __init__(self) -> None:
        self.commands: list[OrderCommand] = []
        self.batches: list[np.ndarray] = []
        self.put_nowait = self.commands.append

    def put_batch(self, commands: np.ndarray) -> None:
        """Keep a batch's `COMMAND_DTYPE` array."""
        self.batches.append(commands)

    def clear(self) -> None:
        """Forget the commands and batches kept so far."""
        self.commands.clear()
        self.batches.clear()


def _i64(v: Any) -> int:
    """`v` as an int within int64, else OverflowError. A kernel called from Python types an int argument by its
    value: one of 2**63 or more would compile (and run) a uint64 specialisation of it, mixing uint64 and int64
    arithmetic (numba makes floats of that), instead of being refused."""
    i = int(v)
    if not K.I64_MIN <= i <= K.I64_MAX:
        raise OverflowError(f"expected an int64, was {i}")
    return i


ORDER_ID_MAX = 1 << 62  # the highest first order id: the counter then has 2**62 orders to go before int64's end


class GatewayService(OneIntentPaths):
    """The order gateway. Construct with `from_config`; feed with `process` / `process_batch`.

    Args:
        config: a validated `GatewayConfig`.
        clock: the injected clock (`ManualClock` in the simulator, `WallClock` live); decisions read only it.
        dispatcher: object with non-blocking ``put_nowait(cmd)`` (and optionally ``put_batch(array)``)
            receiving accepted `OrderCommand` s (step 7). Default: a `ListDispatcher`.
        sink: ``sink(record)`` called with every `Decision` and every `PolicyTransition` (the recorder).
        batch_sink: ``batch_sink(decisions_array)`` for `process_batch` (DECISION_DTYPE). Without it the
            batch decisions are converted to `Decision` objects for `sink` (slow, but nothing is lost).
        timer: monotonic ns counter for latency metrics only (default ``time.perf_counter_ns``).
        order_id_start: first gateway order id (live: above any id the venue may still hold).
        private_arena: the arena never leaves this process (a simulator's gateway: no snapshot), so its dedup
            window's rows are not zeroed ahead (`hft.gateway.kernels.new_arena`); a snapshot refuses it.
    """

    def __init__(self, config: GatewayConfig, *, clock: Clock, dispatcher: Any = None,
                 sink: Callable[[Any], Any] | None = None, batch_sink: Callable[[np.ndarray], Any] | None = None,
                 timer: Callable[[], int] | None = None, order_id_start: int = 1, private_arena: bool = False) -> None:
        from hft.core.selftest import ensure  # lazy: keeps the self-test out of the kernels' cache key
        ensure("gateway")  # the compiled decision core answered right on this CPU target
        self.config = config
        self.clock = clock
        self._dispatcher = dispatcher if dispatcher is not None else ListDispatcher()
        self.sink = sink
        self.batch_sink = batch_sink
        self.timer = timer or time.perf_counter_ns
        self._enabled = config.enabled
        # a private arena never leaves the process (no snapshot), so its dedup rows need no zeroing (`new_arena`)
        self.private_arena = private_arena
        self.arena = K.new_arena(max_accounts=config.max_accounts, max_strategies=config.max_strategies,
                                 max_symbols=config.max_symbols, exposure_slots=config.exposure_max_symbols,
                                 working_orders=config.max_working_orders, dedup_capacity=config.dedup_capacity,
                                 zero_dedup_rows=not private_arena)
        st = self._st = K.views(self.arena)
        if not 1 <= int(order_id_start) <= ORDER_ID_MAX:
            raise GatewayError(f"order_id_start: expected an int from 1 to {ORDER_ID_MAX} (2**62), was "
                               f"{order_id_start!r}")
        st.ctr[K.K_NEXT_OID] = int(order_id_start)
        cfg = st.cfg
        cfg[K.C_TTL_NS] = config.dedup_ttl_ns
        cfg[K.C_REQUIRE_REF] = int(config.require_reference_price)
        cfg[K.C_SELF_MATCH] = int(config.self_match_prevention)
        cfg[K.C_OTYPE_MASK] = sum(1 << _OTYPE_BITS[o] for o in config.order_types)
        cfg[K.C_TIF_MASK] = sum(1 << _TIF_BITS[t] for t in config.tifs)
        cfg[K.C_MOVE_BPS] = config.storm.market_move_bps
        cfg[K.C_MOVE_WIN_NS] = config.storm.market_move_window_ns
        self.dedup = DedupStore(self.arena)
        self.exposure = ExposureStore(self.arena)
        self.risk = RiskEngine(self.arena)
        self.risk.set_default_limits(config.defaults)
        self.install_risk_checks()
        self._acct: dict[Any, int] = {}
        self._strat: dict[Any, int] = {}
        self._sym: dict[Any, int] = {}
        self._acct_names: list[str] = []
        self._strat_names: list[str] = []
        self._sym_names: list[str] = []
        self._registries = {"account": (self._acct, self._acct_names), "strategy": (self._strat, self._strat_names),
                            "symbol": (self._sym, self._sym_names)}  # both kept in place: registered names only grow
        self._indices = {kind: MappingProxyType(table) for kind, (table, _) in self._registries.items()}
        for name, lim in config.accounts.items():
            self.register_account(name, lim)
        for name, lim in config.strategies.items():
            self.register_strategy(name, lim)
        for name, spec in config.symbols.items():
            self.register_symbol(name, spec.tick_multiple, spec.lot_multiple, spec.multiplier, spec.limits,
                                 min_notional=spec.min_notional)
        sc = config.storm
        latching = frozenset({"kill"} | (set() if sc.loss_auto_recover else {"daily_loss"}))
        self.storm = StormGuard(sc.cooldown_ns, latching)
        # the policy calls back through a weak reference: a bound method would make every service a reference
        # cycle with its policy, its arena (MBs) freed only by a later gc pass instead of when it is dropped
        back = weakref.WeakMethod(self._on_transition)
        self.policy = GatewayPolicy(self.storm, on_transition=lambda tr: back()(tr))  # type: ignore[misc]
        self.transitions: list[PolicyTransition] = []
        self.metrics = GatewayMetrics()
        self.channel: LocalIntentChannel | None = None
        self._storm_next = self.storm.next_check_ns
        self.sink_errors = 0
        self._trip_cancels: list[Decision] | None = None  # kill()'s: its transition cancels, into this list
        if config.timing == "stages":
            self.process = self._process_staged  # type: ignore[method-assign]
        # the dispatch latency histogram's (counts, sums) lists, recorded into inline by process()
        self._lat = self.metrics.dispatch.record_into() if config.timing != "off" else None
        # hot-path caches (bound methods and the current mode): see the latency budget in docs/gateway.md
        self._now = clock.now_ns
        self._put = self._dispatcher.put_nowait
        self._mode = self.policy.mode
        self._core = _core_entry()
        # each strategy's own mode, as the reason its new orders and replaces are refused with (0: enabled):
        # decided in the core as a reason before its checks (dedup and the global policy first), so a duplicate
        # still answers its original decision and a WAL replay decides the same
        self._strat_pre: list[int] = [R_OK] * config.max_strategies
        self._restricted = False  # any strategy not enabled (the hot paths look no further when not)

    @property
    def enabled(self) -> bool:
        """False: every intent is rejected GATEWAY_DISABLED (config ``enabled`` / ``HFT_GATEWAY_ENABLED``)."""
        return self._enabled

    @enabled.setter
    def enabled(self, on: bool) -> None:
        self._enabled = bool(on)

    @property
    def dispatcher(self) -> Any:
        """The step-7 target (``put_nowait(cmd)``, optionally ``put_batch(array)``); assignable."""
        return self._dispatcher

    @dispatcher.setter
    def dispatcher(self, d: Any) -> None:
        self._dispatcher = d
        self._put = d.put_nowait

    def rebind(self, *, clock: Clock, dispatcher: Any, sink: Callable[[Any], Any] | None) -> None:
        """Drive this gateway from another clock, dispatcher and sink, its state kept (exposure, limits, policy,
        order ids): the next session of a simulated run over several days (`hft.sim.sessions`)."""
        self.clock = clock
        self._now = clock.now_ns
        self.dispatcher = dispatcher
        self.sink = sink

    # ------------------------------------------------------------------ construction / lifecycle
    @classmethod
    def from_config(cls, config: GatewayConfig | str | Path | None = None, *, clock: Clock,
                    env: Mapping[str, str] | None = None, **kw: Any) -> GatewayService:
        """Build from a `GatewayConfig`, or from a YAML path (env overrides applied), or defaults (None)."""
        if not isinstance(config, GatewayConfig):
            config = load_config(config, env)
        return cls(config, clock=clock, **kw)

    def start(self) -> int:
        """Load the persisted dedup window (if ``dedup.persist_path`` is set). Returns entries loaded."""
        p = self.config.dedup_persist_path
        return self.dedup.load(p, self.clock.now_ns()) if p else 0

    def shutdown(self) -> int:
        """Persist the dedup window (if configured). Off the hot path. Returns entries written."""
        p = self.config.dedup_persist_path
        return self.dedup.persist(p) if p else 0

    # ------------------------------------------------------------------ registries
    def _register(self, table: dict, names: list, cfg_n: int, cfg_max: int, what: str, name: Any) -> int:
        if name in table:
            return table[name]
        if not isinstance(name, str) or not name:
            raise GatewayError(f"register {what}: expected a non-empty string name, was {name!r}")
        n = int(self._st.cfg[cfg_n])
        if n >= int(self._st.cfg[cfg_max]):
            raise GatewayError(f"register {what} {name!r}: expected at most {n} {what}s (capacity)",
                               hint=f"raise capacity.max_{what}s")
        table[name] = n
        names.append(name)
        self._st.cfg[cfg_n] = n + 1
        return n

    def register_account(self, name: str, limits: LimitSet | None = None) -> int:
        """Register an account (idempotent; sets its limits); its registry index."""
        a = self._register(self._acct, self._acct_names, K.C_N_ACCT, K.C_MAX_ACCT, "account", name)
        self.risk.set_account_limits(a, limits)
        return a

    def register_strategy(self, name: str, limits: LimitSet | None = None) -> int:
        """Register a strategy (idempotent; sets its limits); its registry index."""
        t = self._register(self._strat, self._strat_names, K.C_N_STRAT, K.C_MAX_STRAT, "strategie", name)
        self.risk.set_strategy_limits(t, limits)
        return t

    def register_symbol(self, name: str, tick_multiple: int = 1, lot_multiple: int = 1, multiplier: int = 1,
                        limits: LimitSet | None = None, *, min_notional: int = 0) -> int:
        """Register a tradable symbol (idempotent for the registry; updates its spec and limits). `multiplier`: its
        money factor (> 0 linear, ``-K`` inverse: `hft.gateway.kernels.money`); `min_notional`: the exchange's
        smallest order value in money units (0: none)."""
        for k, v in (("tick_multiple", tick_multiple), ("lot_multiple", lot_multiple)):
            if type(v) is not int or not 1 <= v <= K.I64_MAX:
                raise GatewayError(f"register symbol {name!r}: {k}: expected a positive int64, was {v!r}")
        # |multiplier| <= I64_MAX: the kernels negate an inverse factor (-K), which I64_MIN would overflow
        if type(multiplier) is not int or multiplier == 0 or not -K.I64_MAX <= multiplier <= K.I64_MAX:
            raise GatewayError(f"register symbol {name!r}: multiplier: expected a nonzero int within +-(2**63 - 1) "
                               f"(a money factor: > 0 linear, -K inverse), was {multiplier!r}")
        if type(min_notional) is not int or not 0 <= min_notional <= K.I64_MAX:
            raise GatewayError(f"register symbol {name!r}: min_notional: expected an int64 >= 0, was {min_notional!r}")
        y = self._register(self._sym, self._sym_names, K.C_N_SYM, K.C_MAX_SYM, "symbol", name)
        row = self._st.sym[y]
        row[K.Y_TICK] = tick_multiple
        row[K.Y_LOT] = lot_multiple
        row[K.Y_MULT] = multiplier
        row[K.Y_MIN_NOTIONAL] = min_notional
        self.risk.set_symbol_limits(y, limits)
        return y

    def set_limits(self, config: GatewayConfig) -> None:
        """Take the limits of `config` (this gateway's config with other limits: `hft.gateway.config.
        apply_limit_changes`) into the arena's limit tables and `config`: every level the config names (its
        accounts, strategies and symbols are this gateway's registered names). A runtime change of limits."""
        risk = self.risk
        buckets = risk.bucket_rates()
        risk.set_default_limits(config.defaults)
        for name, lim in config.accounts.items():
            risk.set_account_limits(self._acct[name], lim)
        for name, lim in config.strategies.items():
            risk.set_strategy_limits(self._strat[name], lim)
        for name, spec in config.symbols.items():
            risk.set_symbol_limits(self._sym[name], spec.limits)
        risk.keep_buckets(buckets)  # a changed rate keeps the tokens its buckets held
        self.config = config

    def set_strategy_mode(self, strategy: str, mode: str) -> str:
        """A strategy's own mode (`STRATEGY_MODES`): ``cancel_only`` and ``disabled`` refuse its new orders and
        all its replaces (``STRATEGY_CANCEL_ONLY`` / ``STRATEGY_DISABLED``; a replace is refused whether it adds
        exposure or not) and let its cancels pass; ``enabled`` lifts that. The global policy applies on top
        (REJECT_ALL refuses them first). Disabling does not cancel: the caller does (`cancel_all` with a
        select). Returns the mode before."""
        if mode not in STRATEGY_MODES:
            raise GatewayError(f"strategy mode: expected one of {sorted(STRATEGY_MODES)}, was {mode!r}")
        t = self._index("strategy", strategy)
        before = self.strategy_mode(strategy)
        self._strat_pre[t] = STRATEGY_MODES[mode]
        self._restricted = any(self._strat_pre)
        return before

    def strategy_mode(self, strategy: str) -> str:
        """The strategy's own mode (`set_strategy_mode`)."""
        pre = self._strat_pre[self._index("strategy", strategy)]
        return next(name for name, r in STRATEGY_MODES.items() if r == pre)

    def strategy_modes(self) -> dict[str, str]:
        """The strategies whose mode is not ``enabled``, with their mode."""
        return {name: self.strategy_mode(name) for name, t in self._strat.items() if self._strat_pre[t]}

    def snapshot_state(self) -> dict[str, Any]:
        """What a snapshot of this gateway keeps (`hft.live.snapshot`): its arena (not copied: write it out before
        the next decision), the registries' names, the StormGuard's and the policy's state. `restore_state` takes
        it back. A private arena is refused (its unused dedup rows hold whatever the process's memory held)."""
        if self.private_arena:
            raise GatewayError("snapshot: expected a gateway whose arena may leave the process, was a private arena "
                               "(GatewayService(private_arena=True): the simulator's)")
        storm = self.storm
        return {"arena": self.arena, "names": (list(self._acct_names), list(self._strat_names), list(self._sym_names)),
                "storm": (storm.level, storm.latched, storm.recover_at, storm.last_cause),
                "policy": (self.policy.manual_mode, self.policy.mode), "strategy_modes": self.strategy_modes(),
                "limits": limit_tables(self.config)}  # the limits in force (the arena's rows, as the config says)

    def restore_state(self, state: Mapping[str, Any]) -> str | None:
        """Take back a `snapshot_state` (of a process with this config): the arena, the names registered after
        start (unlisted symbols: their limits are in the arena), the StormGuard and the policy. Returns None, or
        why the snapshot does not fit this gateway, then nothing is changed."""
        if not self.arena_fits(state["arena"]):  # the kernels address every table through the arena's header
            return "it does not fit this gateway (table sizes changed)"
        tables = ((self._acct_names, self._acct), (self._strat_names, self._strat), (self._sym_names, self._sym))
        if any(list(want[:len(have)]) != have for (have, _), want in zip(tables, state["names"], strict=True)):
            return "its registries differ from the config's"
        for (have, table), want in zip(tables, state["names"], strict=True):
            for name in want[len(have):]:
                table[name] = len(have)
                have.append(name)
        self.arena[:] = state["arena"]
        self.install_risk_checks()  # the snapshot's C entry addresses were another process's
        st = self.storm
        st.level, st.latched, st.recover_at, st.last_cause = state["storm"]
        self.policy.manual_mode, self.policy.mode = state["policy"]
        self._strat_pre = [R_OK] * len(self._strat_pre)
        for name, mode in state.get("strategy_modes", {}).items():  # a snapshot before them: all enabled
            self._strat_pre[self._strat[name]] = STRATEGY_MODES[mode]
        self._restricted = any(self._strat_pre)
        self._mode = self.policy.mode
        self._storm_next = st.next_check_ns
        if "limits" in state:  # those changed at runtime (a snapshot before them: the config's, in the arena too)
            self.config = apply_limit_changes(self.config, diff_limits(limit_tables(self.config), state["limits"]))
        return None

    def arena_fits(self, arena: Any) -> bool:
        """Whether `arena` (a snapshot's) has this gateway's layout: length, header and capacities
        (`kernels.same_layout`). Only such an arena may be copied into this one: the kernels address every table
        through its header, the Python views through this one's."""
        return isinstance(arena, np.ndarray) and arena.dtype == self.arena.dtype and K.same_layout(arena, self.arena)

    def install_risk_checks(self) -> None:
        """Write the config's risk checks (`hft.gateway.risk_checks`) into the arena: at start, and after the arena
        was restored from a snapshot (their C entry addresses are this process's)."""
        risk_checks.install(self._st.rc, self.config.risk_checks)

    def risk_check_denials(self) -> dict[str, int]:
        """Orders each configured risk check denied (reason ``RISK_CHECK``), by the check's name."""
        return risk_checks.denials(self._st.rc, self.config.risk_checks)

    def registered(self, kind: str, name: Any) -> bool:
        """True when `name` is a registered ``account`` / ``strategy`` / ``symbol``."""
        return name in self._registries[kind][0]

    def names(self, kind: str) -> list[str]:
        """Registered names of ``account`` / ``strategy`` / ``symbol``, in registry order (a copy)."""
        return list(self._registries[kind][1])

    def name_tables(self) -> tuple[list[str], list[str], list[str]]:
        """The registries' names (accounts, strategies, symbols) in registry order, as they are (no copy: read
        them only; they only grow)."""
        return self._acct_names, self._strat_names, self._sym_names

    def indices(self, kind: str) -> Mapping[Any, int]:
        """The ``account`` / ``strategy`` / ``symbol`` registry as a read-only mapping name → index (what
        `INTENT_DTYPE`'s columns hold), live: it grows as names are registered. ``.get(name, -1)`` looks a name up
        as `process` does (-1: unknown, which it refuses)."""
        return self._indices[kind]

    @property
    def next_order_id(self) -> int:
        """The id the next accepted new order takes (ids only grow). Settable: a live restart jumps it above
        every id answered before a crash (`hft.live.order_ids`)."""
        return int(self._st.ctr[K.K_NEXT_OID])

    @next_order_id.setter
    def next_order_id(self, oid: int) -> None:
        if not 1 <= int(oid) <= ORDER_ID_MAX:
            raise GatewayError(f"next_order_id: expected an int from 1 to {ORDER_ID_MAX} (2**62), was {oid!r}")
        self._st.ctr[K.K_NEXT_OID] = int(oid)

    def account_id(self, name: str) -> int:
        """The registry index of the account `name` (what `INTENT_DTYPE`'s ``account`` holds)."""
        return self._index("account", name)

    def strategy_id(self, name: str) -> int:
        """The registry index of the strategy `name`."""
        return self._index("strategy", name)

    def symbol_id(self, name: str) -> int:
        """The registry index of the symbol `name`."""
        return self._index("symbol", name)

    def _index(self, what: str, name: str) -> int:
        """`name`'s index in the registry `what`; an unknown name is a GatewayError listing the known ones."""
        table, names = self._registries[what]
        try:
            return table[name]
        except (KeyError, TypeError):
            raise GatewayError(f"{what}: expected a registered {what} (one of {names[:20]}), was {name!r}",
                               key=what) from None

    def _emit(self, record: Any) -> None:
        try:
            self.sink(record)  # type: ignore[misc]
        except Exception as exc:  # a broken recorder must not change decisions
            self.sink_errors += 1
            log.error("gateway sink failed: %s: %s", type(exc).__name__, exc)

    # ------------------------------------------------------------------ batch path
    def process_batch(self, intents: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Steps 1-7 for an INTENT_DTYPE array in one numba call; returns a DECISION_DTYPE array.

        All rows are decided at ``clock.now_ns()``, in order, with exactly the per-intent semantics
        (`process` on the same sequence at the same time gives the same decisions). Accepted rows are
        dispatched as one COMMAND_DTYPE array via ``dispatcher.put_batch`` when the dispatcher has it, else one
        `OrderCommand` at a time via ``put_nowait``. `out` (DECISION_DTYPE, same length) may be passed to
        reuse a buffer; it is returned.
        """
        if not isinstance(intents, np.ndarray) or intents.dtype != INTENT_DTYPE or intents.ndim != 1:
            raise GatewayError(f"process_batch: expected a 1-D INTENT_DTYPE array, was "
                               f"{getattr(intents, 'dtype', type(intents).__name__)}")
        n = len(intents)
        if out is None:
            out = np.empty(n, dtype=DECISION_DTYPE)
        elif out.dtype != DECISION_DTYPE or out.shape != (n,) or not out.flags.c_contiguous:
            raise GatewayError(f"process_batch: expected `out` as a contiguous DECISION_DTYPE array of {n} rows")
        t0 = self.timer() if self._lat is not None else 0
        now = self.clock.now_ns()
        if now >= self._storm_next:
            self._storm_tick(now)
        intents = np.ascontiguousarray(intents)
        if not self.enabled:
            out[:] = 0
            for i in range(n):
                out[i]["seq"] = K.count_reason(self.arena, R_GATEWAY_DISABLED)
            out["ts"] = now
            out["reason"] = R_GATEWAY_DISABLED
            for f in ("key", "price", "qty", "account", "strategy", "symbol", "kind", "side", "order_type", "tif",
                      *OPTION_NAMES):
                out[f] = intents[f]
            out["recv_ts"] = intents["ts"]
            out["target_id"] = intents["order_id"]
        else:
            pre = self._batch_pre(intents) if self._restricted else None
            if pre is None:
                cmds = np.empty(n, dtype=COMMAND_DTYPE)
                n_cmd = K.process_batch(self.arena, intents, out, cmds, now, self._mode)
                if n_cmd:
                    self._dispatch_batch(out, cmds[:n_cmd], now)
            else:
                self._process_restricted(intents, out, now, pre)
        if self.batch_sink is not None:
            try:
                self.batch_sink(out)
            except Exception as exc:
                self.sink_errors += 1
                log.error("gateway batch sink failed: %s: %s", type(exc).__name__, exc)
        elif self.sink is not None:
            for row in out:
                self._emit(self.decision_from_row(row))
        if t0:
            self.metrics.batch.observe(self.timer() - t0)
        return out

    def _batch_pre(self, intents: np.ndarray) -> np.ndarray | None:
        """The reason each row's strategy mode refuses it with (0: none), None when no row is refused so."""
        t = intents["strategy"]
        pre_t = np.asarray(self._strat_pre, np.int64)
        ok = (t >= 0) & (t < len(pre_t)) & (intents["kind"] != INTENT_CANCEL)
        pre = np.where(ok, pre_t[np.where(ok, t, 0)], 0)
        return pre if pre.any() else None

    def _process_restricted(self, intents: np.ndarray, out: np.ndarray, now: int, pre: np.ndarray) -> None:
        """`process_batch` of rows some of which a strategy mode refuses: those one by one through the core with
        their reason (`_core_py`'s), the runs between them as batches, in order (the same decisions)."""
        n = len(intents)
        i = 0
        while i < n:
            if pre[i]:
                it = intents[i]
                code, oid, seq = _process_one(self.arena, now, self._mode, int(it["key"]), int(it["kind"]),
                                              int(it["account"]), int(it["strategy"]), int(it["symbol"]),
                                              int(it["side"]), int(it["price"]), int(it["qty"]),
                                              int(it["order_type"]), int(it["tif"]), int(it["order_id"]),
                                              int(pre[i]), tuple(int(it[f]) for f in OPTION_NAMES))
                d = out[i]
                for f in ("key", "price", "qty", "account", "strategy", "symbol", "kind", "side", "order_type",
                          "tif", *OPTION_NAMES):
                    d[f] = it[f]
                reason = int(code) & 0xFFFF
                d["seq"], d["ts"], d["recv_ts"], d["order_id"], d["target_id"] = seq, now, it["ts"], oid, it["order_id"]
                d["reason"] = reason
                d["accepted"] = int(reason == R_OK)  # only a duplicate of an earlier acceptance: no command
                d["duplicate"] = int(bool(int(code) & K.DUP_FLAG))
                i += 1
                continue
            j = i + 1
            while j < n and not pre[j]:
                j += 1
            cmds = np.empty(j - i, dtype=COMMAND_DTYPE)
            n_cmd = K.process_batch(self.arena, intents[i:j], out[i:j], cmds, now, self._mode)
            if n_cmd:
                self._dispatch_batch(out[i:j], cmds[:n_cmd], now)
            i = j

    def check_batch(self, intents: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Read-only pre-trade check of an INTENT_DTYPE array at ``clock.now_ns()`` (one numba call): the
        reason code each row would get from policy + decoding + exposure + risk against the current state,
        as int64 (0 = would pass). Decides, reserves and records nothing; rows do not see each other.
        NEW rows get `RiskEngine.evaluate` semantics (rate limits not applied), CANCEL rows ownership /
        pending checks, other kinds R_BAD_KIND. `out` (int64, same length) may be passed to reuse a buffer."""
        if not isinstance(intents, np.ndarray) or intents.dtype != INTENT_DTYPE or intents.ndim != 1:
            raise GatewayError(f"check_batch: expected a 1-D INTENT_DTYPE array, was "
                               f"{getattr(intents, 'dtype', type(intents).__name__)}")
        n = len(intents)
        if out is None:
            out = np.empty(n, dtype=np.int64)
        elif out.dtype != np.int64 or out.shape != (n,) or not out.flags.c_contiguous:
            raise GatewayError(f"check_batch: expected `out` as a contiguous int64 array of {n} rows")
        K.check_batch(self.arena, np.ascontiguousarray(intents), out, self.clock.now_ns(), self._mode)
        pre = self._batch_pre(intents) if self._restricted else None
        if pre is not None:  # a strategy's mode, after the global policy (as `process` decides)
            sel = (pre != 0) & ~np.isin(out, (R_POLICY_CANCEL_ONLY, R_POLICY_REJECT_ALL))
            out[sel] = pre[sel]
        return out

    def _dispatch_batch(self, out: np.ndarray, cmds: np.ndarray, now: int) -> None:
        put_batch = getattr(self._dispatcher, "put_batch", None)
        try:
            if put_batch is not None:
                put_batch(cmds)
            else:
                for c in cmds:
                    self._put(self.command_from_row(c))
        except Exception as exc:
            sel = np.flatnonzero((out["accepted"] == 1) & (out["duplicate"] == 0))
            log.error("batch dispatch failed, %d decisions rolled back: %s", len(sel), exc)
            for i in sel:
                K.rollback(self.arena, int(out[i]["key"]), int(out[i]["kind"]), int(out[i]["order_id"]),
                           R_DISPATCH_FAILED, now)
                out[i]["accepted"] = 0
                out[i]["reason"] = R_DISPATCH_FAILED

    def decision_from_row(self, row: Any) -> Decision:
        """A `Decision` (names resolved) from a DECISION_DTYPE row (`hft.gateway.records`)."""
        return records.decision_from_row(row, self._acct_names, self._strat_names, self._sym_names)

    def command_from_row(self, c: Any) -> OrderCommand:
        """An `OrderCommand` (names resolved) from a COMMAND_DTYPE row (`hft.gateway.records`)."""
        return records.command_from_row(c, self._acct_names, self._strat_names, self._sym_names)

    # ------------------------------------------------------------------ reports, marks
    def on_execution_report(self, report: ExecutionReport | Any) -> int:
        """Apply one execution report (ack, fills, cancel, reject, expiry, replace). Returns F_* flags;
        breaches trip the StormGuard. Reports for unknown orders are counted and ignored."""
        now = self.clock.now_ns()
        try:
            flags = int(K.apply_report(self.arena, now, *map(_i64, (report.order_id, report.kind, report.price,
                                                                    report.qty, report.leaves, report.fee,
                                                                    getattr(report, "fee_frac", 0)))))
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            log.warning("bad execution report ignored: %s", exc)
            return K.F_BAD_REPORT
        if flags & (K.F_LOSS_BREACH | K.F_POSITION_BREACH):
            self.handle_flags(flags, now)
        return flags

    def on_execution_reports(self, reports: np.ndarray) -> int:
        """Apply an EXEC_REPORT_DTYPE array in order (one numba call). Returns the OR of the flags."""
        if not isinstance(reports, np.ndarray) or reports.dtype != EXEC_REPORT_DTYPE:
            raise GatewayError("on_execution_reports: expected an EXEC_REPORT_DTYPE array")
        now = self.clock.now_ns()
        flags = int(K.apply_reports(self.arena, now, np.ascontiguousarray(reports)))
        self.handle_flags(flags, now)
        return flags

    def on_execution_report_array(self, reports: np.ndarray) -> np.ndarray:
        """Apply an EXEC_REPORT_DTYPE array (or a VENUE_REPORT_DTYPE one: its extra fields are not the gateway's)
        at the clock's now, exactly as `on_execution_report` one report at a time would (the reports' own ``ts``
        is not used): a loss or position breach trips the StormGuard right after the report that caused it, before
        the next one is applied. One numba call per breach (+1). Returns each report's flags (int64;
        ``K.F_BAD_REPORT`` / ``K.F_UNKNOWN_ORDER``: refused, not applied)."""
        if not isinstance(reports, np.ndarray) or reports.dtype not in (EXEC_REPORT_DTYPE, VENUE_REPORT_DTYPE):
            raise GatewayError("on_execution_report_array: expected an EXEC_REPORT_DTYPE or VENUE_REPORT_DTYPE array")
        now = self.clock.now_ns()
        # one compiled variant: an execution report array is widened to the venue report's (the extra fields unsaid)
        arr = venue_reports(reports) if reports.dtype == EXEC_REPORT_DTYPE else np.ascontiguousarray(reports)
        stop = K.F_LOSS_BREACH | K.F_POSITION_BREACH
        i, n = 0, len(arr)
        each = np.zeros(n, np.int64)
        while i < n:
            flags, i = K.apply_reports_until(self.arena, now, arr, i, stop, each)
            if flags & stop:
                self.handle_flags(int(flags), now)
        return each

    def mark(self, symbol: Any, price: int) -> int:
        """Mark `symbol` (name or registry index) at `price` ticks: reference price for the price band and
        unrealised PnL. Returns F_* flags (loss breach, market move), which trip the StormGuard."""
        y = symbol if type(symbol) is int else self._sym.get(symbol, -1)
        now = self.clock.now_ns()
        try:
            px, y = _i64(price), _i64(y)
        except (TypeError, ValueError, OverflowError):
            return K.F_BAD_REPORT
        flags = int(K.mark(self.arena, y, px, now))
        if flags & (K.F_LOSS_BREACH | K.F_MARKET_MOVE):
            self.handle_flags(flags, now)
        return flags

    def handle_flags(self, flags: int, now: int) -> None:
        """Trip the StormGuard for the breach flags a kernel returned (``K.F_LOSS_BREACH``, ``F_POSITION_BREACH``,
        ``F_MARKET_MOVE``, each to its configured level) at `now`: what `on_execution_report` and `mark` do with
        theirs, for a loop that applies reports outside them (the simulator's compiled loop)."""
        sc = self.config.storm
        for bit, cause, level in ((K.F_LOSS_BREACH, "daily_loss", sc.loss_level),
                                  (K.F_POSITION_BREACH, "position_breach", sc.position_level),
                                  (K.F_MARKET_MOVE, "market_move", sc.market_move_level)):
            if flags & bit and LEVELS[level] > STORM_NORMAL:
                self.policy.trip(LEVELS[level], cause, now)
        self._storm_next = self.storm.next_check_ns

    # ------------------------------------------------------------------ policy, kill switch
    def _on_transition(self, tr: PolicyTransition) -> None:
        self._mode = tr.new_mode
        self.transitions.append(tr)
        if self.sink is not None:
            self._emit(tr)
        killing = self._trip_cancels is not None  # kill(): its transition always cancels
        if killing or (tr.new_mode > tr.old_mode and self.config.storm.cancel_on_trip):
            # the emergency stop acts: a stricter mode (automatic trip, kill, manual) pulls every working order,
            # before any closing order of flatten_on_halt exists (those are not to be cancelled)
            cancels = self.cancel_all(tr.cause)
            if killing:
                self._trip_cancels.extend(cancels)
        if tr.new_level == STORM_HALT > tr.old_level and self.config.storm.flatten_on_halt:
            flatten_positions(self, tr.cause)

    def _storm_tick(self, now: int) -> None:
        self.policy.tick(now)
        self._storm_next = self.storm.next_check_ns

    def tick(self) -> None:
        """Let the StormGuard recover if its cooldown has passed (process() does this too)."""
        self._storm_tick(self.clock.now_ns())

    def set_mode(self, mode: int, cause: str = "manual") -> None:
        """Manual policy mode (MODE_ALLOW_ALL / MODE_CANCEL_ONLY / MODE_REJECT_ALL); the storm may be stricter."""
        self.policy.set_manual(mode, cause, self.clock.now_ns())

    def kill(self, cause: str = "kill_switch") -> list[Decision]:
        """Kill switch: REJECT_ALL (latched) and a cancel for every working order, then (``storm.flatten_on_halt``)
        the closing orders, which it does not cancel. Returns the cancel decisions (one per order working before)."""
        now = self.clock.now_ns()
        self._trip_cancels = []
        try:  # its transition cancels (whatever storm.cancel_on_trip says), then flattens
            tr = self.policy.kill(cause, now)
        finally:
            decisions, self._trip_cancels = self._trip_cancels, None
        self._storm_next = self.storm.next_check_ns
        if tr is None:  # already killed (no transition, so nothing flattened since): what still works
            decisions = self.cancel_all(cause)
        return decisions

    def cancel_all(self, cause: str = "cancel_all",
                   select: Callable[[int, int], bool] | None = None) -> list[Decision]:
        """An internal cancel for every working order (no key, no rate limits, no ownership check), dispatched
        and recorded like any decision. The one place the emergency stop acts: the kill switch, and every
        transition to a stricter mode when ``storm.cancel_on_trip`` (daily loss, position breach, market
        move, a manual or queue-pressure REJECT_ALL). `select(order_id, symbol index)`: only the orders it
        says (the live service's session close: its DAY orders). Returns the cancel decisions."""
        now = self.clock.now_ns()
        decisions = []
        for o in self._working_rows():
            oid, y = o[K.WO_ORDER_ID], o[K.WO_SYMBOL]
            if o[K.WO_STATUS] == K.OS_PENDING_CANCEL:  # a cancel is already in flight for it
                continue
            if select is not None and not select(oid, y):
                continue
            decisions.append(self.internal_intent(INTENT_CANCEL, o[K.WO_ACCOUNT], o[K.WO_STRATEGY], y, target=oid,
                                                  mode=self._mode, now=now))
        if decisions:
            log.warning("%s: %d working orders cancelled", cause, len(decisions))
        return decisions

    def internal_intent(self, kind: int, a: int, t: int, y: int, *, side: int = 0, price: int = 0, qty: int = 0,
                        order_type: int = 0, tif: int = 0, target: int = 0, mode: int, now: int) -> Decision:
        """One internal intent of the gateway itself (no key, no rate limits, no ownership check: the emergency
        stop's cancels, `flatten_on_halt`'s closing orders) for registry indices (a, t, y): decided in `mode`,
        dispatched (a refused dispatch rolled back), recorded like any decision. Returns its decision."""
        code, oid, seq = _process_one(self.arena, now, mode, _NO_KEY, kind, a, t, y, side, price, qty,
                                      order_type, tif, target, K.CTL_INTERNAL, NO_OPTIONS)
        names = (self._acct_names[a], self._strat_names[t], self._sym_names[y])
        cmd = None
        if code == 0:
            cmd = records.command(kind, int(oid) if kind == CMD_NEW else target, None, *names, side, price, qty,
                                  order_type, tif, now)
            try:
                self.dispatcher.put_nowait(cmd)
            except Exception as exc:
                code = self._dispatch_failed(_NO_KEY, kind, cmd.order_id, now, exc)
                cmd = None
        order_id = target if kind != CMD_NEW else (int(oid) if code == 0 else 0)
        dec = records.from_code(int(seq), now, now, (None, kind, *names, side, price, qty, order_type, tif, target),
                                int(code), order_id, cmd)
        if self.sink is not None:
            self._emit(dec)
        return dec

    def reset(self, cause: str = "manual_reset") -> None:
        """Back to ALLOW_ALL / NORMAL (clears the kill switch and latched breaches)."""
        self.policy.reset(cause, self.clock.now_ns())
        self._storm_next = self.storm.next_check_ns

    def new_day(self) -> None:
        """Start a new trading day: daily realised / unrealised PnL restart at zero (positions kept)."""
        K.roll_day(self.arena)

    # ------------------------------------------------------------------ state views
    @property
    def mode(self) -> int:
        """The policy mode intents are decided in (MODE_ALLOW_ALL / MODE_CANCEL_ONLY / MODE_REJECT_ALL)."""
        return self.policy.mode

    @property
    def next_storm_check_ns(self) -> int:
        """The clock time from which the next decision first ticks the StormGuard (a cooldown may end there): a
        loop deciding outside `process` (the simulator's compiled loop) ticks it from then."""
        return self._storm_next

    @property
    def mode_name(self) -> str:
        return MODE_NAMES[self.policy.mode]

    @property
    def storm_level(self) -> int:
        return self.storm.level

    @property
    def storm_level_name(self) -> str:
        return STORM_NAMES[self.storm.level]

    def position(self, account: str, strategy: str, symbol: str) -> Exposure:
        """Exposure of (account, strategy, symbol): position, working buy / sell, cost, realised, live orders."""
        return self.exposure.get(self._index("account", account), self._index("strategy", strategy),
                                 self._index("symbol", symbol))

    def pnl(self, strategy: str | None = None, account: str | None = None) -> dict[str, int]:
        """Daily PnL (money units) of a strategy or an account: realised, unrealised, total (the realised PnL is
        exact, fees to their millionths, and rounded here once: `hft.core.money.round_owed`)."""
        if strategy is not None:
            r = self._st.strat[self._index("strategy", strategy)]
            real, owed, unreal = int(r[K.S_REAL]), int(r[K.S_FFRAC]), int(r[K.S_MTM] - r[K.S_COST])
        elif account is not None:
            r = self._st.acct[self._index("account", account)]
            real, owed, unreal = int(r[K.A_REAL]), int(r[K.A_FFRAC]), int(r[K.A_MTM] - r[K.A_COST])
        else:
            raise GatewayError("pnl: expected a strategy or an account name")
        return {"realised": round_owed(real, owed), "unrealised": unreal, "total": round_owed(real + unreal, owed)}

    @property
    def order_table_size(self) -> int:
        """Rows of the order table (a power of two, at least ``max_working_orders``): order id ``i`` takes row
        ``i mod order_table_size``, and a new order whose row still holds a working order is refused
        ORDER_TABLE_FULL. Ids given in sequence reuse rows oldest first."""
        return int(self._st.cfg[K.C_ORD_CAP])

    def _working_rows(self) -> list[list[int]]:
        """Every working order as a row of `K.WORKING_ORDER`'s fields (Python ints; columns `K.WO_*`)."""
        out = np.zeros((max(int(self._st.ctr[K.K_LIVE]), 1), K.WO_COLS), dtype=np.int64)
        n = K.live_orders(self.arena, out)
        return out[:n].tolist()

    def working_orders(self) -> list[dict[str, Any]]:
        """Every working order: its id, account, strategy, symbol and status code."""
        return [{"order_id": o[K.WO_ORDER_ID], "account": self._acct_names[o[K.WO_ACCOUNT]],
                 "strategy": self._strat_names[o[K.WO_STRATEGY]], "symbol": self._sym_names[o[K.WO_SYMBOL]],
                 "status": o[K.WO_STATUS]} for o in self._working_rows()]

    def __repr__(self) -> str:
        """One line: policy mode, storm level, the registries' sizes and the decision counters."""
        st = self._st
        return (f"GatewayService(mode={self.mode_name}, storm={self.storm_level_name}, "
                f"accounts={len(self._acct_names)}, strategies={len(self._strat_names)}, "
                f"symbols={len(self._sym_names)}, decisions={int(st.ctr[K.K_DECISIONS])}, "
                f"accepted={int(st.reasons[R_OK])}, working_orders={int(st.ctr[K.K_LIVE])})")

    # ------------------------------------------------------------------ metrics
    def channel_depth(self) -> int:
        """Intents waiting in the live channel (0 without one)."""
        return self.channel.qsize() if self.channel is not None else 0

    def metrics_snapshot(self) -> dict[str, Any]:
        """Counters and latency summaries as a plain dict (for run results)."""
        snap = self.metrics.snapshot(self)
        snap["sink_errors"] = self.sink_errors
        return snap

    def metrics_text(self) -> str:
        """Prometheus text exposition of the service's own registry."""
        return self.metrics.text(self)

    @property
    def registry(self):
        """The service-owned prometheus_client CollectorRegistry."""
        return self.metrics.registry(self)

    # ------------------------------------------------------------------ live mode
    def new_channel(self, maxsize: int | None = None) -> LocalIntentChannel:
        """A bounded channel whose overflow is recorded as QUEUE_FULL decisions by this service."""
        ch = LocalIntentChannel(maxsize or self.config.channel_capacity, on_full=self.reject_queue_full)
        self.channel = ch
        return ch

    async def run(self, channel: LocalIntentChannel, yield_every: int = 64) -> int:
        """Consume `channel` until it is closed and drained: one asyncio task, `process()` per envelope.

        Yields to the event loop every `yield_every` envelopes so producers are not starved under bursts.
        Returns the number of envelopes processed. Persists the dedup window (in a thread) on exit.
        """
        self.channel = channel
        n = 0
        try:
            while True:
                env = await channel.get()
                if env is None:
                    break
                self.process(env)
                n += 1
                if n % yield_every == 0:
                    await asyncio.sleep(0)
        finally:
            if self.config.dedup_persist_path:
                await asyncio.to_thread(self.shutdown)
        return n
