import math

import numpy as np
import pytest
from gwkit import ACCTS, SYMS, Gw, config

from hft.core.errors import GatewayError
from hft.core.orders import (
    BUY,
    DECISION_DTYPE,
    EXEC_REPORT_DTYPE,
    INTENT_DTYPE,
    INTENT_NEW,
    MODE_CANCEL_ONLY,
    R_DISPATCH_FAILED,
    R_GATEWAY_DISABLED,
    R_INTERNAL_ERROR,
    R_OK,
    R_POSITION_LIMIT,
    REPORT_FILL,
)
from hft.gateway import GatewayService, IntentEnvelope, OrderIntent, TypedIntentEnvelope
from hft.gateway.config import SymbolSpec
from hft.gateway.intents import Decision, OrderCommand, from_typed, typed_intent_v1


def test_accepted_decision_and_command():
    g = Gw()
    d = g.new(qty=5)
    assert isinstance(d, Decision) and d.accepted and d.reason == R_OK and d.reason_name == "OK"
    assert d.ts == g.clock.now_ns() and d.order_id == 1 and d.seq >= 1
    assert isinstance(d.command, OrderCommand) and g.dispatcher.commands == [d.command]
    assert d.command.symbol == "AAA" and d.command.qty == 5 and d.command.order_id == 1
    assert g.records[-1] is d
    rec = d.to_record()
    assert rec["reason_name"] == "OK" and rec["command"]["order_id"] == 1


def test_both_envelope_kinds_and_submit():
    g = Gw()
    i = OrderIntent.new("k1", "A1", "s1", "AAA", BUY, 1000, 1)
    assert g.svc.process(IntentEnvelope(i, 5)).accepted
    assert g.svc.submit(i).duplicate
    t = typed_intent_v1(INTENT_NEW, 9, "A1", "s1", "AAA", BUY, 999, 1)
    env = TypedIntentEnvelope(t, 3)
    assert env.intent == from_typed(t)
    d = g.svc.process(env)
    assert d.accepted and d.recv_ts == 3


def test_from_config_yaml(tmp_path):
    from hft.core.clock import ManualClock

    p = tmp_path / "g.yaml"
    p.write_text("accounts: {A: {}}\nstrategies: {s: {}}\nsymbols: {X: {}}\ndedup: {ttl: 2s}\n")
    svc = GatewayService.from_config(p, clock=ManualClock(0), env={"HFT_DEDUP_TTL_S": "7"})
    assert svc.config.dedup_ttl_ns == 7 * 10**9
    assert svc.submit(OrderIntent.new(1, "A", "s", "X", BUY, 10, 1)).accepted



def test_positions_and_pnl_are_exported_in_exact_integer_units():
    """gateway_position / gateway_realised_pnl per (account, strategy, symbol) entry, gateway_strategy_pnl and
    gateway_account_pnl per registered name: the integers `position()` and `pnl()` give (fees rounded once)."""
    from prometheus_client.parser import text_string_to_metric_families

    from hft.core.orders import SELL
    from hft.gateway.intents import ExecutionReport

    g = Gw()
    buy = g.new(qty=3, price=1000)
    g.svc.on_execution_report(ExecutionReport(0, buy.order_id, REPORT_FILL, 1000, 3, 0, fee=1, fee_frac=400_000))
    sell = g.new(side=SELL, qty=1, price=1010)
    g.svc.on_execution_report(ExecutionReport(0, sell.order_id, REPORT_FILL, 1010, 1, 0, fee=0, fee_frac=700_000))
    g.new(qty=2, price=990, sym="BBB", strat="s2")  # working only: position 0, an entry all the same
    fams = {f.name: f for f in text_string_to_metric_families(g.svc.metrics_text())}

    def series(name: str) -> dict[tuple, float]:
        return {tuple(sorted(s.labels.items())): s.value for s in fams[name].samples}

    aaa = (("account", "A1"), ("strategy", "s1"), ("symbol", "AAA"))
    bbb = (("account", "A1"), ("strategy", "s2"), ("symbol", "BBB"))
    assert series("gateway_position") == {aaa: 2, bbb: 0}
    real = g.svc.position("A1", "s1", "AAA").realised
    assert real == 10 - 2 and series("gateway_realised_pnl") == {aaa: real, bbb: 0}  # 10 gained, fees 2.1 -> 2
    strat = series("gateway_strategy_pnl")
    assert strat[(("kind", "realised"), ("strategy", "s1"))] == g.svc.pnl(strategy="s1")["realised"] == real
    assert strat[(("kind", "unrealised"), ("strategy", "s1"))] == g.svc.pnl(strategy="s1")["unrealised"]
    assert {dict(k)["strategy"] for k in strat} == {"s1", "s2"}
    assert {dict(k)["account"] for k in series("gateway_account_pnl")} == {"A1", "A2"}



