"""Recognise market-data inputs and open them as one event stream.

Which format a file is in is decided by its content through the registry of `hft.data.formats` (or named
explicitly, ``--format``): LOBSTER, Binance captures, Tardis.dev CSV, hftbacktest ``.npz``, Databento DBN,
generic tables with a column mapping, and imported hft event Parquet (LOBSTER imports keep their
``.ref.parquet`` sidecar). Formats that chain (Binance, Tardis, L2 event files) take several files of one
instrument as one stream.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument
from hft.core.market_data import no_book_notice
from hft.data._convert import Locate, place, stream_repr
from hft.data.formats import OpenOptions, detect, get, require_file

Kind = str  # a format name of `hft.data.formats` ("lobster", "binance", "events", "tardis", …)


def detect_kind(path: str | Path) -> Kind:
    """The format of one input path, by content (`hft.data.formats.detect`); a DataValidationError otherwise."""
    return detect(path)


def detect_common_kind(paths: list[Path], fmt: str | None = None) -> Kind:
    """The single format shared by all `paths` (mixing formats is an error); `fmt` names it explicitly."""
    if not paths:
        raise DataValidationError("expected at least one input file, got none")
    if fmt is not None:
        for p in paths:
            require_file(p)
        kind = get(fmt).name
    else:
        kinds = {detect_kind(p) for p in paths}
        if len(kinds) != 1:
            raise DataValidationError(f"expected inputs of one format, got {sorted(kinds)}: "
                                      f"{[str(p) for p in paths]}")
        kind = kinds.pop()
    if not get(kind).chains and len(paths) > 1:
        raise DataValidationError(f"expected one {kind} input (only Binance captures, Tardis CSVs, DBN files "
                                  f"and event files chain), got {len(paths)}")
    return kind


@dataclass(frozen=True)
class MarketData:
    """An opened event stream with what verification needs."""

    kind: Kind
    events: np.ndarray
    instrument: Instrument
    meta: dict[str, Any] = field(default_factory=dict)
    lobster: Any = None  # hft.data.lobster.LobsterData when the source is LOBSTER (reference book inside)
    # event row k -> its place in the input files (`hft.data._convert.place`), when the opener was asked
    # (`OpenOptions.origins`: verify) and the format can say; else None
    origin: Locate | None = None

    def __repr__(self) -> str:
        return stream_repr("MarketData", self.events, self.instrument, self.meta, self.kind)

    def head(self, n: int) -> MarketData:
        """The stream's first `n` events (a LOBSTER stream's reference book rows with them): a shorter run of the same
        data, for a quick look or a test."""
        lob = self.lobster
        if lob is not None:
            lob = replace(lob, events=lob.events[:n], reference=lob.reference[:n])
        return replace(self, events=self.events[:n], lobster=lob)  # (row k keeps its `origin`)


def open_market_data(paths: list[Path], *, allow_gaps: bool = False, fmt: str | None = None,
                     mapping: Path | None = None, origins: bool = False) -> MarketData:
    """Import (raw) or load (Parquet) `paths` into one `MarketData`; `fmt` names the format (else detected),
    `mapping` is a generic table's column mapping, `origins` asks for `MarketData.origin` (`OpenOptions`)."""
    paths = [Path(p) for p in paths]
    if mapping is not None and fmt is None:
        fmt = "table"
    kind = detect_common_kind(paths, fmt)
    md = get(kind).open(paths, OpenOptions(allow_gaps=allow_gaps, mapping=Path(mapping) if mapping else None,
                                           origins=origins))
    if kind != "events":  # a loaded event file was checked on load; a fresh import gets the same checks
        # lazy: numba kernels, loaded only when events are checked
        from hft.data._eventcheck import check_event_values

        check_event_values(md.events, ", ".join(str(p) for p in paths), unit="event")
    if len(md.events) == 0:
        raise DataValidationError(f"{paths[0]}: expected market events, the {kind} input holds none",
                                  file=str(paths[0]))
    return md


def group_streams(paths: Sequence[Path | str], *, fmt: str | None = None,
                  mapping: Path | None = None) -> list[list[Path]]:
    """`paths` as the streams `open_market_data` opens: recognised by content, the groups of `group_days` (files
    that chain are one, any other file its own); with the format named (`fmt`, or a table's `mapping`), every
    file together when that format chains, else each file alone."""
    if fmt is None and mapping is None:
        return group_days(paths)
    ps = [Path(p) for p in paths]
    return [ps] if get(fmt or "table").chains else [[p] for p in ps]


