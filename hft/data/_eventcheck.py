"""The event-file check kernel: value ranges and order of a loaded event stream, in one pass.

Pure numba (no I/O); `hft.data.events_io.load_events` calls it on every file it loads and turns a non-zero
code into a DataValidationError naming the row and the field.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hft.core.dtypes import EVENT_KIND_NAMES

CHECK_OK = 0
CHECK_KIND = 1  # kind not one of the EV_* codes
CHECK_SIDE = 2  # side not -1, 0 or 1
CHECK_QTY = 3  # negative quantity
CHECK_ORDER = 4  # local_ts goes back in time

CHECK_NAMES = {CHECK_KIND: "kind", CHECK_SIDE: "side", CHECK_QTY: "qty", CHECK_ORDER: "local_ts"}
MAX_KIND = max(EVENT_KIND_NAMES)


@njit(cache=True, nogil=True)
def check_events(kind: np.ndarray, side: np.ndarray, qty: np.ndarray, local_ts: np.ndarray,
                 max_kind: int) -> tuple[int, int]:
    """(code, row) of the first bad row (``CHECK_*``), or (CHECK_OK, -1)."""
    prev = np.int64(-(2 ** 63))
    for i in range(kind.shape[0]):
        k = kind[i]
        if k < 1 or k > max_kind:
            return CHECK_KIND, i
        s = side[i]
        if s < -1 or s > 1:
            return CHECK_SIDE, i
        if qty[i] < 0:
            return CHECK_QTY, i
        t = local_ts[i]
        if t < prev:
            return CHECK_ORDER, i
        prev = t
    return CHECK_OK, -1
