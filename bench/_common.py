"""Shared benchmark helpers: medians of repeated runs, machine facts, atomic JSON results.

Benchmarks import this as ``from _common import …`` (bench/ is put on sys.path by the script itself) and write
``bench/results/<name>.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
if str(REPO) not in sys.path:  # appended: a tree on PYTHONPATH (an A/B of trees, `tree_child`) stays the one imported
    sys.path.append(str(REPO))


def shared_data() -> Path | None:
    """``<repo>/../shared/data`` when present (recorded quotes are never part of the repository)."""
    p = REPO.parent / "shared" / "data"
    return p if p.is_dir() else None


def summarise(times: list[float], items: int | None = None) -> dict[str, Any]:
    """Median / min / max of run times in seconds, and items per second at the median."""
    med = statistics.median(times)
    out: dict[str, Any] = {"runs": len(times), "median_s": round(med, 6), "min_s": round(min(times), 6),
                           "max_s": round(max(times), 6)}
    if items is not None:
        out["items"] = int(items)
        out["per_s_median"] = round(items / med) if med > 0 else None
        out["per_s_best"] = round(items / min(times)) if min(times) > 0 else None
    return out


def paired_ratio(ours: list[float], peer: list[float]) -> dict[str, Any]:
    """Speed ratios peer time / our time of each interleaved repeat (> 1: ours faster): their median and
    quartiles. Each pair ran back to back, so a slow spell of the shared machine hits both sides of a pair; the
    ratio of the two medians mixes different spells and wanders more from run to run."""
    ratios = sorted(p / o for o, p in zip(ours, peer, strict=True) if o > 0)
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return {"pairs": len(ratios), "median": round(statistics.median(ratios), 4), "q1": round(q[0], 4),
            "q3": round(q[2], 4)}


def time_runs(fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1) -> list[float]:
    """Wall times (s) of `repeat` calls of `fn` after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def machine_info() -> dict[str, Any]:
    """What the figures were measured on (load average included: this machine is shared)."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with contextlib.suppress(OSError):
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    for mod in ("numpy", "numba", "polars"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    return info


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` atomically (temp file + rename)."""
    return write_json(RESULTS / f"{name}.json", data)


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write `data` to `path` atomically (temp file + rename), in the results files' format (two-space indent)."""
    from hft.core.fileio import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    return path


def carry_over(path: str | Path, result: dict[str, Any], earlier: tuple[str, ...] = ()) -> dict[str, Any]:
    """`result` plus every section of the results file at `path` that this run did not write: the sections a
    session recorded beside a bench's own (lists of runs too), kept as they are, so that a run never drops them.
    A carried section named in `earlier` (a comparison this run skipped) is marked with the machine of the run
    that measured it (a section carried twice keeps that first machine)."""
    path = Path(path)
    if not path.is_file():
        return result
    prev = json.loads(path.read_text())
    out = dict(result)
    for key, value in prev.items():
        if key in out:
            continue
        out[key] = ({"measured_in_an_earlier_run": prev.get("machine", {}), **value}
                    if key in earlier and isinstance(value, dict) else value)
    return out


def tree_child(script: str | Path, args: list[str], tree: str) -> dict[str, Any]:
    """Run ``script --child ARGS`` with the source tree `tree` on PYTHONPATH (an A/B of trees in turns): the JSON of
    its last stdout line (what `child_result` printed)."""
    out = subprocess.run([sys.executable, str(script), "--child", *args], env={**os.environ, "PYTHONPATH": tree},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_result(run: Callable[[], Any], home: str | Path) -> None:
    """A child's side of `tree_child`: print `run()`'s result as one JSON line, then remove its scratch `home`
    (the WAL and the venue journal of the run) whatever happened."""
    try:
        print(json.dumps(run()), flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def add_section(name: str, key: str, data: dict[str, Any]) -> Path:
    """Store `data` under `key` of ``bench/results/<name>.json``, keeping the file's other sections."""
    path = RESULTS / f"{name}.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    current[key] = data
    return write_result(name, current)
