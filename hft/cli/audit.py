"""`hft audit …`: drain the WAL into the store, query it, tail a table.

The store is the embedded chDB engine under ``$HFT_HOME/clickhouse`` unless ``HFT_CLICKHOUSE_URL`` points at a
ClickHouse server. chDB, clickhouse-connect and rich are imported inside the commands only.
"""

from __future__ import annotations

import sys

import typer

from hft.cli._output import console, emit, progress_bar

app = typer.Typer(help="Audit trail: load the WAL into the store, query it, tail a table.", no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output on stdout.")
WAIT_OPT = typer.Option(10.0, "--wait", help="Seconds to wait for another process holding the embedded store.")


@app.command("load")
def load_cmd(
    batch_rows: int = typer.Option(1_000_000, "--batch-rows", min=1, help="Rows per insert batch."),
    keep_segments: bool = typer.Option(False, "--keep-segments", help="Keep WAL segments once loaded."),
    workers_bus: str = typer.Option(
        None, "--workers-bus", metavar="NATS_URL",
        help="Share the WAL directories with other loaders (other machines too) through leases in a NATS KV "
             "bucket: each directory is loaded by one loader at a time; one held elsewhere is waited for (taken "
             "over if its holder dies). Without it, a local lock per directory."),
    lease_ttl: float = typer.Option(10.0, "--lease-ttl", min=0.5,
                                    help="--workers-bus: seconds a dead loader's lease takes to age out "
                                         "(renewed every fifth of it)."),
    store_timeout: float = typer.Option(300.0, "--store-timeout", min=0.1,
                                        help="Seconds a ClickHouse server's answer to a request is waited for."),
    retry_for: float = typer.Option(600.0, "--retry-for", min=0,
                                    help="Seconds an unanswered insert is retried (backing off 0.5 s to 30 s) "
                                         "before the load fails."),
    wait: float = WAIT_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Drain every WAL under $HFT_HOME/wal into the store now (idempotent; safe to rerun after a kill)."""
    import contextlib

    from hft.recorder.loader import WALLoader, backlog
    from hft.store.store import open_store

    with contextlib.ExitStack() as stack:
        leases = None
        if workers_bus:
            from hft.bus.lease import ShardLeases

            leases = stack.enter_context(ShardLeases(workers_bus, ttl_s=lease_ttl, renew_s=lease_ttl / 5))
        store = open_store(wait_s=wait, timeout_s=store_timeout)
        stack.callback(store.close)
        loader = WALLoader(store, prune=not keep_segments, batch_rows=batch_rows, leases=leases,
                           retry_for_s=retry_for)
        with progress_bar("loading WAL", "records", enabled=not json_out) as update:
            loader.progress = update
            rep = loader.load()
        result = {"ok": True, "backend": store.describe(), **rep.to_dict()}
    for q in rep.quarantined:  # said on stderr in every mode: records were set aside, not loaded
        sys.stderr.write(f"warning: {q['segment']}: {q['bytes']} bad bytes at offset {q['offset']} ({q['reason']}) "
                         f"quarantined to {q['file']}; the rest loaded\n")
    bl = backlog()
    result["backlog_after"] = {k: bl[k] for k in ("records", "bytes", "tail_pending_bytes")}

    def render() -> None:
        con = console()
        con.print(f"loaded [bold]{rep.records_loaded:,}[/] records ({rep.bytes_loaded:,} bytes) in "
                  f"{rep.seconds:.2f}s ({rep.rows_per_s:,.0f} rows/s), {rep.batches} batches"
                  + (f", {rep.redone_pending_batches} interrupted batch redone" if rep.redone_pending_batches else ""))
        for table, n in sorted(rep.tables.items()):
            con.print(f"  {table}: {n:,}")
        if rep.tail_pending_bytes:
            con.print(f"  [yellow]{rep.tail_pending_bytes} bytes at a WAL tail not complete yet (left for later)")
    emit(result, json_out, render)


def _render_rows(columns: list[str], rows: list[list], title: str | None = None, full: str = "--json") -> None:
    from hft.cli._tables import render_rows

    render_rows(columns, rows, title=title, full=full)


@app.command("query")
def query_cmd(
    sql: str = typer.Argument(..., help="ClickHouse SQL (tables audit.*, sim.*; duplicates never show)."),
    csv_out: bool = typer.Option(False, "--csv", help="CSV with a header line on stdout."),
    timeout: float = typer.Option(60.0, "--timeout", min=0,
                                  help="Seconds the query may run (ClickHouse max_execution_time; 0: no limit)."),
    wait: float = WAIT_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Run read-only SQL against the store: a table by default, --json (rows as objects) or --csv. The query is
    stopped after --timeout seconds (the embedded store is locked for as long as it runs)."""
    from hft.core.errors import StoreError
    from hft.store.backend import TIMEOUT_EXCEEDED
    from hft.store.store import open_store

    store = open_store(wait_s=wait).read_only().set_time_limit(timeout)
    try:
        if csv_out and not json_out:
            sys.stdout.buffer.write(store.query_raw(sql, "CSVWithNames"))
            sys.stdout.flush()
            return
        res = store.query(sql)
    except StoreError as exc:
        if exc.fields.get("code") != TIMEOUT_EXCEEDED:
            raise
        raise StoreError(f"query stopped: it ran past --timeout {timeout:g} s (expected it to finish within; "
                         f"raise --timeout, or 0 for no limit)", code=TIMEOUT_EXCEEDED, sql=sql[:500]) from None
    finally:
        store.close()
    emit({"ok": True, "columns": res.columns, "types": res.types, "rows": res.dicts()}, json_out,
         lambda: _render_rows(res.columns, res.rows, full="--json or --csv"))


@app.command("tail")
def tail_cmd(
    table: str = typer.Argument(..., help="A store table: audit.gateway_decisions, sim.fills … (or bare name)."),
    n: int = typer.Option(20, "-n", "--lines", min=1, help="How many of the latest rows (by ts)."),
    wait: float = WAIT_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """The latest N rows of a table, oldest first (record ids as 32 hex digits)."""
    from hft.recorder.topics import get_topic
    from hft.store.store import open_store

    topic = get_topic(table)
    sql = (f"SELECT lower(leftPad(hex(record_id), 32, '0')) AS record_id, * EXCEPT record_id FROM "
           f"(SELECT * FROM {topic.name} ORDER BY ts DESC, record_id DESC LIMIT {int(n)}) ORDER BY ts, record_id")
    store = open_store(wait_s=wait)
    try:
        res = store.query(sql)
    finally:
        store.close()
    emit({"ok": True, "table": topic.name, "columns": res.columns, "rows": res.dicts()}, json_out,
         lambda: _render_rows(res.columns, res.rows, title=topic.name))
