"""What a replay run produced, the same for both engines: the `RunOutput` (the logs the run folder stores and the
run hash covers, the final accounting, the gateway's records), each leg's `LegResult` of a run over several
instruments, and the rules that build them from an engine's state at the end of its run (`run_output`).

`hft.sim.engine.Engine` and `hft.sim.engine_nb.NbEngine` both call `run_output`; the numba engine hands it the
logs it built from its kernel's rows (``arrays``), the Python engine lets it build them from its record lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hft.core.ids import current_run_hash_scheme, run_hash
from hft.core.orders import REASON_NAMES
from hft.sim.fees import legs_final
from hft.sim.run_records import (
    ACK_LOG_DTYPE,
    DECISION_LOG,
    DECISION_LOG_DTYPE,
    EQUITY_DTYPE,
    FILL_LOG_DTYPE,
    ORDER_LEG_DTYPE,
    ORDER_LOG_DTYPE,
)

if TYPE_CHECKING:
    from hft.sim.legs import Leg
    from hft.sim.run_setup import RunEngine


@dataclass
class RunOutput:
    """Everything a run produced (arrays are what the run folder stores and the run hash covers)."""

    decisions: np.ndarray
    orders: np.ndarray
    fills: np.ndarray
    equity: np.ndarray
    events: int
    wall_s: float
    rejects: dict[str, int]
    final: dict[str, int]
    run_hash: str
    gateway_metrics: dict[str, Any]
    # the gateway's `Decision` objects, in order (a lazily built sequence when the numba engine's kernel made them)
    decision_records: Sequence[Any] = field(default_factory=list)
    transition_records: list[Any] = field(default_factory=list)  # its `PolicyTransition` objects, in order
    resync: dict[str, Any] | None = None  # L3 venue: its reference resync counters (`L3Venue.resync_counters`)
    acks: np.ndarray = field(default_factory=lambda: np.zeros(0, ACK_LOG_DTYPE))  # `ACK_LOG_DTYPE`, by order id
    legs: list[LegResult] = field(default_factory=list)  # several instruments: each leg's results (else empty)
    # the scheme of `run_hash` (`hft.core.ids`): the one in force where the output was built, as its hash was
    run_hash_scheme: str = field(default_factory=current_run_hash_scheme)


@dataclass(frozen=True)
class LegResult:
    """One leg of a run over several instruments: its equity samples (`EQUITY_DTYPE`, this leg's mid, position,
    cash and fees in its money units), its final accounting, its order ids and the indices of its decisions in
    the run's decision log (the intents that named its symbol)."""

    symbol: str
    multiplier: int
    equity: np.ndarray
    final: dict[str, int]
    order_ids: np.ndarray
    decisions: np.ndarray




def legs_run_hash(dec: np.ndarray, orders: np.ndarray, fills: np.ndarray, legs: Sequence[LegResult]) -> str:
    """The run hash of a run over several instruments: its decisions, orders and fills plus the leg of each order
    (`ORDER_LEG_DTYPE` rows by order id, then leg) and of each decision (one int64 per row of `dec`), both read
    off the `legs`. The one rule for an engine's output of several legs and for a run of them over several days
    (`hft.sim.portfolio_days`); a one-leg run hashes ``(dec, orders, fills)`` alone."""
    ids = np.concatenate([np.asarray(leg.order_ids, dtype=np.int64) for leg in legs])
    of_leg = np.repeat(np.arange(len(legs), dtype=np.int64), [len(leg.order_ids) for leg in legs])
    by_id = np.lexsort((of_leg, ids))
    order_legs = np.zeros(len(ids), ORDER_LEG_DTYPE)
    order_legs["order_id"], order_legs["leg"] = ids[by_id], of_leg[by_id]
    dec_legs = np.zeros(len(dec), dtype=np.int64)
    for k, leg in enumerate(legs):
        dec_legs[leg.decisions] = k
    return run_hash(dec, orders, fills, order_legs, dec_legs)


def leg_results(legs: Sequence[Leg], order_legs: np.ndarray, dec_legs: np.ndarray, equity: Sequence[Any]
                ) -> list[LegResult]:
    """Each leg's `LegResult` from the run's leg of each order (`order_legs`: `ORDER_LEG_DTYPE` rows by order id,
    each id once) and of each decision (`dec_legs`), and each leg's equity rows (`equity[k]`: the log itself, or
    rows `EQUITY_DTYPE` takes). Then `legs_run_hash` over these results is ``run_hash(dec, orders, fills,
    order_legs, dec_legs)``: `run_output` hashes those two arrays as they are (the same bytes)."""
    ids, of_leg = order_legs["order_id"], order_legs["leg"]
    return [LegResult(leg.symbol, leg.mult, np.asarray(eq, dtype=EQUITY_DTYPE),
                      {"position": leg.position, "cash": leg.cash, "fees": leg.fees, "fee_frac": leg.fee_frac},
                      ids[of_leg == leg.index], np.flatnonzero(dec_legs == leg.index))
            for leg, eq in zip(legs, equity, strict=True)]


