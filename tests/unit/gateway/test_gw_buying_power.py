"""The buying-power / margin check: an account's cash against the margin its positions and working orders need
(docs/gateway.md, "Buying power"), by hand and against a plain-Python model of the stated rule."""

from dataclasses import replace

import pytest
from gwkit import STRATS, SYMS, Gw, config
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError
from hft.core.orders import (
    BUY,
    R_BUYING_POWER,
    R_OK,
    REASON_NAMES,
    REPORT_CANCELED,
    REPORT_FILL,
    SELL,
)
from hft.gateway.config import (
    UNLIMITED,
    LimitSet,
    diff_limits,
    effective_limits,
    limit_tables,
    parse_config,
    parse_limit_update,
)
from hft.gateway.intents import ExecutionReport

PPM = 1_000_000


def fill(g, oid, price, qty):
    return g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), oid, REPORT_FILL, price, qty, 0, 0))


def cancelled(g, oid):
    return g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), oid, REPORT_CANCELED, 0, 0, 0, 0))


def margin_cfg(cash=10_000, rate=None, **kw):
    """Cash on account A1 only (A2 unchecked); a default margin rate when given; no other limit in the way."""
    base = config(self_match_prevention=False)
    return replace(base, defaults=LimitSet(min_qty=1, margin_rate=rate),
                   accounts={"A1": LimitSet(cash=cash), "A2": LimitSet()}, **kw)


def test_cash_account_buys_what_its_cash_pays_for_and_reducing_orders_pass():
    g = Gw(margin_cfg(cash=10_000))  # margin rate 1.0 (the default): a cash account; marks 1000
    assert REASON_NAMES[R_BUYING_POWER] == "BUYING_POWER"
    b = g.new(side=BUY, qty=10, price=1000)  # 10 x 1000 = 10,000: exactly the cash
    assert b.accepted
    assert g.new(side=BUY, qty=1, price=1000).reason == R_BUYING_POWER  # working buys count
    assert g.new(side=BUY, qty=1, price=1000, strat="s2").reason == R_BUYING_POWER  # the account's, all strategies
    assert g.new(side=BUY, qty=1, price=1000, sym="BBB").reason == R_BUYING_POWER  # and all symbols
    assert g.new(side=BUY, qty=50, price=1000, acct="A2").accepted  # A2 has no cash: no check
    # the worse side E = max(position + working buys, working sells - position) = max(10, 0): a sell of 10
    # leaves it at 10 (either side could fill, not both), one more lot makes it 11
    assert g.new(side=SELL, qty=10, price=1000).accepted
    assert g.new(side=SELL, qty=1, price=1000).reason == R_BUYING_POWER
    fill(g, b.order_id, 1000, 10)  # long 10, working sells 10: E = max(10, 10 - 10) = 10
    assert g.new(side=SELL, qty=10, price=1000).accepted  # closing sells: E = max(10, 20 - 10) = 10
    assert g.new(side=SELL, qty=1, price=1000).reason == R_BUYING_POWER  # max(10, 11)
    assert g.new(side=BUY, qty=1, price=1000).reason == R_BUYING_POWER  # max(11, 10): 11,000
    g.svc.mark("AAA", 900)  # the held part is valued at the mark: 9,000
    assert g.new(side=BUY, qty=1, price=1000).accepted  # 9,000 + 1,000
    assert g.new(side=BUY, qty=1, price=101).reason == R_BUYING_POWER  # 11 x 900 + 101 = 10,001
    assert g.new(side=BUY, qty=1, price=100).accepted  # 10,000