def each_stream(paths: Sequence[Path | str], describe: Callable[[MarketData], dict[str, Any]], *,
                allow_gaps: bool = False, fmt: str | None = None, mapping: Path | None = None,
                origins: bool = False) -> dict[str, Any]:
    """`describe` (a result with ``ok`` and ``problem``) of each stream `paths` form (`group_streams`), opened one
    at a time (`open_market_data`), with ``warnings`` (`no_book_notice`) where the stream lacks something: one
    stream's result as it is; several as ``{"ok": all ok, "problem": the first
    problem, naming its file, "streams": [each result with its "files"]}``."""
    groups = group_streams(paths, fmt=fmt, mapping=mapping)
    results = []
    for g in groups:
        md = open_market_data(g, allow_gaps=allow_gaps, fmt=fmt, mapping=mapping, origins=origins)
        results.append(describe(md))
        notice = no_book_notice(md.events, g)
        if notice is not None:  # what the data lacks is said (``warnings``), never silent
            results[-1].setdefault("warnings", []).append(notice)
        for guessed in md.meta.get("notices", ()):  # and what its import guessed (a currency)
            results[-1].setdefault("warnings", []).append(str(guessed))
    if len(results) == 1:
        return results[0]
    bad = [(g, r) for g, r in zip(groups, results, strict=True) if not r.get("ok", True)]
    return {"ok": not bad, "problem": f"{bad[0][0][0]}: {bad[0][1].get('problem')}" if bad else None,
            "streams": [{"files": [str(p) for p in g], **r} for g, r in zip(groups, results, strict=True)]}


def open_lobster(paths: list[Path], opts: Any) -> MarketData:
    """The ``lobster`` format's opener: a LOBSTER zip or message/orderbook CSV pair (its reference book kept)."""
    # lazy: only the format being opened is imported (a replay must not load polars or other importers)
    from hft.data.lobster import import_lobster

    data = import_lobster(paths[0])
    return MarketData("lobster", data.events, data.instrument, data.meta, lobster=data)


def open_binance(paths: list[Path], opts: Any) -> MarketData:
    """The ``binance`` format's opener: the capture files of one symbol, chained and synchronised."""
    # lazy: only the format being opened is imported (a replay must not load polars or other importers)
    from hft.data.binance import import_binance

    bdata = import_binance(paths, allow_gaps=opts.allow_gaps, origins=opts.origins)
    return MarketData("binance", bdata.events, bdata.instrument, bdata.meta, origin=bdata.origin)


def open_events(paths: list[Path], opts: Any) -> MarketData:
    """An imported hft event file (a LOBSTER import with its reference sidecar opens as LOBSTER); several are merged
    into one stream (`hft.data.events_io.load_merged`)."""
    # lazy: only the format being opened is imported (a replay must not load polars or other importers)
    from hft.data.events_io import load_merged, read_event_metadata

    if len(paths) > 1:  # files of one instrument whose times overlap (`group_days`): one stream
        ef = load_merged(paths, origins=opts.origins)
        origin = None
        if ef.parts is not None:
            part, row = ef.parts
            origin = lambda k: place(paths[int(part[k])], int(row[k]))  # noqa: E731
        return MarketData("events", ef.events, ef.instrument, ef.meta, origin=origin)
    instrument, _ = read_event_metadata(paths[0])
    if instrument.book_level == "L3" and _ref_path(paths[0]).exists():
        # lazy: only the format being opened is imported (a replay must not load polars or other importers)
        from hft.data.lobster import load_lobster_import

        data = load_lobster_import(paths[0])
        return MarketData("lobster", data.events, data.instrument, data.meta, lobster=data)
    # lazy: only the format being opened is imported (a replay must not load polars or other importers)
    from hft.data.events_io import load_events

    ef = load_events(paths[0])
    # an event file's row k is its Parquet row k + 1 (as `hft.data._eventcheck` names it)
    origin = (lambda k: place(paths[0], k + 1)) if opts.origins else None
    return MarketData("events", ef.events, ef.instrument, ef.meta, origin=origin)


def _ref_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".parquet") + ".ref.parquet")


def _kind_or_none(p: Path) -> Kind | None:
    """The format of `p` by content, None when no format reads it (opening the day names what is wrong)."""
    try:
        return detect_kind(p)
    except DataValidationError:
        return None


