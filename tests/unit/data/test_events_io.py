"""Event Parquet files: round trip, metadata, read-only arrays, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from hft.core.dtypes import EV_ADD, EV_TRADE, FLAG_EOM, empty_events
from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument
from hft.data.events_io import load_events, read_event_metadata, write_events

INST = Instrument("SYN", "SYNTH", "0.01", "1", book_level="L3")


def _events(n: int = 10) -> np.ndarray:
    ev = empty_events(n)
    ev["exch_ts"] = np.arange(n) * 1000
    ev["local_ts"] = ev["exch_ts"] + 7
    ev["price"] = 10_000 + np.arange(n)
    ev["qty"] = 5
    ev["kind"] = np.where(np.arange(n) % 2 == 0, EV_ADD, EV_TRADE)
    ev["side"] = np.where(np.arange(n) % 3 == 0, 1, -1)
    ev["flags"] = FLAG_EOM
    ev["order_id"] = np.arange(n) + 1
    ev["seq"] = np.arange(n)
    return ev


def test_roundtrip_is_exact_and_read_only(tmp_path):
    ev = _events()
    path = write_events(tmp_path / "d.parquet", ev, INST, {"source": "test"})
    loaded = load_events(path)
    assert loaded.instrument == INST
    assert loaded.meta == {"source": "test"}
    np.testing.assert_array_equal(loaded.events, ev)
    assert not loaded.events.flags.writeable
    with pytest.raises(ValueError):
        loaded.events["qty"][0] = 1
    assert read_event_metadata(path)[0] == INST


def test_not_an_event_file(tmp_path):
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(DataValidationError, match="expected an hft event Parquet file"):
        load_events(bad)
    with pytest.raises(DataValidationError, match="none exists"):
        load_events(tmp_path / "missing.parquet")


def test_unwritable_output_leaves_nothing(tmp_path):
    from hft.core.errors import DataError

    with pytest.raises(DataError):
        write_events(tmp_path / "no_such_dir" / "d.parquet", _events(), INST)
    assert list(tmp_path.iterdir()) == []


def test_an_opened_stream_prints_in_one_line(tmp_path):
    """A notebook shows an `EventFile` / `MarketData` as one line (instrument, count, span), not the array."""
    from hft.data.sources import open_market_data

    path = write_events(tmp_path / "d.parquet", _events(5000), INST, {"source": "test"})
    for obj, head in ((load_events(path), "EventFile(instrument="), (open_market_data([path]), "MarketData(kind=")):
        r = repr(obj)
        assert r.startswith(head) and "\n" not in r and len(r) < 300, r
        assert "SYN@SYNTH L3" in r and "events=5,000" in r and "local_ts=1970-01-01T00:00:00Z.." in r
