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
