"""Data-layer benchmark: Binance import, L2 book rebuild, and the peer hftbacktest 2.4.4 side by side.

    .venv/bin/python bench/bench_data.py [--repeat 7] [--quick] [--sections binance,l2,lobster,cli]

Writes bench/results/bench_data.json. Every figure is the median of `--repeat` timed runs after a warm-up
run (numba compilation and file-cache effects excluded); min/max are kept beside it. Ours and the peer are
measured interleaved in the same loop, so machine load hits both alike.

Sections (each a function returning a dict; add more the same way):

* ``binance``  — `import_binance` lines/s on usdm BTCUSDT, spot BTCUSDT (two files) and cm BTCUSD_PERP.
* ``l2``       — the L2 rebuild on the SAME rows as the peer: hftbacktest's own converter output for
  usdm/btcusdt_20240808.gz (491,973 rows) mapped 1:1 to our event dtype (price/qty → integer ticks/lots), replayed
  by `hft.book.l2.replay`; the peer replays its rows with no orders (one `elapse` to the end) in both its
  depth implementations (HashMap; ROIVector with the ROI spanning every price in the file, so no level is
  dropped). ``ratio`` = our rows/s ÷ the peer's rows/s, replay only and end to end (book allocation / backtest
  construction included). Also our rebuild on our own import of the file. The peer is skipped (and that is
  recorded) when hftbacktest is not installed.
* ``lobster``  — hook: `hft.data.lobster.import_lobster` rows/s and `hft.data.verify_lobster.verify_lobster`
  (L3 rebuild + per-message comparison) messages/s, when those modules are present.
* ``cli``      — hook: `hft --help` start-up time (subprocess).
* ``checks``   — what checking an event file on load costs (`hft.data.events_io.load_events`: column types,
  content hash, the value/order kernel), against loading the same file unchecked, and against a whole replay
  (`run_replay`, strategy mm, no store) of it; imported usdm BTCUSDT. Run alone, the section is merged into an
  existing results file (with its own machine info and load).
* ``formats``  — import rows/s of every vendor format (Tardis CSV / .csv.gz, book_snapshot_25, quotes,
  hftbacktest .npz, DBN mbo / mbp-10 / mbp-1 / trades, mapped CSV / Parquet tables) on files written from one
  synthetic market, and hftbacktest's own converters on the same files where it has them (Tardis pair; the
  usdm Binance capture), interleaved; for the top-N snapshot formats also the replay loop of the imported events
  (numba engine, pure replay and ``mm``: what each row's change instead of a full snapshot saves).
  ``--sections formats`` alone keeps the other sections' last figures.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import carry_over, machine_info, shared_data, summarise, time_runs, write_result

from hft.data.sources import FILES

PEER_FILE = "binance/usdm/btcusdt_20240808.gz"
RESULT_PATH = Path(__file__).resolve().parent / "results" / "bench_data.json"
PEER_ROWS_EXPECTED = 491_973
PEER_TICK, PEER_LOT = 0.1, 0.001  # usdm BTCUSDT (hft.data.binance.SYMBOL_TABLE)

BINANCE_STREAMS = {
    "usdm_btcusdt": ["binance/usdm/btcusdt_20240808.gz"],
    "spot_btcusdt_2files": ["binance/spot/btcusdt_20240808.gz", "binance/spot/btcusdt_20240809.gz"],
    "cm_btcusd_perp_2files": ["binance/cm/btcusd_perp_20240808.gz", "binance/cm/btcusd_perp_20240809.gz"],
}


# --- Binance import --------------------------------------------------------------------------------------------
def bench_binance_import(data: Path, repeat: int, quick: bool = False) -> dict[str, Any]:
    """`import_binance` throughput per stream (lines/s = capture lines of all files / wall time)."""
    from hft.data.binance import import_binance

    out: dict[str, Any] = {}
    streams = dict(list(BINANCE_STREAMS.items())[:1]) if quick else BINANCE_STREAMS
    for name, files in streams.items():
        paths = [data / f for f in files]
        d = import_binance(paths)
        lines = sum(d.meta["lines"])
        res = summarise(time_runs(lambda p=paths: import_binance(p), repeat=repeat), lines)
        res["lines"] = lines
        res["events"] = len(d.events)
        res["lines_per_s"] = res.pop("per_s_median")
        res["lines_per_s_best"] = res.pop("per_s_best")
        out[name] = res
    return out


# --- L2 rebuild vs the peer ------------------------------------------------------------------------------------
def peer_rows_to_events(rows: np.ndarray, tick: float, lot: float) -> np.ndarray:
    """hftbacktest event rows → our EVENT_DTYPE, one row each (depth → LEVEL_SET, snapshot → SNAPSHOT_LEVEL,
    clear → CLEAR of that side, trade → TRADE); float price/qty rounded to integer ticks/lots."""
    from hft.core.dtypes import EV_CLEAR, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL, EV_TRADE, EVENT_DTYPE

    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    code = (rows["ev"] & 0xFF).astype(np.int64)
    kind = np.zeros(len(rows), dtype=np.uint8)
    for peer_code, ours in ((1, EV_LEVEL_SET), (2, EV_TRADE), (3, EV_CLEAR), (4, EV_SNAPSHOT_LEVEL)):
        kind[code == peer_code] = ours
    ev["kind"] = kind
    buy, sell = (rows["ev"] & (1 << 29)) != 0, (rows["ev"] & (1 << 28)) != 0
    ev["side"] = np.where(buy, 1, np.where(sell, -1, 0))
    ev["price"] = np.rint(rows["px"] / tick).astype(np.int64)
    ev["qty"] = np.rint(rows["qty"] / lot).astype(np.int64)
    ev["exch_ts"], ev["local_ts"] = rows["exch_ts"], rows["local_ts"]
    ev.flags.writeable = False
    return ev


def _peer_available() -> str | None:
    try:
        import hftbacktest
    except ImportError:
        return None
    return str(hftbacktest.__version__)


def _peer_backtest(rows: np.ndarray, kind: str, roi: tuple[float, float]) -> Any:
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest, ROIVectorMarketDepthBacktest

    asset = (BacktestAsset().data([rows]).linear_asset(1.0).constant_order_latency(0, 0)
             .risk_adverse_queue_model().no_partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
             .tick_size(PEER_TICK).lot_size(PEER_LOT).last_trades_capacity(0))
    if kind == "roivector":
        return ROIVectorMarketDepthBacktest([asset.roi_lb(roi[0]).roi_ub(roi[1])])
    return HashMapMarketDepthBacktest([asset])


def _peer_run(rows: np.ndarray, kind: str, roi: tuple[float, float]) -> tuple[float, float, tuple[float, float]]:
    """(construction s, replay s, final best bid/ask) of one pure replay: no orders, elapse to the end."""
    t0 = time.perf_counter()
    hbt = _peer_backtest(rows, kind, roi)
    t1 = time.perf_counter()
    while hbt.elapse(1 << 62) == 0:
        pass
    t2 = time.perf_counter()
    depth = hbt.depth(0)
    best = (float(depth.best_bid), float(depth.best_ask))
    hbt.close()
    return t1 - t0, t2 - t1, best


def _ours_run(events: np.ndarray) -> tuple[float, float, tuple[int, int]]:
    """(book allocation s, replay s, final best bid/ask ticks) of one L2 rebuild."""
    from hft.book import l2

    t0 = time.perf_counter()
    book = l2.book_for(events)
    t1 = time.perf_counter()
    status, _ = l2.replay(book, events, 0, len(events))
    t2 = time.perf_counter()
    if status != l2.L2_OK:  # the sizing covers every price, so this would be a bug
        raise RuntimeError(f"L2 replay failed with status {status}")
    return t1 - t0, t2 - t1, (l2.best_bid(book), l2.best_ask(book))


def bench_l2_vs_peer(data: Path, repeat: int) -> dict[str, Any]:
    """Our L2 rebuild and the peer's pure replay on the same rows, interleaved; see the module docstring."""
    from hft.data.binance import import_binance

    out: dict[str, Any] = {"file": PEER_FILE}
    own = import_binance([data / PEER_FILE]).events
    version = _peer_available()
    rows = None
    if version is None:
        out["peer"] = {"skipped": "hftbacktest is not installed (pip install -e '.[bench]')"}
    else:
        from hftbacktest.data.utils import binancefutures

        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # the converter prints progress notes
            rows = binancefutures.convert(str(data / PEER_FILE))
        out["peer"] = {"version": version, "rows": len(rows), "rows_expected": PEER_ROWS_EXPECTED,
                       "convert_s": round(time.perf_counter() - t0, 3)}
    same = peer_rows_to_events(rows, PEER_TICK, PEER_LOT) if rows is not None else None
    roi = (float(rows["px"][rows["px"] > 0].min()), float(rows["px"].max())) if rows is not None else (0.0, 0.0)

    timings: dict[str, dict[str, list[float]]] = {}

    def record(name: str, setup: float, replay: float) -> None:
        t = timings.setdefault(name, {"setup": [], "replay": []})
        t["setup"].append(setup)
        t["replay"].append(replay)

    finals: dict[str, Any] = {}
    for r in range(repeat + 1):  # run 0 is the warm-up (compilation, page cache), not recorded
        s, p, best = _ours_run(own)
        if r:
            record("ours_own_import", s, p)
        if same is not None and rows is not None:
            s, p, best = _ours_run(same)
            finals["ours_same_rows"] = best
            if r:
                record("ours_same_rows", s, p)
            for kind in ("hashmap", "roivector"):
                s, p, pbest = _peer_run(rows, kind, roi)
                finals[f"peer_{kind}"] = pbest
                if r:
                    record(f"peer_{kind}", s, p)

    def block(name: str, n: int) -> dict[str, Any]:
        t = timings[name]
        total = [a + b for a, b in zip(t["setup"], t["replay"], strict=True)]
        return {"rows": n, "replay": summarise(t["replay"], n), "setup": summarise(t["setup"]),
                "end_to_end": summarise(total, n)}

    out["ours_own_import"] = block("ours_own_import", len(own))
    out["ours_own_import"]["note"] = ("our import of the same file: snapshot, synchronised diffs, trades and "
                                      "bookTicker events (the last two pass through the kernel untouched)")
    if same is not None and rows is not None:
        out["ours_same_rows"] = block("ours_same_rows", len(same))
        out["peer"]["hashmap"] = block("peer_hashmap", len(rows))
        out["peer"]["roivector"] = block("peer_roivector", len(rows))
        out["peer"]["roivector"]["roi"] = roi
        ours_bb, ours_ba = finals["ours_same_rows"]
        out["final_best_bid_ask"] = {
            "ours": [round(ours_bb * PEER_TICK, 1), round(ours_ba * PEER_TICK, 1)],
            **{k: [round(v[0], 1), round(v[1], 1)] for k, v in finals.items() if k.startswith("peer")},
        }
        ours = out["ours_same_rows"]
        ratio: dict[str, Any] = {"goal": 1.5}
        for kind in ("hashmap", "roivector"):
            peer = out["peer"][kind]
            ratio[f"replay_vs_{kind}"] = round(ours["replay"]["per_s_median"] / peer["replay"]["per_s_median"], 2)
            ratio[f"end_to_end_vs_{kind}"] = round(
                ours["end_to_end"]["per_s_median"] / peer["end_to_end"]["per_s_median"], 2)
        ratio["headline"] = min(ratio["replay_vs_hashmap"], ratio["replay_vs_roivector"])
        ratio["headline_is"] = "replay rows/s vs the faster peer depth"
        ratio["meets_goal"] = ratio["headline"] >= ratio["goal"]
        out["ratio"] = ratio
    return out


