"""The submit rate over several windows, per strategy and per account (docs/gateway.md, "Rates over several
windows"), against a plain-Python model of the token buckets."""

from dataclasses import replace
from fractions import Fraction

import pytest
from gwkit import ACCTS, STRATS, Gw, config
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError
from hft.core.orders import (
    BUY,
    R_ACCOUNT_SUBMIT_RATE,
    R_ACCOUNT_SUBMIT_RATE_2,
    R_OK,
    R_SUBMIT_RATE,
    R_SUBMIT_RATE_2,
)
from hft.gateway.config import (
    LimitSet,
    Rate,
    diff_limits,
    effective_limits,
    limit_tables,
    limit_text,
    parse_config,
    parse_limit_update,
)

MS = 1_000_000


def test_two_windows_each_refuse_with_their_own_reason():
    cfg = config(strategies={"s1": LimitSet(submit_rate=(Rate(2, MS), Rate(3, 10 * MS))), "s2": LimitSet()},
                 defaults=replace(config().defaults, max_position=1000))
    g = Gw(cfg)
    assert [g.new(price=1000 - i).reason for i in range(3)] == [R_OK, R_OK, R_SUBMIT_RATE]  # 2 per ms
    g.clock.advance(MS)  # the short window is full again; the long one holds 3 - 2 - (3 / 10 back) = 1.3
    assert [g.new(price=990 - i).reason for i in range(2)] == [R_OK, R_SUBMIT_RATE_2]
    assert g.new(strat="s2").accepted  # another strategy's buckets are its own


def test_the_account_budget_applies_across_its_strategies():
    cfg = config(accounts={"A1": LimitSet(submit_rate=(Rate(10, MS), Rate(3, 10 * MS))), "A2": LimitSet()},
                 defaults=replace(config().defaults, max_position=1000))
    g = Gw(cfg)
    assert [g.new(strat=s, price=1000 - i).reason for i, s in enumerate(("s1", "s2", "s1", "s2"))] == [
        R_OK, R_OK, R_OK, R_ACCOUNT_SUBMIT_RATE_2]
    assert g.new(acct="A2").accepted
    cfg = config(accounts={"A1": LimitSet(submit_rate=Rate(1, MS)), "A2": LimitSet()})
    g = Gw(cfg)
    assert [g.new(strat=s, price=1000 - i).reason for i, s in enumerate(("s1", "s2"))] == [R_OK, R_ACCOUNT_SUBMIT_RATE]


def test_config_forms_errors_admin_update_and_texts():
    doc = {"accounts": {"ACC1": {"submit_rate": [{"count": 1000, "per": "1m"}, {"count": 100, "per": "1s"}]}},
           "strategies": {"s1": {"submit_rate": {"count": 5, "per": "1s"}}}, "symbols": {"X": {}}}
    cfg = parse_config(doc, "gw.yaml")
    assert cfg.accounts["ACC1"].submit_rate == (Rate(100, 10**9), Rate(1000, 60 * 10**9))  # shortest first
    eff = effective_limits(cfg, "ACC1", "s1", "X")
    assert eff["submit_rate"] == {"count": 5, "window_ns": 10**9}
    assert limit_text(eff["submit_rate_account"]) == "100/1s + 1000/60s"
    for bad, key in (([{"count": 1, "per": "1s"}] * 3, "accounts.ACC1.submit_rate"),
                     ([{"count": 1, "per": "1s"}, {"count": 2, "per": "1s"}], "accounts.ACC1.submit_rate"),
                     ([{"count": 1, "per": "1s"}, {"count": -2, "per": "1m"}], "accounts.ACC1.submit_rate[1].count"),
                     ([{"count": 1, "per": "1s"}, 5], "accounts.ACC1.submit_rate[1]")):
        with pytest.raises(ConfigError, match=rf"^gw.yaml: key '{key.replace('[', '.').replace(']', '.')}'") as e:
            parse_config({**doc, "accounts": {"ACC1": {"submit_rate": bad}}}, "gw.yaml")
        assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match=r"key 'strategies.s1.cancel_rate'"):  # one window only
        parse_config({**doc, "strategies": {"s1": {"cancel_rate": [{"count": 1, "per": "1s"}] * 2}}}, "gw.yaml")
    new = parse_limit_update(cfg, "accounts", "ACC1", {"submit_rate": [{"count": 50, "per": "1s"},
                                                                        {"count": 500, "per": "1m"}]})
    changes = diff_limits(limit_tables(cfg), limit_tables(new))
    assert [(c["path"], limit_text(c["before"]), limit_text(c["after"])) for c in changes] == [
        ("accounts.ACC1.submit_rate", "100/1s + 1000/60s", "50/1s + 500/60s")]


def test_a_strategy_rate_of_one_window_replaces_a_default_of_two():
    cfg = config(defaults=replace(config().defaults, max_position=1000, submit_rate=(Rate(5, MS), Rate(1, 10 * MS))),
                 strategies={"s1": LimitSet(submit_rate=Rate(3, MS)), "s2": LimitSet()})
    g = Gw(cfg)
    assert [g.new(price=1000 - i).reason for i in range(4)] == [R_OK, R_OK, R_OK, R_SUBMIT_RATE]
    assert [g.new(strat="s2", price=1000 - i).reason for i in range(2)] == [R_OK, R_SUBMIT_RATE_2]


