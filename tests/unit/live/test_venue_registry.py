"""`hft.live.venue`: the venue adapter named by the config's ``venue:`` key (or the command line), built through
the one registry: the built-ins, the entry-point group ``hft.venues``, ``module:factory``; an unknown name or a
bad option is one line naming the known ones."""

from __future__ import annotations

import sys

import pytest

from hft.core.errors import ConfigError
from hft.gateway.config import parse_config
from hft.live.server import ServeOptions, venue_choice
from hft.live.venue import Venue, VenueContext, adapters, venue_adapter


def test_the_config_names_the_adapter_and_its_options():
    assert parse_config({}).venue.adapter == "loopback"
    assert parse_config({"venue": "paper"}).venue.adapter == "paper"
    cfg = parse_config({"venue": {"adapter": "loopback", "options": {"mode": "rest"}}})
    assert (cfg.venue.adapter, dict(cfg.venue.options)) == ("loopback", {"mode": "rest"})
    with pytest.raises(ConfigError, match=r"key 'venue.adaptor'"):
        parse_config({"venue": {"adaptor": "loopback"}})


def test_command_line_flags_go_over_the_config_options():
    cfg = parse_config({"venue": {"adapter": "loopback", "options": {"mode": "rest", "journal": "/x/j.jsonl"}}})
    assert venue_choice(cfg, ServeOptions()) == ("loopback", {"mode": "rest", "journal": "/x/j.jsonl"})
    assert venue_choice(cfg, ServeOptions(loopback_mode="fill")) == ("loopback",
                                                                     {"mode": "fill", "journal": "/x/j.jsonl"})
    assert venue_choice(cfg, ServeOptions(venue="paper", paper_data="d.zip")) == ("paper", {"data": "d.zip"})


def test_builtins_are_registered_and_an_unknown_name_lists_them(tmp_path):
    assert {"loopback", "paper", "fix"} <= set(adapters())
    with pytest.raises(ConfigError) as e:
        venue_adapter("nope", VenueContext({}, tmp_path / "wal"))
    msg = str(e.value)
    assert "\n" not in msg and "'loopback'" in msg and "'paper'" in msg and "'nope'" in msg


def test_loopback_adapter_takes_its_options(tmp_path):
    v = venue_adapter("loopback", VenueContext({"mode": "rest"}, tmp_path / "wal"))
    try:
        assert isinstance(v, Venue) and v.mode == "rest" and v.path == tmp_path / "wal-venue.jsonl"
    finally:
        v.close()
    with pytest.raises(ConfigError, match=r"venue.options.speed.*\['mode', 'journal'\]"):
        venue_adapter("loopback", VenueContext({"speed": 2}, tmp_path / "wal"))
    with pytest.raises(ConfigError, match=r"fill or rest"):
        venue_adapter("loopback", VenueContext({"mode": "later"}, tmp_path / "wal"))


def test_a_module_factory_is_built_and_a_non_venue_refused(tmp_path, monkeypatch):
    (tmp_path / "my_venues.py").write_text(
        "class V:\n"
        "    def start(self, loop, on_report): pass\n"
        "    def send(self, cmd): pass\n"
        "    def health(self): return {'kind': 'mine'}\n"
        "    def close(self): pass\n"
        "def good(ctx): return V()\n"
        "def bad(ctx): return object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert venue_adapter("my_venues:good", VenueContext()).health() == {"kind": "mine"}
        with pytest.raises(ConfigError, match=r"expected a hft.live.venue.Venue, was object \(no start, send"):
            venue_adapter("my_venues:bad", VenueContext())
    finally:
        sys.modules.pop("my_venues", None)
