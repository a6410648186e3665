"""Data services behind `hft data import | generate | verify` (the CLI stays thin)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import NO_PRICE
from hft.core.errors import DataError, DataValidationError
from hft.data.sources import MarketData, detect_common_kind, each_stream, open_market_data


def import_to_file(sources: list[Path], out: Path, *, allow_gaps: bool = False, force: bool = False,
                   fmt: str | None = None, mapping: Path | None = None) -> dict[str, Any]:
    """Import raw input (any format of `hft.data.formats` but an hft event file) into an event Parquet file at
    `out` (atomically); `fmt` names the format (else detected from the content), `mapping` a table's mapping."""
    out = Path(out)
    if out.suffix != ".parquet":
        raise DataValidationError(f"{out}: expected an output path ending in .parquet", file=str(out))
    if out.exists() and not force:
        raise DataError(f"{out}: expected a new output path, the file exists", file=str(out),
                        hint="pass --force to overwrite")
    if detect_common_kind([Path(s) for s in sources], fmt if mapping is None else "table") == "events":
        raise DataValidationError(f"{sources[0]}: already an hft event file; expected raw input (LOBSTER, "
                                  "Binance, Tardis, hftbacktest, DBN or a mapped table)", file=str(sources[0]))
    t0 = time.perf_counter()
    md = open_market_data(sources, allow_gaps=allow_gaps, fmt=fmt, mapping=mapping)
    parse_s = time.perf_counter() - t0
    if md.kind == "lobster":
        # lazy: each step loads only its own importer / verifier
        from hft.data.lobster import write_lobster_import

        write_lobster_import(md.lobster, out)
    else:
        from hft.data.events_io import write_events  # lazy: each step loads only its own importer / verifier

        write_events(out, md.events, md.instrument, md.meta)
    return {
        "ok": True,
        "out": str(out),
        "kind": md.kind,
        "symbol": md.instrument.symbol,
        "venue": md.instrument.venue,
        "events": len(md.events),
        "parse_s": round(parse_s, 4),
        "events_per_s": round(len(md.events) / parse_s) if parse_s > 0 else None,
        "gaps": int(md.meta.get("gaps", 0)),
    }


def generate_day(out_dir: Path, *, seed: int, symbol: str, date: str, messages: int, levels: int,
                 zip_output: bool) -> dict[str, Any]:
    """Generate a synthetic LOBSTER-format day into `out_dir`."""
    # lazy: each step loads only its own importer / verifier
    from hft.data.generate import GeneratorConfig, generate_lobster_day

    out_dir = Path(out_dir)
    cfg = GeneratorConfig(seed=seed, symbol=symbol, date=date, target_messages=messages, levels=levels)
    t0 = time.perf_counter()
    day = generate_lobster_day(out_dir, cfg, zip_output=zip_output)
    return {"ok": True, **day.to_dict(), "wall_s": round(time.perf_counter() - t0, 3)}


def warm_importer_kernels() -> None:
    """Compile (or load from the cache) the vendor importers' kernels on one-row inputs: Databento MBO's walk and
    the compiled passes of the Tardis and DBN MBP importers (`hft warmup`)."""
    from hft.data import _dbn_mbo, _gather  # lazy: each step loads only its own importer / verifier

    _dbn_mbo.warm()
    _gather.warm()


def verify_market_data(md: MarketData) -> dict[str, Any]:
    """Verify an opened stream; the result always has `ok`, `problem`, `kind`, `symbol`, `venue`, `checked` and
    kind-specific fields."""
    t0 = time.perf_counter()
    if md.kind == "lobster":
        # lazy: each step loads only its own importer / verifier
        from hft.data.verify_lobster import verify_lobster

        res = dict(verify_lobster(md.lobster))
        ok = res["mismatches"] == 0
        problem = None if ok else _lobster_problem(res)
        if ok and res["size_conflicts"]:  # (when the book differs, the error names the row)
            res["warnings"] = [_size_conflicts_warning(res)]
    elif md.instrument.book_level == "L2":
        # lazy: each step loads only its own importer / verifier
        from hft.data.verify_binance import verify_binance

        res = dict(verify_binance(md.events, md.instrument, md.origin))
        ok, problem = _book_and_order(md, res)
    elif md.kind != "events":  # an L3 stream without reference rows (DBN MBO): the book at each message end
        # lazy: each step loads only its own importer / verifier
        from hft.data.inspect import book_tops
        from hft.data.verify_binance import point  # lazy: each step loads only its own verifier

        bpx, _, apx, _, _, _, rows = book_tops(md.events, md.instrument)
        both = (bpx != NO_PRICE) & (apx != NO_PRICE)
        crossed, locked = both & (apx < bpx), both & (apx == bpx)
        first = {k: point(md.events, int(rows[w][0]), md.origin) if w.any() else None
                 for k, w in (("first_crossed", crossed), ("first_locked", locked))}
        res = {"events": len(md.events), "checked": len(bpx), "crossed": int(crossed.sum()),
               "locked": int(locked.sum()), "gaps": int(md.meta.get("gaps", 0)), **first}
        ok, problem = _book_and_order(md, res)
    else:
        raise DataValidationError("expected a LOBSTER input (with its orderbook file) or an L2 stream to verify; "
                                  "this L3 event file has no reference book", hint="verify the raw LOBSTER zip")
    res["wall_s"] = round(time.perf_counter() - t0, 4)
    return {"ok": ok, "problem": problem, "kind": md.kind, "symbol": md.instrument.symbol,
            "venue": md.instrument.venue, **res}


