"""A numba strategy kernel with the full context (docs/extending.md, "Numba strategy kernels"): it reads the depth,
its order's queue position, the last trade prints and its account. Run it:

    hft replay -d LOBSTER_SampleFile_GOOG_2012-06-21_10.zip -s docs/examples/queue_quote.py:QueueQuoteNb
"""

from typing import ClassVar

from numba import njit

from hft.sim.kernel_api import (
    AC_NTRADES,
    AC_POS,
    BUY,
    DP_BID,
    DP_BID_QTY,
    IN_CANCEL,
    IN_KIND,
    IN_ORDER_ID,
    IN_PRICE,
    IN_QTY,
    IN_SIDE,
    IN_SUBMIT,
    LTOP_ASK,
    LTOP_BID,
    NO_PRICE,
    S_NORD,
    S_PARAMS,
    SELL,
    SO_ID,
    SO_PRICE,
    SO_QUEUE,
    SO_SIDE,
    SO_STATUS,
    SO_WORKING,
    TR_SIDE,
    KernelStrategy,
)


@njit(cache=True)
def _put(intents, n, kind, side, price, qty, order_id):
    intents[n, IN_KIND], intents[n, IN_SIDE], intents[n, IN_PRICE] = kind, side, price
    intents[n, IN_QTY], intents[n, IN_ORDER_ID] = qty, order_id
    return n + 1


@njit(cache=True)
def queue_quote(st, ltop, sord, intents, depth, trades, acct):
    """Rest one buy at the best bid. When more than k_pct % of the bid level's quantity is ahead of it in the
    queue and the last print was not a sell, move it inside the spread (bid + 1). At max_position, stop buying
    and offer the position at the best ask (following
    it)."""
    bid, ask = ltop[LTOP_BID], ltop[LTOP_ASK]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    size, max_position, k_pct = st[S_PARAMS], st[S_PARAMS + 1], st[S_PARAMS + 2]
    pos = acct[AC_POS]
    buy = sell = -1
    for j in range(st[S_NORD]):  # the last one of each side wins
        if sord[j, SO_SIDE] == BUY:
            buy = j
        else:
            sell = j
    n = 0
    if pos >= max_position:
        if buy >= 0 and sord[buy, SO_STATUS] == SO_WORKING:
            n = _put(intents, n, IN_CANCEL, 0, 0, 0, sord[buy, SO_ID])
        if sell < 0:
            n = _put(intents, n, IN_SUBMIT, SELL, ask, pos, 0)
        elif sord[sell, SO_STATUS] == SO_WORKING and sord[sell, SO_PRICE] != ask:
            n = _put(intents, n, IN_CANCEL, 0, 0, 0, sord[sell, SO_ID])  # offered again at the ask next time
        return n
    if buy < 0:
        return _put(intents, n, IN_SUBMIT, BUY, bid, size, 0)
    if sord[buy, SO_STATUS] != SO_WORKING:
        return 0
    price = sord[buy, SO_PRICE]
    if price < bid or price >= ask:
        return _put(intents, n, IN_CANCEL, 0, 0, 0, sord[buy, SO_ID])
    if price == bid and ask - bid > 1:
        level = 0
        for i in range(depth.shape[0]):  # our level's quantity in the local book
            if depth[i, DP_BID] == price:
                level = depth[i, DP_BID_QTY]
        nt = acct[AC_NTRADES]
        sold = nt > 0 and trades[nt - 1, TR_SIDE] == SELL
        if sord[buy, SO_QUEUE] * 100.0 > k_pct * 1.0 * level and not sold:
            n = _put(intents, n, IN_CANCEL, 0, 0, 0, sord[buy, SO_ID])
            n = _put(intents, n, IN_SUBMIT, BUY, bid + 1, size, 0)
    return n


class QueueQuoteNb(KernelStrategy):
    name = "queue_quote_nb"
    nb_kernel = queue_quote  # seven arguments: the full context
    DEFAULTS: ClassVar[dict[str, int]] = {"size": 1, "max_position": 5, "k_pct": 50}
    depth_levels = 10  # rows of `depth`
    trade_history = 4  # rows of `trades`
