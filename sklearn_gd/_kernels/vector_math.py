"""``exp(-x)`` and ``log1p(e)`` in plain arithmetic, so that loops over many rows vectorise.

Numba compiles ``math.exp`` and ``math.log1p`` to calls into the C library, one
value at a time (its vectorised SVML routines need Intel's ``icc_rt``, which a
pip install does not bring). In the batch gradient of the log loss those two
calls were most of a pass over sparse one-hot rows. Written as polynomials and
selects, LLVM vectorises a loop over a block of margins (AVX2: four at once):
``losses.log_loss_rows``.

Both are accurate to a few units in the last place on their whole domain
(``tests/test_vector_math.py`` checks them against NumPy's): ``exp_neg`` by
Cody and Waite's reduction ``x = k ln 2 - r`` with a two-part ``ln 2`` and
Taylor's series of ``exp(r)`` to degree 13 on ``|r| <= ln 2 / 2``; ``log1p_unit``
by ``log1p(e) = 2 atanh(e / (2 + e))``, halving ``1 + e`` above ``sqrt 2`` so
that the series' argument stays under 0.18. NaN goes through as NaN, which the
divergence checks rely on.

These functions are compiled with ``contract`` as their only fast-math flag:
reassociation would fold the two parts of ``ln 2`` into one and lose the
reduction's precision. LLVM inlines them into the loops that call them and
keeps each instruction's own flags.
"""

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.extending import intrinsic

from ._jit import kernel

_exact = kernel(fastmath={"contract"}, error_model="numpy")

_LOG2_E = 1.4426950408889634
# fdlibm's split of ln 2: k * _LN2_HI is exact for |k| < 2**20.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LN2 = 0.6931471805599453
_SQRT2_M1 = 0.41421356237309503
# exp(-x) rounds to 0 in float64 above 745.13 (the smallest subnormal is exp(-744.44)).
_EXP_LIMIT = 746.0


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose bit pattern is the int64 ``bits`` (a free reinterpretation)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    if isinstance(bits, types.Integer):
        return types.float64(types.int64), codegen
    return None


if config.DISABLE_JIT:
    # Plain Python (NUMBA_DISABLE_JIT=1) cannot call an intrinsic.
    def _float_from_bits(bits):  # noqa: F811
        """Stand-in for the intrinsic when Numba compiles nothing."""
        import struct
        return struct.unpack("<d", struct.pack("<q", int(bits)))[0]


@_exact
def exp_neg(x):
    """``exp(-x)`` for ``x >= 0``."""
    # Written so that NaN fails the test and goes on as NaN.
    x = _EXP_LIMIT if x > _EXP_LIMIT else x
    k = np.rint(x * _LOG2_E)
    r = (k * _LN2_HI - x) + k * _LN2_LO  # -x = -k ln 2 + r, |r| <= ln 2 / 2
    p = 1.0 / 6227020800.0  # 1/13!
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2**-k in two factors: k reaches 1075, past the smallest normal exponent.
    n = int(k) if k == k else 0
    half = n >> 1
    return p * _float_from_bits((1023 - half) << 52) * _float_from_bits((1023 - n + half) << 52)


@_exact
def log1p_unit(e):
    """``log1p(e)`` for ``0 <= e <= 1``."""
    big = e > _SQRT2_M1
    t = (e - 1.0) * 0.5 if big else e  # log1p(e) = ln 2 + log1p((e - 1) / 2) above
    s = t / (2.0 + t)
    s2 = s * s
    p = 1.0 / 25.0
    p = p * s2 + 1.0 / 23.0
    p = p * s2 + 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    value = 2.0 * s + 2.0 * s * (s2 * p)
    return value + _LN2 if big else value