def _chain_key(p: Path, kind: Kind | None) -> tuple[str, str] | None:
    """What `p` (of format `kind`: `_kind_or_none`) chains with: (folder, symbol) of a Binance capture
    ``<symbol>_<YYYYMMDD>.gz``, the format of another chaining format (a Tardis book + trades pair), None for a day
    on its own (event and DBN files: `_stream_span`)."""
    name = p.name
    if name.lower().endswith(".gz") and not name.lower().endswith(".csv.gz"):
        sym, _, date = name[: -len(".gz")].rpartition("_")
        if sym and date.isdigit():
            return str(p.resolve().parent), sym.lower()
    if kind is None or kind in _SPANNED:
        return None
    return ("", f"format:{kind}") if get(kind).chains else None  # as `open_market_data` chains them


_SPANNED = ("events", "dbn")  # the formats whose files of one instrument merge when their times overlap


def _stream_span(p: Path, kind: Kind | None) -> tuple[str, int, int] | None:
    """(instrument, first and last exchange time) of a file (of format `kind`) that merges with the files of its
    instrument whose times overlap (an event Parquet file, a DBN file), None for anything else."""
    if kind not in _SPANNED:
        return None
    try:
        if kind == "events":
            # lazy: only the format being opened is imported (a replay must not load polars or other importers)
            from hft.data.events_io import event_span

            inst, lo, hi = event_span(p)
            return f"{inst.symbol}@{inst.venue}", lo, hi
        # lazy: only the format being opened is imported (a replay must not load polars or other importers)
        from hft.data.dbn import dbn_span

        return dbn_span(p)
    except DataValidationError:
        return None  # opening the day names what is wrong with it


def group_days(paths: Sequence[Path | str]) -> list[list[Path]]:
    """`paths` grouped into days (sessions), in the order given (a group where its first file is).

    A LOBSTER zip / message CSV, an imported event Parquet file or a generic table is one day each. Binance
    captures of one symbol (same folder, same name before ``_YYYYMMDD``) chain into one stream, as
    `open_market_data` chains them, and so do the files of another chaining format (Tardis files: a book + trades
    pair, consecutive days, `hft.data.tardis`); each chain is one day (one session). Event files (or DBN files) of
    one instrument whose exchange times overlap (a book and a trades file imported apart, a DBN MBP file and its
    trades file) are one stream too (`hft.data._merge`,
    which refuses an L3 file among them: an L3 day is one file); files that follow one another in time stay days. Raises DataValidationError for no paths, a missing file or a file given twice.
    """
    ps = [Path(p) for p in paths]
    if not ps:
        raise DataValidationError("expected at least one data path (--data), was none", key="data")
    seen: set[Path] = set()
    for p in ps:
        require_file(p)
        r = p.resolve()
        if r in seen:
            raise DataValidationError(f"{p}: expected each data file once, was given twice", file=str(p))
        seen.add(r)
    days: list[list[Path]] = []
    chains: dict[tuple[str, str], list[Path]] = {}
    streams: list[tuple[str, int, int, list[Path]]] = []  # event / DBN files: instrument, span, the group
    for p in ps:
        kind = _kind_or_none(p)  # sniffed once: both rules below ask it
        span = _stream_span(p, kind)
        if span is not None:
            inst, lo, hi = span
            hit = [s for s in streams if s[0] == inst and lo < s[2] and s[1] < hi]  # times overlap
            if not hit:
                group = [p]
                days.append(group)
                streams.append((inst, lo, hi, group))
                continue
            group = hit[0][3]  # the first stream it overlaps takes it and any other it overlaps
            group.append(p)
            for s in hit[1:]:
                group.extend(s[3])
                days.remove(s[3])
            streams = [s for s in streams if all(s is not h for h in hit)]
            streams.append((inst, min([lo] + [s[1] for s in hit]), max([hi] + [s[2] for s in hit]), group))
            continue
        key = _chain_key(p, kind)
        if key is None:
            days.append([p])
        elif key in chains:
            chains[key].append(p)
        else:
            chains[key] = [p]
            days.append(chains[key])
    return days


