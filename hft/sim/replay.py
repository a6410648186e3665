"""`hft replay`: replay recorded quotes with a strategy through the real gateway, into a run folder.

Config (`config/sim/replay.yaml`, strict; every key optional)::

    seed: 7                         # seeds random latencies
    latency: {entry: 1ms, response: 1ms, jitter: 0us, feed: data}   # see "Latency" below
    queue_model: risk_averse        # L2 data only (L3 queues are exact)
    exchange: partial_fill          # | no_partial_fill (hftbacktest's) | all_or_none
    fees: {maker_bps: -0.2, taker_bps: 2.0, per_lot: 0}
    multiplier: 1                   # money units per tick x lot (inverse contracts: per 1e-9 coin)
    instrument: {kind: inverse, contract_size: 100, min_qty: 1}   # overrides of the data's instrument:
                                    # kind, contract size, settlement currency, exchange filters (hft.sim.instruments)
    sample: 1s                      # equity series period (at least 1ms)
    limits: {max_position: 100}     # gateway limits.defaults for the run
    risk_checks: [{check: house/checks.py:MAX_DISTANCE, params: {max_ticks: 50}}]   # the house's own risk checks
                                    # (hft.gateway.risk_checks; FILE.py paths relative to the config file)
    strategies: {mm: {size: 1}}     # parameters per strategy (strict against the class's declared params)
    engine: numba                   # | python: the reference engine (same outputs, same run hash)
    l3_resync: true                 # LOBSTER data: keep the L3 venue's visible book equal to the reference rows

Latency (``latency:``, all keys optional):

* ``entry`` / ``response``: a duration (constant, plus ``jitter`` when > 0), or a recorded latency file
  ``{file: PATH, column: NAME}`` (empirical, interpolated at the send time — see `hft.sim.latency`); the
  column defaults to ``entry_ns`` / ``response_ns``. The file is CSV or Parquet with an integer ``t_ns``
  column (UTC ns, non-decreasing) and the latency columns (ns, >= 0).
* ``file: PATH``: shorthand for ``entry: {file: PATH}`` and ``response: {file: PATH}`` (both columns from
  one file); it cannot be combined with ``entry`` or ``response``.
* ``jitter``: mean of the seeded exponential jitter added to constant entry/response latencies; must be 0
  when either comes from a file.
* ``feed``: ``data`` (the data's own local timestamps), a duration (constant), or ``{base: 500us,
  jitter: 100us}`` (base plus seeded exponential jitter per event, `hft.sim.latency.random`).

Relative file paths resolve against the config file's folder. A missing or unreadable file, a missing
column or a bad series is a `ConfigError` naming the key (e.g. ``latency.entry.file``). The config hash
covers the latency series actually used (BLAKE2b of ``t_ns`` and the column), never the path.

L3 reference resync (``l3_resync``, default true): on LOBSTER data (which carries the reference book rows), the
L3 venue reconciles its visible top-L levels with the reference row after every message, without moving our
queue places (`hft.sim.exchange_l3`, "Reference resync"); the summary's ``resync`` reports how much it adjusted.
The same switch sets the strategy's local view to the reference row of each message at that message's LOCAL
time (feed latency applies): exactly the top-L the row shows, nothing below (`hft.sim.engine`, "Local view and
reference rows"). ``false`` replays the data-alone venue book and builds the local view from the messages alone
(the behaviour before the resync). Generated days are LOBSTER files with
complete messages, so the resync finds nothing to adjust there. The key enters the config hash when false. A
LOBSTER import without its reference sidecar falls back (said: `fallback_warnings`); other L3 data (DBN MBO) has
no reference to resync to, and the switch does not apply there (no warning).

Run folder: ``orders.parquet``, ``fills.parquet``, ``decisions.parquet``, ``equity.parquet`` (the integer
columns and, beside them, readable ones: `hft.sim.run_tables`), ``summary.json``, ``config.yaml`` (the
effective config), ``report.html`` (the tearsheet: `hft.report.run`) and ``replay.png``. The run hash (BLAKE2b over the decision, order and fill arrays) is the
identity of the behaviour: same data + config + seed → same hash, in any process. `run_replay` returns the summary;
`replay_result` the same run's summary and tables in memory (`hft.sim.run_reader.RunResult`, the tables its run
folder holds), built only there or when a run folder is written.

Imports: this module stays light (importing it loads neither numba nor polars) because the alpha commands parse
replay configs through it (`hft.cli._config`); what would load them is imported inside the function that needs it
(``# lazy: numba``), and so are the modules that import this one (``# lazy: cycle``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hft import __version__
from hft.compile_watch import CompileWatch
from hft.config.layering import SET_SOURCE, deep_merge, parse_sets
from hft.config.strict import Section, load_yaml
from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, NO_PRICE, SELL
from hft.core.errors import ConfigError, HftError, SimError
from hft.core.ids import hash_arrays
from hft.core.market_data import MarketDataSource, no_book_notice
from hft.core.money import FEE_FRAC_UNITS, exact_money, micro_units, round_micro
from hft.core.orders import fill_ratio, maker_share, order_counts
from hft.gateway.config import check_limit_defaults, limits_in_units
from hft.sim.gateway_setup import SIM_ACCOUNT, sim_gateway_config
from hft.sim.git_probe import GitCommitProbe, git_commit
from hft.sim.instruments import apply_overrides, gateway_units, parse_overrides, symbol_spec
from hft.sim.recording import RunRecorder
from hft.sim.run_reader import RunResult

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "sim" / "replay.yaml"


@dataclass(frozen=True)
class EmpiricalLatency:
    """A recorded latency series loaded from a file (`hft.sim.latency_file.load_empirical`)."""

    source: str  # the resolved file path (for display; not part of the config hash)
    column: str
    sha: str  # BLAKE2b of the (t_ns, column) series actually used: the content, never the path
    model: Any = field(compare=False, repr=False)  # hft.sim.latency.LatencyModel


@dataclass(frozen=True)
class ReplayConfig:
    """Strictly parsed replay configuration (see the module docstring)."""

    seed: int = 7
    entry_ns: int = 1_000_000
    response_ns: int = 1_000_000
    jitter_ns: int = 0
    feed: str | int = "data"
    feed_jitter_ns: int = 0  # > 0: feed latency = feed + seeded exponential jitter of this mean
    entry_empirical: EmpiricalLatency | None = None  # set: entry latency from a recorded file (entry_ns unused)
    response_empirical: EmpiricalLatency | None = None
    queue_model: str = "risk_averse"
    exchange: str = "partial_fill"
    maker_bps: float = 0.0
    taker_bps: float = 0.0
    per_lot: int = 0
    multiplier: int = 1
    sample_ns: int = 1_000_000_000
    limits: dict[str, Any] = field(default_factory=dict)
    risk_checks: tuple[dict[str, Any], ...] = ()  # gateway risk.checks entries ({check, params}), checked at parse
    strategies: dict[str, dict[str, Any]] = field(default_factory=dict)
    engine: str = "numba"  # "numba" (hft.sim.engine_nb) | "python" (hft.sim.engine): same outputs, same run hash
    l3_resync: bool = True  # LOBSTER data: resync the L3 venue's visible book with the reference rows
    instrument: dict[str, str] = field(default_factory=dict)  # overrides of the data's instrument (hft.sim.instruments)
    sources: tuple[str, ...] = field(default=(), compare=False)  # the layers it was built from (not hashed)

    def canonical(self) -> dict[str, Any]:
        """The effective config as the config hash sees it: every field in canonical units (durations in ns),
        recorded latency series by content. Keys added after the first release enter only when set, so older
        hashes hold. The engine never enters: both engines produce the same run (tests/unit/sim/test_engine_nb.py);
        nor do the sources it was layered from."""
        d: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)
                             if f.name not in ("engine", "sources")}
        for key in ("entry_empirical", "response_empirical"):
            emp = d.pop(key)
            if emp is not None:
                d[key] = {"column": emp.column, "sha": emp.sha}
        if not d["feed_jitter_ns"]:
            del d["feed_jitter_ns"]
        if not d["instrument"]:
            del d["instrument"]  # added later: absent hashes as before the key existed
        if not d["risk_checks"]:
            del d["risk_checks"]
        else:
            d["risk_checks"] = [dict(c) for c in d["risk_checks"]]
        if d["l3_resync"]:
            del d["l3_resync"]  # the default (on) hashes as before the key existed; off is a different config
        return d

    def digest(self) -> str:
        """Config hash: BLAKE2b-64 of `canonical()` as sorted JSON."""
        return hashlib.blake2b(json.dumps(self.canonical(), sort_keys=True).encode(), digest_size=8).hexdigest()

    def latency_summary(self) -> dict[str, Any]:
        """The latency settings as reported in ``summary.json``."""
        def side(emp: EmpiricalLatency | None, ns: int) -> Any:
            return {"file": emp.source, "column": emp.column, "sha": emp.sha} if emp is not None else ns

        return {"entry_ns": side(self.entry_empirical, self.entry_ns),
                "response_ns": side(self.response_empirical, self.response_ns), "jitter_ns": self.jitter_ns,
                "feed_ns": self.feed, "feed_jitter_ns": self.feed_jitter_ns}


def load_replay_config(path: str | Path | None = None, sets: Sequence[str] = ()) -> ReplayConfig:
    """The effective replay config, as ``hft replay`` builds it: the shipped defaults (`DEFAULT_CONFIG`) ← the file
    at `path` ← `sets` (``path.to.key=value``), layered (`hft.config.layering`). Each layer is checked strictly on
    its own (an error names its file, or ``--set``), then the merged mapping is parsed. Relative latency files
    resolve beside the file that names them, and so do risk checks' ``FILE.py`` specs. No `path`: the shipped
    config alone (what ``hft replay`` without ``--config`` runs); the built-in defaults only when no shipped config
    exists (`parse_replay_config` ``({})`` gives them on purpose)."""

    if path is None or (DEFAULT_CONFIG.exists() and Path(path).resolve() == DEFAULT_CONFIG):
        return overlay_replay_config(None, sets=sets)
    return overlay_replay_config(load_yaml(path), file=str(path), base_dir=Path(path).resolve().parent, sets=sets)


def overlay_replay_config(overlay: dict[str, Any] | None, *, file: str | None = None,
                          base_dir: str | Path | None = None, sets: Sequence[str] = ()) -> ReplayConfig:
    """`load_replay_config` of a mapping rather than a file: the shipped defaults (`DEFAULT_CONFIG`) ← `overlay`
    (named `file` in errors and ``config_sources``; relative paths in it resolve against `base_dir`) ← `sets`.
    A golden's ``config`` is such an overlay (`hft.sim.golden`), so a golden and ``hft replay --config`` of the
    same overlay run the same config. `overlay` None: the shipped config alone."""
    if not DEFAULT_CONFIG.exists() and overlay is None and not sets:
        return ReplayConfig()
    layers: list[tuple[dict[str, Any], str, Path]] = []
    if DEFAULT_CONFIG.exists():
        layers.append((load_yaml(DEFAULT_CONFIG), str(DEFAULT_CONFIG), DEFAULT_CONFIG.parent))
    if overlay is not None:
        layers.append((overlay, file or "<config>", Path(base_dir) if base_dir is not None else Path.cwd()))
    if sets:
        layers.append((parse_sets(sets), SET_SOURCE, Path.cwd()))
    merged: dict[str, Any] = {}
    for mapping, file, base in layers:
        parse_replay_config(mapping, file=file, base_dir=base)  # strict per layer: errors name the layer
        if "risk_checks" in mapping:
            mapping = {**mapping, "risk_checks": _anchor_checks(mapping["risk_checks"], base)}
        merged = _layer(merged, _absolute_latency_files(mapping, base))
    sources = tuple(f if f != SET_SOURCE else f"{SET_SOURCE} {' '.join(sets)}" for _, f, _ in layers)
    out = parse_replay_config(merged, file=" <- ".join(f for _, f, _ in layers), base_dir=Path.cwd())
    return replace(out, sources=sources)


def _absolute_latency_files(mapping: dict[str, Any], base: Path) -> dict[str, Any]:
    """A layer with its relative latency file paths made absolute against the folder of the file naming them."""
    lat = mapping.get("latency")
    if not isinstance(lat, dict):
        return mapping
    lat = dict(lat)

    def absolute(p: Any) -> Any:
        if not isinstance(p, str):
            return p
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    if "file" in lat:
        lat["file"] = absolute(lat["file"])
    for k in ("entry", "response"):
        if isinstance(lat.get(k), dict) and "file" in lat[k]:
            lat[k] = {**lat[k], "file": absolute(lat[k]["file"])}
    return {**mapping, "latency": lat}


def _layer(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`deep_merge`, knowing that ``latency.file`` is shorthand for both ``entry`` and ``response``."""

    lat_o, lat_b = over.get("latency"), base.get("latency")
    if isinstance(lat_o, dict) and isinstance(lat_b, dict):
        lat_b = dict(lat_b)
        if "file" in lat_o:
            lat_b.pop("entry", None)
            lat_b.pop("response", None)
        elif ("entry" in lat_o or "response" in lat_o) and "file" in lat_b:
            f = lat_b.pop("file")
            lat_b.setdefault("entry", {"file": f})
            lat_b.setdefault("response", {"file": f})
        base = {**base, "latency": lat_b}
    return deep_merge(base, over)


