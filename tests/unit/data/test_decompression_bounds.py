"""Zip and gzip bombs are refused at a bounded size, before memory runs out."""

from __future__ import annotations

import zipfile
import zlib

import pytest

from hft.core.errors import DataValidationError
from hft.core.fileio import DECOMPRESSED_FLOOR

BOMB_BYTES = DECOMPRESSED_FLOOR + (16 << 20)  # just past the floor: the smallest input that must be refused
CHUNK = b"\n" * (1 << 20)


def test_a_zip_bomb_is_refused_from_its_declared_size(tmp_path):
    from hft.data.lobster import import_lobster

    z = tmp_path / "AAA_2012-06-21_34200000_57600000_1.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("AAA_2012-06-21_34200000_57600000_message_1.csv", "w") as f:
            for _ in range(BOMB_BYTES // len(CHUNK)):
                f.write(CHUNK)
        zf.writestr("AAA_2012-06-21_34200000_57600000_orderbook_1.csv", "1,1,1,1\n")
    assert z.stat().st_size < 2 << 20
    with pytest.raises(DataValidationError, match=r"expected at most .* decompressed bytes .*a zip bomb") as ei:
        import_lobster(z)
    assert ei.value.exit_code == 12


def test_a_gzip_of_newlines_is_refused_at_the_limit(tmp_path):
    from hft.data.binance import _decompress

    g = tmp_path / "btcusdt_20240808.gz"
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(g, "wb") as f:
        for _ in range(BOMB_BYTES // len(CHUNK)):
            f.write(c.compress(CHUNK))
        f.write(c.flush())
    with pytest.raises(DataValidationError, match=r"expected at most .* decompressed bytes .*a gzip bomb"):
        _decompress(g)


def test_gzip_members_below_the_limit_still_decompress_whole(tmp_path):
    from hft.data.binance import _decompress

    g = tmp_path / "x.gz"
    g.write_bytes(zlib.compress(b"a\n" * 1000, wbits=31) + zlib.compress(b"b\n" * 10, wbits=31))
    assert _decompress(g) == b"a\n" * 1000 + b"b\n" * 10
    g.write_bytes(zlib.compress(b"a\n" * 1000, wbits=31)[:-12])
    with pytest.raises(DataValidationError, match="expected a complete gzip stream"):
        _decompress(g)
