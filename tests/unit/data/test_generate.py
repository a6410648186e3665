"""Synthetic LOBSTER day generator: format, determinism, book consistency (independent replay), statistics."""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import importlib
import os
import re
import subprocess
import sys
import zipfile
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError, DataError
from hft.data.generate import GeneratedDay, GeneratorConfig, generate_lobster_day

EMPTY_ASK = 9_999_999_999
EMPTY_BID = -9_999_999_999
TICK_UNITS = 100  # $0.01 in LOBSTER price units

# The shared fixture: a full 09:30–16:00 session, 5 levels, ~150k messages.
DAY_CONFIG = GeneratorConfig(seed=7, target_messages=150_000, levels=5)
# A short session for the repeated (determinism / property) runs.
SMALL = GeneratorConfig(seed=3, session_start=34_200, session_end=36_000, target_messages=8_000, levels=3)


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------


def read_messages(path: Path | bytes) -> tuple[np.ndarray, np.ndarray]:
    """(time ns after midnight, int64[n, 5] = type, id, size, price, direction), parsing the time exactly."""
    src = path if isinstance(path, Path) else __import__("io").BytesIO(path)
    df = pl.read_csv(src, has_header=False, new_columns=["t", "type", "id", "size", "price", "dir"],
                     schema_overrides={"t": pl.Utf8})
    parts = df["t"].str.split_exact(".", 1)
    sec = parts.struct.field("field_0").cast(pl.Int64).to_numpy()
    frac = parts.struct.field("field_1").str.pad_end(9, "0").cast(pl.Int64).to_numpy()
    rest = df.select("type", "id", "size", "price", "dir").to_numpy().astype(np.int64)
    return sec * 1_000_000_000 + frac, rest


def read_book(path: Path | bytes) -> np.ndarray:
    src = path if isinstance(path, Path) else __import__("io").BytesIO(path)
    return pl.read_csv(src, has_header=False).to_numpy().astype(np.int64)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ReferenceBook:
    """A deliberately simple pure-Python L3 book (dicts, deques, bisect): independent of the generator kernel.

    `apply` checks each message's validity against the book (ids, sizes, FIFO, no crossing) and raises
    AssertionError with the row number on the first violation.
    """

    def __init__(self, levels: int) -> None:
        self.levels = levels
        self.orders: dict[int, list[int]] = {}  # id -> [side, price, remaining]
        self.size: dict[int, dict[int, int]] = {1: {}, -1: {}}  # side -> price -> visible size
        self.queue: dict[tuple[int, int], deque[int]] = {}  # (side, price) -> FIFO of ids
        self.prices: dict[int, list[int]] = {1: [], -1: []}  # sorted ascending

    def best(self, side: int) -> int | None:
        p = self.prices[side]
        if not p:
            return None
        return p[-1] if side == 1 else p[0]

    def _level_delta(self, side: int, price: int, delta: int) -> None:
        lv = self.size[side]
        new = lv.get(price, 0) + delta
        assert new >= 0
        if new == 0:
            del lv[price]
            self.prices[side].pop(bisect.bisect_left(self.prices[side], price))
        else:
            if price not in lv:
                bisect.insort(self.prices[side], price)
            lv[price] = new

    def apply(self, row: int, mtype: int, oid: int, size: int, price: int, side: int) -> None:
        where = f"message row {row}: {(mtype, oid, size, price, side)}"
        assert size > 0, where
        assert side in (1, -1), where
        assert price % TICK_UNITS == 0, where
        if mtype == 1:
            assert oid not in self.orders, where
            opp = self.best(-side)
            if opp is not None:
                assert (price < opp) if side == 1 else (price > opp), f"submit would lock/cross: {where}"
            self.orders[oid] = [side, price, size]
            self.queue.setdefault((side, price), deque()).append(oid)
            self._level_delta(side, price, size)
        elif mtype in (2, 3, 4):
            assert oid in self.orders, f"unknown order: {where}"
            o = self.orders[oid]
            assert o[0] == side and o[1] == price, where
            if mtype == 2:
                assert size < o[2], where
            elif mtype == 3:
                assert size == o[2], f"delete size != remaining {o[2]}: {where}"
            else:
                assert size <= o[2], where
                assert price == self.best(side), f"execution away from the touch: {where}"
                assert self.queue[(side, price)][0] == oid, f"execution not FIFO: {where}"
            o[2] -= size
            self._level_delta(side, price, -size)
            if o[2] == 0:
                del self.orders[oid]
                q = self.queue[(side, price)]
                q.remove(oid)
                if not q:
                    del self.queue[(side, price)]
        elif mtype == 5:
            assert oid == 0, where
            bid, ask = self.best(1), self.best(-1)
            assert bid is not None and ask is not None and bid <= price <= ask, where
        else:
            raise AssertionError(f"unexpected type: {where}")

    def row(self) -> list[int]:
        out: list[int] = []
        asks = self.prices[-1][: self.levels]
        bids = self.prices[1][::-1][: self.levels]
        for k in range(self.levels):
            if k < len(asks):
                out += [asks[k], self.size[-1][asks[k]]]
            else:
                out += [EMPTY_ASK, 0]
            if k < len(bids):
                out += [bids[k], self.size[1][bids[k]]]
            else:
                out += [EMPTY_BID, 0]
        return out


