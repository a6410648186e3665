"""Gate A's false-alarm table: every shipped alpha x every day x both sampling modes (issue 14).

Used by the tests (`test_gate_a_days.py`: every honest combination passes, and the table in ``docs/alpha.md``
is the one this module computes) and as a script that rewrites that table:

    .venv/bin/python tests/unit/alpha/gate_a_table.py --write

Days: the six LOBSTER sample days under ``../shared/data/lobster`` and one generated day (seed 5, 5 levels).
Sampling: event time and a 100 ms clock. Each alpha runs with its own ``config.yaml`` (params and gate A
thresholds); an alpha that needs more book levels than a day has is not runnable there (``obi_multi`` on the
level-1 files). Wall-time figures (``ns_per_row``) are not in the table: speed is measured in ``bench/``.
"""

from __future__ import annotations

import math
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
LOBSTER = REPO.parent / "shared" / "data" / "lobster"
DOC = REPO / "docs" / "alpha.md"
START, END = "<!-- gate-a-table:start -->", "<!-- gate-a-table:end -->"
MODES = ("event", "100ms")
GENERATED = "generated (seed 5, L5)"
_LEVELS_RE = re.compile(r"_(\d+)\.zip$")


def lobster_files() -> list[Path]:
    """The LOBSTER sample zips (empty when ../shared is absent)."""
    return sorted(LOBSTER.glob("LOBSTER_SampleFile_*.zip")) if LOBSTER.is_dir() else []


def day_name(path: Path) -> str:
    """``AAPL L1`` for ``LOBSTER_SampleFile_AAPL_2012-06-21_1.zip``."""
    sym = path.name.split("_")[2]
    return f"{sym} L{_LEVELS_RE.search(path.name).group(1)}"  # type: ignore[union-attr]


def spec_for(levels: int, mode: str) -> Any:
    from hft.alpha.research.features import FeatureSpec

    return FeatureSpec(levels=min(levels, 5), sampling=mode, horizons=(1,) if mode == "event" else ("100ms",))


def frames_of(md: Any, levels: int) -> dict[str, Any]:
    """Features of one opened day in both sampling modes (no cache)."""
    from hft.alpha.research.features import compute_features

    return {mode: compute_features(md, spec_for(levels, mode), cache=False) for mode in MODES}


def generated_md(folder: Path) -> Any:
    from hft.data.importing import generate_day
    from hft.data.sources import open_market_data

    res = generate_day(folder, seed=5, symbol="SYNTH", date="2024-01-02", messages=20_000, levels=5,
                       zip_output=False)
    return open_market_data([Path(res["message_path"])])


def real_days() -> dict[str, dict[str, Any]]:
    """``{"AAPL L1": {"event": frame, "100ms": frame}, ...}`` for every LOBSTER sample file."""
    from hft.data.sources import open_market_data

    out = {}
    for path in lobster_files():
        levels = int(_LEVELS_RE.search(path.name).group(1))  # type: ignore[union-attr]
        out[day_name(path)] = frames_of(open_market_data([path]), levels)
    return out


def shipped() -> list[tuple[str, Any, Any]]:
    """(alpha id, alpha instance, gate A thresholds) of every shipped alpha, params from its config.yaml."""
    from hft.alpha.api.registry import list_alphas, load_alpha_class, load_config, repo_research_dir

    root = repo_research_dir()
    out = []
    for alpha_id in list_alphas(root):
        cfg = load_config(alpha_id, root=root)
        out.append((alpha_id, load_alpha_class(alpha_id, root)(cfg.params), cfg.validation.gate_a))
    return out


def runnable(alpha: Any, frame: Any) -> bool:
    return all(c in frame.columns for c in alpha.required_features())


def row(alpha_id: str, day: str, mode: str, res: Any) -> dict[str, Any]:
    """The table's figures of one gate A result."""
    m = res.metrics
    sh = m["shift_test"]
    checks = {c.name: c for c in res.checks}
    return {"alpha": alpha_id, "day": day, "mode": mode, "rows": m["n_rows"], "coverage": m["coverage"],
            "trunc": f"{m['lookahead']['n_mismatches']}/{len(m['lookahead']['cuts'])}",
            "perturb": f"{m['perturbation']['n_mismatches']}/{len(m['perturbation']['cuts'])}",
            "excess": sh["excess"], "null_max": sh["null_max"], "bound": sh["bound"],
            "warning": checks["shift_ic_excess"].warning,
            "passed": all(c.passed for c in res.checks if c.name != "ns_per_row")}


def _f(v: float) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:+.4f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| alpha | day | sampling | rows | coverage | truncation: mismatching cuts | perturbation: mismatching "
            "cuts | shift excess | null max | shift bound | shift warning | gate A (without ns_per_row) |\n"
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
    body = "".join(
        f"| {r['alpha']} | {r['day']} | {r['mode']} | {r['rows']} | {r['coverage']:.4f} | {r['trunc']} | "
        f"{r['perturb']} | {_f(r['excess'])} | {_f(r['null_max'])} | {_f(r['bound'])} | "
        f"{'warn' if r['warning'] else '—'} | {'pass' if r['passed'] else 'FAIL'} |\n" for r in rows)
    return head + body


def compute_rows(days: dict[str, dict[str, Any]], cache: dict[tuple[str, str, str], Any] | None = None
                 ) -> list[dict[str, Any]]:
    """Gate A of every shipped alpha on every day and mode (results reused from / stored in `cache`)."""
    from hft.alpha.gates.gate_a import gate_a

    cache = {} if cache is None else cache
    rows = []
    for alpha_id, alpha, th in shipped():
        for day, frames in days.items():
            for mode in MODES:
                if not runnable(alpha, frames[mode]):
                    continue
                key = (alpha_id, day, mode)
                if key not in cache:
                    cache[key] = gate_a(alpha, frames[mode], th)[0]
                rows.append(row(alpha_id, day, mode, cache[key]))
    return rows


def doc_table() -> str:
    """The table between the markers in docs/alpha.md."""
    text = DOC.read_text()
    return text[text.index(START) + len(START):text.index(END)].strip("\n") + "\n"


def main(argv: list[str]) -> int:
    if not lobster_files():
        print(f"no LOBSTER sample files under {LOBSTER}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        days = {GENERATED: frames_of(generated_md(Path(tmp)), 5), **real_days()}
        table = markdown(compute_rows(days))
    if "--write" in argv:
        text = DOC.read_text()
        text = text[:text.index(START) + len(START)] + "\n" + table + text[text.index(END):]
        DOC.write_text(text)
        print(f"wrote the table into {DOC}")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main(sys.argv[1:]))
