"""`hft sim scenario` through the real `hft` console script, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCEN = ROOT / "config" / "sim" / "scenarios"
HFT = Path(sys.executable).with_name("hft")


def hft(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    full.pop("HFT_DEBUG", None)
    return subprocess.run([str(HFT), *args], capture_output=True, text=True, cwd=ROOT,
                          env=full, timeout=300)


def test_table_output():
    p = hft("sim", "scenario", str(SCEN / "cancel_fill_race.yaml"))
    assert p.returncode == 0, p.stderr
    for word in ("FILLED", "CANCEL_REJECTED", "CANCELED", "100.00", "position"):
        assert word in p.stdout


def test_emulated_orders_in_the_table():
    p = hft("sim", "scenario", str(SCEN / "bracket.yaml"), env={"COLUMNS": "160"})
    assert p.returncode == 0, p.stderr
    for word in ("B.tp1#1", "sent B.tp1#1", "held", "stop 99.97", "cancelled", "filled"):
        assert word in p.stdout
    p = hft("sim", "scenario", str(SCEN / "child_rejected.yaml"), "--json")
    rows = json.loads(p.stdout)["trace"]
    assert [(r["id"], r["status"], r.get("reason"), r["stop_dec"]) for r in rows] == [
        ("R", "held", None, "100.02"), ("K", "rejected", "MAX_ORDER_QTY", None),
        ("R", "rejected", "MAX_ORDER_QTY", "100.02")]


def test_json_output_is_deterministic_across_hash_seeds():
    a = hft("sim", "scenario", str(SCEN / "marketable_and_market.yaml"), "--json", env={"PYTHONHASHSEED": "1"})
    b = hft("sim", "scenario", str(SCEN / "marketable_and_market.yaml"), "--json", env={"PYTHONHASHSEED": "2"})
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout
    res = json.loads(a.stdout)
    assert res["ok"] is True
    assert (res["position"], res["balance"], res["fees_paid"], res["trades"]) == (2, -20089.0028, 69.0028, 6)
    assert [r["status"] for r in res["trace"] if r["id"] == "L2"] == ["NEW", "PARTIALLY_FILLED", "FILLED"]


def test_bad_inputs_exit_nonzero_without_traceback(tmp_path):
    bad_qm = tmp_path / "qm.yaml"
    bad_qm.write_text("instrument: {tick_size: 0.01, lot_size: 1}\nqueue_model: fifo\n")
    p = hft("sim", "scenario", str(bad_qm))
    assert p.returncode == 11 and "queue_model" in p.stderr and "Traceback" not in p.stderr

    bad_cancel = tmp_path / "cancel.yaml"
    bad_cancel.write_text("instrument: {tick_size: 0.01, lot_size: 1}\nactions:\n  - {t: 1ms, op: cancel, id: 9}\n")
    p = hft("sim", "scenario", str(bad_cancel), "--json")
    assert p.returncode == 14 and "Traceback" not in p.stderr  # SimError
    err = json.loads(p.stdout)
    assert err["ok"] is False and err["error"] == "SimError" and err["key"] == "actions[0].id"

    bad_stop = tmp_path / "stop.yaml"
    bad_stop.write_text("instrument: {tick_size: 0.01, lot_size: 1}\nactions:\n"
                        "  - {t: 1ms, op: submit, id: s, side: sell, type: stop, stop: 99.995, qty: 1}\n")
    p = hft("sim", "scenario", str(bad_stop))
    assert p.returncode == 11 and "actions[0].stop" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1

    p = hft("sim", "scenario", str(tmp_path / "missing.yaml"))
    assert p.returncode == 11 and p.stderr.startswith("error:")
