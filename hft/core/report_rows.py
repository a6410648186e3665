"""Execution reports as simulated-venue reports: the one way an `EXEC_REPORT_DTYPE` array becomes a
`VENUE_REPORT_DTYPE` one (the gateway's report path and the live service's order views both read the wider record).

The fields the two records share are copied by name, the names taken from the `EXEC_REPORT` declaration; the
fields only a venue report has start at their declared defaults (`VENUE_REPORT`: liquidity 0, queue -1). One numba
call: numpy's field-by-field copy of a structured array costs several times more (bench/JOURNAL.md).
"""

from __future__ import annotations

import numpy as np
from numba import literal_unroll

from hft.core.jit import njit
from hft.core.orders import EXEC_REPORT, EXEC_REPORT_DTYPE, VENUE_REPORT, VENUE_REPORT_DTYPE

__all__ = ["venue_reports"]

_SHARED = tuple(EXEC_REPORT.names)  # a venue report's first fields (`VENUE_REPORT` extends `EXEC_REPORT`)
_BLANK = VENUE_REPORT.widen(np.zeros(1, EXEC_REPORT_DTYPE))  # a row with the venue report's own fields' defaults


@njit(cache=True, nogil=True)
def _copy_shared(src: np.ndarray, dst: np.ndarray) -> None:
    """``dst[i]``'s execution-report fields from ``src[i]``, by name."""
    for i in range(src.shape[0]):
        a = src[i]
        b = dst[i]
        for name in literal_unroll(_SHARED):
            b[name] = a[name]


def venue_reports(reports: np.ndarray) -> np.ndarray:
    """A copy of an EXEC_REPORT_DTYPE or VENUE_REPORT_DTYPE array as VENUE_REPORT_DTYPE: an execution report's
    liquidity and queue are not said (their declared defaults, 0 and -1); `Record.widen` for an array of any other
    prefix of the record."""
    if reports.dtype == VENUE_REPORT_DTYPE:
        return reports.copy()
    if reports.dtype == EXEC_REPORT_DTYPE:
        out = np.repeat(_BLANK, len(reports))
        _copy_shared(np.ascontiguousarray(reports), out)
        return out
    return VENUE_REPORT.widen(reports)
