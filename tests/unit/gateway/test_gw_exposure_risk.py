from dataclasses import replace

import pytest
from gwkit import Gw, config
from gwkit import report as rep

from hft.core.errors import ExposureLimitError
from hft.core.orders import (
    BUY,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    R_CANCEL_RATE,
    R_DAILY_LOSS,
    R_EXPOSURE_CARDINALITY,
    R_MAX_ORDER_NOTIONAL,
    R_MAX_ORDER_QTY,
    R_MIN_NOTIONAL,
    R_NO_REFERENCE_PRICE,
    R_NOTIONAL_LIMIT,
    R_OFF_LOT,
    R_OFF_TICK,
    R_OK,
    R_ORDER_PENDING,
    R_POSITION_LIMIT,
    R_PRICE_BAND,
    R_QTY_BELOW_MIN,
    R_REPEAT_THROTTLE,
    R_SELF_MATCH,
    R_SUBMIT_RATE,
    R_UNKNOWN_ORDER,
    R_UNSUPPORTED_TIF,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    SELL,
    STORM_HALT,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway.config import LimitSet, Rate, SymbolSpec
from hft.gateway.intents import ExecutionReport


def test_working_orders_count_and_release():
    g = Gw()
    a = g.new(qty=30)
    b = g.new(qty=20, price=999)
    assert a.accepted and b.accepted
    assert g.new(qty=1, price=998).reason == R_POSITION_LIMIT  # 30 + 20 working = 50 = max
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.position, e.working_buy, e.live_orders) == (0, 50, 2)
    rep(g, a.order_id, REPORT_CANCELED)
    assert g.svc.position("A1", "s1", "AAA").working_buy == 20
    assert g.new(qty=30, price=998).accepted
    rep(g, b.order_id, REPORT_PARTIAL_FILL, 999, 5)
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.position, e.working_buy) == (5, 45)
    rep(g, b.order_id, REPORT_FILL, 999, 15)
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.position, e.working_buy, e.live_orders) == (20, 30, 1)


def test_sell_side_and_expiry_reject_reports():
    g = Gw()
    s = g.new(side=SELL, qty=50, price=1001)
    assert s.accepted and g.new(side=SELL, qty=1, price=1002).reason == R_POSITION_LIMIT
    assert g.new(side=BUY, qty=50, price=999).accepted  # the other side is independent
    rep(g, s.order_id, REPORT_EXPIRED)
    assert g.svc.position("A1", "s1", "AAA").working_sell == 0
    x = g.new(side=SELL, qty=5, price=1001)
    rep(g, x.order_id, REPORT_REJECTED)
    assert g.svc.position("A1", "s1", "AAA").working_sell == 0


def test_notional_limit():
    g = Gw(config(defaults=LimitSet(max_order_qty=100, max_position=100, max_notional=10_000, min_qty=1)))
    assert g.new(qty=10).accepted  # 10 * 1000 = 10_000
    assert g.new(qty=1).reason == R_NOTIONAL_LIMIT


def test_static_and_risk_checks():
    cfg = config(symbols={"AAA": SymbolSpec("AAA", tick_multiple=5, lot_multiple=2),
                          "BBB": SymbolSpec("BBB", limits=LimitSet(min_qty=4, max_order_notional=5000)),
                          "CCC": SymbolSpec("CCC")})
    g = Gw(cfg)
    assert g.new(price=1001, qty=2).reason == R_OFF_TICK
    assert g.new(price=1000, qty=3).reason == R_OFF_LOT
    assert g.new(sym="BBB", qty=2).reason == R_QTY_BELOW_MIN
    assert g.new(sym="BBB", qty=6).reason == R_MAX_ORDER_NOTIONAL
    assert g.new(sym="CCC", qty=101).reason in (R_MAX_ORDER_QTY, R_POSITION_LIMIT)
    assert g.new(sym="CCC", price=1200).reason == R_PRICE_BAND  # band 1000 bps of 1000
    assert g.new(sym="CCC", price=1100).accepted
    assert g.new(sym="CCC", otype=ORDER_MARKET, tif=TIF_GTC).reason == R_UNSUPPORTED_TIF
    assert g.new(sym="CCC", otype=ORDER_POST_ONLY, tif=TIF_IOC).reason == R_UNSUPPORTED_TIF
    assert g.new(sym="CCC", otype=ORDER_MARKET, tif=TIF_IOC, price=0).accepted


