"""Scripted scenarios (`hft.sim.scenario`): the exact trace of every shipped scenario (derived by hand in the
comments and in each file's header), bad input, determinism, and invariants on random scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError, SimError
from hft.sim.scenario import load_scenario, parse_scenario, run_file, run_scenario

ROOT = Path(__file__).resolve().parents[3]
SCEN = ROOT / "config" / "sim" / "scenarios"


def compact(result):
    """(local ms, id, status, price ticks, qty lots, leaves, liquidity, fee) per trace row; an emulated order's row
    (`hft.sim.conditional`): (local ms, id, status, child sent, stop level ticks, reason)."""
    return [(r["t_ns"] / 1e6, r["id"], r["status"], r["child"], r["stop"], r.get("reason"))
            if r["source"] == "emulator" else
            (r["t_ns"] / 1e6, r["id"], r["status"], r["price"], r["qty"], r["leaves"], r["liquidity"], r["fee"])
            for r in result["trace"]]


def summary(result):
    return (result["position"], result["balance"], result["fees_paid"], result["trades"])


# Common setup of the shipped files: tick 0.01 (100.00 = 10000 ticks), lot 1, multiplier 1, so money units are
# cents x lots; entry = response = 1ms, feed 100us unless stated; maker -2 bp (fee = -2 per lot at 100.00),
# taker +5 bp. fee = price * qty * bps_h / 1e6, exactly (to the millionth of a unit: nothing is rounded per fill,
# the balance and fees paid are exact too). Local time of a report = venue time + 1ms.
EXPECTED = {
    # arrives 11ms (NEW at 12ms), front 10; trade 6 -> 4; depth 4 -> 4; depth 2 -> 2 (cap);
    # 40ms trade 3 -> front -1: 1 lot; 50ms trade 2 -> -3: 2 more; 60ms trade 5 -> -8: the last one.
    "queue_advance_trades.yaml": (
        [(12.0, 1, "NEW", None, None, 4, None, None),
         (41.0, 1, "PARTIALLY_FILLED", 10000, 1, 3, "maker", -2),
         (51.0, 1, "PARTIALLY_FILLED", 10000, 2, 1, "maker", -4),
         (61.0, 1, "FILLED", 10000, 1, 0, "maker", -2)],
        # cash -4 * 10000 = -40000, fees -8 (received) -> balance -39992
        (4, -39992, -8, 3)),
    # 20ms sell prints 99.99 < our 100.00 bid -> all 5 at 100.00 (fee 5 * -2 = -10);
    # 30ms buy prints 100.03 > our 100.02 offer -> all 3 at 100.02 (fee 30006 * -2e-4 = -6.0012)
    "trade_through.yaml": (
        [(12.0, 1, "NEW", None, None, 5, None, None),
         (12.0, 2, "NEW", None, None, 3, None, None),
         (21.0, 1, "FILLED", 10000, 5, 0, "maker", -10),
         (31.0, 2, "FILLED", 10002, 3, 0, "maker", -6.0012)],
        # cash -50000 + 30006 = -19994, fees -16.0012 -> -19977.9988
        (2, -19977.9988, -16.0012, 2)),
    # 20ms the ask drops to 100.00 = our bid price -> the resting order fills at 100.00 as maker
    "opposite_cross.yaml": (
        [(12.0, 1, "NEW", None, None, 2, None, None),
         (21.0, 1, "FILLED", 10000, 2, 0, "maker", -4)],
        (2, -19996, -4, 1)),
    # a rests; b crosses the 100.01 ask; c crossed by the 100.00 ask that appeared at 10.5ms, before arrival
    "post_only_reject.yaml": (
        [(12.0, "a", "NEW", None, None, 1, None, None),
         (12.0, "b", "REJECTED", None, None, 0, None, None),
         (12.0, "c", "REJECTED", None, None, 0, None, None)],
        (0, 0, 0, 0)),
    # L: 3 @ 100.01 (30003 * 5e-4 = 15.0015) + 2 @ 100.02 (20004 -> 10.002)
    # M: market sell 8: 5 @ 100.00 (25) + 3 @ 99.99 (29997 -> 14.9985)
    # L2: 100.01 used up, 2 left at 100.02 -> 2 @ 100.02 (10.002); 3 rest; 25ms the 100.02 ask updates (fresh,
    #     4 lots) and crosses the resting bid -> 3 @ 100.02 maker (30006 * -2e-4 = -6.0012)
    # I: 100.01 still used up -> not marketable -> IOC expires; F: 0 + 4 + 10 = 14 < 20 -> FOK expires
    "marketable_and_market.yaml": (
        [(12.0, "L", "NEW", None, None, 5, None, None),
         (12.0, "L", "PARTIALLY_FILLED", 10001, 3, 2, "taker", 15.0015),
         (12.0, "L", "FILLED", 10002, 2, 0, "taker", 10.002),
         (12.0, "M", "NEW", None, None, 8, None, None),
         (12.0, "M", "PARTIALLY_FILLED", 10000, 5, 3, "taker", 25),
         (12.0, "M", "FILLED", 9999, 3, 0, "taker", 14.9985),
         (22.0, "L2", "NEW", None, None, 5, None, None),
         (22.0, "L2", "PARTIALLY_FILLED", 10002, 2, 3, "taker", 10.002),
         (26.0, "L2", "FILLED", 10002, 3, 0, "maker", -6.0012),
         (32.0, "I", "NEW", None, None, 1, None, None),
         (32.0, "I", "EXPIRED", None, None, 0, None, None),
         (32.0, "F", "NEW", None, None, 20, None, None),
         (32.0, "F", "EXPIRED", None, None, 0, None, None)],
        # bought 3*10001 + 7*10002 = 100017, sold 5*10000 + 3*9999 = 79997; fees 69.0028 -> -20020 - 69.0028
        # (rounded per fill they were 69: a rounding each fill no longer makes)
        (2, -20089.0028, 69.0028, 6)),
    # entry = response = 5ms: orders arrive 6ms (NEW at 11ms); 12ms fill of order 1 (seen at 17ms); the cancels
    # sent at 10ms arrive at 15ms: order 1 is gone (CANCEL_REJECTED), order 2 is cancelled before the 16ms print
    "cancel_fill_race.yaml": (
        [(11.0, 1, "NEW", None, None, 2, None, None),
         (11.0, 2, "NEW", None, None, 1, None, None),
         (17.0, 1, "FILLED", 10000, 2, 0, "maker", -4),
         (20.0, 1, "CANCEL_REJECTED", None, None, 0, None, None),
         (20.0, 2, "CANCELED", None, None, 0, None, None)],
        (2, -19996, -4, 1)),
    # b: best level 3 < 5 -> expired; c: 3 >= 2 -> 2 @ 100.01 taker (20002 * 5e-4 = 10.001);
    # a: 20ms trade 6 > 5 ahead -> whole order 4 @ 100.00 maker (-8)  (the trace no_partial_fill gave before it
    # became hftbacktest's mode: unchanged under the mode's own name)
    "all_or_none.yaml": (
        [(12.0, "a", "NEW", None, None, 4, None, None),
         (12.0, "b", "NEW", None, None, 5, None, None),
         (12.0, "b", "EXPIRED", None, None, 0, None, None),
         (12.0, "c", "NEW", None, None, 2, None, None),
         (12.0, "c", "FILLED", 10001, 2, 0, "taker", 10.001),
         (21.0, "a", "FILLED", 10000, 4, 0, "maker", -8)],
        (6, -60004.001, 2.001, 2)),
    # hftbacktest's mode: b 5 @ 100.01 taker (50005 * 5e-4 = 25.0025); c 2 @ 100.01 (10.001); d 20 @ 100.01
    # (200020 * 5e-4 = 100.01); a as in all_or_none (-8). Position 31, fees 127.0135,
    # cash -(40000 + 50005 + 20002 + 200020) - 127.0135
    "no_partial_fill.yaml": (
        [(12.0, "a", "NEW", None, None, 4, None, None),
         (12.0, "b", "NEW", None, None, 5, None, None),
         (12.0, "b", "FILLED", 10001, 5, 0, "taker", 25.0025),
         (12.0, "c", "NEW", None, None, 2, None, None),
         (12.0, "c", "FILLED", 10001, 2, 0, "taker", 10.001),
         (12.0, "d", "NEW", None, None, 20, None, None),
         (12.0, "d", "FILLED", 10001, 20, 0, "taker", 100.01),
         (21.0, "a", "FILLED", 10000, 4, 0, "maker", -8)],
        (31, -310154.0135, 127.0135, 4)),
    # see the file header; REPLACED rows show the new price and size
    "replace_queue.yaml": (
        [(12.0, 1, "NEW", None, None, 5, None, None),
         (27.0, 1, "REPLACED", 10000, 3, 3, None, None),
         (32.0, 2, "NEW", None, None, 2, None, None),
         (33.0, 1, "PARTIALLY_FILLED", 10000, 2, 1, "maker", -4),
         (37.0, 2, "REPLACED", 10000, 4, 4, None, None),
         (41.0, 1, "FILLED", 10000, 1, 0, "maker", -2),
         (47.0, 2, "REPLACE_REJECTED", None, None, 4, None, None)],
        (3, -29994, -6, 2)),
    # fronts after the 80-lot decrease: risk_averse 100, power_prob_2 92, log_prob 64.23 (see the file header)
    # risk_averse: trades 70, 25, 10 -> 30, 5, -5: 5 lots at 50ms, 5 left working
    "queue_models_risk_averse.yaml": (
        [(12.0, 1, "NEW", None, None, 10, None, None),
         (51.0, 1, "PARTIALLY_FILLED", 10000, 5, 5, "maker", -10)],
        (5, -49990, -10, 1)),
    # power_prob_2: 22, -3 (3 lots at 40ms), -13 (13 - 3 = 10 >= the 7 left: FILLED at 50ms)
    "queue_models_power_prob_2.yaml": (
        [(12.0, 1, "NEW", None, None, 10, None, None),
         (41.0, 1, "PARTIALLY_FILLED", 10000, 3, 7, "maker", -6),
         (51.0, 1, "FILLED", 10000, 7, 0, "maker", -14)],
        (10, -99980, -20, 2)),
    # log_prob: -5.77 (floor 5 lots at 30ms), -30.77 (the other 5 at 40ms)
    "queue_models_log_prob.yaml": (
        [(12.0, 1, "NEW", None, None, 10, None, None),
         (31.0, 1, "PARTIALLY_FILLED", 10000, 5, 5, "maker", -10),
         (41.0, 1, "FILLED", 10000, 5, 0, "maker", -10)],
        (10, -99980, -20, 2)),
    # emulated orders (hft.sim.conditional): no fees; each file's header derives its trace
    "stop_orders.yaml": (
        [(1.0, "S", "held", None, 10002, None),
         (1.0, "L", "held", None, 9999, None),
         (1.0, "T", "held", None, None, None),  # no print seen yet: no level
         (1.0, "X", "held", None, 10005, None),
         (20.1, "S", "working", "S#1", 10002, None),  # the 100.02 print, seen at 20.1ms
         (22.1, "S#1", "NEW", None, None, 2, None, None),
         (22.1, "S#1", "FILLED", 10002, 2, 0, "taker", 0),
         (22.1, "S", "filled", None, 10002, None),
         (25.0, "X", "cancelled", None, 10005, None),
         (30.1, "T", "working", "T#1", 10000, None),  # 2 ticks below the best print, 100.02
         (32.1, "T#1", "NEW", None, None, 1, None, None),
         (32.1, "T#1", "FILLED", 9999, 1, 0, "taker", 0),
         (32.1, "T", "filled", None, 10000, None),
         (40.1, "L", "working", "L#1", 9999, None),
         (42.1, "L#1", "NEW", None, None, 3, None, None),
         (42.1, "L#1", "PARTIALLY_FILLED", 9998, 2, 1, "taker", 0)],  # 1 lot rests at its limit
        (-1, 9991, 0, 3)),
    # stops held by the venue (held_by: venue): the file's header derives the trace; a TRIGGERED row shows the
    # print's price and the order's open size
    "native_stops.yaml": (
        [(1.0, "R", "REJECTED", None, None, None, None, None),  # MAX_ORDER_QTY
         (3.0, "S", "NEW", None, None, 2, None, None),
         (3.0, "L", "NEW", None, None, 3, None, None),
         (3.0, "F", "NEW", None, None, 1, None, None),
         (3.0, "X", "NEW", None, None, 1, None, None),
         (5.0, "X", "REJECTED", None, None, None, None, None),  # UNSUPPORTED_REPLACE
         (21.0, "S", "TRIGGERED", 10002, None, 2, None, None),
         (21.0, "S", "FILLED", 10002, 2, 0, "taker", 0),
         (27.0, "X", "CANCELED", None, None, 0, None, None),
         (31.0, "F", "TRIGGERED", 10000, None, 1, None, None),
         (31.0, "F", "FILLED", 10000, 1, 0, "taker", 0),
         (41.0, "L", "TRIGGERED", 9999, None, 3, None, None),
         (51.0, "L", "PARTIALLY_FILLED", 10001, 1, 2, "maker", 0)],
        (0, -3, 0, 3)),
    # icebergs held by the venue (type: iceberg, held_by: venue): the file's header derives the trace; fills carry
    # leaves = every lot left (shown and hidden), a refill is not reported
    "native_iceberg.yaml": (
        [(1.0, "R", "REJECTED", None, None, None, None, None),  # BAD_DISPLAY
         (3.0, "I", "NEW", None, None, 10, None, None),
         (3.0, "T", "NEW", None, None, 6, None, None),
         (3.0, "T", "PARTIALLY_FILLED", 10001, 4, 2, "taker", 0),  # a taker iceberg: its whole size takes
         (11.0, "T", "FILLED", 10001, 2, 0, "maker", 0),
         (21.0, "I", "PARTIALLY_FILLED", 10000, 3, 7, "maker", 0),  # 4 reached, 3 shown
         (32.0, "I", "PARTIALLY_FILLED", 10000, 3, 4, "maker", 0),
         (41.0, "I", "PARTIALLY_FILLED", 10000, 3, 1, "maker", 0),  # through its price: the shown part
         (47.0, "I", "REPLACED", 9999, 5, 5, None, None),
         (51.0, "I", "PARTIALLY_FILLED", 9999, 3, 2, "maker", 0),
         (57.0, "I", "CANCELED", None, None, 0, None, None)],
        (18, -180003, 0, 6)),
    # trailing stops held by the venue (type: trailing_stop, held_by: venue): the file's header derives the trace;
    # U's limit moved 9 ticks with its trigger (at its entry limit it would have filled at the 99.96 bid at 51ms)
    "native_trailing.yaml": (
        [(1.0, "R", "REJECTED", None, None, None, None, None),  # BAD_TRAIL
         (3.0, "T", "NEW", None, None, 2, None, None),
         (3.0, "U", "NEW", None, None, 1, None, None),
         (3.0, "B", "NEW", None, None, 1, None, None),
         (31.0, "T", "TRIGGERED", 10000, None, 2, None, None),  # its trigger 99.95 -> 99.98 -> 100.00
         (31.0, "T", "FILLED", 10000, 2, 0, "taker", 0),
         (41.0, "B", "TRIGGERED", 10004, None, 1, None, None),  # 100.10 -> 100.05 -> 100.04
         (41.0, "B", "FILLED", 10001, 1, 0, "taker", 0),
         (51.0, "U", "TRIGGERED", 9996, None, 1, None, None),  # 99.90 -> 99.96 -> 99.98 -> 99.99
         (61.0, "U", "FILLED", 9997, 1, 0, "maker", 0)],
        (-2, 19996, 0, 3)),
    # the same on the L3 venue: executions, hidden executions and cross trades move the triggers after their message
    # (T fills at 99.99: the 100.00 bid is gone); an add moves nothing
    "native_trailing_l3.yaml": (
        [(1.0, "R", "REJECTED", None, None, None, None, None),  # BAD_TRAIL
         (3.0, "T", "NEW", None, None, 2, None, None),
         (3.0, "U", "NEW", None, None, 1, None, None),
         (3.0, "B", "NEW", None, None, 1, None, None),
         (31.0, "T", "TRIGGERED", 10000, None, 2, None, None),  # its trigger 99.95 -> 99.98 -> 100.00
         (31.0, "T", "FILLED", 9999, 2, 0, "taker", 0),
         (41.0, "B", "TRIGGERED", 10004, None, 1, None, None),  # 100.10 -> 100.05 -> 100.04
         (41.0, "B", "FILLED", 10001, 1, 0, "taker", 0),
         (51.0, "U", "TRIGGERED", 9999, None, 1, None, None),  # 99.90 -> 99.96 -> 99.98 -> 99.99
         (61.0, "U", "FILLED", 9997, 1, 0, "maker", 0)],  # its limit 99.88 -> 99.97: it rested, a crossing add
        (-2, 19994, 0, 3)),
    # OCO pairs held by the venue (oco: <id>): the file's header derives the trace; the other of a pair is CANCELED
    # in the same venue step, after the fill (L, S) or after the trigger's reports (T, M)
    "native_oco.yaml": (
        [(3.0, "L", "NEW", None, None, 3, None, None),
         (3.0, "S", "NEW", None, None, 3, None, None),
         (3.0, "M", "NEW", None, None, 2, None, None),
         (3.0, "T", "NEW", None, None, 2, None, None),
         (7.0, "R", "REJECTED", None, None, 0, None, None),  # the venue's: L is paired already
         (11.0, "L", "PARTIALLY_FILLED", 10005, 2, 1, "maker", 0),
         (11.0, "S", "CANCELED", None, None, 0, None, None),
         (21.0, "T", "TRIGGERED", 9999, None, 2, None, None),
         (21.0, "T", "FILLED", 10000, 2, 0, "taker", 0),
         (21.0, "M", "CANCELED", None, None, 0, None, None),
         (30.0, "P", "REJECTED", None, None, None, None, None),  # BAD_LINK: a post-only child
         (32.0, "Q", "NEW", None, None, 1, None, None),  # M has ended: the venue remembers it
         (32.0, "Q", "CANCELED", None, None, 0, None, None)],
        (-4, 40010, 0, 2)),
    # bracket orders held by the venue (parent: <id>): the file's header derives the trace; a child's REPLACED row
    # shows the size it entered for (its entry's filled lots)
    "native_bracket.yaml": (
        [(3.0, "E", "NEW", None, None, 4, None, None),
         (3.0, "TP", "NEW", None, None, 4, None, None),
         (3.0, "SL", "NEW", None, None, 4, None, None),
         (11.0, "E", "PARTIALLY_FILLED", 10000, 2, 2, "maker", 0),
         (16.0, "E", "FILLED", 10000, 2, 0, "maker", 0),
         (16.0, "TP", "REPLACED", 10010, 4, 4, None, None),  # for the whole: 2 + 2
         (16.0, "SL", "REPLACED", 0, 4, 4, None, None),
         (26.0, "TP", "PARTIALLY_FILLED", 10010, 3, 1, "maker", 0),
         (26.0, "SL", "CANCELED", None, None, 0, None, None),
         (32.0, "F", "NEW", None, None, 5, None, None),
         (32.0, "TP2", "NEW", None, None, 5, None, None),
         (32.0, "SL2", "NEW", None, None, 5, None, None),
         (41.0, "F", "PARTIALLY_FILLED", 9995, 2, 3, "maker", 0),
         (47.0, "F", "CANCELED", None, None, 0, None, None),
         (47.0, "TP2", "REPLACED", 10020, 2, 2, None, None),  # for F's 2 filled lots
         (47.0, "SL2", "REPLACED", 0, 2, 2, None, None),
         (52.0, "G", "NEW", None, None, 3, None, None),
         (52.0, "TP3", "NEW", None, None, 3, None, None),
         (52.0, "SL3", "NEW", None, None, 3, None, None),
         (62.0, "G", "CANCELED", None, None, 0, None, None),
         (62.0, "TP3", "CANCELED", None, None, 0, None, None),  # G filled nothing
         (62.0, "SL3", "CANCELED", None, None, 0, None, None),
         (72.0, "H", "NEW", None, None, 2, None, None),
         (72.0, "H", "FILLED", 10002, 2, 0, "taker", 0),
         (72.0, "K", "NEW", None, None, 3, None, None),  # H has ended: the venue remembers what it filled
         (72.0, "K", "REPLACED", 10050, 2, 2, None, None)],
        (5, -49964, 0, 5)),
    # OCO pairs and brackets held by the L3 venue: the file's header derives the trace; executions fill our orders
    # where they queue, the other of a pair CANCELED after the fill (L, S) or the trigger's reports (SL, TP), children
    # released at the end of the message that ended their entry (E), or at once for an entry that had ended (H, K)
    "native_oco_l3.yaml": (
        [(3.0, "L", "NEW", None, None, 3, None, None),
         (3.0, "S", "NEW", None, None, 3, None, None),
         (3.0, "E", "NEW", None, None, 4, None, None),
         (3.0, "TP", "NEW", None, None, 4, None, None),
         (3.0, "SL", "NEW", None, None, 4, None, None),
         (11.0, "L", "PARTIALLY_FILLED", 10005, 2, 1, "maker", 0),  # order 50's execution: L was ahead of it
         (11.0, "S", "CANCELED", None, None, 0, None, None),
         (26.0, "E", "PARTIALLY_FILLED", 10000, 3, 1, "maker", 0),
         (31.0, "E", "FILLED", 10000, 1, 0, "maker", 0),
         (31.0, "TP", "REPLACED", 10010, 4, 4, None, None),  # for the whole: 3 + 1
         (31.0, "SL", "REPLACED", 0, 4, 4, None, None),
         (41.0, "SL", "TRIGGERED", 9990, None, 4, None, None),  # a cross trade
         (41.0, "SL", "FILLED", 9999, 4, 0, "taker", 0),
         (41.0, "TP", "CANCELED", None, None, 0, None, None),
         (52.0, "H", "NEW", None, None, 2, None, None),
         (52.0, "H", "FILLED", 10001, 2, 0, "taker", 0),
         (52.0, "K", "NEW", None, None, 3, None, None),  # H has ended: the venue remembers what it filled
         (52.0, "K", "REPLACED", 10050, 2, 2, None, None),
         (52.0, "O", "NEW", None, None, 1, None, None),
         (52.0, "O", "CANCELED", None, None, 0, None, None),  # the other of its pair (H) has ended
         (57.0, "R", "NEW", None, None, 1, None, None),
         (59.0, "Q", "REJECTED", None, None, 0, None, None),  # the venue's: L is paired already
         (62.0, "R", "CANCELED", None, None, 0, None, None),
         (62.0, "L", "CANCELED", None, None, 0, None, None),
         (67.0, "G", "NEW", None, None, 2, None, None),
         (67.0, "TP3", "NEW", None, None, 2, None, None),
         (72.0, "TP3", "REPLACE_REJECTED", None, None, 0, None, None),  # a held child
         (77.0, "G", "CANCELED", None, None, 0, None, None),
         (77.0, "TP3", "CANCELED", None, None, 0, None, None)],  # G filled nothing
        (0, 4, 0, 5)),
    # the same on the L3 venue: a print triggers after its message (F fills at 99.99: the 100.00 bid is gone)
    "native_stops_l3.yaml": (
        [(1.0, "R", "REJECTED", None, None, None, None, None),  # MAX_ORDER_QTY
         (3.0, "S", "NEW", None, None, 2, None, None),
         (3.0, "L", "NEW", None, None, 3, None, None),
         (3.0, "F", "NEW", None, None, 1, None, None),
         (3.0, "X", "NEW", None, None, 1, None, None),
         (3.0, "B", "NEW", None, None, 1, None, None),
         (5.0, "X", "REJECTED", None, None, None, None, None),  # UNSUPPORTED_REPLACE
         (21.0, "S", "TRIGGERED", 10002, None, 2, None, None),  # an execution
         (21.0, "S", "FILLED", 10002, 2, 0, "taker", 0),
         (27.0, "X", "CANCELED", None, None, 0, None, None),
         (31.0, "F", "TRIGGERED", 10000, None, 1, None, None),
         (31.0, "F", "FILLED", 9999, 1, 0, "taker", 0),
         (41.0, "L", "TRIGGERED", 9999, None, 3, None, None),  # a hidden execution; rests behind order 50
         (46.0, "B", "TRIGGERED", 10003, None, 1, None, None),  # a cross trade
         (46.0, "B", "FILLED", 10001, 1, 0, "taker", 0),
         (61.0, "L", "PARTIALLY_FILLED", 10001, 2, 1, "maker", 0)],  # order 60's execution: L was ahead of it
        (0, -4, 0, 4)),
    # the same on the L3 venue: a message fills at most the shown lots; the next part joins the back of the level
    # after that message (T and I at 20ms; I's at 30ms behind order 60, whose execution at 35ms fills nothing of ours)
    "native_iceberg_l3.yaml": (
        [(1.0, "R", "REJECTED", None, None, None, None, None),  # BAD_DISPLAY
         (3.0, "I", "NEW", None, None, 10, None, None),
         (3.0, "T", "NEW", None, None, 6, None, None),
         (3.0, "T", "PARTIALLY_FILLED", 10001, 4, 2, "taker", 0),  # a taker iceberg: its whole size takes
         (9.0, "T", "PARTIALLY_FILLED", 10001, 1, 1, "maker", 0),  # a crossing add: the shown lot only
         (21.0, "T", "FILLED", 10001, 1, 0, "maker", 0),  # a better price: traded through first
         (21.0, "I", "PARTIALLY_FILLED", 10000, 3, 7, "maker", 0),
         (31.0, "I", "PARTIALLY_FILLED", 10000, 3, 4, "maker", 0),  # through its price: the shown part
         (47.0, "I", "REPLACED", 9999, 4, 4, None, None),
         (61.0, "I", "PARTIALLY_FILLED", 9999, 2, 2, "maker", 0),
         (67.0, "I", "CANCELED", None, None, 0, None, None)],
        (14, -140004, 0, 6)),
    # GTD orders the venue expires (held_by: venue with an expiry): the files' headers derive the traces; an expiry
    # comes after the market events of its time (A's fill at 20ms, then its expiry) and after the commands sent
    # before it was scheduled (E's ACK before D's expiry); an expiry of an order already gone says nothing
    "native_gtd.yaml": (
        [(1.0, "F", "REJECTED", None, None, None, None, None),  # BAD_EXPIRE
         (3.0, "A", "NEW", None, None, 2, None, None),
         (3.0, "B", "NEW", None, None, 1, None, None),
         (3.0, "C", "NEW", None, None, 1, None, None),
         (3.0, "D", "NEW", None, None, 1, None, None),
         (3.0, "E", "NEW", None, None, 1, None, None),
         (3.0, "D", "EXPIRED", None, None, 0, None, None),  # it reached the venue at its expiry
         (11.0, "C", "EXPIRED", None, None, 0, None, None),  # a held stop
         (21.0, "A", "PARTIALLY_FILLED", 9999, 1, 1, "maker", 0),
         (21.0, "B", "FILLED", 10000, 1, 0, "maker", 0),
         (21.0, "A", "EXPIRED", None, None, 0, None, None),  # the fill at its expiry time came first
         (27.0, "E", "CANCELED", None, None, 0, None, None)],
        (2, -19999, 0, 2)),
    "native_gtd_l3.yaml": (
        [(1.0, "F", "REJECTED", None, None, None, None, None),  # BAD_EXPIRE
         (3.0, "A", "NEW", None, None, 2, None, None),
         (3.0, "B", "NEW", None, None, 1, None, None),
         (3.0, "C", "NEW", None, None, 1, None, None),
         (3.0, "D", "NEW", None, None, 1, None, None),
         (3.0, "E", "NEW", None, None, 1, None, None),
         (3.0, "D", "EXPIRED", None, None, 0, None, None),
         (11.0, "C", "EXPIRED", None, None, 0, None, None),  # a held stop-limit: the 20ms print no longer reaches it
         (21.0, "A", "PARTIALLY_FILLED", 9998, 1, 1, "maker", 0),
         (21.0, "A", "EXPIRED", None, None, 0, None, None),
         (27.0, "E", "CANCELED", None, None, 0, None, None),
         (31.0, "B", "EXPIRED", None, None, 0, None, None)],
        (1, -9998, 0, 1)),
    "iceberg_refill.yaml": (
        [(1.0, "I", "working", "I#1", None, None),
         (3.0, "I#1", "NEW", None, None, 2, None, None),
         (11.0, "I#1", "FILLED", 9998, 2, 0, "maker", 0),
         (11.0, "I", "working", "I#2", None, None),  # joins behind the 4 lots bid at 5ms
         (13.0, "I#2", "NEW", None, None, 2, None, None),
         (21.0, "I#2", "PARTIALLY_FILLED", 9998, 1, 1, "maker", 0),
         (36.0, "I#2", "FILLED", 9998, 1, 0, "maker", 0),
         (36.0, "I", "working", "I#3", None, None),  # behind the 3 lots bid at 30ms
         (38.0, "I#3", "NEW", None, None, 1, None, None),
         (51.0, "I#3", "FILLED", 9998, 1, 0, "maker", 0),  # not at 45ms: 3 lots were ahead
         (51.0, "I", "filled", None, None, None)],
        (5, -49990, 0, 4)),
    "gtd_expiry.yaml": (
        [(1.0, "G1", "working", "G1#1", None, None),
         (1.0, "G2", "working", "G2#1", None, None),
         (1.0, "H", "held", None, 9995, None),
         (5.0, "H", "expired", None, 9995, None),
         (10.0, "G1", "expired", None, None, None),
         (10.0, "G2", "expired", None, None, None),
         (11.0, "G1#1", "NEW", None, None, 2, None, None),
         (11.0, "G2#1", "NEW", None, None, 1, None, None),
         (17.0, "G1#1", "FILLED", 10000, 2, 0, "maker", 0),  # the fill won the race against the cancel
         (20.0, "G1#1", "CANCEL_REJECTED", None, None, 0, None, None),
         (20.0, "G2#1", "CANCELED", None, None, 0, None, None)],
        (2, -20000, 0, 1)),
    "oco_mid.yaml": (
        [(1.0, "P", "working", "P#1", None, None),
         (1.0, "Q", "held", None, 9999, None),
         (3.0, "P#1", "NEW", None, None, 2, None, None),
         (20.1, "Q", "working", "Q#1", 9999, None),  # mid 99.99 after the 99.97 bid
         (22.1, "Q#1", "NEW", None, None, 2, None, None),
         (22.1, "Q#1", "FILLED", 9997, 2, 0, "taker", 0),
         (22.1, "P", "cancelled", None, None, None),
         (22.1, "Q", "filled", None, 9999, None),
         (24.1, "P#1", "CANCELED", None, None, 0, None, None)],
        (-2, 19994, 0, 1)),
    "bracket.yaml": (
        [(1.0, "B", "working", "B#1", None, None),
         (3.0, "B#1", "NEW", None, None, 2, None, None),
         (11.0, "B#1", "FILLED", 9999, 2, 0, "maker", 0),
         (11.0, "B.tp1", "working", "B.tp1#1", None, None),
         (11.0, "B.sl1", "held", None, 9997, None),
         (11.0, "B", "filled", None, None, None),
         (13.0, "B.tp1#1", "NEW", None, None, 2, None, None),
         (21.0, "B.tp1#1", "PARTIALLY_FILLED", 10003, 1, 1, "maker", 0),
         (21.0, "B.sl1", "cancelled", None, 9997, None),  # a partial fill of either cancels the other
         (31.0, "B.tp1#1", "FILLED", 10003, 1, 0, "maker", 0),
         (31.0, "B.tp1", "filled", None, None, None)],
        (0, 8, 0, 3)),
    "child_rejected.yaml": (
        [(1.0, "R", "held", None, 10002, None),
         (1.0, "K", "rejected", None, None, "MAX_ORDER_QTY"),
         (10.1, "R", "rejected", None, 10002, "MAX_ORDER_QTY")],
        (0, 0, 0, 0)),
    # the gateway's reasons of its refusals: test_rate_windows_refuse_with_the_window_that_refused
    "rate_windows.yaml": (
        [(1.0, "C", "REJECTED", None, None, None, None, None),
         (3.0, "A", "NEW", None, None, 1, None, None),
         (3.0, "B", "NEW", None, None, 1, None, None),
         (22.0, "D", "NEW", None, None, 1, None, None),
         (30.0, "E", "REJECTED", None, None, None, None, None),
         (40.0, "F", "REJECTED", None, None, None, None, None)],
        (0, 0, 0, 0)),
    # the buying-power check: test_buying_power_refuses_what_the_cash_does_not_cover (derived in the file)
    "buying_power.yaml": (
        [(2.0, "B", "REJECTED", None, None, None, None, None),
         (3.0, "A", "NEW", None, None, 6, None, None),
         (5.0, "C", "NEW", None, None, 3, None, None),
         (5.0, "E", "REJECTED", None, None, None, None, None),
         (6.0, "D", "NEW", None, None, 9, None, None),
         (8.0, "A", "CANCELED", None, None, 0, None, None),
         (12.0, "G", "NEW", None, None, 6, None, None)],
        (0, 0, 0, 0)),
}


def test_every_shipped_scenario_is_pinned():
    assert sorted(p.name for p in SCEN.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_scenario_trace(name):
    res = run_file(SCEN / name)
    trace, summ = EXPECTED[name]
    assert compact(res) == trace
    assert summary(res) == summ
    assert res["gateway"]["position"] == res["position"]  # the gateway saw the same fills
    refused = [r for r in res["trace"] if r["source"] == "gateway"
               or (r["source"] == "emulator" and r["status"] == "rejected" and r["reason"] != "VENUE")]
    assert res["gateway"]["rejected"] == len(refused)


def test_issue_example_and_decimal_output(tmp_path):
    f = tmp_path / "ex.yaml"
    f.write_text("""
