"""Core types: event dtype layout, instrument metadata, units, clock, atomic writes, error fields."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from hft.core.clock import ManualClock
from hft.core.dtypes import EVENT_DTYPE, EVENT_FIELDS, empty_events
from hft.core.errors import ConfigError, DataError, DataValidationError, HftError
from hft.core.fileio import atomic_path, atomic_write_text
from hft.core.ids import stable_id
from hft.core.instrument import Instrument
from hft.core.units import Quantity, parse_duration_ns, parse_quantity, parse_size_bytes, quantity_in_lots


def test_event_dtype_is_aligned_and_integer_only():
    assert EVENT_DTYPE.itemsize == 56
    for name in EVENT_FIELDS:
        dt, offset = EVENT_DTYPE.fields[name][:2]
        assert dt.kind in "iu", name
        assert offset % dt.itemsize == 0, f"{name} misaligned"
    assert empty_events(3).dtype == EVENT_DTYPE


def test_instrument_roundtrip_and_exact_ticks():
    inst = Instrument("AAPL", "NASDAQ", "0.01", "1", price_scale=10000, timezone="America/New_York",
                      book_level="L3")
    assert Instrument.from_json(inst.to_json()) == inst
    assert inst.price_to_ticks("585.33") == 58533
    with pytest.raises(DataValidationError, match="multiple of tick"):
        inst.price_to_ticks("585.335")


@pytest.mark.parametrize("bad", ["0", "-1", "abc", ""])
def test_instrument_rejects_bad_tick(bad):
    with pytest.raises(DataValidationError, match="tick_size"):
        Instrument("X", "V", bad, "1")


def test_instrument_rejects_unknown_metadata_keys():
    with pytest.raises(DataValidationError, match="unknown keys"):
        Instrument.from_dict({"symbol": "X", "venue": "V", "tick_size": "1", "lot_size": "1", "bogus": 1})


@pytest.mark.parametrize(("text", "ns"), [("250us", 250_000), ("1ms", 1_000_000), ("2s", 2_000_000_000),
                                          ("100ns", 100), ("1.5ms", 1_500_000), ("5min", 300_000_000_000),
                                          (0, 0), ("0", 0), (0.0, 0)])
def test_parse_duration(text, ns):
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("bare", [300, "300", 2.5, "2.5", -5, 10**30])
def test_parse_duration_refuses_a_bare_number(bare):
    """A number without its unit would silently be nanoseconds (``ttl: 300`` a 300 ns window): refused."""
    with pytest.raises(ConfigError, match=r"dedup\.ttl: expected a duration with a unit \(e\.g\. 300s, 250ms\), "
                                          rf"was {bare!r}"):
        parse_duration_ns(bare, key="dedup.ttl")


@pytest.mark.parametrize("bad", ["1 parsec", "-1ms", True, "ms"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ConfigError, match="latency"):
        parse_duration_ns(bad, key="latency")


def test_parse_size():
    assert parse_size_bytes("64MiB") == 64 * 1024**2
    assert parse_size_bytes("1GB") == 10**9
    with pytest.raises(ConfigError):
        parse_size_bytes("12 apples")


def test_manual_clock_never_goes_back():
    c = ManualClock(10)
    c.advance(5)
    assert c.now_ns() == 15
    with pytest.raises(ValueError):
        c.set(14)


def test_stable_id_is_deterministic_and_sensitive():
    assert stable_id("a", 1) == stable_id("a", 1)
    assert stable_id("a", 1) != stable_id("a", 2)
    assert stable_id("a1") != stable_id("a", 1)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    atomic_write_text(target, "done")
    assert target.read_text() == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_missing_dir_is_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"), atomic_path(tmp_path / "nope" / "x"):
        pass


def test_error_fields_and_exit_codes():
    err = DataValidationError("expected 6 columns, was 5", file="m.csv", line=3, hint="check the file")
    assert isinstance(err, DataError) and isinstance(err, HftError)
    assert err.to_dict()["line"] == 3
    assert err.exit_code == DataError.exit_code != ConfigError.exit_code
    assert np.int64(1) == 1


def test_hash_arrays_ignores_padding_bytes():
    from hft.core.ids import hash_arrays

    a = np.zeros(3, dtype=np.dtype([("x", "<i8"), ("k", "u1")], align=True))
    b = a.copy()
    raw = b.view(np.uint8).reshape(3, -1)
    raw[:, 9:] = 0xAB  # scribble over the padding only
    assert a.tobytes() != b.tobytes()
    assert hash_arrays(a) == hash_arrays(b)
    b["k"][1] = 1
    assert hash_arrays(a) != hash_arrays(b)


def _hash_field_by_field(*arrays: object) -> str:
    """The run hash's definition, spelled out: per array its length and field names, then each field's column in
    little-endian order, fed to BLAKE2b one column at a time."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for arr in arrays:
        a = np.asarray(arr)
        names = a.dtype.names or (None,)
        h.update(f"{len(a)}:{','.join(str(n) for n in names)}".encode())
        for name in names:
            col = a if name is None else a[name]
            h.update(np.ascontiguousarray(col, dtype=col.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


def test_hash_arrays_value_is_its_definition():
    from hft.core.ids import hash_arrays

    a = np.zeros(4, dtype=np.dtype([("x", "<i8"), ("k", "u1"), ("y", ">i4")], align=True))
    a["x"], a["k"], a["y"] = [1, 2, 3, 4], [5, 6, 7, 8], [-1, 2, -3, 4]
    plain = np.arange(6, dtype=">i2").reshape(2, 3)
    assert hash_arrays(a, plain) == "753abee519758944ce71fbb515d78ed8"  # the value the goldens' run hashes rest on
    nested = np.zeros(5, [("a", "<i4"), ("b", [("x", ">i2"), ("y", "u1")]), ("c", "<f8", (2,)), ("s", "S3")])
    nested["a"], nested["b"]["x"], nested["c"], nested["s"] = 3, 7, 1.5, b"ab"
    cases = [a, plain, nested, a[::2], np.zeros(0, a.dtype), np.array([True, False]), np.arange(10, dtype=">i8")]
    for c in cases:
        assert hash_arrays(c) == _hash_field_by_field(c)
    assert hash_arrays(*cases) == _hash_field_by_field(*cases)


def test_hash_arrays_of_record_logs_is_its_definition():
    """Adjacent fields of one size are hashed from one copy (`ids._field_runs`): the bytes are still each field's
    column in order, whatever the layout (the simulator's logs with random padding, fields out of offset order,
    big-endian, float and sub-array fields, strided and one-row arrays)."""
    from hft.core.ids import _field_runs, hash_arrays
    from hft.sim.engine import DECISION_LOG_DTYPE, EQUITY_DTYPE, FILL_LOG_DTYPE, ORDER_LOG_DTYPE

    rng = np.random.default_rng(3)

    def filled(dt: np.dtype, n: int) -> np.ndarray:
        a = np.zeros(n, dt)
        raw = a.view(np.uint8)
        raw[:] = rng.integers(0, 256, raw.size)  # the padding bytes too
        return a

    odd = np.dtype({"names": ["b", "a", "c", "d", "e"], "formats": ["<i4", "<i4", ">i8", "<f8", ("<i2", (2,))],
                    "offsets": [4, 0, 8, 16, 24], "itemsize": 32})
    cases = [filled(d, n) for d in (DECISION_LOG_DTYPE, ORDER_LOG_DTYPE, FILL_LOG_DTYPE, EQUITY_DTYPE, odd)
             for n in (1, 7, 1000)]
    cases.append(filled(DECISION_LOG_DTYPE, 10)[::3])
    for c in cases:
        assert hash_arrays(c) == _hash_field_by_field(c)
    assert hash_arrays(*cases) == _hash_field_by_field(*cases)
    assert _field_runs(DECISION_LOG_DTYPE) == [(8, 0, 6), (2, 24, 1), (1, 50, 4)]
    assert _field_runs(odd) == [(4, 1, 1), (4, 0, 1), "c", (8, 2, 1), "e"]


def test_run_hash_schemes():
    """The run hash frames the arrays as `hash_arrays` does; BLAKE3 by default, BLAKE2b (the hashes recorded
    before schemes, `hash_arrays` itself) inside `run_hash_scheme`; the scheme is restored after the block."""
    import blake3

    from hft.core.errors import ConfigError
    from hft.core.ids import (
        RUN_HASH_BLAKE2B,
        RUN_HASH_BLAKE3,
        current_run_hash_scheme,
        hash_arrays,
        run_hash,
        run_hash_scheme,
    )

    a = np.zeros(4, dtype=np.dtype([("x", "<i8"), ("k", "u1"), ("y", ">i4")], align=True))
    a["x"], a["k"], a["y"] = [1, 2, 3, 4], [5, 6, 7, 8], [-1, 2, -3, 4]
    plain = np.arange(6, dtype=">i2").reshape(2, 3)
    h = blake3.blake3()
    for arr in (a, plain):
        names = arr.dtype.names or (None,)
        h.update(f"{len(arr)}:{','.join(str(n) for n in names)}".encode())
        for name in names:
            col = arr if name is None else arr[name]
            h.update(np.ascontiguousarray(col, dtype=col.dtype.newbyteorder("<")).tobytes())
    assert current_run_hash_scheme() == RUN_HASH_BLAKE3
    assert run_hash(a, plain) == h.hexdigest(length=16) != hash_arrays(a, plain)
    with run_hash_scheme(RUN_HASH_BLAKE2B):
        assert current_run_hash_scheme() == RUN_HASH_BLAKE2B
        assert run_hash(a, plain) == hash_arrays(a, plain) == "753abee519758944ce71fbb515d78ed8"
    assert current_run_hash_scheme() == RUN_HASH_BLAKE3
    with pytest.raises(ConfigError, match="run hash scheme"), run_hash_scheme("sha1"):
        pass


@pytest.mark.parametrize(("value", "parsed"), [(3, 3), ("3 lots", 3), ("1 lot", 1), ("0.001", Decimal("0.001")),
                                               ("100", Decimal("100")), ("0.5 BTC", Quantity(Decimal("0.5"), "BTC")),
                                               ("100shares", Quantity(Decimal(100), "shares"))])
def test_parse_quantity_lots_or_instrument_units(value, parsed):
    got = parse_quantity(value, key="k")
    assert got == parsed and type(got) is type(parsed)


@pytest.mark.parametrize("bad", [0.5, True, "-1", "-1 BTC", "BTC", "", "1e-3", "0.5 B-TC", None])
def test_parse_quantity_refuses_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"^strategies.mm.size: expected lots"):
        parse_quantity(bad, key="strategies.mm.size")


@pytest.mark.parametrize(("value", "lots"), [(7, 7), ("7 lots", 7), ("0.001", 100_000), ("1", 100_000_000),
                                             ("0.00000001", 1)])
def test_quantity_in_lots_is_exact(value, lots):
    assert quantity_in_lots(value, "0.00000001", key="k") == lots


def test_quantity_in_lots_refuses_a_fraction_of_a_lot_naming_key_and_lot():
    with pytest.raises(ConfigError) as e:
        quantity_in_lots("0.000000015", "0.00000001", key="limits.max_position", symbol="ETHUSDT", unit="ETH")
    assert str(e.value) == ("limits.max_position: expected a whole number of lots of 0.00000001 ETH (ETHUSDT), "
                            "was '0.000000015'")


@pytest.mark.parametrize(("value", "lot", "unit", "lots"), [
    ("0.5 BTC", "0.00001", "BTC", 50_000), ("0.5 btc", "0.00001", "BTC", 50_000), ("100 shares", "1", "shares", 100),
    ("1 share", "1", "shares", 1), ("300 Shares", "100", "shares", 3), ("2 contracts", "1", "contracts", 2),
    ("1 contract", "1", "contracts", 1)])
def test_quantity_in_lots_takes_the_instruments_unit_word(value, lot, unit, lots):
    assert quantity_in_lots(value, lot, key="k", unit=unit) == lots


@pytest.mark.parametrize(("value", "lot", "unit", "message"), [
    ("0.000001 BTC", "0.00001", "BTC", "k: expected a whole number of lots of 0.00001 BTC (X), was '0.000001 BTC'"),
    ("0.5 ETH", "0.00001", "BTC", "k: expected a quantity in BTC, lots or a plain decimal (one lot is 0.00001 BTC "
                                  "(X)), was '0.5 ETH'"),
    ("5 shares", "0.001", "BTC", "k: expected a quantity in BTC, lots or a plain decimal (one lot is 0.001 BTC (X)), "
                                 "was '5 shares'"),
    ("0.5 share", "1", "shares", "k: expected a whole number of lots of 1 share (X), was '0.5 share'"),
    ("0.5 BTC", "0.00001", "", "k: expected lots or a plain decimal, no unit word (none applies here; one lot is "
                               "0.00001 (X)), was '0.5 BTC'"),
])
def test_quantity_in_lots_refuses_another_unit_or_a_fraction_saying_the_lot(value, lot, unit, message):
    with pytest.raises(ConfigError) as e:
        quantity_in_lots(value, lot, key="k", symbol="X", unit=unit)
    assert str(e.value) == message


@pytest.mark.parametrize(("symbol", "currency", "kind", "contract", "unit"), [
    ("BTCUSDT", "USDT", "linear", "1", "BTC"), ("BTC-USDT", "USDT", "linear", "1", "BTC"),
    ("ETHBTC", "BTC", "linear", "1", "ETH"), ("GOOG", "USD", "linear", "1", "shares"),
    ("BTCUSD_PERP", "USD", "inverse", "100", "contracts"), ("ESZ4", "USD", "linear", "50", "contracts")])
def test_an_instrument_says_what_its_quantities_count(symbol, currency, kind, contract, unit):
    inst = Instrument(symbol, "V", "0.01", "1", currency=currency, kind=kind, contract_size=contract)
    assert inst.unit == unit


def test_instrument_quantity_to_lots_is_exact():
    inst = Instrument("ETHUSDT", "BINANCE_SPOT", "0.01", "0.00000001")
    assert inst.qty_to_lots("0.001") == 100_000 and inst.qty_to_lots(Decimal("1")) == 100_000_000
    with pytest.raises(DataValidationError, match=r"expected a multiple of lot 0\.00000001"):
        inst.qty_to_lots("0.000000005")
