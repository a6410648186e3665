"""Researchers' own data through the real `hft` console script: replay of an hftbacktest .npz and of a Tardis CSV
pair, verify / inspect of every vendor format, and one-line errors for malformed files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.data import vendor_samples as vs

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    f = tmp_path_factory.mktemp("vendor_cli")
    m = vs.market(600, seed=5)
    book, trades = vs.write_tardis(m, f, gz=True)
    (f / "dbn").mkdir()
    return {"book": book, "trades": trades, "npz": vs.write_hftbacktest(m, f / "btcusdt.npz"),
            "table": vs.write_table(m, f), "mbo": vs.write_dbn(m, f / "dbn")["mbo"]}


def test_replay_hftbacktest_npz(hft, files):
    r = hft("replay", "--data", str(files["npz"]), "-s", "mm", "--no-store", "--json")
    assert r.code == 0, r.err
    s = r.json()
    assert s["venue"] == "HFTBACKTEST" and s["book_level"] == "L2" and s["events"] > 600 and s["orders"] > 0


def test_replay_tardis_pair(hft, files):
    r = hft("replay", "-d", str(files["book"]), "-d", str(files["trades"]), "-s", "imbalance_taker", "--no-store",
            "--json")
    assert r.code == 0, r.err
    s = r.json()
    assert s["symbol"] == "BTCUSDT" and s["venue"] == "TARDIS_BINANCE-FUTURES" and s["events"] > 600


@pytest.mark.parametrize("which", [("book", "trades"), ("npz",), ("table",), ("mbo",)])
def test_verify_and_inspect(hft, files, which):
    paths = [str(files[w]) for w in which]
    v = hft("data", "verify", *paths, "--json")
    assert v.code == 0, v.err
    assert v.json()["ok"] and v.json()["crossed"] == 0 and v.json()["out_of_order"] == 0
    i = hft("data", "inspect", *paths, "--json")
    assert i.code == 0, i.err
    assert i.json()["events"] > 600 and i.json()["crossed"] == 0
    assert i.json()["trades"] > 0 or which == ("mbo",)  # the MBO sample holds book events only


def test_import_then_replay_the_event_file(hft, files, tmp_path):
    out = tmp_path / "btc.parquet"
    r = hft("data", "import", str(files["table"]), "--format", "table", "-o", str(out), "--json")
    assert r.code == 0, r.err
    assert r.json()["kind"] == "table" and out.exists()
    assert hft("data", "verify", str(out), "--json").json()["ok"]


def test_malformed_files_are_one_line_errors(hft, tmp_path, files):
    bad = tmp_path / "book.csv"
    bad.write_text("exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
                   "x,BTCUSDT,1,2,false,bid,1.5,1\nx,BTCUSDT,3,4,false,bid,one,1\n")
    r = hft("data", "verify", str(bad))
    assert r.code == 12 and "Traceback" not in r.err
    assert r.err.splitlines()[0] == f"error: {bad}: row 3, field 'price': expected a number, was 'one'"
    wrong = hft("data", "inspect", str(files["table"]), "--format", "hftbacktest")
    assert wrong.code == 12 and "expected an hftbacktest .npz" in wrong.err and "Traceback" not in wrong.err
    unknown = hft("replay", "-d", str(tmp_path / "nothing.bin"), "--no-store")
    assert unknown.code == 12 and "none exists" in unknown.err


def test_replay_format_and_mapping_flags(hft, tmp_path):
    """``hft replay --format/--mapping`` choose the importer as ``hft data import`` does: a table without its
    mapping beside it replays with ``--mapping``; a wrong ``--format`` is a one-line data error."""
    m = vs.market(300, seed=9)
    table = vs.write_table(m, tmp_path, sidecar=False)
    mapping = tmp_path / "elsewhere.yaml"
    mapping.write_text(vs.MAPPING)
    r = hft("replay", "-d", str(table), "--format", "table", "--mapping", str(mapping), "-s", "mm", "--no-store",
            "--json")
    assert r.code == 0, r.err
    s = r.json()
    assert s["symbol"] == "XYZ" and s["events"] > 300
    imported = hft("data", "import", str(table), "--format", "table", "--mapping", str(mapping), "-o",
                   str(tmp_path / "xyz.parquet"), "--json")
    assert imported.code == 0, imported.err
    same = hft("replay", "-d", str(tmp_path / "xyz.parquet"), "-s", "mm", "--no-store", "--json")
    assert same.json()["run_hash"] == s["run_hash"] and same.json()["data_hash"] == s["data_hash"]
    wrong = hft("replay", "-d", str(table), "--format", "hftbacktest", "--no-store")
    assert wrong.code == 12 and "Traceback" not in wrong.err
    assert len(wrong.err.splitlines()) <= 2 and "expected an hftbacktest .npz" in wrong.err
    unknown = hft("replay", "-d", str(table), "--format", "nope", "--no-store")
    assert unknown.code != 0 and "Traceback" not in unknown.err and "nope" in unknown.err.splitlines()[0]


def test_own_format_named_by_file(hft, tmp_path):
    """docs/extending.md's format, not installed: ``--format FILE.py:OBJECT`` (the plugin loader's route) reads
    it for inspect, import and replay; a wrong spec is one line with the data family's exit code."""
    from tests.unit.test_extending_doc import _block

    (tmp_path / "mini_format.py").write_text(_block("def open_mini"))
    data = tmp_path / "trades.mini"
    data.write_text("#mini-trades v1\n" + "".join(f"{1000 * i} {'BS'[i % 2]} {10050 - i % 3} 1\n" for i in range(1, 60)))
    spec = f"{tmp_path / 'mini_format.py'}:MINI"
    r = hft("data", "inspect", str(data), "--format", spec, "--json")
    assert r.code == 0, r.err
    assert "TRADES" in r.out and "59" in r.out
    out = tmp_path / "trades.parquet"
    r = hft("data", "import", str(data), "--format", spec, "--out", str(out), "--json")
    assert r.code == 0 and out.exists(), r.err
    r = hft("replay", "-d", str(data), "--format", spec, "-s", "twap", "--no-store", "--json")
    assert r.code == 0 and r.json()["symbol"] == "TRADES", r.err
    for bad, says in ((f"{tmp_path / 'none.py'}:MINI", "expected a Python file"),
                      (f"{tmp_path / 'mini_format.py'}:sniff", "expected a hft.data.formats.DataFormat, was function"),
                      (f"{tmp_path / 'mini_format.py'}:NOPE", "expected a DataFormat 'NOPE'")):
        r = hft("data", "inspect", str(data), "--format", bad)
        assert r.code == 12 and says in r.err and "Traceback" not in r.err, (bad, r.code, r.err)
        assert len([ln for ln in r.err.splitlines() if ln.startswith("error:")]) == 1


