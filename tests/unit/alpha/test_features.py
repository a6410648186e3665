"""Features: book replay / reference states, event and clock sampling, no lookahead, forward returns, cache."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hft.alpha.research import features as F
from hft.alpha.research.features import FeatureSpec, compute_features, is_feature_name
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_EXEC,
    EV_LEVEL_SET,
    EV_TRADE,
    FLAG_EOM,
    SELL,
    empty_events,
)
from hft.core.errors import ConfigError, DataValidationError
from hft.core.instrument import Instrument
from hft.data.sources import FILES, MarketData, open_market_data

MS = 1_000_000
T0 = 1_700_000_000_000_000_000  # a whole second (ns)


def l2_stream(rows: list[tuple]) -> MarketData:
    """rows: (ts, kind, side, price, qty, eom)."""
    ev = empty_events(len(rows))
    for i, (ts, kind, side, price, qty, eom) in enumerate(rows):
        ev[i] = (ts, ts, price, qty, 0, i, kind, side, FLAG_EOM if eom else 0)
    inst = Instrument(symbol="TEST", venue="SYNTH", tick_size="0.01", lot_size="1", book_level="L2")
    return MarketData("events", ev, inst)


# a hand-made L2 stream: the book after each message (EOM) is noted on the right
HAND = [
    (T0 + 10 * MS, EV_LEVEL_SET, BUY, 100, 10, False),
    (T0 + 10 * MS, EV_LEVEL_SET, SELL, 102, 30, True),   # r0 @10ms: 100x10 | 102x30
    (T0 + 50 * MS, EV_LEVEL_SET, BUY, 99, 5, True),      # r1 @50ms: + bid 99x5
    (T0 + 120 * MS, EV_TRADE, BUY, 102, 7, False),       # aggressive buy 7
    (T0 + 120 * MS, EV_LEVEL_SET, SELL, 102, 23, True),  # r2 @120ms: ask 102x23
    (T0 + 150 * MS, EV_TRADE, SELL, 100, 4, False),      # aggressive sell 4
    (T0 + 150 * MS, EV_LEVEL_SET, BUY, 100, 6, True),    # r3 @150ms: bid 100x6
    (T0 + 320 * MS, EV_LEVEL_SET, BUY, 101, 8, True),    # r4 @320ms: bid 101x8 (improves)
    (T0 + 400 * MS, EV_LEVEL_SET, SELL, 102, 0, True),   # r5 @400ms: ask empty → mid null
    (T0 + 410 * MS, EV_LEVEL_SET, SELL, 103, 9, True),   # r6 @410ms: ask 103x9
]


def test_event_time_on_hand_made_stream():
    df = compute_features(l2_stream(HAND), FeatureSpec(levels=2, horizons=(1, 2)), cache=False)
    assert df.height == 7
    assert df["src_row"].to_list() == [1, 2, 4, 6, 7, 8, 9]
    assert df["ts"].to_list() == [T0 + m * MS for m in (10, 50, 120, 150, 320, 400, 410)]
    assert df["bid_px_1"].to_list() == [100, 100, 100, 100, 101, 101, 101]
    assert df["bid_px_2"].to_list() == [None, 99, 99, 99, 100, 100, 100]
    assert df["ask_px_1"].to_list() == [102, 102, 102, 102, 102, None, 103]
    assert df["mid"].to_list() == [101.0, 101.0, 101.0, 101.0, 101.5, None, 102.0]
    assert df["spread"].to_list() == [2, 2, 2, 2, 1, None, 2]
    assert df["microprice"][0] == pytest.approx((100 * 30 + 102 * 10) / 40)
    assert df["imb_1"][0] == pytest.approx((10 - 30) / 40)
    assert df["depth_bid"].to_list()[:2] == [10, 15]
    assert df["imb_depth"][1] == pytest.approx((15 - 30) / 45)
    assert df["trade_buy_qty"].to_list() == [0, 0, 7, 0, 0, 0, 0]
    assert df["trade_sell_qty"].to_list() == [0, 0, 0, 4, 0, 0, 0]
    assert df["trade_signed_qty"].to_list() == [0, 0, 7, -4, 0, 0, 0]
    assert df["trade_count"].to_list() == [0, 0, 1, 1, 0, 0, 0]
    assert df["bid_px_chg"].to_list() == [0, 0, 0, 0, 1, 0, 0]
    # OFI (CKS 2014) by hand, e_n from the L1 states
    assert df["ofi"].to_list() == [0, 0, 7, -4, 8, 23, -9]
    # forward returns in rows; the last rows have no future
    assert df["fwd_ret_1"].to_list()[:4] == pytest.approx([0.0, 0.0, 0.0, 101.5 / 101 - 1])
    assert df["fwd_ret_1"][4] is None and df["fwd_ret_1"][6] is None  # next mid null / no future
    assert df["fwd_ret_2"].to_list()[-2:] == [None, None]


def ofi_reference(bp, bq, ap, aq):
    """CKS e_n written out literally (empty ask = +inf)."""
    out = [0]
    for n in range(1, len(bp)):
        a1 = ap[n] if ap[n] is not None else float("inf")
        a0 = ap[n - 1] if ap[n - 1] is not None else float("inf")
        e = ((bp[n] >= bp[n - 1]) * bq[n] - (bp[n] <= bp[n - 1]) * bq[n - 1]
             - (a1 <= a0) * aq[n] + (a1 >= a0) * aq[n - 1])
        out.append(int(e))
    return out


def test_ofi_matches_the_literal_formula(generated_md):
    df = compute_features(generated_md, FeatureSpec(levels=1), cache=False)
    ref = ofi_reference(df["bid_px_1"].to_list(), df["bid_qty_1"].to_list(), df["ask_px_1"].to_list(),
                        df["ask_qty_1"].to_list())
    assert df["ofi"].to_list() == ref


def test_clock_sampling_on_hand_made_stream():
    spec = FeatureSpec(levels=1, sampling="100ms", horizons=("100ms", "200ms"))
    df = compute_features(l2_stream(HAND), spec, cache=False)
    # grid: epoch multiples of 100ms after the first event (10ms) up to the last (410ms): 100..400ms
    assert df["ts"].to_list() == [T0 + m * MS for m in (100, 200, 300, 400)]
    # the same instants to read: Datetime(ns, UTC), beside ts (not a feature an alpha may request)
    assert df.schema["ts_utc"] == pl.Datetime("ns", "UTC") and df.columns[:3] == ["ts", "ts_utc", "src_row"]
    assert [d.timestamp() for d in df["ts_utc"].to_list()] == [t / 1e9 for t in df["ts"].to_list()]
    assert not is_feature_name("ts_utc")
    # last state at or before each grid time: 100ms→r1 (50ms), 200ms→r3 (150ms), 300ms→r3, 400ms→r5
    assert df["src_row"].to_list() == [2, 6, 6, 8]
    assert df["bid_px_1"].to_list() == [100, 100, 100, 101]
    assert df["bid_qty_1"].to_list() == [10, 6, 6, 8]
    assert df["ask_px_1"].to_list() == [102, 102, 102, None]
    # interval aggregates: trades in (100, 200] are the buy 7 and sell 4
    assert df["trade_buy_qty"].to_list() == [0, 7, 0, 0]
    assert df["trade_sell_qty"].to_list() == [0, 4, 0, 0]
    # OFI over each interval = sum of the per-event e_n inside it (event-time values: 0,0,7,-4,8,23,-9)
    assert df["ofi"].to_list() == [0, 3, 0, 31]
    assert df["fwd_ret_100ms"].to_list()[:2] == [0.0, 0.0]
    assert df["fwd_ret_100ms"].to_list()[2:] == [None, None]  # mid at 400ms is null; no future after
    assert df["fwd_ret_200ms"].to_list() == [0.0, None, None, None]


def test_clock_horizon_must_be_a_multiple_of_the_step():
    with pytest.raises(ConfigError, match="multiple"):
        FeatureSpec(sampling="100ms", horizons=("150ms",))
    with pytest.raises(ConfigError, match="durations"):
        FeatureSpec(sampling="1s", horizons=(10,))
    with pytest.raises(ConfigError, match="positive integers"):
        FeatureSpec(horizons=("1s",))
    with pytest.raises(ConfigError, match="levels"):
        FeatureSpec(levels=0)
    with pytest.raises(ConfigError, match="sampling"):
        FeatureSpec(sampling="soon")


def test_lobster_levels_beyond_the_file_are_refused(generated_md):
    with pytest.raises(ConfigError, match="at most 5"):
        compute_features(generated_md, FeatureSpec(levels=6), cache=False)


def test_reference_book_is_used_for_lobster(generated_md):
    df = compute_features(generated_md, FeatureSpec(levels=5), cache=False)
    ref = generated_md.lobster.reference
    rows = df["src_row"].to_numpy()
    assert df.height == len(generated_md.events)  # every LOBSTER message is a consistent state
    np.testing.assert_array_equal(df["ask_qty_3"].to_numpy(), ref[rows, 4 * 2 + 1])
    np.testing.assert_array_equal(df["bid_px_1"].fill_null(-1).to_numpy(),
                                  np.where(ref[rows, 2] == F.NO_PRICE, -1, ref[rows, 2]))


def test_exec_aggressor_is_opposite_of_resting_side():
    rows = [
        (T0 + 1, EV_ADD, BUY, 100, 10, True),
        (T0 + 2, EV_ADD, SELL, 101, 10, True),
        (T0 + 3, EV_EXEC, BUY, 100, 4, True),   # resting buy hit: aggressive SELL 4
        (T0 + 4, EV_EXEC, SELL, 101, 3, True),  # resting sell lifted: aggressive BUY 3
    ]
    md = l2_stream(rows)
    md = dataclasses.replace(md, instrument=dataclasses.replace(md.instrument, book_level="L3"))
    df = compute_features(md, FeatureSpec(levels=1, horizons=(1,)), cache=False)
    assert df["trade_signed_qty"].to_list() == [0, 0, -4, 3]
    assert df["bid_qty_1"].to_list() == [10, 10, 6, 6]
    assert df["ask_qty_1"].to_list() == [0, 10, 10, 7]


# --- no lookahead ---------------------------------------------------------------------------------------------


def truncate(md: MarketData, keep: int) -> MarketData:
    """The stream with every event after index keep-1 removed (and the reference rows with it)."""
    lob = md.lobster
    if lob is not None:
        lob = dataclasses.replace(lob, events=md.events[:keep], reference=lob.reference[:keep])
    return dataclasses.replace(md, events=md.events[:keep], lobster=lob)


def _no_fwd(df: pl.DataFrame) -> pl.DataFrame:
    return df.select([c for c in df.columns if not c.startswith("fwd_ret_")])


@pytest.mark.parametrize("source", ["reference", "replay"])
def test_event_time_no_lookahead_at_random_cuts(generated_md, source):
    md = generated_md if source == "reference" else dataclasses.replace(generated_md, lobster=None)
    spec = FeatureSpec(levels=3, horizons=(1, 5))
    full = _no_fwd(compute_features(md, spec, cache=False))
    rng = np.random.default_rng(20240601)
    n = len(md.events)
    for cut in rng.integers(2, n - 1, size=30):
        part = _no_fwd(compute_features(truncate(md, int(cut) + 1), spec, cache=False))
        expect = full.filter(pl.col("src_row") <= int(cut))
        assert part.height == expect.height, cut
        assert part.equals(expect), f"features changed when events after row {cut} were removed"


@pytest.mark.parametrize("source", ["reference", "replay"])
def test_clock_no_lookahead_at_random_cuts(generated_md, source):
    md = generated_md if source == "reference" else dataclasses.replace(generated_md, lobster=None)
    spec = FeatureSpec(levels=2, sampling="1s", horizons=("1s", "5s"))
    full = _no_fwd(compute_features(md, spec, cache=False))
    ts = md.events["exch_ts"]
    rng = np.random.default_rng(7)
    for t_cut in rng.integers(int(ts[0]) + 3 * 10**9, int(ts[-1]), size=25):
        keep = int(np.searchsorted(ts, t_cut, side="right"))  # every event with exch_ts <= t_cut
        part = _no_fwd(compute_features(truncate(md, keep), spec, cache=False))
        expect = full.filter(pl.col("ts") <= int(ts[keep - 1]))
        assert part.equals(expect), f"clock features changed when data after {t_cut} was removed"


def test_forward_returns_use_only_the_future_mid(generated_md):
    df = compute_features(generated_md, FeatureSpec(levels=1, horizons=(3,)), cache=False)
    mid = df["mid"].to_numpy()
    fwd = df["fwd_ret_3"].to_numpy()
    np.testing.assert_allclose(fwd[:-3], mid[3:] / mid[:-3] - 1.0)
    assert df["fwd_ret_3"].tail(3).null_count() == 3


# --- cache ----------------------------------------------------------------------------------------------------


def test_cache_hit_skips_the_build(generated_md, tmp_path, monkeypatch):
    spec = FeatureSpec(levels=2)
    first = compute_features(generated_md, spec, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.parquet"))
    assert len(files) == 1
    monkeypatch.setattr(F, "_build", lambda *a, **k: pytest.fail("cache miss"))
    second = compute_features(generated_md, spec, cache_dir=tmp_path)
    assert second.equals(first)
    # another spec is another entry
    monkeypatch.undo()
    compute_features(generated_md, FeatureSpec(levels=3), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 2
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_cache_by_paths_and_default_home(generated_day, tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "home"))
    spec = FeatureSpec(levels=1, sampling="1s", horizons=("1s",))
    first = compute_features([generated_day], spec, source=FILES)
    cached = list((tmp_path / "home" / "cache" / "features").glob("*.parquet"))
    assert len(cached) == 1
    monkeypatch.setattr(F, "_build", lambda *a, **k: pytest.fail("cache miss"))
    assert compute_features([generated_day], spec, source=FILES).equals(first)


def test_damaged_cache_entry_is_recomputed(generated_md, tmp_path):
    spec = FeatureSpec(levels=1)
    first = compute_features(generated_md, spec, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.parquet")
    entry.write_bytes(b"not parquet")
    assert compute_features(generated_md, spec, cache_dir=tmp_path).equals(first)


def test_too_short_data_is_an_error():
    with pytest.raises(DataValidationError, match="at least 2 rows"):
        compute_features(l2_stream(HAND[:2]), FeatureSpec(levels=1, horizons=(1,)), cache=False)


@pytest.mark.shared_data
def test_goog_level10_features_are_fast(shared_data, tmp_path):
    md = open_market_data([shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"])
    for spec in (FeatureSpec(levels=10), FeatureSpec(levels=10, sampling="100ms", horizons=("100ms", "1s"))):
        compute_features(md, spec, cache=False)  # warm the kernels
        t0 = time.perf_counter()
        df = compute_features(md, spec, cache=False)
        elapsed = time.perf_counter() - t0
        assert df["mid"].null_count() == 0
        assert elapsed < 2.0, elapsed  # measured ~0.1-0.2 s; generous for loaded CI machines


@pytest.fixture(scope="module")
def generated_day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("genday")
    res = generate_day(out, seed=11, symbol="SYNTH", date="2024-01-02", messages=3000, levels=5,
                       zip_output=False)
    return Path(res["message_path"])


@pytest.fixture(scope="module")
def generated_md(generated_day) -> MarketData:
    return open_market_data([generated_day])


def test_features_of_several_days_are_each_day_on_its_own(generated_day, tmp_path):
    """Several days (`group_days`): each day's rows computed alone (no forward return runs into the next day),
    in order; `alpha search` scores on this frame."""
    from hft.data.importing import generate_day

    day2 = Path(generate_day(tmp_path, seed=12, symbol="SYNTH", date="2024-01-03", messages=3000, levels=5,
                             zip_output=False)["message_path"])
    spec = FeatureSpec(sampling="1s", horizons=("1s", "5s"))
    one = compute_features([generated_day], spec, source=FILES, cache_dir=tmp_path / "c")
    two = compute_features([day2], spec, source=FILES, cache_dir=tmp_path / "c")
    both = compute_features([generated_day, day2], spec, source=FILES, cache_dir=tmp_path / "c")
    assert both.equals(pl.concat([one, two]))
    h = F.horizon_column("5s")
    assert one[h][-1] is None  # the last rows of day 1 have no forward return: day 2 does not lend one
    assert both.height == one.height + two.height