def expand_data_paths(specs: Sequence[Path | str], notices: list[str] | None = None) -> list[Path]:
    """``--data`` values with the glob and range forms expanded, in order.

    * ``DIR/*.parquet`` (``*``, ``?``, ``[...]``): the matching files, sorted by name; none is an error.
    * ``DIR/day_{20240103..20240105}.zip``: a numeric range (inclusive, zero padding kept); the values with no
      file are skipped (a weekend, a holiday), none at all is an error. Each range that skipped values adds one
      line naming them to `notices` (when given): a skip is said, never silent.
    * ``DIR/day_{20240103,20240105}.zip``: a brace list, each value in the order given (a value may itself hold
      a range or a glob); values with no file are skipped and said as a range's are, none at all is an error.
    * anything else: the path as given (checked when it is opened).
    """
    out: list[Path] = []
    for spec in specs:
        s = str(spec)
        if Path(s).is_file():  # a real file name that merely contains '[' or '{'
            out.append(Path(s))
            continue
        b = re.search(r"\{([^{}]*,[^{}]*)\}", s)
        if b:
            values = [s[: b.start()] + v + s[b.end():] for v in b.group(1).split(",")]
            found, missing = [], []
            for v in values:
                if Path(v).is_file() or not re.search(r"[*?\[]|\{\d+\.\.\d+\}|\{[^{}]*,[^{}]*\}", v):
                    (found if Path(v).is_file() else missing).append(Path(v))
                else:
                    found.extend(expand_data_paths([v], notices))
            if not found:
                raise DataValidationError(f"--data {s}: expected at least one file in the list, found none",
                                          key="data")
            if notices is not None and missing:
                notices.append(_range_notice(s, found, [*found, *missing], kind="list"))
            out.extend(found)
            continue
        m = re.search(r"\{(\d+)\.\.(\d+)\}", s)
        if m:
            lo, hi = m.group(1), m.group(2)
            if int(hi) < int(lo):
                raise DataValidationError(f"--data {s}: expected a range {{FROM..TO}} with FROM <= TO, was "
                                          f"{lo}..{hi}", key="data")
            width = len(lo) if lo.startswith("0") or len(lo) == len(hi) else 0
            values = [Path(s[: m.start()] + str(v).zfill(width) + s[m.end():]) for v in range(int(lo), int(hi) + 1)]
            found = [p for p in values if p.is_file()]
            if not found:
                raise DataValidationError(f"--data {s}: expected at least one file in the range, found none",
                                          key="data")
            if notices is not None and len(found) < len(values):
                notices.append(_range_notice(s, found, values))
            out.extend(found)
        elif any(c in s for c in "*?["):
            found = sorted(Path(p) for p in glob.glob(s) if Path(p).is_file())
            if not found:
                raise DataValidationError(f"--data {s}: expected at least one file matching the pattern, found none",
                                          key="data")
            out.extend(found)
        else:
            out.append(Path(s))
    return out


def _range_notice(spec: str, found: list[Path], values: list[Path], kind: str = "range") -> str:
    """The one line saying what a ``{FROM..TO}`` range (or a ``{A,B}`` list, `kind`) skipped: how many of its
    values had a file, and the names of those that had none (the first five)."""
    missing = [p.name for p in values if p not in found]
    names = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return f"--data {spec}: the {kind} matched {len(found)} of {len(values)} files; skipped, no file: {names}"


class FileSource:
    """The market-data files on disk as a `hft.core.market_data.MarketDataSource`: the functions of this module
    (format detected by content unless named). The composition root passes `FILES` to the services (`hft.alpha`,
    `hft.sim`). An instance rather than this module so that it pickles into a process-pool or Ray worker."""

    def expand_paths(self, specs: Sequence[Path | str], notices: list[str] | None = None) -> list[Path]:
        """`expand_data_paths`."""
        return expand_data_paths(specs, notices)

    def group_days(self, paths: Sequence[Path | str]) -> list[list[Path]]:
        """`group_days`."""
        return group_days(paths)

    def open_market_data(self, paths: list[Path], *, fmt: str | None = None, mapping: Path | None = None) -> MarketData:
        """`open_market_data`."""
        return open_market_data(paths, fmt=fmt, mapping=mapping)

    def generate_day(self, out_dir: Path, *, seed: int, symbol: str, date: str, messages: int,
                     levels: int) -> Path:
        """A synthetic LOBSTER day as a zip (`hft.data.generate`)."""
        # lazy: hft.data.importing imports this module; the generator loads only when a day is generated
        from hft.data.importing import generate_day

        day = generate_day(out_dir, seed=seed, symbol=symbol, date=date, messages=messages, levels=levels,
                           zip_output=True)
        return Path(day["zip_path"])


FILES = FileSource()
