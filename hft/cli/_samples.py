"""Small market-data files the CLI makes for itself (the demo's second process, the warm-up): no vendor file, no
generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hft.core.dtypes import BUY, EV_ADD, NO_PRICE


def lobster_day(path: Path, levels: int = 5) -> Path:
    """A small LOBSTER import at `path` made without the generator and its self-test: `hft.sim.selftest.l3_stream`'s
    consistent L3 messages, a bid level resting before the first message (as a generated day's opening book), and
    the reference book after each message from the reference engine's book, `levels` levels (what the demo's second
    process and the warm-up replay: the kernels of a LOBSTER replay with its reference rows)."""
    from hft.data.lobster import LobsterData, lobster_instrument, write_lobster_import
    from hft.sim.reference.book import LocalBook
    from hft.sim.selftest import l3_stream

    events = l3_stream()
    book = LocalBook()
    book.apply(EV_ADD, BUY, int(events["price"].min()) - 10, 5, l3=True)
    ref = np.empty((len(events), 4 * levels), np.int64)
    for i, e in enumerate(events):
        book.apply(int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]), l3=True)
        bids, asks = book.best_levels(levels)
        for j in range(levels):  # LOBSTER's columns: ask price, ask size, bid price, bid size per level
            ref[i, 4 * j: 4 * j + 2] = asks[j] if j < len(asks) else (NO_PRICE, 0)
            ref[i, 4 * j + 2: 4 * j + 4] = bids[j] if j < len(bids) else (NO_PRICE, 0)
    write_lobster_import(LobsterData(events, lobster_instrument("SYNTH"), ref, levels, {}), path)
    return path
