"""Gateway metrics: cheap counters on the hot path, a prometheus-client registry owned by the service.

The hot path never calls prometheus-client (an ``observe()`` costs about a microsecond): decision counters by
reason, dedup hits and accepted counts live in the arena (the numba core increments them), and latencies go
into log2 histograms kept in two preallocated Python lists (count and sum per ``ns.bit_length()``; `process()`
updates them inline, two list increments, no call). A custom collector folds these into exact Prometheus
histograms at scrape time, in a `CollectorRegistry` created on first use and owned by the service (never the
global registry). prometheus_client is imported only when a registry or text export is asked for.

Exported:
  gateway_dispatch_latency_ns          histogram, steps 1-7 of process() (perf counter, not the decision clock):
                                       one intent a call; the live service decides HTTP and TCP orders by
                                       process_batch(), the signal follower's (and an intent its registries
                                       cannot index) by process()
  gateway_stage_latency_ns{stage}      histograms: prepare, core (steps 1-4+6, one numba call), dispatch (5+7),
                                       record (decision record + sink) — only with timing "stages"
  gateway_batch_latency_ns             histogram of process_batch() calls
  gateway_decisions_total{result}      accepted / rejected / duplicate
  gateway_reject_total{reason}         rejections by reason code name (dedup hits are not rejections)
  gateway_dedup_hits_total
  gateway_intent_channel_depth         gauge (the attached LocalIntentChannel)
  gateway_internal_errors_total, gateway_working_orders, gateway_exposure_slots, gateway_policy_mode,
  gateway_storm_level, gateway_storm_trips_total{level} (breaker trips), gateway_reports_total, gateway_unknown_reports_total
  gateway_strategy_mode{strategy}      each strategy's own mode: 0 enabled, 1 cancel_only, 2 disabled
  gateway_position{account,strategy,symbol}        net position in lots (signed) of each exposure entry in use
  gateway_realised_pnl{account,strategy,symbol}    its realised PnL of the day, money units
  gateway_strategy_pnl{strategy,kind}, gateway_account_pnl{account,kind}   `pnl()`: realised / unrealised
  gateway_strategy_daily_loss_limit{strategy}, gateway_account_daily_loss_limit{account}   the daily loss limit
                                       the risk core applies (read from the arena), money units; a strategy or
                                       account without one (unlimited) has no series
  gateway_long_limit{account,strategy,symbol}, gateway_short_limit{...}   the max_long / max_short (lots) the
                                       exposure step applies to each entry in use (none: no series); its use is
                                       gateway_position against them
  gateway_submit_rate_limit{level,name,window}     each limited submit-rate window (level strategy or account):
                                       submits per window; gateway_submit_rate_available{...}: the submits its
                                       bucket would take now (refilled to the service clock)
Money is integer money units (`hft.core.money`), rounded once half to even where fees left millionths; the label
values are names of the configured registries (bounded by capacity.max_*), read at scrape time.
Latency histograms depend on the machine; they are not part of a deterministic run hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from hft.core.money import round_owed
from hft.core.orders import N_REASONS, R_OK, REASON_NAMES, STORM_DEGRADED, STORM_HALT, STORM_NAMES
from hft.gateway import kernels as K
from hft.gateway.config import effective_limits

if TYPE_CHECKING:
    from hft.gateway.service import GatewayService

N_BUCKETS = 48  # exported buckets: le = 2**i - 1 for i < 47, the last one open-ended
N_RAW = 65  # raw slots, indexed by ``ns.bit_length()`` (at most 64 for a 64-bit ns delta)
STAGES = ("prepare", "core", "dispatch", "record")


class Log2Histogram:
    """Latency histogram with power-of-two buckets.

    Recording is two list increments, ``counts[b] += 1; sums[b] += ns`` with ``b = ns.bit_length()``, done
    by `observe` or inline by the service's hot path (``record_into`` gives it the two lists). Raw slots
    ``b >= N_BUCKETS - 1`` are folded into the last exported bucket when read, so the exported histogram
    (buckets, count, sum) is exactly that of every recorded value.
    """

    __slots__ = ("counts", "sums")

    def __init__(self) -> None:
        self.counts = [0] * N_RAW
        self.sums = [0] * N_RAW

    def observe(self, ns: int) -> None:
        b = ns.bit_length()
        self.counts[b] += 1
        self.sums[b] += ns

    def record_into(self) -> tuple[list[int], list[int]]:
        """The (counts, sums) lists for inline recording: ``c[b] += 1; s[b] += ns``, ``b = ns.bit_length()``."""
        return self.counts, self.sums

    @property
    def buckets(self) -> list[int]:
        """Count per exported bucket (N_BUCKETS; bucket i holds values of bit length i, the last one more)."""
        c = self.counts
        return [*c[: N_BUCKETS - 1], sum(c[N_BUCKETS - 1:])]

    @property
    def count(self) -> int:
        return sum(self.counts)

    @property
    def total(self) -> int:
        return sum(self.sums)

    def quantile(self, q: float) -> int:
        """Upper bound (ns) of the bucket holding quantile `q` (0 when empty)."""
        buckets = self.buckets
        n = sum(buckets)
        if n == 0:
            return 0
        target = q * n
        acc = 0
        for i, c in enumerate(buckets):
            acc += c
            if acc >= target and c:
                return (1 << i) - 1 if i else 0
        return (1 << (N_BUCKETS - 1)) - 1

    def cumulative(self) -> list[tuple[str, int]]:
        out = []
        acc = 0
        for i, c in enumerate(self.buckets):
            acc += c
            out.append((str(float((1 << i) - 1 if i else 0)), acc))
        out.append(("+Inf", acc))
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"count": self.count, "sum_ns": self.total, "p50_ns_le": self.quantile(0.5),
                "p99_ns_le": self.quantile(0.99), "p999_ns_le": self.quantile(0.999)}


class GatewayMetrics:
    """Latency histograms and Python-side counters; `snapshot` / `text` read the arena counters too."""

    def __init__(self) -> None:
        self.dispatch = Log2Histogram()
        self.stages = {s: Log2Histogram() for s in STAGES}
        self.batch = Log2Histogram()
        self.internal_errors = 0
        self._registry = None

    def snapshot(self, svc: GatewayService) -> dict[str, Any]:
        st = K.views(svc.arena)
        reasons = {REASON_NAMES.get(i, str(i)): int(st.reasons[i]) for i in range(N_REASONS)
                   if i != R_OK and st.reasons[i]}
        return {
            "decisions": int(st.ctr[K.K_DECISIONS]),
            "accepted": int(st.reasons[R_OK]),
            "rejected": int(sum(reasons.values())),
            "dedup_hits": int(st.ctr[K.K_DEDUP_HITS]),
            "rejects_by_reason": reasons,
            "risk_check_denials": svc.risk_check_denials(),
            "internal_errors": self.internal_errors,
            "working_orders": int(st.ctr[K.K_LIVE]),
            "exposure_slots": int(st.ctr[K.K_SLOT_COUNT]),
            "exposure_evictions": int(st.ctr[K.K_SLOT_EVICTIONS]),
            "dedup_entries": int(st.ctr[K.K_DD_COUNT]),
            "dedup_evicted": int(st.ctr[K.K_DD_EVICTED]),
            "reports": int(st.ctr[K.K_REPORTS]),
            "unknown_reports": int(st.ctr[K.K_UNKNOWN_REPORTS]),
            "channel_depth": svc.channel_depth(),
            "policy_mode": svc.mode_name,
            "storm_level": svc.storm_level_name,
            "dispatch_latency_ns": self.dispatch.snapshot(),
            "stage_latency_ns": {s: h.snapshot() for s, h in self.stages.items() if h.count},
            "batch_latency_ns": self.batch.snapshot(),
        }

    def registry(self, svc: GatewayService):
        """The service's own CollectorRegistry (created on first call)."""
        if self._registry is None:
            from prometheus_client import CollectorRegistry

            self._registry = CollectorRegistry(auto_describe=False)
            self._registry.register(_Collector(svc, self))
        return self._registry

    def text(self, svc: GatewayService) -> str:
        from prometheus_client import generate_latest

        return generate_latest(self.registry(svc)).decode()


