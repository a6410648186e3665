"""What the paper venue's write-ahead journal costs a command (`hft.live.paper_journal.Journal`, issue 54): one
record written and flushed to disk (``fsync``) per command, as the venue does, against one ``fsync`` per turn of the
feed (the records of a turn written, then one flush: a group commit) and no ``fsync`` at all (a process crash
loses nothing, a power cut may lose the tail). Records are the venue's own ``new`` records (about 300 bytes).

Each variant appends `--records` records to a fresh file in `--dir` (default: a temporary directory beside the
repository, on the filesystem a service's WAL is usually on), `--rounds` times, interleaved. Reported per record:
the CPU time of the process (``time.process_time``, what the writer's thread spends: the syscall's work) and, for
information only, the wall time (the disk's wait: meaningless on a shared, loaded machine; never quote it as a
speed). Writes ``bench/results/bench_paper_journal.json``.

Run: ``.venv/bin/python bench/bench_paper_journal.py [--records 2000] [--turn 8] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info, write_result  # noqa: E402


def _record(i: int) -> dict:
    return {"op": "new", "id": i, "pos": 10_000 + i, "t": 1_718_976_600_000_000_000 + i * 1_000_000, "side": 1,
            "price": 10_000, "qty": 5, "type": 1, "tif": 1,
            "opt": {"trigger": 0, "expire": 0, "display": 0, "trail": 0}, "xt": -1, "acct": "ACC1", "strat": "mm1",
            "sym": "MSFT"}


def _run(folder: Path, variant: str, n: int, turn: int) -> tuple[float, float]:
    from hft.live.paper_journal import Journal

    path = folder / f"{variant}.jsonl"
    path.unlink(missing_ok=True)
    j = Journal(path, fsync=variant == "fsync_per_command")
    j.read()
    recs = [_record(i) for i in range(n)]
    c0, w0 = time.process_time(), time.perf_counter()
    for k, r in enumerate(recs):
        j.append(r)
        if variant == "fsync_per_turn" and (k + 1) % turn == 0:
            os.fsync(j._fd)
    if variant == "fsync_per_turn":
        os.fsync(j._fd)
    c1, w1 = time.process_time(), time.perf_counter()
    j.close()
    return (c1 - c0) / n * 1e6, (w1 - w0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--turn", type=int, default=8, help="records per turn of the feed (one fsync each)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None)
    a = ap.parse_args()
    variants = ("fsync_per_command", "fsync_per_turn", "no_fsync")
    out: dict[str, dict[str, list[float]]] = {v: {"cpu_us": [], "wall_us": []} for v in variants}
    base = a.dir or HERE.parent
    with tempfile.TemporaryDirectory(dir=base, prefix=".bench-journal-") as d:
        for _ in range(a.rounds):
            for v in variants:
                cpu, wall = _run(Path(d), v, a.records, a.turn)
                out[v]["cpu_us"].append(round(cpu, 2))
                out[v]["wall_us"].append(round(wall, 2))
    res = {"records": a.records, "turn": a.turn, "rounds": a.rounds, "dir_fs": str(base),
           "per_record": {v: {"cpu_us_median": statistics.median(x["cpu_us"]),
                              "wall_us_median_not_a_speed": statistics.median(x["wall_us"]), **x}
                          for v, x in out.items()},
           "machine": machine_info()}
    print(write_result("bench_paper_journal", res))
    for v, x in res["per_record"].items():
        print(f"{v:18s} cpu {x['cpu_us_median']:8.1f} us/record   (wall {x['wall_us_median_not_a_speed']:8.1f} us: "
              "loaded machine, not a speed)")


if __name__ == "__main__":
    main()
