"""`signal_aggregate`: several signal sources combined by weights and confidence into one target position — the
same rule live (`hft.live.webhooks.follower` with ``signals.follow.aggregate``) and in replay.

The rule (`Aggregator`; docs/signals.md "Signal aggregation" states it for users):

* a configured source's *view* of an instrument is its latest signal by ``(ts_event, corr_id)``: a signal older
  than its source's view (late) changes nothing and trades nothing; a source that is not configured is ignored;
* the aggregate's clock is the latest ``ts_event`` among the instrument's views (never the wall clock); a view is
  alive while the clock is before ``ts_event + horizon`` (the signal's horizon, else the source's ``ttl``, else
  until replaced), and counts as none once its strength is below the source's ``min_strength``;
* a view's value is ``side × strength``, or for a target signal ``clip(target / max_qty, -1, 1) × strength``;
* ``net = Σ weight × value / Σ weight``, both sums over the configured sources in name order (a source without
  a live view adds 0 to the numerator, its weight to the denominator); conflict ``flat``: live views of both
  signs make net 0; ``|net| < min_net`` makes it 0;
* target = ``round(max_qty × net)`` (half to even); each signal that is its source's view trades toward it, at most
  ``max_qty`` lots (`hft.sim.strategies.signal_follow.toward`), priced as `signal_follow` prices.

The views are a function of the set of signals folded in, whatever their order, so a restarted follower that
folds the stream's records again has the views it had.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hft.config.signals import AggregateConfig, parse_aggregate
from hft.config.strict import Section
from hft.core.signal import SignalRecord
from hft.sim.strategies.signal_follow import SignalFollow, toward


class Aggregator:
    """The aggregation rule's state: the views per instrument and source (module docstring)."""

    def __init__(self, cfg: AggregateConfig) -> None:
        self.cfg = cfg
        self.names = sorted(cfg.sources)  # the fixed summation order
        total = 0.0
        for n in self.names:
            total += cfg.sources[n].weight
        self.total = total
        self.views: dict[str, dict[str, SignalRecord]] = {}

    def fold(self, sig: SignalRecord) -> bool:
        """Take `sig` as its source's view of its instrument unless that view is newer; whether `sig` is the view
        now (False: a source not configured, or a signal superseded; True again for the view itself redelivered,
        so a signal whose order was not decided yet still trades)."""
        if sig.source not in self.cfg.sources:
            return False
        views = self.views.setdefault(sig.instrument, {})
        cur = views.get(sig.source)
        if cur is not None and (sig.ts_event, sig.corr_id) <= (cur.ts_event, cur.corr_id):
            return cur.corr_id == sig.corr_id
        views[sig.source] = sig
        return True

    def value(self, sig: SignalRecord) -> float:
        """A signal's view in [-1, 1]."""
        if sig.target is not None:
            return max(-1.0, min(1.0, sig.target / self.cfg.max_qty)) * sig.strength
        return sig.side * sig.strength

    def live(self, instrument: str) -> dict[str, float]:
        """The live, confident views of `instrument` (source → value), in the summation order."""
        views = self.views.get(instrument)
        if not views:
            return {}
        now = max(v.ts_event for v in views.values())
        out: dict[str, float] = {}
        for name in self.names:
            v = views.get(name)
            if v is None:
                continue
            src = self.cfg.sources[name]
            life = v.horizon_ns if v.horizon_ns > 0 else src.ttl_ns
            if (life is not None and now >= v.ts_event + life) or v.strength < src.min_strength:
                continue
            out[name] = self.value(v)
        return out

    def net(self, instrument: str) -> float:
        """The net view of `instrument` in [-1, 1] after the conflict rule and ``min_net``."""
        live = self.live(instrument)
        num = 0.0
        for name, x in live.items():
            num += self.cfg.sources[name].weight * x
        if self.cfg.conflict == "flat" and any(x > 0 for x in live.values()) and any(x < 0 for x in live.values()):
            return 0.0
        net = num / self.total
        return 0.0 if abs(net) < self.cfg.min_net else net

    def target(self, instrument: str) -> int:
        """The target position of `instrument` in lots."""
        return round(self.cfg.max_qty * self.net(instrument))

    def order(self, sig: SignalRecord, position: int) -> tuple[int, int] | None:
        """Fold `sig`; (side, lots) toward the target holding `position`, or None (superseded, or there)."""
        if not self.fold(sig):
            return None
        return toward(self.target(sig.instrument), position, self.cfg.max_qty)

    def state(self) -> dict[str, Any]:
        """The views and targets, for ``/health`` and logs: {instrument: {target, net, views: {source: {corr_id,
        ts_event, value, live}}}} (``live``: alive and confident, so counted)."""
        out: dict[str, Any] = {}
        for inst, views in sorted(self.views.items()):
            live = self.live(inst)
            out[inst] = {"target": self.target(inst), "net": self.net(inst),
                         "views": {n: {"corr_id": v.corr_id, "ts_event": v.ts_event, "value": self.value(v),
                                       "live": n in live} for n, v in sorted(views.items())}}
        return out


class SignalAggregate(SignalFollow):
    """Replays recorded signals (as `signal_follow` does) through the `Aggregator`."""

    name = "signal_aggregate"
    DEFAULTS: ClassVar[dict[str, Any]] = {"signals": "", "max_qty": 10, "instrument": "", "sources": {},
                                          "conflict": "net", "min_net": 0.0, "ttl": None}

    def __init__(self, signals: str, max_qty: int, instrument: str, sources: dict[str, Any], conflict: str,
                 min_net: float, ttl: str | None) -> None:
        super().__init__(signals, max_qty, instrument)
        self.section = {"sources": sources, "conflict": conflict, "min_net": min_net, "ttl": ttl}
        self.agg = Aggregator(parse_aggregate(Section(self.section, None, f"strategies.{self.name}"), max_qty))

    def params(self) -> dict[str, Any]:
        return {**super().params(), **self.section}

    def decide(self, sig: SignalRecord, position: int) -> tuple[int, int] | None:
        return self.agg.order(sig, position)
