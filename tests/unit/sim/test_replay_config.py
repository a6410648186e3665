"""Replay config: latency keys (constant, recorded files, random feed), strict errors, hashing, and the
latencies a replay actually uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hft.core.dtypes import BUY
from hft.core.errors import ConfigError
from hft.data.sources import FILES
from hft.sim import latency as L
from hft.sim.latency_file import load_empirical
from hft.sim.replay import DEFAULT_CONFIG, ReplayConfig, load_replay_config, parse_replay_config
from hft.sim.strategy import Strategy

EXAMPLE = DEFAULT_CONFIG.parent / "latency_example.csv"
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC: the generated day's open


def _cfg(tmp_path: Path, text: str, name: str = "replay.yaml") -> ReplayConfig:
    f = tmp_path / name
    f.write_text(text)
    return load_replay_config(f)


def _lat(tmp_path: Path, name: str = "lat.csv", body: str | None = None) -> Path:
    f = tmp_path / name
    f.write_text(body if body is not None else "t_ns,entry_ns,response_ns\n0,2000000,500000\n10,2000000,500000\n")
    return f


# --- parsing ---------------------------------------------------------------------------------------------------

def test_defaults_and_constant_latencies(tmp_path):
    c = _cfg(tmp_path, "latency: {entry: 2ms, response: 300us, jitter: 10us, feed: 500us}\n")
    assert (c.entry_ns, c.response_ns, c.jitter_ns, c.feed, c.feed_jitter_ns) == (2_000_000, 300_000, 10_000,
                                                                                  500_000, 0)
    assert c.entry_empirical is None and c.response_empirical is None
    assert load_replay_config(DEFAULT_CONFIG).feed == "data"


def test_example_file_is_valid_and_covers_the_generated_day():
    for col in ("entry_ns", "response_ns"):
        m = load_empirical(EXAMPLE, col)
        assert len(m.times) >= 10 and m.times[0] == T0 and m.times[-1] == T0 + 6 * 3600 * 10**9 + 30 * 60 * 10**9
        assert np.all(np.diff(m.times) > 0) and np.all(m.values > 0)


def test_per_key_files_relative_to_the_config_folder(tmp_path, monkeypatch):
    sub = tmp_path / "cfg"
    sub.mkdir()
    _lat(sub, "a.csv")
    monkeypatch.chdir(tmp_path)  # relative paths must not depend on the working directory
    c = _cfg(sub, "latency:\n  entry: {file: a.csv}\n  response: {file: a.csv, column: response_ns}\n")
    assert c.entry_empirical.column == "entry_ns" and c.response_empirical.column == "response_ns"
    assert c.entry_empirical.source == str((sub / "a.csv").resolve())
    assert int(L.latency_ns(c.entry_empirical.model, 5, 0)) == 2_000_000
    assert int(L.latency_ns(c.response_empirical.model, 5, 0)) == 500_000


def test_file_shorthand_sets_both(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "rec.csv")
    c = _cfg(tmp_path, "latency: {file: rec.csv}\n")
    assert c.entry_empirical.column == "entry_ns" and c.response_empirical.column == "response_ns"
    assert c.latency_summary()["entry_ns"]["file"].endswith("rec.csv")
    # the example's first row: 2.4 ms entry, 1.2 ms response at the open; interpolated halfway to the second
    assert int(L.latency_ns(c.entry_empirical.model, T0, 0)) == 2_400_000
    assert int(L.latency_ns(c.entry_empirical.model, T0 + 900 * 10**9, 0)) == (2_400_000 + 1_500_000) // 2


def test_parquet_file(tmp_path):
    import polars as pl

    pl.read_csv(EXAMPLE).write_parquet(tmp_path / "rec.parquet")
    c = _cfg(tmp_path, "latency: {entry: {file: rec.parquet}}\n")
    assert c.entry_empirical.sha == _cfg(tmp_path, f"latency: {{entry: {{file: {EXAMPLE}}}}}\n",
                                         "b.yaml").entry_empirical.sha


def test_random_feed(tmp_path):
    c = _cfg(tmp_path, "latency: {feed: {base: 500us, jitter: 100us}}\n")
    assert (c.feed, c.feed_jitter_ns) == (500_000, 100_000)
    assert c.digest() != _cfg(tmp_path, "latency: {feed: 500us}\n", "b.yaml").digest()


def test_parse_mapping_with_base_dir(tmp_path):
    _lat(tmp_path, "x.csv")
    c = parse_replay_config({"latency": {"file": "x.csv"}}, file="golden.json", base_dir=tmp_path)
    assert c.entry_empirical is not None


# --- hashing ----------------------------------------------------------------------------------------------------

def test_hash_covers_content_not_path(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _lat(a, "one.csv")
    _lat(b, "two.csv")
    ha = _cfg(a, "latency: {file: one.csv}\n").digest()
    hb = _cfg(b, "latency: {file: two.csv}\n").digest()
    assert ha == hb  # same content, different paths → same hash
    _lat(b, "two.csv", "t_ns,entry_ns,response_ns\n0,2000001,500000\n10,2000000,500000\n")
    assert _cfg(b, "latency: {file: two.csv}\n").digest() != ha  # one ns changed → different hash
    assert ha != ReplayConfig().digest()


def test_default_hash_unchanged_by_new_keys():
    # config hashes of configs without the new keys are what they were before the keys existed
    assert ReplayConfig().digest() == "9f961be253b7db07"
    assert ReplayConfig(entry_ns=5, feed=300, strategies={"mm": {"size": 2}}).digest() == "8f71f97247d57422"


# --- errors -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("latency: {entry: {file: missing.csv}}\n", "latency.entry.file"),
    ("latency: {response: {file: lat.csv, column: nope_ns}}\n", "latency.response.file"),
    ("latency: {file: missing.csv}\n", "latency.file"),
    ("latency: {file: lat.csv, entry: 1ms}\n", "latency.file"),
    ("latency: {file: lat.csv, jitter: 10us}\n", "latency.jitter"),
    ("latency: {entry: {file: lat.csv, colum: entry_ns}}\n", "latency.entry.colum"),
    ("latency: {entry: {column: entry_ns}}\n", "latency.entry.file"),
    ("latency: {entry: {file: 3}}\n", "latency.entry.file"),
    ("latency: {feed: {base: 1ms, jiter: 1us}}\n", "latency.feed.jiter"),
    ("latency: {feed: {jitter: 1us}}\n", "latency.feed.base"),
    ("latency: {feed: {base: -1ms}}\n", "latency.feed.base"),
    ("latency: {feed: fast}\n", "latency.feed"),
])
def test_bad_latency_config_names_the_key(tmp_path, text, key):
    _lat(tmp_path)
    with pytest.raises(ConfigError) as ei:
        _cfg(tmp_path, text)
    assert ei.value.fields.get("key") == key, ei.value
    assert key in str(ei.value)


@pytest.mark.parametrize("body", [
    "t_ns,entry_ns,response_ns\n10,1,1\n0,1,1\n",  # times going back
    "t_ns,entry_ns,response_ns\n0,-5,1\n",  # negative latency
    "t_ns,entry_ns,response_ns\n",  # empty
    "t_ns,entry_ns,response_ns\n0,fast,1\n",  # not a number
    "\x00\x01garbage",
])
def test_bad_latency_file_names_the_key(tmp_path, body):
    _lat(tmp_path, "bad.csv", body)
    with pytest.raises(ConfigError) as ei:
        _cfg(tmp_path, "latency: {entry: {file: bad.csv}}\n")
    assert ei.value.fields.get("key") == "latency.entry.file"
    assert "latency.entry.file" in str(ei.value)


# --- the latency actually used ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("latday")
    g = generate_day(out, seed=3, symbol="SYNTH", date="2024-01-02", messages=2000, levels=5, zip_output=True)
    return Path(g["zip_path"])


class Probe(Strategy):
    """Submits one passive buy at the first two-sided local book; records the send and report times."""

    name = "probe"

    def __init__(self) -> None:
        self.sent: int | None = None
        self.updates: list[tuple[int, int]] = []

    def on_book(self, ctx):
        if self.sent is None and ctx.best_bid is not None and ctx.best_ask is not None:
            assert ctx.submit(BUY, ctx.best_bid - 5, 1).accepted
            self.sent = ctx.now

    def on_order_update(self, ctx, update):
        self.updates.append((update.kind, ctx.now))


def _probe(day: Path, cfg: ReplayConfig):
    from hft.core.orders import REPORT_ACK
    from hft.data.sources import open_market_data
    from hft.sim.replay import build_engine

    md = open_market_data([day])
    s = Probe()
    engine, mult = build_engine(md, s, "probe", cfg)
    engine.run(multiplier=mult)
    ack = next(t for kind, t in s.updates if kind == REPORT_ACK)
    return s.sent, ack


def test_first_ack_arrives_entry_plus_response_later(day, tmp_path):
    sent, ack = _probe(day, _cfg(tmp_path, "latency: {entry: 3ms, response: 2ms}\n"))
    assert ack - sent == 5_000_000
    # recorded file: the entry latency is read at the send time, the response latency at the venue's time
    f = tmp_path / "rec.csv"
    f.write_text("t_ns,entry_ns,response_ns\n0,1234567,7654321\n9000000000000000000,1234567,7654321\n")
    sent, ack = _probe(day, _cfg(tmp_path, "latency: {file: rec.csv}\n"))
    assert ack - sent == 1_234_567 + 7_654_321


def test_example_file_drives_a_replay(day, tmp_path):
    from hft.sim.replay import run_replay

    shutil.copy(EXAMPLE, tmp_path / "latency_example.csv")
    cfg = _cfg(tmp_path, "latency: {file: latency_example.csv}\n")
    sent, ack = _probe(day, cfg)
    entry = int(L.latency_ns(cfg.entry_empirical.model, sent, 0))
    resp = int(L.latency_ns(cfg.response_empirical.model, sent + entry, 0))
    assert 800_000 <= entry <= 2_400_000 and ack - sent == entry + resp
    s = run_replay([day], "imbalance_taker", cfg, out_dir=tmp_path / "run", source=FILES)
    assert s["config_hash"] == cfg.digest() and s["latency"]["entry_ns"]["column"] == "entry_ns"
    import polars as pl

    orders = pl.read_parquet(tmp_path / "run" / "orders.parquet")
    fills = pl.read_parquet(tmp_path / "run" / "fills.parquet")
    if fills.height:  # a taker fill: venue time = send + entry(send); local time = venue + response(venue)
        f0 = fills.row(0, named=True)
        o0 = orders.filter(pl.col("order_id") == f0["order_id"]).row(0, named=True)
        assert f0["ts"] - o0["ts"] == int(L.latency_ns(cfg.entry_empirical.model, o0["ts"], 0))
        assert f0["local_ts"] - f0["ts"] == int(L.latency_ns(cfg.response_empirical.model, f0["ts"], 0))


def test_random_feed_is_seeded_and_used(day, tmp_path):
    from hft.sim.replay import run_replay

    rnd = _cfg(tmp_path, "latency: {feed: {base: 500us, jitter: 200us}}\n")
    a = run_replay([day], "imbalance_taker", rnd, source=FILES)
    b = run_replay([day], "imbalance_taker", rnd, source=FILES)
    const = run_replay([day], "imbalance_taker", _cfg(tmp_path, "latency: {feed: 500us}\n", "c.yaml"), source=FILES)
    assert a["run_hash"] == b["run_hash"]
    assert a["run_hash"] != const["run_hash"]
