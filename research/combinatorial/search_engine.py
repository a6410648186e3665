"""Combinatorial alpha search: subsets × parameter grids × weighting schemes, scored out of sample.

Spec (YAML, strictly parsed; every key but ``search`` and ``alphas`` optional)::

    search: obi_flow              # name; the experiment family is "search:<name>"
    alphas:                       # candidate members and their parameter grids (lists; {} = defaults)
      obi_l1: {smooth: [1, 5, 20]}
      ofi: {window: [10, 50]}
      microprice_dev: {}
    subset_sizes: [1, 2]          # sizes of the member subsets tried
    weights: [equal, ic]          # hft.alpha.research.combine.WEIGHT_SCHEMES; singletons are scored once ("equal")
    features: {levels: 5, sampling: 100ms, horizons: [1s]}   # as in an alpha config.yaml
    target: 1s                    # horizon whose forward return the ic weights use (default: the first)
    oos_fraction: 0.3             # last share of the rows kept out of sample (the score)
    bucket: 5m                    # return bucket of the per-period Sharpe
    cost: {spread_multiplier: 1.0, fee_bps: 0.0}
    seed: 7                       # trial seed = splitmix64(seed, trial number)
    top_k: 10

Trials are enumerated in one deterministic order (subsets in sorted order, then the grid in spec order, then
the weighting schemes) and numbered from 0. The experiment id is a hash of the canonical spec and the data, so
re-running the same spec on the same data **resumes**: trials already recorded in the experiment registry are
skipped. Every trial is recorded (``kind="search"``, family ``search:<name>``), so DSR and PBO of later
validations count it.

The leaderboard ranks trials by their **deflated** score: the DSR of the out-of-sample Sharpe given every trial
recorded for the family (their number and the variance of their Sharpes), not by raw Sharpe; trials with a
non-positive out-of-sample Sharpe rank after every positive one, among themselves by Sharpe (their DSR, all
near 0, grows with a larger negative Sharpe's variance term). The search also
reports the PBO of its own trials (CSCV over their per-bucket returns).

Backends: ``local`` (a process pool of ``workers`` spawned processes; inline when workers == 1; without
``workers``, inline unless the work would take more than ``AUTO_POOL_MIN_S`` in one process) and ``ray``
(``ray.init(address)`` for an existing cluster, a local Ray started otherwise). Scoring is a pure function
(`hft.alpha.research.combine.score_combination`), so both backends give the same metrics for the same spec.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hft.alpha.research.combine import (
    WEIGHT_SCHEMES,
    Combination,
    init_worker,
    members_of,
    score_chunk,
    score_chunk_with,
)
from hft.config.grid import expand_grid, grid_size, parse_grid
from hft.config.strict import Section, load_yaml
from hft.core.errors import ConfigError, GovernanceError
from hft.core.pool import spawn_pool

__all__ = ["SearchSpec", "enumerate_trials", "load_spec", "parse_spec", "run_search"]

CHUNK = 8  # trials per task sent to a worker
RECORD_EVERY = 50  # trials recorded to the registry per batch (a crash loses at most this many)
AUTO_POOL_MIN_S = 20.0  # without --workers: start a process pool only for more single-process work than this


@dataclass(frozen=True)
class SearchSpec:
    """A parsed search spec (see the module docstring)."""

    name: str
    alphas: dict[str, dict[str, list[Any]]]
    subset_sizes: tuple[int, ...]
    weights: tuple[str, ...]
    features: Any  # FeatureSpec
    target: Any
    oos_fraction: float
    bucket_ns: int
    spread_multiplier: float
    fee_bps: float
    seed: int
    top_k: int
    file: str | None = None

    @property
    def family(self) -> str:
        return f"search:{self.name}"

    def canonical(self) -> str:
        """Canonical JSON of everything that changes a trial's score (the resume key)."""
        return json.dumps({"alphas": self.alphas, "subset_sizes": self.subset_sizes, "weights": self.weights,
                           "features": self.features.to_dict(), "target": self.target,
                           "oos_fraction": self.oos_fraction, "bucket_ns": self.bucket_ns,
                           "spread_multiplier": self.spread_multiplier, "fee_bps": self.fee_bps,
                           "seed": self.seed}, sort_keys=True, default=str)


