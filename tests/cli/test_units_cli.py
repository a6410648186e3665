"""Units a person thinks in, from the command line: a strategy's order quantity in instrument units (``size:
"0.001"``: 0.001 ETH) is the same run as the same quantity in lots; a quantity that is not a whole number of lots,
or in no known form, is one line naming the key, the value and the lot."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts hft as a process

SPOT_DAY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance" / "spot" / "ethusdt_20240808.gz"
needs_spot = pytest.mark.skipif(not SPOT_DAY.is_file(), reason=f"shared data not present at {SPOT_DAY}")


@pytest.fixture(scope="module")
def spot_prefix(tmp_path_factory) -> Path:
    """The first lines of the recorded Binance spot ETHUSDT capture (lot 0.00000001 ETH)."""
    out = tmp_path_factory.mktemp("spot") / SPOT_DAY.name
    with gzip.open(SPOT_DAY, "rt") as src, gzip.open(out, "wt") as dst:
        for i, line in enumerate(src):
            if i >= 30_000:
                break
            dst.write(line)
    return out


def _replay(hft, day: Path, tmp_path: Path, mm: str) -> object:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"queue_model: power_prob_2\nlimits: {{max_order_qty: 100000, max_position: 1000000}}\n"
                   f"strategies:\n  mm: {mm}\n")
    return hft("replay", "-d", str(day), "-s", "mm", "--config", str(cfg), "--no-store", "--json", cwd=tmp_path)


@needs_spot
@pytest.mark.shared_data
def test_a_size_in_instrument_units_is_the_same_run_as_in_lots(hft, spot_prefix, tmp_path) -> None:
    lots = _replay(hft, spot_prefix, tmp_path, "{size: 100000, max_position: 1000000}")
    units = _replay(hft, spot_prefix, tmp_path, "{size: '0.001', max_position: '0.01'}")
    words = _replay(hft, spot_prefix, tmp_path, "{size: '0.001 ETH', max_position: '0.01 eth'}")
    assert lots.code == 0 and units.code == 0 and words.code == 0, lots.err + units.err + words.err
    a, b, c = lots.json(), units.json(), words.json()
    assert a["fills"] > 0 and c["quantity_unit"] == "ETH"
    assert b["params"]["size"] == c["params"]["size"] == 100_000  # the run says lots
    assert b["params"]["max_position"] == c["params"]["max_position"] == 1_000_000
    assert a["run_hash"] == b["run_hash"] == c["run_hash"]


@needs_spot
@pytest.mark.shared_data
@pytest.mark.parametrize(("mm", "text"), [
    ("{size: '0.000000005'}",  # half a lot
     "strategy mm: parameter 'size': expected a whole number of lots of 0.00000001 ETH (ETHUSDT), was '0.000000005'"),
    ("{size: 0.001}",  # a YAML float: inexact, and not lots
     "key 'strategies.mm': strategy mm: parameter 'size': expected an integer (lots), a string like '3 lots' or a "
     "quantity in instrument units as a decimal string like '0.001' or '0.001 BTC', was 0.001"),
    ("{size: '1 BTC'}",  # not the instrument's unit
     "strategy mm: parameter 'size': expected a quantity in ETH, lots or a plain decimal (one lot is 0.00000001 ETH "
     "(ETHUSDT)), was '1 BTC'"),
])
def test_a_quantity_that_is_no_whole_number_of_lots_is_one_line(hft, spot_prefix, tmp_path, mm, text) -> None:
    r = _replay(hft, spot_prefix, tmp_path, mm)
    assert r.code == 11, r.err
    assert text in r.err and "Traceback" not in r.err