def test_the_increment_is_valued_at_the_order_price_and_rounded_against_the_account():
    g = Gw(margin_cfg(cash=2_000, rate=PPM // 3))  # 0.333333 of the value, rounded up
    assert g.new(side=BUY, qty=6, price=1000).accepted  # ceil(6,000 x 0.333333) = 2,000 (1,999.998 up)
    g2 = Gw(margin_cfg(cash=1_999, rate=PPM // 3))
    assert g2.new(side=BUY, qty=6, price=1000).reason == R_BUYING_POWER
    assert g2.new(side=BUY, qty=6, price=999).accepted  # ceil(5,994 x 0.333333 = 1,997.998) = 1,998
    # the existing part at the mark (1000), the new part at its limit price
    g3 = Gw(margin_cfg(cash=2_100, rate=PPM // 10))
    assert g3.new(side=BUY, qty=10, price=1000).accepted  # 1,000
    assert g3.new(side=BUY, qty=10, price=1100).accepted  # 1,000 + 1,100 = 2,100
    # once working, those 20 lots are valued at the mark: 2,000, so 1 lot at 1,000 fits and one more at 1 not
    assert g3.new(side=BUY, qty=1, price=1000).accepted  # (20,000 + 1,000) x 0.1 = 2,100
    assert g3.new(side=BUY, qty=1, price=1).reason == R_BUYING_POWER  # 2,100.1, rounded up: 2,101


def test_realised_pnl_adds_to_the_cash_and_a_symbol_rate_overrides_the_default():
    base = margin_cfg(cash=10_000, rate=PPM // 2)
    syms = {**base.symbols, "BBB": replace(base.symbols["BBB"], limits=LimitSet(margin_rate=PPM))}
    g = Gw(replace(base, symbols=syms))
    b = g.new(side=BUY, qty=10, price=1000)  # AAA at 0.5: 5,000
    fill(g, b.order_id, 1000, 10)
    assert g.new(side=BUY, qty=5, price=1000, sym="BBB").accepted  # BBB at 1.0: 5,000; 10,000 in all
    assert g.new(side=BUY, qty=1, price=1000, sym="CCC").reason == R_BUYING_POWER
    s = g.new(side=SELL, qty=10, price=1100)  # closes the long: passes (E stays 10)
    assert s.accepted
    fill(g, s.order_id, 1100, 10)  # realised +1,000; AAA flat, BBB's 5 still working
    assert g.svc.pnl(account="A1")["realised"] == 1_000
    assert g.new(side=BUY, qty=12, price=1000, sym="CCC").accepted  # 5,000 + 6,000 <= 10,000 + 1,000


def test_replace_raising_the_size_is_checked_a_cancel_never():
    g = Gw(margin_cfg(cash=10_000))
    o = g.new(side=BUY, qty=8, price=1000)
    # the new size is reserved on top of the old open quantity until the venue answers: 8 + 3 = 11 lots
    assert g.replace(o.order_id, 1000, 3).reason == R_BUYING_POWER
    assert g.replace(o.order_id, 1000, 2).accepted
    g.svc.set_limits(replace(g.svc.config, accounts={"A1": LimitSet(cash=0), "A2": LimitSet()}))
    assert g.cancel(o.order_id).accepted  # no cash at all: a cancel still passes
    assert g.new(side=BUY, qty=1, price=1000).reason == R_BUYING_POWER


def test_exposure_without_a_mark_cannot_be_valued():
    g = Gw(margin_cfg(cash=100_000), mark=None)  # no marks: each order's own symbol at its price
    assert g.new(side=BUY, qty=5, price=1000).accepted
    assert g.new(side=BUY, qty=5, price=1000).accepted  # AAA's working 5 valued at this order's price
    assert g.new(side=BUY, qty=1, price=1000, sym="BBB").reason == R_BUYING_POWER  # AAA has no mark
    g.svc.mark("AAA", 1000)
    assert g.new(side=BUY, qty=1, price=1000, sym="BBB").accepted


def test_config_keys_units_errors_and_runtime_update():
    doc = {"symbols": {"AAA": {"lot_size": "0.01", "money_unit": "0.01 USD", "margin_rate": "20%"},
                       "BBB": {"lot_size": "0.01", "money_unit": "0.01 USD"}},
           "limits": {"defaults": {"margin_rate": 0.5}},
           "accounts": {"A1": {"cash": "2500 USD"}}, "strategies": {"s1": {}}}
    cfg = parse_config(doc, "gw.yaml")
    assert cfg.accounts["A1"].cash == 250_000 and cfg.symbols["AAA"].limits.margin_rate == 200_000
    assert effective_limits(cfg, "A1", "s1", "AAA")["margin_rate"] == 0.2
    assert effective_limits(cfg, "A1", "s1", "BBB")["margin_rate"] == 0.5
    assert effective_limits(cfg, "A1", "s1", "BBB")["cash"] == 250_000
    for where, bad, msg in (
            ("accounts", {"A1": {"cash": -1}}, r"key 'accounts.A1.cash': expected a non-negative"),
            ("accounts", {"A1": {"margin_rate": 0.1}}, r"key 'accounts.A1.margin_rate'"),  # not an account's
            ("symbols", {"AAA": {"margin_rate": 1.5}}, r"key 'symbols.AAA.margin_rate': expected a fraction"),
            ("symbols", {"AAA": {"margin_rate": None}}, r"key 'symbols.AAA.margin_rate': expected a fraction"),
            ("symbols", {"AAA": {"margin_rate": "0.0000001"}}, r"key 'symbols.AAA.margin_rate'"),
            ("strategies", {"s1": {"cash": 5}}, r"key 'strategies.s1.cash'")):  # cash: accounts and defaults only
        with pytest.raises(ConfigError, match=msg) as e:
            parse_config({**doc, where: bad}, "gw.yaml")
        assert "\n" not in str(e.value)
    new = parse_limit_update(cfg, "accounts", "A1", {"cash": 1000})
    new = parse_limit_update(new, "symbols", "AAA", {"margin_rate": "25%"})
    changes = diff_limits(limit_tables(cfg), limit_tables(new))
    assert [(c["path"], c["before"], c["after"]) for c in changes] == [
        ("accounts.A1.cash", 250_000, 1000), ("symbols.AAA.margin_rate", 0.2, 0.25)]
    assert parse_limit_update(cfg, "accounts", "A1", {"cash": None}).accounts["A1"].cash == UNLIMITED


def test_runtime_raise_of_cash_lets_the_order_through_and_metrics_show_it():
    g = Gw(margin_cfg(cash=1_000, rate=PPM // 10))
    assert g.new(side=BUY, qty=10, price=1000).accepted  # 1,000
    assert g.new(side=BUY, qty=1, price=1000).reason == R_BUYING_POWER
    text = g.svc.metrics_text()
    assert 'gateway_cash_limit{account="A1"} 1000.0' in text
    assert 'gateway_margin_required{account="A1"} 1000.0' in text
    assert 'gateway_cash_limit{account="A2"}' not in text  # no cash: no series
    g.svc.set_limits(parse_limit_update(g.svc.config, "accounts", "A1", {"cash": 1_100}))
    assert g.new(side=BUY, qty=1, price=1000).accepted
    assert 'gateway_margin_required{account="A1"} 1100.0' in g.svc.metrics_text()


# ---------------------------------------------------------------- property: the gateway against a model
RATES = st.sampled_from((None, 0, 1, PPM // 10, PPM // 3, PPM // 2, PPM))
PRICES = st.integers(900, 1100)
CASH = st.sampled_from((None, 0, 3_000, 10_000, 40_000))

op = st.one_of(
    st.tuples(st.just("new"), st.sampled_from(("A1", "A1", "A1", "A2")), st.sampled_from(STRATS),
              st.sampled_from(SYMS[:2]), st.sampled_from((BUY, SELL)), st.integers(1, 12), PRICES),
    st.tuples(st.just("fill"), st.integers(0, 40)),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("mark"), st.sampled_from(SYMS), PRICES),
    st.tuples(st.just("cash"), CASH),  # a runtime change: often leaves the account beyond its cash
)


def model_reason(book, marks, rates, default_rate, cash, realised, a, y, side, qty, px):
    """The rule as docs/gateway.md states it, in Python integers: the order raises its symbol's worst side?
    Then the required margin with it against cash + realised PnL."""
    if cash is None:  # (the marks are always set here: every symbol's exposure can be valued)
        return R_OK
    total = 0
    raises = False
    for yy in SYMS:
        rows = [v for (aa, _t, s), v in book.items() if aa == a and s == yy]
        pos = sum(r[0] for r in rows)
        wb = sum(r[1] for r in rows)
        ws = sum(r[2] for r in rows)
        e = max(pos + wb, ws - pos)
        if yy == y:
            e2 = max(pos + wb + (qty if side == BUY else 0), ws + (qty if side == SELL else 0) - pos)
            raises = e2 > e
            value = (marks[yy] or px) * e + px * (e2 - e)
        elif e == 0:
            continue
        else:
            value = marks[yy] * e
        rate = rates[yy] if rates[yy] is not None else (default_rate if default_rate is not None else PPM)
        total += -(-value * rate // PPM)
    if not raises:
        return R_OK
    return R_BUYING_POWER if total > cash + realised else R_OK


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(SYMS), RATES, min_size=3, max_size=3), RATES, CASH,
       st.lists(op, min_size=20, max_size=60))
def test_buying_power_decisions_equal_the_model(rates, default_rate, cash, ops):
    base = margin_cfg(cash=cash, rate=default_rate)
    cfg = replace(base, symbols={y: replace(base.symbols[y], limits=LimitSet(margin_rate=rates[y])) for y in SYMS})
    g = Gw(cfg)
    marks = dict.fromkeys(SYMS, 1000)
    book: dict = {}  # (a, t, y) -> [position, working buys, working sells]
    live: list = []  # [order_id, (a, t, y), side, qty, price]
    for o in ops:
        if o[0] == "new":
            _, a, t, y, side, qty, px = o
            acct_cash = cash if a == "A1" else None
            want = model_reason(book, marks, rates, default_rate, acct_cash, g.svc.pnl(account=a)["realised"],
                                a, y, side, qty, px)
            d = g.new(side=side, qty=qty, price=px, sym=y, strat=t, acct=a)
            assert d.reason == want, (o, book, marks)
            if d.accepted:
                row = book.setdefault((a, t, y), [0, 0, 0])
                row[1 if side == BUY else 2] += qty
                live.append([d.order_id, (a, t, y), side, qty, px])
        elif o[0] == "mark":
            g.svc.mark(o[1], o[2])
            marks[o[1]] = o[2]
        elif o[0] == "cash":
            cash = o[1]
            g.svc.set_limits(replace(g.svc.config, accounts={"A1": LimitSet(cash=cash), "A2": LimitSet()}))
        elif live:
            oid, k, side, qty, px = live.pop(o[1] % len(live))
            row = book[k]
            if o[0] == "fill":
                fill(g, oid, px, qty)
                row[0] += qty if side == BUY else -qty
            else:
                cancelled(g, oid)
            row[1 if side == BUY else 2] -= qty
        g.svc.reset("test")  # a trip (not under test here) must not turn the next orders away