# --- hooks for the other data paths ----------------------------------------------------------------------------
def bench_lobster(data: Path, repeat: int) -> dict[str, Any]:
    """LOBSTER import rows/s and L3 rebuild + verification messages/s (when the modules exist)."""
    try:
        from hft.data.lobster import import_lobster
        from hft.data.verify_lobster import verify_lobster
    except ImportError as exc:
        return {"skipped": f"LOBSTER modules not available: {exc}"}
    out: dict[str, Any] = {}
    for zip_path in sorted((data / "lobster").glob("LOBSTER_SampleFile_*.zip")):
        d = import_lobster(zip_path)
        n = len(d.events)
        imp = summarise(time_runs(lambda p=zip_path: import_lobster(p), repeat=repeat), n)
        ver = summarise(time_runs(lambda d=d: verify_lobster(d), repeat=repeat), n)
        rebuild = summarise(time_runs(lambda d=d: _l3_rebuild(d.events), repeat=repeat), n)
        out[zip_path.stem] = {"events": n, "import": imp, "l3_rebuild": rebuild, "verify_l3_rebuild": ver}
    return out


def _l3_rebuild(events: Any) -> None:
    """Pure L3 book rebuild of a whole stream in one kernel call (no comparison)."""
    import numpy as np

    from hft.book.l3 import new_l3_book
    from hft.book.l3_replay import REPLAY_COUNTERS, l3_replay

    counters = np.zeros(REPLAY_COUNTERS, np.int64)
    book = new_l3_book(int(np.median(events["price"])), 4096, 1 << 16)
    l3_replay(book, events["kind"], events["side"], events["price"], events["qty"], events["order_id"], counters)


