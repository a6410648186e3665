"""The audit store as the simulator's run recorder (`hft.sim.recording.RunRecorder`): a replay's summary,
decisions, orders and fills, or a sweep's cell summaries, appended to the WAL and loaded into the store.

This module itself is what the composition root (the CLI, `hft demo`) hands to `hft.sim.replay.run_replay`,
`hft.sim.sessions.run_days` and `hft.sim.sweep.run_sweep`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from hft.core.ids import stable_id
from hft.core.orders import CMD_NEW, FILL, FILL_LIQUIDITY, ORDER_EVENT, SIM_RUN
from hft.core.records import Record
from hft.recorder.gateway_sink import GatewayAuditSink
from hft.recorder.loader import load
from hft.recorder.wal_first import open_checked_writer

__all__ = ["record_run", "record_summaries", "run_row"]


def record_run(out: Any, summary: dict[str, Any], symbol: str | Mapping[int, str], gateway: Any = None
               ) -> dict[str, Any]:
    """Append the run (summary, decisions, orders, fills) to the WAL, then load it into the store. `symbol`: the
    run's instrument, or each order id's (a run over several instruments)."""

    def symbol_of(order_id: int) -> str:
        return symbol if isinstance(symbol, str) else symbol[order_id]

    from hft.store.store import open_store

    run_id = summary["run_hash"]
    # a record the WAL did not acknowledge fails the run (StoreError with the count), before anything is loaded
    with open_checked_writer(f"sim-{run_id[:16]}", id_namespace=run_id, what=f"records of run {run_id}") as w:
        sink = GatewayAuditSink(w, run_id=run_id, gateway=gateway)
        sink.write_decisions(out.decision_records)
        for transition in out.transition_records:
            sink(transition)
        # a stop's trigger: its decision's (the order log keeps no trigger: a column there would move every run hash)
        trigger = {int(d.order_id): int(d.trigger) for d in out.decision_records if d.trigger}
        expire = {int(d.order_id): int(d.expire) for d in out.decision_records if d.expire}  # a GTD's, likewise
        w.write_many("sim.orders", [
            {"record_id": stable_id(run_id, "order", i), "run_id": run_id, "source": "command",
             "symbol_name": symbol_of(r["order_id"]), **r,
             "trigger": trigger.get(r["order_id"], 0) if r["action"] == CMD_NEW else 0,
             "expire": expire.get(r["order_id"], 0) if r["action"] == CMD_NEW else 0}
            for i, r in enumerate(log_rows(out.orders, ORDER_EVENT))])
        w.write_many("sim.fills", [
            {"record_id": stable_id(run_id, "fill", i), "run_id": run_id, "fill_id": i,
             "symbol_name": symbol_of(r["order_id"]), **r}
            for i, r in enumerate(log_rows(out.fills, FILL, FILL_LOG_NAMES, {"liquidity": _LIQUIDITY}))])
        w.write("sim.runs", run_row(summary, stable_id(run_id, "run")))
    with open_store(wait_s=30) as store:
        rep = load(store)
        counts = store.query(f"SELECT count() AS n FROM sim.fills WHERE run_id = '{run_id}'").dicts()
    return {"run_id": run_id, "loaded_records": rep.records_loaded, "fills_in_store": int(counts[0]["n"])}


# The fill log's fields (`hft.sim.run_records.FILL_LOG`) as the store's fill (`FILL`) names them: the log's ``ts``
# is the venue's time, the store's ``exch_ts``; the store's ``ts`` is when the fill reached the strategy. The order
# log's fields (`ORDER_LOG`, a projection of the command) are the store's order event's under their own names.
FILL_LOG_NAMES = {"ts": "exch_ts", "local_ts": "ts"}
# a venue report's liquidity code (`LIQ_*`) as the store's (`hft.core.orders.FILL_LIQUIDITY`)
_LIQUIDITY = dict(enumerate(FILL_LIQUIDITY.tolist()))


def log_rows(log: Any, record: Record, names: Mapping[str, str] | None = None,
             codes: Mapping[str, Mapping[int, int]] | None = None) -> list[dict[str, int]]:
    """The rows of a run's log array (a structured array: `hft.sim.run_records`' dtypes) as `record`'s fields (a
    store row), each by name: a log field under its own name or the one `names` gives it, as a Python int, its code
    mapped by ``codes[field]`` (a code it lacks: 0). A log field that `record` does not hold is a `KeyError`
    naming it (a field added to a log reaches the store, or is declared not to)."""
    names = dict(names or {})
    codes = dict(codes or {})
    cols: dict[str, list[int]] = {}
    for name in log.dtype.names:
        field = names.get(name, name)
        record.field(field)  # KeyError: "record fill: no field 'x': expected one of [...]"
        vals = log[name].tolist()
        if name in codes:
            vals = [codes[name].get(v, 0) for v in vals]
        cols[field] = vals
    keys = tuple(cols)
    return [dict(zip(keys, row, strict=True)) for row in zip(*cols.values(), strict=True)]


def run_row(summary: dict[str, Any], record_id: str, *, wall_ts: int | None = None) -> dict[str, Any]:
    """The ``sim.runs`` row of a run's summary (its status: ``summary['status']``, else ok); ``n_orders``: the
    summary's ``orders`` (new + replace, `hft.core.orders.order_counts`), as every count of orders; ``symbols``:
    the run's instruments (leg order); ``wall_ts``: when it was recorded (`wall_ts`, default now: the wall clock,
    which the run itself never reads) and ``wall_s`` how long its replay took."""
    run_id = summary["run_hash"]
    symbols = summary.get("symbols") or ([summary["symbol"]] if summary.get("symbol") else [])
    # every field of the declaration by name (`SIM_RUN.row`): one it lacks or misspells is a TypeError here
    row = SIM_RUN.row(
        ts=int(summary.get("end_ts", 0)), run_id=run_id, scenario="", strategy=summary["strategy"],
        seed=int(summary.get("seed", 0)), config_hash=summary.get("config_hash", ""),
        data_hash=summary.get("data_hash", ""), run_hash=run_id, status=summary.get("status", "ok"),
        start_ts=int(summary.get("start_ts", 0)), end_ts=int(summary.get("end_ts", 0)),
        n_events=int(summary.get("events", 0)), n_orders=int(summary.get("orders", 0)),
        n_fills=int(summary.get("fills", 0)), summary={k: v for k, v in summary.items() if k != "store"},
        symbols=[str(x) for x in symbols], wall_ts=time.time_ns() if wall_ts is None else int(wall_ts),
        wall_s=float(summary.get("wall_s") or 0.0))
    return {"record_id": record_id, **row._asdict()}


def record_summaries(summaries: list[dict[str, Any]], *, writer: str) -> dict[str, Any]:
    """Append one ``sim.runs`` row per summary (no orders or fills: a sweep's cells) to the WAL, then load the
    store. A summary's ``sweep`` mapping (name, cell) keys its row, so a cell recorded twice is one row."""
    from hft.store.store import open_store

    with open_checked_writer(writer, id_namespace=writer, what=f"{len(summaries)} run summaries") as w:
        w.write_many("sim.runs", [run_row(s, stable_id(s["sweep"]["name"], s["sweep"]["cell"]) if "sweep" in s
                                          else stable_id(s["run_hash"], "run")) for s in summaries])
    with open_store(wait_s=30) as store:
        rep = load(store)
    return {"loaded_records": rep.records_loaded}