instrument: {symbol: TEST, tick_size: 0.1, lot_size: 0.001}
latency: {entry: 1ms, response: 1ms, feed: 100us}
fees: {maker_bps: -0.5, taker_bps: 7}
queue_model: risk_averse
exchange: no_partial_fill
book: {bids: [[100.0, 5.0], [99.9, 5.0]], asks: [[100.1, 5.0], [100.2, 5.0]]}
events:
  - {t: 20ms, kind: trade, aggressor: sell, price: 100.0, qty: 3.0}
  - {t: 20ms, kind: depth, side: buy, price: 100.0, qty: 2.0}
actions:
  - {t: 10ms, op: submit, id: 1, side: buy, price: 100.0, qty: 1.0, type: limit, tif: gtc}
  - {t: 30ms, op: cancel, id: 1}
  - {t: 31ms, op: submit, id: m, side: sell, qty: 2.0, type: market}
""")
    res = run_file(f)
    # front 5000 lots -> 2000 after the 3.0 trade: no fill; cancelled at 31ms (seen 32ms); the market sell of
    # 2.0 fits the 100.0 bid level (2.0 left) in no_partial_fill mode: 2000 lots @ 1000 ticks, taker 7 bp:
    # 2,000,000 * 700 / 1e6 = 1400 money units (money unit = 0.1 * 0.001 = 0.0001)
    assert compact(res) == [
        (12.0, 1, "NEW", None, None, 1000, None, None),
        (32.0, 1, "CANCELED", None, None, 0, None, None),
        (33.0, "m", "NEW", None, None, 2000, None, None),
        (33.0, "m", "FILLED", 1000, 2000, 0, "taker", 1400),
    ]
    assert res["trace"][-1]["price_dec"] == "100.0" and res["trace"][-1]["qty_dec"] == "2.000"
    assert summary(res) == (-2000, 1_998_600, 1400, 1)
    assert res["position_dec"] == "-2.000" and res["balance_dec"] == "199.8600" and res["money_unit"] == "0.0001"


def test_deterministic():
    for name in ("marketable_and_market.yaml", "cancel_fill_race.yaml", "queue_models_log_prob.yaml"):
        assert run_file(SCEN / name) == run_file(SCEN / name)


def test_rate_windows_refuse_with_the_window_that_refused():
    rows = run_file(SCEN / "rate_windows.yaml")["trace"]
    assert [(r["id"], r["reason"]) for r in rows if r["source"] == "gateway"] == [
        ("C", "SUBMIT_RATE"), ("E", "SUBMIT_RATE_2"), ("F", "SHORT_LIMIT")]


def test_buying_power_refuses_what_the_cash_does_not_cover():
    rows = run_file(SCEN / "buying_power.yaml")["trace"]
    assert [(r["id"], r["reason"]) for r in rows if r["source"] == "gateway"] == [
        ("B", "BUYING_POWER"), ("E", "BUYING_POWER")]


def test_native_stops_refusals_name_their_reason():
    res = run_file(SCEN / "native_stops.yaml")
    assert [(r["id"], r["reason"], r["op"]) for r in res["trace"] if r["source"] == "gateway"] == [
        ("R", "MAX_ORDER_QTY", "submit"), ("X", "UNSUPPORTED_REPLACE", "replace")]
    assert res["gateway"]["working_sell"] == 2  # L's 2 lots still rest; nothing held is left


def test_native_trailing_refusals_name_their_reason():
    res = run_file(SCEN / "native_trailing.yaml")
    assert [(r["id"], r["reason"], r["op"]) for r in res["trace"] if r["source"] == "gateway"] == [
        ("R", "BAD_TRAIL", "submit")]
    assert res["gateway"]["working_buy"] == res["gateway"]["working_sell"] == 0


def test_native_oco_and_bracket_refusals_name_their_reason():
    res = run_file(SCEN / "native_oco.yaml")
    assert [(r["id"], r["reason"], r["op"]) for r in res["trace"] if r["source"] == "gateway"] == [
        ("P", "BAD_LINK", "submit")]
    assert (res["gateway"]["working_buy"], res["gateway"]["working_sell"]) == (0, 1)  # L's last lot
    res = run_file(SCEN / "native_bracket.yaml")
    assert res["gateway"]["working_buy"] == 0 and res["gateway"]["working_sell"] == 7  # TP 1, TP2 2, K 2, SL2 2 (held)


def test_scenario_links_name_earlier_orders_held_or_plain():
    base = {"instrument": {"tick_size": 0.01, "lot_size": 1}, "book": {"bids": [[100.0, 5]], "asks": [[100.01, 5]]}}
    first = {"t": "1ms", "op": "submit", "id": "a", "side": "sell", "price": 100.05, "qty": 2}
    stop = {"t": "1ms", "op": "submit", "id": "b", "side": "sell", "type": "stop", "held_by": "venue", "stop": 99.9,
            "qty": 2}
    acts = parse_scenario({**base, "actions": [first, {**stop, "oco": "a", "parent": "a"}]}).actions
    assert (acts[1].oco, acts[1].parent, acts[1].kind) == ("a", "a", "")
    with pytest.raises(ConfigError, match=r"actions\[1\]\.oco.*the id of an order submitted earlier"):
        parse_scenario({**base, "actions": [first, {**stop, "oco": "z"}]})
    emulated = {**stop, "held_by": "emulator", "parent": "a"}
    with pytest.raises(ConfigError, match=r"actions\[1\]\.parent.*no parent for an emulated order"):
        parse_scenario({**base, "actions": [first, emulated]})


def test_native_iceberg_refusals_name_their_reason():
    res = run_file(SCEN / "native_iceberg.yaml")
    assert [(r["id"], r["reason"], r["op"]) for r in res["trace"] if r["source"] == "gateway"] == [
        ("R", "BAD_DISPLAY", "submit")]
    assert res["gateway"]["working_buy"] == 0


def test_native_iceberg_l3_refusals_name_their_reason():
    res = run_file(SCEN / "native_iceberg_l3.yaml")
    assert [(r["id"], r["reason"], r["op"]) for r in res["trace"] if r["source"] == "gateway"] == [
        ("R", "BAD_DISPLAY", "submit")]
    assert res["gateway"]["working_buy"] == 0


def test_a_native_iceberg_takes_no_emulator_keys():
    base = {"instrument": {"tick_size": 0.01, "lot_size": 1}, "book": {"bids": [[100.0, 5]], "asks": [[100.01, 5]]}}
    act = {"t": "1ms", "op": "submit", "id": 1, "side": "buy", "type": "iceberg", "held_by": "venue",
           "price": 100.0, "qty": 4, "display": 1}
    assert parse_scenario({**base, "actions": [act]}).actions[0].display == 1
    with pytest.raises(ConfigError, match=r"actions\[0\]\.stop.*no stop for an iceberg held by the venue"):
        parse_scenario({**base, "actions": [{**act, "stop": 99.0}]})


def test_a_native_trailing_stop_is_a_stop_with_its_trail():
    base = {"instrument": {"tick_size": 0.01, "lot_size": 1}, "book": {"bids": [[100.0, 5]], "asks": [[100.01, 5]]}}
    act = {"t": "1ms", "op": "submit", "id": 1, "side": "sell", "type": "trailing_stop", "held_by": "venue",
           "stop": 99.9, "offset": 0.05, "qty": 4}
    a = parse_scenario({**base, "actions": [act]}).actions[0]
    assert (a.order_type, a.price, a.trigger_px, a.trail, a.kind) == (4, 0, 9990, 5, "")  # ORDER_STOP, not emulated
    a = parse_scenario({**base, "actions": [{**act, "price": 99.88}]}).actions[0]
    assert (a.order_type, a.price, a.trigger_px, a.trail) == (5, 9988, 9990, 5)  # ORDER_STOP_LIMIT
    with pytest.raises(ConfigError, match=r"actions\[0\]\.display.*no display for a trailing stop held by the venue"):
        parse_scenario({**base, "actions": [{**act, "display": 1}]})
    with pytest.raises(ConfigError, match=r"actions\[0\]\.offset"):
        parse_scenario({**base, "actions": [{**act, "offset": 0.055}]})  # off the tick


def test_native_trailing_l3_refusals_name_their_reason():
    res = run_file(SCEN / "native_trailing_l3.yaml")
    assert [(r["id"], r["reason"], r["op"]) for r in res["trace"] if r["source"] == "gateway"] == [
        ("R", "BAD_TRAIL", "submit")]
    assert res["gateway"]["working_buy"] == res["gateway"]["working_sell"] == 0


def test_gateway_rejection_is_in_the_trace():
    sc = parse_scenario({
        "instrument": {"tick_size": 0.01, "lot_size": 1},
        "book": {"bids": [[100.0, 5]], "asks": [[100.01, 5]]},
        "actions": [{"t": "1ms", "op": "submit", "id": 1, "side": "buy", "price": 100.0, "qty": 1,
                     "type": "post_only", "tif": "ioc"},  # the gateway refuses post-only IOC
                    {"t": "2ms", "op": "cancel", "id": 1}],
    })
    rows = run_scenario(sc)["trace"]
    assert [(r["id"], r["status"], r["source"], r.get("reason")) for r in rows] == [
        (1, "REJECTED", "gateway", "UNSUPPORTED_TIF"), (1, "REJECTED", "gateway", "UNKNOWN_ORDER")]


# ----------------------------------------------------------------------- bad input
BASE = """
instrument: {symbol: TEST, tick_size: 0.01, lot_size: 1}
latency: {entry: 1ms, response: 1ms, feed: 100us}
queue_model: risk_averse
book: {bids: [[100.00, 10]], asks: [[100.01, 10]]}
actions:
  - {t: 10ms, op: submit, id: 1, side: buy, price: 100.00, qty: 4}