def bench_cli_startup(repeat: int) -> dict[str, Any]:
    """Wall time of ``hft --help`` in a fresh process (the CLI must not import numba/polars for it)."""
    exe = Path(sys.executable).with_name("hft")
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "hft.cli.app", "--help"]

    def run() -> None:
        subprocess.run(cmd, check=True, capture_output=True)

    res = summarise(time_runs(run, repeat=repeat))
    res["command"] = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))
    return res


def bench_checks(data: Path, repeat: int) -> dict[str, Any]:
    """Load with the checks vs without, and the checks' share of a whole replay of the file."""
    import os
    import tempfile

    import polars as pl

    from hft.data.binance import import_binance
    from hft.data.events_io import (
        check_event_values,
        content_hash,
        frame_to_events,
        load_events,
        write_events,
    )
    from hft.sim.replay import ReplayConfig, run_replay

    src = [data / p for p in BINANCE_STREAMS["usdm_btcusdt"]]
    with tempfile.TemporaryDirectory() as tmp:
        bd = import_binance(src)
        f = write_events(Path(tmp) / "usdm.parquet", bd.events, bd.instrument, bd.meta)
        n = len(bd.events)
        ev = load_events(f).events
        df = pl.read_parquet(f)
        cols = {name: df.get_column(name).to_numpy() for name in df.columns}  # what load_events hashes
        checked, unchecked, hashing, kernel, replay = [], [], [], [], []
        for i in range(repeat + 1):  # interleaved; run 0 is the warm-up
            t = [time.perf_counter()]
            load_events(f)
            t.append(time.perf_counter())
            frame_to_events(pl.read_parquet(f), source=str(f))
            t.append(time.perf_counter())
            content_hash(cols)
            t.append(time.perf_counter())
            check_event_values(ev, str(f))
            t.append(time.perf_counter())
            if i < 4:  # a replay is long: at most 3 timed
                run_replay([f], "mm", ReplayConfig(), source=FILES)
            t.append(time.perf_counter())
            if i:
                checked.append(t[1] - t[0])
                unchecked.append(t[2] - t[1])
                hashing.append(t[3] - t[2])
                kernel.append(t[4] - t[3])
                if i < 4:
                    replay.append(t[5] - t[4])
    med = {k: float(np.median(v)) for k, v in (("load_checked", checked), ("load_unchecked", unchecked),
                                                ("content_hash", hashing), ("value_kernel", kernel),
                                                ("replay", replay))}
    checks = med["content_hash"] + med["value_kernel"]
    return {"events": n, "median_s": {k: round(v, 5) for k, v in med.items()},
            "checks_s": round(checks, 5), "checks_pct_of_load": round(100 * checks / med["load_unchecked"], 1),
            "checks_pct_of_replay": round(100 * checks / med["replay"], 2),
            "load_checked_vs_unchecked_pct": round(100 * (med["load_checked"] / med["load_unchecked"] - 1), 1),
            "runs": {"load": len(checked), "replay": len(replay)}, "load_avg": os.getloadavg()}


