"""`LiveGateway.apply_reports`: the order views follow the reports the gateway applied, not those it refused."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from hft.core.orders import EXEC_REPORT_DTYPE, REPORT_ACK, REPORT_PARTIAL_FILL
from hft.live.engine import LiveGateway
from tests.unit.gateway.gwkit import Gw


def test_views_skip_the_reports_the_gateway_refused():
    """A fill at price 0 (a venue's bad report) was shown as a fill of the order although the gateway refused
    it, so the order page and the gateway's position disagreed."""
    g = Gw()
    live = LiveGateway(g.svc, None, SimpleNamespace(send=lambda cmd: None), clock_ns=lambda: 2_000_000_000)
    d = g.new(qty=5)
    assert d.accepted
    live.orders.add(d.order_id, "c1", 0, 0, 0, 1, 1000, 5, 1)
    reps = np.zeros(3, EXEC_REPORT_DTYPE)
    for r, (kind, price, qty, leaves) in zip(reps, [(REPORT_ACK, 0, 0, 5), (REPORT_PARTIAL_FILL, 0, 1, 4),
                                                    (REPORT_PARTIAL_FILL, 1000, 2, 3)], strict=True):
        r["order_id"], r["kind"], r["price"], r["qty"], r["leaves"] = d.order_id, kind, price, qty, leaves
    live.apply_reports(reps)
    view = live.orders.get(d.order_id).body()
    assert (view["filled"], view["leaves"], view["status"]) == (2, 3, "partially_filled")
    assert [f["price"] for f in view["fills"]] == [1000]
    assert g.svc.position("A1", "s1", "AAA").position == 2  # the gateway's count, the same
    assert len(live._journal) == 1 and len(live._journal[0]) == 3  # journalled as received


def test_a_fill_the_gateway_cannot_book_leaves_books_and_views_alone():
    """Fills whose value, fee or position would not fit int64 (a venue's report at int64's edges) are refused by the
    gateway (F_BAD_REPORT) and the views skip them: no wrapped position, cost, PnL or filled count anywhere."""
    i64_max, i64_min = 2**63 - 1, -(2**63)
    g = Gw(mark=None)
    live = LiveGateway(g.svc, None, SimpleNamespace(send=lambda cmd: None), clock_ns=lambda: 2_000_000_000)
    d = g.new(qty=5)
    live.orders.add(d.order_id, "c1", 0, 0, 0, 1, 1000, 5, 1)
    bad = [(i64_max, 2, 0), (2**62, 4, 0), (1, 1, i64_min), (1, i64_max, 0)]  # the last: position 1 + I64_MAX
    reps = np.zeros(1 + len(bad), EXEC_REPORT_DTYPE)
    reps[0]["price"], reps[0]["qty"], reps[0]["leaves"] = 1000, 1, 4  # a good fill first: position 1
    for r, (price, qty, fee) in zip(reps[1:], bad, strict=True):
        r["price"], r["qty"], r["fee"], r["leaves"] = price, qty, fee, 4
    reps["order_id"], reps["kind"] = d.order_id, REPORT_PARTIAL_FILL
    live.apply_reports(reps)
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.position, e.cost, e.realised) == (1, 1000, 0)
    view = live.orders.get(d.order_id).body()
    assert (view["filled"], [f["price"] for f in view["fills"]]) == (1, [1000])
    assert g.svc.pnl(strategy="s1") == {"realised": 0, "unrealised": 0, "total": 0}
