"""Gate A's fresh copy of an alpha (`fresh_alpha`): nothing the alpha kept reaches the copy, and its own numba
kernels are not compiled again for each of the ~40 recomputes of a validation."""

from __future__ import annotations

import textwrap

import numpy as np
import polars as pl

from hft.alpha.api.registry import fresh_alpha, get_alpha

ALPHA = textwrap.dedent("""\
    import numpy as np
    import polars as pl
    from numba import njit, objmode

    from hft.alpha.api.base import Alpha

    _MEMO = {}


    @njit
    def _double(x):
        return x * 2.0


    @njit
    def _via_python(x):
        with objmode(y="float64"):
            y = float(x) + 1.0
        return y


    class Kern(Alpha):
        alpha_id = "kern_alpha"
        version = "1.0.0"
        features = ("imb_1",)

        def compute(self, f):
            _MEMO[f.height] = True
            return pl.Series(_double(f["imb_1"].to_numpy()))
    """)


def _alpha(tmp_path):
    d = tmp_path / "alphas" / "kern_alpha"
    d.mkdir(parents=True)
    (d / "alpha.py").write_text(ALPHA)
    return get_alpha("kern_alpha", root=tmp_path)


def test_the_fresh_copy_shares_compiled_kernels_and_nothing_else(tmp_path):
    alpha = _alpha(tmp_path)
    frame = pl.DataFrame({"ts": [1, 2, 3], "imb_1": [0.1, -0.2, 0.3]})
    first = alpha.compute(frame)
    original = type(alpha).compute.__globals__
    assert len(original["_double"].signatures) == 1

    copy = fresh_alpha(alpha)
    fresh = type(copy).compute.__globals__
    assert fresh is not original and type(copy) is not type(alpha)
    assert fresh["_MEMO"] == {} and original["_MEMO"] == {3: True}  # the memo stays behind
    assert fresh["_double"] is original["_double"]  # the compiled kernel is reused ...
    np.testing.assert_array_equal(copy.compute(frame).to_numpy(), first.to_numpy())
    assert len(original["_double"].signatures) == 1  # ... and not compiled again
    # an object-mode block runs Python, which could reach what the original kept: that kernel is compiled afresh
    assert fresh["_via_python"] is not original["_via_python"]
    assert fresh["_via_python"](1.0) == original["_via_python"](1.0) == 2.0