def parse_spec(data: Any, file: str | Path | None = None) -> SearchSpec:
    """Strictly parse a search spec mapping; ConfigError naming the file and key on anything wrong."""
    from hft.alpha.api.config import _feature_spec
    from hft.alpha.api.registry import load_alpha_class

    root = Section(data, file)
    name = root.str("search")
    if not name or not all(c.isalnum() or c in "_-." for c in name):
        root.fail("search", "a name of letters, digits, '_', '-' or '.'", name)
    al = root.section("alphas")
    if not al.data:
        al.fail("alphas", "a non-empty mapping of alpha id -> parameter grid", dict(al.data))
    alphas: dict[str, dict[str, list[Any]]] = {}
    for alpha_id in sorted(al.data):
        cls = load_alpha_class(alpha_id)
        grid = Section(al.raw(alpha_id) or {}, root.file, al.key(alpha_id))

        def check(pname: str, v: Any, cls: Any = cls) -> None:
            cls({pname: v})  # a GovernanceError names what is wrong with the value

        out = parse_grid(grid, cls.param_types(), check, owner=alpha_id)
        alphas[alpha_id] = out
    al.done()
    sizes = root.raw("subset_sizes", [1])
    if (not isinstance(sizes, list) or not sizes
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= len(alphas) for s in sizes)):
        root.fail("subset_sizes", f"a non-empty list of integers in [1, {len(alphas)}]", sizes)
    weights = root.raw("weights", ["equal"])
    if not isinstance(weights, list) or not weights or not all(w in WEIGHT_SCHEMES for w in weights):
        root.fail("weights", f"a non-empty list of {list(WEIGHT_SCHEMES)}", weights)
    fspec = _feature_spec(root.section("features", {}))
    target = root.raw("target", fspec.horizons[0])
    if target not in fspec.horizons:
        root.fail("target", f"one of features.horizons {list(fspec.horizons)}", target)
    oos = root.float("oos_fraction", 0.3, min_value=0.0)
    if not 0.0 < oos < 1.0:
        root.fail("oos_fraction", "a number in (0, 1)", oos)
    bucket_ns = root.duration_ns("bucket", "5m")
    if bucket_ns <= 0:
        root.fail("bucket", "a positive duration", root.raw("bucket"))
    cost = root.section("cost", {})
    spread_mult = cost.float("spread_multiplier", 1.0, min_value=0.0)
    fee = cost.float("fee_bps", 0.0, min_value=0.0)
    cost.done()
    seed = root.int("seed", 7, min_value=0)
    top_k = root.int("top_k", 10, min_value=1)
    root.done()
    n_trials = count_trials(alphas, sorted(set(sizes)), len(dict.fromkeys(weights)))
    if n_trials > MAX_TRIALS:  # counted, not enumerated: a 3000 x 3000 grid is refused before any allocation
        raise ConfigError(f"{root.file}: expected at most {MAX_TRIALS:,} trials, the spec enumerates {n_trials:,}",
                          file=root.file, hint="shrink the parameter grids or subset_sizes")
    return SearchSpec(name, alphas, tuple(sorted(set(sizes))), tuple(dict.fromkeys(weights)), fspec, target, oos,
                      bucket_ns, spread_mult, fee, seed, top_k, None if file is None else str(file))


MAX_TRIALS = 1_000_000


def count_trials(alphas: dict[str, dict[str, list[Any]]], sizes: list[int], n_weights: int) -> int:
    """How many trials `enumerate_trials` yields, without enumerating them (elementary symmetric sums)."""
    grid = [grid_size(alphas[a]) for a in sorted(alphas)]
    e = [1] + [0] * len(grid)  # e[k] = sum over k-subsets of the product of their grid sizes
    for g in grid:
        for k in range(len(grid), 0, -1):
            e[k] += e[k - 1] * g
    return sum(e[s] * (1 if s == 1 else n_weights) for s in sizes if s < len(e))


