"""`hft.live.warm.warm_order_path`: two orders, each to its fill, through a throwaway copy of the service, and
nothing of it left: no WAL, journal or snapshot under the process's own HFT_HOME, no warning (a warm-up that did
not trade is logged)."""

from __future__ import annotations

import logging

import pytest

from hft.gateway.config import load_config
from hft.live.server import ServeOptions
from hft.live.warm import warm_order_path

CONFIG = """\
accounts: {ACC1: {}}
strategies: {mm1: {}}
symbols: {AAPL: {tick_multiple: 5}}
server: {wal_dir: %s}
dedup: {persist_path: %s}
"""


@pytest.mark.parametrize("mode", ["fill", "rest"])
def test_orders_through_a_throwaway_service_leave_nothing(tmp_path, monkeypatch, caplog, mode):
    home = tmp_path / "home"
    monkeypatch.setenv("HFT_HOME", str(home))
    real_wal, dedup = tmp_path / "real-wal", tmp_path / "dedup.bin"
    cfg_file = tmp_path / "gw.yaml"
    cfg_file.write_text(CONFIG % (real_wal, dedup))
    cfg = load_config(cfg_file, env={"HFT_JWT_SECRET": "s" * 40})
    with caplog.at_level(logging.WARNING, logger="hft.live.warm"):
        seconds = warm_order_path(cfg, ServeOptions(loopback_mode=mode, venue_journal=str(tmp_path / "j.jsonl")))
    assert seconds > 0 and not [r for r in caplog.records if r.name == "hft.live.warm"], caplog.text
    assert not real_wal.exists() and not dedup.exists() and not home.exists()
    assert not (tmp_path / "j.jsonl").exists()  # the real venue journal untouched


def test_a_config_that_trades_nothing_is_a_warning_not_an_error(tmp_path, caplog):
    cfg_file = tmp_path / "gw.yaml"
    cfg_file.write_text("server: {wal_dir: %s}\n" % (tmp_path / "wal"))
    cfg = load_config(cfg_file, env={"HFT_JWT_SECRET": "s" * 40})
    with caplog.at_level(logging.WARNING, logger="hft.live.warm"):
        warm_order_path(cfg, ServeOptions())
    assert "no account, strategy or symbol" in caplog.text
