"""Golden replays (behaviour that must not drift) and run diffs.

A golden is a JSON file::

    {"description": "...",
     "data": ["../../../shared/data/binance/usdm/btcusdt_20240808.gz"],   # relative to the golden file
     "generate": {"seed": 7, "messages": 30000, "levels": 5},          # or: a generated day instead of data
     "strategy": "mm",
     "config": {...},                                                  # a replay config mapping (strict)
     "expect": {"run_hash": "...", "fills": 12, ...}}

`check_golden` replays it and compares the run hash and the key metrics; a golden whose recorded data is
absent (no ``../shared``) is reported as skipped, never as passed. `make_golden` writes one from a replay.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hft.core.errors import SimError

KEY_METRICS = ("run_hash", "events", "orders", "cancels", "fills", "filled_qty", "position", "pnl_money_units",
               "fees_money_units", "rejects")
# a run over several instruments (`hft.sim.portfolio`): its positions by symbol instead of one position
PORTFOLIO_KEY_METRICS = tuple("positions" if k == "position" else k for k in KEY_METRICS)


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SimError(f"{path}: expected a golden JSON file, none exists") from None
    except json.JSONDecodeError as exc:
        raise SimError(f"{path}: expected valid JSON ({exc.msg} at line {exc.lineno})") from None
    for key in ("strategy", "expect"):
        if key not in doc:
            raise SimError(f"{path}: expected key '{key}' in the golden file")
    if ("data" in doc) == ("generate" in doc):
        raise SimError(f"{path}: expected exactly one of 'data' or 'generate'")
    return doc


def _replay(doc: dict[str, Any], base: Path, workdir: Path) -> dict[str, Any] | None:
    from hft.sim.replay import run_replay

    cfg = _config(doc.get("config") or {}, base)
    if "generate" in doc:
        from hft.data.importing import generate_day

        g = doc["generate"]
        gen = generate_day(workdir, seed=int(g.get("seed", 7)), symbol=g.get("symbol", "SYNTH"),
                           date=g.get("date", "2024-01-02"), messages=int(g.get("messages", 30_000)),
                           levels=int(g.get("levels", 5)), zip_output=True)
        data = [Path(gen["zip_path"])]
    else:
        data = [(base / p).resolve() for p in doc["data"]]
        if not all(p.exists() for p in data):
            return None
    return run_replay(data, doc["strategy"], cfg)


def _config(mapping: dict[str, Any], base: Path) -> Any:
    """The golden's replay config (relative paths in it resolve against the golden's folder)."""
    from hft.sim.replay import parse_replay_config

    return parse_replay_config(mapping, file=str(base / "<golden config>"), base_dir=base)


def check_golden(path: str | Path) -> dict[str, Any]:
    """Replay a golden and compare; ``ok`` is False when anything in ``expect`` moved."""
    path = Path(path)
    doc = _load(path)
    with tempfile.TemporaryDirectory() as tmp:
        summary = _replay(doc, path.parent, Path(tmp))
    if summary is None:
        return {"ok": True, "skipped": "recorded data not present", "golden": str(path), "moved": [], "diff": {}}
    diff = {k: (v, summary.get(k)) for k, v in doc["expect"].items() if summary.get(k) != v}
    return {"ok": not diff, "golden": str(path), "run_hash": summary["run_hash"], "moved": sorted(diff),
            "diff": diff, "events_per_s": summary["events_per_s"]}


def make_golden(path: str | Path, *, strategy: str, config: dict[str, Any], data: list[str] | None = None,
                generate: dict[str, Any] | None = None, description: str = "") -> dict[str, Any]:
    """Replay and write a golden file capturing the run hash and the key metrics."""
    from hft.core.fileio import atomic_write_text

    path = Path(path)
    doc: dict[str, Any] = {"description": description, "strategy": strategy, "config": config}
    if data is not None:
        doc["data"] = data
    else:
        doc["generate"] = generate or {}
    with tempfile.TemporaryDirectory() as tmp:
        summary = _replay({**doc, "expect": {}}, path.parent, Path(tmp))
    if summary is None:
        raise SimError(f"{path}: the golden's data is not present")
    doc["expect"] = {k: summary[k] for k in (PORTFOLIO_KEY_METRICS if "legs" in summary else KEY_METRICS)}
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return doc


def diff_runs(run_a: str | Path, run_b: str | Path) -> dict[str, Any]:
    """First differing decision or fill between two run folders, and the metric deltas of their summaries."""
    import polars as pl

    a, b = Path(run_a), Path(run_b)
    for d in (a, b):
        if not (d / "summary.json").is_file():
            raise SimError(f"{d}: expected a run folder with summary.json")
    first = None

    def table_of(d: Path, table: str) -> Any:
        try:
            return pl.read_parquet(d / f"{table}.parquet")
        except Exception as exc:  # missing or damaged: polars raises several error types
            raise SimError(f"{d / f'{table}.parquet'}: expected a readable run-folder table "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})",
                           file=str(d / f"{table}.parquet")) from None

    def summary_of(d: Path) -> dict[str, Any]:
        try:
            doc = json.loads((d / "summary.json").read_text())
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise SimError(f"{d / 'summary.json'}: expected a JSON run summary ({type(exc).__name__})",
                           file=str(d / "summary.json")) from None
        if not isinstance(doc, dict):
            raise SimError(f"{d / 'summary.json'}: expected a JSON object, was {type(doc).__name__}",
                           file=str(d / "summary.json"))
        return doc

    sa, sb = summary_of(a), summary_of(b)
    for table in ("decisions", "orders", "fills"):
        fa, fb = table_of(a, table), table_of(b, table)
        n = min(fa.height, fb.height)
        # compared on the engine's integer columns (what the run hash covers); the readable columns beside
        # them (hft.sim.run_tables) follow from those, and a NaN price never equals itself
        keys = [c for c, t in fa.schema.items() if t.is_integer()]
        ia, ib = fa.select(keys), fb.select([c for c in keys if c in fb.columns])
        for i in range(n):
            if ia.row(i) != ib.row(i):
                first = {"table": table, "row": i, "a": fa.row(i, named=True), "b": fb.row(i, named=True)}
                break
        if first is None and fa.height != fb.height:
            first = {"table": table, "row": n, "a": fa.height, "b": fb.height, "note": "row counts differ"}
        if first is not None:
            break
    deltas = {}
    for k in sorted(set(sa) & set(sb)):
        va, vb = sa[k], sb[k]
        if isinstance(va, int | float) and isinstance(vb, int | float) and not isinstance(va, bool) and va != vb:
            deltas[k] = {"a": va, "b": vb, "delta": round(vb - va, 6)}
    return {"first_divergence": first, "metric_deltas": deltas, "same_run_hash": sa.get("run_hash") ==
            sb.get("run_hash")}
