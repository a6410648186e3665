"""The order API's answer to a denial names the field it concerns (`hft.live.orders.decision_body`)."""

from __future__ import annotations

import msgspec

from hft.core.orders import BUY, SELL
from hft.live.orders import decision_body, encode
from tests.unit.gateway.gwkit import Gw


def test_limit_and_self_match_denials_name_their_field():
    """POSITION_LIMIT and SELF_MATCH answered ``field: ""``; the size and the price are what they concern."""
    g = Gw()
    assert g.new(side=SELL, price=1002, strat="s2").accepted
    denied = [g.new(side=BUY, price=1002), g.new(side=BUY, price=1000, qty=60)]  # max_position 50
    got = {b.reason: b.field for b in (decision_body(d, "c") for d in denied)}
    assert got == {"SELF_MATCH": "price", "POSITION_LIMIT": "qty"}
    accepted = msgspec.json.decode(encode(decision_body(g.new(price=999, qty=1), "c")))
    assert accepted["accepted"] and "field" not in accepted  # only a denial names a field
