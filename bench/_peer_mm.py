"""The peer's quote-at-touch market maker, one njit kernel for every comparison with hftbacktest (L2 days in
`bench_sim.py`, the LOBSTER day's market-by-order replay in `_peer_l3.py`): the rule of our built-in `mm`, written
against the peer's API, with no gateway."""

from __future__ import annotations

from typing import Any


def peer_mm_kernel() -> Any:
    """``peer_mm(hbt, lot, max_pos, oid0, skip_crossed) -> orders sent`` (njit; built lazily so that numba and
    hftbacktest load only when the peer is measured)."""
    from numba import njit

    @njit
    def peer_mm(hbt, lot, max_pos, oid0, skip_crossed):
        """Quote `lot` at the touch on both sides; on every touch change cancel the off-touch quotes and quote the
        sides without one (post-only, GTX); stop quoting a side at max position. Order ids from ``oid0 + 1``;
        with `skip_crossed` no quote while the peer's book is crossed (its L3 book can be, between messages)."""
        oid = oid0
        last_bid = 0.0
        last_ask = 0.0
        n_orders = 0
        while True:
            r = hbt.wait_next_feed(True, 1 << 62)
            if r == 1:
                break
            if r != 2 and r != 3:
                continue
            depth = hbt.depth(0)
            bid = depth.best_bid
            ask = depth.best_ask
            if bid == last_bid and ask == last_ask and r == 2:
                continue
            last_bid = bid
            last_ask = ask
            hbt.clear_inactive_orders(0)
            have_buy = False
            have_sell = False
            values = hbt.orders(0).values()
            while True:
                o = values.next()
                if o is None:
                    break
                if o.side == 1:
                    have_buy = True
                    if o.cancellable and o.price != bid:
                        hbt.cancel(0, o.order_id, False)
                else:
                    have_sell = True
                    if o.cancellable and o.price != ask:
                        hbt.cancel(0, o.order_id, False)
            pos = hbt.position(0)
            uncrossed = bid < ask or not skip_crossed
            if not have_buy and pos < max_pos * lot and bid == bid and uncrossed:  # bid == bid: not NaN
                oid += 1
                n_orders += 1
                hbt.submit_buy_order(0, oid, bid, lot, 1, 0, False)
            if not have_sell and pos > -max_pos * lot and ask == ask and uncrossed:
                oid += 1
                n_orders += 1
                hbt.submit_sell_order(0, oid, ask, lot, 1, 0, False)
        return n_orders

    return peer_mm