def run_output(eng: RunEngine, n: int, wall: float, arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
               ) -> RunOutput:
    """The `RunOutput` of engine `eng` after its run of `n` events in `wall` seconds; `arrays`: the (decisions,
    orders, fills) logs when the engine built them already (then ``eng.decisions`` is a sequence of the records,
    handed over as it is), else they are built from its record lists."""
    if arrays is None:
        dec = decision_log(eng.decisions)
        orders = np.array(eng._order_rows, dtype=ORDER_LOG_DTYPE) if eng._order_rows else \
            np.zeros(0, ORDER_LOG_DTYPE)
        fills = (np.array(eng._fill_rows, dtype=FILL_LOG_DTYPE) if eng._fill_rows else
                 np.zeros(0, FILL_LOG_DTYPE))
    else:
        dec, orders, fills = arrays
    equity = np.asarray(eng._equity_rows, dtype=EQUITY_DTYPE)  # a numba engine's rows are the log already
    rejects = reject_counts(dec)
    acks = eng._ack_rows if eng._ack_rows is not None else ack_log(eng._acks)
    records = list(eng.decisions) if arrays is None else eng.decisions
    if len(eng.legs) == 1:
        leg = eng.legs[0]
        final = {"position": leg.position, "cash": leg.cash, "fees": leg.fees, "fee_frac": leg.fee_frac}
        resync = getattr(leg.venue, "resync_counters", None)
        return RunOutput(dec, orders, fills, equity, n, wall, rejects, final,
                         run_hash(dec, orders, fills), eng.gw.metrics_snapshot(), records,
                         list(eng.transitions), resync() if resync is not None else None, acks)
    order_legs = (eng._order_legs if eng._order_legs is not None else
                  np.array([(o, eng._leg_of.get(o, 0)) for o in sorted(eng._side_of)], dtype=ORDER_LEG_DTYPE))
    of_symbol = {leg.symbol: leg.index for leg in eng.legs}
    dec_legs = (eng._dec_legs if eng._dec_legs is not None else
                np.array([of_symbol[d.symbol] for d in records], dtype=np.int64))
    # (a numba engine's equity rows are each leg's rows of its log, a view as one leg's log is: not copied)
    legs = leg_results(eng.legs, order_legs, dec_legs, [leg.equity_rows for leg in eng.legs])
    final = legs_final(eng.legs)
    return RunOutput(dec, orders, fills, np.zeros(0, EQUITY_DTYPE), n, wall, rejects, final,
                     run_hash(dec, orders, fills, order_legs, dec_legs), eng.gw.metrics_snapshot(),
                     records, list(eng.transitions), None, acks, legs)


def reject_counts(dec: np.ndarray) -> dict[str, int]:
    """Rejected decisions of a decision log (`DECISION_LOG_DTYPE`) by reason name, sorted by name."""
    rejects: dict[str, int] = {}
    for r in dec["reason"][dec["accepted"] == 0]:
        name = REASON_NAMES.get(int(r), str(int(r)))
        rejects[name] = rejects.get(name, 0) + 1
    return dict(sorted(rejects.items()))


def ack_log(acks: dict[int, tuple[int, int]]) -> np.ndarray:
    """`ACK_LOG_DTYPE` rows of an engine's ``_acks`` (order id -> (ACK's local arrival ns, queue ahead)), by order
    id."""
    out = np.zeros(len(acks), ACK_LOG_DTYPE)
    if acks:
        ids = sorted(acks)
        out["order_id"] = ids
        vals = np.array([acks[o] for o in ids], dtype=np.int64)
        out["ack_ts"] = vals[:, 0]
        out["queue"] = vals[:, 1]
    return out


def decision_log(decisions: Any) -> np.ndarray:
    """`DECISION_LOG_DTYPE` rows of gateway `Decision` records (what the run hash covers)."""
    dec = np.zeros(len(decisions), DECISION_LOG_DTYPE)
    if len(decisions):
        for name in DECISION_LOG.names:  # each field from the `Decision`'s attribute of that name, column by column
            dec[name] = [_int(getattr(d, name)) for d in decisions]
    return dec


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return 0
