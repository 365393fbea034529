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

from ._kernels import loops as builtin_loops
from ._kernels.loops import C_FIT_INTERCEPT, C_OPTIMIZER, H_L2, H_MOMENTUM, STATUS_DIVERGED
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


def _forget_pool_after_fork():
    """Start the forked child without the parent's pool.

    Only the forking thread survives ``os.fork()``: the pool object copied
    into the child believes its worker threads exist, so work submitted there
    would wait forever (multiprocessing's fork start method, preloaded gunicorn
    and Celery prefork workers all fork a process that may have fitted). The
    lock may also have been held by another thread at the fork. The child
    builds a fresh pool on first use; the parent's is untouched.
    """
    global _POOL, _POOL_LOCK
    _POOL = None
    _POOL_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


class BlockGradient:
    """Weighted loss sum and per-block gradient sums of all rows at ``params``.

    ``rows`` are the training rows (``_base._Rows``). After a call,
    ``grads[b]`` holds the gradient sum of block ``b``. ``kernel`` replaces
    the loss's gradient pass by another of the same arguments (SVRG's
    snapshot pass).
    """

    def __init__(self, rows, targets, sample_weight, params, codes, hyper, n_jobs,
                 loops=builtin_loops, kernel=None):
        self.args = (rows.data, targets, sample_weight, params, codes, hyper)
        self.batch_gradient = kernel or loops.batch_gradient_kernel(codes, params.shape[0])
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


class FullGradient:
    """``params -> (weighted loss sum, gradient sum)`` over all rows, at any weights.

    The certificates of convergence (``_convergence``) evaluate points other
    than the current weights; this copies each into a buffer of its own.
    """

    def __init__(self, rows, targets, sample_weight, like, codes, hyper, n_jobs=None,
                 loops=builtin_loops):
        self.buffer = np.empty_like(like)
        self.gradient = BlockGradient(rows, targets, sample_weight, self.buffer, codes, hyper,
                                      n_jobs, loops)

    def __call__(self, params):
        self.buffer[...] = params
        loss_sum = self.gradient()
        return loss_sum, self.gradient.grads.sum(axis=0, dtype=np.float64)


# The kernels' step scales when there is no preconditioner (see loops.apply_gradient).
# Writable, as preconditioner_ is: a read-only array is another type to Numba,
# hence another compile of every loop that takes it.
NO_STEP_SCALES = np.empty(0)


class MomentumRestart:
    """The batch loop's gradient restart of momentum, with a ramp of the momentum after it.

    The gradient restart of O'Donoghue & Candes (2015): the weights move by
    ``-lr * p * velocity`` (``p`` the preconditioner, 1 without one), so once
    the gradient at the new weights makes a negative product with that
    direction, momentum is carrying the weights past the minimum along it, and
    starting over from a plain step is faster than letting it swing back.
    After a restart the momentum of update ``k`` is ``min(momentum, (k - 1) /
    (k + 2))``, the schedule of Nesterov's method: the first update is a
    plain step, and on a well-conditioned problem, which plain descent solves
    in a few steps, the velocity never grows large before the next restart.
    Without the ramp, heavy ball at ``momentum=0.9`` overshot from its first
    updates (22 epochs against plain descent's 6 on standardized least
    squares), and Nesterov's first step after a restart was ``1 + momentum``
    times the plain one, which made repeated restarts diverge.

    It reads only the optimizer state (the velocity, and the count in
    ``state.momentum_steps``), so ``fit``, ``warm_start`` and repeated
    ``partial_fit`` restart alike. Used for heavy ball and Nesterov without L1
    (see ``BaseGD._momentum_restart``).
    """

    def __init__(self, state, hyper, momentum, step_scales=None):
        self.state, self.hyper = state, hyper
        self.momentum = float(momentum)
        self.step_scales = step_scales if step_scales is not None and len(step_scales) \
            else None

    def __call__(self, grads, velocity, params, n_samples):
        """Before an update: drop ``velocity`` if it points uphill, set the momentum.

        ``grads`` holds the sum over the rows of the loss gradient at
        ``params``, summed over its first axis (row blocks); the L2 term is
        added here, so the test sees the gradient of the objective.
        """
        direction = velocity if self.step_scales is None else velocity * self.step_scales
        gradient = grads.sum(axis=0, dtype=np.float64) / n_samples
        gradient[:, :-1] += self.hyper[H_L2] * params[:, :-1]
        if float(np.sum(gradient * direction)) < 0.0:
            velocity[...] = 0.0
            self.state.momentum_steps = 0
        self.state.momentum_steps += 1
        k = self.state.momentum_steps
        self.hyper[H_MOMENTUM] = min(self.momentum, (k - 1.0) / (k + 2.0))


class BatchEpoch:
    """One full-batch gradient step, as ``(epoch, t) -> (loss_sum, t, status)``.

    ``last_gradient`` is (weights before the step, loss sum, gradient sum) of
    the latest call: the stopping rule's certificate, at no extra pass.

    For ``optimizer="normalized"`` the per-feature scales come from the data
    when the epochs start: every step sees all the rows, so each is one
    update whose row norm is the rows' mean (see ``loops.batch_row_scales``).
    """

    def __init__(self, rows, targets, sample_weight, params, m1, m2, codes, hyper, n_jobs,
                 restart=None, step_scales=NO_STEP_SCALES, loops=builtin_loops):
        self.gradient = BlockGradient(rows, targets, sample_weight, params, codes, hyper,
                                      n_jobs, loops)
        self.params, self.m1, self.m2 = params, m1, m2
        self.codes, self.hyper = codes, hyper
        self.restart = restart
        self.step_scales = step_scales
        self.before = np.empty_like(params)
        self.grad_sum = np.empty_like(params)
        self.mean_norm = None
        if codes[C_OPTIMIZER] == OPT_NORMALIZED:
            self.mean_norm = builtin_loops.batch_row_scales(
                rows.data, rows.n_samples, sample_weight, params, m1) \
                + (1.0 if codes[C_FIT_INTERCEPT] else 0.0)

    def __call__(self, epoch, t):
        loss_sum = self.gradient()
        if not np.isfinite(loss_sum):
            return loss_sum, t, STATUS_DIVERGED
        t = int(t) + 1
        # Kept buffers, not copies: one epoch on small data is a few microseconds.
        np.copyto(self.before, self.params)
        if self.restart is not None:
            self.restart(self.gradient.grads, self.m1, self.params, float(self.gradient.n))
        if self.mean_norm is not None:
            builtin_loops.note_mean_norm(self.m1, self.mean_norm, t)
        status = builtin_loops.batch_update(
            self.params, self.gradient.grads, float(self.gradient.n), self.m1, self.m2,
            self.step_scales, t, self.codes, self.hyper)
        # batch_update leaves the sum of the block gradients in block 0.
        np.copyto(self.grad_sum, self.gradient.grads[0])
        self.last_gradient = (self.before, loss_sum, self.grad_sum)
        return loss_sum, t, status