def write_config(path: Path, config: ReplayConfig) -> None:
    """The effective config of a run as YAML: exactly the mapping `ReplayConfig.digest` hashes."""

    head = ("# The effective replay config of this run, in canonical units (durations in ns).\n"
            f"# config_hash {config.digest()} = BLAKE2b-64 of this mapping as sorted JSON.\n"
            f"# engine: {config.engine} (not hashed: both engines give the same run)\n"
            + "".join(f"# layer: {src}\n" for src in config.sources))
    path.write_text(head + yaml.safe_dump(config.canonical(), sort_keys=True))


def parse_replay_config(mapping: dict[str, Any], *, file: str | Path | None = None,
                        base_dir: str | Path | None = None) -> ReplayConfig:
    """Parse a replay config mapping; `file` names it in errors, `base_dir` anchors relative latency files
    (default: the current directory)."""

    s = Section(mapping, file)
    d = ReplayConfig()
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    lat = s.section("latency", {})
    entry_ns, entry_emp, response_ns, response_emp, jitter_ns = _latencies(lat, base, d)
    feed, feed_jitter = _feed(lat)
    out = ReplayConfig(
        seed=s.int("seed", d.seed, min_value=0),
        entry_ns=entry_ns, response_ns=response_ns, jitter_ns=jitter_ns, feed=feed, feed_jitter_ns=feed_jitter,
        entry_empirical=entry_emp, response_empirical=response_emp,
        queue_model=s.str("queue_model", d.queue_model),
        exchange=s.str("exchange", d.exchange, choices=["partial_fill", "no_partial_fill", "all_or_none"]),
        multiplier=s.int("multiplier", 1, min_value=1), sample_ns=_sample_ns(s, d.sample_ns),
        limits=_limits(s.section("limits", {})), risk_checks=_risk_checks(s, base, file),
        strategies=_strategies(s.section("strategies", {})),
        engine=s.str("engine", d.engine, choices=["numba", "python"]),
        l3_resync=s.bool("l3_resync", d.l3_resync),
        instrument=parse_overrides(s.section("instrument", {})),
        **_fees(s.section("fees", {})),
    )
    lat.done()
    s.done()
    from hft.sim.queue_models import parse_queue_model  # lazy: numba

    try:  # fail on a bad name before any data is loaded
        parse_queue_model(out.queue_model)
    except ConfigError as exc:
        raise ConfigError(f"{s.file}: {exc.message}", file=s.file, key="queue_model") from None
    return out


