"""Known-answer checks of the data kernels (`hft.core.selftest`): the event-file content digest, the Binance
capture path (scanner, units, sync) and the LOBSTER path (generator, strict scanner, book verification), each on
a tiny input built here. The recorded answers are what every supported CPU target computes; a change of the
kernels' behaviour on purpose re-records them (``tests/unit/core/test_selftest.py`` prints the new values)."""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import empty_events
from hft.core.selftest import Answer
from hft.data._eventcheck import content_hash, digest_bytes, digest_words
from hft.data.binance import import_binance
from hft.data.generate import GeneratorConfig, generate_lobster_day
from hft.data.lobster import import_lobster
from hft.data.verify_lobster import verify_lobster

# recorded answers: (what, expected)
KNOWN: dict[str, dict[str, str]] = {
    "events": {
        "digest_words 0..9 words": "e0e2c6543d6df574",
        "digest_bytes 0..9 bytes": "989b167c5b2642c0",
        "content_hash of 1000 events": "xh64:46414d1e592a1d13",
    },
    "binance": {
        "usdm capture: events": "199 xh64:92ba19fba5a699b7",
        "spot capture: events": "203 xh64:ba0f6d302a7fed05",
    },
    "lobster": {
        "generated day: messages": "1acdef9b5c80d7fa",
        "import: events": "931 xh64:5f03f9733b381480",
        "import: reference rows": "(931, 12) af1b6e6d189895de",
        "verify": "ok=True checked=931 mismatches=0 unknown_refs=0 seeded=0",
    },
}


def _answers(family: str, got: dict[str, str]) -> list[Answer]:
    known = KNOWN[family]
    assert got.keys() == known.keys(), (family, sorted(got), sorted(known))
    return [Answer(what, known[what], value) for what, value in got.items()]


def _words(n: int) -> np.ndarray:
    """`n` fixed, full-width 64-bit words (every bit pattern class: high bit set, zero, small)."""
    k = np.arange(n, dtype=np.uint64)
    return (k * np.uint64(0x9E3779B97F4A7C15)) ^ (k << np.uint64(61)) ^ np.uint64(0xFFFF)


def events() -> list[Answer]:
    """The content digest (`hft.data._eventcheck`) of fixed arrays of every tail length, and of an event array."""

    h = np.uint64(0)
    hb = np.uint64(0)
    for n in range(10):
        h = np.uint64(digest_words(_words(n), h))
        hb = np.uint64(digest_bytes(_words(n).view(np.uint8)[: 3 * n], hb))
    ev = empty_events(1000)
    w = _words(1000)
    ev["exch_ts"] = (w >> np.uint64(2)).view(np.int64)
    ev["local_ts"] = np.cumsum(w % np.uint64(1000)).astype(np.int64)
    ev["price"] = (w % np.uint64(100_000)).astype(np.int64) - 50_000
    ev["qty"] = (w % np.uint64(77)).astype(np.int64)
    ev["order_id"] = w.view(np.int64)
    ev["seq"] = np.arange(1000)
    ev["kind"] = (w % np.uint64(7)).astype(np.int8) + 1
    ev["side"] = (w % np.uint64(3)).astype(np.int8) - 1
    ev["flags"] = (w % np.uint64(4)).astype(np.uint8)
    return _answers("events", {"digest_words 0..9 words": f"{int(h):016x}",
                               "digest_bytes 0..9 bytes": f"{int(hb):016x}",
                               "content_hash of 1000 events": content_hash(ev)})


