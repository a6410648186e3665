"""A replay's run folder, written atomically (docs/sim.md, "Run folder"): Parquet tables, ``summary.json``,
``config.yaml``, the tearsheet and the plot; `atomic_folder` is the one way a run folder comes into place (the
days of a run over several days and the legs of a run over several instruments go inside it)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.errors import SimError
from hft.core.fileio import remove_dead_temps, temp_prefix, umask_mode
from hft.sim.fees import mark_value
from hft.sim.replay import ReplayConfig, write_config
from hft.sim.run_tables import write_tables


def fill_run_folder(tmp: Path, out: Any, summary: dict[str, Any], md: Any, config: ReplayConfig | None = None,
                    frames: Mapping[str, Any] | None = None) -> None:
    """Write a run's files into the folder `tmp`: tables, ``config.yaml`` (with `config`: its effective form),
    ``report.html``, ``summary.json`` and ``replay.png``. `frames`: the tables, already built for the run's result
    in memory (`hft.sim.run_tables.run_result`); None builds them."""
    frames = write_tables(tmp, out, md.instrument, int(summary.get("multiplier", 1)), frames)
    if config is not None:
        write_config(tmp / "config.yaml", config)
    from hft.report.run import write_tearsheet

    write_tearsheet(tmp / "report.html", frames, summary,
                    (tmp / "config.yaml").read_text() if config is not None else None)
    write_summary(tmp / "summary.json", summary)
    plot_run(tmp / "replay.png", out, summary)


def write_run_folder(out_dir: Path, out: Any, summary: dict[str, Any], md: Any, *, force: bool,
                     config: ReplayConfig | None = None, frames: Mapping[str, Any] | None = None) -> None:
    """Write the run folder atomically (`fill_run_folder` into a temp folder beside it, renamed into place)."""
    atomic_folder(Path(out_dir), lambda tmp: fill_run_folder(tmp, out, summary, md, config, frames), force=force)


def publish_run(summary: dict[str, Any], out_dir: Path | None, fill: Callable[[Path], None], *, force: bool,
                record: Callable[[], dict[str, Any]] | None) -> None:
    """Finish a run: `fill(tmp)` writes its folder into a temp folder, then `record()` records it in the store
    (its answer under ``summary["store"]``), then the folder is renamed into place (`atomic_folder`; its path
    under ``summary["run_folder"]``). So a record that fails or is interrupted leaves no run folder (a rerun
    needs no ``--force``), and a run folder in place has its store rows. Without `out_dir`: the record alone.
    Every replay (one instrument or several, one day or several) finishes here."""

    def fill_then_record(tmp: Path) -> None:
        fill(tmp)
        if record is not None:
            summary["store"] = record()

    if out_dir is None:
        if record is not None:
            summary["store"] = record()
        return
    atomic_folder(Path(out_dir), fill_then_record, force=force)
    summary["run_folder"] = str(out_dir)


def folder_name(k: int, label: str) -> str:
    """The name of the `k`-th (from 1) sub-folder of a run folder (a leg, a day): ``NN_<label>``, file-safe."""
    return f"{k:02d}_" + "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """``summary.json`` (sorted keys, indented)."""
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")


def check_out_folder(out_dir: Path, *, force: bool) -> None:
    """What `atomic_folder` needs of `out_dir`, checked before a replay starts: a new folder (or `force`) in an
    existing folder this process can write into. Each failure is a `SimError` naming the path."""
    out_dir = Path(out_dir)
    parent = _check_place(out_dir, force)
    remove_dead_temps(parent)  # what a killed run left there, as soon as the run starts
    try:  # a folder the process may not write into (read-only, /proc) refuses this probe as it would the run's
        Path(tempfile.mkdtemp(prefix=temp_prefix(f".{out_dir.name}."), dir=parent)).rmdir()
    except OSError as exc:
        raise SimError(f"{out_dir}: expected a folder this process can write into, {parent} is not "
                       f"({exc.strerror or type(exc).__name__})", file=str(out_dir)) from None


def _check_place(out_dir: Path, force: bool) -> Path:
    """`out_dir`'s parent, once `out_dir` is new (or `force`) and the parent an existing folder."""
    if out_dir.exists() and not force:
        raise SimError(f"{out_dir}: expected a new run folder, it exists", hint="pass --force to replace it")
    if out_dir.exists() and not _replaceable(out_dir):  # --force replaces a run folder, nothing else
        raise SimError(f"{out_dir}: expected a run folder to replace (one with a summary.json) or an empty folder, "
                       "it is neither",
                       hint="name a new folder; --force never deletes other data", file=str(out_dir))
    parent = out_dir.parent
    if not parent.is_dir():
        raise SimError(f"{out_dir}: expected an existing folder to hold the run folder, {parent} is not one",
                       hint=f"create it first (mkdir -p {parent})", file=str(out_dir))
    return parent