def _latencies(lat: Section, base: Path, d: ReplayConfig) -> tuple[int, Any, int, Any, int]:
    """entry / response (durations or recorded files), the `file` shorthand and jitter."""
    if lat.has("file"):
        both = [k for k in ("entry", "response") if lat.has(k)]
        if both:
            raise ConfigError(f"{lat.file}: key 'latency.file': expected either 'file' or 'entry'/'response', "
                              f"was both (also '{both[0]}')", file=lat.file, key="latency.file")
        path = lat.str("file")
        entry_emp = _empirical(lat, "file", path, "entry_ns", base)
        response_emp = _empirical(lat, "file", path, "response_ns", base)
        entry_ns, response_ns = d.entry_ns, d.response_ns
    else:
        entry_ns, entry_emp = _one_latency(lat, "entry", "entry_ns", d.entry_ns, base)
        response_ns, response_emp = _one_latency(lat, "response", "response_ns", d.response_ns, base)
    jitter_ns = lat.duration_ns("jitter", 0)
    if jitter_ns and (entry_emp is not None or response_emp is not None):
        raise ConfigError(f"{lat.file}: key 'latency.jitter': expected 0 when entry or response latency comes "
                          f"from a recorded file, was {jitter_ns} ns", file=lat.file, key="latency.jitter")
    return entry_ns, entry_emp, response_ns, response_emp, jitter_ns


