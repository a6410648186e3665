"""The L2 simulated venue (`hft.sim.exchange_l2`): hand-computed cases for every rule, and invariants."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.book.l2 import new_book, set_level
from hft.core.dtypes import BUY, SELL
from hft.core.errors import SimError
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    REPORT_CANCELED,
    REPORT_FILL,
    REPORT_KIND_NAMES,
    REPORT_PARTIAL_FILL,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
)
from hft.sim.exchange_l2 import (
    LIQ_MAKER,
    LIQ_TAKER,
    LIQUIDITY_NAMES,
    MODE_ALL_OR_NONE,
    MODE_NO_PARTIAL_FILL,
    MODE_PARTIAL_FILL,
    L2Venue,
)
from hft.sim.fees import FeeSchedule
from hft.sim.queue_models import parse_queue_model

LIM, MKT, PO = ORDER_LIMIT, ORDER_MARKET, ORDER_POST_ONLY


def venue(mode=MODE_PARTIAL_FILL, qm="risk_averse", bids=((1000, 10), (999, 10)), asks=((1001, 10), (1002, 10)),
          fees=FeeSchedule(-200, 500, 0)):
    b = new_book(900, 1100, 900, 1100)
    for p, q in bids:
        set_level(b, BUY, p, q)
    for p, q in asks:
        set_level(b, SELL, p, q)
    return L2Venue(b, parse_queue_model(qm), mode, fees, capacity=16)


def rows(reps):
    """(kind, id, price, qty, leaves, liquidity, exact fee) per report."""
    return [(REPORT_KIND_NAMES[int(r["kind"])], int(r["order_id"]), int(r["price"]), int(r["qty"]),
             int(r["leaves"]), LIQUIDITY_NAMES[int(r["liquidity"])],
             int(r["fee"]) + Fraction(int(r["fee_frac"]), 1_000_000)) for r in reps]


def test_rest_front_and_queue_advance_by_trades():
    v = venue()
    assert rows(v.new(1, 7, BUY, 1000, 4, LIM, TIF_GTC)) == [("ack", 7, 1000, 0, 4, "", 0)]
    assert v.working()[7]["front"] == 10.0  # the displayed quantity at arrival
    assert rows(v.trade(2, SELL, 1000, 6)) == []
    assert v.working()[7]["front"] == 4.0
    assert rows(v.depth(3, BUY, 1000, 2)) == []  # risk-averse: cancels only cap the front
    assert v.working()[7]["front"] == 2.0
    # 3 trade: front -1 -> 1 lot (maker, fee 1000 * 1 * -200 / 1e6 = -0.2, exactly: a rebate below one unit)
    assert rows(v.trade(4, SELL, 1000, 3)) == [("partial_fill", 7, 1000, 1, 3, "maker", Fraction("-0.2"))]
    assert rows(v.trade(5, SELL, 1000, 2)) == [("partial_fill", 7, 1000, 2, 1, "maker", Fraction("-0.4"))]
    assert rows(v.trade(6, SELL, 1000, 50)) == [("fill", 7, 1000, 1, 0, "maker", Fraction("-0.2"))]
    assert v.working() == {}


def test_only_passive_side_trades_at_our_price_count():
    v = venue()
    v.new(1, 1, BUY, 1000, 4, LIM, TIF_GTC)
    assert rows(v.trade(2, BUY, 1000, 50)) == []  # a buy aggressor does not trade against bids
    # trade-through; maker fee 4000 * -200 / 1e6 = -0.8
    assert rows(v.trade(2, SELL, 999, 1)) == [("fill", 1, 1000, 4, 0, "maker", Fraction("-0.8"))]


def test_trade_through_sell_side():
    v = venue()
    v.new(1, 2, SELL, 1002, 3, LIM, TIF_GTC)
    assert rows(v.trade(2, BUY, 1002, 5)) == []  # 10 ahead at 1002
    assert rows(v.trade(3, BUY, 1003, 1)) == [("fill", 2, 1002, 3, 0, "maker", Fraction("-0.6012"))]


def test_cross_by_opposite_side():
    v = venue()
    v.new(1, 1, BUY, 1000, 2, LIM, TIF_GTC)
    v.new(1, 2, SELL, 1002, 2, LIM, TIF_GTC)
    assert rows(v.depth(2, SELL, 1001, 0)) == []  # best ask 1002 > 1000
    assert rows(v.depth(3, BUY, 1000, 0)) == []
    assert rows(v.depth(4, SELL, 1000, 5)) == [("fill", 1, 1000, 2, 0, "maker", Fraction("-0.4"))]
    # the bid side rising to 1002 crosses our 1002 offer
    assert rows(v.depth(5, BUY, 1002, 1)) == [("fill", 2, 1002, 2, 0, "maker", Fraction("-0.4008"))]


def test_post_only():
    v = venue()
    assert rows(v.new(1, 1, BUY, 1001, 1, PO, TIF_GTC)) == [("rejected", 1, 1001, 0, 0, "", 0)]
    assert rows(v.new(1, 2, SELL, 1000, 1, PO, TIF_GTC)) == [("rejected", 2, 1000, 0, 0, "", 0)]
    assert rows(v.new(1, 3, BUY, 1000, 1, PO, TIF_GTC)) == [("ack", 3, 1000, 0, 1, "", 0)]
    assert 3 in v.working()


def test_marketable_limit_walks_and_rests():
    v = venue(asks=((1001, 3), (1002, 4), (1003, 10)), fees=FeeSchedule(0, 500, 0))
    assert rows(v.new(1, 1, BUY, 1002, 9, LIM, TIF_GTC)) == [
        ("ack", 1, 1002, 0, 9, "", 0),
        ("partial_fill", 1, 1001, 3, 6, "taker", Fraction("1.5015")),  # 3003 * 500 / 1e6
        ("partial_fill", 1, 1002, 4, 2, "taker", Fraction("2.004")),  # 4008 * 0.0005
    ]
    assert v.working()[1]["leaves"] == 2
    assert v.working()[1]["front"] == 0.0  # nothing displayed on the bid side at 1002


def test_market_order_walks_then_expires():
    v = venue(bids=((1000, 5), (999, 2)))
    assert rows(v.new(1, 1, SELL, 0, 10, MKT, TIF_IOC)) == [
        ("ack", 1, 0, 0, 10, "", 0),
        ("partial_fill", 1, 1000, 5, 5, "taker", Fraction("2.5")),  # 5000 * 0.0005 (no rounding per fill)
        ("partial_fill", 1, 999, 2, 3, "taker", Fraction("0.999")),
        ("expired", 1, 0, 0, 0, "", 0),
    ]
    assert v.working() == {}


def test_consumed_liquidity_not_taken_twice_until_the_level_updates():
    v = venue(asks=((1001, 3), (1002, 10)))
    v.new(1, 1, BUY, 1001, 3, LIM, TIF_IOC)
    # 1001 is used up: an IOC at 1001 finds nothing (not marketable) and expires
    assert rows(v.new(2, 2, BUY, 1001, 1, LIM, TIF_IOC)) == [("ack", 2, 1001, 0, 1, "", 0),
                                                              ("expired", 2, 1001, 0, 0, "", 0)]
    v.depth(3, SELL, 1001, 3)  # the level updates: fresh liquidity
    assert [r[0] for r in rows(v.new(4, 3, BUY, 1001, 1, LIM, TIF_IOC))] == ["ack", "fill"]


def test_fok_all_or_nothing():
    v = venue(asks=((1001, 3), (1002, 4)))
    assert [r[0] for r in rows(v.new(1, 1, BUY, 1002, 8, LIM, TIF_FOK))] == ["ack", "expired"]
    assert [r[0] for r in rows(v.new(1, 2, BUY, 1002, 7, LIM, TIF_FOK))] == ["ack", "partial_fill", "fill"]


def test_all_or_none_mode():
    v = venue(MODE_ALL_OR_NONE, bids=((1000, 5),), asks=((1001, 3), (1002, 10)))
    assert [r[0] for r in rows(v.new(1, 1, BUY, 1002, 5, LIM, TIF_IOC))] == ["ack", "expired"]
    assert [r[0] for r in rows(v.new(1, 2, BUY, 1002, 5, LIM, TIF_GTC))] == ["ack", "expired"]  # cannot rest
    assert rows(v.new(1, 3, BUY, 1001, 2, LIM, TIF_IOC))[1][:6] == ("fill", 3, 1001, 2, 0, "taker")
    # 2 of the 3 lots at 1001 are consumed: 2 more do not fit there
    assert [r[0] for r in rows(v.new(1, 5, BUY, 1001, 2, LIM, TIF_IOC))] == ["ack", "expired"]
    v.new(1, 4, BUY, 1000, 4, LIM, TIF_GTC)
    assert rows(v.trade(2, SELL, 1000, 5)) == []  # front 5 -> 0: not yet
    assert rows(v.trade(3, SELL, 1000, 1)) == [("fill", 4, 1000, 4, 0, "maker", Fraction("-0.8"))]  # whole order


def test_no_partial_fill_mode_is_the_peers():
    """hftbacktest's NoPartialFillExchange: a marketable order fills whole at the best level whatever it shows
    and whatever its TIF (a GTC limit crossing two levels included), consuming nothing; maker fills are whole."""
    v = venue(MODE_NO_PARTIAL_FILL, bids=((1000, 5),), asks=((1001, 3), (1002, 10)))
    assert rows(v.new(1, 1, BUY, 1002, 5, LIM, TIF_IOC)) == [("ack", 1, 1002, 0, 5, "", 0),
                                                             ("fill", 1, 1001, 5, 0, "taker", Fraction("2.5025"))]  # 5005 * 5e-4
    assert rows(v.new(1, 2, BUY, 1002, 20, LIM, TIF_GTC))[1:] == [("fill", 2, 1001, 20, 0, "taker", Fraction("10.01"))]
    assert rows(v.new(1, 3, BUY, 1001, 2, LIM, TIF_FOK))[1][:6] == ("fill", 3, 1001, 2, 0, "taker")
    assert rows(v.new(1, 6, SELL, 0, 9, MKT, TIF_IOC))[1][:6] == ("fill", 6, 1000, 9, 0, "taker")
    assert [r[0] for r in rows(v.new(1, 7, BUY, 1000, 1, LIM, TIF_IOC))] == ["ack", "expired"]  # not marketable
    assert v.working() == {}
    v.new(1, 4, BUY, 1000, 4, LIM, TIF_GTC)
    assert rows(v.trade(2, SELL, 1000, 5)) == []  # front 5 -> 0: not yet
    assert rows(v.trade(3, SELL, 1000, 1)) == [("fill", 4, 1000, 4, 0, "maker", Fraction("-0.8"))]  # whole order


def test_cancel_and_late_cancel():
    v = venue()
    v.new(1, 1, BUY, 1000, 2, LIM, TIF_GTC)
    assert rows(v.cancel(2, 1)) == [("canceled", 1, 1000, 0, 0, "", 0)]
    assert rows(v.trade(3, SELL, 999, 1)) == []  # a cancelled order never fills
    assert rows(v.cancel(4, 1)) == [("cancel_rejected", 1, 0, 0, 0, "", 0)]
    assert rows(v.cancel(4, 99)) == [("cancel_rejected", 99, 0, 0, 0, "", 0)]


def test_replace_keeps_or_resets_queue():
    v = venue()
    v.new(1, 1, BUY, 1000, 5, LIM, TIF_GTC)
    v.trade(2, SELL, 1000, 6)  # front 4
    assert rows(v.replace(3, 1, 1000, 3)) == [("replaced", 1, 1000, 3, 3, "", 0)]
    assert v.working()[1]["front"] == 4.0  # size down at the same price: queue kept
    v.replace(4, 1, 1000, 6)  # size up: back of the queue
    assert v.working()[1]["front"] == 10.0
    v.replace(5, 1, 999, 6)  # new price: fresh queue position at 999
    assert v.working()[1]["front"] == 10.0 and v.working()[1]["price"] == 999
    assert rows(v.replace(6, 1, 1001, 6)) == [("replace_rejected", 1, 1001, 0, 6, "", 0)]  # would cross
    assert v.working()[1]["price"] == 999
    assert rows(v.replace(7, 42, 999, 1))[0][0] == "replace_rejected"


def test_queue_models_differ_on_depth_decrease():
    fronts = {}
    for qm in ("risk_averse", "power_prob_2", "log_prob"):
        v = venue(qm=qm, bids=((1000, 100),))
        v.new(1, 1, BUY, 1000, 10, LIM, TIF_GTC)
        v.depth(2, BUY, 1000, 400)
        v.depth(3, BUY, 1000, 320)
        fronts[qm] = v.working()[1]["front"]
    assert fronts["risk_averse"] == 100.0
    assert fronts["power_prob_2"] == pytest.approx(92.0)
    assert fronts["log_prob"] == pytest.approx(64.2316, abs=1e-3)


def test_clear_forgets_consumed_and_bad_input():
    v = venue(asks=((1001, 3),))
    v.new(1, 1, BUY, 1001, 3, LIM, TIF_IOC)
    v.clear(2, SELL)
    assert int(v.params[6]) == 0  # P_NCONS
    with pytest.raises(SimError):
        v.depth(3, 0, 1000, 1)
    with pytest.raises(SimError):
        v.trade(3, BUY, 1000, 0)
    assert rows(v.new(4, 5, BUY, 1000, 0, LIM, TIF_GTC)) == [("rejected", 5, 1000, 0, 0, "", 0)]


def test_book_grows_for_far_levels():
    v = venue()
    v.depth(1, SELL, 5000, 7)  # outside the book's initial range [900, 1100]: the book grows
    assert [r[:4] for r in rows(v.new(2, 1, BUY, 5000, 30, LIM, TIF_IOC))] == [
        ("ack", 1, 5000, 0), ("partial_fill", 1, 1001, 10), ("partial_fill", 1, 1002, 10),
        ("partial_fill", 1, 5000, 7), ("expired", 1, 5000, 0)]


# ----------------------------------------------------------------------- invariants
_op = st.one_of(
    st.tuples(st.just("new"), st.sampled_from([BUY, SELL]), st.integers(996, 1005), st.integers(1, 15),
              st.sampled_from([LIM, LIM, MKT, PO]), st.sampled_from([TIF_GTC, TIF_GTC, TIF_IOC, TIF_FOK])),
    st.tuples(st.just("cancel"), st.integers(1, 12)),
    st.tuples(st.just("replace"), st.integers(1, 12), st.integers(996, 1005), st.integers(1, 15)),
    st.tuples(st.just("depth"), st.sampled_from([BUY, SELL]), st.integers(996, 1005), st.integers(0, 20)),
    st.tuples(st.just("trade"), st.sampled_from([BUY, SELL]), st.integers(996, 1005), st.integers(1, 20)),
    st.tuples(st.just("clear"), st.sampled_from([0, BUY, SELL])),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_op, max_size=40), st.sampled_from([MODE_PARTIAL_FILL, MODE_NO_PARTIAL_FILL, MODE_ALL_OR_NONE]),
       st.sampled_from(["risk_averse", "power_prob_2", "log_prob"]), st.integers(-300, 300),
       st.integers(-300, 300))
def test_venue_invariants(ops, mode, qm, maker_bps, taker_bps):
    v = venue(mode, qm, fees=FeeSchedule(maker_bps, taker_bps, 0))
    qty: dict[int, int] = {}
    side: dict[int, int] = {}
    filled: dict[int, int] = {}
    done: set[int] = set()
    position = 0
    next_id = 1
    for t, op in enumerate(ops, start=1):
        if op[0] == "new":
            _, s, p, q, ot, tif = op
            oid = next_id
            next_id += 1
            qty[oid], side[oid], filled[oid] = q, s, 0
            reps = v.new(t, oid, s, 0 if ot == MKT else p, q, ot, tif)
        elif op[0] == "cancel":
            reps = v.cancel(t, op[1])
        elif op[0] == "replace":
            reps = v.replace(t, op[1], op[2], op[3])
            for r in reps:
                if REPORT_KIND_NAMES[int(r["kind"])] == "replaced":
                    qty[op[1]] = filled[op[1]] + int(r["qty"])
        elif op[0] == "depth":
            reps = v.depth(t, op[1], op[2], op[3])
        elif op[0] == "trade":
            reps = v.trade(t, op[1], op[2], op[3])
        else:
            reps = v.clear(t, op[1])
        for r in reps:
            oid, kind = int(r["order_id"]), int(r["kind"])
            if kind in (REPORT_FILL, REPORT_PARTIAL_FILL):
                assert oid not in done, "a finished / cancelled order filled"
                q = int(r["qty"])
                assert q > 0
                filled[oid] += q
                assert filled[oid] <= qty[oid]
                assert int(r["leaves"]) == qty[oid] - filled[oid]
                position += side[oid] * q
                fee, liq = int(r["fee"]) * 1_000_000 + int(r["fee_frac"]), int(r["liquidity"])  # exact, millionths
                bps = maker_bps if liq == LIQ_MAKER else taker_bps
                assert liq in (LIQ_MAKER, LIQ_TAKER) and 0 <= int(r["fee_frac"]) < 1_000_000
                assert (fee > 0 and bps > 0) or (fee < 0 and bps < 0) or (fee == 0 and bps == 0)
                if kind == REPORT_FILL:
                    done.add(oid)
            elif REPORT_KIND_NAMES[kind] in ("canceled", "expired", "rejected"):
                done.add(oid)
            if kind == REPORT_CANCELED:
                assert oid in side
        # the venue's working set agrees with what the reports said
        for oid, w in v.working().items():
            assert oid not in done
            assert w["leaves"] == qty[oid] - filled[oid] > 0
    assert position == sum(side[o] * f for o, f in filled.items())


def test_cancels_never_fill_only_trades_do():
    # power_prob_2 with nobody behind us: a decrease larger than the front would push the estimate below 0;
    # it is clamped at the head of the queue (0), and the next 1-lot trade fills exactly 1 lot
    v = venue(qm="power_prob_2", bids=((1000, 10),))
    v.new(1, 1, BUY, 1000, 5, LIM, TIF_GTC)
    v.depth(2, BUY, 1000, 20)  # 10 behind us
    assert rows(v.depth(3, BUY, 1000, 0)) == []  # everybody cancelled
    assert v.working()[1]["front"] == 0.0
    assert rows(v.trade(4, SELL, 1000, 1)) == [("partial_fill", 1, 1000, 1, 4, "maker", Fraction("-0.2"))]
    v.depth(5, BUY, 1000, 0)  # at the head (front -1): depth changes leave us there
    assert v.working()[1]["front"] == -1.0
    assert rows(v.trade(6, SELL, 1000, 1)) == [("partial_fill", 1, 1000, 1, 3, "maker", Fraction("-0.2"))]


def test_ack_carries_the_queue_ahead_at_entry():
    """The ACK of a resting order reports the lots ahead of it when it joined (the displayed level: the queue
    model's starting estimate); -1 when it never rests, and on every other report."""
    v = venue(bids=((1000, 10), (999, 7)))
    assert [int(r["queue"]) for r in v.new(1, 7, BUY, 1000, 4, LIM, TIF_GTC)] == [10]
    assert [int(r["queue"]) for r in v.new(2, 8, BUY, 998, 1, LIM, TIF_GTC)] == [0]  # an empty level
    ioc = v.new(3, 9, BUY, 1001, 20, LIM, TIF_IOC)  # takes the ask, the rest expires: never rested
    assert [(REPORT_KIND_NAMES[int(r["kind"])], int(r["queue"])) for r in ioc] == [
        ("ack", -1), ("partial_fill", -1), ("expired", -1)]
    assert all(int(r["queue"]) == -1 for r in v.trade(4, SELL, 1000, 12))
