"""max_long / max_short: the long and the short side limited apart (docs/gateway.md, "Long and short apart"),
against a plain-Python model of the rule."""

from dataclasses import replace

import pytest
from gwkit import ACCTS, STRATS, SYMS, Gw, config
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError
from hft.core.orders import (
    BUY,
    R_LONG_LIMIT,
    R_OK,
    R_POSITION_LIMIT,
    R_SHORT_LIMIT,
    REPORT_CANCELED,
    REPORT_FILL,
    SELL,
    STORM_NORMAL,
)
from hft.gateway.config import (
    UNLIMITED,
    LimitSet,
    diff_limits,
    limit_tables,
    parse_config,
    parse_limit_update,
)
from hft.gateway.intents import ExecutionReport

BUY_PX, SELL_PX = 990, 1010  # never crossing each other (no self-match in these streams)


def fill(g, oid, price, qty):
    return g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), oid, REPORT_FILL, price, qty, 0, 0))


def test_long_and_short_are_limited_apart():
    g = Gw(config(defaults=LimitSet(max_order_qty=100, max_position=50, min_qty=1, price_band_bps=1000,
                                    max_long=10, max_short=4)))
    assert g.new(side=BUY, qty=10, price=BUY_PX).accepted
    assert g.new(side=BUY, qty=1, price=BUY_PX).reason == R_LONG_LIMIT  # working buys count
    assert g.new(side=SELL, qty=4, price=SELL_PX).accepted
    assert g.new(side=SELL, qty=1, price=SELL_PX).reason == R_SHORT_LIMIT
    assert g.new(side=SELL, qty=60, price=SELL_PX).reason == R_POSITION_LIMIT  # max_position is checked first


def test_long_only_book_sells_what_it_holds_and_no_more():
    # max_short 0 on the account: a sell may close the long position, never open a short
    g = Gw(config(accounts={"A1": LimitSet(max_short=0), "A2": LimitSet()}))
    b = g.new(side=BUY, qty=5, price=BUY_PX)
    assert g.new(side=SELL, qty=1, price=SELL_PX).reason == R_SHORT_LIMIT  # flat: a sell would go short
    fill(g, b.order_id, BUY_PX, 5)
    s = g.new(side=SELL, qty=5, price=SELL_PX)
    assert s.accepted
    assert g.new(side=SELL, qty=1, price=SELL_PX).reason == R_SHORT_LIMIT  # working sells count
    g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), s.order_id, REPORT_CANCELED, 0, 0, 0, 0))
    assert g.new(side=SELL, qty=5, price=SELL_PX).accepted
    assert g.new(side=SELL, qty=1, price=SELL_PX, acct="A2").accepted  # another account is not long-only


def test_tightest_level_applies_and_a_fill_beyond_is_a_position_breach():
    g = Gw(config(strategies={"s1": LimitSet(max_long=8), "s2": LimitSet()},
                  symbols={**config().symbols, "AAA": replace(config().symbols["AAA"], limits=LimitSet(max_long=3))}))
    assert g.new(side=BUY, qty=4, price=BUY_PX).reason == R_LONG_LIMIT  # the symbol's 3 is tighter than 8
    assert g.new(side=BUY, qty=4, price=BUY_PX, sym="BBB").accepted
    o = g.new(side=BUY, qty=3, price=BUY_PX)
    assert g.svc.storm_level == STORM_NORMAL
    fill(g, o.order_id, BUY_PX, 4)  # a venue filled more than the order: the position is beyond max_long
    assert g.svc.storm_level != STORM_NORMAL


def test_config_levels_units_errors_and_runtime_update():
    doc = {"symbols": {"AAA": {"lot_size": "0.01", "money_unit": "0.01 USD", "max_short": "0.05"}},
           "accounts": {"A1": {"max_long": "3 lots"}}, "strategies": {"s1": {}}}
    cfg = parse_config(doc, "gw.yaml")
    assert cfg.symbols["AAA"].limits.max_short == 5 and cfg.accounts["A1"].max_long == 3
    with pytest.raises(ConfigError, match=r"^gw.yaml: key 'accounts.A1.max_long': expected a non-negative") as e:
        parse_config({**doc, "accounts": {"A1": {"max_long": -1}}}, "gw.yaml")
    assert "\n" not in str(e.value)
    new = parse_limit_update(cfg, "accounts", "A1", {"max_long": None, "max_short": 2})
    assert new.accounts["A1"].max_long == UNLIMITED and new.accounts["A1"].max_short == 2
    changes = diff_limits(limit_tables(cfg), limit_tables(new))
    assert [(c["path"], c["before"], c["after"]) for c in changes] == [
        ("accounts.A1.max_long", 3, None), ("accounts.A1.max_short", "inherit", 2)]


