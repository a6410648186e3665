"""`hft store …`: the state of the store and of the WAL that feeds it."""

from __future__ import annotations

import typer

from hft.cli._output import console, emit

app = typer.Typer(help="The ClickHouse store (embedded chDB or a server) and the WAL feeding it.",
                  no_args_is_help=True)


@app.command("status")
def status_cmd(
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
) -> None:
    """Backend, schema version, WAL backlog and replay lag, disk-pressure level, who holds the store."""
    from hft.core.errors import StoreError
    from hft.core.paths import clickhouse_dir, hft_home, wal_root
    from hft.recorder.disk_monitor import DiskPressureMonitor, env_thresholds
    from hft.recorder.loader import backlog
    from hft.store.migrations import latest_version
    from hft.store.store import embedded_lock, open_store, store_url

    home = hft_home()
    url = store_url()
    result: dict = {"ok": True, "hft_home": str(home),
                    "backend": "server" if url else "chdb",
                    "location": None if url else str(clickhouse_dir(home)),
                    "schema_version": None, "schema_version_available": latest_version(), "holder": None,
                    "store_error": None}
    if url:
        from urllib.parse import urlparse

        u = urlparse(url)
        result["location"] = f"{u.scheme}://{u.hostname}:{u.port}"
    lock = None if url else embedded_lock(home)
    if lock is not None and lock.is_locked():
        result["holder"] = lock.describe_owner()
    else:
        try:
            with open_store(wait_s=0) as store:
                result["schema_version"] = store.schema_version
        except StoreError as exc:
            result["store_error"] = exc.message
    bl = backlog()
    result["backlog"] = {k: bl[k] for k in ("records", "bytes", "frames", "tail_pending_bytes", "torn_tails")}
    result["lag_s"] = round(bl["lag_s"], 3)
    result["last_rows_per_s"] = bl["last_rows_per_s"]
    result["eta_s"] = bl["eta_s"]
    result["wal_dirs"] = bl["wal_dirs"]
    watch = wal_root(home)
    while not watch.exists() and watch != watch.parent:
        watch = watch.parent
    mon = DiskPressureMonitor(watch, env_thresholds())
    result["disk"] = {"level": mon.check_now().name, "free_bytes": mon.free_bytes, "total_bytes": mon.total_bytes,
                      "path": str(watch)}

    def render() -> None:
        from rich.table import Table

        t = Table(title="store", show_header=False, title_justify="left")
        t.add_column("key", style="bold")
        t.add_column("value")
        t.add_row("backend", f"{result['backend']} ({result['location']})")
        sv = result["schema_version"]
        t.add_row("schema version", f"{sv if sv is not None else 'unknown'} "
                                    f"(this build: {result['schema_version_available']})")
        if result["holder"]:
            t.add_row("held by", result["holder"])
        if result["store_error"]:
            t.add_row("store error", f"[red]{result['store_error']}")
        b = result["backlog"]
        t.add_row("WAL backlog", f"{b['records']:,} records, {b['bytes']:,} bytes in {len(result['wal_dirs'])} WAL(s)")
        t.add_row("replay lag", f"{result['lag_s']:.1f} s")
        eta = result["eta_s"]
        t.add_row("drain ETA", "unknown (no load measured yet)" if eta is None else f"{eta:.1f} s")
        if b["torn_tails"]:
            t.add_row("torn tails", f"[yellow]{b['torn_tails']} truncated (see manifest.json)")
        d = result["disk"]
        t.add_row("disk", f"{d['level']} ({(d['free_bytes'] or 0) / 2**30:.1f} GiB free at {d['path']})")
        console().print(t)
    emit(result, json_out, render)
