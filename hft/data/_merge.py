"""Several event streams of one L2 instrument merged into one: the one rule for files that are one stream (a book
file and a trades file imported apart, `hft.data.events_io.load_merged`; raw DBN files of one instrument,
`hft.data.dbn`). No polars: a raw import merges without loading it.

The streams merge as the importers merge a vendor's files (`hft.data._convert.merge_order`: by local time, at an
equal time a stream of trades before a book stream, each stream's own order kept), on the finer of their ticks and
lots (each an exact multiple of it), so the result equals importing the files together. Refused, naming the file:
another instrument, an L3 stream (an L3 day is one file: a LOBSTER day, a DBN MBO file with its trades inside),
the same events twice, ticks or lots that are not multiples of one another, and a trades stream beside a book
stream that already prints trades (each trade would print twice).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import EV_TRADE
from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument
from hft.data._convert import merge_order
from hft.data._eventcheck import content_hash

Stream = tuple[np.ndarray, Instrument, dict[str, Any]]  # events, instrument, importer metadata


def _check(paths: list[Path], streams: list[Stream]) -> None:
    """Refuse streams that are not one instrument's distinct L2 parts (module docstring)."""
    first = streams[0][1]
    same = {k: v for k, v in asdict(first).items() if k not in ("tick_size", "lot_size")}
    hashes: dict[str, Path] = {}
    for p, (events, inst, _) in zip(paths, streams, strict=True):
        if inst.book_level != "L2":
            raise DataValidationError(f"{p}: expected L2 files to merge into one stream, was {inst.book_level} (an "
                                      "L3 day is one file, its trades inside: replay it alone)", file=str(p),
                                      field="book_level")
        for k, v in same.items():
            if getattr(inst, k) != v:
                raise DataValidationError(f"{p}: instrument {k}: expected {v!r} as in {paths[0]} (files merged into "
                                          f"one stream are one instrument), was {getattr(inst, k)!r}",
                                          file=str(p), field=k)
        h = content_hash(events)
        if h in hashes:
            raise DataValidationError(f"{p}: expected different event files to merge, it holds the events of "
                                      f"{hashes[h]}", file=str(p))
        hashes[h] = p
    trades_only = [bool(len(ev)) and bool((ev["kind"] == EV_TRADE).all()) for ev, _, _ in streams]
    if any(trades_only):
        for p, (events, _, _), only in zip(paths, streams, trades_only, strict=True):
            n = int((events["kind"] == EV_TRADE).sum())
            if not only and n:
                t = paths[trades_only.index(True)]
                raise DataValidationError(f"{t}: expected a trades file to add the prints {p} lacks, {p} already "
                                          f"holds {n} trade print(s) (each would print twice: replay {p} alone)",
                                          file=str(t))


def merge_streams(paths: list[Path], streams: list[Stream], *,
                  origins: bool = False) -> tuple[np.ndarray, Instrument, dict[str, Any],
                                                  tuple[np.ndarray, np.ndarray] | None]:
    """(events, instrument, metadata, parts) of `streams` (one per file of `paths`) merged (module docstring);
    `parts` with `origins`: each merged event's stream (index into `paths`) and its 1-based row there, else None."""
    _check(paths, streams)
    units: dict[str, str] = {}
    scaled: dict[str, list[np.ndarray]] = {}
    for unit, col in (("tick_size", "price"), ("lot_size", "qty")):
        have = [getattr(inst, unit) for _, inst, _ in streams]
        fine = min(have, key=Decimal)
        cols = []
        for p, (events, _, _), u in zip(paths, streams, have, strict=True):
            factor = Decimal(u) / Decimal(fine)
            if factor != factor.to_integral_value():
                raise DataValidationError(f"{p}: instrument {unit}: expected a multiple of {fine} (the {unit} of "
                                          f"another file merged with it), was {u}", file=str(p), field=unit)
            x = events[col]
            if int(factor) > 1 and len(x) and int(np.abs(x).max()) > np.iinfo(np.int64).max // int(factor):
                raise DataValidationError(f"{p}: {col}: expected values that fit int64 in units of {fine}",
                                          file=str(p), field=col)
            cols.append(x * np.int64(int(factor)))
        units[unit], scaled[col] = fine, cols
    order = merge_order([ev["local_ts"] for ev, _, _ in streams],
                        [0 if bool((ev["kind"] == EV_TRADE).all()) else 1 for ev, _, _ in streams])
    out = np.concatenate([ev for ev, _, _ in streams])[order]
    parts = None
    if origins:  # concatenated index -> (stream, 1-based row), laid out in merged order
        lens = [len(ev) for ev, _, _ in streams]
        part = np.repeat(np.arange(len(streams), dtype=np.int64), lens)[order]
        row = (np.arange(len(out), dtype=np.int64) - np.repeat(np.cumsum([0, *lens[:-1]]), lens))[order] + 1
        parts = (part, row)
    out["price"] = np.concatenate(scaled["price"])[order]
    out["qty"] = np.concatenate(scaled["qty"])[order]
    out.flags.writeable = False
    meta = {"files": [str(p) for p in paths], "parts": [m for _, _, m in streams],
            "gaps": sum(int(m.get("gaps", 0)) for _, _, m in streams)}
    return out, replace(streams[0][1], **units), meta, parts