def _one_latency(lat: Section, key: str, default_column: str, default_ns: int, base: Path) -> tuple[int, Any]:
    raw = lat.raw(key, default_ns)
    if not isinstance(raw, dict):
        return lat.duration_ns(key, default_ns), None
    sec = lat.section(key)
    path = sec.str("file")
    column = sec.str("column", default_column)
    sec.done()
    return default_ns, _empirical(sec, "file", path, column, base)


def _empirical(sec: Section, key: str, path: str, column: str, base: Path) -> EmpiricalLatency:
    """Load a recorded latency column; errors name the config key."""
    from hft.sim.latency_file import load_empirical  # lazy: numba, polars

    name = f"{sec.path}.{key}" if sec.path else key
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = (base / resolved).resolve()
    try:
        model = load_empirical(resolved, column)
    except ConfigError as exc:
        raise ConfigError(f"{sec.file}: key '{name}': {exc.message}", file=sec.file, key=name) from None
    except (ValueError, TypeError) as exc:  # a non-numeric column
        raise ConfigError(f"{sec.file}: key '{name}': {resolved}: expected integer columns 't_ns' and "
                          f"'{column}' ({exc.__class__.__name__})", file=sec.file, key=name) from None
    return EmpiricalLatency(str(resolved), column, hash_arrays(model.times, model.values), model)


def _feed(lat: Section) -> tuple[str | int, int]:
    """``feed``: data | a duration | {base, jitter}."""
    raw = lat.raw("feed", "data")
    if raw == "data":
        return "data", 0
    if isinstance(raw, dict):
        sec = lat.section("feed")
        out = sec.duration_ns("base"), sec.duration_ns("jitter", 0)
        sec.done()
        return out
    return lat.duration_ns("feed"), 0


MIN_SAMPLE_NS = 1_000_000  # equity sampling: at most 1000 samples per second of data (a 1 ns period asks for TiBs)


def _risk_checks(s: Section, base: Path, file: str) -> tuple[dict[str, Any], ...]:
    """``risk_checks``: the gateway's ``risk.checks`` entries, with relative ``FILE.py`` specs anchored at the
    config's folder; resolved now (a bad entry fails before any data is loaded)."""
    raw = s.raw("risk_checks", None)
    if raw is None:
        return ()
    from hft.gateway.risk_checks import parse_checks  # lazy: loads the checks' files and numba

    raw = _anchor_checks(raw, base)
    parse_checks(raw, file, key="risk_checks")
    return tuple(raw)


def _anchor_checks(raw: Any, base: Path) -> Any:
    """`raw` risk_checks entries with their relative ``FILE.py:NAME`` specs made absolute against `base`."""
    if not isinstance(raw, list):
        return raw
    out = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("check"), str):
            where, sep, name = item["check"].strip().rpartition(":")
            if sep and where.endswith(".py") and not Path(where).is_absolute():
                item = {**item, "check": f"{base / where}:{name}"}
        out.append(item)
    return out


def _sample_ns(s: Section, default: int) -> int:
    raw = s.raw("sample", None)
    ns = s.duration_ns("sample", default)
    if ns < MIN_SAMPLE_NS:
        s.fail(s.key("sample"), "a sampling period of at least 1ms", raw)
    return ns


def _strategies(sec: Section) -> dict[str, dict[str, Any]]:
    """``strategies: {name: {param: value}}``: the parameters of a registered strategy are checked now; another
    name is an own strategy's key (``FILE.py:Class``), checked when ``-s`` resolves it (`hft.sim.strategy_loader`)."""
    from hft.sim.strategies import make_strategy  # lazy: numba
    from hft.sim.strategy_loader import registered  # lazy: numba

    names = registered()

    out = {}
    for name, params in sec.data.items():
        sec.raw(name)
        if params is not None and not isinstance(params, dict):
            sec.fail(sec.key(str(name)), "a mapping of strategy parameters", params)
        try:
            if str(name) in names:
                make_strategy(str(name), params)
        except HftError as exc:
            raise ConfigError(f"{sec.file}: key '{sec.key(str(name))}': {exc.message}", file=sec.file,
                              key=sec.key(str(name))) from None
        out[str(name)] = dict(params or {})
    return out


def _limits(sec: Section) -> dict[str, Any]:
    """``limits``: the gateway's ``limits.defaults`` for the run, checked now so that an error names this config's
    key (``limits.max_position``), not the simulated gateway's."""
    check_limit_defaults(sec)
    return dict(sec.data)


def _fees(sec: Section) -> dict[str, Any]:
    out = {"maker_bps": sec.float("maker_bps", 0.0), "taker_bps": sec.float("taker_bps", 0.0),
           "per_lot": sec.int("per_lot", 0)}
    sec.done()
    return out


def run_replay(data: list[Path], strategy_name: str, config: ReplayConfig, *, out_dir: Path | None = None,
               force: bool = False, progress: Any = None, recorder: RunRecorder | None = None,
               fmt: str | None = None, mapping: Path | None = None,
               source: MarketDataSource) -> dict[str, Any]:
    """Replay `data` with the strategy `strategy_name` names (a registered name, ``FILE.py:Class`` or
    ``module:Class``: `hft.sim.strategy_loader`); write the run folder when `out_dir` is given. `source` expands,
    groups and opens `data` (`hft.core.market_data.MarketDataSource`; the files on disk:
    `hft.data.sources.FILES`). `data` may name several days (globs and ``{FROM..TO}`` ranges expand); each is
    a session of one run (`hft.sim.sessions`); or several instruments on one clock (`hft.sim.portfolio`), over
    several days (`hft.sim.portfolio_days`: each day's instruments given together, the first day first). `fmt`
    names the data format (`hft.data.formats`; else detected by content), `mapping` a generic table's column
    mapping. `recorder` records the run (the store: the module `hft.recorder.sim_runs`; None records nothing).
    Returns the run's summary; `replay_result` is the same replay returning its tables in memory as well."""
    return _replay(data, strategy_name, config, out_dir=out_dir, force=force, progress=progress, recorder=recorder,
                   fmt=fmt, mapping=mapping, source=source, tables=False)[0]


