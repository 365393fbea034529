"""Per-epoch sample order: a seeded Fisher-Yates shuffle in Numba.

Each epoch's permutation is a pure function of (seed, epoch), so a model
continues identically after pickling or across ``partial_fit`` calls, and no
global random state is shared between threads. It also costs a fraction of
building a NumPy ``Generator`` per epoch, which dominated small ``partial_fit``
calls.
"""

import functools

import numpy as np
from numba import config, uint64

from ._jit import kernel

_MIX_1 = 0xBF58476D1CE4E5B9
_MIX_2 = 0x94D049BB133111EB
_GOLDEN = 0x9E3779B97F4A7C15


@kernel(fastmath=False, error_model="python")
def _splitmix64(state):
    """Return (next state, 64 random bits): Steele et al.'s SplitMix64."""
    state = uint64(state + uint64(_GOLDEN))
    z = state
    z = uint64((z ^ (z >> uint64(30))) * uint64(_MIX_1))
    z = uint64((z ^ (z >> uint64(27))) * uint64(_MIX_2))
    return state, z ^ (z >> uint64(31))


@kernel(fastmath=False, error_model="python")
def shuffled_order(order, seed, epoch):
    """Fill ``order`` with a permutation of 0..n-1 determined by (seed, epoch)."""
    n = order.shape[0]
    for i in range(n):
        order[i] = i
    state, _ = _splitmix64(uint64(seed) * uint64(_GOLDEN) + uint64(epoch))
    for i in range(n - 1, 0, -1):
        state, bits = _splitmix64(state)
        # Lemire's multiply-shift would avoid the modulo bias; for n < 2**32 the
        # bias of a 64-bit modulo is below 2**-32 and immaterial here.
        j = bits % uint64(i + 1)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


if config.DISABLE_JIT:
    # As plain Python (NUMBA_DISABLE_JIT=1) the uint64 arithmetic is NumPy's,
    # which warns where it wraps around; wrapping is what SplitMix64 means.
    _python_shuffled_order = shuffled_order

    @functools.wraps(_python_shuffled_order)
    def shuffled_order(order, seed, epoch):  # noqa: F811
        with np.errstate(over="ignore"):
            _python_shuffled_order(order, seed, epoch)
