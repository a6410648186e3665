"""Promotion files: ``<root>/YYYYMMDD/<alpha_id>.yaml``, strictly validated on read AND write, append-only history.

The root is ``$HFT_PROMOTIONS_ROOT`` when set, else the repository's ``config/strategy_promotions``. The date
folder is the UTC date of the promotion (``promoted_ts``).

```yaml
schema: 1
alpha_id: obi_l1
version: 1.0.0
code_hash: 3f9c...                  # hft.alpha.records.experiments.code_hash of the alpha's files
params: {smooth: 1}                 # the parameters promoted
promoted_ts: 1782000000000000000    # int ns UTC
state: canary                       # lifecycle state (hft/alpha/governance/lifecycle.py); must match the history
canary_step: 1                      # 0-based ladder step; must match the history
evidence:
  experiment_id: ""                 # experiment registry id ("" when none)
  run_ids: [9a1b...]                # Gate D replay run hash(es)
  data_hash: files-...              # the held-out data of Gate D
  forced: false                     # gates overridden with --force
  force_reason: ""                  # required (non-empty) when forced
  gates:                            # one entry per gate verdict at promotion
    - {gate: D, passed: true, metric: net_pnl, value: 12.5, threshold: 0.0, reasons: []}
gateway_limits: {max_position: 20, max_order_qty: 5}   # gateway limits.defaults keys (validated by the gateway)
canary:                             # the canary plan (hft/alpha/api/lifecycle_config.py)
  capital_fraction: 0.05            # = ladder[0].capital_fraction
  duration: 3h                      # = sum of the ladder durations
  kill: {max_drawdown: 1000.0, max_loss: 500.0, max_reject_rate: 0.05, max_slippage_bps: 10.0}
  ladder:
    - {capital_fraction: 0.05, duration: 1h}
    - {capital_fraction: 0.25, duration: 1h}
    - {capital_fraction: 1.0, duration: 1h}
approvers: ["Jane Doe <jane.doe@example.com>", jdoe]
history:                            # append-only; replayed through the state machine on every read
  - {ts: 1782000000000000000, event: promote, from: candidate, to: promoted, step: 0, reasons: [...], actor: ...}
```

Approvers
---------
Either ``Display Name <local@domain.tld>`` (a name of letters, spaces, ``.'-``; one e-mail address in angle
brackets) or a lowercase handle ``[a-z][a-z0-9._-]{1,31}``. Duplicates are refused.

History
-------
Entries are ``{ts, event, from, to, step, reasons, actor}`` plus optional ``run_id`` (the content id of the
observations a canary decision was taken on, or of Gate D's run for ``promote``), ``window`` (``[first ns, last
ns]`` of those observations) and ``metrics`` (a mapping of numbers).
``ts`` never decreases; each entry's ``from`` is the previous entry's ``to`` (the first starts at
``candidate``) and every step is an allowed `hft.alpha.governance.lifecycle.transition`; the file's ``state`` and
``canary_step`` must equal where the history ends. Writing over an existing file is allowed only when the new
history *extends* the stored one (same entries, in order, plus new ones) and the identity fields (everything
but ``state``, ``canary_step`` and ``history``) are unchanged.

The file is a view: the record of truth is the audit store (`hft.alpha.records.ledger`), where every step stores the
document and a hash chained to the previous step; a file that differs from its record is refused.

Errors: a structural problem (unknown key, wrong type) is a `ConfigError` naming the file and key; a governance
problem (bad approver, history not replayable, append-only violation) a `GovernanceError` naming both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from hft.alpha.api.base import check_alpha_id
from hft.alpha.api.lifecycle_config import (
    CanaryPlan,
    canary_to_dict,
    check_gateway_limits,
    format_duration,
    parse_canary,
)
from hft.alpha.governance.lifecycle import STATES, is_active, transition
from hft.config.strict import Section, load_yaml
from hft.core.errors import GovernanceError, HftError
from hft.core.fileio import atomic_write_text

__all__ = ["APPROVER_RE", "HANDLE_RE", "GateResult", "HistoryEntry", "Promotion", "active_promotion",
           "append_event", "check_approver", "list_promotions", "load_promotion", "parse_promotion",
           "promotion_path", "promotions_root", "write_promotion"]

SCHEMA_VERSION = 1
HANDLE_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
APPROVER_RE = re.compile(r"^[A-Za-z][A-Za-z .'\-]{0,63} <[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*"
                         r"\.[A-Za-z]{2,}>$")
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
_MUTABLE = ("state", "canary_step", "history")


def check_approver(value: Any, key: str = "approvers", file: str | None = None) -> str:
    """Return `value` when it is a valid approver (``Name <email>`` or a lowercase handle), else raise."""
    if isinstance(value, str) and (HANDLE_RE.match(value) or APPROVER_RE.match(value)):
        return value
    where = f"{file}: key '{key}': " if file else f"{key}: "
    raise GovernanceError(f"{where}expected an approver as 'Name <email@domain>' or a lowercase handle "
                          f"([a-z][a-z0-9._-]{{1,31}}), was {value!r}", key=key, file=file)


# --------------------------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict as recorded in the evidence."""
    gate: str
    passed: bool
    metric: str
    value: float
    threshold: float
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "passed": self.passed, "metric": self.metric, "value": _num(self.value),
                "threshold": _num(self.threshold), "reasons": list(self.reasons)}


