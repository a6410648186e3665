"""`hft data …`: import, generate, verify and inspect recorded market data.

Heavy modules (numba, polars) are imported inside the commands, never at module import.
"""

from __future__ import annotations

from pathlib import Path

import typer

from hft.cli._output import console, emit, progress_bar

app = typer.Typer(help="Import, generate, verify and inspect recorded market data.", no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output on stdout.")
FORMAT_OPT = typer.Option(None, "--format", "-f", help="Input format (lobster, binance, tardis, hftbacktest, "
                                                       "dbn, table, events, an installed plugin's name, or FILE.py:OBJECT / "
                                                       "module:OBJECT); default: recognised by content.")
MAPPING_OPT = typer.Option(None, "--mapping", "-m", help="Column mapping YAML of a generic CSV / Parquet table "
                                                         "(default: <name>.mapping.yaml beside it).")


@app.command("import")
def import_cmd(
    sources: list[Path] = typer.Argument(..., help="LOBSTER zip / message CSV, Binance .gz or Tardis CSV files "
                                                   "(one symbol; several chain into one stream), an hftbacktest "
                                                   ".npz, a Databento .dbn, or a mapped CSV / Parquet table."),
    out: Path = typer.Option(..., "--out", "-o", help="Output event file (.parquet)."),
    allow_gaps: bool = typer.Option(False, "--allow-gaps", help="Binance: resync on sequence breaks instead "
                                                                "of failing (each gap is counted)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
    fmt: str = FORMAT_OPT,
    mapping: Path = MAPPING_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Import raw recorded quotes into the canonical event format (Parquet + instrument metadata)."""
    from hft.data.importing import import_to_file

    with progress_bar("import", enabled=not json_out):
        result = import_to_file(sources, out, allow_gaps=allow_gaps, force=force, fmt=fmt, mapping=mapping)
    emit(result, json_out, lambda: _render_kv("imported", result))


@app.command("generate")
def generate_cmd(
    out: Path = typer.Option(Path("."), "--out", "-o", help="Output directory for the LOBSTER-format files."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed → byte-identical files)."),
    symbol: str = typer.Option("SYNTH", "--symbol"),
    date: str = typer.Option("2024-01-02", "--date", help="Session date YYYY-MM-DD."),
    messages: int = typer.Option(200_000, "--messages", help="Target number of messages."),
    levels: int = typer.Option(10, "--levels", help="Book levels in the orderbook file."),
    zip_output: bool = typer.Option(False, "--zip", help="Write one LOBSTER-style zip instead of two CSVs."),
    json_out: bool = JSON_OPT,
) -> None:
    """Generate a deterministic synthetic L3 trading day in LOBSTER format."""
    from hft.data.importing import generate_day

    with progress_bar("generate", enabled=not json_out):
        result = generate_day(out, seed=seed, symbol=symbol, date=date, messages=messages, levels=levels,
                              zip_output=zip_output)
    emit(result, json_out, lambda: _render_kv("generated", result))


@app.command("verify")
def verify_cmd(
    files: list[Path] = typer.Argument(..., help="LOBSTER zip / message CSV / imported .parquet, Binance .gz "
                                                 "or Tardis CSV files (each day or chain verified on its own)."),
    allow_gaps: bool = typer.Option(False, "--allow-gaps", help="Binance: resync on gaps (counted)."),
    fmt: str = FORMAT_OPT,
    mapping: Path = MAPPING_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Rebuild the book and check it: LOBSTER against its orderbook file after every message; L2 streams
    (Binance, Tardis, hftbacktest, DBN MBP, tables) for crossed / locked books, gaps and local-time order.
    Exits 12 when the check fails."""
    from hft.core.errors import DataValidationError
    from hft.data.importing import verify_files

    with progress_bar("verify", enabled=not json_out):
        result = verify_files(files, allow_gaps=allow_gaps, fmt=fmt, mapping=mapping)
    emit(result, json_out, lambda: _render_streams("verify", result))
    _warn(result)
    if not result["ok"]:
        at = result.get("first_crossed") or {}  # an L2 stream's first crossed book: the error names its place
        raise DataValidationError(f"verify failed: {result['problem']}", file=at.get("file", str(files[0])),
                                  **{k: at[k] for k in ("line", "record", "offset") if k in at})


@app.command("inspect")
def inspect_cmd(
    files: list[Path] = typer.Argument(..., help="Any supported market data input (each day or chain described "
                                                 "on its own)."),
    allow_gaps: bool = typer.Option(False, "--allow-gaps"),
    fmt: str = FORMAT_OPT,
    mapping: Path = MAPPING_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Instrument, exchange-time span (UTC and the instrument's time zone), receive-time span (local_ts) and receive
    latency, counts by event kind, spread and depth statistics, crossed books, gaps."""
    from hft.data.inspect import inspect_files

    with progress_bar("inspect", enabled=not json_out):
        result = inspect_files(files, allow_gaps=allow_gaps, fmt=fmt, mapping=mapping)
    emit(result, json_out, lambda: _render_streams("inspect", result))
    _warn(result)


def _warn(result: dict) -> None:
    """Each stream's ``warnings`` (what its data lacks), one ``warning:`` line each on stderr, as `hft replay`."""
    import sys  # lazy: the CLI modules import nothing at the top but what every command needs

    for one in result.get("streams", [result]):
        for w in one.get("warnings", ()):
            sys.stderr.write(f"warning: {w}\n")


def _render_streams(title: str, result: dict) -> None:
    """One stream's result as `_render_kv`; several (``streams``) one after another, each titled by its files."""
    if "streams" not in result:
        _render_kv(title, result)
        return
    for one in result["streams"]:
        _render_kv(f"{title} {', '.join(one['files'])}", {k: v for k, v in one.items() if k != "files"})


def _render_kv(title: str, result: dict) -> None:
    """Render a (possibly nested) result dict as rich tables."""
    from rich.table import Table

    con = console()
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")  # a path folds whole onto more lines, never cut
    nested: list[tuple[str, dict]] = []
    for key, value in result.items():
        if key == "warnings":  # printed on stderr (`_warn`)
            continue
        if isinstance(value, dict) and value and all(not isinstance(v, dict | list) for v in value.values()):
            nested.append((key, value))
        else:
            table.add_row(str(key), _fmt(value))
    con.print(table)
    for key, value in nested:
        sub = Table(title=key, show_header=False, title_justify="left")
        sub.add_column("key", style="bold", no_wrap=True)
        sub.add_column("value", overflow="fold")
        for k, v in value.items():
            sub.add_row(str(k), _fmt(v))
        con.print(sub)


NONE_TEXT = "—"  # a value that does not apply (no problem, no crossed book, no zip written): never Python's None


def _fmt(value: object) -> str:
    """A result value for a table cell: `NONE_TEXT` for None, counts with thousands separators, floats to 4
    significant digits."""
    if value is None:
        return NONE_TEXT
    if isinstance(value, float):  # 4 significant digits, but a span of 23,397 s is not 2.34e+04
        return f"{value:,.0f}" if 1e4 <= abs(value) < 1e15 else f"{value:,.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