def test_daily_loss_limits_are_exported_as_the_risk_core_applies_them():
    """gateway_strategy_daily_loss_limit: the strategy's own limit, else the default; an explicitly unlimited one
    has no series. gateway_account_daily_loss_limit: the account's own limit only (no default for accounts)."""
    from prometheus_client.parser import text_string_to_metric_families

    from hft.gateway.config import UNLIMITED, LimitSet

    cfg = config(defaults=LimitSet(max_order_qty=100, max_position=50, daily_loss=700),
                 strategies={"s1": LimitSet(daily_loss=300), "s2": LimitSet(daily_loss=UNLIMITED),
                             "s3": LimitSet()},
                 accounts={"A1": LimitSet(daily_loss=5000), "A2": LimitSet()})
    svc = Gw(cfg).svc
    fams = {f.name: f for f in text_string_to_metric_families(svc.metrics_text())}

    def series(name: str) -> dict[str, float]:
        return {next(iter(s.labels.values())): s.value for s in fams[name].samples}

    assert series("gateway_strategy_daily_loss_limit") == {"s1": 300, "s3": 700}
    assert series("gateway_account_daily_loss_limit") == {"A1": 5000}

def test_unknown_names_are_gateway_errors_naming_the_known_ones():
    """A name the gateway does not know (a lookup from a notebook, a batch built by hand) is a GatewayError listing
    the registered names, not a bare KeyError from its dictionaries."""
    g = Gw()
    g.new(qty=5)
    assert g.svc.symbol_id("AAA") == 0 and g.svc.position("A1", "s1", "AAA").working_buy == 5
    for call, what in ((lambda: g.svc.symbol_id("ZZZ"), "symbol"), (lambda: g.svc.account_id("nope"), "account"),
                       (lambda: g.svc.strategy_id("nope"), "strategy"),
                       (lambda: g.svc.position("A1", "s1", "ZZZ"), "symbol"),
                       (lambda: g.svc.pnl(account="nope"), "account")):
        with pytest.raises(GatewayError, match=rf"^{what}: expected a registered {what} \(one of \[") as exc:
            call()
        assert exc.value.fields["key"] == what


def test_the_service_prints_its_state_in_one_line():
    g = Gw()
    g.new(qty=5)
    assert repr(g.svc) == ("GatewayService(mode=ALLOW_ALL, storm=NORMAL, accounts=2, strategies=2, symbols=3, "
                           "decisions=1, accepted=1, working_orders=1)")

def test_disabled_gateway_rejects_everything():
    g = Gw(config(enabled=False))
    d = g.new()
    assert not d.accepted and d.reason == R_GATEWAY_DISABLED and not g.dispatcher.commands
    out = g.svc.process_batch(np.zeros(2, dtype=INTENT_DTYPE))
    assert (out["reason"] == R_GATEWAY_DISABLED).all()


class Flaky:
    def __init__(self):
        self.n = 0
        self.commands = []

    def put_nowait(self, cmd):
        self.n += 1
        if self.n == 2:
            raise RuntimeError("venue queue broken")
        self.commands.append(cmd)


def test_dispatch_failure_rolls_back():
    g = Gw(dispatcher=Flaky())
    assert g.new(qty=40).accepted
    d = g.new(qty=10, key=42)
    assert not d.accepted and d.reason == R_DISPATCH_FAILED and d.command is None and d.order_id == 2
    assert g.records[-1] is d
    assert g.svc.position("A1", "s1", "AAA").working_buy == 40  # no phantom exposure
    assert g.new(qty=10, key=42).duplicate  # remembered as failed
    assert g.new(qty=10).accepted
    snap = g.svc.metrics_snapshot()
    assert snap["rejects_by_reason"] == {"DISPATCH_FAILED": 1} and snap["accepted"] == 2


def test_internal_error_is_a_decision_and_service_continues(monkeypatch):
    g = Gw()
    real = g.svc._core  # the compiled entry point of kernels.process_one that process() calls
    calls = {"n": 0}

    def boom(*a):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("kaboom")
        return real(*a)

    monkeypatch.setattr(g.svc, "_core", boom)
    d = g.new()
    assert not d.accepted and d.reason == R_INTERNAL_ERROR
    assert g.new().accepted and calls["n"] == 2
    snap = g.svc.metrics_snapshot()
    assert snap["internal_errors"] == 1 and snap["rejects_by_reason"] == {"INTERNAL_ERROR": 1}


def test_broken_sink_does_not_change_decisions():
    g = Gw()

    def bad(rec):
        raise ValueError("disk full")

    g.svc.sink = bad
    assert g.new().accepted and g.svc.sink_errors == 1


