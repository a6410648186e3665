import json

import numpy as np
import pytest
from gwkit import Gw, config

from hft.core.errors import GatewayError
from hft.core.orders import BUY, NO_KEY, R_KEY_REUSED, R_OK, R_POSITION_LIMIT
from hft.gateway import kernels as K
from hft.gateway.dedup import DedupStore, dedup_key
from hft.gateway.kernels import new_arena, views


def test_dedup_key_forms():
    assert dedup_key(5) == 5
    assert dedup_key("abc") == dedup_key("abc") != dedup_key("abd")
    assert dedup_key("abc") != NO_KEY
    for bad in (None, 1.5, "", [1], 1 << 63, NO_KEY):
        with pytest.raises((TypeError, ValueError)):
            dedup_key(bad)


def _store(cap=4, ttl=100):
    buf = new_arena(max_accounts=1, max_strategies=1, max_symbols=1, exposure_slots=1, working_orders=2,
                    dedup_capacity=cap)
    views(buf).cfg[0] = ttl  # C_TTL_NS
    return DedupStore(buf)


def test_store_ttl_and_capacity():
    d = _store(cap=3, ttl=100)
    for k in range(1, 4):
        d.commit(k, now=k, reason=R_OK, order_id=10 + k)
    assert len(d) == 3 and d.check(1, now=50).order_id == 11
    d.commit(4, now=60, reason=R_POSITION_LIMIT)  # at capacity: the oldest (1) goes
    assert d.check(1, now=60) is None and d.check(4, now=60).reason == R_POSITION_LIMIT
    assert d.check(2, now=101) is not None and d.check(2, now=102) is None  # ttl from the decision
    assert d.check(4, now=159) is not None and d.check(4, now=160) is None


def test_hit_returns_original_and_dispatches_nothing():
    g = Gw()
    d1 = g.new(key=77)
    n = len(g.dispatcher.commands)
    d2 = g.new(key=77)  # the same request again: the original decision
    assert d2.duplicate and d2.accepted and d2.order_id == d1.order_id and d2.command is None
    d3 = g.new(key=77, qty=3)  # same key, different content: refused (the key is bound to its request)
    assert d3.duplicate and not d3.accepted and d3.reason == R_KEY_REUSED and d3.order_id == d1.order_id
    assert d3.command is None
    assert len(g.dispatcher.commands) == n
    assert g.svc.metrics_snapshot()["dedup_hits"] == 2


def test_rejection_is_remembered_too():
    g = Gw()
    d1 = g.new(key="k1", qty=500)  # max_order_qty is 100, max_position 50
    assert not d1.accepted
    d2 = g.new(key="k1", qty=500)
    assert d2.duplicate and not d2.accepted and d2.reason == d1.reason
    d3 = g.new(key="k1", qty=1)  # a fixed request needs a new key
    assert d3.duplicate and not d3.accepted and d3.reason == R_KEY_REUSED


def test_ttl_on_injected_clock():
    g = Gw(config(dedup_ttl_ns=1_000))
    g.new(key=5)
    g.clock.advance(999)
    assert g.new(key=5).duplicate
    g.clock.advance(1)
    d = g.new(key=5)
    assert not d.duplicate and d.accepted


def test_persist_restart_load(tmp_path):
    path = tmp_path / "dedup.json"
    g = Gw(config(dedup_persist_path=str(path)))
    first = [g.new(key=k) for k in (1, 2, 3)]
    assert g.svc.shutdown() == 3
    doc = json.loads(path.read_text())
    assert doc["format"] == "hft.gateway.dedup/1" and len(doc["entries"]) == 3

    g2 = Gw(config(dedup_persist_path=str(path)))
    g2.clock.set(g.clock.now_ns())
    assert g2.svc.start() == 3
    again = g2.new(key=2)
    assert again.duplicate and again.order_id == first[1].order_id and not g2.dispatcher.commands
    fresh = g2.new(key=4)
    assert fresh.accepted and fresh.order_id > max(d.order_id for d in first)  # ids never reused


def test_load_skips_expired_and_rejects_garbage(tmp_path):
    path = tmp_path / "dedup.json"
    g = Gw(config(dedup_persist_path=str(path), dedup_ttl_ns=100))
    g.new(key=1)
    g.svc.shutdown()
    g2 = Gw(config(dedup_persist_path=str(path), dedup_ttl_ns=100))
    g2.clock.set(g.clock.now_ns() + 100)
    assert g2.svc.start() == 0
    path.write_text("{not json")
    with pytest.raises(GatewayError):
        g2.svc.start()


def test_cold_restart_forgets(tmp_path):
    g = Gw()
    g.new(key=9)
    g2 = Gw()  # no persistence: replay risk, documented
    assert not g2.new(key=9).duplicate


def _ring(svc) -> np.ndarray:
    """The dedup window's ring rows of a service's arena (a view)."""
    st = views(svc.arena)
    return st.dde


@pytest.mark.parametrize("seed", [1, 2])
def test_private_arena_decides_as_a_zeroed_one_whatever_its_dedup_rows_held(seed):
    """`GatewayService(private_arena=True)` leaves the dedup ring's rows unset (`new_arena(zero_dedup_rows=False)`).
    Rows holding garbage (here: random values, every key and expiry among them) change no decision, no dedup hit,
    expiry or eviction, and every live row is written whole (an export reads no garbage)."""
    rng = np.random.default_rng(seed)
    cfg = config(dedup_capacity=16, dedup_ttl_ns=50_000)
    plain, private = Gw(cfg), Gw(cfg, private_arena=True)
    assert not plain.svc.private_arena and private.svc.private_arena
    assert not _ring(plain.svc).any()
    _ring(private.svc)[:] = rng.integers(-(2**62), 2**62, size=_ring(private.svc).shape)
    keys = rng.integers(1, 40, size=400)  # repeats: hits within the window, expiries and evictions beyond it
    steps = rng.integers(0, 3_000, size=400)
    out = []
    for g in (plain, private):
        got = []
        for k, dt in zip(keys.tolist(), steps.tolist(), strict=True):
            g.clock.advance(dt)
            d = g.new(key=int(k), side=BUY if k % 2 else -BUY, price=1000 + k % 3)
            got.append((d.accepted, d.duplicate, d.reason, d.order_id))
        ctr = views(g.svc.arena).ctr
        live = np.zeros((16, 8), dtype=np.int64)
        n = K.dd_export(g.svc.arena, live)
        counts = {k: int(ctr[c]) for k, c in (("hits", K.K_DEDUP_HITS), ("evicted", K.K_DD_EVICTED),
                                                ("expired", K.K_DD_EXPIRED), ("entries", K.K_DD_COUNT))}
        out.append((got, counts, live[:n].tolist()))
    assert out[0] == out[1]
    assert out[0][1]["hits"] > 0 and out[0][1]["evicted"] > 0 and out[0][1]["expired"] > 0


def test_a_private_arena_is_never_snapshotted():
    with pytest.raises(GatewayError, match="private arena"):
        Gw(private_arena=True).svc.snapshot_state()  # what hft.live.snapshot writes out
