"""Counter-based deterministic randomness for kernels.

`splitmix64(seed, counter)` gives the same 64-bit value for the same (seed, counter) in any process, any
order of evaluation and any PYTHONHASHSEED, so a random latency drawn "for order n" never depends on how many
other draws happened before it. It is SplitMix64 (Steele, Lea & Flood 2014) evaluated at state
``seed + (counter + 1) * golden``; all arithmetic is explicitly uint64 (numba would otherwise promote mixed
int64/uint64 arithmetic to float64).
"""

from __future__ import annotations

import numpy as np

from hft.core.jit import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


@njit(cache=True)
def splitmix64(seed: int, counter: int) -> np.uint64:
    """A well-mixed uint64 from a seed and a counter (both taken modulo 2**64)."""
    z = np.uint64(seed) + (np.uint64(counter) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def uniform01(seed: int, counter: int) -> float:
    """A float in [0, 1) from (seed, counter), using the top 53 bits."""
    return float(splitmix64(seed, counter) >> _S11) * (1.0 / 9007199254740992.0)