def replay_result(data: list[Path], strategy_name: str, config: ReplayConfig, *, out_dir: Path | None = None,
                  force: bool = False, progress: Any = None, recorder: RunRecorder | None = None,
                  fmt: str | None = None, mapping: Path | None = None, source: MarketDataSource) -> RunResult:
    """`run_replay` (the same arguments, the same run) returning its results in memory, no run folder needed: a
    `hft.sim.run_reader.RunResult`, the summary and the tables `read_run` reads back from the run's folder (one
    instrument: ``orders``, ``fills``, ``decisions``, ``equity``, and ``days`` over several days; several
    instruments: ``portfolio`` and ``legs``). With `out_dir` the run folder is written too, from the same tables."""
    result = _replay(data, strategy_name, config, out_dir=out_dir, force=force, progress=progress,
                     recorder=recorder, fmt=fmt, mapping=mapping, source=source, tables=True)[1]
    assert result is not None  # tables=True: every kind of run builds its result
    return result


def _replay(data: list[Path], strategy_name: str, config: ReplayConfig, *, out_dir: Path | None, force: bool,
            **kw: Any) -> tuple[dict[str, Any], RunResult | None]:
    """`run_replay` (the rest of its arguments and `tables` in `kw`, as `_run` takes them): the strategy built, the
    run folder checked, then `_run`."""
    from hft.sim.run_folder import check_out_folder  # lazy: numba
    from hft.sim.strategy_loader import make as make_strategy  # lazy: numba
    from hft.sim.strategy_loader import user_errors  # lazy: numba

    spec, strategy = make_strategy(strategy_name, config.strategies)
    if out_dir is not None:  # before any data is read: a folder that cannot be written fails now
        check_out_folder(out_dir, force=force)
    with user_errors(strategy_name, strategy):  # the user's strategy raising: their error, one line
        return _run(data, strategy, spec, config, out_dir=out_dir, force=force, **kw)


def _run(data: list[Path], strategy: Any, spec: Any, config: ReplayConfig, *, out_dir: Path | None,
         force: bool, progress: Any, recorder: RunRecorder | None, fmt: str | None, mapping: Path | None,
         source: MarketDataSource, tables: bool) -> tuple[dict[str, Any], RunResult | None]:
    """`run_replay` once its strategy is built (`spec`: its `StrategySpec`) and its run folder checked: the
    summary and, with `tables`, the run's `RunResult` (else None: no table is built unless a folder is written).
    Quantities the config gives in instrument units become lots of the data's instruments once they are open."""
    from hft.sim.strategy_loader import with_instruments  # lazy: numba

    strategy_name, built = spec.key, strategy

    def in_lots(instruments: list[Any]) -> Any:  # the instruments as opened: the config's overrides applied here
        return with_instruments(built, spec, config.strategies.get(spec.key),
                                [apply_overrides(i, config.instrument) for i in instruments])

    notices: list[str] = []  # what the data's ranges skipped: said in the summary (``notices``) and by the CLI
    data = source.expand_paths(data, notices)
    groups = source.group_days(data)
    commit = GitCommitProbe()  # git runs beside the data load and the replay
    if len(groups) > 1:  # several days (one session each, `hft.sim.sessions`) or instruments (`hft.sim.portfolio`)
        from hft.sim.portfolio import (  # lazy: cycle (hft.sim.portfolio imports this module)
            are_instruments,
            run_instruments,
        )
        from hft.sim.portfolio_days import run_portfolio_days  # lazy: cycle (it imports this module)
        from hft.sim.sessions import run_days  # lazy: cycle (hft.sim.sessions imports this module)

        opened = [source.open_market_data(g, fmt=fmt, mapping=mapping) for g in groups[:2]]
        if are_instruments(opened):
            mds = opened + [source.open_market_data(g, fmt=fmt, mapping=mapping) for g in groups[2:]]
            several_days = len({md.instrument.symbol for md in mds}) < len(mds)  # an instrument comes again
            run = run_portfolio_days if several_days else run_instruments
            return run(groups, mds, in_lots([md.instrument for md in mds]), strategy_name, config, out_dir=out_dir,
                       force=force, progress=progress, recorder=recorder, commit=commit, tables=tables,
                       notices=notices)
        return run_days(groups, in_lots([opened[0].instrument]), strategy_name, config, out_dir=out_dir, force=force,
                        progress=progress, recorder=recorder, commit=commit, opened=opened, source=source, fmt=fmt,
                        mapping=mapping, tables=tables, notices=notices)
    try:
        md = source.open_market_data([Path(p) for p in data], fmt=fmt, mapping=mapping)
        strategy = in_lots([md.instrument])
        md = replace(md, instrument=apply_overrides(md.instrument, config.instrument))
        engine, multiplier = build_engine(md, strategy, strategy_name, config)

        t0 = time.perf_counter()
        with CompileWatch() as compiled:  # kernel compilation (a cold cache) is reported apart from the replay
            out = engine.run(progress, multiplier=multiplier)
        run_s = time.perf_counter() - t0
        summary = summarise(out, md, strategy_name, strategy.params(), config, data, commit=commit.result(),
                            compile_s=compiled.seconds, run_s=run_s)
    finally:
        commit.close()
    warnings = fallback_warnings(md, config, data)
    if warnings:  # a switch that fell back is said (summary and stderr), never silent
        summary["warnings"] = warnings
    add_notices(summary, notices)
    from hft.sim.run_folder import fill_run_folder, publish_run  # lazy: numba
    from hft.sim.run_tables import run_result  # lazy: numba

    result = run_result(out, summary, md.instrument, out_dir) if tables else None  # built once: its folder too
    record = None if recorder is None else (lambda: recorder.record_run(out, summary, md.instrument.symbol,
                                                                         engine.gw))
    publish_run(summary, out_dir, lambda tmp: fill_run_folder(tmp, out, summary, md, config,
                                                               None if result is None else result.tables),
                force=force, record=record)
    return summary, result