def test_min_qty_tightest_is_the_largest_level():
    """A minimum set at several levels: the largest applies (the smallest did, so a strategy's min_qty of 1
    undid a symbol's 4); a maximum keeps the smallest. The config's effective limits say the same."""
    from hft.gateway.config import effective_limits

    cfg = config(strategies={"s1": LimitSet(min_qty=1, max_order_qty=20), "s2": LimitSet()},
                 symbols={"AAA": SymbolSpec("AAA"), "BBB": SymbolSpec("BBB", limits=LimitSet(min_qty=4,
                                                                                             max_order_qty=80))})
    g = Gw(cfg)
    assert g.new(sym="BBB", qty=3, strat="s1").reason == R_QTY_BELOW_MIN
    assert g.new(sym="BBB", qty=4, strat="s1").accepted
    assert g.new(sym="BBB", qty=30, strat="s1").reason == R_MAX_ORDER_QTY  # the strategy's 20 < the symbol's 80
    assert g.new(sym="AAA", qty=1, strat="s1").accepted
    eff = effective_limits(cfg, "A1", "s1", "BBB")
    assert (eff["min_qty"], eff["max_order_qty"]) == (4, 20)


def test_max_order_qty_reason():
    g = Gw(config(defaults=LimitSet(max_order_qty=10, max_position=1000, min_qty=1)))
    assert g.new(qty=11).reason == R_MAX_ORDER_QTY


def test_market_order_needs_reference():
    g = Gw(mark=None)
    assert g.new(otype=ORDER_MARKET, tif=TIF_IOC, price=0).reason == R_NO_REFERENCE_PRICE
    assert g.new(price=1000).accepted  # limit orders need no reference unless configured
    g2 = Gw(config(require_reference_price=True), mark=None)
    assert g2.new(price=1000).reason == R_NO_REFERENCE_PRICE


def test_self_match_prevention_across_strategies():
    g = Gw()
    assert g.new(side=SELL, price=1002, strat="s2").accepted
    assert g.new(side=BUY, price=1002, strat="s1").reason == R_SELF_MATCH
    assert g.new(side=BUY, price=1001, strat="s1").accepted
    assert g.new(side=BUY, price=1002, acct="A2").accepted  # another account may cross
    g2 = Gw(config(self_match_prevention=False))
    g2.new(side=SELL, price=1002)
    assert g2.new(side=BUY, price=1002).accepted


def test_submit_and_cancel_rate_limits():
    cfg = config(strategies={"s1": LimitSet(submit_rate=Rate(3, 1_000_000), cancel_rate=Rate(1, 1_000_000)),
                             "s2": LimitSet()})
    g = Gw(cfg)
    ds = [g.new(price=1000 - i) for i in range(4)]
    assert [d.reason for d in ds] == [R_OK, R_OK, R_OK, R_SUBMIT_RATE]
    assert g.new(strat="s2").accepted  # per strategy
    g.clock.advance(333_334)  # one token back (3 per ms)
    assert g.new(price=990).accepted
    assert g.cancel(ds[0].order_id).accepted
    assert g.cancel(ds[1].order_id).reason == R_CANCEL_RATE
    g.clock.advance(1_000_000)
    assert g.cancel(ds[1].order_id).accepted
    assert g.cancel(ds[1].order_id).reason == R_ORDER_PENDING
    assert g.cancel(12345).reason == R_UNKNOWN_ORDER
    assert g.cancel(ds[2].order_id, strat="s2").reason == R_UNKNOWN_ORDER  # not the owner