def test_replay_hftbacktest_days_is_one_instrument(hft, tmp_path):
    """README's naming (``<symbol>_<YYYYMMDD>.npz``): two files are two days (sessions) of BTCUSDT, not two
    instruments."""
    m = vs.market(300, seed=7)
    d1 = vs.write_hftbacktest(m, tmp_path / "btcusdt_20240809.npz")
    arr = np.load(d1)["data"].copy()
    arr["exch_ts"] += 86_400 * 10**9
    arr["local_ts"] += 86_400 * 10**9
    d2 = tmp_path / "btcusdt_20240810.npz"
    np.savez_compressed(d2, data=arr)
    r = hft("replay", "-d", str(d1), "-d", str(d2), "-s", "mm", "--no-store", "--json")
    assert r.code == 0, r.err
    s = r.json()
    assert s["symbol"] == "BTCUSDT" and len(s["days"]) == 2 and "legs" not in s


def test_replay_tardis_book_and_trades_imported_apart(hft, files, tmp_path):
    """A book file and a trades file imported one by one replay as the pair imported together (one stream)."""
    outs = {}
    for name, srcs in (("book", [files["book"]]), ("trades", [files["trades"]]),
                       ("both", [files["book"], files["trades"]])):
        outs[name] = tmp_path / f"{name}.parquet"
        r = hft("data", "import", *map(str, srcs), "-o", str(outs[name]), "--json")
        assert r.code == 0, r.err
    apart = hft("replay", "-d", str(outs["book"]), "-d", str(outs["trades"]), "-s", "mm", "--no-store", "--json")
    assert apart.code == 0, apart.err
    together = hft("replay", "-d", str(outs["both"]), "-s", "mm", "--no-store", "--json")
    assert apart.json()["run_hash"] == together.json()["run_hash"] and apart.json()["orders"] > 0