def replay_and_compare(msgs: np.ndarray, book: np.ndarray, levels: int) -> None:
    """Replay every message in `ReferenceBook` and compare the book after it with the orderbook row."""
    ref = ReferenceBook(levels)
    expected = np.empty_like(book)
    for r, (mtype, oid, size, price, side) in enumerate(msgs.tolist()):
        ref.apply(r, mtype, oid, size, price, side)
        expected[r] = ref.row()
    bad = np.flatnonzero((expected != book).any(axis=1))
    assert bad.size == 0, f"{bad.size} rows differ, first at row {bad[0]}: {book[bad[0]]} vs {expected[bad[0]]}"


def check_book_invariants(book: np.ndarray) -> None:
    """Never crossed or locked; levels strictly ordered; sizes > 0 on used levels; sentinels consistent."""
    ask_px, ask_sz, bid_px, bid_sz = book[:, 0::4], book[:, 1::4], book[:, 2::4], book[:, 3::4]
    ask_empty, bid_empty = ask_px == EMPTY_ASK, bid_px == EMPTY_BID
    assert np.all(ask_sz[~ask_empty] > 0) and np.all(bid_sz[~bid_empty] > 0)
    assert np.all(ask_sz[ask_empty] == 0) and np.all(bid_sz[bid_empty] == 0)
    # once a level is empty, all deeper ones are
    assert np.all(~ask_empty[:, :-1] | ask_empty[:, 1:]) and np.all(~bid_empty[:, :-1] | bid_empty[:, 1:])
    # strictly increasing asks / decreasing bids among used levels
    assert np.all((np.diff(ask_px, axis=1) > 0) | ask_empty[:, 1:])
    assert np.all((np.diff(bid_px, axis=1) < 0) | bid_empty[:, 1:])
    both = ~ask_empty[:, 0] & ~bid_empty[:, 0]
    assert np.all(ask_px[both, 0] > bid_px[both, 0]), "crossed or locked book"


# ---------------------------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDay:
    return generate_lobster_day(tmp_path_factory.mktemp("gen"), DAY_CONFIG)


