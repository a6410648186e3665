"""pty smoke: every long-running `hft` command, run under a pseudo-terminal as a person would run it.

For each command: the exit code is the expected one (0, or 17 where a gate verdict on generated data is a
documented failure), a progress display was drawn when one is expected, and nothing on screen reads
``internal error`` or ``Traceback``. Run by `.ci/run` (step "pty smoke"); the focused pty regression tests are
in ``tests/cli/test_pty.py``::

    python tests/cli/pty_smoke.py [--work DIR] [--demo-lifecycle]

Everything is written under the working folder (HFT_HOME, promotions, research root copies stay out of the
repository). The demo runs with ``--no-lifecycle`` (the alpha commands below walk the lifecycle one by one);
``--demo-lifecycle`` also runs the whole demo.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.cli.pty_run import run_pty
from tests.unit.data.vendor_samples import binance_crossing

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Step:
    args: tuple[str, ...]  # `NEWEST` / `EXPERIMENTS` / `TRIAL` stand for recorded ids, resolved just before the step runs
    progress: str | None  # the label of the progress display that must be drawn (None: none expected)
    codes: tuple[int, ...] = (0,)


NEWEST, EXPERIMENTS, TRIAL = "<newest experiment id>", "<two newest experiment ids>", "<newest id>:<its first trial>"


def resolve(args: tuple[str, ...], env: dict[str, str], cwd: Path) -> tuple[str, ...]:
    """Replace the id placeholders with ids the registry holds (read with ``--json``)."""
    if not {NEWEST, EXPERIMENTS, TRIAL} & set(args):
        return args
    import json
    import os
    import subprocess

    hft = Path(sys.executable).with_name("hft")
    run = subprocess.run([str(hft), "alpha", "experiments", "list", "--json"], env={**os.environ, **env},
                         cwd=cwd, capture_output=True, text=True, check=True)
    ids = [r["experiment_id"] for r in json.loads(run.stdout)["experiments"]]
    show = subprocess.run([str(hft), "alpha", "experiments", "show", ids[0], "--json"], env={**os.environ, **env},
                          cwd=cwd, capture_output=True, text=True, check=True)
    trial = json.loads(show.stdout)["trials"][0]["trial"]
    out: list[str] = []
    for a in args:
        out += (ids[:2] if a == EXPERIMENTS else [f"{ids[0]}:{trial}"] if a == TRIAL else [ids[0]] if a == NEWEST
                else [a])
    return tuple(out)


def steps(work: Path, demo_lifecycle: bool) -> list[Step]:
    day = work / "gen" / "SYNTH_2024-01-02_34200000_57600000_5.zip"
    held = work / "held" / "SYNTH_2024-01-03_34200000_57600000_5.zip"
    observed = work / "observed" / "SYNTH_2024-01-04_34200000_57600000_5.zip"  # canary: newer than Gate D's
    held_b = work / "held_b" / "OTHER_2024-01-03_34200000_57600000_5.zip"  # a second instrument on those days
    observed_b = work / "observed_b" / "OTHER_2024-01-04_34200000_57600000_5.zip"
    pq = work / "day.parquet"
    spec = work / "spec.yaml"
    spec.write_text("search: pty\nalphas: {obi_l1: {smooth: [1, 20]}}\nsubset_sizes: [1]\nweights: [equal]\n"
                    "features: {levels: 1, sampling: 1s, horizons: [1s, 10s]}\ntarget: 10s\nbucket: 2m\ntop_k: 2\n")
    sweep = work / "sweep.yaml"
    sweep.write_text(f"sweep: pty\nstrategy: mm\ngrid: {{edge_ticks: [0, 1]}}\ndata: {{SYNTH: ['{held}'], "
                     f"PAIR: {{SYNTH: ['{held}'], OTHER: ['{held_b}']}}}}\n")  # PAIR: two instruments per cell
    golden = REPO / "tests" / "golden" / "generated_mm.json"
    scenario = REPO / "config" / "sim" / "scenarios" / "cancel_fill_race.yaml"
    gen = ("--messages", "8000", "--levels", "5", "--zip")
    crossing, _ = binance_crossing(work / "binance")  # a capture whose book crosses: verify names its line, exit 12
    out = [
        Step(("warmup",), "warmup"),  # a warm cache: seconds (its live-service step starts a child server)
        Step(("data", "generate", "--out", str(work / "gen"), "--seed", "5", *gen), "generate"),
        Step(("data", "generate", "--out", str(work / "held"), "--seed", "6", "--date", "2024-01-03", *gen),
             "generate"),
        Step(("data", "generate", "--out", str(work / "observed"), "--seed", "7", "--date", "2024-01-04", *gen),
             "generate"),
        *(Step(("data", "generate", "--out", str(work / folder), "--seed", seed, "--symbol", "OTHER", "--date", date,
                *gen), "generate") for folder, seed, date in (("held_b", "8", "2024-01-03"),
                                                                ("observed_b", "9", "2024-01-04"))),
        Step(("data", "import", str(day), "--out", str(pq)), "import"),
        Step(("data", "verify", str(pq)), "verify"),
        Step(("data", "verify", *map(str, crossing)), None, (12,)),
        Step(("data", "inspect", str(pq)), "inspect"),
        Step(("replay", "--data", str(pq), "-s", "mm", "--out", str(work / "run")), "replay"),
        Step(("replay", "-d", str(held), "-d", str(observed), "-s", "mm", "--out", str(work / "run_days")),
             "replay"),
        Step(("replay", "-d", str(held), "-d", str(held_b), "-d", str(observed), "-d", str(observed_b), "-s",
              "hft.sim.strategies.hedged_mm:HedgedMarketMaker", "--out", str(work / "run_days_legs")), "replay"),
        Step(("replay", "sweep", str(sweep), "--workers", "1", "--out", str(work / "sweep")), "sweep"),
        Step(("replay", "--check", str(golden)), "golden check"),
        Step(("replay", "diff", str(work / "run"), str(work / "run")), None),
        Step(("sim", "scenario", str(scenario)), "scenario"),
        Step(("alpha", "scaffold", "pty_alpha"), None),
        Step(("alpha", "validate", "obi_l1", "--data", str(pq)), "validate obi_l1", (0, 17)),
        Step(("alpha", "experiments", "list"), None),
        Step(("alpha", "search", str(spec), "--data", str(pq), "--workers", "1"), "search"),
        Step(("alpha", "experiments", "show", NEWEST), None),
        Step(("alpha", "experiments", "compare", EXPERIMENTS), None),
        Step(("alpha", "experiments", "compare", TRIAL, EXPERIMENTS, "--top", "3"), None),
        Step(("alpha", "pool", "obi_l1", "--data", str(pq)), "pool", (0, 17)),
        Step(("alpha", "promote", "obi_l1", "--data", str(held), "--approver", "pty", "--force", "--reason",
              "pty smoke: walk the lifecycle"), "gate D replay"),
        Step(("alpha", "canary", "obi_l1", "--data", str(observed)), "canary"),
        Step(("alpha", "rl-promote", "--train", str(pq), "--data", str(held), "--config", str(rl_config(work)),
              "--approver", "pty", "--force", "--reason", "pty smoke: walk the lifecycle"),
             "rl-promote: training, gates R, D, E"),
        Step(("alpha", "canary", "rl_mm_q", "--data", str(observed)), "canary"),
        Step(("alpha", "status"), None),
        Step(("audit", "load"), "loading WAL"),
        Step(("audit", "tail", "sim.runs", "-n", "3"), None),
        Step(("demo", "--no-lifecycle", "--messages", "20000", "--out", str(work / "demo")), "demo"),
    ]
    if demo_lifecycle:
        out.append(Step(("demo", "--messages", "20000", "--out", str(work / "demo-full")), "demo"))
    return out


def rl_config(work: Path) -> Path:
    """The shipped RL config with one training episode (what the demo runs)."""
    cfg = work / "rl.yaml"
    cfg.write_text((REPO / "research" / "rl" / "config.yaml").read_text().replace("episodes: 3 ", "episodes: 1 "))
    return cfg


def research_root(work: Path) -> Path:
    """A copy of the repository's research/ (scaffold writes into it; the repository stays untouched)."""
    root = work / "research"
    if not root.exists():
        shutil.copytree(REPO / "research", root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--demo-lifecycle", action="store_true", help="also run the whole demo with its lifecycle")
    a = ap.parse_args(argv)
    work = a.work or Path(tempfile.mkdtemp(prefix="hft-pty-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {"HFT_HOME": str(work / "home"), "HFT_PROMOTIONS_ROOT": str(work / "promotions"),
           "HFT_RESEARCH_ROOT": str(research_root(work))}
    failures = []
    for st in steps(work, a.demo_lifecycle):
        t0 = time.perf_counter()
        args = resolve(st.args, env, work)
        r = run_pty(*args, env=env, cwd=work, timeout=1800)
        problems = []
        if r.code not in st.codes:
            problems.append(f"exit {r.code}, expected {' or '.join(map(str, st.codes))}")
        if "internal error" in r.text or "Traceback" in r.text:
            problems.append("an internal error on screen")
        if st.progress is not None and not r.drew_progress(st.progress):
            problems.append(f"no progress display '{st.progress}' drawn")
        print(f"{'ok  ' if not problems else 'FAIL'} {time.perf_counter() - t0:7.1f}s  hft {' '.join(args)}"
              + (f"  -- {'; '.join(problems)}" if problems else ""), flush=True)
        if problems:
            failures.append(r.describe())
    for f in failures:
        print("\n" + f)
    print(f"pty smoke: {len(failures)} failure(s) in {work}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