class _Collector:
    def __init__(self, svc: GatewayService, m: GatewayMetrics) -> None:
        self.svc = svc
        self.m = m

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        svc, m = self.svc, self.m
        st = K.views(svc.arena)

        def hist(name: str, doc: str, h: Log2Histogram, labels: dict[str, str] | None = None,
                 fam: HistogramMetricFamily | None = None) -> HistogramMetricFamily:
            if fam is None:
                fam = HistogramMetricFamily(name, doc, labels=list(labels) if labels else None)
            fam.add_metric(list(labels.values()) if labels else [], h.cumulative(), float(h.total))
            return fam

        yield hist("gateway_dispatch_latency_ns", "process() latency, steps 1-7 (ns), one intent a call (the live "
                   "service: the signal follower's orders; HTTP and TCP orders are decided by process_batch, "
                   "gateway_batch_latency_ns)", m.dispatch)
        fam = HistogramMetricFamily("gateway_stage_latency_ns", "per-stage latency (ns)", labels=["stage"])
        for s, h in m.stages.items():
            hist("", "", h, {"stage": s}, fam)
        yield fam
        yield hist("gateway_batch_latency_ns", "process_batch() latency per call (ns)", m.batch)
        dec = CounterMetricFamily("gateway_decisions", "decisions by result", labels=["result"])
        rejected = int(sum(int(st.reasons[i]) for i in range(N_REASONS) if i != R_OK))
        dec.add_metric(["accepted"], int(st.reasons[R_OK]))
        dec.add_metric(["rejected"], rejected)
        dec.add_metric(["duplicate"], int(st.ctr[K.K_DEDUP_HITS]))
        yield dec
        rej = CounterMetricFamily("gateway_reject", "rejections by reason", labels=["reason"])
        for i in range(N_REASONS):
            if i != R_OK and st.reasons[i]:
                rej.add_metric([REASON_NAMES.get(i, str(i))], int(st.reasons[i]))
        yield rej
        if svc.config.risk_checks:
            rc = CounterMetricFamily("gateway_risk_check_denials", "orders denied by each risk check of the house's",
                                     labels=["check"])
            for name, n in svc.risk_check_denials().items():
                rc.add_metric([name], n)
            yield rc
        yield CounterMetricFamily("gateway_dedup_hits", "idempotency-key hits", value=int(st.ctr[K.K_DEDUP_HITS]))
        yield CounterMetricFamily("gateway_internal_errors", "exceptions inside process()",
                                  value=m.internal_errors)
        yield CounterMetricFamily("gateway_reports", "execution reports applied", value=int(st.ctr[K.K_REPORTS]))
        yield CounterMetricFamily("gateway_unknown_reports", "reports for unknown orders",
                                  value=int(st.ctr[K.K_UNKNOWN_REPORTS]))
        yield GaugeMetricFamily("gateway_intent_channel_depth", "envelopes waiting in the channel",
                                value=svc.channel_depth())
        yield GaugeMetricFamily("gateway_working_orders", "working orders", value=int(st.ctr[K.K_LIVE]))
        yield GaugeMetricFamily("gateway_exposure_slots", "exposure entries in use",
                                value=int(st.ctr[K.K_SLOT_COUNT]))
        yield GaugeMetricFamily("gateway_policy_mode", "0 ALLOW_ALL, 1 CANCEL_ONLY, 2 REJECT_ALL", value=svc.mode)
        yield GaugeMetricFamily("gateway_storm_level", "0 NORMAL, 1 DEGRADED, 2 HALT", value=svc.storm_level)
        trips = CounterMetricFamily("gateway_storm_trips", "circuit breaker trips that raised the storm level, by "
                                    "the level raised to", labels=["level"])
        for lvl in (STORM_DEGRADED, STORM_HALT):
            trips.add_metric([STORM_NAMES[lvl]], svc.storm.trips[lvl])
        yield trips
        modes = GaugeMetricFamily("gateway_strategy_mode", "a strategy's own mode: 0 enabled, 1 cancel_only, "
                                  "2 disabled", labels=["strategy"])
        for name in svc.names("strategy"):
            modes.add_metric([name], _MODE_VALUE[svc.strategy_mode(name)])
        yield modes
        yield from _book(svc)