# ---------------------------------------------------------------- property: the gateway against a model
LEVEL_LIMIT = st.one_of(st.none(), st.integers(0, 25))


@st.composite
def limit_levels(draw):
    def ls():
        return {"max_position": draw(LEVEL_LIMIT), "max_long": draw(LEVEL_LIMIT), "max_short": draw(LEVEL_LIMIT)}
    return {"defaults": ls(), "accounts": {a: ls() for a in ACCTS}, "strategies": {s: ls() for s in STRATS},
            "symbols": {y: ls() for y in SYMS}}


op = st.one_of(
    st.tuples(st.just("new"), st.sampled_from(ACCTS), st.sampled_from(STRATS), st.sampled_from(SYMS[:2]),
              st.sampled_from((BUY, SELL)), st.integers(1, 12)),
    st.tuples(st.just("fill"), st.integers(0, 40)),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
)


def model_limit(levels, name, a, t, y):
    """The tightest value set at the account, strategy or symbol, else the default (None: unlimited)."""
    set_ = [v for v in (levels["accounts"][a][name], levels["strategies"][t][name], levels["symbols"][y][name])
            if v is not None]
    return min(set_) if set_ else levels["defaults"][name]


def model_reason(levels, book, a, t, y, side, qty):
    pos, wbuy, wsell = book.get((a, t, y), (0, 0, 0))
    worst = pos + wbuy + qty if side == BUY else wsell + qty - pos
    for name, reason in (("max_position", R_POSITION_LIMIT),
                         ("max_long" if side == BUY else "max_short", R_LONG_LIMIT if side == BUY else R_SHORT_LIMIT)):
        lim = model_limit(levels, name, a, t, y)
        if lim is not None and worst > lim:
            return reason
    return R_OK


def as_set(d):
    return LimitSet(**{k: v for k, v in d.items() if v is not None})


@settings(max_examples=60, deadline=None)
@given(limit_levels(), st.lists(op, max_size=40))
def test_long_short_and_position_decisions_equal_the_model(levels, ops):
    base = config()
    defaults = LimitSet(max_order_qty=100, min_qty=1, price_band_bps=1000,
                        **{k: (UNLIMITED if v is None else v) for k, v in levels["defaults"].items()})
    cfg = replace(base, defaults=defaults, accounts={a: as_set(levels["accounts"][a]) for a in ACCTS},
                  strategies={s: as_set(levels["strategies"][s]) for s in STRATS},
                  symbols={y: replace(base.symbols[y], limits=as_set(levels["symbols"][y])) for y in SYMS})
    g = Gw(cfg)
    book: dict = {}  # (a, t, y) -> (position, working buys, working sells)
    live: list = []  # [order_id, (a, t, y), side, open qty]
    for o in ops:
        if o[0] == "new":
            _, a, t, y, side, qty = o
            want = model_reason(levels, book, a, t, y, side, qty)
            d = g.new(side=side, qty=qty, price=BUY_PX if side == BUY else SELL_PX, sym=y, strat=t, acct=a)
            assert d.reason == want, (o, book.get((a, t, y)))
            if d.accepted:
                pos, wb, ws = book.get((a, t, y), (0, 0, 0))
                book[(a, t, y)] = (pos, wb + qty, ws) if side == BUY else (pos, wb, ws + qty)
                live.append([d.order_id, (a, t, y), side, qty])
        elif live:
            oid, k, side, qty = live.pop(o[1] % len(live))
            pos, wb, ws = book[k]
            if o[0] == "fill":
                fill(g, oid, BUY_PX if side == BUY else SELL_PX, qty)
                pos += qty if side == BUY else -qty
            else:
                g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), oid, REPORT_CANCELED, 0, 0, 0, 0))
            book[k] = (pos, wb - qty, ws) if side == BUY else (pos, wb, ws - qty)
            g.svc.reset("test")  # a breach trip (not under test here) must not turn the next orders away


def test_metrics_show_the_long_and_short_limits_of_each_entry_in_use():
    g = Gw(config(accounts={"A1": LimitSet(max_long=7), "A2": LimitSet()},
                  strategies={"s1": LimitSet(max_short=2), "s2": LimitSet()}))
    g.new(side=BUY, qty=3, price=BUY_PX)
    g.new(side=BUY, qty=3, price=BUY_PX, acct="A2", strat="s2")
    text = g.svc.metrics_text()
    assert 'gateway_long_limit{account="A1",strategy="s1",symbol="AAA"} 7.0' in text
    assert 'gateway_short_limit{account="A1",strategy="s1",symbol="AAA"} 2.0' in text
    assert 'gateway_long_limit{account="A2"' not in text  # unlimited: no series