@pytest.fixture(scope="module")
def day_data(day: GeneratedDay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    assert day.message_path is not None and day.orderbook_path is not None
    t, msgs = read_messages(day.message_path)
    return t, msgs, read_book(day.orderbook_path)


# ---------------------------------------------------------------------------------------------------------------
# format
# ---------------------------------------------------------------------------------------------------------------


def test_file_names_and_result(day: GeneratedDay) -> None:
    assert day.message_path is not None and day.orderbook_path is not None
    assert day.message_path.name == "SYNTH_2024-06-21_34200000_57600000_message_5.csv"
    assert day.orderbook_path.name == "SYNTH_2024-06-21_34200000_57600000_orderbook_5.csv"
    assert day.zip_path is None and day.seed == 7
    assert sum(day.counts_by_type.values()) == day.message_count
    assert set(day.counts_by_type) == {1, 2, 3, 4, 5}
    assert sorted(p.name for p in day.message_path.parent.iterdir()) == sorted(p.name for p in day.paths)


def test_summary_counts_by_kind_as_inspect_counts_the_file(day: GeneratedDay) -> None:
    """The summary counts messages by event kind name, the names and counts `hft data inspect` finds in the file
    (not LOBSTER's type numbers)."""
    from hft.data.inspect import inspect_files

    assert day.message_path is not None
    counts = day.to_dict()["counts"]
    assert list(counts) == ["add", "cancel", "delete", "exec", "hidden_exec"]
    assert counts == inspect_files([day.message_path])["counts"]


def test_lobster_text_conventions(day: GeneratedDay) -> None:
    assert day.message_path is not None and day.orderbook_path is not None
    with open(day.message_path) as f:
        head = [next(f) for _ in range(2000)]
    row = re.compile(r"^\d{5}\.\d{9},[1-5],\d+,[1-9]\d*,[1-9]\d*00,(1|-1)\n$")
    assert all(row.match(line) for line in head), head[:3]
    with open(day.orderbook_path) as f:
        first = f.readline()
    assert first.count(",") == 4 * 5 - 1 and first.endswith("\n") and "\r" not in first


def test_row_counts_equal(day: GeneratedDay, day_data) -> None:
    t, msgs, book = day_data
    assert len(t) == len(msgs) == len(book) == day.message_count
    assert book.shape[1] == 4 * DAY_CONFIG.levels


def test_message_count_near_target(day: GeneratedDay) -> None:
    assert 0.9 * DAY_CONFIG.target_messages <= day.message_count <= 1.1 * DAY_CONFIG.target_messages


def test_times_inside_session_and_non_decreasing(day_data) -> None:
    t, msgs, _ = day_data
    assert np.all(np.diff(t) >= 0)
    assert t[0] >= 34_200 * 10**9 and t[-1] < 57_600 * 10**9
    assert np.all(msgs[:, 2] > 0)  # sizes positive


# ---------------------------------------------------------------------------------------------------------------
# book consistency
# ---------------------------------------------------------------------------------------------------------------


def test_book_never_crossed(day_data) -> None:
    check_book_invariants(day_data[2])


def test_orderbook_rows_match_independent_replay(day_data) -> None:
    _, msgs, book = day_data
    replay_and_compare(msgs, book, DAY_CONFIG.levels)


def test_preopen_book_hides_opening_orders(tmp_path: Path) -> None:
    cfg = GeneratorConfig(seed=5, session_end=37_800, target_messages=20_000, levels=10, preopen_book=True)
    d = generate_lobster_day(tmp_path, cfg)
    assert d.message_path is not None and d.orderbook_path is not None
    _, msgs = read_messages(d.message_path)
    book = read_book(d.orderbook_path)
    check_book_invariants(book)
    # the first row already shows a full book that no message built
    assert np.all(book[0, 0::4] != EMPTY_ASK) and np.all(book[0, 2::4] != EMPTY_BID)
    submitted = set(msgs[msgs[:, 0] == 1, 1].tolist())
    touched = set(msgs[np.isin(msgs[:, 0], (2, 3, 4)), 1].tolist())
    assert touched - submitted, "some cancels/executions should refer to orders resting before the open"


# ---------------------------------------------------------------------------------------------------------------
# statistics (documented ranges, see hft.data.generate)
# ---------------------------------------------------------------------------------------------------------------


def test_message_type_shares(day: GeneratedDay) -> None:
    n = day.message_count
    share = {k: v / n for k, v in day.counts_by_type.items()}
    assert 0.40 <= share[1] <= 0.52, share
    assert 0.30 <= share[2] + share[3] <= 0.46, share
    assert 0.008 <= share[2] <= 0.04, share
    assert 0.08 <= share[4] + share[5] <= 0.25, share
    assert 0.004 <= share[5] <= 0.03, share


def test_spread_mostly_one_to_three_ticks(day_data) -> None:
    book = day_data[2]
    both = (book[:, 0] != EMPTY_ASK) & (book[:, 2] != EMPTY_BID)
    assert both.mean() > 0.999
    spread = (book[both, 0] - book[both, 2]) // TICK_UNITS
    assert np.mean((spread >= 1) & (spread <= 3)) >= 0.95
    assert np.mean(spread == 1) >= 0.5


def test_depth_profile_decays_away_from_touch(day_data) -> None:
    book = day_data[2]
    full = np.all(book[:, 0::4] != EMPTY_ASK, axis=1) & np.all(book[:, 2::4] != EMPTY_BID, axis=1)
    depth = (book[full][:, 1::4] + book[full][:, 3::4]).mean(axis=0)
    assert depth[1] > depth[-1] and np.all(np.diff(depth[1:]) < 0), depth


def test_intraday_intensity_is_u_shaped(day_data) -> None:
    t = day_data[0]
    counts = np.histogram(t, bins=13, range=(34_200e9, 57_600e9))[0]
    midday = np.median(counts[4:9])
    assert counts[0] >= 1.4 * midday and counts[-1] >= 1.4 * midday, counts
    assert counts[0] > counts[2] and counts[-1] > counts[-3], counts


def test_price_moves_but_stays_plausible(day_data) -> None:
    book = day_data[2]
    both = (book[:, 0] != EMPTY_ASK) & (book[:, 2] != EMPTY_BID)
    mid = (book[both, 0] + book[both, 2]) / 2 / 10_000
    assert np.ptp(mid) >= 0.05  # it moves at least 5 ticks over the day
    assert mid.min() > 40 and mid.max() < 60


# ---------------------------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------------------------


def test_same_seed_byte_identical(tmp_path: Path) -> None:
    a = generate_lobster_day(tmp_path / "a", SMALL)
    b = generate_lobster_day(tmp_path / "b", SMALL)
    assert a.message_path and b.message_path and a.orderbook_path and b.orderbook_path
    assert sha(a.message_path) == sha(b.message_path)
    assert sha(a.orderbook_path) == sha(b.orderbook_path)
    assert a.counts_by_type == b.counts_by_type


def test_other_seed_differs(tmp_path: Path) -> None:
    a = generate_lobster_day(tmp_path / "a", SMALL)
    b = generate_lobster_day(tmp_path / "b", dataclasses.replace(SMALL, seed=4))
    assert a.message_path and b.message_path
    assert sha(a.message_path) != sha(b.message_path)


def test_byte_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    local = generate_lobster_day(tmp_path / "local", SMALL, zip_output=True)
    assert local.zip_path is not None
    code = (
        "import sys; from pathlib import Path\n"
        "from hft.data.generate import GeneratorConfig, generate_lobster_day\n"
        f"d = generate_lobster_day(Path(sys.argv[1]), GeneratorConfig(seed={SMALL.seed}, session_start="
        f"{SMALL.session_start}, session_end={SMALL.session_end}, target_messages={SMALL.target_messages}, "
        f"levels={SMALL.levels}), zip_output=True)\n"
        "print(d.zip_path)\n"
    )
    root = Path(__file__).resolve().parents[3]
    for hash_seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / f"p{hash_seed}")], env=env, cwd=root,
                             capture_output=True, text=True, check=True)
        assert sha(Path(out.stdout.strip())) == sha(local.zip_path)