_MODE_VALUE = {"enabled": 0, "cancel_only": 1, "disabled": 2}  # gateway_strategy_mode's values
_TRIPLE = ["account", "strategy", "symbol"]
_MONEY = ("integer money units, a linear fill worth price ticks x qty lots x the symbol's multiplier; fees "
          "included, rounded once half to even")


def _book(svc: GatewayService) -> Iterator[Any]:
    """Positions and PnL at scrape time: one series per exposure entry in use and per registered strategy and
    account (label values from the configured registries only, so the label sets are bounded)."""
    from prometheus_client.core import GaugeMetricFamily

    accts, strats, syms = svc.name_tables()
    pos = GaugeMetricFamily("gateway_position", "net position in lots (signed: long > 0) of each (account, "
                            "strategy, symbol) holding a position or working orders", labels=_TRIPLE)
    real = GaugeMetricFamily("gateway_realised_pnl", f"realised PnL of the trading day per (account, strategy, "
                             f"symbol) entry ({_MONEY})", labels=_TRIPLE)
    for row in svc.exposure.used_slots():
        names = [accts[row[K.Z_ACCT]], strats[row[K.Z_STRAT]], syms[row[K.Z_SYM]]]
        pos.add_metric(names, int(row[K.Z_POS]))
        real.add_metric(names, round_owed(row[K.Z_REAL], row[K.Z_FFRAC]))
    yield pos
    yield real
    for what, names in (("strategy", strats), ("account", accts)):
        fam = GaugeMetricFamily(f"gateway_{what}_pnl", f"PnL of the trading day per {what}, kind realised (fills) "
                                f"or unrealised (marked value - cost) ({_MONEY})", labels=[what, "kind"])
        for name in names:
            p = svc.pnl(**{what: name})
            fam.add_metric([name, "realised"], p["realised"])
            fam.add_metric([name, "unrealised"], p["unrealised"])
        yield fam
    for what, names in (("strategy", strats), ("account", accts)):
        fam = GaugeMetricFamily(f"gateway_{what}_daily_loss_limit", f"the daily loss limit per {what}: trading "
                                f"stops when its PnL of the day (realised + unrealised) falls below minus this "
                                f"({_MONEY})", labels=[what])
        for name in names:
            scope = {"account": name, "strategy": None} if what == "account" else {"account": None, "strategy": name}
            v = effective_limits(svc.config, symbol=None, **scope)[f"daily_loss_{what}"]
            if v is not None:
                fam.add_metric([name], v)
        yield fam
    yield from _long_short(svc, accts, strats, syms)
    yield from _buying_power(svc, accts)
    yield from _submit_rates(svc, accts, strats)


