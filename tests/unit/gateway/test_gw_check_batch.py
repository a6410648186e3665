"""`kernels.check_batch`: the read-only batch pre-trade check equals `dry_run` (RiskEngine.evaluate) row by row
and leaves the state untouched."""

import numpy as np
from gwkit import ACCTS, STRATS, SYMS, Gw, config, intent_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hft.core.orders import (
    BUY,
    INTENT_CANCEL,
    INTENT_DTYPE,
    INTENT_NEW,
    INTENT_REPLACE,
    MODE_ALLOW_ALL,
    MODE_CANCEL_ONLY,
    MODE_REJECT_ALL,
    NO_OPTIONS,
    ORDER_LIMIT,
    ORDER_MARKET,
    R_BAD_KIND,
    R_EXPOSURE_CARDINALITY,
    R_OK,
    R_ORDER_PENDING,
    R_POLICY_CANCEL_ONLY,
    R_POLICY_REJECT_ALL,
    R_UNKNOWN_ORDER,
    REPORT_FILL,
    SELL,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway import kernels as K
from hft.gateway.config import LimitSet
from hft.gateway.intents import ExecutionReport

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

row_st = st.tuples(
    st.sampled_from([INTENT_NEW] * 6 + [INTENT_CANCEL, INTENT_REPLACE]), st.integers(0, 2), st.integers(0, 2),
    st.integers(-1, 3), st.sampled_from([BUY, SELL, BUY, SELL, 0]), st.integers(-5, 1200),
    st.integers(-2, 130), st.sampled_from([ORDER_LIMIT] * 4 + [ORDER_MARKET, 0, 7]),
    st.sampled_from([TIF_GTC] * 4 + [TIF_IOC, 0, 9]), st.integers(0, 40))
setup_st = st.lists(st.tuples(st.sampled_from(SYMS), st.sampled_from(STRATS), st.sampled_from(ACCTS),
                              st.sampled_from([BUY, SELL]), st.integers(900, 1100), st.integers(1, 30),
                              st.booleans()), max_size=25)


def _gw() -> Gw:
    return Gw(config(strategies={"s1": LimitSet(max_repeats=2), "s2": LimitSet(max_order_qty=20)},
                     self_match_prevention=True))


def _populate(g: Gw, ops) -> None:
    for sym, strat, acct, side, px, qty, fill in ops:
        d = g.new(side=side, price=px, qty=qty, sym=sym, strat=strat, acct=acct)
        if d.accepted and fill:
            g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), d.order_id, REPORT_FILL, price=px,
                                                      qty=qty, leaves=0))
        g.clock.advance(1_000)


@given(setup_st, st.lists(row_st, min_size=1, max_size=40), st.sampled_from([MODE_ALLOW_ALL, MODE_CANCEL_ONLY,
                                                                             MODE_REJECT_ALL]))
@SETTINGS
def test_check_batch_equals_dry_run_and_writes_nothing(ops, rows, mode):
    g = _gw()
    _populate(g, ops)
    svc = g.svc
    arr = np.zeros(len(rows), dtype=INTENT_DTYPE)
    for i, (kind, a, t, y, side, px, qty, ot, tif, oid) in enumerate(rows):
        arr[i] = intent_row(key=100 + i, price=px, qty=qty, order_id=oid, account=a, strategy=t, symbol=y,
                            kind=kind, side=side, order_type=ot, tif=tif)
    now = g.clock.now_ns()
    before = svc.arena.copy()
    out = np.full(len(rows), -1, dtype=np.int64)
    n_ok = K.check_batch(svc.arena, arr, out, now, mode)
    # nothing but the symbols' conservative self-match bounds may move
    sym_off, n_sym_rows, w = (int(v) for v in svc.arena[K.H_BASE + 3 * K.T_SYM: K.H_BASE + 3 * K.T_SYM + 3])
    mask = np.ones(len(before), dtype=bool)
    for y in range(n_sym_rows):
        mask[sym_off + y * w + K.Y_MAX_BID] = False
        mask[sym_off + y * w + K.Y_MIN_ASK] = False
    assert np.array_equal(svc.arena[mask], before[mask])
    assert n_ok == int((out == R_OK).sum())
    for i, (kind, a, t, y, side, px, qty, ot, tif, oid) in enumerate(rows):
        if kind == INTENT_NEW:
            if mode == MODE_REJECT_ALL:
                exp = R_POLICY_REJECT_ALL
            elif mode == MODE_CANCEL_ONLY:
                exp = R_POLICY_CANCEL_ONLY
            else:
                probe = before.copy()  # dry_run may create the slot: evaluate each row on the untouched state
                exp = int(K.dry_run(probe, now, a, t, y, side, px, qty, ot, tif, NO_OPTIONS))
        elif kind == INTENT_CANCEL:
            live = svc.working_orders()
            own = [w for w in live if w["order_id"] == oid]
            if not (0 <= a < len(ACCTS) and 0 <= t < len(STRATS) and 0 <= y < len(SYMS)):
                exp = int(out[i])  # unknown registry index: checked by the test below
                assert exp != R_OK
            elif not own or (own[0]["account"], own[0]["strategy"], own[0]["symbol"]) != (ACCTS[a], STRATS[t],
                                                                                          SYMS[y]):
                exp = R_UNKNOWN_ORDER
            else:
                exp = R_ORDER_PENDING if own[0]["status"] == K.OS_PENDING_CANCEL else R_OK
        else:
            exp = R_BAD_KIND
        assert int(out[i]) == exp, (i, rows[i], int(out[i]), exp)


