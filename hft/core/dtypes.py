"""Every structured dtype, enum code and flag of `hft`, defined once.

Market events
-------------
`EVENT_DTYPE` is the canonical market event. All fields are integers: times in int64 ns UTC, prices in integer
ticks, quantities in integer lots (see `hft.core.instrument.Instrument` for the scale). Int64 fields come first
so every field is naturally aligned (56-byte records), which numba reads fastest.

`EVENT` declares its fields (type, unit, meaning, enum names). Notes on their meaning: a book event's ``side``
is the side of the resting order or level, a TRADE's the *aggressor*'s, an EXEC's (L3) the resting order's (as
LOBSTER); ``qty`` is an ADD's order size, the size a CANCEL / EXEC / DELETE removes (LOBSTER gives it for DELETE),
a LEVEL_SET / SNAPSHOT_LEVEL's new total at the level (0 deletes it), a TRADE's traded size.
"""

from __future__ import annotations

import numpy as np

from hft.core.records import Field, Record

# --- sides -------------------------------------------------------------------------------------------------
BUY = 1
SELL = -1

# --- event kinds -------------------------------------------------------------------------------------------
EV_ADD = 1  # new resting order (L3)
EV_CANCEL = 2  # partial cancel of a resting order (L3); qty = size removed
EV_DELETE = 3  # full delete of a resting order (L3); qty = size removed
EV_EXEC = 4  # visible execution against a resting order (L3); qty = size executed
EV_HIDDEN_EXEC = 5  # execution against hidden liquidity; book unchanged
EV_TRADE = 6  # a trade print (L2 feeds; LOBSTER cross trade); side = aggressor
EV_LEVEL_SET = 7  # L2 depth update: the level's total quantity becomes qty (0 removes it)
EV_CLEAR = 8  # clear the book (side 0 = both sides); used before a snapshot / resync
EV_SNAPSHOT_LEVEL = 9  # a level of a full snapshot (after a CLEAR); same semantics as LEVEL_SET
EV_HALT = 10  # trading halt / resume marker (LOBSTER type 7); price -1 halt, 1 quote, 0 resume
EV_TICKER = 11  # venue's own best bid or ask (Binance bookTicker); side says which; informational only

EVENT_KIND_NAMES: dict[int, str] = {
    EV_ADD: "add",
    EV_CANCEL: "cancel",
    EV_DELETE: "delete",
    EV_EXEC: "exec",
    EV_HIDDEN_EXEC: "hidden_exec",
    EV_TRADE: "trade",
    EV_LEVEL_SET: "level_set",
    EV_CLEAR: "clear",
    EV_SNAPSHOT_LEVEL: "snapshot_level",
    EV_HALT: "halt",
    EV_TICKER: "ticker",
}

# --- event flags -------------------------------------------------------------------------------------------
FLAG_EOM = 1  # last event of a source message: the book is consistent after applying it
FLAG_RESYNC = 2  # part of a resynchronisation after a gap (--allow-gaps)
FLAG_PREOPEN = 4  # reconstructs state that existed before the recording started (seeded liquidity)

# The market event, declared once (`hft.core.records`): its dtype, docs, units and enum names come from here.
EVENT = Record("event", (
    Field("exch_ts", "time", "ns UTC", "exchange timestamp"),
    Field("local_ts", "time", "ns UTC", "local (receive) timestamp; exch_ts when the source has no receive time"),
    Field("price", "i8", "ticks", "price (0 for CLEAR / HALT)"),
    Field("qty", "i8", "lots", "size added, removed or traded; LEVEL_SET / SNAPSHOT_LEVEL: the level's new total"),
    Field("order_id", "i8", "id", "venue order id of an L3 event, trade id of a TRADE, 0 when not applicable"),
    Field("seq", "i8", "count", "source sequence number (LOBSTER row, Binance update or trade id)"),
    Field("kind", "u1", "code", "event kind (EV_*)", EVENT_KIND_NAMES),
    Field("side", "i1", "code", "resting order's or level's side; a TRADE's aggressor; 0: none",
          {BUY: "buy", SELL: "sell"}),
    Field("flags", "u1", "bits", "bit set of FLAG_*"),
), "one market event (the canonical event files and streams)")
EVENT_DTYPE = EVENT.dtype

EVENT_FIELDS: tuple[str, ...] = tuple(EVENT_DTYPE.names or ())

# Sentinels for empty book levels in top-N snapshots.
NO_PRICE = np.iinfo(np.int64).min


def empty_events(n: int) -> np.ndarray:
    """A zeroed, writable event array of length `n`."""
    return np.zeros(n, dtype=EVENT_DTYPE)
