"""glibc's keep-freed-memory policy (`hft.core.memory`) is the caller's to set: building and running engines leaves
the process's allocator as it was, and a program that opts in (`keep_freed_memory`, as `hft replay sweep` does) gets a
repeated run's memory back instead of fresh pages. Measured as the kernel's minor page faults of repeated runs, in
a fresh process each (the policy is process-wide)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_RUNS = r"""
import json, resource, sys
if sys.argv[2] == "opt-in":
    from hft.core.memory import keep_freed_memory
    assert keep_freed_memory()
from hft.sim.replay import ReplayConfig, build_engine
from hft.sim.strategies import make_strategy
from hft.data.sources import open_market_data
md = open_market_data([sys.argv[1]])
cfg = ReplayConfig(strategies={"mm": {"size": 1}})

def run():
    eng, mult = build_engine(md, make_strategy("mm", {"size": 1}), "mm", cfg)
    return eng.run(multiplier=mult).run_hash

faults = []
hashes = set()
for _ in range(4):
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    hashes.add(run())
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
print(json.dumps({"faults": faults, "hashes": sorted(hashes)}))
"""


def _faults(day: str, mode: str) -> dict:
    r = subprocess.run([sys.executable, "-c", _RUNS, day, mode], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator policy")
def test_engines_leave_the_allocator_alone_and_an_opt_in_reuses_freed_memory(shared_data):
    day = str(shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip")
    plain = _faults(day, "plain")
    kept = _faults(day, "opt-in")
    assert kept["hashes"] == plain["hashes"] and len(plain["hashes"]) == 1  # the same runs either way
    # the last runs, warm: with glibc's own policy (nothing set by the engines) each run faults its fresh tables and
    # logs in (~1,300 pages on this day); opted in, they are the last run's memory
    warm_kept, warm_plain = min(kept["faults"][1:]), min(plain["faults"][1:])
    assert warm_plain > 400, plain
    assert warm_kept < warm_plain / 4, (kept, plain)