# ---------------------------------------------------------------------------------------------------------------
# zip output
# ---------------------------------------------------------------------------------------------------------------


def test_zip_holds_the_same_files(tmp_path: Path) -> None:
    plain = generate_lobster_day(tmp_path / "plain", SMALL)
    zipped = generate_lobster_day(tmp_path / "zip", SMALL, zip_output=True)
    assert zipped.zip_path is not None and zipped.message_path is None and zipped.orderbook_path is None
    assert zipped.zip_path.name == "SYNTH_2024-06-21_34200000_36000000_3.zip"
    assert [p.name for p in (tmp_path / "zip").iterdir()] == [zipped.zip_path.name]
    assert plain.message_path and plain.orderbook_path
    with zipfile.ZipFile(zipped.zip_path) as zf:
        assert zf.namelist() == [plain.message_path.name, plain.orderbook_path.name]
        assert zf.read(plain.message_path.name) == plain.message_path.read_bytes()
        assert zf.read(plain.orderbook_path.name) == plain.orderbook_path.read_bytes()
    assert zipped.counts_by_type == plain.counts_by_type


# ---------------------------------------------------------------------------------------------------------------
# property test: invariants for any seed / shape
# ---------------------------------------------------------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**64 - 1), levels=st.integers(1, 12), minutes=st.integers(2, 40),
       per_minute=st.integers(100, 1_500), start=st.sampled_from([34_200, 36_000, 50_000]))
