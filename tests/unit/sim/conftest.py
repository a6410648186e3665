"""Fixtures of the simulator's tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def two_lobster_instruments(tmp_path_factory):
    """Two generated LOBSTER instruments of one date, AAA and BBB (L3 data with reference rows, 3,000 messages and 5
    levels each), opened: the legs of the L3 runs over several instruments."""
    from hft.data.importing import generate_day
    from hft.data.sources import open_market_data

    out = tmp_path_factory.mktemp("two_lobster_instruments")
    return [open_market_data([generate_day(out / sym, seed=seed, symbol=sym, date="2024-01-02", messages=3000,
                                           levels=5, zip_output=True)["zip_path"]])
            for seed, sym in ((5, "AAA"), (6, "BBB"))]
