"""Per-epoch sample order: a seeded Fisher-Yates shuffle in Numba.

Each epoch's permutation is a pure function of (seed, epoch), so a model
continues identically after pickling or across ``partial_fit`` calls, and no
global random state is shared between threads. It also costs a fraction of
building a NumPy ``Generator`` per epoch, which dominated small ``partial_fit``
calls.

:func:`shuffled_block_order` shuffles runs of consecutive rows instead of
rows (the ``shuffle="blocks"`` option), so that a mini-batch reads its rows in
sequence.
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


# The two helpers are inlined into the orders (Numba IR): as kernels of their
# own each added a compilation to a process's first shuffled fit.
@kernel(fastmath=False, error_model="python", inline="always")
def _epoch_state(seed, epoch):
    """The generator's state at the start of epoch ``epoch`` of the fit seeded ``seed``."""
    state, _ = _splitmix64(uint64(seed) * uint64(_GOLDEN) + uint64(epoch))
    return state


@kernel(fastmath=False, error_model="python", inline="always")
def _permute(items, state):
    """Shuffle ``items`` in place (Fisher-Yates) from ``state``; returns the next state."""
    for i in range(items.shape[0] - 1, 0, -1):
        state, bits = _splitmix64(state)
        # Lemire's multiply-shift would avoid the modulo bias; for n < 2**32 the
        # bias of a 64-bit modulo is below 2**-32 and immaterial here.
        j = bits % uint64(i + 1)
        tmp = items[i]
        items[i] = items[j]
        items[j] = tmp
    return state


@kernel(fastmath=False, error_model="python")
def shuffled_order(order, seed, epoch):
    """Fill ``order`` with a permutation of 0..n-1 determined by (seed, epoch)."""
    for i in range(order.shape[0]):
        order[i] = i
    _permute(order, _epoch_state(seed, epoch))


@kernel(fastmath=False, error_model="python")
def shuffled_block_order(order, seed, epoch, block):
    """Fill ``order`` with 0..n-1 in runs of at most ``block`` consecutive rows, the
    runs in random order; both the runs' boundaries and their order are
    determined by (seed, epoch).

    The runs start at ``offset + k * block`` for an offset drawn each epoch in
    [0, block) (the first and last runs shorter), so that a mini-batch of
    ``block`` rows does not hold the same rows every epoch: with fixed runs the
    mini-batch fits of the tests stalled short of their certificate.
    """
    n = order.shape[0]
    if block <= 1 or n == 0:
        # Runs of one row: the full shuffle itself (``shuffle=True``'s order).
        shuffled_order(order, seed, epoch)
        return
    state, bits = _splitmix64(_epoch_state(seed, epoch))
    offset = np.int64(bits % uint64(block))
    # Run r covers [offset + (r - 1) * block, offset + r * block) within [0, n).
    n_runs = (n - offset + block - 1) // block + 1
    runs = np.empty(n_runs, dtype=np.int64)
    for r in range(n_runs):
        runs[r] = r
    _permute(runs, state)
    pos = 0
    for r in range(n_runs):
        first = offset + (runs[r] - 1) * block
        for i in range(max(first, 0), min(first + block, n)):
            order[pos] = i
            pos += 1


if config.DISABLE_JIT:
    # As plain Python (NUMBA_DISABLE_JIT=1) the uint64 arithmetic is NumPy's,
    # which warns where it wraps around; wrapping is what SplitMix64 means.
    def _wrapping(func):
        @functools.wraps(func)
        def wrapped(*args):
            with np.errstate(over="ignore"):
                return func(*args)
        return wrapped

    _splitmix64 = _wrapping(_splitmix64)
    _epoch_state = _wrapping(_epoch_state)
