"""`hft warmup` as the README's test command runs it: every step runs (the replays, and `hft gateway serve` in a
child process taking TCP and HTTP orders) and the JSON names each step with what it compiled, in the steps' own
order whichever of its two processes ran them; on one CPU it runs every step itself. A failed second process
fails the command in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hft.cli._lanes import Lane, finish_lane
from hft.core.errors import HftError
from tests.cli.conftest import HFT, Run, run_hft

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

STEPS = ("generated L3 day: import, verify, inspect; DBN MBO, vendor events",
         "L3 replays (mm; a Python strategy, recorded latencies)", "book features", "L2 replay (mm)",
         "a strategy kernel with the full context (L2, L3)", "several instruments: two L3 legs (hedged_mm)",
         "several instruments: two and three L2 legs (hedged_mm, mm)", "Binance capture: import, verify, replay",
         "live service: TCP and HTTP orders", "known-answer self-test of every kernel family")


def _check(r: Run) -> dict:
    assert r.code == 0, r.err[-2000:]
    d = r.json()
    assert d["ok"] and tuple(d["steps"]) == STEPS
    assert d["kernels_compiled"] == sum(s["kernels_compiled"] for s in d["steps"].values())
    assert d["steps"]["live service: TCP and HTTP orders"]["seconds"] > 0
    assert d["cpu_target"]  # the target the kernels were compiled for and checked on
    assert "Traceback" not in r.err
    return d


def test_warmup_runs_every_step_including_the_live_service(tmp_path):
    d = _check(run_hft("warmup", "--json", env={"HFT_HOME": str(tmp_path / "home")}, timeout=1800))
    assert d["processes"] == (2 if len(os.sched_getaffinity(0)) > 1 else 1)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux's")
def test_warmup_on_one_cpu_runs_every_step_in_one_process(tmp_path):
    cpu = min(os.sched_getaffinity(0))
    p = subprocess.run([sys.executable, "-c", f"import os, sys; os.sched_setaffinity(0, {{{cpu}}}); "
                        f"os.execv({str(HFT)!r}, [{str(HFT)!r}, 'warmup', '--json'])"],
                       capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "HFT_HOME": str(tmp_path / "home")})
    assert _check(Run(p.returncode, p.stdout, p.stderr))["processes"] == 1


def test_a_failed_second_process_is_one_line(tmp_path: Path):
    out, err = tmp_path / "lane2.json", tmp_path / "lane2.err"
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; print('working'); "
                                 "sys.stderr.write('Traceback ...\\nRuntimeError: boom\\n\\n'); sys.exit(3)"],
                                stdout=fo, stderr=fe)
    with pytest.raises(HftError) as e:
        finish_lane(Lane(proc, out, err, "hft warmup --lane 2 --json"))
    assert str(e.value) == ("the second process (hft warmup --lane 2 --json) failed with exit code 3: "
                            "RuntimeError: boom")