# --- vendor formats (Tardis, hftbacktest, DBN, tables) and hftbacktest's own converters ---------------------------
def bench_formats(data: Path | None, repeat: int, rows: int) -> dict[str, Any]:
    """Import throughput of every vendor format on files written from one synthetic market of `rows` updates
    (`tests/unit/data/vendor_samples.py`: the documented layouts), source rows/s (CSV lines, npz / DBN records);
    beside ours, hftbacktest's own converter on the SAME files where it has one (`tardis.convert` on the Tardis
    pair; `binancefutures.convert` on the usdm capture when ../shared/data is present), timed interleaved in one
    loop (ours, then the peer, each run) so machine load hits both alike: ``ratio`` is the peer's median time over
    ours, ``ratio_paired`` the median of each run's ratio to the peer's run right after it. The peer also corrects
    latency and event order and writes nothing; ours returns the read-only canonical array."""
    import os
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from hft.data.sources import open_market_data
    from tests.unit.data import vendor_samples as vs

    peer = _peer_available()
    tmp = Path(tempfile.mkdtemp(prefix="bench_formats."))
    m = vs.market(rows, seed=11)
    book, trades = vs.write_tardis(m, tmp)
    (tmp / "gz").mkdir()
    book_gz, trades_gz = vs.write_tardis(m, tmp / "gz", gz=True)
    snap, quotes = vs.write_tardis_snapshots(m, tmp, depth=25)
    npz = vs.write_hftbacktest(m, tmp / "btcusdt.npz")
    (tmp / "dbn").mkdir()
    dbn = vs.write_dbn(m, tmp / "dbn")
    table = vs.write_table(m, tmp)
    (tmp / "pq").mkdir()
    parquet = vs.write_table(m, tmp / "pq", parquet=True)

    def lines(p: Path) -> int:
        import gzip

        with (gzip.open(p, "rb") if p.name.endswith(".gz") else open(p, "rb")) as f:
            return sum(1 for _ in f) - 1

    cases: dict[str, tuple[list[Path], int]] = {
        "tardis_pair_csv": ([book, trades], lines(book) + lines(trades)),
        "tardis_pair_csv_gz": ([book_gz, trades_gz], lines(book) + lines(trades)),
        "tardis_book_snapshot_25": ([snap], lines(snap)),
        "tardis_quotes": ([quotes], lines(quotes)),
        "hftbacktest_npz": ([npz], len(np.load(npz)["data"])),
        "table_csv": ([table], lines(table)),
        "table_parquet": ([parquet], lines(table)),
    }
    for k in ("mbo", "mbp-10", "mbp-1", "trades"):
        import databento_dbn  # noqa: F401 - the bench needs it (dev extra)

        from hft.data.dbn import read_dbn

        cases[f"dbn_{k}"] = ([dbn[k]], len(read_dbn(dbn[k])[2]))
    peers: dict[str, Any] = {}
    if peer is not None:
        from hftbacktest.data.utils import tardis as peer_tardis

        def peer_tardis_run() -> None:
            with contextlib.redirect_stdout(sys.stderr):
                peer_tardis.convert([str(trades), str(book)])
        peers["tardis_pair_csv"] = peer_tardis_run
    if peer is not None and data is not None and (data / PEER_FILE).exists():
        from hftbacktest.data.utils import binancefutures

        from hft.data.binance import import_binance

        bfile = data / PEER_FILE
        n_lines = sum(import_binance([bfile]).meta["lines"])
        cases["binance_usdm_capture"] = ([bfile], n_lines)

        def peer_binance_run() -> None:
            with contextlib.redirect_stdout(sys.stderr):
                binancefutures.convert(str(bfile))
        peers["binance_usdm_capture"] = peer_binance_run
    times: dict[str, list[float]] = {k: [] for k in cases}
    ptimes: dict[str, list[float]] = {k: [] for k in peers}
    from bench_sim import _ours  # lazy: bench_sim imports this module

    events: dict[str, int] = {}
    snapshots = ("tardis_book_snapshot_25", "tardis_quotes", "dbn_mbp-10", "dbn_mbp-1")
    loops: dict[str, dict[str, list[float]]] = {k: {"idle": [], "mm": []} for k in snapshots}
    for r in range(repeat + 1):  # run 0 warms up (numba, file cache) and is not kept
        for name, (paths, _) in cases.items():
            t0 = time.perf_counter()
            md = open_market_data(paths)
            if r:
                times[name].append(time.perf_counter() - t0)
            events[name] = len(md.events)
            for strategy in loops.get(name, {}):  # the replay loop as bench_sim times ours (numba engine)
                wall = _ours(md, strategy, {"size": 1} if strategy == "mm" else {})[0]
                if r:
                    loops[name][strategy].append(wall)
            if name in peers:
                t0 = time.perf_counter()
                peers[name]()
                if r:
                    ptimes[name].append(time.perf_counter() - t0)
    out: dict[str, Any] = {"machine": machine_info(), "synthetic_updates": rows, "peer": f"hftbacktest {peer}" if peer else "not installed"}
    for name, (paths, n) in cases.items():
        res = summarise(times[name], n)
        res["rows"] = res.pop("items")
        res["rows_per_s"] = res.pop("per_s_median")
        res["rows_per_s_best"] = res.pop("per_s_best")
        res["bytes"] = sum(os.path.getsize(p) for p in paths)
        res["events"] = events[name]  # what a replay of the import runs through
        if name in loops:  # the replay loop of those events (`RunOutput.wall_s`), medians
            res["replay_loop_ms"] = {k: round(statistics.median(v) * 1e3, 2) for k, v in loops[name].items()}
        if name in ptimes:
            pr = summarise(ptimes[name], n)
            res["peer_rows_per_s"] = pr["per_s_median"]
            res["peer_median_s"] = pr["median_s"]
            res["ratio"] = round(res["rows_per_s"] / pr["per_s_median"], 3) if pr["per_s_median"] else None
            # each run against the peer's run right after it (the same moment's machine), then their median
            res["ratio_paired"] = round(statistics.median(p / o for o, p in zip(times[name], ptimes[name],
                                                                                 strict=True)), 3)
        out[name] = res
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return out


