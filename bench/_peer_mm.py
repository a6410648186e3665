"""The peer's quote-at-touch market maker, one njit kernel for every comparison with hftbacktest (L2 days in
`bench_sim.py`, the LOBSTER day's market-by-order replay in `_peer_l3.py`, several LOBSTER instruments in one
backtest): the rule of our built-in `mm`, written against the peer's API, with no gateway."""

from __future__ import annotations

from typing import Any


def peer_mm_kernel() -> Any:
    """``peer_mm(hbt, n_assets, lot, max_pos, oid0, skip_crossed) -> orders sent`` (njit; built lazily so that
    numba and hftbacktest load only when the peer is measured)."""
    import numpy as np
    from numba import njit

    @njit
    def peer_mm(hbt, n_assets, lot, max_pos, oid0, skip_crossed):
        """Quote `lot` at the touch on both sides of each of the backtest's first `n_assets` assets, each on its
        own book (our `mm` on every leg); on every touch change cancel the off-touch quotes and quote the sides
        without one (post-only, GTX); stop quoting a side at max position. Order ids from ``oid0 + 1``; with
        `skip_crossed` no quote while the peer's book is crossed (its L3 book can be, between messages). The
        peer's ``wait_next_feed`` does not say which asset's feed arrived, so every asset's touch is looked at
        (as the peer's own multi-asset examples do)."""
        oid = oid0
        last_bid = np.zeros(n_assets)
        last_ask = np.zeros(n_assets)
        n_orders = 0
        while True:
            r = hbt.wait_next_feed(True, 1 << 62)
            if r == 1:
                break
            if r != 2 and r != 3:
                continue
            for a in range(n_assets):
                depth = hbt.depth(a)
                bid = depth.best_bid
                ask = depth.best_ask
                if bid == last_bid[a] and ask == last_ask[a] and r == 2:
                    continue
                last_bid[a] = bid
                last_ask[a] = ask
                hbt.clear_inactive_orders(a)
                have_buy = False
                have_sell = False
                values = hbt.orders(a).values()
                while True:
                    o = values.next()
                    if o is None:
                        break
                    if o.side == 1:
                        have_buy = True
                        if o.cancellable and o.price != bid:
                            hbt.cancel(a, o.order_id, False)
                    else:
                        have_sell = True
                        if o.cancellable and o.price != ask:
                            hbt.cancel(a, o.order_id, False)
                pos = hbt.position(a)
                uncrossed = bid < ask or not skip_crossed
                if not have_buy and pos < max_pos * lot and bid == bid and uncrossed:  # bid == bid: not NaN
                    oid += 1
                    n_orders += 1
                    hbt.submit_buy_order(a, oid, bid, lot, 1, 0, False)
                if not have_sell and pos > -max_pos * lot and ask == ask and uncrossed:
                    oid += 1
                    n_orders += 1
                    hbt.submit_sell_order(a, oid, ask, lot, 1, 0, False)
        return n_orders

    return peer_mm
