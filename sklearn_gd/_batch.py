"""Full-batch gradients over row blocks, in threads, with a result independent of them.

The Numba kernels release the GIL, so plain Python threads run the blocks in
parallel; unlike Numba's own parallel backend this stays safe when several
estimators fit at once in different threads. The rows are always cut into the
same blocks and the block sums are added in block order, so the model does not
depend on the number of threads.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from joblib import effective_n_jobs

from ._kernels import loops as K
from ._kernels.optimizers import OPT_NORMALIZED

# Below this many multiply-adds a batch gradient is not worth splitting.
_PARALLEL_MIN_WORK = 1 << 18
_N_BLOCKS = 8
_POOL = None
_POOL_LOCK = threading.Lock()


def _thread_pool():
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                       thread_name_prefix="sklearn_gd")
        return _POOL


class BlockGradient:
    """Weighted loss sum and per-block gradient sums of all rows at ``params``.

    ``rows`` are the training rows (``_base._Rows``). After a call,
    ``grads[b]`` holds the gradient sum of block ``b``.
    """

    def __init__(self, rows, targets, sample_weight, params, codes, hyper, n_jobs):
        self.args = (rows.data, targets, sample_weight, params, codes, hyper)
        self.batch_gradient = K.batch_gradient_kernel(codes, params.shape[0])
        n = self.n = rows.n_samples
        n_blocks = _N_BLOCKS if rows.nnz * params.shape[0] >= _PARALLEL_MIN_WORK else 1
        n_blocks = min(n_blocks, max(n, 1))
        self.bounds = np.linspace(0, n, n_blocks + 1).astype(np.int64)
        self.grads = np.empty((n_blocks,) + params.shape, dtype=params.dtype)
        self.buffers = [(np.empty(params.shape[0]), np.empty(params.shape[0]))
                        for _ in range(n_blocks)]
        self.block_losses = np.zeros(n_blocks)
        workers = effective_n_jobs(n_jobs) if n_jobs is not None else (os.cpu_count() or 1)
        self.n_workers = max(1, min(workers, n_blocks))

    def _blocks(self, blocks):
        X, targets, sample_weight, params, codes, hyper = self.args
        for b in blocks:
            scores, dscores = self.buffers[b]
            self.block_losses[b] = self.batch_gradient(
                X, targets, sample_weight, int(self.bounds[b]), int(self.bounds[b + 1]),
                params, self.grads[b], scores, dscores, codes, hyper)

    def __call__(self):
        """Return the weighted loss sum; the gradient sums are left in ``grads``."""
        n_blocks = self.grads.shape[0]
        if self.n_workers == 1:
            self._blocks(range(n_blocks))
        else:
            chunks = np.array_split(np.arange(n_blocks), self.n_workers)
            pool = _thread_pool()
            futures = [pool.submit(self._blocks, chunk) for chunk in chunks[1:]]
            self._blocks(chunks[0])
            for future in futures:
                future.result()
        return float(np.sum(self.block_losses))


class BatchEpoch:
    """One full-batch gradient step, as ``(epoch, t) -> (loss_sum, t, status)``.

    For ``optimizer="normalized"`` the per-feature scales come from the data
    when the epochs start: every step sees all the rows, so each is one
    update whose row norm is the rows' mean (see ``loops.batch_row_scales``).
    """

    def __init__(self, rows, targets, sample_weight, params, m1, m2, codes, hyper, n_jobs):
        self.gradient = BlockGradient(rows, targets, sample_weight, params, codes, hyper,
                                      n_jobs)
        self.params, self.m1, self.m2 = params, m1, m2
        self.codes, self.hyper = codes, hyper
        self.mean_norm = None
        if codes[K.C_OPTIMIZER] == OPT_NORMALIZED:
            self.mean_norm = K.batch_row_scales(rows.data, rows.n_samples, params, m1) \
                + (1.0 if codes[K.C_FIT_INTERCEPT] else 0.0)

    def __call__(self, epoch, t):
        loss_sum = self.gradient()
        if not np.isfinite(loss_sum):
            return loss_sum, t, K.STATUS_DIVERGED
        t = int(t) + 1
        if self.mean_norm is not None:
            K.note_mean_norm(self.m1, self.mean_norm, t)
        status = K.batch_update(self.params, self.gradient.grads, float(self.gradient.n),
                                self.m1, self.m2, t, self.codes, self.hyper)
        return loss_sum, t, status
