"""Known-answer checks of the replay (`hft.core.selftest`): a short seeded L2 stream and a short consistent L3
stream, each replayed with the built-in market maker through the numba engine, its venue and the gateway, with
seeded latency jitter and maker / taker fees; the answers are the run hash (every decision, order and fill) and
the final cash, fees and position. The streams are built here, so the check needs no data file. A change of
the replay's behaviour on purpose re-records `KNOWN` (``tests/unit/core/test_selftest.py`` prints the new
values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_DELETE,
    EV_EXEC,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    EVENT,
    FLAG_EOM,
    NO_PRICE,
    SELL,
    empty_events,
)
from hft.core.ids import RUN_HASH_SCHEME, run_hash_scheme
from hft.core.instrument import Instrument
from hft.core.selftest import Answer
from hft.sim.kernel_api import KernelStrategy
from hft.sim.replay import build_engine, parse_replay_config
from hft.sim.strategy_loader import make as make_strategy

KNOWN = {
    "L2 replay (mm)": "63fbe05fc102ce2b7de890610bc16f97 fills=419 cash=100247 fees=-706 fee_frac=974540 position=-1",
    "L3 replay (mm)": "e92158cf1e287c87955d503364feb891 fills=26 cash=17 fees=-1 fee_frac=998480 position=0",
}
_CONFIG = {
    "seed": 11,
    "latency": {"entry": "300us", "response": "200us", "jitter": "50us"},
    "queue_model": "risk_averse",
    "fees": {"maker_bps": -0.2, "taker_bps": 2.0, "per_lot": 1},
    "limits": {"max_position": 20, "max_order_qty": 5},
    "strategies": {"mm": {"size": 2, "max_position": 6, "edge_ticks": 0, "skew_ticks_per_lot": 1}},
}


def l2_stream(n_msgs: int = 2000, seed: int = 1) -> np.ndarray:
    """A small seeded L2 stream: a snapshot, level updates around a wandering mid, trades at the touch."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, int, int, int]] = []
    mid, t = 100_000, 1_700_000_000_000_000_000
    for k in range(1, 6):
        rows += [(t, EV_SNAPSHOT_LEVEL, BUY, mid - k, 10, 0), (t, EV_SNAPSHOT_LEVEL, SELL, mid + k, 10, 0)]
    rows[-1] = (*rows[-1][:5], 1)
    for _ in range(n_msgs):
        t += int(rng.integers(1, 50_000_000))
        if rng.random() < 0.3:
            side = BUY if rng.random() < 0.5 else SELL
            rows.append((t, EV_TRADE, side, mid + side, int(rng.integers(1, 5)), 1))
        else:
            mid += int(rng.integers(-1, 2))
            for k in range(1, 4):
                rows.append((t, EV_LEVEL_SET, BUY, mid - k, int(rng.integers(1, 30)), 0))
                rows.append((t, EV_LEVEL_SET, SELL, mid + k, int(rng.integers(1, 30)), 0))
            rows.append((t, EV_LEVEL_SET, BUY, mid, 0, 0))
            rows.append((t, EV_LEVEL_SET, SELL, mid, 0, 1))
    ev = empty_events(len(rows))
    for i, (ts, kind, side, px, qty, eom) in enumerate(rows):
        ev[i] = EVENT.pack(exch_ts=ts, local_ts=ts + 200_000, price=px, qty=qty, order_id=0, seq=i, kind=kind,
                           side=side, flags=FLAG_EOM if eom else 0)
    return ev


def l3_stream(n_msgs: int = 1500, seed: int = 3) -> np.ndarray:
    """A small seeded, consistent L3 (market-by-order) stream: orders added around a wandering mid, partly
    cancelled, deleted, and executed at the touch in time priority; one event per message."""
    rng = np.random.default_rng(seed)
    book: dict[int, dict[str, int]] = {}  # resting orders: id → side, price, qty
    rows: list[tuple[int, int, int, int, int, int]] = []
    mid, t, next_id = 50_000, 1_700_000_000_000_000_000, 1

    def best(side: int) -> int | None:
        prices = [o["price"] for o in book.values() if o["side"] == side]
        return (max(prices) if side == BUY else min(prices)) if prices else None

    for _ in range(n_msgs):
        t += int(rng.integers(1, 20_000_000))
        mid += int(rng.integers(-1, 2)) if rng.random() < 0.2 else 0
        r = rng.random()
        side = BUY if rng.random() < 0.5 else SELL
        if r < 0.5 or len(book) < 10:
            opposite = best(-side)
            px = mid - side * int(rng.integers(1, 6))
            if opposite is not None and (px - opposite) * side >= 0:
                px = opposite - side  # stays passive
            qty = int(rng.integers(1, 20))
            book[next_id] = {"side": side, "price": px, "qty": qty}
            rows.append((t, EV_ADD, side, px, qty, next_id))
            next_id += 1
        elif r < 0.75:
            oid = sorted(book)[int(rng.integers(0, len(book)))]
            o = book[oid]
            if o["qty"] > 1 and rng.random() < 0.5:
                cut = int(rng.integers(1, o["qty"]))
                o["qty"] -= cut
                rows.append((t, EV_CANCEL, o["side"], o["price"], cut, oid))
            else:
                del book[oid]
                rows.append((t, EV_DELETE, o["side"], o["price"], o["qty"], oid))
        else:
            px = best(side)
            if px is None:
                continue
            oid = min(k for k, o in book.items() if o["side"] == side and o["price"] == px)  # time priority
            o = book[oid]
            q = min(o["qty"], int(rng.integers(1, 10)))
            o["qty"] -= q
            rows.append((t, EV_EXEC, side, px, q, oid))
            if o["qty"] == 0:
                del book[oid]
    ev = empty_events(len(rows))
    for i, (ts, kind, side, px, qty, oid) in enumerate(rows):
        ev[i] = EVENT.pack(exch_ts=ts, local_ts=ts + 150_000, price=px, qty=qty, order_id=oid, seq=i, kind=kind,
                           side=side, flags=FLAG_EOM)
    return ev