def load_spec(path: str | Path) -> SearchSpec:
    """Read and strictly parse a search spec YAML file."""
    return parse_spec(load_yaml(path), path)


def enumerate_trials(spec: SearchSpec) -> list[Combination]:
    """Every trial of `spec`, in the deterministic order of the module docstring (index = trial number)."""
    from hft.core.rng import splitmix64

    out: list[Combination] = []
    ids = sorted(spec.alphas)
    for size in spec.subset_sizes:
        for subset in itertools.combinations(ids, size):
            grids = [expand_grid(spec.alphas[a]) for a in subset]
            for params in itertools.product(*grids):
                schemes = ("equal",) if size == 1 else spec.weights
                for w in schemes:
                    n = len(out)
                    out.append(Combination(members_of(subset, params), w, int(splitmix64(spec.seed, n))))
    if not out:
        raise ConfigError(f"{spec.file or '<spec>'}: expected at least one trial, the spec enumerates none",
                          file=spec.file)
    return out


# --- backends -------------------------------------------------------------------------------------------------

def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _run_local(todo: list[tuple[int, Combination]], features_path: Path, kw: dict[str, Any], workers: int,
               on_done: Callable[[list], None], *, auto: bool = False) -> int:
    """Score `todo` in this process or a spawned pool; returns the number of processes used.

    With `auto` (no --workers given) the first chunk is scored here and timed; the pool (which costs a
    couple of seconds to spawn and load) is started only when the rest would take longer than
    `AUTO_POOL_MIN_S` in one process. Results are identical either way (scoring is pure).
    """
    init_worker(str(features_path), kw)
    chunks = _chunks(todo, CHUNK)
    if auto and chunks and workers > 1:
        t0 = time.perf_counter()
        on_done(score_chunk(chunks[0]))
        per_chunk = time.perf_counter() - t0
        chunks = chunks[1:]
        if per_chunk * len(chunks) < AUTO_POOL_MIN_S:
            workers = 1
    if workers <= 1:
        for chunk in chunks:
            on_done(score_chunk(chunk))
        return 1
    with spawn_pool(workers, init_worker, (str(features_path), kw)) as pool:
        # map keeps submission order, so records are appended in trial order whatever finishes first
        for res in pool.map(score_chunk, chunks):
            on_done(res)
    return workers


def _run_ray(todo: list[tuple[int, Combination]], features: Any, kw: dict[str, Any], workers: int,
             address: str | None, on_done: Callable[[list], None]) -> None:
    from hft.core.ray_session import ray_session

    def missing() -> Exception:
        return GovernanceError("search --backend ray: expected the Ray extra to be installed",
                               hint="pip install 'hft[ray]'")

    with ray_session(workers, address, missing) as ray:
        remote = ray.remote(score_chunk_with)
        ref = ray.put(features)
        pending = [remote.remote(ref, kw, c) for c in _chunks(todo, CHUNK)]
        for p in pending:  # in submission order: deterministic recording order
            on_done(ray.get(p))


# --- driver ---------------------------------------------------------------------------------------------------

def experiment_id_for(spec: SearchSpec, data_hash: str) -> str:
    """Deterministic experiment id of (spec, data): the resume key."""
    h = hashlib.blake2b(f"{spec.canonical()}|{data_hash}".encode(), digest_size=8).hexdigest()
    return f"search-{spec.name}-{h}"