def add_notices(summary: dict[str, Any], notices: list[str]) -> None:
    """Record what expanding the data skipped (a range's days with no file) as the summary's ``notices`` (the CLI
    prints each on stderr); nothing when there is none. Every kind of run calls it before its folder is written."""
    if notices:
        summary["notices"] = list(notices)


def fallback_warnings(md: Any, config: ReplayConfig, data: list[Path]) -> list[str]:
    """What the configuration asked for but the data could not give (each one line). ``l3_resync`` (on by default)
    applies to LOBSTER data only: it falls back, said, on a LOBSTER import whose reference sidecar is missing; on
    another L3 source (a DBN MBO file) there is nothing to fall back from, and the summary's ``L3 resync`` row
    already says the book comes from the messages alone."""
    notice = no_book_notice(md.events, data)
    out = [notice] if notice is not None else []
    out += [str(n) for n in md.meta.get("notices", ())]  # what the import guessed (a currency) is said
    lobster_without_rows = md.lobster is None and md.meta.get("format") == "lobster"
    if md.instrument.book_level == "L3" and lobster_without_rows and config.l3_resync:
        out.append(f"l3_resync: off for {Path(data[0]).name}: no LOBSTER reference rows (the .ref.parquet sidecar "
                   "beside it is missing); set l3_resync: false to silence this")
    return out


def build_engine(md: Any, strategy: Any, strategy_name: str, config: ReplayConfig, *,
                 gateway: Any = None, spares: Any = None) -> tuple[Any, int]:
    """The engine for an opened stream: venue by book level, gateway from the config (its symbol carries the
    instrument's exchange filters). `gateway`: the gateway of the previous session of a run over several days
    (`hft.sim.sessions`), driven by this engine from now on, after its `new_day()`. `spares`: memory reused from
    the runs given the same one (`hft.sim.engine_nb.buffers.Spares`; None: the run's own). Returns the engine and
    the money factor its ``run`` takes (`hft.sim.fees.money_factor`: linear or inverse accounting)."""
    from hft.sim.engine_nb import ENGINES  # lazy: numba
    from hft.sim.fees import money_factor  # lazy: numba

    inst = md.instrument
    venue, seed_levels, reference = build_venue(md, config)
    engine_cls = ENGINES[config.engine]
    # the same rows (one notion of "trust the reference") set the strategy's local view at each message's local
    # time (hft.sim.engine, "Local view and reference rows")
    return engine_cls(md.events, venue, gateway_factory([inst], strategy_name, config, gateway), strategy,
                      inst.symbol, engine_config(config, strategy_name), book_level=inst.book_level,
                      seed_levels=seed_levels, reference=reference, spares=spares), money_factor(inst, config.multiplier)


def engine_config(config: ReplayConfig, strategy_name: str) -> Any:
    """The engine's `EngineConfig` of a replay config: latency models (seeded per stream), sampling, names."""
    from hft.sim import latency as lat  # lazy: numba
    from hft.sim.engine import EngineConfig  # lazy: numba

    def model(base: int, salt: int, emp: EmpiricalLatency | None = None, jitter: int | None = None) -> Any:
        if emp is not None:
            return emp.model
        jitter = config.jitter_ns if jitter is None else jitter
        return lat.random(base, jitter, seed=config.seed * 1_000_003 + salt) if jitter else lat.constant(base)

    feed = None if config.feed == "data" else model(int(config.feed), 3, jitter=config.feed_jitter_ns)
    return EngineConfig(entry=model(config.entry_ns, 1, config.entry_empirical),
                        response=model(config.response_ns, 2, config.response_empirical), feed=feed,
                        sample_ns=config.sample_ns, account=SIM_ACCOUNT, strategy=strategy_name)


def gateway_factory(instruments: list[Any], strategy_name: str, config: ReplayConfig,
                    gateway: Any = None, *, multipliers: list[int] | None = None) -> Any:
    """The engine's ``f(clock, dispatcher, sink) -> GatewayService``: a gateway holding every instrument's symbol
    (with its exchange filters) and the config's limits, or `gateway` (the previous session's: rebound, after its
    `new_day()`). `multipliers`: each instrument's (several instruments: `hft.sim.portfolio.leg_configs`);
    default: the config's."""
    from hft.gateway import GatewayService  # lazy: numba

    mults = multipliers or [config.multiplier] * len(instruments)
    (first, m0), *more = zip(instruments, mults, strict=True)
    # limits in instrument units / currency → lots / money units of these instruments (errors name the config)
    limits = limits_in_units(Section(config.limits, " + ".join(config.sources) or "<replay config>", "limits"),
                             gateway_units(instruments, mults))
    gw_cfg = sim_gateway_config(first.symbol, strategy_name, multiplier=m0, limits=limits,
                                working_orders=4096, self_match=True,
                                symbol_spec=symbol_spec(first, m0),
                                more_symbols={i.symbol: symbol_spec(i, m) for i, m in more},
                                risk_checks=config.risk_checks)

    def factory(clock: Any, dispatcher: Any, sink: Any) -> Any:
        if gateway is not None:  # a session boundary: the one gateway, a new trading day
            gateway.rebind(clock=clock, dispatcher=dispatcher, sink=sink)
            gateway.new_day()
            return gateway
        return GatewayService(gw_cfg, clock=clock, dispatcher=dispatcher, sink=sink, private_arena=True)

    return factory