def test_batch_path_and_reports_array():
    g = Gw()
    svc = g.svc
    it = np.zeros(4, dtype=INTENT_DTYPE)
    it["kind"] = INTENT_NEW
    it["key"] = [1, 2, 1, 3]
    it["account"] = svc.account_id("A1")
    it["strategy"] = svc.strategy_id("s1")
    it["symbol"] = svc.symbol_id("AAA")
    it["side"] = BUY
    it["price"] = 1000
    it["qty"] = [10, 10, 10, 45]
    it["order_type"] = 1
    it["tif"] = 1
    out = svc.process_batch(it)
    assert out.dtype == DECISION_DTYPE
    assert out["accepted"].tolist() == [1, 1, 1, 0] and out["duplicate"].tolist() == [0, 0, 1, 0]
    assert out["reason"][3] == R_POSITION_LIMIT and out["order_id"][:3].tolist() == [1, 2, 1]
    assert len(g.dispatcher.batches) == 1 and len(g.dispatcher.batches[0]) == 2
    reps = np.zeros(2, dtype=EXEC_REPORT_DTYPE)
    reps["order_id"] = [1, 2]
    reps["kind"] = REPORT_FILL
    reps["price"] = 1000
    reps["qty"] = 10
    svc.on_execution_reports(reps)
    assert svc.position("A1", "s1", "AAA").position == 20
    with pytest.raises(GatewayError):
        svc.process_batch(np.zeros(2))
    # without a batch_sink, batch decisions still reach the record sink
    assert sum(isinstance(r, Decision) for r in g.records) == 4


def test_metrics_snapshot_and_prometheus_text():
    g = Gw(config(timing="stages"))
    g.new()
    g.new(qty=500)
    snap = g.svc.metrics_snapshot()
    assert snap["accepted"] == 1 and snap["rejects_by_reason"] == {"POSITION_LIMIT": 1}
    assert snap["dispatch_latency_ns"]["count"] == 2 and set(snap["stage_latency_ns"]) == {
        "prepare", "core", "dispatch", "record"}
    text = g.svc.metrics_text()
    for name in ("gateway_dispatch_latency_ns_bucket", 'gateway_reject_total{reason="POSITION_LIMIT"} 1.0',
                 "gateway_dedup_hits_total", "gateway_intent_channel_depth", "gateway_stage_latency_ns_bucket"):
        assert name in text
    from prometheus_client import REGISTRY

    assert g.svc.registry is not REGISTRY
    assert "gateway_dispatch_latency_ns" not in {m.name for m in REGISTRY.collect()}


def test_metrics_quantiles_sane():
    from hft.gateway.metrics import Log2Histogram

    h = Log2Histogram()
    for v in (100, 200, 300, 5000):
        h.observe(v)
    assert h.quantile(0.5) == 255 and h.quantile(0.99) == 8191 and not math.isnan(h.total)


def test_latency_histogram_is_exact():
    """The inline-recorded histogram exports exactly what a per-value log2 histogram would."""
    from hft.gateway.metrics import N_BUCKETS, Log2Histogram

    vals = [0, 1, 2, 3, 255, 256, 1999, 2**46, 2**47 - 1, 2**47, 2**50, 2**63 - 1]
    h = Log2Histogram()
    for v in vals:
        h.observe(v)
    want = [0] * N_BUCKETS
    for v in vals:
        want[min(v.bit_length(), N_BUCKETS - 1)] += 1
    assert h.buckets == want and h.count == len(vals) and h.total == sum(vals)
    assert h.cumulative()[-1] == ("+Inf", len(vals)) and h.cumulative()[-2][1] == len(vals)


def test_process_records_one_latency_per_decision():
    ticks = iter(range(0, 10**9, 700))  # every timer read advances 700 ns: each process() takes 700 ns
    g = Gw(timer=lambda: next(ticks))
    for _ in range(5):
        g.new()
    g.new(qty=500)  # a rejection is timed too
    g.new(key=1)  # and a duplicate
    lat = g.svc.metrics_snapshot()["dispatch_latency_ns"]
    assert lat["count"] == 7 and lat["sum_ns"] == 7 * 700 and lat["p50_ns_le"] == 1023
    assert 'gateway_dispatch_latency_ns_bucket{le="1023.0"} 7.0' in g.svc.metrics_text()
    off = Gw(config(timing="off"))
    off.new()
    assert off.svc.metrics_snapshot()["dispatch_latency_ns"]["count"] == 0