def _long_short(svc: GatewayService, accts: list, strats: list, syms: list) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    entries = [(accts[int(r[K.Z_ACCT])], strats[int(r[K.Z_STRAT])], syms[int(r[K.Z_SYM])])
               for r in svc.exposure.used_slots()]
    limits = [effective_limits(svc.config, *e) for e in entries]  # the tightest level's, as the risk core's
    for side in ("long", "short"):
        fam = GaugeMetricFamily(f"gateway_{side}_limit", f"max_{side} (lots) of each (account, strategy, symbol) "
                                "entry in use; an unlimited one has no series", labels=_TRIPLE)
        for e, lim in zip(entries, limits, strict=True):
            if lim[f"max_{side}"] is not None:
                fam.add_metric(list(e), lim[f"max_{side}"])
        yield fam


def _buying_power(svc: GatewayService, accts: list) -> Iterator[Any]:
    """Each account with cash set: its cash and the margin its positions and working orders need, as the risk
    core's buying-power check computes it (`kernels.margin_state`, read only; no series while it cannot be
    computed: a symbol with exposure and no mark)."""
    from prometheus_client.core import GaugeMetricFamily

    out = np.zeros((max(len(accts), 1), K.MS_COLS), dtype=np.int64)
    n = K.margin_state(svc.arena, out)
    cash = GaugeMetricFamily("gateway_cash_limit", f"cash per account: its buying power before realised PnL "
                             f"({_MONEY})", labels=["account"])
    need = GaugeMetricFamily("gateway_margin_required", "margin per account its positions and working orders "
                             "need (margin_rate x value of the worse side per symbol, at the mark, rounded up), "
                             "checked against cash + realised PnL", labels=["account"])
    for a, r in enumerate(out[:n].tolist()):  # `K.MARGIN_STATE` rows, by its columns
        if r[K.MS_CASH] >= 0:
            cash.add_metric([accts[a]], r[K.MS_CASH])
            if r[K.MS_COMPUTABLE]:
                need.add_metric([accts[a]], r[K.MS_REQUIRED])
    yield cash
    yield need


def _submit_rates(svc: GatewayService, accts: list, strats: list) -> Iterator[Any]:
    """Each limited submit-rate bucket: its limit and the submits it would take at the service clock's now, as
    the risk core's rate check would see them (`kernels.submit_buckets`, read only)."""
    from prometheus_client.core import GaugeMetricFamily

    out = np.zeros((2 * (len(accts) + len(strats)), K.SB_COLS), dtype=np.int64)
    n = K.submit_buckets(svc.arena, svc.clock.now_ns(), out)
    labels = ["level", "name", "window"]
    lim = GaugeMetricFamily("gateway_submit_rate_limit", "submits allowed per window of each limited submit-rate "
                            "bucket (a strategy's, else the default; an account's own)", labels=labels)
    avail = GaugeMetricFamily("gateway_submit_rate_available", "submits each limited submit-rate bucket would "
                              "take now", labels=labels)
    for r in out[:n].tolist():  # `K.SUBMIT_BUCKET` rows, by its columns
        level, window = r[K.SB_LEVEL], r[K.SB_WINDOW]
        lab = ["strategy" if level == 0 else "account", (strats if level == 0 else accts)[r[K.SB_INDEX]],
               f"{window / 1e9:g}s"]
        lim.add_metric(lab, r[K.SB_COUNT])
        avail.add_metric(lab, r[K.SB_AVAILABLE])
    yield lim
    yield avail