SECTIONS = ("binance", "l2", "lobster", "cli", "checks", "formats")
# the results file's key of each section's figures
_SECTION_KEYS = ("binance_import", "l2_rebuild", "lobster", "cli_startup", "event_file_checks", "formats")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per figure (median reported)")
    ap.add_argument("--quick", action="store_true", help="3 runs, one Binance stream")
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {SECTIONS}")
    ap.add_argument("--format-rows", type=int, default=200_000, help="formats: synthetic market updates")
    args = ap.parse_args(argv)
    repeat = 3 if args.quick else args.repeat
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}; expected some of {SECTIONS}")
    data = shared_data()
    result: dict[str, Any] = {"name": "bench_data", "machine": machine_info(), "repeat": repeat}
    for sec in sections:
        t0 = time.perf_counter()
        if sec == "cli":
            result["cli_startup"] = bench_cli_startup(repeat)
        elif sec == "formats":
            result["formats"] = bench_formats(data, repeat, args.format_rows)
        elif data is None:
            result[sec] = {"skipped": "../shared/data not present"}
        elif sec == "binance":
            result["binance_import"] = bench_binance_import(data, repeat, args.quick)
        elif sec == "l2":
            result["l2_rebuild"] = bench_l2_vs_peer(data, repeat)
        elif sec == "lobster":
            result["lobster"] = bench_lobster(data, repeat)
        elif sec == "checks":
            result["event_file_checks"] = bench_checks(data, repeat)
        print(f"{sec}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    # the sections not run this time keep their last figures, marked with the machine that measured them
    path = write_result("bench_data", carry_over(RESULT_PATH, result, _SECTION_KEYS))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
