"""Exposure store (step 3): net position, working quantity, cost and PnL per (account, strategy, symbol).

The numbers live in the arena's slot table (one 192-byte row per slot), so the numba core reads and updates
them without crossing into Python. A slot is found through an open-addressing hash of the composite index
key; new slots come from a free list. Cardinality is bounded by ``exposure_max_symbols``
(``HFT_EXPOSURE_MAX_SYMBOLS``): at capacity every zero-balance slot (flat, no working quantity, no live
order) is evicted first; if none can be, the intent is rejected with EXPOSURE_CARDINALITY (the service) or
`ExposureLimitError` is raised (this façade) — the dedup entry is committed as rejected so it cannot loop.

Working orders count: a new order reserves its quantity at decision time (worst-case long = position +
working buys, worst-case short = working sells − position), a reject / cancel / expiry releases it, a fill
converts it into position.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hft.core.errors import ExposureLimitError
from hft.core.money import round_owed
from hft.gateway import kernels as K


class Exposure(NamedTuple):
    position: int
    working_buy: int
    working_sell: int
    cost: int
    realised: int
    live_orders: int


class ExposureStore:
    """Python façade over the slot table of an arena."""

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = buf
        self._st = K.views(buf)

    @property
    def capacity(self) -> int:
        return int(self._st.cfg[K.C_SLOT_CAP])

    def __len__(self) -> int:
        return int(self._st.ctr[K.K_SLOT_COUNT])

    def slot_for(self, account: int, strategy: int, symbol: int, create: bool = True) -> int:
        """Slot index of the triple; creates it (evicting zero-balance slots at capacity) when asked.

        Raises:
            ExposureLimitError: when `create` and there is no room even after eviction.
        """
        z = K.slot_lookup(self.buf, account, strategy, symbol, create)
        if z < 0 and create:
            raise ExposureLimitError(
                f"exposure store: expected room for another (account, strategy, symbol) entry, "
                f"all {self.capacity} hold a position or working orders",
                hint="raise HFT_EXPOSURE_MAX_SYMBOLS (capacity.exposure_max_symbols)", capacity=self.capacity)
        return int(z)

    def get(self, account: int, strategy: int, symbol: int) -> Exposure:
        """Current exposure of the triple (zeros when it has no slot)."""
        z = K.slot_lookup(self.buf, account, strategy, symbol, False)
        if z < 0:
            return Exposure(0, 0, 0, 0, 0, 0)
        s = self._st.slot[z]
        return Exposure(int(s[K.Z_POS]), int(s[K.Z_WBUY]), int(s[K.Z_WSELL]), int(s[K.Z_COST]),
                        round_owed(s[K.Z_REAL], s[K.Z_FFRAC]), int(s[K.Z_NLIVE]))

    def evict_zero(self) -> int:
        """Free every zero-balance slot now; returns how many."""
        return int(K.evict_zero(self.buf))

    def used_slots(self) -> np.ndarray:
        """Rows of the slots in use (copy), for reports and tests."""
        s = self._st.slot
        return s[s[:, K.Z_USED] == 1].copy()
