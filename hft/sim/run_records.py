"""The simulator's run logs, declared once as records (`hft.core.records`) from the order-flow records
(`hft.core.orders`): what every engine writes and the run hash covers (decisions, orders, fills), the equity
samples and the ACK log. Both engines and the independent reference (`hft.sim.reference`) build their arrays with
these dtypes, so a run's bytes (and its run hash) compare across them.

The order log keeps some fields of the commands sent; the fill log is the venue's report of a fill plus when it
reached the strategy and the order's side; the ACK log (per order: when its ACK reached the strategy, its queue
ahead at entry, lots, -1: never rested) is not covered by the run hash (a diagnostic for the tearsheet).
"""

from __future__ import annotations

from hft.core.orders import COMMAND, DECISION, VENUE_REPORT
from hft.core.records import Field, Record

ORDER_LOG = COMMAND.project("order_log", ("ts", "order_id", "price", "qty", "action", "side", "order_type", "tif"),
                            "the simulator's order log: the commands sent")
ORDER_LOG_DTYPE = ORDER_LOG.dtype
FILL_LOG = VENUE_REPORT.layout("fill_log", ("ts", "local_ts", "order_id", "price", "qty", "leaves", "fee",
                                            "fee_frac", "side", "kind", "liquidity"), (
    Field("local_ts", "time", "ns UTC", "when the report reached the strategy"), COMMAND.field("side")),
    "the simulator's fill log: a fill of ours")
FILL_LOG_DTYPE = FILL_LOG.dtype
# a fill's fee is exact: ``fee + fee_frac / 1e6`` money units; a leg's fees likewise ``fees + fee_frac / 1e6``, and
# its exact cash ``cash - fee_frac / 1e6`` (`hft.sim.fees`)
EQUITY = Record("equity", (
    Field("ts", "time", "ns UTC", "the sample's time"),
    Field("mid2", "i8", "ticks x 2", "twice the mid price (0: no mid)"),
    Field("position", "i8", "lots", "signed position"),
    Field("cash", "i8", "money units", "-sum(side * price * qty * multiplier) - fees (exact: cash - fee_frac / 1e6)"),
    Field("fees", "i8", "money units", "fees paid so far, whole units (exact: fees + fee_frac / 1e6)"),
    Field("fee_frac", "i8", "millionths", "millionths of a money unit beyond fees (0 <= . < 1e6)"),
    Field("bid", "i8", "ticks", "best bid"),
    Field("ask", "i8", "ticks", "best ask"),
), "the simulator's equity samples")
EQUITY_DTYPE = EQUITY.dtype
# a run over several instruments: which leg each order id belongs to (covered by that run's hash)
ORDER_LEG = Record("order_leg", (
    Field("order_id", "i8", "id"),
    Field("leg", "i8", "index", "the order's leg (the instruments' order in the run)"),
), "the leg of an order of a run over several instruments")
ORDER_LEG_DTYPE = ORDER_LEG.dtype
ACK_LOG = VENUE_REPORT.layout("ack_log", ("order_id", "ack_ts", "queue"), (
    Field("ack_ts", "time", "ns UTC", "when the order's ACK reached the strategy"),), "the simulator's ACK log")
ACK_LOG_DTYPE = ACK_LOG.dtype
# the decision log (what the run hash covers and a run folder's decisions.parquet holds): a projection of the
# gateway's decision record (`hft.core.orders.DECISION`); accepted / duplicate are int8 there, as they always were
DECISION_LOG = DECISION.project("decision_log", ("seq", "ts", "order_id", "target_id", "price", "qty", "reason",
                                                 "kind", "side", "accepted", "duplicate"),
                                "the simulator's decision log", types={"accepted": "i1", "duplicate": "i1"})
DECISION_LOG_DTYPE = DECISION_LOG.dtype
