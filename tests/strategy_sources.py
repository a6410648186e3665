"""Strategy files as source text, for the tests that write one to disk and run it by path (``-s FILE.py:Class``)."""

from __future__ import annotations

#: one bid kept at the best bid by replacing it (never cancelled): a run that counts its replaces
REPLACE_QUOTER = '''
from hft.core.dtypes import BUY
from hft.sim.strategy import Strategy


class ReplaceQuoter(Strategy):
    """One bid, kept at the best bid by replacing it (never cancelled)."""

    name = "replace_quoter"

    def on_book(self, ctx):
        if ctx.best_bid is None or ctx.position >= 20:
            return
        if not ctx.orders:
            ctx.submit(BUY, ctx.best_bid - 1, 2)
            return
        o = next(iter(ctx.orders.values()))
        if o.status == "working" and o.price != ctx.best_bid:
            ctx.replace(o.order_id, ctx.best_bid, 2)
'''
