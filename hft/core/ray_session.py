"""One place that joins or starts Ray for a fan-out (`hft replay sweep`, `hft alpha search`).

`ray_session(workers, address, missing)` yields the `ray` module: it joins the cluster at `address` (or starts a
local one of `workers` CPUs) unless Ray is initialised already, and shuts down only what it started. Ray is an
optional extra: when it is not installed, `missing()` gives the error to raise (the caller's error family).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def ray_session(workers: int, address: str | None, missing: Callable[[], Exception]) -> Iterator[Any]:
    """The `ray` module, initialised for the block (module docstring)."""
    try:
        import ray
    except ImportError:
        raise missing() from None
    started = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(num_cpus=max(1, workers), **kw)
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()
