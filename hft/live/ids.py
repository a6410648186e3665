"""Client order ids of a batch of intents as bytes (`PackedIds`): what the TCP intake reads from its frames, kept
packed so that the client-id index (`hft.live.client_index`) and the WAL's ``details`` column
(`hft.live.engine`) use the bytes as they are instead of joining and encoding the ids again."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PackedIds(NamedTuple):
    """Row i's client order id is the next ``lens[i]`` bytes of `sep` (UTF-8), each id followed by a NUL byte
    (no id holds one). `plain`: none is empty and none holds a character a JSON string escapes."""

    sep: bytes
    lens: np.ndarray  # int64, one per row
    plain: bool

    def rows(self, i: int, j: int) -> PackedIds:
        """Rows ``i:j``."""
        if i == 0 and j == len(self.lens):
            return self
        at = np.concatenate(([0], np.cumsum(self.lens + 1)))
        return PackedIds(self.sep[int(at[i]):int(at[j])], self.lens[i:j], self.plain)