def test_repeat_throttle():
    g = Gw(config(defaults=LimitSet(max_order_qty=100, max_position=1000, min_qty=1, max_repeats=2,
                                    repeat_window_ns=1_000)))
    assert [g.new().reason for _ in range(3)] == [R_OK, R_OK, R_REPEAT_THROTTLE]
    assert g.new(qty=2).accepted  # different order
    g.clock.advance(1_000)
    assert g.new().accepted


def _breaker_trips(g: Gw) -> dict[str, float]:
    """gateway_storm_trips_total by level, as /metrics exposes it."""
    from prometheus_client.parser import text_string_to_metric_families

    fam = next(f for f in text_string_to_metric_families(g.svc.metrics_text()) if f.name == "gateway_storm_trips")
    return {s.labels["level"]: s.value for s in fam.samples if s.name == "gateway_storm_trips_total"}


def test_daily_loss_realised_plus_unrealised_trips_storm():
    cfg = config(strategies={"s1": LimitSet(daily_loss=500), "s2": LimitSet()})
    g = Gw(cfg)
    b = g.new(qty=10)
    rep(g, b.order_id, REPORT_FILL, 1000, 10)
    assert g.svc.pnl(strategy="s1") == {"realised": 0, "unrealised": 0, "total": 0}
    flags = g.svc.mark("AAA", 960)  # -400
    assert flags == 0 and g.svc.pnl(strategy="s1")["unrealised"] == -400
    s = g.new(side=SELL, qty=10, price=960)
    rep(g, s.order_id, REPORT_FILL, 960, 10, fee=20)
    assert g.svc.pnl(strategy="s1") == {"realised": -420, "unrealised": 0, "total": -420}
    b2 = g.new(qty=10, price=960)
    rep(g, b2.order_id, REPORT_FILL, 960, 10)
    assert _breaker_trips(g) == {"DEGRADED": 0, "HALT": 0}
    g.svc.mark("AAA", 950)  # total -520 < -500
    assert g.svc.storm_level == STORM_HALT
    g.svc.mark("AAA", 940)  # still past it: the level holds, no second trip
    assert _breaker_trips(g) == {"DEGRADED": 0, "HALT": 1}
    g.svc.reset()
    assert g.new(price=950).reason == R_DAILY_LOSS  # the risk check itself still refuses
    g.svc.new_day()
    assert g.new(price=950).accepted


def test_fee_millionths_are_booked_exactly_and_count_against_the_daily_loss():
    """Fees carry their millionths (`hft.core.money`): 1,000 fills of a 0.4-unit rebate are 400 units, not 0,
    and a loss exactly at the limit plus a millionth owed is past it (the exact PnL, not a rounded one)."""
    cfg = config(strategies={"s1": LimitSet(daily_loss=500), "s2": LimitSet()})
    g = Gw(cfg)
    for _ in range(1000):  # a buy and a sell at the same price: realised 0 but for the fees
        for side in (BUY, SELL):
            d = g.new(side=side, qty=1)
            g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), d.order_id, REPORT_FILL, 1000, 1, 0, -1,
                                                      800_000))  # -1 + 0.8 = -0.2 each
            g.clock.advance(1_000)
    assert g.svc.pnl(strategy="s1") == {"realised": 400, "unrealised": 0, "total": 400}
    assert g.svc.position("A1", "s1", "AAA").realised == 400
    d = g.new(qty=1)  # a fee of 900.5 units: realised -500.5, past the 500 limit by half a unit
    flags = g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), d.order_id, REPORT_FILL, 1000, 1, 0, 900,
                                                      500_000))
    assert g.svc.pnl(strategy="s1")["realised"] == -500  # -500.5 rounded once, half to even
    assert flags and g.svc.storm_level == STORM_HALT  # the exact loss is past the limit


