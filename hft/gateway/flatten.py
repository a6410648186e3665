"""``storm.flatten_on_halt``: after a trip to HALT has cancelled every working order, close every open
position with an internal marketable order, through the same pipeline (decided, recorded, dispatched).

Each non-flat (account, strategy, symbol) gets one IOC limit order on the closing side for the whole
position, priced at the edge of the price band through the symbol's reference price (the reference price
itself when no band is set; `kernels.flatten_price`). The orders are internal (no key, no rate limits, allowed
past the daily-loss check, the self-match check (the own orders they could cross are being cancelled by the
same stop) and the REJECT_ALL mode they are sent in); every other rule still holds (max order quantity,
position, band), and a denial is recorded like any decision. No reference price: nothing can be
priced, the position is left open (logged).
"""

from __future__ import annotations

import logging
from typing import Any

from hft.core.orders import INTENT_NEW, MODE_ALLOW_ALL, ORDER_LIMIT, TIF_IOC
from hft.gateway import kernels as K
from hft.gateway.intents import Decision

log = logging.getLogger("hft.gateway")


def flatten_positions(gw: Any, cause: str) -> list[Decision]:
    """Send the closing orders of every open position of `gw` (a `GatewayService`); returns their decisions."""
    now = gw.clock.now_ns()
    decisions = []
    for row in gw.exposure.used_slots():
        pos = int(row[K.Z_POS])
        if pos == 0:
            continue
        a, t, y = int(row[K.Z_ACCT]), int(row[K.Z_STRAT]), int(row[K.Z_SYM])
        side = -1 if pos > 0 else 1
        names = (gw._acct_names[a], gw._strat_names[t], gw._sym_names[y])
        price = int(K.flatten_price(gw.arena, a, t, y, side))
        if price <= 0:
            log.error("%s: cannot flatten %s/%s/%s (position %d): no reference price", cause, *names, pos)
            continue
        decisions.append(gw.internal_intent(INTENT_NEW, a, t, y, side=side, price=price, qty=abs(pos),
                                            order_type=ORDER_LIMIT, tif=TIF_IOC, mode=MODE_ALLOW_ALL, now=now))
    if decisions:
        log.warning("%s: flatten_on_halt sent %d closing orders", cause, sum(d.accepted for d in decisions))
    return decisions