def build_venue(md: Any, config: ReplayConfig) -> tuple[Any, list[tuple[int, int, int]], Any]:
    """The simulated venue of an opened stream, by book level (L3: `L3Venue` seeded with the LOBSTER pre-open
    book and resynced on the reference rows; L2: `L2Venue` with the configured queue model), with the seed
    levels and reference rows it was given. `hft replay` and the live paper venue (`hft.live.paper`) share it."""
    from hft.sim.engine import L2MarketVenue  # lazy: numba
    from hft.sim.exchange_l2 import EXCHANGE_MODES  # lazy: numba
    from hft.sim.fees import FeeSchedule, bps_to_hundredths, money_factor  # lazy: numba

    inst = md.instrument
    money = money_factor(inst, config.multiplier)
    fees = FeeSchedule(bps_to_hundredths(config.maker_bps, key="fees.maker_bps"),
                       bps_to_hundredths(config.taker_bps, key="fees.taker_bps"), config.per_lot)
    mode = EXCHANGE_MODES[config.exchange]
    seed_levels: list[tuple[int, int, int]] = []
    reference = None
    if inst.book_level == "L3":
        from hft.sim.exchange_l3 import L3Venue  # lazy: numba

        if md.lobster is not None and config.l3_resync:
            reference = md.lobster.reference
            if reference.shape[0] != len(md.events):
                raise SimError(f"l3_resync: expected one reference row per LOBSTER message ({len(md.events)}), "
                               f"was {reference.shape[0]}", hint="set l3_resync: false")
        venue = L3Venue(fees=fees, mode=mode, multiplier=money, reference=reference)
        if md.lobster is not None:
            seed_levels = lobster_preopen_levels(md.lobster)
            for side, price, qty in seed_levels:
                venue.seed_level(side, price, qty)
    else:
        from hft.book.l2 import book_for  # lazy: numba
        from hft.sim.exchange_l2 import L2Venue  # lazy: numba
        from hft.sim.queue_models import parse_queue_model  # lazy: numba

        venue = L2MarketVenue(L2Venue(book_for(md.events), parse_queue_model(config.queue_model), mode, fees,
                                      money))
    return venue, seed_levels, reference


def lobster_preopen_levels(lob: Any) -> list[tuple[int, int, int]]:
    """Quantity resting before the first LOBSTER message: reference row 0 with message 0's effect undone."""

    row = lob.reference[0]
    levels: dict[tuple[int, int], int] = {}
    for k in range(lob.levels):
        for side, px_col, qty_col in ((SELL, 4 * k, 4 * k + 1), (BUY, 4 * k + 2, 4 * k + 3)):
            if row[px_col] != NO_PRICE and row[qty_col] > 0:
                levels[(side, int(row[px_col]))] = int(row[qty_col])
    e = lob.events[0]
    key = (int(e["side"]), int(e["price"]))
    kind = int(e["kind"])
    if kind == EV_ADD and key in levels:
        levels[key] -= int(e["qty"])
    elif kind in (EV_CANCEL, EV_DELETE, EV_EXEC):
        levels[key] = levels.get(key, 0) + int(e["qty"])
    return [(s, p, q) for (s, p), q in sorted(levels.items()) if q > 0]


# the summary's figures of how long a run took, not of what it did (`hft replay diff` keeps them apart)
TIMING_KEYS = frozenset({"wall_s", "compile_s", "events_per_s"})


def summarise(out: Any, md: Any, strategy: str, params: dict[str, Any], config: ReplayConfig,
              data: list[Path], *, commit: str | None = None, compile_s: float = 0.0,
              run_s: float | None = None, multiplier: int | None = None) -> dict[str, Any]:
    """Run metrics: PnL, Sharpe per sample, drawdown, fills, maker share, rejects, speed, hashes. `commit`: the
    `git_commit()` value when already known (None: asked now). `compile_s`: kernel compilation during the run
    (a cold cache) and `run_s` the whole call that contained it: with compilation, ``events_per_s`` counts
    ``run_s - compile_s`` only. `multiplier`: the instrument's own when it is not the config's (a leg of a run
    over several instruments: `hft.sim.portfolio.leg_configs`)."""
    replay_s = out.wall_s if not compile_s or run_s is None else run_s - compile_s

    inst = md.instrument
    eq = out.equity
    mult = config.multiplier if multiplier is None else multiplier
    from hft.sim.fees import money_factor, money_unit  # lazy: numba

    equity = net_equity(eq, money_factor(inst, mult))
    sharpe, max_dd = equity_stats(equity)
    final = out.final
    fees_micro = micro_units(final["fees"], final.get("fee_frac", 0))  # exact (`hft.core.money`)
    pnl_mu = final_pnl_money_units(eq, final, money_factor(inst, mult))
    dd_mu, fees_mu = money_units(max_dd), round_micro(fees_micro)
    fees_exact = fees_micro / FEE_FRAC_UNITS
    fills = out.fills
    counts = order_counts(out.orders)
    filled = int(fills["qty"].sum()) if len(fills) else 0
    money = money_unit(inst, mult)
    lot = float(inst.lot_size)
    gm = out.gateway_metrics
    return {
        "ok": True,
        "strategy": strategy, "params": params, "symbol": inst.symbol, "venue": inst.venue,
        "book_level": inst.book_level,
        "events": out.events, "wall_s": round(out.wall_s, 4), "compile_s": round(compile_s, 3),
        "events_per_s": round(out.events / replay_s) if replay_s > 0 else None,
        "run_hash": out.run_hash, "run_hash_scheme": out.run_hash_scheme, "config_hash": config.digest(),
        "config_sources": list(config.sources),
        "data_hash": data_hash(md),
        "pnl_money_units": pnl_mu, "currency": inst.settlement, "quote_currency": inst.currency,
        "instrument_kind": inst.kind, "contract_size": inst.contract, "quantity_unit": inst.unit, "money_unit": money,
        "money_factor": money_factor(inst, mult),
        "multiplier": mult, "pnl": _ccy(pnl_mu * money), "pnl_gross": _ccy((pnl_mu + fees_exact) * money),
        "fees": _ccy(fees_exact * money), "max_drawdown": _ccy(dd_mu * money),
        "sharpe_per_sample": round(sharpe, 6), "sample_s": config.sample_ns / 1e9,
        "max_drawdown_money_units": dd_mu,
        "position": out.final["position"], "position_inst": _ccy(out.final["position"] * lot),
        "fees_money_units": fees_mu, "fees_micro_units": fees_micro, "filled_inst": _ccy(filled * lot),
        "orders": counts.orders, "replaces": counts.replaces, "cancels": counts.cancels,
        "submitted_qty": counts.submitted_qty,
        "fills": len(fills), "filled_qty": filled, "fill_ratio": fill_ratio(filled, counts.submitted_qty),
        "maker_share": maker_share(fills["liquidity"]),
        "decisions": len(out.decisions), "rejects": out.rejects,
        "start_ts": int(eq["ts"][0]) if len(eq) else 0, "end_ts": int(eq["ts"][-1]) if len(eq) else 0,
        "gateway": {k: gm[k] for k in sorted(gm) if not isinstance(gm[k], dict | list)},
        "latency": config.latency_summary(),
        "seed": config.seed, "engine": config.engine, "version": __version__, "git_commit": git_commit() if commit is None else commit,
        **({"resync": out.resync} if out.resync is not None else {}),
        **_quote_equivalent(inst, eq, pnl_mu * money, fees_exact * money),
    }