"""


@pytest.mark.parametrize(("text", "err", "key"), [
    (BASE.replace("risk_averse", "fifo"), ConfigError, "queue_model"),
    (BASE.replace("entry: 1ms", "entry: -1ms"), ConfigError, "latency.entry"),
    (BASE.replace("price: 100.00, qty: 4", "price: 100.005, qty: 4"), ConfigError, "actions[0].price"),
    (BASE.replace("[[100.01, 10]]", "[[100.011, 10]]"), ConfigError, "book.asks[0].price"),
    (BASE.replace("qty: 4}", "qty: 4.5}"), ConfigError, "actions[0].qty"),
    (BASE + "colour: red\n", ConfigError, "colour"),
    (BASE.replace("qty: 4}", "qty: 4, extra: 1}"), ConfigError, "actions[0].extra"),
    (BASE + "  - {t: 20ms, op: cancel, id: 2}\n", SimError, "actions[1].id"),
    (BASE + "  - {t: 5ms, op: cancel, id: 1}\n", SimError, "actions[1].id"),  # before its submit
    (BASE + "  - {t: 20ms, op: submit, id: 1, side: buy, price: 100.00, qty: 1}\n", ConfigError, "actions[1].id"),
    (BASE + "  - {t: 20ms, op: submit, id: 2, side: buy, price: 100.00, qty: 1, type: market}\n", ConfigError,
     "actions[1].price"),
    (BASE + "events:\n  - {t: 1ms, kind: quake}\n", ConfigError, "events[0].kind"),
    (BASE + "events:\n  - {t: 1ms, kind: trade, aggressor: sell, price: 100.00}\n", ConfigError, "events[0].qty"),
    (BASE + "exchange: partial\n", ConfigError, "exchange"),
    (BASE + "fees: {maker_bps: 0.001}\n", ConfigError, "fees.maker_bps"),
    (BASE.replace("[[100.00, 10]]", "[[100.02, 10]]"), ConfigError, "book.bids"),
    # emulated orders
    (BASE.replace("price: 100.00, qty: 4", "type: stop, qty: 4"), ConfigError, "actions[0].stop"),
    (BASE.replace("price: 100.00, qty: 4", "type: stop, stop: 99.995, qty: 4"), ConfigError, "actions[0].stop"),
    (BASE.replace("price: 100.00, qty: 4", "type: stop, stop: 99.9, price: 100.00, qty: 4"), ConfigError,
     "actions[0].price"),
    (BASE.replace("qty: 4}", "qty: 4, type: stop_limit, stop: 100.05, tif: ioc}"), ConfigError, "actions[0].tif"),
    (BASE.replace("price: 100.00, qty: 4", "type: trailing_stop, offset: 0.015, qty: 4"), ConfigError,
     "actions[0].offset"),
    (BASE.replace("price: 100.00, qty: 4", "type: trailing_stop, offset: 0, qty: 4"), ConfigError,
     "actions[0].offset"),
    (BASE.replace("qty: 4}", "qty: 4, type: iceberg}"), ConfigError, "actions[0].display"),
    (BASE.replace("qty: 4}", "qty: 4, type: bracket, stop: 99.9}"), ConfigError, "actions[0].take_profit"),
    (BASE.replace("qty: 4}", "qty: 4, type: post_only, expire: 5ms}"), ConfigError, "actions[0].expire"),
    (BASE.replace("qty: 4}", "qty: 4, expire: 5ms, expire_at: 20ms}"), ConfigError, "actions[0].expire_at"),
    (BASE.replace("qty: 4}", "qty: 4, expire_at: 10ms}"), ConfigError, "actions[0].expire_at"),  # not after t
    (BASE.replace("qty: 4}", "qty: 4, expire: soon}"), ConfigError, "actions[0].expire"),
    (BASE + "  - {t: 20ms, op: oco, ids: [1, 2]}\n", ConfigError, "actions[1].ids[1]"),
    (BASE + "  - {t: 20ms, op: oco, ids: [1]}\n", ConfigError, "actions[1].ids"),
    (BASE + "  - {t: 20ms, op: oco, ids: [[1], 1]}\n", ConfigError, "actions[1].ids[0]"),
    (BASE + "  - {t: 20ms, op: submit, id: m, side: sell, qty: 1, type: market}\n"
            "  - {t: 20ms, op: oco, ids: [1, m]}\n", ConfigError, "actions[2].ids[1]"),
    (BASE.replace("qty: 4}", "qty: 4, expire: 5ms}") + "  - {t: 20ms, op: replace, id: 1, price: 100.00, qty: 1}\n",
     ConfigError, "actions[1].id"),
    (BASE + "trigger: last\n", ConfigError, "trigger"),
    (BASE.replace("qty: 4}", "qty: 4, type: iceberg, display: 1, trigger: mid}"), ConfigError,
     "actions[0].trigger"),
    (BASE.replace("price: 100.00, qty: 4", "type: stop, stop: 99.9, qty: 4, trigger: last"), ConfigError,
     "actions[0].trigger"),
    (BASE + "limits: {max_order_qty: -1}\n", ConfigError, "limits.max_order_qty"),
    # stops held by the venue
    (BASE.replace("qty: 4}", "qty: 4, held_by: venue}"), ConfigError, "actions[0].held_by"),  # a limit
    (BASE.replace("qty: 4}", "qty: 4, held_by: exchange}"), ConfigError, "actions[0].held_by"),
    (BASE.replace("price: 100.00, qty: 4", "type: stop, held_by: venue, qty: 4"), ConfigError, "actions[0].stop"),
    (BASE.replace("price: 100.00, qty: 4", "type: stop, held_by: venue, stop: 99.9, price: 99.9, qty: 4"),
     ConfigError, "actions[0].price"),
    (BASE.replace("price: 100.00, qty: 4", "type: stop, held_by: venue, stop: 99.9, qty: 4, tif: ioc"),
     ConfigError, "actions[0].tif"),
    # a GTD the venue expires: an expiry makes it one; a limit held by the venue needs one; its TIF is gtd
    (BASE.replace("qty: 4}", "qty: 4, held_by: venue}"), ConfigError, "actions[0].held_by"),
    (BASE.replace("qty: 4}", "qty: 4, held_by: venue, expire: 5ms, tif: gtc}"), ConfigError, "actions[0].tif"),
    (BASE.replace("qty: 4}", "qty: 4, held_by: venue, expire: 5ms, expire_at: 20ms}"), ConfigError,
     "actions[0].expire_at"),
    (BASE.replace("qty: 4}", "qty: 4, type: market, held_by: venue, expire: 5ms}"), ConfigError,
     "actions[0].held_by"),
    (BASE.replace("qty: 4}", "qty: 4, type: stop_limit, held_by: venue, stop: 99.9, trigger: mid}"), ConfigError,
     "actions[0].trigger"),
    (BASE + "limits: {max_colour: 1}\n", ConfigError, "limits.max_colour"),
])
def test_bad_input(tmp_path, text, err, key):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(err) as ei:
        load_scenario(f)
    assert ei.value.fields.get("key") == key
    assert ei.value.fields.get("file") == str(f)
    assert str(f) in ei.value.message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError):
        load_scenario(tmp_path / "none.yaml")


# ----------------------------------------------------------------------- invariants on random scenarios
_px = st.integers(9995, 10005).map(lambda t: f"{t / 100:.2f}")
_event = st.one_of(
    st.fixed_dictionaries({"t": st.integers(0, 50).map(lambda m: f"{m}ms"), "kind": st.just("depth"),
                           "side": st.sampled_from(["buy", "sell"]), "price": _px, "qty": st.integers(0, 20)}),
    st.fixed_dictionaries({"t": st.integers(0, 50).map(lambda m: f"{m}ms"), "kind": st.just("trade"),
                           "aggressor": st.sampled_from(["buy", "sell"]), "price": _px,
                           "qty": st.integers(1, 20)}),
)


@st.composite
def _scenario(draw):
    n = draw(st.integers(1, 6))
    actions = []
    for i in range(n):
        t = draw(st.integers(0, 40))
        otype = draw(st.sampled_from(["limit", "limit", "market", "post_only"]))
        a = {"t": f"{t}ms", "op": "submit", "id": i, "side": draw(st.sampled_from(["buy", "sell"])),
             "qty": draw(st.integers(1, 10)), "type": otype}
        if otype != "market":
            a["price"] = draw(_px)
            a["tif"] = draw(st.sampled_from(["gtc", "ioc", "fok"] if otype == "limit" else ["gtc"]))
        actions.append(a)
        if draw(st.booleans()):
            actions.append({"t": f"{t + draw(st.integers(0, 20))}ms", "op": "cancel", "id": i})
    return {
        "instrument": {"tick_size": 0.01, "lot_size": 1},
        "latency": {"entry": f"{draw(st.integers(0, 5))}ms", "response": f"{draw(st.integers(0, 5))}ms",
                    "feed": f"{draw(st.integers(0, 5))}ms"},
        "fees": {"maker_bps": draw(st.sampled_from([-2, 0, 1])), "taker_bps": draw(st.sampled_from([-1, 0, 5]))},
        "queue_model": draw(st.sampled_from(["risk_averse", "power_prob_2", "log_prob"])),
        "exchange": draw(st.sampled_from(["partial_fill", "no_partial_fill"])),
        "book": {"bids": [[99.99, 5], [99.98, 5]], "asks": [[100.01, 5], [100.02, 5]]},
        "events": draw(st.lists(_event, max_size=12)),
        "actions": actions,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenario())
def test_scenario_invariants(data):
    sc = parse_scenario(data)
    res = run_scenario(sc)
    qty = {a.id: a.qty for a in sc.actions if a.op == "submit"}
    side = {a.id: a.side for a in sc.actions if a.op == "submit"}
    filled = dict.fromkeys(qty, 0)
    finished: set = set()
    signed = 0
    maker_bps, taker_bps = data["fees"]["maker_bps"], data["fees"]["taker_bps"]
    for r in sorted(res["trace"], key=lambda r: (r["exch_ts"] or 0)):  # venue order
        if r["source"] != "venue":
            continue
        if r["status"] in ("FILLED", "PARTIALLY_FILLED"):
            assert r["id"] not in finished  # a cancelled / expired / filled order never fills afterwards
            filled[r["id"]] += r["qty"]
            assert filled[r["id"]] <= qty[r["id"]]
            signed += side[r["id"]] * r["qty"]
            bps = maker_bps if r["liquidity"] == "maker" else taker_bps
            assert r["fee"] == 0 or (r["fee"] > 0) == (bps > 0)
            if r["status"] == "FILLED":
                finished.add(r["id"])
        elif r["status"] in ("CANCELED", "EXPIRED", "REJECTED"):
            finished.add(r["id"])
    assert res["position"] == signed == res["gateway"]["position"]
    assert res["trades"] == sum(1 for r in res["trace"] if r["status"] in ("FILLED", "PARTIALLY_FILLED"))
    assert run_scenario(sc) == res  # deterministic


def test_gateway_tracks_working_size_through_replaces():
    res = run_file(SCEN / "replace_queue.yaml")
    assert res["gateway"]["working_buy"] == 4  # order 2, replaced to 4 lots, still working


def test_cancel_of_a_working_emulated_order_cancels_its_child():
    # an iceberg buy 4 @ 99.99 shown 1: I#1 sent at 1ms (NEW 3ms); the cancel at 5ms ends the iceberg and cancels
    # I#1 (at the venue 6ms, CANCELED 7ms); nothing more is sent, a later print fills nothing
    sc = parse_scenario({
        "instrument": {"tick_size": 0.01, "lot_size": 1},
        "latency": {"entry": "1ms", "response": "1ms"},
        "book": {"bids": [[100.0, 5]], "asks": [[100.01, 5]]},
        "events": [{"t": "10ms", "kind": "trade", "aggressor": "sell", "price": 99.99, "qty": 5}],
        "actions": [{"t": "1ms", "op": "submit", "id": "I", "side": "buy", "type": "iceberg", "price": 99.99,
                     "qty": 4, "display": 1},
                    {"t": "5ms", "op": "cancel", "id": "I"}],
    })
    res = run_scenario(sc)
    assert compact(res) == [(1.0, "I", "working", "I#1", None, None),
                            (3.0, "I#1", "NEW", None, None, 1, None, None),
                            (5.0, "I", "cancelled", None, None, None),
                            (7.0, "I#1", "CANCELED", None, None, 0, None, None)]
    assert res["position"] == 0 and res["gateway"]["decisions"] == 2


@st.composite
def _emulated_scenario(draw):
    """Random emulated orders (every type, GTD, cancels, OCO pairs) on random markets."""
    n = draw(st.integers(1, 5))
    actions, ids = [], []
    for i in range(n):
        t = draw(st.integers(0, 30))
        kind = draw(st.sampled_from(["stop", "stop_limit", "trailing_stop", "iceberg", "bracket", "limit"]))
        a = {"t": f"{t}ms", "op": "submit", "id": i, "side": draw(st.sampled_from(["buy", "sell"])),
             "qty": draw(st.integers(1, 6)), "type": kind}
        if kind in ("stop", "stop_limit", "bracket"):
            a["stop"] = draw(_px)
        if kind in ("stop_limit", "iceberg", "bracket", "limit"):
            a["price"] = draw(_px)
        if kind == "trailing_stop":
            a["offset"] = draw(st.sampled_from([0.01, 0.02, 0.05]))
        if kind == "iceberg":
            a["display"] = draw(st.integers(1, 3))
        if kind == "bracket":
            a["take_profit"] = draw(_px)
        if kind in ("stop", "stop_limit", "trailing_stop", "bracket") and draw(st.booleans()):
            a["trigger"] = draw(st.sampled_from(["trade", "mid"]))
        if kind == "limit" or draw(st.booleans()):
            a["expire"] = f"{draw(st.integers(1, 30))}ms"
        actions.append(a)
        ids.append((t, i))
        if draw(st.booleans()):
            actions.append({"t": f"{t + draw(st.integers(0, 20))}ms", "op": "cancel", "id": i})
    if len(ids) >= 2 and draw(st.booleans()):
        (ta, a), (tb, b) = ids[0], ids[1]
        actions.append({"t": f"{max(ta, tb)}ms", "op": "oco", "ids": [a, b]})
    return {
        "instrument": {"tick_size": 0.01, "lot_size": 1},
        "latency": {"entry": f"{draw(st.integers(0, 3))}ms", "response": f"{draw(st.integers(0, 3))}ms",
                    "feed": f"{draw(st.integers(0, 3))}ms"},
        "trigger": draw(st.sampled_from(["trade", "mid"])),
        "limits": {"max_order_qty": draw(st.sampled_from([2, 6]))},
        "book": {"bids": [[99.99, 5], [99.98, 5]], "asks": [[100.01, 5], [100.02, 5]]},
        "events": draw(st.lists(_event, max_size=12)),
        "actions": actions,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_emulated_scenario())
def test_emulated_order_invariants(data):
    sc = parse_scenario(data)
    res = run_scenario(sc)
    qty = {str(a.id): a.qty for a in sc.actions if a.op == "submit"}
    status: dict = {}  # emulated order (its id as a string) -> its last state
    filled: dict = {}
    for r in res["trace"]:
        if r["source"] == "emulator":
            before = status.get(str(r["id"]))
            assert before in (None, "held", "working")  # no row after an order is done
            assert r["status"] != "held" or before is None  # held only from its placement
            assert (r["child"] is not None) == (r["status"] == "working")
            assert (r["status"] == "rejected") == ("reason" in r)
            status[str(r["id"])] = r["status"]
        elif r["status"] in ("FILLED", "PARTIALLY_FILLED"):
            parent = r["id"].rsplit("#", 1)[0]  # every order here is an emulated order's child
            assert status[parent] != "held"
            filled[parent] = filled.get(parent, 0) + r["qty"]
    for oid, lots in filled.items():
        assert lots <= qty.get(oid, lots)  # (a bracket's legs: the lots of the fill that placed them)
    assert set(status) >= {str(a.id) for a in sc.actions if a.op == "submit"}  # every order has rows
    assert res["position"] == res["gateway"]["position"]
    assert res["trades"] == sum(1 for r in res["trace"] if r["status"] in ("FILLED", "PARTIALLY_FILLED"))
    assert run_scenario(sc) == res  # deterministic


def test_an_action_names_its_own_trigger():
    # the file's trigger is trade; M watches the mid. 10ms the 100.00 bids leave: mid 100.00 (> 99.99). 20ms a
    # print at 99.99 (seen 20.1ms) releases T only: filled at the 99.99 bid (22.1ms). 30ms the 99.99 bids leave (no
    # mid), then 5 bid at 99.97: mid (99.97 + 100.01) / 2 = 99.99 releases M (30.1ms): filled at 99.97 (32.1ms)
    sc = parse_scenario({
        "instrument": {"tick_size": 0.01, "lot_size": 1},
        "latency": {"entry": "1ms", "response": "1ms", "feed": "100us"},
        "trigger": "trade",
        "book": {"bids": [[100.0, 10], [99.99, 10]], "asks": [[100.01, 10]]},
        "events": [{"t": "10ms", "kind": "depth", "side": "buy", "price": 100.0, "qty": 0},
                   {"t": "20ms", "kind": "trade", "aggressor": "sell", "price": 99.99, "qty": 1},
                   {"t": "30ms", "kind": "depth", "side": "buy", "price": 99.99, "qty": 0},
                   {"t": "30ms", "kind": "depth", "side": "buy", "price": 99.97, "qty": 5}],
        "actions": [{"t": "1ms", "op": "submit", "id": "M", "side": "sell", "type": "stop", "stop": 99.99, "qty": 1,
                     "trigger": "mid"},
                    {"t": "1ms", "op": "submit", "id": "T", "side": "sell", "type": "stop", "stop": 99.99,
                     "qty": 1}],
    })
    assert compact(run_scenario(sc)) == [
        (1.0, "M", "held", None, 9999, None), (1.0, "T", "held", None, 9999, None),
        (20.1, "T", "working", "T#1", 9999, None),
        (22.1, "T#1", "NEW", None, None, 1, None, None), (22.1, "T#1", "FILLED", 9999, 1, 0, "taker", 0),
        (22.1, "T", "filled", None, 9999, None),
        (30.1, "M", "working", "M#1", 9999, None),
        (32.1, "M#1", "NEW", None, None, 1, None, None), (32.1, "M#1", "FILLED", 9997, 1, 0, "taker", 0),
        (32.1, "M", "filled", None, 9999, None)]