def test_replace_flow():
    g = Gw()
    d = g.new(qty=10)
    r = g.replace(d.order_id, price=999, qty=30)
    assert r.accepted and r.order_id == d.order_id and r.command.action == 3
    # in flight, both the old 10 and the new 30 can still execute: both are reserved
    assert g.svc.position("A1", "s1", "AAA").working_buy == 40
    assert g.replace(d.order_id, price=998, qty=5).reason == R_ORDER_PENDING
    rep(g, d.order_id, REPORT_REPLACED, 999, 0, leaves=30)
    assert g.svc.position("A1", "s1", "AAA").working_buy == 30
    assert g.replace(d.order_id, price=998, qty=5).accepted
    assert g.svc.position("A1", "s1", "AAA").working_buy == 35  # shrink only once acknowledged
    rep(g, d.order_id, REPORT_REPLACED, 998, 0, leaves=5)
    assert g.svc.position("A1", "s1", "AAA").working_buy == 5
    assert g.replace(d.order_id, price=998, qty=46).reason == R_POSITION_LIMIT  # 5 + 46 > 50
    assert g.replace(d.order_id, price=998, qty=45).accepted


def test_replace_racing_a_partial_fill_keeps_the_position_limit():
    """Issue 12: sell 5, replace to 25 under max_position 25, 4 fill in flight, REPLACED leaves 25 (the new
    open size, as the project's venues report it). Reserving max(5, 25) let the sell exposure reach 29."""
    g = Gw(config(defaults=LimitSet(max_order_qty=100, max_position=25, min_qty=1, price_band_bps=1000)))
    d = g.new(side=SELL, qty=5)
    rep(g, d.order_id, REPORT_ACK)
    assert g.replace(d.order_id, price=1000, qty=25).reason == R_POSITION_LIMIT  # 5 open + 25 could both fill
    assert g.svc.position("A1", "s1", "AAA").working_sell == 5
    assert g.replace(d.order_id, price=1000, qty=20).accepted  # 5 + 20 = 25: at the limit
    rep(g, d.order_id, REPORT_PARTIAL_FILL, 1000, 4)
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.position, e.working_sell) == (-4, 21)  # 1 old + 20 new still reserved
    rep(g, d.order_id, REPORT_REPLACED, 1000, 20, leaves=20)
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.position, e.working_sell) == (-4, 20) and e.working_sell - e.position <= 25
    rep(g, d.order_id, REPORT_FILL, 1000, 20)
    assert g.svc.position("A1", "s1", "AAA").position == -24


def test_cancel_during_a_pending_replace_then_replace_rejected_releases_the_new_size():
    g = Gw(config(defaults=LimitSet(max_order_qty=100, max_position=25, min_qty=1, price_band_bps=1000)))
    d = g.new(side=SELL, qty=5)
    assert g.replace(d.order_id, price=1000, qty=15).accepted
    assert g.svc.position("A1", "s1", "AAA").working_sell == 20
    assert g.cancel(d.order_id).accepted  # cancel while the replace is in flight
    assert g.cancel(d.order_id).reason == R_ORDER_PENDING
    rep(g, d.order_id, REPORT_REPLACE_REJECTED)
    assert g.svc.position("A1", "s1", "AAA").working_sell == 5  # was 20: the new size stayed reserved
    rep(g, d.order_id, REPORT_CANCEL_REJECTED)
    assert g.svc.position("A1", "s1", "AAA").working_sell == 5
    assert g.replace(d.order_id, price=1000, qty=20).accepted  # live again: 5 + 20 fits
    # the other order of answers: cancel rejected first, the replace still pending, then REPLACED
    assert g.cancel(d.order_id).accepted
    rep(g, d.order_id, REPORT_CANCEL_REJECTED)
    assert g.replace(d.order_id, price=1000, qty=1).reason == R_ORDER_PENDING  # the replace is still pending
    rep(g, d.order_id, REPORT_REPLACED, 1000, 20, leaves=20)
    assert g.svc.position("A1", "s1", "AAA").working_sell == 20


