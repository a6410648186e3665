"""docs/extending.md's two examples run as written: the strategy from a file with config parameters, and the
data format registered and opened."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from hft.data.sources import FILES

ROOT = Path(__file__).resolve().parents[2]


def _block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "extending.md").read_text(), flags=re.S)
    (block,) = [b for b in blocks if marker in b]
    return block


def test_strategy_example_runs(tmp_path):
    from hft.data.importing import generate_day
    from hft.sim.replay import parse_replay_config, run_replay

    (tmp_path / "my_strategies.py").write_text(_block("class DepthSkew"))
    day = generate_day(tmp_path, seed=4, symbol="SYNTH", date="2024-01-02", messages=4000, levels=5,
                       zip_output=True)["zip_path"]
    cfg = parse_replay_config({"strategies": {"depth_skew": {"max_position": 3}}})
    s = run_replay([Path(day)], f"{tmp_path / 'my_strategies.py'}:DepthSkew", cfg, source=FILES)
    assert s["strategy"] == "depth_skew" and s["params"] == {"max_position": 3, "min_ratio": 1.5}
    assert s["orders"] > 0 and abs(s["position"]) <= 3


def test_two_leg_example_runs(tmp_path):
    from hft.data.importing import generate_day
    from hft.sim.replay import parse_replay_config, run_replay

    (tmp_path / "spread_watch.py").write_text(_block("class SpreadWatch"))
    days = [Path(generate_day(tmp_path / sym, seed=seed, symbol=sym, date="2024-01-02", messages=3000, levels=5,
                              zip_output=True)["zip_path"]) for seed, sym in ((4, "AAA"), (5, "BBB"))]
    s = run_replay(days, f"{tmp_path / 'spread_watch.py'}:SpreadWatch", parse_replay_config({"engine": "python"}), source=FILES)
    assert s["symbols"] == ["AAA", "BBB"] and s["positions"] == {"AAA": 1, "BBB": -1}


def test_format_example_registers_and_opens(tmp_path):
    from hft.core.errors import DataValidationError
    from hft.data import formats
    from hft.data.sources import open_market_data

    path = tmp_path / "mini_format.py"
    path.write_text(_block("def open_mini"))
    spec = importlib.util.spec_from_file_location("mini_format", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["mini_format"] = module
    try:
        spec.loader.exec_module(module)
        data = tmp_path / "trades.mini"
        data.write_text("#mini-trades v1\n1000 B 10050 3\n2000 S 10049 1\n")
        md = open_market_data([data])
        assert md.kind == "mini" and md.instrument.symbol == "TRADES" and len(md.events) == 2
        assert md.events["price"].tolist() == [10050, 10049] and md.events["side"].tolist() == [1, -1]
        bad = tmp_path / "bad.mini"
        bad.write_text("#mini-trades v1\n1000 B 10050 3\n2000 X 10049 1\n")
        with pytest.raises(DataValidationError, match=r"bad.mini: row 3, field 'side': expected B or S, was 'X'"):
            open_market_data([bad])
    finally:
        formats._REGISTRY.pop("mini", None)
        sys.modules.pop("mini_format", None)


def test_kernel_example_runs_on_both_engines(tmp_path):
    from dataclasses import replace

    from hft.data.importing import generate_day
    from hft.sim.replay import parse_replay_config, run_replay

    (tmp_path / "my_kernel.py").write_text(_block("def join_best"))
    day = generate_day(tmp_path, seed=4, symbol="SYNTH", date="2024-01-02", messages=3000, levels=5,
                       zip_output=True)["zip_path"]
    cfg = parse_replay_config({"strategies": {"join_best_nb": {"max_position": 3}}})
    spec = f"{tmp_path / 'my_kernel.py'}:JoinBestNb"
    s = run_replay([Path(day)], spec, cfg, source=FILES)
    assert s["strategy"] == "join_best_nb" and s["params"] == {"size": 1, "max_position": 3}
    assert s["orders"] > 0 and 0 < s["position"] <= 3
    ref = run_replay([Path(day)], spec, replace(cfg, engine="python"), source=FILES)
    assert ref["run_hash"] == s["run_hash"]