def test_check_batch_cardinality_without_creating_slots():
    g = Gw(config(exposure_max_symbols=2))
    d1 = g.new(sym="AAA")
    d2 = g.new(sym="BBB")
    assert d1.accepted and d2.accepted
    arr = np.zeros(2, dtype=INTENT_DTYPE)
    arr[0] = intent_row(key=1, price=1000, qty=1, symbol=2, kind=INTENT_NEW, side=BUY, order_type=ORDER_LIMIT,
                        tif=TIF_GTC)  # CCC: no slot, table full
    arr[1] = intent_row(key=2, price=1000, qty=1, kind=INTENT_NEW, side=BUY, order_type=ORDER_LIMIT,
                        tif=TIF_GTC)  # AAA: existing slot
    out = np.zeros(2, dtype=np.int64)
    K.check_batch(g.svc.arena, arr, out, g.clock.now_ns(), MODE_ALLOW_ALL)
    assert out[0] == R_EXPOSURE_CARDINALITY and out[1] == R_OK
    assert out[0] == K.dry_run(g.svc.arena.copy(), g.clock.now_ns(), 0, 0, 2, BUY, 1000, 1, ORDER_LIMIT, TIF_GTC, NO_OPTIONS)
    # once an order is gone (cancelled + reported) its slot is evictable: dry_run would evict and pass
    g.cancel(d1.order_id)
    from hft.core.orders import REPORT_CANCELED
    g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), d1.order_id, REPORT_CANCELED))
    K.check_batch(g.svc.arena, arr, out, g.clock.now_ns(), MODE_ALLOW_ALL)
    assert out[0] == R_OK
    assert g.svc.exposure.get(0, 0, 0).live_orders == 0  # nothing evicted by the check


def test_service_check_batch():
    g = Gw()
    arr = np.zeros(3, dtype=INTENT_DTYPE)
    arr[0] = intent_row(key=1, price=1000, qty=1, kind=INTENT_NEW, side=BUY, order_type=ORDER_LIMIT,
                        tif=TIF_GTC)
    arr[1] = intent_row(key=2, price=1000, qty=1000, kind=INTENT_NEW, side=BUY, order_type=ORDER_LIMIT,
                        tif=TIF_GTC)
    arr[2] = intent_row(key=3, account=9, kind=INTENT_NEW, side=BUY, order_type=ORDER_LIMIT, tif=TIF_GTC)
    out = g.svc.check_batch(arr)
    assert [g.svc.risk.evaluate(g.clock.now_ns(), int(r["account"]), int(r["strategy"]), int(r["symbol"]),
                                int(r["side"]), int(r["price"]), int(r["qty"])) for r in arr] == out.tolist()
    assert out[0] == R_OK and out[1] != R_OK and out[2] != R_OK
    assert g.svc.metrics_snapshot()["accepted"] == 0  # checks decide nothing