def _replaceable(path: Path) -> bool:
    """A folder `--force` may replace: a run folder (its ``summary.json``) or an empty folder."""
    return path.is_dir() and ((path / "summary.json").is_file() or not any(path.iterdir()))


def atomic_folder(out_dir: Path, fill: Any, *, force: bool) -> None:
    """Write a run folder atomically: `fill(tmp)` fills a temp folder beside `out_dir`, renamed into place
    (replacing an existing one only with `force`). An OS error on the way (a full disk, a folder removed meanwhile)
    is a `SimError` naming the run folder; nothing is left behind. The temp folders carry this process's pid
    (`hft.core.fileio.temp_prefix`): those a killed run left beside `out_dir` are removed first
    (`hft.core.fileio.remove_dead_temps`)."""
    out_dir = Path(out_dir)
    _check_place(out_dir, force)  # its temp folder is the write probe (`check_out_folder` makes one to drop)
    remove_dead_temps(out_dir.parent)
    tmp = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(f".{out_dir.name}."), dir=out_dir.parent))
        tmp.chmod(umask_mode(0o777))  # mkdtemp makes 0700; a run folder is readable as any folder this user makes
        fill(tmp)
        if out_dir.exists():
            if not force:
                raise SimError(f"{out_dir}: expected a new run folder, it exists", hint="pass --force")
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(f".{out_dir.name}."), suffix=".old", dir=out_dir.parent))
            os.replace(out_dir, old)  # aside first: an interruption leaves the old run folder or the new, never none
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except OSError as exc:
        raise SimError(f"{out_dir}: could not write the run folder ({exc.strerror or type(exc).__name__}"
                       f"{f': {exc.filename}' if exc.filename else ''})", file=str(out_dir)) from exc
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def plot_run(path: Path, out: Any, summary: dict[str, Any]) -> None:
    """Mid and our quotes/fills, inventory and equity (matplotlib, headless).

    Draws on a bare `Figure` (Agg canvas), never through pyplot, so it leaves the caller's backend alone (a
    notebook keeps its inline figures after a replay).
    """
    from matplotlib.figure import Figure

    eq = out.equity
    t = (eq["ts"] - eq["ts"][0]) / 1e9 if len(eq) else np.zeros(0)
    fig = Figure(figsize=(10, 7))
    ax = fig.subplots(3, 1, sharex=True)
    ok = eq["mid2"] > 0
    ax[0].plot(t[ok], eq["mid2"][ok] / 2, lw=0.8, label="mid (ticks)")
    if len(out.fills) and len(eq):
        ft = (out.fills["local_ts"] - eq["ts"][0]) / 1e9
        buy = out.fills["side"] > 0
        ax[0].scatter(ft[buy], out.fills["price"][buy], s=6, c="g", label="our buys")
        ax[0].scatter(ft[~buy], out.fills["price"][~buy], s=6, c="r", label="our sells")
    ax[0].legend(loc="upper left", fontsize=7)
    ax[1].step(t, eq["position"], where="post", lw=0.8)
    ax[1].set_ylabel("inventory (lots)")

    equity = eq["cash"] + mark_value(eq["position"], eq["mid2"], int(summary.get("money_factor", 1)))
    ax[2].plot(t[ok], equity[ok], lw=0.8)
    ax[2].set_ylabel("equity (money units)")
    ax[2].set_xlabel("seconds")
    fig.suptitle(f"{summary['strategy']} on {summary['symbol']} — run {summary['run_hash'][:12]}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