def run_search(spec: SearchSpec, data: Sequence[Path], *, backend: str = "local", workers: int | None = None,
               address: str | None = None, registry: Any = None, max_trials: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a search; returns the summary with the top-K leaderboard (JSON-safe).

    Args:
        spec: the parsed spec.
        data: market-data paths (one day or several, as `compute_features` takes them).
        backend: ``"local"`` or ``"ray"``.
        workers: processes / Ray CPUs (default: the machine's CPU count; for the local backend a process pool
            is then started only when the work would take more than `AUTO_POOL_MIN_S` in one process).
        address: an existing Ray cluster's address (``backend="ray"`` only).
        registry: an `ExperimentRegistry` (default: one on the audit store under ``$HFT_HOME``,
            `hft.recorder.alpha_audit.AUDIT`).
        max_trials: stop after this many new trials (the rest resume on the next run).
        progress: called with (trials done, trials total).
    """
    from hft.alpha.api.registry import alpha_dir, load_alpha_class
    from hft.alpha.records.experiments import ExperimentRegistry, Trial, code_hash, current_host, current_user
    from hft.alpha.research.features import compute_features, data_hash, feature_cache_dir, feature_cache_key
    from hft.data.sources import FILES
    from hft.recorder.alpha_audit import AUDIT

    if backend not in ("local", "ray"):
        raise GovernanceError(f"search: backend: expected 'local' or 'ray', was {backend!r}", key="backend")
    if address and backend != "ray":
        raise GovernanceError("search: --address is for --backend ray", key="address")
    auto = not workers
    workers = workers or os.cpu_count() or 1
    registry = registry or ExperimentRegistry(AUDIT)
    paths = [Path(p) for p in data]
    dhash = data_hash(paths)
    features = compute_features(paths, spec.features, source=FILES)
    fpath = feature_cache_dir() / f"{feature_cache_key(dhash, spec.features)}.parquet"
    trials = enumerate_trials(spec)
    exp_id = experiment_id_for(spec, dhash)
    done_before = {t.trial for t in registry.trials(experiment_id=exp_id)}
    todo = [(n, c) for n, c in enumerate(trials) if n not in done_before]
    if max_trials is not None:
        todo = todo[:max_trials]
    from hft.alpha.research.features import horizon_column

    kw = {"target": horizon_column(spec.target), "oos_fraction": spec.oos_fraction, "bucket_ns": spec.bucket_ns,
          "spread_multiplier": spec.spread_multiplier, "fee_bps": spec.fee_bps}
    ids = sorted(spec.alphas)
    versions = {a: load_alpha_class(a).version for a in ids}
    chash = code_hash([alpha_dir(a) for a in ids] + [Path(__file__).resolve().parent,
                                                     Path(__import__("hft.alpha").alpha.__file__).parent])
    host, user = current_host(), current_user()
    pending: list[Any] = []
    n_done = len(done_before)
    total = len(trials)

    def flush() -> None:
        if pending:
            registry.record(list(pending))
            pending.clear()

    def on_done(results: list) -> None:
        nonlocal n_done
        for n, metrics, t0, t1, status in results:
            combo = trials[n]
            pending.append(Trial(
                experiment_id=exp_id, alpha_id="+".join(a for a, _ in combo.members), family=spec.family,
                version=",".join(versions[a] for a, _ in combo.members), trial=n, kind="search",
                params=combo.to_dict(), metrics=metrics, code_hash=chash, data_hash=dhash, seed=combo.seed,
                status=status, started_ns=t0, finished_ns=t1, host=host, user=user))
            n_done += 1
        if len(pending) >= RECORD_EVERY:
            flush()
        if progress:
            progress(n_done, total)

    t0 = time.perf_counter()
    if progress:
        progress(n_done, total)
    try:
        if todo:
            if backend == "ray":
                _run_ray(todo, features, kw, workers, address, on_done)
            else:
                workers = _run_local(todo, fpath, kw, workers, on_done, auto=auto)
    finally:
        flush()  # whatever was scored is recorded, even when interrupted
    wall = time.perf_counter() - t0
    return leaderboard(spec, registry, exp_id, dhash) | {
        "backend": backend, "workers": workers, "new_trials": len(todo), "resumed_trials": len(done_before),
        "wall_s": round(wall, 3), "trials_per_min": round(len(todo) / wall * 60, 1) if wall > 0 and todo else None,
    }


def leaderboard(spec: SearchSpec, registry: Any, exp_id: str, dhash: str) -> dict[str, Any]:
    """Top-K of the experiment by deflated Sharpe (DSR with the family's trial count and Sharpe variance)."""

    import numpy as np

    from hft.alpha.research import stats

    rows = [t for t in registry.trials(experiment_id=exp_id) if t.status == "ok"]
    fam = registry.family_stats(spec.family)
    board = []
    for t in rows:
        m = t.metrics
        sr, n_obs = float(m["sharpe"]), int(m["n_obs"])
        skew, kurt = float(m.get("skew", 0.0)), float(m.get("kurtosis", 3.0))
        if not (math.isfinite(skew) and math.isfinite(kurt)) or kurt < 1 + skew * skew:
            skew, kurt = 0.0, 3.0
        d = (stats.dsr(sr, n_obs, max(fam.n_trials, 1), fam.var_sharpe, skew, kurt)
             if n_obs >= 2 and fam.n_trials >= 2 and fam.var_sharpe > 0 else float("nan"))
        board.append({"trial": t.trial, "members": t.params["members"], "weights": t.params["weights"],
                      "sharpe_oos": sr, "sharpe_is": m.get("sharpe_is"), "ic_oos": m.get("ic_oos"),
                      "dsr": d, "n_obs": n_obs, "turnover": m.get("turnover")})
    # Rank by DSR, but never a non-positive Sharpe above a positive one, and the non-positive ones by their
    # Sharpe: the DSR's variance term grows with SR², which can lift a large negative Sharpe's DSR above a small
    # positive one's, or above a negative one nearer zero (a Sharpe of -1.7 ranked above -0.2).
    board.sort(key=lambda r: (r["sharpe_oos"] <= 0,
                              0.0 if r["sharpe_oos"] <= 0 else -(r["dsr"] if math.isfinite(r["dsr"]) else -1.0),
                              -r["sharpe_oos"], r["trial"]))
    ranked = ranked_by(board[:spec.top_k])
    pbo_out: dict[str, Any] | None = None
    lens = {len(t.metrics.get("period_returns", [])) for t in rows}
    if len(rows) >= 2 and len(lens) == 1:
        n_rows = lens.pop()
        blocks = min(10, n_rows - n_rows % 2)
        if blocks >= 2:
            perf = np.array([t.metrics["period_returns"] for t in rows], dtype=np.float64).T
            try:
                res = stats.pbo(perf, blocks)
                pbo_out = {"pbo": float(res.probability), "blocks": blocks, "splits": res.n_splits}
            except GovernanceError as exc:
                pbo_out = {"pbo": None, "reason": exc.message}
    for r in board:
        r["dsr"] = r["dsr"] if math.isfinite(r["dsr"]) else None  # JSON has no NaN
    return {"experiment_id": exp_id, "family": spec.family, "data_hash": dhash, "trials": len(rows),
            "family_trials": fam.n_trials, "family_var_sharpe": fam.var_sharpe, "pbo": pbo_out,
            "top": board[:spec.top_k], "ranked_by": ranked}


def ranked_by(top: list[dict[str, Any]]) -> str:
    """What the rows of `top` (in `leaderboard`'s order, DSR not yet None-ed) were actually ranked by, for the
    table's title: a positive Sharpe by deflated Sharpe (``dsr``), one whose DSR is undefined (too few trials, no
    Sharpe variance) after those by its Sharpe, a non-positive Sharpe last by its Sharpe."""
    parts = []
    if any(r["sharpe_oos"] > 0 and math.isfinite(r["dsr"]) for r in top):
        parts.append("deflated Sharpe")
    if any(r["sharpe_oos"] > 0 and not math.isfinite(r["dsr"]) for r in top):
        parts.append("Sharpe (deflated Sharpe undefined)")
    if any(r["sharpe_oos"] <= 0 for r in top):
        parts.append("Sharpe (<= 0: deflated Sharpe ranks positive Sharpes only)" if not parts else "Sharpe (<= 0)")
    return ", then ".join(parts) or "deflated Sharpe"