@njit(cache=True)
def idle_context(st, ltop, sord, intents, depth, trades, acct):
    """A strategy kernel with the full context that never trades."""
    return 0


class IdleContextKernel(KernelStrategy):
    """`idle_context` as a strategy: what the warm-up runs so that the replay loop's own variant for kernels with
    the full context is compiled before a user's first one (the loop calls a kernel through its address, so one
    compiled variant serves every such kernel of a venue kind)."""

    name = "idle_context"
    nb_kernel = idle_context


@dataclass(frozen=True)
class _Stream:
    """What `build_engine` reads of an opened stream."""

    events: np.ndarray
    instrument: Instrument
    meta: dict[str, Any] = field(default_factory=dict)
    lobster: Any = None


def _replay(events: np.ndarray, level: str) -> str:

    config = parse_replay_config(_CONFIG)
    inst = Instrument("CHECK", "SYNTH", "0.01", "1", currency="USD", book_level=level)
    spec, strategy = make_strategy("mm", config.strategies)
    events = events.view()
    events.flags.writeable = False  # as an opened stream's (read-only): the kernels a real run uses, not a copy
    engine, money = build_engine(_Stream(events, inst), strategy, spec.key, config)
    # the answers were recorded under the run's own hash scheme: the same whichever scheme the caller checks a
    # golden under (`hft replay --check` of a golden recorded with BLAKE2b sets it around the first use of the cache)
    with run_hash_scheme(RUN_HASH_SCHEME):
        out = engine.run(None, multiplier=money)
    f = out.final
    return (f"{out.run_hash} fills={len(out.fills)} cash={int(f['cash'])} fees={int(f['fees'])} "
            f"fee_frac={int(f['fee_frac'])} position={int(f['position'])}")


# `hft.sim.fees.mark_pnl` (position, cash, fee millionths, mid2, money factor): ties to even, linear and inverse
# marks, the cash alone without a mid, NO_PRICE past int64 (values checked by hand and against fractions:
# tests/unit/sim/test_mark_pnl.py)
_PNL_CASES = ((0, 8, 500_000, NO_PRICE, 1), (1, 0, 0, 5, 1), (-1, 0, 0, 7, 1), (1, 0, 999_999, 3, 1),
              (3, -10, 250_000, 200_001, 7), (-3, 5, 333_333, 7, -5), (2, 0, 0, 1_000_000, -10**12),
              (1, 2**63 - 1, 0, 2, 1), (0, -(2**63 - 1), 500_000, NO_PRICE, 1), (2**40, 0, 0, 2**30, 2**10))
_PNL_KNOWN = ("8 2 -4 1 2100000 9 -4000000 -9223372036854775808 -9223372036854775808 -9223372036854775808")


def pnl() -> list[Answer]:
    """`hft.sim.fees.mark_pnl` on `_PNL_CASES`."""
    from hft.sim.fees import mark_pnl  # lazy: numba (hft.sim.replay, imported above, keeps it lazy too)

    return [Answer("strategy PnL (mark_pnl)", _PNL_KNOWN, " ".join(str(int(mark_pnl(*c))) for c in _PNL_CASES))]


def replay_l2() -> list[Answer]:
    """`l2_stream` replayed with ``mm`` on the L2 venue."""
    return [Answer("L2 replay (mm)", KNOWN["L2 replay (mm)"], _replay(l2_stream(), "L2"))]


def replay_l3() -> list[Answer]:
    """`l3_stream` replayed with ``mm`` on the L3 venue."""
    return [Answer("L3 replay (mm)", KNOWN["L3 replay (mm)"], _replay(l3_stream(), "L3"))]
