"""Alpha validation benchmark: features + gates A, B, C for one alpha on GOOG level 10 (147,916 messages).

    .venv/bin/python bench/bench_alpha.py [--repeat 5] [--alpha obi_l1] [--quick]

Writes bench/results/bench_alpha.json. Goal (issue 6): <= 5 s per validate, warm.

Sections, each at event time and on a 100 ms clock (horizons 100ms / 1s / 10s, primary 1s):

* ``features_cold``  — `compute_features` without the cache (the book states + columns), median of runs.
* ``validate_warm``  — `hft.alpha.governance.validate.validate(..., record=False)`: features from the warm Parquet cache,
  gates A/B/C with every parameter variant, and the four PNGs. This is the "per validate, warm" figure.
* ``validate_warm_no_plots`` — the same without the PNGs (the gates alone).
* ``validate_recorded`` — with `record=True` into a fresh ``$HFT_HOME`` (embedded store): trials and audit rows
  through the WAL, family stats read back. Includes opening the store (not in the goal's scope; reported).
* per-step timings of the last warm run (``Scorecard.timings``).
* ``gate_a`` — `hft.alpha.gates.gate_a.gate_a` alone on the warm features frame, for every shipped alpha that runs on
  the file (issue 14: truncation + future perturbation at 20 cuts each, the shift test and its null), with the
  verdict; the goal is the validate budget (gate A is one step of the warm validate above).
* ``cli`` (event time only, not with --quick) — ``hft alpha validate obi_l1 --data GOOG --no-record --json`` as a
  subprocess: interpreter start-up, imports and the warm validate, as a researcher sees it.

Every figure is the median of `--repeat` timed runs after a warm-up run (numba compilation and the feature cache
excluded). Without ``../shared/data`` the sections record ``{"skipped": …}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, shared_data, summarise, time_runs, write_result

GOOG10 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
GOAL_S = 5.0


def _clock_config(alpha: str, folder: Path) -> Path:
    """The alpha's config.yaml with 100 ms sampling and clock horizons."""
    import yaml

    from hft.alpha.api.registry import alpha_dir

    cfg = yaml.safe_load((alpha_dir(alpha) / "config.yaml").read_text())
    feats = cfg.setdefault("features", {})
    feats["sampling"] = "100ms"
    feats["horizons"] = ["100ms", "1s", "10s"]
    cfg.setdefault("validation", {}).setdefault("gate_b", {})["primary_horizon"] = "1s"
    path = folder / f"{alpha}_100ms.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def bench_one(alpha: str, data: Path, config: Path | None, repeat: int, quick: bool) -> dict[str, Any]:
    from hft.alpha.api.registry import load_config
    from hft.alpha.governance.validate import validate
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.alpha.research.features import compute_features
    from hft.data.sources import FILES
    from hft.recorder.alpha_audit import held

    cfg = load_config(alpha, config)
    out: dict[str, Any] = {"sampling": cfg.features.sampling, "horizons": list(cfg.features.horizons)}
    out["features_cold"] = summarise(time_runs(lambda: compute_features([data], cfg.features, source=FILES, cache=False),
                                               repeat=repeat))
    plots = Path(tempfile.mkdtemp(prefix="bench_alpha_plots_"))
    last: dict[str, Any] = {}

    def run(plots_on: bool = True) -> None:
        card = validate(alpha, [data], source=FILES, config_path=config, record=False, plots_dir=plots, plots=plots_on)
        last["card"] = card

    res = summarise(time_runs(run, repeat=repeat))
    card = last["card"]
    res["rows"] = card.n_rows
    res["goal_s"] = GOAL_S
    res["meets_goal"] = res["median_s"] <= GOAL_S
    res["steps_s"] = card.timings
    res["verdict"] = {g.gate: g.passed for g in card.gates}
    res["headline"] = {g.gate: {"metric": g.metric, "value": g.value} for g in card.gates}
    out["validate_warm"] = res
    out["validate_warm_no_plots"] = summarise(time_runs(lambda: run(False), repeat=repeat))
    out["gate_a"] = bench_gate_a(data, cfg.features, repeat)
    if not quick:
        home = Path(tempfile.mkdtemp(prefix="bench_alpha_home_"))
        old = os.environ.get("HFT_HOME")
        os.environ["HFT_HOME"] = str(home)
        def recorded() -> None:
            with held(wait_s=30.0) as sink:  # as `hft alpha validate`: one store for the run
                validate(alpha, [data], source=FILES, registry=ExperimentRegistry(sink), config_path=config,
                         record=True, plots_dir=plots)

        try:
            times = time_runs(recorded, repeat=max(2, repeat // 2))
        finally:
            if old is None:
                os.environ.pop("HFT_HOME", None)
            else:
                os.environ["HFT_HOME"] = old
        out["validate_recorded"] = summarise(times)
    return out


def bench_gate_a(data: Path, spec: Any, repeat: int) -> dict[str, Any]:
    """Gate A alone, per shipped alpha, on the warm features of `data` at `spec` (levels raised to 5 for
    obi_multi's default)."""
    import dataclasses

    from hft.alpha.api.registry import list_alphas, load_alpha_class, load_config
    from hft.alpha.gates.gate_a import gate_a
    from hft.alpha.research.features import compute_features
    from hft.data.sources import FILES

    feats = compute_features([data], dataclasses.replace(spec, levels=max(spec.levels, 5)), source=FILES)
    out: dict[str, Any] = {"rows": feats.height}
    for alpha_id in list_alphas():
        cfg = load_config(alpha_id)
        alpha = load_alpha_class(alpha_id)(cfg.params)
        if not all(c in feats.columns for c in alpha.required_features()):
            continue
        last: dict[str, Any] = {}

        def run(alpha: Any = alpha, th: Any = cfg.validation.gate_a, last: dict[str, Any] = last) -> None:
            last["res"] = gate_a(alpha, feats, th)[0]

        res = summarise(time_runs(run, repeat=repeat))
        res["goal_s"] = GOAL_S
        res["meets_goal"] = res["median_s"] <= GOAL_S
        res["passed"] = last["res"].passed
        res["warnings"] = last["res"].warnings
        out[alpha_id] = res
    return out


def bench_cli(alpha: str, data: Path, repeat: int) -> dict[str, Any]:
    """Wall time of the console script (warm feature cache in the current HFT_HOME)."""
    import subprocess

    hft = Path(sys.executable).with_name("hft")
    cmd = [str(hft), "alpha", "validate", alpha, "--data", str(data), "--no-record", "--json"]

    def run() -> None:
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if p.returncode not in (0, 17):
            raise RuntimeError(f"hft alpha validate exited {p.returncode}: {p.stderr.strip()}")

    return summarise(time_runs(run, repeat=repeat))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--alpha", default="obi_l1")
    ap.add_argument("--quick", action="store_true", help="fewer runs, no recorded section")
    args = ap.parse_args()
    repeat = 2 if args.quick else args.repeat
    result: dict[str, Any] = {"machine": machine_info(), "alpha": args.alpha}
    root = shared_data()
    if root is None or not (root / GOOG10).is_file():
        result["skipped"] = f"{GOOG10} not found under ../shared/data"
    else:
        data = root / GOOG10
        result["data"] = {"file": GOOG10, "messages": 147_916}
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.setdefault("HFT_HOME", str(Path(tmp) / "home"))  # feature cache of this run
            result["event"] = bench_one(args.alpha, data, None, repeat, args.quick)
            result["clock_100ms"] = bench_one(args.alpha, data, _clock_config(args.alpha, Path(tmp)), repeat,
                                              args.quick)
            if not args.quick:
                result["cli"] = bench_cli(args.alpha, data, repeat)
    path = write_result("bench_alpha", result)
    for key in ("event", "clock_100ms"):
        if key in result:
            w = result[key]["validate_warm"]
            print(f"{key}: validate warm median {w['median_s']:.3f} s ({w['rows']} rows; goal {GOAL_S} s: "
                  f"{'met' if w['meets_goal'] else 'MISSED'}); gates only "
                  f"{result[key]['validate_warm_no_plots']['median_s']:.3f} s; features cold "
                  f"{result[key]['features_cold']['median_s']:.3f} s; gate A alone "
                  + ", ".join(f"{a} {v['median_s']:.3f} s" for a, v in result[key]["gate_a"].items()
                              if isinstance(v, dict)))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
