"""`hft warmup` as the README's install line runs it: every step runs (the replays, and `hft gateway serve` in a
child process taking TCP and HTTP orders) and the JSON names each step with what it compiled."""

from __future__ import annotations

from tests.cli.conftest import run_hft

STEPS = ("generated L3 day: import, verify, inspect", "L3 replays (mm; a Python strategy, recorded latencies)", "book features", "L2 replay (mm)",
         "several instruments: L3 and L2 legs (hedged_mm, mm)", "Binance capture: import, verify, replay",
         "live service: TCP and HTTP orders")


def test_warmup_runs_every_step_including_the_live_service(tmp_path):
    r = run_hft("warmup", "--json", env={"HFT_HOME": str(tmp_path / "home")}, timeout=1800)
    assert r.code == 0, r.err[-2000:]
    d = r.json()
    assert d["ok"] and tuple(d["steps"]) == STEPS
    assert d["kernels_compiled"] == sum(s["kernels_compiled"] for s in d["steps"].values())
    assert d["steps"]["live service: TCP and HTTP orders"]["seconds"] > 0
    assert "Traceback" not in r.err
