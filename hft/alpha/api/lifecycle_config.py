"""Thresholds of the lifecycle stages: the ``pool``, ``gate_d``, ``gate_e`` and ``canary`` sections of an alpha's
``config.yaml`` (under ``validation:``, beside gate_a/b/c; every key optional, defaults below).

```yaml
validation:
  pool:                       # `hft alpha pool`: candidate vs the promoted pool
    max_corr: 0.7             # max |Spearman corr| of the candidate with any pool signal, at most
    min_marginal_ic: 0.005    # Spearman IC of the residual (orthogonalised vs the pool) x gate_b.sign, at least
  gate_d:                     # replay through the real gateway (execution strategy: docs/alpha_lifecycle.md)
    replay_config: null       # a replay YAML (hft/sim/replay.py; relative to the alpha folder); null: the repo's
    max_position: 10          # |target position| in lots when the signal is beyond entry_z
    order_size: 1             # lots per order (IOC limit at the opposite touch)
    entry_z: 1.5              # |z| above which the target is +/- max_position
    exit_z: 0.5               # |z| below which the target is 0 (between: keep the current target)
    warmup_rows: 100          # signal rows before the causal z-score is used (no trading before)
    cooldown: 100ms           # local time between two orders
    limits:                   # gateway limits.defaults the strategy runs under (hft/gateway/config.py keys;
                              #   lots / money units, or "0.5" instrument units, "500 USD" currency amounts)
      max_position: 20
      max_order_qty: 5
    min_net_pnl: 0.0          # money units after fees, at least; or a currency amount ("-5 USD"), converted
                              #   exactly by the replay's money unit
    min_sharpe: 0.0           # per equity sample (not annualised), at least
    max_drawdown: null        # money units or a currency amount ("10 USD"), at most (null: no bound)
    min_fill_ratio: 0.5       # filled / submitted lots, at least
    max_reject_rate: 0.01     # rejected / all gateway decisions, at most
    min_orders: 1             # orders sent, at least
  gate_e:                     # risk and capacity
    min_headroom: 0.2         # 1 - peak |position| / gateway max_position, at least
    max_participation: 0.1    # our filled lots / market traded lots, at most
    min_turnover: 0.0         # filled lots / max_position over the replay, at least
    max_turnover: 10000.0     # ... at most
    require_gates: [A, B, C, pool]   # latest verdict of each, for this code hash, must be a pass
    min_approvers: 1          # distinct approvers, at least
  canary:                     # the canary plan written into the promotion YAML
    kill:                     # drawdown and loss: a currency amount ("5 USD"), or a number of money units
      max_drawdown: 1000.0    # money units (1000 = 10 USD on LOBSTER's 0.01 USD unit); "10 USD": a currency amount
      max_loss: 500.0         # money units (loss = -net PnL); "5 USD": converted exactly by the run's money unit
      max_reject_rate: 0.05
      max_slippage_bps: 10.0  # qty-weighted fill price vs the sampled mid at send time, cost positive
    ladder:                   # escalation steps: capital fraction (0, 1], non-decreasing; duration per step
      - {capital_fraction: 0.05, duration: 1h}
      - {capital_fraction: 0.25, duration: 1h}
      - {capital_fraction: 1.0, duration: 1h}
```
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hft.config.strict import Section
from hft.core.errors import ConfigError
from hft.core.units import amount_in_units, parse_amount
from hft.gateway.config import check_limit_defaults

__all__ = ["CanaryKill", "CanaryPlan", "CanaryStep", "GateD", "GateE", "PoolConfig", "format_duration",
           "parse_canary", "parse_gate_d", "parse_gate_e", "parse_pool"]

GATE_NAMES = ("A", "B", "C", "pool", "D", "E", "R")  # R: the trained RL policy's integrity (research/rl)
REQUIRABLE_GATES = ("A", "B", "C", "pool", "R")  # verdicts recorded before promotion, which Gate E can require


@dataclass(frozen=True)
class PoolConfig:
    max_corr: float = 0.7
    min_marginal_ic: float = 0.005


@dataclass(frozen=True)
class GateD:
    replay_config: str | None = None
    max_position: int = 10
    order_size: int = 1
    entry_z: float = 1.5
    exit_z: float = 0.5
    warmup_rows: int = 100
    cooldown: str = "100ms"
    cooldown_ns: int = 100_000_000
    limits: dict[str, Any] = field(default_factory=lambda: {"max_position": 20, "max_order_qty": 5})
    min_net_pnl: float | str = 0.0
    min_sharpe: float = 0.0
    max_drawdown: float | str | None = None
    min_fill_ratio: float = 0.5
    max_reject_rate: float = 0.01
    min_orders: int = 1

    def in_money_units(self, currency: str, money_unit: float, *, where: str = "validation.gate_d") -> GateD:
        """These thresholds with `min_net_pnl` / `max_drawdown` given as currency amounts (``"5 USD"``) in money
        units of the replay (its summary's ``currency`` and ``money_unit``; `CanaryKill.in_money_units`)."""
        return _in_money_units(self, GATE_D_MONEY, currency, money_unit, where)


@dataclass(frozen=True)
class GateE:
    min_headroom: float = 0.2
    max_participation: float = 0.1
    min_turnover: float = 0.0
    max_turnover: float = 10_000.0
    require_gates: tuple[str, ...] = ("A", "B", "C", "pool")
    min_approvers: int = 1


@dataclass(frozen=True)
class CanaryKill:
    """The canary's kill thresholds. `max_drawdown` and `max_loss` are money units (a number: the run's integer
    unit, ``money_unit`` of its summary) or a currency amount (``"5 USD"``), converted exactly into the
    observations' money units when a window is judged (`in_money_units`)."""

    max_drawdown: float | str = 1000.0
    max_loss: float | str = 500.0
    max_reject_rate: float = 0.05
    max_slippage_bps: float = 10.0

    def in_money_units(self, currency: str, money_unit: float, *, where: str = "canary.kill") -> CanaryKill:
        """These thresholds with each currency amount as money units of `money_unit` `currency` (a run summary's
        ``currency`` and ``money_unit``); a `ConfigError` naming ``<where>.<key>``, the amount and the unit when
        the currency differs or the amount is no whole number of units."""
        return _in_money_units(self, MONEY_LIMITS, currency, money_unit, where)


#: The kill thresholds that are money: a number of money units or a currency amount.
MONEY_LIMITS = ("max_drawdown", "max_loss")
#: Gate D's thresholds that are money, the same way.
GATE_D_MONEY = ("min_net_pnl", "max_drawdown")


def _in_money_units(obj: Any, keys: tuple[str, ...], currency: str, money_unit: float, where: str) -> Any:
    """`obj` with each of its `keys` given as a currency amount converted exactly into money units of
    `money_unit` `currency` (`hft.core.units.amount_in_units`: errors name ``<where>.<key>``)."""
    return dataclasses.replace(obj, **{k: float(amount_in_units(v, money_unit, currency, key=f"{where}.{k}"))
                                       for k in keys if isinstance(v := getattr(obj, k), str)})


@dataclass(frozen=True)
class CanaryStep:
    capital_fraction: float
    duration: str
    duration_ns: int


@dataclass(frozen=True)
class CanaryPlan:
    kill: CanaryKill = field(default_factory=CanaryKill)
    ladder: tuple[CanaryStep, ...] = (CanaryStep(0.05, "1h", 3_600_000_000_000),
                                      CanaryStep(0.25, "1h", 3_600_000_000_000),
                                      CanaryStep(1.0, "1h", 3_600_000_000_000))

    @property
    def capital_fraction(self) -> float:
        """The starting capital fraction (ladder step 0)."""
        return self.ladder[0].capital_fraction

    @property
    def duration_ns(self) -> int:
        """The whole plan's duration (sum of the steps)."""
        return sum(s.duration_ns for s in self.ladder)


_DURATION_UNITS = (("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000),
                   ("us", 1_000), ("ns", 1))


def format_duration(ns: int) -> str:
    """The largest exact unit: 3_600_000_000_000 → '1h', 90 s → '90s', 1500 µs → '1500us'."""
    for unit, size in _DURATION_UNITS:
        if ns % size == 0 and ns >= size:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def _fraction(sec: Section, key: str, default: float) -> float:
    v = sec.float(key, default, min_value=0.0)
    if v > 1.0:
        sec.fail(sec.key(key), "a number in [0, 1]", v)
    return v


def parse_pool(sec: Section) -> PoolConfig:
    d = PoolConfig()
    out = PoolConfig(max_corr=_fraction(sec, "max_corr", d.max_corr),
                     min_marginal_ic=sec.float("min_marginal_ic", d.min_marginal_ic))
    sec.done()
    return out


def parse_gate_d(sec: Section) -> GateD:
    d = GateD()
    cooldown = sec.raw("cooldown", d.cooldown)
    cooldown_ns = sec.duration_ns("cooldown", d.cooldown)
    rc = sec.raw("replay_config", d.replay_config)
    if rc is not None and (not isinstance(rc, str) or not rc):
        sec.fail(sec.key("replay_config"), "a replay config path or null", rc)
    limits = sec.raw("limits", d.limits)
    if not isinstance(limits, dict):
        sec.fail(sec.key("limits"), "a mapping of gateway limits (hft/gateway/config.py)", limits)
    limits = check_gateway_limits(limits, sec.file, sec.key("limits"))
    out = GateD(
        replay_config=rc, max_position=sec.int("max_position", d.max_position, min_value=1),
        order_size=sec.int("order_size", d.order_size, min_value=1),
        entry_z=sec.float("entry_z", d.entry_z, min_value=0.0), exit_z=sec.float("exit_z", d.exit_z, min_value=0.0),
        warmup_rows=sec.int("warmup_rows", d.warmup_rows, min_value=2), cooldown=str(cooldown),
        cooldown_ns=cooldown_ns, limits=limits,
        min_net_pnl=_money_limit(sec, "min_net_pnl", d.min_net_pnl, signed=True),
        min_sharpe=sec.float("min_sharpe", d.min_sharpe),
        max_drawdown=None if sec.raw("max_drawdown", None) is None else _money_limit(sec, "max_drawdown", 0.0),
        min_fill_ratio=_fraction(sec, "min_fill_ratio", d.min_fill_ratio),
        max_reject_rate=_fraction(sec, "max_reject_rate", d.max_reject_rate),
        min_orders=sec.int("min_orders", d.min_orders, min_value=0),
    )
    if out.exit_z > out.entry_z:
        sec.fail(sec.key("exit_z"), f"a number <= entry_z ({out.entry_z})", out.exit_z)
    sec.done()
    return out


def parse_gate_e(sec: Section) -> GateE:
    d = GateE()
    req = sec.raw("require_gates", list(d.require_gates))
    if not isinstance(req, list) or not all(isinstance(g, str) and g in REQUIRABLE_GATES for g in req):
        sec.fail(sec.key("require_gates"), f"a list of gates among {', '.join(REQUIRABLE_GATES)}", req)
    out = GateE(
        min_headroom=_fraction(sec, "min_headroom", d.min_headroom),
        max_participation=_fraction(sec, "max_participation", d.max_participation),
        min_turnover=sec.float("min_turnover", d.min_turnover, min_value=0.0),
        max_turnover=sec.float("max_turnover", d.max_turnover, min_value=0.0),
        require_gates=tuple(dict.fromkeys(req)), min_approvers=sec.int("min_approvers", d.min_approvers,
                                                                       min_value=0),
    )
    if out.max_turnover < out.min_turnover:
        sec.fail(sec.key("max_turnover"), f"a number >= min_turnover ({out.min_turnover})", out.max_turnover)
    sec.done()
    return out


def parse_canary(sec: Section) -> CanaryPlan:
    """The canary plan (also used for the ``canary:`` section of a promotion YAML, with `Section` paths)."""
    d = CanaryPlan()
    ks = sec.section("kill", {})
    dk = d.kill
    kill = CanaryKill(max_drawdown=_money_limit(ks, "max_drawdown", dk.max_drawdown),
                      max_loss=_money_limit(ks, "max_loss", dk.max_loss),
                      max_reject_rate=_fraction(ks, "max_reject_rate", dk.max_reject_rate),
                      max_slippage_bps=ks.float("max_slippage_bps", dk.max_slippage_bps, min_value=0.0))
    ks.done()
    raw = sec.raw("ladder", None)
    if raw is None:
        ladder = d.ladder
    else:
        if not isinstance(raw, list) or not raw:
            sec.fail(sec.key("ladder"), "a non-empty list of {capital_fraction, duration}", raw)
        steps = []
        for i, item in enumerate(raw):
            st = Section(item, sec.file, f"{sec.key('ladder')}[{i}]")
            frac = st.float("capital_fraction")
            if not 0.0 < frac <= 1.0:
                st.fail(st.key("capital_fraction"), "a number in (0, 1]", frac)
            dur = st.raw("duration")
            ns = st.duration_ns("duration")
            if ns <= 0:
                st.fail(st.key("duration"), "a positive duration", dur)
            st.done()
            if steps and frac < steps[-1].capital_fraction:
                st.fail(st.key("capital_fraction"), f"a fraction >= the previous step's "
                         f"({steps[-1].capital_fraction})", frac)
            steps.append(CanaryStep(frac, format_duration(ns), ns))
        ladder = tuple(steps)
    return CanaryPlan(kill, ladder)


def _money_limit(sec: Section, key: str, default: float | str, *, signed: bool = False) -> float | str:
    """A money threshold: a number of money units (as ever; >= 0 unless `signed`), or a currency amount
    ``"5 USD"`` kept as written (amount, one space, currency in upper case) until the run's (or observations')
    money unit converts it."""
    raw = sec.raw(key, default)
    if not isinstance(raw, str):
        return sec.float(key, default, min_value=None if signed else 0.0)
    try:
        amount, ccy = parse_amount(raw, key=sec.key(key))
    except ConfigError:
        sec.fail(sec.key(key), "money units (a number) or a currency amount like '5 USD'", raw)
    if amount < 0 and not signed:
        sec.fail(sec.key(key), "an amount >= 0", raw)
    return f"{amount} {ccy}"


def canary_to_dict(plan: CanaryPlan) -> dict[str, Any]:
    """The plan as written into a promotion YAML (derived ``capital_fraction`` / ``duration`` included)."""
    return {"capital_fraction": plan.capital_fraction, "duration": format_duration(plan.duration_ns),
            "kill": {"max_drawdown": plan.kill.max_drawdown, "max_loss": plan.kill.max_loss,
                     "max_reject_rate": plan.kill.max_reject_rate,
                     "max_slippage_bps": plan.kill.max_slippage_bps},
            "ladder": [{"capital_fraction": s.capital_fraction, "duration": s.duration} for s in plan.ladder]}


def check_gateway_limits(limits: Any, file: str, key: str) -> dict[str, Any]:
    """Validate gateway ``limits.defaults`` keys with the gateway's own parser (a limit in instrument units or
    currency for its form: the replayed instrument converts it); errors name `file` and `key`."""
    if not isinstance(limits, dict):
        raise ConfigError(f"{file}: key '{key}': expected a mapping of gateway limits, was {limits!r}", file=file,
                          key=key)
    check_limit_defaults(Section(dict(limits), file, key))
    return dict(limits)