def test_invariants_hold_for_any_seed(tmp_path_factory: pytest.TempPathFactory, seed: int, levels: int,
                                      minutes: int, per_minute: int, start: int) -> None:
    cfg = GeneratorConfig(seed=seed, levels=levels, session_start=start, session_end=start + 60 * minutes,
                          target_messages=max(1_000, minutes * per_minute))
    d = generate_lobster_day(tmp_path_factory.mktemp("prop"), cfg)
    assert d.message_path and d.orderbook_path
    t, msgs = read_messages(d.message_path)
    book = read_book(d.orderbook_path)
    assert len(t) == len(book) == d.message_count
    assert np.all(np.diff(t) >= 0) and t[0] >= start * 10**9 and t[-1] < cfg.session_end * 10**9
    check_book_invariants(book)
    replay_and_compare(msgs, book, levels)


# ---------------------------------------------------------------------------------------------------------------
# configuration and failures
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"symbol": "BAD_SYM"}, {"symbol": ""}, {"date": "2024-13-01"}, {"date": "20240621"},
    {"session_start": 57_600, "session_end": 34_200}, {"session_end": 90_000}, {"levels": 0},
    {"target_messages": 10}, {"start_price": "50.005"}, {"start_price": "1.00"}, {"tick_size": "0.00001"},
    {"tick_size": "abc"}, {"daily_volatility": 0.0}, {"seed": -1},
])
def test_bad_config_is_a_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match="expected"):
        GeneratorConfig(**kwargs)


@pytest.mark.parametrize(("start", "tick", "ok"), [
    ("999918.07", "0.01", True),  # the grid's top price: (99991807 + 8191) x 100 = 9999999800 units
    ("999918.09", "0.01", False),  # 10000000000 units: at the empty-level marker
    ("200000000000000", "1000000000000", False),  # 1e16 units a tick: the grid's prices would pass int64
])
def test_prices_stay_below_the_empty_level_marker(start: str, tick: str, ok: bool) -> None:
    """Every price the kernel writes is (base + grid index) x units per tick: bounded at the config, below the
    LOBSTER marker of an empty level (a price there would read as no level), so it never overflows int64."""
    if ok:
        GeneratorConfig(start_price=start, tick_size=tick)
        return
    with pytest.raises(ConfigError, match=r"generator start_price: expected prices below 9999999999 LOBSTER units"):
        GeneratorConfig(start_price=start, tick_size=tick)


def test_unwritable_output_is_a_data_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="expected a writable output directory"):
        generate_lobster_day(blocker / "sub", SMALL)
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.parametrize("zip_output", [False, True])
def test_failure_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zip_output: bool) -> None:
    import hft.data._genkernel as kernel
    import hft.data.generate as gen

    if zip_output:
        def boom_zip(*_a: object, **_k: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(gen, "_write_zip", boom_zip)
        expected: type[Exception] = DataError
    else:
        def boom_format(*_a: object) -> int:  # the message chunk is already written by then
            raise RuntimeError("killed mid-run")

        monkeypatch.setattr(kernel, "format_book", boom_format)
        expected = RuntimeError
    with pytest.raises(expected):
        generate_lobster_day(tmp_path, SMALL, zip_output=zip_output)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------------------
# the LOBSTER importer and verifier (other modules) accept the generated day
# ---------------------------------------------------------------------------------------------------------------


def _lobster_modules() -> tuple[Any, Any]:
    try:
        lobster = importlib.import_module("hft.data.lobster")
        verify = importlib.import_module("hft.data.verify_lobster")
        return lobster.import_lobster, verify.verify_lobster
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"hft.data.lobster.import_lobster / hft.data.verify_lobster.verify_lobster not available "
                    f"yet ({exc})")


@pytest.mark.parametrize("variant", ["csv", "zip", "preopen"])
def test_generated_day_imports_and_verifies(tmp_path: Path, variant: str) -> None:
    import_lobster, verify_lobster = _lobster_modules()
    cfg = GeneratorConfig(seed=11, session_end=39_600, target_messages=30_000, levels=10,
                          preopen_book=variant == "preopen")
    d = generate_lobster_day(tmp_path, cfg, zip_output=variant == "zip")
    src = d.zip_path if variant == "zip" else d.message_path
    assert src is not None
    result = verify_lobster(import_lobster(src))
    assert result["mismatches"] == 0, result
    assert result["checked"] == d.message_count, result
