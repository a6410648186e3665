"""`hft data inspect` names each time for what it is: exchange time (UTC, and the wall time of the instrument's
time zone), receive time (``local_ts``) and the receive latency between them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from hft.data.inspect import inspect_market_data
from hft.data.sources import open_market_data
from tests.unit.data import vendor_samples as vs


def test_a_tardis_stream_shows_exchange_and_receive_time_apart(tmp_path: Path) -> None:
    """Tardis' local_timestamp is the receive time (here exch + 700 µs): its span and the latency are shown, not
    the exchange time again under another name."""
    book, trades = vs.write_tardis(vs.market(200, seed=3), tmp_path)
    ins = inspect_market_data(open_market_data([book, trades]))
    assert ins["exchange_time"]["start_utc"] == "2024-08-09T00:00:00+00:00"
    assert "timezone" not in ins["exchange_time"]  # a UTC instrument: no second rendering of the same time
    assert ins["receive_time"]["recorded"] is True
    assert ins["receive_time"]["start_utc"] == "2024-08-09T00:00:00.000700+00:00"
    assert ins["receive_latency_ms"] == {"min": 0.7, "median": 0.7, "p99": 0.7, "max": 0.7}
    assert "span" not in ins and not any("local" in k for k in ins["exchange_time"])


def test_a_receive_clock_behind_the_exchange_is_not_called_a_latency(tmp_path: Path) -> None:
    book, _ = vs.write_tardis(vs.market(200, seed=3), tmp_path)
    md = open_market_data([book])
    ev = md.events.copy()
    ev["local_ts"] = ev["exch_ts"] - 1_270_000_000  # a recorder 1.27 s behind (the Binance captures)
    lat = inspect_market_data(replace(md, events=ev))["receive_latency_ms"]
    assert lat["median"] == -1270.0 and "not a latency" in lat["note"]


def test_lobster_shows_new_york_wall_time_labelled_and_no_receive_time(tmp_path: Path, lobster_day: Any) -> None:
    """LOBSTER records one time (exchange time, New York wall clock): shown in UTC and as New York time, labelled
    with the zone; no receive time, so no latency."""
    ins = inspect_market_data(open_market_data([lobster_day.write(tmp_path)]))
    t = ins["exchange_time"]
    assert t["start_utc"] == "2012-06-21T13:30:00+00:00" and t["timezone"] == "America/New_York"
    assert t["start_in_timezone"] == "2012-06-21T09:30:00-04:00"
    assert ins["receive_time"]["recorded"] is False and "receive_latency_ms" not in ins
    assert np.isclose(t["duration_s"], 5.0)
