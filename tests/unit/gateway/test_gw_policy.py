from gwkit import Gw, config

from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    MODE_ALLOW_ALL,
    MODE_CANCEL_ONLY,
    MODE_REJECT_ALL,
    R_OK,
    R_ORDER_PENDING,
    R_POLICY_CANCEL_ONLY,
    R_POLICY_REJECT_ALL,
    STORM_DEGRADED,
    STORM_HALT,
    STORM_NORMAL,
)
from hft.gateway.config import StormConfig
from hft.gateway.policy import GatewayPolicy, PolicyTransition, StormGuard


def test_gate_and_modes():
    seen = []
    p = GatewayPolicy(StormGuard(10), on_transition=seen.append)
    assert p.gate(INTENT_NEW) == R_OK
    p.trip(STORM_DEGRADED, "market_move", now=0)
    assert p.mode == MODE_CANCEL_ONLY and p.gate(INTENT_NEW) == R_POLICY_CANCEL_ONLY
    assert p.gate(INTENT_CANCEL) == R_OK
    p.set_manual(MODE_REJECT_ALL, "ops", now=1)
    assert p.gate(INTENT_NEW) == R_POLICY_REJECT_ALL and p.gate(INTENT_CANCEL) == R_OK
    assert [t.new_mode for t in seen] == [MODE_CANCEL_ONLY, MODE_REJECT_ALL]
    assert all(isinstance(t, PolicyTransition) for t in seen)


def test_cooldown_hysteresis_step_by_step():
    g = StormGuard(cooldown_ns=100)
    g.trip(STORM_HALT, "position_breach", now=0)
    assert not g.tick(99)
    g.trip(STORM_DEGRADED, "position_breach", now=50)  # a new trigger restarts the cooldown, level stays
    assert g.level == STORM_HALT and not g.tick(120)
    assert g.tick(150) and g.level == STORM_DEGRADED
    assert not g.tick(200)  # each step needs its own quiet cooldown
    assert g.tick(250) and g.level == STORM_NORMAL


def test_latching_cause_needs_reset():
    g = StormGuard(cooldown_ns=10, latching=frozenset({"daily_loss"}))
    g.trip(STORM_HALT, "daily_loss", now=0)
    assert not g.tick(10**12) and g.level == STORM_HALT
    g.clear()
    assert g.level == STORM_NORMAL


def test_service_kill_reset_and_auto_recovery():
    g = Gw(config(storm=StormConfig(cooldown_ns=1_000, market_move_bps=100, market_move_window_ns=10**9)))
    d = g.new()
    g.clock.advance(1)
    assert g.svc.mark("AAA", 1100) & 4  # +10% > 1% within the window -> market move
    assert g.svc.mode == MODE_CANCEL_ONLY
    assert g.new().reason == R_POLICY_CANCEL_ONLY
    # cancels pass the policy gate; this one finds the trip's own cancel in flight (the emergency stop acted)
    assert g.cancel(d.order_id).reason == R_ORDER_PENDING
    g.clock.advance(1_000)
    assert g.new(price=1100).accepted  # recovered after the cooldown (checked inside process)
    assert g.svc.mode == MODE_ALLOW_ALL
    trs = [r for r in g.records if isinstance(r, PolicyTransition)]
    assert [t.cause for t in trs] == ["market_move", "cooldown_recovery"]

    live = g.new(price=1100)
    decs = g.svc.kill("ops")
    assert any(x.target_id == live.order_id and x.accepted for x in decs)
    assert g.svc.mode == MODE_REJECT_ALL and g.svc.storm_level == STORM_HALT
    assert g.new(price=1100).reason == R_POLICY_REJECT_ALL
    g.clock.advance(10**12)
    assert g.new(price=1100).reason == R_POLICY_REJECT_ALL  # kill latches
    g.svc.reset("ops")
    assert g.new(price=1100).accepted