def test_inspect_and_verify_several_lobster_days(hft, tmp_path, lobster_day):
    """``FILES...`` of LOBSTER days: each one inspected / verified and reported on its own."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = lobster_day.write(tmp_path / "a")
    b = lobster_day.write(tmp_path / "b", stem="OTHER_2012-06-22_34200000_57600000")
    for cmd in ("inspect", "verify"):
        r = hft("data", cmd, str(a), str(b), "--json")
        assert r.code == 0, r.err
        assert r.json()["ok"] and [s["files"] for s in r.json()["streams"]] == [[str(a)], [str(b)]]
        text = hft("data", cmd, str(a), str(b))
        assert text.code == 0 and f"{cmd} {a}" in text.out.replace("\n", "") and "OTHER" in text.out


def _one_line_error(r, tmp_path: Path, before: set[Path]) -> str:
    """The run failed with exit 12, one line on stderr and no traceback, and wrote nothing: that line."""
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert r.code == 12 and len(lines) == 1 and "Traceback" not in r.err, (r.code, r.err)
    assert set(tmp_path.rglob("*")) == before, "no partial output may be left behind"
    return lines[0]


def test_bad_rows_are_named_where_a_person_finds_them(hft, tmp_path, lobster_day):
    """The file's line (LOBSTER: a zip's member; Binance: the capture's line), a DBN record and its byte offset, the
    field and the value as written, on one line from `data import` / `data verify` / `replay` / `data inspect`."""
    from tests.unit.data.test_binance import trade, usdm_lines, write

    msgs = list(lobster_day.messages)
    msgs[5] = "34204.1234567895,3,12,50,1000300,2"
    z = lobster_day.zip(tmp_path, msgs)
    out = tmp_path / "out.parquet"
    before = set(tmp_path.rglob("*"))
    r = hft("data", "import", str(z), "-o", str(out))
    assert _one_line_error(r, tmp_path, before) == (
        f"error: {z}:{lobster_day.stem}_message_2.csv: row 6, field 'direction': expected 1 (buy) or -1 (sell), "
        "was '2'")

    msgs[5] = "34204.1234567895,3,12,40,1000300,-1"  # well formed, but the book after it is not the orderbook's
    z = lobster_day.zip(tmp_path, msgs)
    before = set(tmp_path.rglob("*"))
    r = hft("data", "verify", str(z))
    member = f"{z}:{lobster_day.stem}"
    assert _one_line_error(r, tmp_path, before) == (
        f"error: verify failed: 1 book row differs from the orderbook file, the first at {member}_orderbook_2.csv: "
        f"row 6 (the book after {member}_message_2.csv: row 6): field 'ask_px_1 (column 1)' expected 1000500, "
        "found 1000300 (and 3 more fields)")

    lines = usdm_lines()
    lines[3] = trade(1001, 7, "100.00", "0.005", maker=True)  # before the snapshot's time (1002)
    cap = write(tmp_path / "usdm" / "btcusdt_20240808.gz", lines)  # times too short to be recognised: --format
    before = set(tmp_path.rglob("*"))
    r = hft("replay", "-d", str(cap), "--format", "binance", "-s", "mm", "--no-store", "--out", str(tmp_path / "run"))
    assert _one_line_error(r, tmp_path, before) == (
        f"error: {cap}: row 4, field 'local_receive_ts_ns': expected lines in local time order (>= 1002, the "
        "stream's time before it), was '1001'")

    from hft.data.dbn import read_dbn

    (tmp_path / "dbn").mkdir()
    p = vs.write_dbn(vs.market(60, seed=3), tmp_path / "dbn")["mbp-1"]
    _, _, rec, start = read_dbn(p)
    raw = bytearray(p.read_bytes())
    raw[start + 2 * rec.dtype.itemsize + rec.dtype.fields["side"][1]] = ord("X")
    p.write_bytes(bytes(raw))
    before = set(tmp_path.rglob("*"))
    r = hft("data", "inspect", str(p))
    assert _one_line_error(r, tmp_path, before) == (
        f"error: {p}: record 3 (byte {start + 2 * rec.dtype.itemsize}), field 'side': expected B, A or N, was 'X'")


@pytest.mark.parametrize(("which", "keep", "what"), [
    ("npz", 0.5, "an .npz (zip) archive, but truncated or damaged: no end-of-archive directory (the file is cut "
                 "short?)"),
    ("npz", 0.01, "an .npz (zip) archive, but truncated or damaged: no end-of-archive directory (the file is cut "
                  "short?)"),
    ("book", 0.5, "a gzip file, but truncated or damaged: the stream ends before its end-of-stream marker (the "
                  "file is cut short?)"),
    ("book", 0.001, "a gzip file, but truncated or damaged: the stream ends before its end-of-stream marker (the "
                    "file is cut short?)"),
])
def test_an_archive_cut_short_says_so(hft, files, tmp_path, which, keep, what):
    """A zip (.npz) or gzip cut short is named as such in one line, recognised by its content or named with
    --format: not "none recognised its content" with a hint, nor "not an .npz"."""
    raw = files[which].read_bytes()
    cut = tmp_path / f"cut_{files[which].name}"
    cut.write_bytes(raw[: max(4, int(len(raw) * keep))])
    fmt = "hftbacktest" if which == "npz" else "tardis"
    for extra in ((), ("--format", fmt)):
        before = set(tmp_path.rglob("*"))
        r = hft("data", "verify", str(cut), *extra)
        assert _one_line_error(r, tmp_path, before) == f"error: {cut}: {what}"


def test_a_stream_without_a_book_says_so(hft, files, tmp_path):
    """A Tardis trades file alone holds no order book: verify and inspect still succeed, but say so in one
    ``warning:`` line (and in ``warnings`` of --json); with its book file beside it nothing is said."""
    for cmd in ("verify", "inspect"):
        r = hft("data", cmd, str(files["trades"]), "--json")
        assert r.code == 0, r.err
        want = f"{files['trades'].name}: no order book in this data (it holds "
        assert [ln for ln in r.err.splitlines() if ln.strip()] == [f"warning: {r.json()['warnings'][0]}"]
        assert r.json()["warnings"][0].startswith(want) and "trade events" in r.json()["warnings"][0]
        both = hft("data", cmd, str(files["book"]), str(files["trades"]), "--json")
        assert both.code == 0 and "warning" not in both.err and "warnings" not in both.json()
    r = hft("replay", "-d", str(files["trades"]), "-s", "mm", "--no-store", "--json")
    assert r.code == 0, r.err
    notice = [w for w in r.json()["warnings"] if "no order book" in w]
    assert len(notice) == 1 and notice[0].startswith(want) and f"warning: {notice[0]}" in r.err.splitlines()


def test_tardis_days_raw_and_imported_are_one_stream(hft, tmp_path):
    """Two days of Tardis book + trades files, raw (given in any order) or imported into one event file: one
    stream, one session, the same run hash; imported a day at a time they are two days (sessions). A missing day
    is a one-line data error naming the file."""
    pairs = [vs.write_tardis(vs.market(400, seed=20 + k), tmp_path, gz=True, day=k) for k in range(2)]
    files = [str(p) for pair in pairs for p in pair]
    raw = hft("replay", *[a for f in reversed(files) for a in ("-d", f)], "-s", "mm", "--no-store", "--json")
    assert raw.code == 0, raw.err
    s = raw.json()
    assert "days" not in s and s["orders"] > 0 and s["currency"] == "USDT" and "warnings" not in s
    one = tmp_path / "two_days.parquet"
    imp = hft("data", "import", *files, "-o", str(one), "--json")
    assert imp.code == 0, imp.err
    assert imp.json()["events"] == s["events"]
    imported = hft("replay", "-d", str(one), "-s", "mm", "--no-store", "--json")
    assert imported.code == 0, imported.err
    assert imported.json()["run_hash"] == s["run_hash"] and "days" not in imported.json()
    apart = []
    for k, pair in enumerate(pairs):
        apart.append(tmp_path / f"day{k}.parquet")
        assert hft("data", "import", *map(str, pair), "-o", str(apart[-1]), "--json").code == 0
    by_day = hft("replay", "-d", str(apart[0]), "-d", str(apart[1]), "-s", "mm", "--no-store", "--json")
    assert by_day.code == 0, by_day.err
    assert len(by_day.json()["days"]) == 2
    (tmp_path / "gap").mkdir()
    later = vs.write_tardis(vs.market(50, seed=30), tmp_path / "gap", gz=True, day=3)
    gap = hft("replay", "-d", str(pairs[0][0]), "-d", str(later[0]), "-s", "mm", "--no-store")
    assert gap.code == 12 and "Traceback" not in gap.err
    assert gap.err.splitlines()[0] == (f"error: {later[0]}: expected the book file of 2024-08-10, the day after "
                                       f"{pairs[0][0].name} (a chain of daily Tardis files has no gap), was of "
                                       "2024-08-12: 2 days missing")


def test_replay_of_a_solusdt_file_is_in_usdt(hft, tmp_path):
    """A DBN file of SOLUSDT replays in USDT, its quote asset (no guessed USD, no warning)."""
    sol = vs.write_dbn(vs.market(300, seed=4), tmp_path, symbol="SOLUSDT")["mbp-10"]
    r = hft("replay", "-d", str(sol), "-s", "mm", "--no-store", "--json")
    assert r.code == 0, r.err
    s = r.json()
    assert (s["symbol"], s["currency"], s["quote_currency"]) == ("SOLUSDT", "USDT", "USDT")
    assert "warnings" not in s and "guessed" not in r.err
