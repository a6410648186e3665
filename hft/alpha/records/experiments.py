"""The experiment registry: every validate run and every search trial, in ``audit.alpha_experiments``.

Deflated Sharpe (DSR) and the probability of backtest overfitting (PBO) are only honest when *every* trial that
was tried is counted. So each trial is a row appended to the WAL first and then loaded into the store
(:meth:`ExperimentRegistry.record`, through an `hft.alpha.records.sink.AuditSink`: the store adapter
`hft.recorder.alpha_audit`), and the statistics read their trial counts and Sharpe variances back from the store
(:meth:`ExperimentRegistry.family_stats`).

Metrics convention (``Trial.metrics``; any other keys are free):

* ``metrics["sharpe"]``: the trial's **per-period net Sharpe ratio** (not annualised) of the signal-following
  position on mid returns net of costs (see gate C). This is what `family_stats` collects.
* ``metrics["n_obs"]``: the number of periods that Sharpe was computed over.
* ``metrics["period_returns"]`` (optional): list of floats, the trial's net return per time bucket, on the same
  bucket grid for every trial with the same ``data_hash``. The columns of the CSCV matrix used for PBO.

Identity: a trial is ``(experiment_id, trial)``; its record id is derived from those two, so recording the same
trial twice stores it once. ``family`` groups the alphas whose trials count together for DSR / PBO (it defaults
to the alpha id).

Code hash (:func:`code_hash`): ``"<sha12>"`` for a clean git checkout of the given paths,
``"<sha12>+dirty.<hash10>"`` with uncommitted changes (diff against HEAD plus untracked files, restricted to the
paths), ``"nogit.<hash16>"`` (content hash of the files) outside a git checkout or without a git binary.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import hashlib
import json
import math
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hft.alpha
from hft.alpha.records.sink import AuditSink
from hft.core.errors import GovernanceError
from hft.core.ids import stable_id

__all__ = [
    "TOPIC",
    "TRIAL_STATUSES",
    "ExperimentRegistry",
    "FamilyStats",
    "Trial",
    "code_hash",
    "current_host",
    "current_user",
    "new_experiment_id",
]

TOPIC = "audit.alpha_experiments"
TRIAL_STATUSES = ("ok", "failed", "error")


# --- host / user / ids ------------------------------------------------------------------------------------------

def current_host() -> str:
    """This machine's host name ("" when unknown)."""
    try:
        return socket.gethostname()
    except OSError:  # pragma: no cover
        return ""


def current_user() -> str:
    """The login name of the process owner ("unknown" when the system has none, e.g. a bare container uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def new_experiment_id(alpha_id: str, kind: str) -> str:
    """A new, readable, unique experiment id: ``<alpha_id>-<kind>-<UTC YYYYmmddTHHMMSSZ>-<6 hex>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{alpha_id}-{kind}-{stamp}-{secrets.token_hex(3)}"


def trial_record_id(experiment_id: str, trial: int) -> str:
    """The stable record id (32 hex digits) of trial `trial` of `experiment_id`."""
    return stable_id(TOPIC, experiment_id, int(trial))


# --- code hash ----------------------------------------------------------------------------------------------