@dataclass(frozen=True)
class HistoryEntry:
    """One lifecycle event."""
    ts: int
    event: str
    from_state: str
    to_state: str
    step: int
    reasons: tuple[str, ...]
    actor: str
    metrics: dict[str, float] | None = None
    run_id: str = ""
    window: tuple[int, int] | None = None  # [first, last] ns of the observations (promote: Gate D's run)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"ts": self.ts, "event": self.event, "from": self.from_state, "to": self.to_state,
                             "step": self.step, "reasons": list(self.reasons), "actor": self.actor}
        if self.run_id:
            d["run_id"] = self.run_id
        if self.window is not None:
            d["window"] = [int(self.window[0]), int(self.window[1])]
        if self.metrics is not None:
            d["metrics"] = {k: _num(v) for k, v in self.metrics.items()}
        return d


@dataclass(frozen=True)
class Promotion:
    """A promotion file's content (see the module docstring)."""
    alpha_id: str
    version: str
    code_hash: str
    params: dict[str, Any]
    promoted_ts: int
    state: str
    canary_step: int
    experiment_id: str
    run_ids: tuple[str, ...]
    data_hash: str
    forced: bool
    force_reason: str
    gates: tuple[GateResult, ...]
    gateway_limits: dict[str, Any]
    canary: CanaryPlan
    approvers: tuple[str, ...]
    history: tuple[HistoryEntry, ...]
    file: str | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return is_active(self.state)

    @property
    def date(self) -> str:
        """YYYYMMDD (UTC) of the promotion: the folder of its file."""
        return dt.datetime.fromtimestamp(self.promoted_ts // 1_000_000_000, dt.UTC).strftime("%Y%m%d")

    @property
    def last_ts(self) -> int:
        return self.history[-1].ts if self.history else self.promoted_ts

    def to_dict(self) -> dict[str, Any]:
        """The YAML document (key order as documented)."""
        return {
            "schema": SCHEMA_VERSION, "alpha_id": self.alpha_id, "version": self.version,
            "code_hash": self.code_hash, "params": dict(self.params), "promoted_ts": self.promoted_ts,
            "state": self.state, "canary_step": self.canary_step,
            "evidence": {"experiment_id": self.experiment_id, "run_ids": list(self.run_ids),
                         "data_hash": self.data_hash, "forced": self.forced, "force_reason": self.force_reason,
                         "gates": [g.to_dict() for g in self.gates]},
            "gateway_limits": dict(self.gateway_limits), "canary": canary_to_dict(self.canary),
            "approvers": list(self.approvers), "history": [h.to_dict() for h in self.history],
        }

    def summary(self) -> dict[str, Any]:
        """A short JSON-ready view (status listings)."""
        return {"alpha_id": self.alpha_id, "version": self.version, "code_hash": self.code_hash,
                "state": self.state, "canary_step": self.canary_step, "ladder_steps": len(self.canary.ladder),
                "promoted_ts": self.promoted_ts, "last_event": self.history[-1].event if self.history else None,
                "last_ts": self.last_ts, "forced": self.forced, "file": self.file}


def _num(v: Any) -> Any:
    """A YAML-safe number: float, or None for NaN / inf (so documents compare equal)."""
    if isinstance(v, float | int) and not isinstance(v, bool):
        return float(v) if math.isfinite(v) else None
    return v


# --------------------------------------------------------------------------------------------------------------
# parse / validate
# --------------------------------------------------------------------------------------------------------------


def _gov(file: str, key: str, expected: str, found: Any) -> GovernanceError:
    return GovernanceError(f"{file}: key '{key}': expected {expected}, was {found!r}", file=file, key=key)


def _str_list(sec: Section, key: str, default: Any = ...) -> list[str]:
    v = sec.raw(key, default)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        sec.fail(sec.key(key), "a list of strings", v)
    return list(v)


def _number(sec: Section, key: str) -> float:
    v = sec.raw(key)
    if v is None or (isinstance(v, float) and v != v):
        return float("nan")  # a NaN statistic is written as .nan; None tolerated on read
    return sec.float(key)


def _gates(sec: Section) -> tuple[GateResult, ...]:
    raw = sec.raw("gates")
    if not isinstance(raw, list):
        sec.fail(sec.key("gates"), "a list of gate verdicts", raw)
    out = []
    for i, item in enumerate(raw):
        g = Section(item, sec.file, f"{sec.key('gates')}[{i}]")
        out.append(GateResult(gate=g.str("gate"), passed=g.bool("passed"), metric=g.str("metric"),
                              value=_number(g, "value"), threshold=_number(g, "threshold"),
                              reasons=tuple(_str_list(g, "reasons", []))))
        g.done()
    return tuple(out)


def _history(sec: Section, file: str) -> tuple[HistoryEntry, ...]:
    raw = sec.raw("history")
    if not isinstance(raw, list) or not raw:
        sec.fail("history", "a non-empty list of events", raw)
    out = []
    for i, item in enumerate(raw):
        h = Section(item, file, f"history[{i}]")
        ts = h.int("ts", min_value=0)
        metrics = h.raw("metrics", None)
        if metrics is not None and (not isinstance(metrics, dict) or not all(
                isinstance(k, str) and (v is None or (isinstance(v, int | float) and not isinstance(v, bool)))
                for k, v in metrics.items())):
            h.fail(h.key("metrics"), "a mapping of names to numbers", metrics)
        actor = h.str("actor")
        if not actor.strip():
            h.fail(h.key("actor"), "a non-empty actor", actor)
        window = h.raw("window", None)
        if window is not None and (not isinstance(window, list) or len(window) != 2 or not all(
                type(v) is int and v >= 0 for v in window) or window[0] > window[1]):
            h.fail(h.key("window"), "[first ns, last ns] (two ints, first <= last)", window)
        out.append(HistoryEntry(ts=ts, event=h.str("event"), from_state=h.str("from", choices=STATES),
                                to_state=h.str("to", choices=STATES), step=h.int("step", min_value=0),
                                reasons=tuple(_str_list(h, "reasons", [])), actor=actor,
                                run_id=h.str("run_id", ""), window=None if window is None else (window[0], window[1]),
                                metrics=None if metrics is None else {
                                    k: float("nan") if v is None else float(v) for k, v in metrics.items()}))
        h.done()
    return tuple(out)


def _replay_history(p: Promotion, file: str) -> None:
    """The history must be a valid walk of the state machine ending at (state, canary_step)."""
    state, step, last_ts = "candidate", 0, -1
    n = len(p.canary.ladder)
    for i, h in enumerate(p.history):
        key = f"history[{i}]"
        if h.ts < last_ts:
            raise _gov(file, f"{key}.ts", f"a time >= the previous entry's ({last_ts})", h.ts)
        if h.from_state != state:
            raise _gov(file, f"{key}.from", f"'{state}' (where the history stands)", h.from_state)
        try:
            t = transition(state, h.event, step, n)
        except GovernanceError as exc:
            raise GovernanceError(f"{file}: key '{key}.event': {exc.message}", file=file, key=f"{key}.event") \
                from None
        if h.to_state != t.to_state:
            raise _gov(file, f"{key}.to", f"'{t.to_state}' (event {h.event} from {state})", h.to_state)
        if h.step != t.to_step:
            raise _gov(file, f"{key}.step", f"{t.to_step} (event {h.event} at step {step})", h.step)
        state, step, last_ts = t.to_state, t.to_step, h.ts
    if p.history[0].event != "promote":
        raise _gov(file, "history[0].event", "'promote'", p.history[0].event)
    if p.state != state:
        raise _gov(file, "state", f"'{state}' (where the history ends)", p.state)
    if p.canary_step != step:
        raise _gov(file, "canary_step", f"{step} (where the history ends)", p.canary_step)


def parse_promotion(data: Any, file: str | Path | None = None) -> Promotion:
    """Strictly parse and validate a promotion document (see the module docstring)."""
    f = str(file) if file is not None else "<promotion>"
    root = Section(data, f)
    schema = root.int("schema")
    if schema != SCHEMA_VERSION:
        root.fail("schema", str(SCHEMA_VERSION), schema)
    alpha_id = root.str("alpha_id")
    try:
        check_alpha_id(alpha_id)
    except GovernanceError as exc:
        raise GovernanceError(f"{f}: key 'alpha_id': {exc.message}", file=f, key="alpha_id") from None
    version = root.str("version")
    if not _VERSION_RE.match(version):
        root.fail("version", "a version like '1.0.0'", version)
    code_hash = root.str("code_hash")
    if not code_hash:
        root.fail("code_hash", "a non-empty code hash", code_hash)
    params = root.raw("params")
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        root.fail("params", "a mapping of parameter values", params)
    ev = root.section("evidence")
    forced = ev.bool("forced")
    force_reason = ev.str("force_reason", "")
    if forced and not force_reason.strip():
        raise _gov(f, "evidence.force_reason", "a non-empty reason when forced is true", force_reason)
    experiment_id = ev.str("experiment_id", "")
    run_ids = tuple(_str_list(ev, "run_ids"))
    data_hash = ev.str("data_hash")
    gates = _gates(ev)
    ev.done()
    limits = check_gateway_limits(root.raw("gateway_limits"), f, "gateway_limits")
    cs = root.section("canary")
    plan = parse_canary(cs)
    frac = cs.float("capital_fraction")
    if abs(frac - plan.capital_fraction) > 1e-12:
        cs.fail(cs.key("capital_fraction"), f"{plan.capital_fraction} (ladder[0].capital_fraction)", frac)
    dur_raw = cs.raw("duration")
    if cs.duration_ns("duration") != plan.duration_ns:
        cs.fail(cs.key("duration"), f"{format_duration(plan.duration_ns)} (the sum of the ladder durations)",
                 dur_raw)
    cs.done()
    approvers_raw = root.raw("approvers")
    if not isinstance(approvers_raw, list):
        root.fail("approvers", "a list of approvers", approvers_raw)
    approvers = tuple(check_approver(a, f"approvers[{i}]", f) for i, a in enumerate(approvers_raw))
    if len(set(approvers)) != len(approvers):
        raise _gov(f, "approvers", "distinct approvers", list(approvers))
    state = root.str("state", choices=STATES)
    step = root.int("canary_step", min_value=0)
    promoted_ts = root.int("promoted_ts", min_value=0)
    history = _history(root, f)
    root.done()
    p = Promotion(alpha_id=alpha_id, version=version, code_hash=code_hash, params=dict(params),
                  promoted_ts=promoted_ts, state=state, canary_step=step, experiment_id=experiment_id,
                  run_ids=run_ids, data_hash=data_hash, forced=forced, force_reason=force_reason, gates=gates,
                  gateway_limits=limits, canary=plan, approvers=approvers, history=history, file=f)
    _replay_history(p, f)
    if history[0].ts != promoted_ts:
        raise _gov(f, "promoted_ts", f"the time of the promote event ({history[0].ts})", promoted_ts)
    return p


# --------------------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------------------


def repo_promotions_dir() -> Path:
    """The repository's ``config/strategy_promotions``."""
    return Path(__file__).resolve().parents[3] / "config" / "strategy_promotions"


def promotions_root(root: str | Path | None = None) -> Path:
    """`root`, else ``$HFT_PROMOTIONS_ROOT``, else the repository's ``config/strategy_promotions``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("HFT_PROMOTIONS_ROOT")
    return Path(env).absolute() if env else repo_promotions_dir()


def promotion_path(alpha_id: str, promoted_ts: int, root: str | Path | None = None) -> Path:
    """``<root>/YYYYMMDD/<alpha_id>.yaml`` for a promotion at `promoted_ts` (UTC date)."""
    day = dt.datetime.fromtimestamp(promoted_ts // 1_000_000_000, dt.UTC).strftime("%Y%m%d")
    return promotions_root(root) / day / f"{check_alpha_id(alpha_id)}.yaml"


def load_promotion(path: str | Path) -> Promotion:
    """Read and validate a promotion file; its name and folder must match its alpha id and date."""
    path = Path(path)
    p = parse_promotion(load_yaml(path), path)
    if path.stem != p.alpha_id:
        raise _gov(str(path), "alpha_id", f"{path.stem!r} (the file name)", p.alpha_id)
    if re.fullmatch(r"\d{8}", path.parent.name) and path.parent.name != p.date:
        raise _gov(str(path), "promoted_ts", f"a time on {path.parent.name} (the folder's date), not {p.date}",
                   p.promoted_ts)
    return p


def check_write(p: Promotion, path: str | Path) -> None:
    """Every check `write_promotion` makes, without writing (run before a step is recorded, so a step that
    cannot be written is never recorded)."""
    target = Path(path)
    parse_promotion(p.to_dict(), target)
    if target.stem != p.alpha_id:
        raise _gov(str(target), "alpha_id", f"{target.stem!r} (the file name)", p.alpha_id)
    if target.exists():
        _check_append_only(load_promotion(target), p, str(target))


def _dump(doc: dict[str, Any]) -> str:

    head = ("# Alpha promotion (hft/alpha/governance/promotion.py). Written by `hft alpha promote` / `hft alpha canary`.\n"
            "# Validated on read and write; `history` is append-only: edit nothing by hand.\n")
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=118, allow_unicode=True)


def write_promotion(p: Promotion, path: str | Path | None = None, *, root: str | Path | None = None) -> Path:
    """Validate `p` and write it atomically (default path: `promotion_path`); returns the path.

    Over an existing file the write is refused unless the new history extends the stored one and the identity
    fields are unchanged (`GovernanceError`); nothing is written on any error.
    """
    target = Path(path) if path is not None else promotion_path(p.alpha_id, p.promoted_ts, root)
    doc = p.to_dict()
    parse_promotion(doc, target)  # validate what we are about to write (same rules as on read)
    if target.stem != p.alpha_id:
        raise _gov(str(target), "alpha_id", f"{target.stem!r} (the file name)", p.alpha_id)
    text = _dump(doc)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target):  # read-check-write under a lock: two writers cannot both append from the same base
        if target.exists():
            old = load_promotion(target)
            _check_append_only(old, p, str(target))
        atomic_write_text(target, text)
    return target


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """An exclusive advisory lock on `target`'s folder (POSIX flock on the directory: no lock file is left
    behind; a no-op where flock is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _check_append_only(old: Promotion, new: Promotion, file: str) -> None:
    n = len(old.history)
    olds = [h.to_dict() for h in old.history]
    news = [h.to_dict() for h in new.history]
    if len(news) < n or news[:n] != olds:
        first = next((i for i, (a, b) in enumerate(zip(olds, news, strict=False)) if a != b), min(n, len(news)))
        raise GovernanceError(f"{file}: key 'history[{first}]': expected the stored history kept as is "
                              f"(append-only: {n} entries), was dropped or edited", file=file,
                              key=f"history[{first}]", hint="history entries can only be appended")
    a, b = old.to_dict(), new.to_dict()
    for key in a:
        if key not in _MUTABLE and a[key] != b[key]:
            raise GovernanceError(f"{file}: key '{key}': expected it unchanged since the promotion, was changed",
                                  file=file, key=key, hint="promote again to change it (a new file)")


def list_promotions(root: str | Path | None = None) -> list[Promotion]:
    """Every promotion file under the root (validated), sorted by (date, alpha id)."""
    base = promotions_root(root)
    if not base.is_dir():
        return []
    out = []
    for day in sorted(d for d in base.iterdir() if d.is_dir() and re.fullmatch(r"\d{8}", d.name)):
        for f in sorted(day.glob("*.yaml")):
            out.append(load_promotion(f))
    return out


def promotions_of(alpha_id: str, root: str | Path | None = None) -> list[Promotion]:
    """The promotions of one alpha (its ``*/<alpha_id>.yaml`` files only: another alpha's broken file does not
    block this one), oldest first."""
    base = promotions_root(root)
    if not base.is_dir():
        return []
    name = f"{check_alpha_id(alpha_id)}.yaml"
    files = sorted(d / name for d in base.iterdir() if d.is_dir() and re.fullmatch(r"\d{8}", d.name)
                   and (d / name).is_file())
    return sorted((load_promotion(f) for f in files), key=lambda p: (p.promoted_ts, p.date))


def active_promotion(alpha_id: str, root: str | Path | None = None) -> Promotion | None:
    """The alpha's most recent promotion in an active state (promoted / canary / graduated), or None."""
    act = [p for p in promotions_of(alpha_id, root) if p.active]
    return act[-1] if act else None


def latest_promotion(alpha_id: str, root: str | Path | None = None) -> Promotion | None:
    """The alpha's most recent promotion in any state, or None."""
    ps = promotions_of(alpha_id, root)
    return ps[-1] if ps else None


def append_event(p: Promotion, event: str, *, ts: int, actor: str, reasons: list[str] | tuple[str, ...],
                 metrics: dict[str, float] | None = None, run_id: str = "",
                 window: tuple[int, int] | None = None) -> Promotion:
    """A copy of `p` with `event` applied through the state machine and appended to the history.

    Raises:
        GovernanceError: the transition is not allowed (nothing changes).
    """
    t = transition(p.state, event, p.canary_step, len(p.canary.ladder))
    ts = max(int(ts), p.last_ts)  # the history never goes back in time
    entry = HistoryEntry(ts=ts, event=event, from_state=t.from_state, to_state=t.to_state, step=t.to_step,
                         reasons=tuple(reasons), actor=actor, metrics=metrics, run_id=run_id, window=window)
    return replace(p, state=t.to_state, canary_step=t.to_step, history=(*p.history, entry))


def new_promotion(*, alpha_id: str, version: str, code_hash: str, params: dict[str, Any], ts: int, actor: str,
                  experiment_id: str, run_ids: list[str], data_hash: str, gates: list[GateResult],
                  gateway_limits: dict[str, Any], canary: CanaryPlan, approvers: list[str], forced: bool = False,
                  force_reason: str = "", reasons: list[str] | None = None, evidence_id: str = "",
                  evidence_window: tuple[int, int] | None = None) -> Promotion:
    """A fresh promotion: the ``promote`` event from ``candidate`` (`evidence_id` / `evidence_window`: the
    content id and time span of the Gate D run, `hft.alpha.governance.canary.observation_identity`, so canary observations
    must be other and newer)."""
    base = Promotion(alpha_id=alpha_id, version=version, code_hash=code_hash, params=dict(params), promoted_ts=ts,
                     state="candidate", canary_step=0, experiment_id=experiment_id, run_ids=tuple(run_ids),
                     data_hash=data_hash, forced=forced, force_reason=force_reason, gates=tuple(gates),
                     gateway_limits=dict(gateway_limits), canary=canary, approvers=tuple(approvers), history=())
    return append_event(base, "promote", ts=ts, actor=actor, reasons=reasons or [], run_id=evidence_id,
                        window=evidence_window)


def safe_list_promotions(root: str | Path | None = None) -> tuple[list[Promotion], list[dict[str, Any]]]:
    """Like `list_promotions`, but an invalid file is reported (``{file, error}``) instead of raised."""
    base = promotions_root(root)
    good, bad = [], []
    if not base.is_dir():
        return good, bad
    for day in sorted(d for d in base.iterdir() if d.is_dir() and re.fullmatch(r"\d{8}", d.name)):
        for f in sorted(day.glob("*.yaml")):
            try:
                good.append(load_promotion(f))
            except HftError as exc:
                bad.append({"file": str(f), "error": exc.message})
    return good, bad


__all__ += ["SCHEMA_VERSION", "check_write", "latest_promotion", "new_promotion", "promotions_of", "repo_promotions_dir",
            "safe_list_promotions"]