def test_cardinality_eviction_and_limit():
    g = Gw(config(exposure_max_symbols=2))
    a = g.new(sym="AAA")
    b = g.new(sym="BBB")
    d = g.new(sym="CCC", key=555)
    assert a.accepted and b.accepted and d.reason == R_EXPOSURE_CARDINALITY
    assert g.new(sym="CCC", key=555).duplicate  # committed as rejected: cannot loop
    with pytest.raises(ExposureLimitError):
        g.svc.exposure.slot_for(0, 0, 2)
    rep(g, a.order_id, REPORT_CANCELED)  # AAA slot now zero-balance -> evictable
    assert g.new(sym="CCC").accepted
    assert g.svc.metrics_snapshot()["exposure_evictions"] >= 1


def test_risk_engine_dry_run_has_no_side_effects():
    g = Gw()
    before = g.svc.arena.copy()
    assert g.svc.risk.evaluate(g.clock.now_ns(), 0, 0, 0, BUY, 1000, 5) == R_OK
    assert g.svc.risk.evaluate(g.clock.now_ns(), 0, 0, 0, BUY, 1000, 500) != R_OK
    assert g.new().order_id == 1  # ids not consumed by the dry run
    del before


def test_replace_config_changes_limits():
    g = Gw()
    g.svc.register_strategy("s1", LimitSet(max_position=5))  # update limits at runtime
    assert g.new(qty=6).reason == R_POSITION_LIMIT
    assert replace(config(), enabled=False).enabled is False


def test_min_notional_exchange_filter():
    # value = price x qty x multiplier money units; min 5000: 4 lots at 1000 = 4000 < 5000, 5 lots = 5000 passes
    g = Gw(config(symbols={"AAA": SymbolSpec("AAA", min_notional=5000), "BBB": SymbolSpec("BBB", multiplier=2,
                                                                                          min_notional=5000)}))
    assert g.new(qty=4).reason == R_MIN_NOTIONAL
    assert g.new(qty=5).accepted
    assert g.new(qty=1, price=4999).reason == R_MIN_NOTIONAL
    assert g.new(sym="BBB", qty=3).accepted  # 1000 x 3 x 2 = 6000
    assert g.new(sym="BBB", qty=2).reason == R_MIN_NOTIONAL  # 4000
    # a market order is valued at the reference price (the mark, 1000)
    assert g.new(qty=4, price=0, otype=ORDER_MARKET, tif=TIF_IOC).reason == R_MIN_NOTIONAL
    # the quantity filters come first: a 2-lot order on a symbol with min_qty 4 is QTY_BELOW_MIN
    g2 = Gw(config(symbols={"AAA": SymbolSpec("AAA", min_notional=10**6, limits=LimitSet(min_qty=4))}))
    assert g2.new(qty=2).reason == R_QTY_BELOW_MIN
    assert g2.new(qty=4).reason == R_MIN_NOTIONAL


def test_a_report_array_says_which_reports_were_refused():
    """`on_execution_report_array` returns each report's flags: a fill at price 0 and a report of an unknown
    order are refused (the live order views skip them, `LiveGateway.apply_reports`); the good fill counts."""
    import numpy as np

    from hft.core.orders import EXEC_REPORT_DTYPE, RISK_FLAG_BAD_REPORT, RISK_FLAG_UNKNOWN_ORDER

    g = Gw(config(defaults=LimitSet(max_order_qty=100, max_position=100, min_qty=1)))
    d = g.new(qty=5)
    assert d.accepted
    reps = np.zeros(3, EXEC_REPORT_DTYPE)
    for r, (oid, kind, price, qty, leaves) in zip(reps, [(d.order_id, REPORT_PARTIAL_FILL, 0, 1, 4),
                                                         (999, REPORT_FILL, 1000, 1, 0),
                                                         (d.order_id, REPORT_PARTIAL_FILL, 1000, 2, 3)],
                                                  strict=True):
        r["order_id"], r["kind"], r["price"], r["qty"], r["leaves"] = oid, kind, price, qty, leaves
    flags = g.svc.on_execution_report_array(reps)
    assert flags[0] & RISK_FLAG_BAD_REPORT and flags[1] & RISK_FLAG_UNKNOWN_ORDER and flags[2] == 0
    assert g.svc.position("A1", "s1", "AAA").position == 2