def verify_files(files: list[Path], *, allow_gaps: bool = False, fmt: str | None = None,
                 mapping: Path | None = None) -> dict[str, Any]:
    """Open and verify each stream of `files` (`hft.data.sources.each_stream`: several LOBSTER days, say, each
    on its own; the files that chain as one), each with its events' origins (a crossed book names its line)."""
    return each_stream(files, verify_market_data, allow_gaps=allow_gaps, fmt=fmt, mapping=mapping, origins=True)


def _book_and_order(md: MarketData, res: dict[str, Any]) -> tuple[bool, str | None]:
    """Crossed books and local-time order (the stream is replayed in local, receive, time: a step back in it is a
    broken file); adds ``out_of_order`` to `res`."""
    res["out_of_order"] = int((np.diff(md.events["local_ts"]) < 0).sum())
    ok = res["crossed"] == 0 and res["out_of_order"] == 0
    first = res.get("first_crossed")  # the L2 check names where the book first crossed
    at = f", the first after {first.get('message') or 'event row ' + str(first['row'])}" if first else ""
    problem = None if ok else (f"{res['crossed']} crossed book states{at}" if res["crossed"] else
                               f"{res['out_of_order']} events before their predecessor in local time")
    return ok, problem


def _lobster_problem(res: dict[str, Any]) -> str:
    """The LOBSTER verify failure in one line: how many rows differ, and the first one's orderbook row, field,
    expected (the orderbook file's value as written) and found (our rebuilt book's), then the message it follows."""
    from hft.data.lobster import LOBSTER_PRICE_PER_TICK, column_name  # lazy: failures only

    first = res["first_mismatch"]
    n = res["mismatches"]
    head = (f"{n:,} book row{' differs' if n == 1 else 's differ'} from the orderbook file, the first at "
            f"{first['orderbook']} (the book after {first['message']})")
    diff = [j for j, (e, f) in enumerate(zip(first["expected"], first["found"], strict=True)) if e != f]
    if not diff:  # the rows agree, but the message removed more than its visible level held
        return f"{head}: the message removes more than its level holds"
    j = diff[0]

    def written(v: int) -> str:  # a price cell as the file writes it (price units); a size as it is
        if j % 2 == 1:
            return str(v)
        return "an empty level" if v == NO_PRICE else str(v * LOBSTER_PRICE_PER_TICK)

    more = f" (and {len(diff) - 1} more field{'s' if len(diff) > 2 else ''})" if len(diff) > 1 else ""
    return (f"{head}: field '{column_name(len(first['expected']), j)}' expected {written(first['expected'][j])}, "
            f"found {written(first['found'][j])}{more}")


def _size_conflicts_warning(res: dict[str, Any]) -> str:
    """The warning of LOBSTER messages whose size disagrees with what their known order had left (a delete of
    another size, a cancel or execution of more), naming the first one's message row and order id. Real files have
    them (AMZN 2012-06-21, 5 levels: one, an order changed while it rested beyond the recorded levels, where
    LOBSTER records nothing), so they are not a failure: the message's size is what leaves the level, and the book
    after it still has to match the orderbook file (a size that changes the visible book is a mismatch)."""
    n, first = res["size_conflicts"], res["first_size_conflict"]
    return (f"{n:,} size conflict{'s' if n > 1 else ''}, the first at {first['message']} (order id "
            f"{first['order_id']}): a message's size differs from what its order had left (it changed while "
            "unobserved beyond the recorded levels); the book after it still matches the orderbook file")
