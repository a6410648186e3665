"""Market data: importers, generator, validation, the canonical event files.

The public API is the names below, imported from ``hft.data`` (``from hft.data import DataFormat, EV_TRADE``),
and ``hft.data.formats`` (``register``, the format protocol): they keep these paths when the modules behind them
move (docs/api.md).
"""

from __future__ import annotations

from hft.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "DataFormat": "hft.data.formats",
    "OpenOptions": "hft.data.formats",
    "MarketData": "hft.data.sources",
    "FILES": "hft.data.sources",
    "generate_day": "hft.data.importing",
    "Instrument": "hft.core.instrument",
    "BUY": "hft.core.dtypes",
    "SELL": "hft.core.dtypes",
    "EV_ADD": "hft.core.dtypes",
    "EV_CANCEL": "hft.core.dtypes",
    "EV_DELETE": "hft.core.dtypes",
    "EV_EXEC": "hft.core.dtypes",
    "EV_HIDDEN_EXEC": "hft.core.dtypes",
    "EV_TRADE": "hft.core.dtypes",
    "EV_LEVEL_SET": "hft.core.dtypes",
    "EV_CLEAR": "hft.core.dtypes",
    "EV_SNAPSHOT_LEVEL": "hft.core.dtypes",
    "EV_HALT": "hft.core.dtypes",
    "EV_TICKER": "hft.core.dtypes",
    "FLAG_EOM": "hft.core.dtypes",
    "FLAG_RESYNC": "hft.core.dtypes",
    "FLAG_PREOPEN": "hft.core.dtypes",
    "EVENT_DTYPE": "hft.core.dtypes",
})
