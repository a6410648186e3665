"""A strategy's own mode (`GatewayService.set_strategy_mode`): cancel_only / disabled refuse that strategy's new
orders and replaces and let its cancels pass, on the per-intent and the batch paths alike; other strategies trade."""

import numpy as np
import pytest
from gwkit import Gw

from hft.core.errors import GatewayError
from hft.core.orders import (
    BUY,
    INTENT_CANCEL,
    INTENT_DTYPE,
    INTENT_NEW,
    R_OK,
    R_STRATEGY_CANCEL_ONLY,
    R_STRATEGY_DISABLED,
)


def test_cancel_only_refuses_new_and_replace_but_not_cancel():
    g = Gw()
    d = g.new(price=1000)
    assert d.accepted
    assert g.svc.set_strategy_mode("s1", "cancel_only") == "enabled"
    assert g.svc.strategy_modes() == {"s1": "cancel_only"}
    assert g.new().reason == R_STRATEGY_CANCEL_ONLY
    assert g.replace(d.order_id, 995, 1).reason == R_STRATEGY_CANCEL_ONLY
    assert g.new(strat="s2").accepted  # another strategy trades on
    assert g.cancel(d.order_id).accepted
    assert g.svc.set_strategy_mode("s1", "disabled") == "cancel_only"
    assert g.new(key=777).reason == R_STRATEGY_DISABLED
    assert g.new(key=777).reason == R_STRATEGY_DISABLED and g.records[-1].duplicate  # decided once, deduplicated
    assert g.svc.set_strategy_mode("s1", "enabled") == "disabled"
    assert g.svc.strategy_modes() == {} and g.new().accepted


def test_a_duplicate_of_an_accepted_order_still_answers_the_original():
    g = Gw()
    d = g.new(key=5)
    g.svc.set_strategy_mode("s1", "cancel_only")
    again = g.new(key=5)
    assert again.accepted and again.duplicate and again.order_id == d.order_id


def _intents(svc, strategies: tuple[str, ...], kinds: list[int] | None = None) -> np.ndarray:
    """Limit buys of one lot at 1000 on A1 / AAA, one per strategy named (new orders unless ``kinds`` says)."""
    it = np.zeros(len(strategies), dtype=INTENT_DTYPE)
    it["kind"] = kinds if kinds is not None else INTENT_NEW
    it["account"] = svc.account_id("A1")
    it["strategy"] = [svc.strategy_id(s) for s in strategies]
    it["symbol"] = svc.symbol_id("AAA")
    it["side"] = BUY
    it["price"] = 1000
    it["qty"] = 1
    it["order_type"] = 1
    it["tif"] = 1
    return it


def test_the_batch_path_decides_as_the_per_intent_path():
    g = Gw()
    svc = g.svc
    svc.set_strategy_mode("s2", "cancel_only")
    it = _intents(svc, ("s1", "s2", "s1", "s2", "s1"), kinds=[INTENT_NEW] * 3 + [INTENT_CANCEL, INTENT_NEW])
    it["key"] = [1, 2, 3, 4, 5]
    it["order_id"] = [0, 0, 0, 99, 0]
    out = svc.process_batch(it)
    assert out["reason"].tolist()[:3] == [R_OK, R_STRATEGY_CANCEL_ONLY, R_OK] and out["reason"][4] == R_OK
    assert out["reason"][3] != R_STRATEGY_CANCEL_ONLY  # a cancel passes the mode (unknown order 99 here)
    assert out["order_id"][[0, 2, 4]].tolist() == [1, 2, 3] and out["seq"].tolist() == sorted(out["seq"].tolist())
    sent = sum(len(b) for b in g.dispatcher.batches)
    assert sent == 3


def test_an_unknown_mode_or_strategy_is_refused():
    g = Gw()
    with pytest.raises(GatewayError):
        g.svc.set_strategy_mode("s1", "paused")
    with pytest.raises(GatewayError):
        g.svc.set_strategy_mode("nope", "disabled")


def test_check_batch_sees_the_mode_after_the_global_policy():
    from hft.core.orders import MODE_REJECT_ALL, R_POLICY_REJECT_ALL

    g = Gw()
    svc = g.svc
    svc.set_strategy_mode("s1", "disabled")
    it = _intents(svc, ("s1", "s2"))
    assert svc.check_batch(it).tolist() == [R_STRATEGY_DISABLED, R_OK]
    svc.set_mode(MODE_REJECT_ALL)
    assert svc.check_batch(it).tolist() == [R_POLICY_REJECT_ALL] * 2