def _git(args: Sequence[str], cwd: Path) -> bytes | None:
    """stdout of ``git <args>`` in `cwd`, or None when git is missing or fails."""
    exe = shutil.which("git")
    if exe is None:
        return None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    try:
        p = subprocess.run([exe, *args], cwd=cwd, capture_output=True, env=env, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout if p.returncode == 0 else None


def _iter_files(path: Path) -> Iterator[Path]:
    """Files under `path` (or `path` itself), sorted, skipping caches and hidden entries."""
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for f in sorted(files):
            if not f.startswith(".") and not f.endswith((".pyc", ".pyo")):
                yield Path(root) / f


def _content_hash(paths: Sequence[Path], h: Any) -> None:
    """Feed the relative names and bytes of every file under `paths` into hash `h`."""
    for base in paths:
        h.update(f"P\x1f{base.name}\x1f".encode())
        if not base.exists():
            h.update(b"missing\x1f")
            continue
        for f in _iter_files(base):
            rel = f.relative_to(base).as_posix() if base.is_dir() else f.name
            h.update(f"F\x1f{rel}\x1f".encode())
            h.update(f.read_bytes())


def code_hash(paths: Sequence[Path]) -> str:
    """The code version of `paths` (e.g. an alpha's folder and ``hft/alpha``); see the module doc for the format.

    The git commit is that of the checkout holding the first path; uncommitted changes (``git diff HEAD`` and
    untracked, non-ignored files) count only within `paths`. Paths outside that checkout are content-hashed
    into the dirty part. Never raises because git is missing or fails: it falls back to ``nogit.<hash>``.
    """
    resolved = [Path(p).resolve() for p in paths]
    if not resolved:
        raise GovernanceError("code_hash: expected at least one path, was none", key="paths")
    anchor = resolved[0] if resolved[0].is_dir() else resolved[0].parent
    while not anchor.exists() and anchor != anchor.parent:
        anchor = anchor.parent
    top_out = _git(["rev-parse", "--show-toplevel"], anchor)
    head_out = _git(["rev-parse", "HEAD"], anchor) if top_out else None
    if not top_out or not head_out:
        h = hashlib.sha256(b"nogit\x1f")
        _content_hash(resolved, h)
        return f"nogit.{h.hexdigest()[:16]}"
    top = Path(top_out.decode().strip()).resolve()
    sha = head_out.decode().strip()
    inside, outside = [], []
    for p in resolved:
        try:
            inside.append(p.relative_to(top).as_posix() or ".")
        except ValueError:
            outside.append(p)
    h = hashlib.sha256()
    dirty = False
    if inside:
        spec = ["--", *sorted(set(inside))]
        diff = _git(["-c", "core.quotePath=false", "diff", "HEAD", "--no-color", "--no-ext-diff", "--binary",
                     "--full-index", "--src-prefix=a/", "--dst-prefix=b/", *spec], top)
        untracked = _git(["ls-files", "--others", "--exclude-standard", "-z", *spec], top)
        if diff is None or untracked is None:
            # git could not describe the changes: hash the content instead (still stable for equal content)
            diff = b""
            untracked = b"\0".join(p.encode() for p in sorted(inside))
        if diff:
            dirty = True
            h.update(b"D\x1f" + diff)
        for name in sorted(n for n in untracked.decode(errors="surrogateescape").split("\0") if n):
            f = top / name
            if f.name.endswith((".pyc", ".pyo")) or "__pycache__" in f.parts:
                continue
            dirty = True
            h.update(f"U\x1f{name}\x1f".encode(errors="surrogateescape"))
            with contextlib.suppress(OSError):
                h.update(f.read_bytes())
    if outside:
        dirty = True
        _content_hash(outside, h)
    return f"{sha[:12]}+dirty.{h.hexdigest()[:10]}" if dirty else sha[:12]


# --- trials ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trial:
    """One recorded trial: a validate run, a search point, a promotion replay …

    Attributes:
        experiment_id: the experiment (see `new_experiment_id`); a validate run is one experiment of 1 trial.
        alpha_id / family / version: the alpha, its family (trials counted together; "" means the alpha id)
            and its version.
        trial: trial number within the experiment (0, 1, …).
        kind: ``validate`` | ``search`` | ``promote`` …
        params: the alpha parameters (and any search settings) of the trial; JSON-serialisable.
        metrics: see the module doc (``sharpe``, ``n_obs``, optional ``period_returns``).
        code_hash / data_hash: versions of the code (`code_hash`) and of the data the trial ran on.
        seed: the random seed of the trial.
        status: ``ok`` | ``failed`` (ran, did not pass) | ``error`` (crashed); every status is counted.
        started_ns / finished_ns: UTC, int ns.
        host / user: where and by whom (default: this process).
    """
    experiment_id: str
    alpha_id: str
    family: str
    version: str
    trial: int
    kind: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    code_hash: str
    data_hash: str
    seed: int
    status: str
    started_ns: int
    finished_ns: int
    host: str = field(default_factory=current_host)
    user: str = field(default_factory=current_user)

    def __post_init__(self) -> None:
        if not self.family:
            object.__setattr__(self, "family", self.alpha_id)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every field (params and metrics copied)."""
        return dataclasses.asdict(self)

    def __repr__(self) -> str:
        """One line: the trial, its status and its scalar metrics (series such as ``period_returns`` left out)."""
        scalars = {k: v for k, v in self.metrics.items() if isinstance(v, int | float | str | bool) or v is None}
        return (f"Trial(experiment_id={self.experiment_id!r}, trial={self.trial}, alpha_id={self.alpha_id!r}, "
                f"kind={self.kind!r}, status={self.status!r}, params={self.params!r}, metrics={scalars!r})")

    @property
    def record_id(self) -> str:
        """The stable record id of this trial (32 hex digits)."""
        return trial_record_id(self.experiment_id, self.trial)

    @property
    def sharpe(self) -> float | None:
        """``metrics["sharpe"]`` as a finite float, else None."""
        return _finite(self.metrics.get("sharpe"))

    def check(self) -> None:
        """Raise GovernanceError unless every field has the expected type and range."""
        strs = ("experiment_id", "alpha_id", "family", "version", "kind", "code_hash", "data_hash", "status",
                "host", "user")
        for name in strs:
            v = getattr(self, name)
            if not isinstance(v, str):
                raise GovernanceError(f"trial field {name}: expected a string, was {v!r}", key=name)
        for name in ("experiment_id", "alpha_id", "kind"):
            if not getattr(self, name):
                raise GovernanceError(f"trial field {name}: expected a non-empty string, was ''", key=name)
        for name in ("trial", "seed", "started_ns", "finished_ns"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise GovernanceError(f"trial field {name}: expected an integer >= 0, was {v!r}", key=name)
        if self.status not in TRIAL_STATUSES:
            raise GovernanceError(f"trial field status: expected one of {list(TRIAL_STATUSES)}, was "
                                  f"{self.status!r}", key="status")
        for name in ("params", "metrics"):
            v = getattr(self, name)
            if not isinstance(v, dict):
                raise GovernanceError(f"trial field {name}: expected a dict, was {type(v).__name__}", key=name)

    def to_record(self) -> dict[str, Any]:
        """The ``audit.alpha_experiments`` record of this trial (record id included)."""
        return {
            "record_id": self.record_id, "ts": self.started_ns, "experiment_id": self.experiment_id,
            "alpha_id": self.alpha_id, "trial": self.trial, "kind": self.kind, "params": self.params,
            "metrics": self.metrics, "code_hash": self.code_hash, "data_hash": self.data_hash, "seed": self.seed,
            "status": self.status, "family": self.family, "version": self.version, "host": self.host,
            "user": self.user, "started_ts": self.started_ns, "finished_ts": self.finished_ns,
        }


@dataclass(frozen=True)
class FamilyStats:
    """Trial statistics of a family for DSR / PBO.

    Attributes:
        n_trials: every recorded trial of the family (any status: none is skipped).
        var_sharpe: sample variance (ddof=1) of the finite per-period Sharpe ratios; 0.0 with fewer than two.
        sharpes: those Sharpe ratios, in trial order.
    """
    n_trials: int
    var_sharpe: float
    sharpes: list[float] = field(repr=False)  # one per trial: thousands after a search


def _finite(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        try:
            v = float(v)  # numpy scalars, numeric strings
        except (TypeError, ValueError):
            return None
    v = float(v)
    return v if math.isfinite(v) else None


def sql_literal(s: str) -> str:
    """A ClickHouse string literal of `s` (quotes and backslashes escaped)."""
    return "'" + str(s).replace("\\", "\\\\").replace("'", "\\'") + "'"


_FAMILY = "if(family = '', alpha_id, family)"  # rows without a family (written before 002) count as their alpha
_SELECT = ("SELECT experiment_id, alpha_id, family, version, trial, kind, params, metrics, code_hash, data_hash, "
           "seed, status, toUnixTimestamp64Nano(started_ts) AS started_ns, "
           "toUnixTimestamp64Nano(finished_ts) AS finished_ns, host, user FROM " + TOPIC)


def _trial_from_row(row: dict[str, Any]) -> Trial:
    def doc(s: str) -> dict[str, Any]:
        try:
            v = json.loads(s) if s else {}
        except ValueError:
            return {"_raw": s}
        return v if isinstance(v, dict) else {"_value": v}

    return Trial(
        experiment_id=row["experiment_id"], alpha_id=row["alpha_id"], family=row["family"],
        version=row["version"], trial=int(row["trial"]), kind=row["kind"], params=doc(row["params"]),
        metrics=doc(row["metrics"]), code_hash=row["code_hash"], data_hash=row["data_hash"],
        seed=int(row["seed"]), status=row["status"], started_ns=int(row["started_ns"]),
        finished_ns=int(row["finished_ns"]), host=row["host"], user=row["user"])


# --- the registry -------------------------------------------------------------------------------------------

class ExperimentRegistry:
    """Records trials (WAL first, then the store) and reads them back, through `sink`.

    Args:
        sink: where the rows go and are read from (`hft.alpha.records.sink.AuditSink`; the store adapter
            `hft.recorder.alpha_audit`: ``AUDIT`` opens the store per call, ``AlphaAuditStore(home,
            store=store)`` uses an open one, ``held()`` holds one open for a unit of work).
    """

    def __init__(self, sink: AuditSink) -> None:
        self.sink = sink

    def __repr__(self) -> str:
        return f"ExperimentRegistry(sink={self.sink!r})"

    # --- writing ------------------------------------------------------------------------------------------
    def record(self, trials: Sequence[Trial]) -> list[str]:
        """Append `trials` through the sink (WAL first: ``$HFT_HOME/wal/alpha-audit``), then load them into the
        store.

        Returns the trials' record ids (32 hex).

        Idempotent: a trial (experiment_id, trial) recorded again replaces, never duplicates, its row.

        Raises:
            GovernanceError: a trial with a bad field (nothing is written).
            StoreError: the WAL refused the write (disk pressure) or the store could not be loaded.
        """
        trials = list(trials)
        for t in trials:
            if not isinstance(t, Trial):
                raise GovernanceError(f"record: expected Trial objects, was {type(t).__name__}")
            t.check()
        if not trials:
            return []
        self.sink.append(TOPIC, [t.to_record() for t in trials])
        return [t.record_id for t in trials]

    # --- reading ------------------------------------------------------------------------------------------
    def trials(self, *, family: str | None = None, alpha_id: str | None = None, data_hash: str | None = None,
               kind: str | None = None, experiment_id: str | None = None) -> list[Trial]:
        """Recorded trials matching every given filter, ordered by (started_ns, trial)."""
        filters = ((_FAMILY, family), ("alpha_id", alpha_id), ("data_hash", data_hash), ("kind", kind),
                   ("experiment_id", experiment_id))
        where = [f"{col} = {sql_literal(v)}" for col, v in filters if v is not None]
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started_ns, trial, experiment_id"
        return [_trial_from_row(r) for r in self.sink.query(sql)]

    def get(self, experiment_id: str) -> list[Trial]:
        """Every trial of `experiment_id`. Raises GovernanceError naming the id when none is recorded."""
        out = self.trials(experiment_id=experiment_id)
        if not out:
            raise GovernanceError(f"unknown experiment id {experiment_id!r}: expected one recorded in {TOPIC}",
                                  hint="list them with `hft alpha experiments list`", experiment_id=experiment_id)
        return out

    def family_stats(self, family: str, data_hash: str | None = None) -> FamilyStats:
        """Trial count and Sharpe variance of `family` (optionally only trials on `data_hash`), for DSR / PBO.

        `n_trials` counts every recorded trial (ok, failed or error); `var_sharpe` is the sample variance
        (ddof=1) of the finite ``metrics["sharpe"]`` values (0.0 when fewer than two).
        """
        where = f"{_FAMILY} = {sql_literal(family)}"
        if data_hash is not None:
            where += f" AND data_hash = {sql_literal(data_hash)}"
        sql = (f"SELECT JSONExtract(metrics, 'sharpe', 'Nullable(Float64)') AS sharpe, "
               f"toUnixTimestamp64Nano(started_ts) AS started_ns FROM {TOPIC} WHERE {where} "
               "ORDER BY started_ns, trial, experiment_id")
        rows = self.sink.query(sql)
        sharpes = [s for s in (_finite(r["sharpe"]) if r["sharpe"] is not None else None for r in rows)
                   if s is not None]
        n = len(sharpes)
        if n >= 2:
            mean = math.fsum(sharpes) / n
            var = math.fsum((s - mean) ** 2 for s in sharpes) / (n - 1)
        else:
            var = 0.0
        return FamilyStats(n_trials=len(rows), var_sharpe=var, sharpes=sharpes)

    def experiments(self, *, alpha_id: str | None = None, kind: str | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
        """One summary per experiment id, newest first.

        Keys: experiment_id, alpha_id (`alpha_label` of its trials' alphas), family, version, kind, n_trials, n_ok, best_sharpe (max finite
        ``metrics.sharpe``, None if none), best_trial, data_hash, code_hash, started_ns, finished_ns, started
        (ISO-8601 UTC).
        """
        where = [f"{col} = {sql_literal(v)}" for col, v in (("alpha_id", alpha_id), ("kind", kind))
                 if v is not None]
        sql = (
            "SELECT experiment_id, arraySort(groupUniqArray(alpha_id)) AS alpha_ids, any(fam) AS family, any(version) AS version, "
            "any(kind) AS kind, count() AS n_trials, countIf(status = 'ok') AS n_ok, "
            "maxOrNull(if(isFinite(ifNull(s, nan)), s, NULL)) AS best_sharpe, "
            "argMaxIf(trial, s, isFinite(ifNull(s, nan))) AS best_trial, "
            "countIf(isFinite(ifNull(s, nan))) AS n_sharpe, "
            "any(data_hash) AS data_hash, any(code_hash) AS code_hash, "
            "min(toUnixTimestamp64Nano(started_ts)) AS started_ns, "
            "max(toUnixTimestamp64Nano(finished_ts)) AS finished_ns "
            f"FROM (SELECT *, {_FAMILY} AS fam, JSONExtract(metrics, 'sharpe', 'Nullable(Float64)') AS s FROM {TOPIC}"
            + (" WHERE " + " AND ".join(where) if where else "") + ") "
            "GROUP BY experiment_id ORDER BY started_ns DESC, experiment_id"
        )
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise GovernanceError(f"limit: expected an integer >= 1, was {limit!r}", key="limit")
            sql += f" LIMIT {limit}"
        rows = self.sink.query(sql)
        out = []
        for r in rows:
            best = r["best_sharpe"]
            out.append({
                "experiment_id": r["experiment_id"], "alpha_id": alpha_label(r["alpha_ids"]), "family": r["family"],
                "version": r["version"], "kind": r["kind"], "n_trials": int(r["n_trials"]), "n_ok": int(r["n_ok"]),
                "best_sharpe": float(best) if best is not None else None,
                "best_trial": int(r["best_trial"]) if int(r["n_sharpe"]) else None,
                "data_hash": r["data_hash"], "code_hash": r["code_hash"],
                "started_ns": int(r["started_ns"]), "finished_ns": int(r["finished_ns"]),
                "started": iso_utc(int(r["started_ns"])),
            })
        return out


def alpha_label(alpha_ids: Iterable[str]) -> str:
    """The alpha of an experiment: its trials' one alpha id; for a search, whose trials score several alphas and
    combinations of them (``a+b``), every member alpha, sorted, joined by ``, ``."""
    ids = set(alpha_ids)
    if len(ids) == 1:
        return ids.pop()
    return ", ".join(sorted({m for a in ids for m in a.split("+")}))


def iso_utc(ns: int) -> str:
    """``YYYY-mm-ddTHH:MM:SS.ffffffZ`` of an int ns UTC time."""
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_ns() -> int:
    """UTC now, int ns."""
    return time.time_ns()


def alpha_code_hash(alpha_id: str, root: Path | None = None, artifact: str | Path | None = None) -> str:
    """The code hash gates are recorded under: the alpha's code folder (`registry.code_dir`: its folder, or a
    trained policy's research folder) plus the ``hft/alpha`` package, plus a trained policy's `artifact` folder
    (`hft.alpha.records.experiments.code_hash`, as the validation, search and ``rl-promote`` record it)."""
    from hft.alpha.api.registry import code_dir  # lazy: the registry loads the Alpha API (polars)

    paths = [code_dir(alpha_id, root), Path(hft.alpha.__file__).resolve().parent]
    return code_hash([*paths, Path(artifact)] if artifact else paths)


def current_actor() -> str:
    """``user@host`` of this process."""
    return f"{current_user()}@{current_host()}"