def test_working_orders_and_kill_cancels_all():
    g = Gw()
    ids = {g.new(price=1000 - i).order_id for i in range(3)}
    g.new(side=-1, price=1010, strat="s2")
    assert len(g.svc.working_orders()) == 4
    n = len(g.dispatcher.commands)
    decs = g.svc.kill()
    assert len(decs) == 4 and all(d.accepted for d in decs)
    cancels = g.dispatcher.commands[n:]
    assert {c.order_id for c in cancels} >= ids and all(c.action == 2 for c in cancels)


def test_in_kernel_api_from_a_foreign_njit_function():
    from numba import njit

    from hft.gateway import kernels as K

    @njit
    def engine_step(buf, now, key):
        st = K.kstate(buf)
        code, oid, _seq = K.decide(st, now, 0, key, INTENT_NEW, 0, 0, 0, BUY, 1000, 2, 1, 1, 0, 0)
        flags = K.report(st, now, oid, REPORT_FILL, 1000, 2, 0, 0, 0)
        return code, oid, flags

    g = Gw()
    code, oid, flags = engine_step(g.svc.arena, g.clock.now_ns(), 99)
    assert code == 0 and oid == 1 and flags == 0
    assert g.svc.position("A1", "s1", "AAA").position == 2
    assert g.new(key=99).duplicate  # the same dedup window as the Python path


RECORD_CASES = {
    "accepted": lambda g: g.new(),
    "risk rejection": lambda g: g.new(qty=500),
    "unusable key": lambda g: g.new(key=[1]),
    "malformed field": lambda g: g.new(qty="ten"),
    "bad tag": lambda g: g.svc.process(TypedIntentEnvelope(("typed_intent_v0", *typed_intent_v1(
        INTENT_NEW, 1, "A1", "s1", "AAA", BUY, 1000, 1)[1:]))),
    "unknown symbol": lambda g: g.new(sym="ZZZ"),
    "disabled gateway": lambda g: (setattr(g.svc, "enabled", False), g.new())[1],
    "queue full": lambda g: g.svc.reject_queue_full(TypedIntentEnvelope(typed_intent_v1(
        INTENT_NEW, 1, "A1", "s1", "AAA", BUY, 1000, 1))),
}


@pytest.mark.parametrize("timing", ["dispatch", "stages"])
@pytest.mark.parametrize("case", sorted(RECORD_CASES))
def test_every_decision_is_recorded_exactly_once(case, timing):
    g = Gw(config(timing=timing))
    d = RECORD_CASES[case](g)
    assert g.records == [d] and g.records[0] is d


def test_a_snapshot_state_restores_into_a_fresh_gateway_or_changes_nothing():
    """`restore_state` takes the arena, the names registered after start and the policy of `snapshot_state`;
    a snapshot whose registries are not this gateway's is refused whole (no name of it adopted)."""
    g = Gw()
    g.svc.register_symbol("DDD")  # after start: not in the config
    g.svc.register_account("A3")
    g.new(qty=3)
    g.svc.set_mode(MODE_CANCEL_ONLY, "test")
    state = g.svc.snapshot_state()
    fresh = Gw(mark=None).svc
    assert fresh.restore_state(state) is None
    assert fresh.names("symbol") == [*SYMS, "DDD"] and fresh.indices("symbol")["DDD"] == len(SYMS)
    assert fresh.position("A1", "s1", "AAA").working_buy == 3
    assert fresh.mode == MODE_CANCEL_ONLY
    assert fresh.next_order_id == g.svc.next_order_id
    other = Gw(config(symbols={"ZZZ": SymbolSpec("ZZZ")}), mark=None).svc
    assert "registries differ" in other.restore_state(state)
    assert other.names("symbol") == ["ZZZ"] and other.indices("symbol").get("DDD", -1) == -1
    assert other.names("account") == list(ACCTS)  # its accounts matched, but the snapshot's A3 was not taken


def test_limits_changed_at_runtime_decide_and_survive_a_snapshot_restore():
    """`set_limits` (a config with other limits, `parse_limit_update`) is what the next decision checks; a snapshot
    restores the limits in force into a gateway built from the original config (arena and config alike)."""
    from hft.core.orders import R_MAX_ORDER_QTY, R_OK
    from hft.gateway.config import limit_tables, parse_limit_update

    g = Gw()
    assert g.new(qty=8).reason == R_OK
    g.svc.set_limits(parse_limit_update(g.svc.config, "accounts", "A1", {"max_order_qty": 5}))
    assert g.new(qty=8).reason == R_MAX_ORDER_QTY and g.new(qty=5).reason == R_OK
    assert g.new(qty=8, acct="A2").reason == R_OK  # another account keeps the default
    fresh = Gw(mark=None).svc
    assert fresh.restore_state(g.svc.snapshot_state()) is None
    assert limit_tables(fresh.config) == limit_tables(g.svc.config)
    assert limit_tables(fresh.config)["accounts"]["A1"] == {"max_order_qty": 5}
