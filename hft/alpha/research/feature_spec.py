"""The feature catalogue's names and the `FeatureSpec` (what to compute), without the computation.

Kept apart from `hft.alpha.research.features` (its numba kernels) so that what only names or configures features
— the Alpha API's checks of requested columns, an alpha's config, `hft alpha status` — loads no numba.
`features` re-exports every name here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hft.core.errors import ConfigError
from hft.core.units import parse_duration_ns

__all__ = ["FIXED_FEATURES", "MAX_LEVELS", "FeatureSpec", "horizon_column", "is_feature_name", "level_of"]

MAX_LEVELS = 50
FIXED_FEATURES: tuple[str, ...] = (
    "ts", "src_row", "mid", "spread", "microprice", "imb_1", "depth_bid", "depth_ask", "imb_depth",
    "bid_px_chg", "ask_px_chg", "ofi", "trade_buy_qty", "trade_sell_qty", "trade_qty", "trade_signed_qty",
    "trade_count",
)
_LEVEL_RE = re.compile(r"^(bid|ask)_(px|qty)_([1-9][0-9]?)$")


def is_feature_name(name: str) -> bool:
    """True for a catalogue column an alpha may request (forward returns are never an input)."""
    if name in FIXED_FEATURES:
        return True
    m = _LEVEL_RE.match(name)
    return bool(m) and int(m.group(3)) <= MAX_LEVELS


def level_of(name: str) -> int:
    """The level a per-level column refers to (0 for the other columns)."""
    m = _LEVEL_RE.match(name)
    return int(m.group(3)) if m else 0


@dataclass(frozen=True)
class FeatureSpec:
    """What to compute.

    Attributes:
        levels: book levels per side in the output (1..50; LOBSTER: at most the file's level count).
        sampling: ``"event"`` (every FLAG_EOM event) or a duration such as ``"100ms"`` / ``"1s"``.
        horizons: forward-return horizons: positive ints (rows) for event time; durations (``"1s"``), each a
            multiple of the step, for clock sampling.
    """
    levels: int = 5
    sampling: str = "event"
    horizons: tuple[int | str, ...] = field(default=(1, 10, 100))

    def __post_init__(self) -> None:
        if isinstance(self.levels, bool) or not isinstance(self.levels, int) or not 1 <= self.levels <= MAX_LEVELS:
            raise ConfigError(f"features.levels: expected an integer in [1, {MAX_LEVELS}], was {self.levels!r}",
                              key="features.levels")
        if not isinstance(self.sampling, str):
            raise ConfigError(f"features.sampling: expected 'event' or a duration like '100ms', was "
                              f"{self.sampling!r}", key="features.sampling")
        if not isinstance(self.horizons, tuple):
            object.__setattr__(self, "horizons", tuple(self.horizons))
        if not self.horizons:
            raise ConfigError("features.horizons: expected at least one horizon, was none", key="features.horizons")
        step = self.step_ns  # validates sampling
        names = set()
        for h in self.horizons:
            if step is None:
                if isinstance(h, bool) or not isinstance(h, int) or h < 1:
                    raise ConfigError(f"features.horizons: expected positive integers (rows) for event-time "
                                      f"sampling, was {h!r}", key="features.horizons")
            else:
                if not isinstance(h, str):
                    raise ConfigError(f"features.horizons: expected durations like '1s' for clock sampling, "
                                      f"was {h!r}", key="features.horizons")

                ns = parse_duration_ns(h, key="features.horizons")
                if ns <= 0 or ns % step:
                    raise ConfigError(f"features.horizons: expected a positive multiple of the step "
                                      f"{self.sampling}, was {h!r}", key="features.horizons")
            names.add(horizon_column(h))
        if len(names) != len(self.horizons):
            raise ConfigError(f"features.horizons: expected distinct horizons, was {list(self.horizons)}",
                              key="features.horizons")

    @property
    def step_ns(self) -> int | None:
        """The clock step in ns, or None for event time."""
        if self.sampling == "event":
            return None

        ns = parse_duration_ns(self.sampling, key="features.sampling")
        if ns <= 0:
            raise ConfigError(f"features.sampling: expected 'event' or a positive duration, was "
                              f"{self.sampling!r}", key="features.sampling")
        return ns

    def horizon_rows(self) -> list[int]:
        """Each horizon as a number of rows."""
        step = self.step_ns
        if step is None:
            return [int(h) for h in self.horizons]

        return [parse_duration_ns(h) // step for h in self.horizons]

    def to_dict(self) -> dict[str, Any]:
        return {"levels": self.levels, "sampling": self.sampling, "horizons": list(self.horizons)}


def horizon_column(h: int | str) -> str:
    """Column name of the forward return at horizon `h` (``fwd_ret_10``, ``fwd_ret_1s``)."""
    return f"fwd_ret_{str(h).strip()}"