def net_equity(eq: np.ndarray, money: int) -> np.ndarray:
    """Net equity in money units at each equity sample (float, for metrics): cash + the position marked at the
    mid (`hft.sim.fees.mark_value`), carried forward over samples without a mid (NaN before the first);
    ``[0.]`` without samples."""
    from hft.sim.fees import mark_value  # lazy: numba

    if not len(eq):
        return np.zeros(1)
    equity = exact_money(eq["cash"], -eq["fee_frac"]) + mark_value(eq["position"], eq["mid2"], money)
    return _ffill(np.where(eq["mid2"] > 0, equity, np.nan))


def equity_stats(equity: np.ndarray) -> tuple[float, float]:
    """(Sharpe per sample, max drawdown) of a net equity series (`net_equity`)."""
    rets = np.diff(equity[~np.isnan(equity)])
    sharpe = float(rets.mean() / rets.std()) if len(rets) > 1 and rets.std() > 0 else 0.0
    peak = np.fmax.accumulate(np.nan_to_num(equity, nan=0.0))
    max_dd = float(np.nanmax(peak - np.nan_to_num(equity, nan=0.0))) if len(equity) else 0.0
    return sharpe, max_dd


def _quote_equivalent(inst: Any, eq: np.ndarray, pnl: float, fees: float) -> dict[str, Any]:
    """An inverse contract's PnL and fees (in the coin) in the quote currency at the last mid, for a reader."""
    if not inst.inverse:
        return {}
    mids = eq["mid2"][eq["mid2"] > 0] if len(eq) else eq
    if not len(mids):
        return {}
    px = float(mids[-1]) / 2.0 * float(inst.tick_size)
    return {"quote_equivalent": {"at_mid": _ccy(px), "pnl": _ccy(pnl * px), "fees": _ccy(fees * px)}}


def final_pnl_money_units(eq: np.ndarray, final: dict[str, Any], money: int) -> int:
    """A run's final PnL in whole money units (the summary's ``pnl_money_units``), exact and rounded once, half to
    even, by the one rule of a marked PnL (`hft.sim.fees.mark_pnl`): the last equity sample with a mid, marked there
    (what the net equity series carries to its end); without one, the final cash. Only a PnL past int64 money units
    (`mark_pnl` says `NO_PRICE`) falls back to the float net equity, rounded."""
    from hft.sim.fees import mark_pnl, mark_value  # lazy: numba

    marked = np.flatnonzero(eq["mid2"] > 0) if len(eq) else np.zeros(0, np.int64)
    if len(marked):
        row = eq[marked[-1]]
        pos, cash, frac, mid2 = int(row["position"]), int(row["cash"]), int(row["fee_frac"]), int(row["mid2"])
    else:
        pos, cash, frac, mid2 = 0, int(final["cash"]), int(final.get("fee_frac", 0)), NO_PRICE
    pnl = int(mark_pnl(pos, cash, frac, mid2, money))
    if pnl != NO_PRICE:
        return pnl
    return money_units(exact_money(cash, -frac) + (mark_value(pos, mid2, money) if mid2 != NO_PRICE else 0))


def money_units(x: float) -> int:
    """A marked amount in integer money units, as every ``*_money_units`` figure is (docs/sim.md, "Run folder"):
    rounded once, half to even, the fees' rule (`hft.core.money`). Cash and fees are exact to a millionth of a unit;
    the mark of a position at the mid is not (a mid between two ticks gives half a unit; an inverse contract's
    mark, any fraction)."""
    return round(float(x))


def _ccy(x: float) -> float:
    """A float in currency or instrument units, to 10 significant digits (no float noise in summary.json)."""
    return float(f"{x:.10g}")


def _ffill(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    last = np.nan
    for i in range(len(out)):
        if math.isnan(out[i]):
            out[i] = last
        else:
            last = out[i]
    return out


def data_hash(md: Any) -> str:
    """Hash of the event array bytes (independent of file format and path)."""

    return hash_arrays(md.events)
