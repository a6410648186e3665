"""`hft.core.jit.njit`: a helper called from kernels with different constants is compiled once, for plain types."""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types

from hft.core.jit import njit


def test_constants_from_a_caller_share_one_specialisation() -> None:
    @njit
    def helper(out, k, v):
        out[k] += v
        return out[k]

    @njit(cache=False)
    def caller(out):
        return helper(out, 0, 5) + helper(out, 1, 7) + helper(out, 2, True) + helper(out, 0, 1)

    out = np.zeros(3, np.int64)
    assert caller(out) == 5 + 7 + 1 + 6
    assert out.tolist() == [6, 7, 1]
    sigs = helper.signatures
    assert not any(isinstance(a, types.Literal) for sig in sigs for a in sig), sigs
    # (out, int64, int64) for the ints and (out, int64, bool) for True: plain types, no copy per value
    assert len(sigs) == 2, sigs


def test_numba_alone_would_specialise_per_constant() -> None:
    """The behaviour `njit` removes (if numba stops doing this, the wrapper can go)."""

    @numba.njit
    def helper(k):
        return k + 1

    @numba.njit
    def caller():
        return helper(1) + helper(2)

    assert caller() == 5
    assert len(helper.signatures) == 2


def test_signature_and_options_forms() -> None:
    add = njit("int64(int64, int64)", cache=False)(lambda a, b: a + b)
    assert add(2, 3) == 5
    inc = njit(lambda a: a + 1)
    assert inc(1) == 2

    @njit(cache=False)
    def use():
        return add(1, 2) + inc(3)

    assert use() == 7
    assert all(not isinstance(a, types.Literal) for sig in inc.signatures for a in sig)