# ---------------------------------------------------------------- property: the gateway against a model
WINDOW = st.one_of(st.none(), st.lists(st.tuples(st.integers(1, 4), st.integers(1, 8)), min_size=1, max_size=2,
                                       unique_by=lambda w: w[1]))


def as_rate(ws):
    rates = tuple(sorted((Rate(c, w * MS) for c, w in ws), key=lambda r: r.window_ns))
    return rates[0] if len(rates) == 1 else rates


class Bucket:
    """At most `count` per `window` ns: tokens refill continuously (count per window), up to `count`."""

    def __init__(self, count, window):
        self.count, self.window, self.tokens, self.last = count, window, Fraction(count), None

    def ok(self, now):
        if self.last is not None:
            self.tokens = min(Fraction(self.count), self.tokens + Fraction((now - self.last) * self.count, self.window))
        self.last = now
        return self.tokens >= 1


@settings(max_examples=60, deadline=None)
@given(WINDOW, st.fixed_dictionaries({s: WINDOW for s in STRATS}), st.fixed_dictionaries({a: WINDOW for a in ACCTS}),
       st.lists(st.tuples(st.integers(0, 3 * MS), st.sampled_from(ACCTS), st.sampled_from(STRATS)), max_size=40))
def test_submit_decisions_equal_the_model(default, strats, accts, stream):
    base = config()
    cfg = replace(base, defaults=replace(base.defaults, max_position=10_000, max_order_qty=10_000,
                                         **({"submit_rate": as_rate(default)} if default else {})),
                  strategies={s: LimitSet(submit_rate=as_rate(w) if w else None) for s, w in strats.items()},
                  accounts={a: LimitSet(submit_rate=as_rate(w) if w else None) for a, w in accts.items()})
    g = Gw(cfg)

    def buckets(ws):
        return [Bucket(c, w * MS) for c, w in sorted(ws, key=lambda x: x[1])] if ws else []
    model = {("s", s): buckets(strats[s] or default) for s in STRATS} | {("a", a): buckets(accts[a]) for a in ACCTS}
    for dt, a, t in stream:
        g.clock.advance(dt)
        now = g.clock.now_ns()
        want = R_OK
        for who, reasons in ((("s", t), (R_SUBMIT_RATE, R_SUBMIT_RATE_2)),
                             (("a", a), (R_ACCOUNT_SUBMIT_RATE, R_ACCOUNT_SUBMIT_RATE_2))):
            for b, reason in zip(model[who], reasons, strict=False):
                if want == R_OK and not b.ok(now):
                    want = reason
        if want == R_OK:
            for b in model[("s", t)] + model[("a", a)]:
                b.tokens -= 1
        assert g.new(side=BUY, acct=a, strat=t, price=990).reason == want


def test_metrics_show_each_limited_window_and_what_it_would_take_now():
    cfg = config(accounts={"A1": LimitSet(submit_rate=(Rate(10, MS), Rate(3, 10 * MS))), "A2": LimitSet()},
                 strategies={"s1": LimitSet(submit_rate=Rate(5, MS)), "s2": LimitSet()})
    g = Gw(cfg)
    g.new(price=999)
    g.new(price=998)
    text = g.svc.metrics_text()
    for series, v in (('gateway_submit_rate_limit{level="account",name="A1",window="0.01s"}', 3),
                      ('gateway_submit_rate_available{level="account",name="A1",window="0.01s"}', 1),
                      ('gateway_submit_rate_available{level="account",name="A1",window="0.001s"}', 8),
                      ('gateway_submit_rate_available{level="strategy",name="s1",window="0.001s"}', 3)):
        assert f"{series} {v:.1f}" in text
    assert 'name="A2"' not in text and 'name="s2"' not in text  # unlimited: no series
    g.clock.advance(10 * MS)
    assert 'gateway_submit_rate_available{level="account",name="A1",window="0.01s"} 3.0' in g.svc.metrics_text()


def test_a_rate_changed_at_runtime_keeps_the_tokens_its_buckets_held():
    cfg = config(strategies={"s1": LimitSet(submit_rate=Rate(3, 10 * MS)), "s2": LimitSet()},
                 defaults=replace(config().defaults, max_position=1000))
    g = Gw(cfg)
    assert g.new(price=999).accepted and g.new(price=998).accepted  # 1 token left
    hour = 3600 * 10**9
    g.svc.set_limits(parse_limit_update(g.svc.config, "strategies", "s1",
                                        {"submit_rate": [{"count": 5, "per": "1h"}, {"count": 9, "per": "2h"}]}))
    assert [g.new(price=990 - i).reason for i in range(2)] == [R_OK, R_SUBMIT_RATE]  # the 1 kept, none more
    g.svc.set_limits(parse_limit_update(g.svc.config, "accounts", "A1", {"submit_rate": {"count": 2, "per": "1h"}}))
    assert [g.new(strat="s2", price=980 - i).reason for i in range(3)] == [R_OK, R_OK, R_ACCOUNT_SUBMIT_RATE]
    g.clock.advance(hour // 2)  # the account's bucket: one back; the strategy's first window: 2.5 back
    assert [g.new(price=970 - i).reason for i in range(2)] == [R_OK, R_ACCOUNT_SUBMIT_RATE]
