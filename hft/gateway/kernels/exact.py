"""Exact int64 arithmetic for the kernels: sums, differences and products that say when they do not fit, instead
of wrapping.

Why: numba marks every signed integer add / sub / mul ``nsw`` (no signed wrap), so a signed overflow is undefined
behaviour to LLVM, which may then answer differently per CPU target (docs/architecture.md, rule 13). These helpers compute in uint64,
whose arithmetic modulo 2**64 is defined, and test the result; nothing here wraps, divides by zero or shifts by 64
or more. Every value they return is within ``[-I64_MAX, I64_MAX]``: ``I64_MIN`` is never produced (a value
held in the arena can then always be negated, and its `abs` taken).

- `add_ok`, `sub_ok`, `mul_ok`: ``(value, True)``, or ``(0, False)`` when the exact result is outside
  ``[-I64_MAX, I64_MAX]``. Operands: any int64.
- `sat_add`, `since`: a sum / a difference clamped to ``[-I64_MAX, I64_MAX]`` (exact whenever it fits; a clamped
  one still compares correctly against any bound within the range: time windows, expiries).
- `mul_cmp_gt`: ``a * b > c * d`` exactly, for non-negative operands.
- `mul_div_trunc`: ``trunc(a * b / d)`` exactly for ``|a| <= I64_MAX``, ``0 <= b <= d``, ``d > 0`` (the result
  then fits: its magnitude is at most ``|a|``).
- `sum3_lt`: ``a + b - c < t`` exactly, for any int64 operands.
- `umul128`, `udiv128`: the 128-bit product of two uint64 and the quotient of a 128-bit dividend by a uint64.

`add_ok`, `sub_ok` and `mul_ok` use LLVM's overflow intrinsics (``llvm.sadd/ssub/smul.with.overflow.i64``: an
add, sub or imul and its overflow flag), the others uint64 arithmetic.

Everything here is inlined at its callers and compiled without NRT (it never allocates). Tested against Python's
integers at the extremes (`tests/unit/gateway/test_gw_exact.py`).
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import intrinsic

from hft.core.jit import helper, njit

_kernel = njit(cache=True, _nrt=False)

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_S32 = np.uint64(32)
_S63 = np.uint64(63)
_M32 = np.uint64(0xFFFFFFFF)
_SMALL = 0x7FFFFFFF  # factors up to this multiply without any test (|a * b| < 2**62)


def _overflow_op(name):
    """An intrinsic ``op(a, b) -> (result, overflowed)`` on two int64 through LLVM's ``llvm.<name>.with.overflow.i64``
    (one instruction and its overflow flag on x86-64: ``add`` / ``sub`` / ``imul`` then ``seto``). No precondition:
    defined for every pair of int64 (the result wraps modulo 2**64 and the flag says so; nothing is poison)."""

    def typer(typingctx, a, b):
        if a != types.int64 or b != types.int64:
            return None

        def codegen(context, builder, signature, args):
            res = getattr(builder, f"{name}_with_overflow")(args[0], args[1])
            return context.make_tuple(builder, signature.return_type,
                                      [builder.extract_value(res, 0), builder.extract_value(res, 1)])

        return types.Tuple((types.int64, types.boolean))(a, b), codegen

    typer.__name__ = f"_{name}_ovf"
    return intrinsic(typer)


_sadd = _overflow_op("sadd")
_ssub = _overflow_op("ssub")
_smul = _overflow_op("smul")


@helper
def add_ok(a, b):
    """``(a + b, True)`` when the sum lies within ``[-I64_MAX, I64_MAX]``, else ``(0, False)``."""
    s, o = _sadd(np.int64(a), np.int64(b))
    if o or s == I64_MIN:
        return np.int64(0), False
    return s, True


@helper
def sub_ok(a, b):
    """``(a - b, True)`` when the difference lies within ``[-I64_MAX, I64_MAX]``, else ``(0, False)``."""
    d, o = _ssub(np.int64(a), np.int64(b))
    if o or d == I64_MIN:
        return np.int64(0), False
    return d, True


@helper
def _mag(a):
    """``|a|`` as uint64 (exact for every int64, ``I64_MIN`` included: 2**63)."""
    return np.uint64(a) if a >= 0 else _ZERO - np.uint64(a)


@helper
def umul128(a, b):
    """The 128-bit product of uint64 `a` and `b` as ``(high, low)`` uint64 words (schoolbook on 32-bit halves)."""
    a0 = a & _M32
    a1 = a >> _S32
    b0 = b & _M32
    b1 = b >> _S32
    p00 = a0 * b0
    p01 = a0 * b1
    p10 = a1 * b0
    mid = (p00 >> _S32) + (p01 & _M32) + (p10 & _M32)  # < 3 * 2**32: no carry lost
    lo = (mid << _S32) | (p00 & _M32)
    hi = a1 * b1 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32)
    return hi, lo


@_kernel
def udiv128(hi, lo, d):
    """``(hi * 2**64 + lo) // d`` for uint64 words with ``0 < d < 2**63`` and ``hi < d`` (so the quotient fits a
    uint64): restoring division, one bit a step (the remainder stays below ``d``, so its shift never carries out)."""
    r = hi
    q = _ZERO
    for _ in range(64):
        r = (r << _ONE) | (lo >> _S63)
        lo = lo << _ONE
        q = q << _ONE
        if r >= d:
            r -= d
            q |= _ONE
    return q


@helper
def mul_ok(a, b):
    """``(a * b, True)`` when the product lies within ``[-I64_MAX, I64_MAX]``, else ``(0, False)``."""
    p, o = _smul(np.int64(a), np.int64(b))
    if o or p == I64_MIN:
        return np.int64(0), False
    return p, True


@helper
def sat_add(a, b):
    """``a + b`` clamped to ``[-I64_MAX, I64_MAX]``."""
    s, ok = add_ok(a, b)
    if ok:
        return s
    return I64_MAX if b > 0 else -I64_MAX


@helper
def since(now, then):
    """``now - then`` clamped to ``[-I64_MAX, I64_MAX]`` (time elapsed; a sentinel such as ``I64_MIN`` for "never"
    reads as the longest time ago)."""
    d, ok = sub_ok(now, then)
    if ok:
        return d
    return I64_MAX if now > then else -I64_MAX


@helper
def mul_cmp_gt(a, b, c, d):
    """``a * b > c * d`` exactly, for ``a, b, c, d >= 0``."""
    if a <= _SMALL and b <= _SMALL and c <= _SMALL and d <= _SMALL:
        return a * b > c * d
    h1, l1 = umul128(np.uint64(a), np.uint64(b))
    h2, l2 = umul128(np.uint64(c), np.uint64(d))
    return h1 > h2 or (h1 == h2 and l1 > l2)


@helper
def mul_div_trunc(a, b, d):
    """``trunc(a * b / d)`` exactly (rounded toward zero), for ``|a| <= I64_MAX``, ``0 <= b <= d`` and ``d > 0``: the
    share `b` / `d` of `a` (a cost basis for a part of a position). Its magnitude is at most ``|a|``."""
    ua = _mag(a)
    hi, lo = umul128(ua, np.uint64(b))
    q = lo // np.uint64(d) if hi == _ZERO else udiv128(hi, lo, np.uint64(d))  # hi < d: ua * b < 2**63 * d
    v = np.int64(q)
    return v if a >= 0 else -v


@helper
def _wide(x):
    """`x` as a 128-bit two's complement pair (high: 0 or -1, low: uint64)."""
    return np.int64(-1 if x < 0 else 0), np.uint64(x)


@helper
def sum3_lt(a, b, c, t):
    """``a + b - c < t`` exactly, for any int64 operands (the daily PnL ``realised + marked - cost`` against a loss
    limit, whatever the books hold)."""
    s, ok1 = add_ok(a, b)
    d, ok2 = sub_ok(s, c)
    if ok1 and ok2:  # (the usual case: the sum fits)
        return d < t
    ha, la = _wide(a)
    hb, lb = _wide(b)
    hc, lc = _wide(c)
    ht, lt = _wide(t)
    ls = la + lb  # modulo 2**64: the carry goes to the high word
    hs = ha + hb + (1 if ls < la else 0)
    ld = ls - lc
    hd = hs - hc - (1 if ls < lc else 0)  # |high words| <= 3: no overflow
    return hd < ht or (hd == ht and ld < lt)
