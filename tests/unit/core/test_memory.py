"""The simulator keeps freed memory for its next run (`hft.core.memory`): measured as the kernel's minor page
faults of a repeated run, in a fresh process each (the policy is process-wide)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_RUNS = r"""
import json, resource, sys
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
import hft.core.memory as m
print(json.dumps({"faults": faults, "hashes": sorted(hashes), "kept": m.keep_freed_memory()}))
"""


def _faults(day: str, keep: bool) -> dict:
    env = {**os.environ, "HFT_KEEP_FREED_MEMORY": "1" if keep else "0"}
    r = subprocess.run([sys.executable, "-c", _RUNS, day], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator policy")
def test_a_repeated_run_reuses_memory_instead_of_faulting_in_fresh_pages(shared_data):
    day = str(shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip")
    kept = _faults(day, keep=True)
    off = _faults(day, keep=False)
    assert kept["kept"] is True and off["kept"] is False
    assert kept["hashes"] == off["hashes"] and len(kept["hashes"]) == 1  # the same runs either way
    # the last runs, warm: without the policy each run faults its fresh tables and logs in (~1,300 pages on this
    # day); with it, they are the last run's memory
    warm_kept, warm_off = min(kept["faults"][1:]), min(off["faults"][1:])
    assert warm_off > 400, off
    assert warm_kept < warm_off / 4, (kept, off)
