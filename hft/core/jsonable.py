"""JSON for values numpy produced: the `default=` hook every JSON writer of `hft` passes to `json.dumps`."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["json_default"]


def json_default(obj: Any) -> Any:
    """numpy integers and floats as Python numbers, arrays as lists, anything else as its `str`."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