def _capture_lines(market: str) -> list[str]:
    """A small capture of `market` (``usdm`` or ``spot``) in the recorded line format: a snapshot, depth diffs
    (continuity by ``pu`` or by ``U``), trades (one not MARKET), a book ticker; decimals with leading and trailing
    zeros, 13-digit times, booleans."""
    e0 = 1_723_161_256_000
    sym = "BTCUSDT"

    def line(ts: int, obj: dict[str, Any]) -> str:
        return f"{(e0 + ts) * 1_000_000 + 250_017} {json.dumps(obj, separators=(',', ':'))}"

    out = [line(0, {"lastUpdateId": 1000, **({"E": e0, "T": e0} if market == "usdm" else {}),
                    "bids": [["100.00", "1.000"], ["99.90", "2.500"], ["99.80", "0.001"]],
                    "asks": [["100.10", "1.500"], ["100.20", "1.000"], ["100.30", "7.125"]]})]
    u = 1000
    for k in range(1, 60):
        ts = 10 * k
        bid, ask = f"{100 + (k % 3) / 10:.2f}", f"{100.3 + (k % 4) / 10:.2f}"
        data = {"e": "depthUpdate", "E": e0 + ts, "s": sym, "U": u + 1, "u": u + 3,
                "b": [[bid, f"{k % 5}.{k % 1000:03d}"], ["99.00", "0.000"]],
                "a": [[ask, f"0{k % 4}.100"]]}
        if market == "usdm":
            data.update({"T": e0 + ts - 1, "pu": u})
        out.append(line(ts, {"stream": f"btcusdt@depth@{'0' if market == 'usdm' else '100'}ms", "data": data}))
        u += 3
        if k % 6 == 0:
            out.append(line(ts + 1, {"stream": "btcusdt@trade", "data": {
                "e": "trade", "E": e0 + ts + 1, "T": e0 + ts, "s": sym, "t": 4_000_000_000 + k, "p": bid,
                "q": "0.005", **({"X": "MARKET" if k % 12 else "INSURANCE_FUND"} if market == "usdm" else {}),
                "m": k % 4 == 0}}))
        if k % 10 == 0:
            tick = {"u": u, "s": sym, "b": bid, "B": "3.000", "a": ask, "A": "0.250"}
            if market == "usdm":
                tick.update({"e": "bookTicker", "E": e0 + ts + 2, "T": e0 + ts + 2})
            out.append(line(ts + 2, {"stream": "btcusdt@bookTicker", "data": tick}))
    return out


def binance() -> list[Answer]:
    """A small USD-M and a small spot capture through the importer: the events' content digest and counts."""

    got = {}
    with tempfile.TemporaryDirectory(prefix="hft-selftest-") as tmp:
        for market in ("usdm", "spot"):
            path = Path(tmp) / market / "btcusdt_20240808.gz"
            path.parent.mkdir()
            path.write_bytes(gzip.compress(("\n".join(_capture_lines(market)) + "\n").encode(), mtime=0))
            data = import_binance([path])
            got[f"{market} capture: events"] = f"{len(data.events)} {content_hash(data.events)}"
    return _answers("binance", got)


def lobster() -> list[Answer]:
    """A generated LOBSTER day (the generator kernel), imported (the strict scanner) and verified (the L3 book)."""

    with tempfile.TemporaryDirectory(prefix="hft-selftest-") as tmp:
        cfg = GeneratorConfig(seed=5, symbol="CHECK", date="2024-01-02", target_messages=1000, levels=3)
        day = generate_lobster_day(Path(tmp), cfg, zip_output=False)
        msg = Path(day.message_path)
        generated = hashlib.blake2b(msg.read_bytes(), digest_size=8).hexdigest()
        data = import_lobster(msg)
        ref = np.ascontiguousarray(data.reference, dtype=np.int64)
        res = verify_lobster(data)
    verdict = (f"ok={res['ok']} checked={res['checked']} mismatches={res['mismatches']} "
               f"unknown_refs={res['unknown_order_refs']} seeded={res['seeded_levels']}")
    return _answers("lobster", {
        "generated day: messages": generated,
        "import: events": f"{len(data.events)} {content_hash(data.events)}",
        "import: reference rows": f"{ref.shape} {int(digest_words(ref.reshape(-1).view(np.uint64), np.uint64(0))):016x}",
        "verify": verdict,
    })
