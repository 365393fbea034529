"""The epoch of ``optimizer="svrg"``: a snapshot pass, then one pass of SVRG steps.

See ``_kernels/variance_reduced.py`` for the method. The snapshot pass runs in
the batch gradient's row blocks and threads (``_batch.BlockGradient``), so its
sums do not depend on the thread count; the steps take one sample
(``solver="stochastic"``) or ``batch_size`` samples (``solver="minibatch"``) at
a time in the epoch's shuffled order.
"""

import numpy as np

from ._batch import BlockGradient
from ._kernels.loops import STATUS_DIVERGED
from ._kernels.variance_reduced import snapshot_kernel, svrg_epoch


class SVRGEpoch:
    """One SVRG epoch, as ``(epoch, t) -> (loss_sum, t, status)`` (cf. ``BatchEpoch``).

    The loss sum is that of the weights the epoch starts from (the snapshot),
    measured before its steps, as the batch loop's; ``last_gradient`` is
    (those weights, loss sum, gradient sum): the stopping rule's certificate
    at no extra pass. ``order_of(epoch)`` gives the epoch's row order, each
    step takes ``batch_size`` samples of it. Keeps one derivative per sample
    and output (``n_samples x n_outputs`` floats).
    """

    def __init__(self, rows, targets, sample_weight, params, codes, hyper, n_jobs,
                 order_of, batch_size=1):
        n_outputs = params.shape[0]
        self.snapshot = snapshot = np.empty((rows.n_samples, n_outputs))

        kernel = snapshot_kernel(codes, n_outputs)

        def snapshot_pass(*args):
            return kernel(*args, snapshot)

        self.gradient = BlockGradient(rows, targets, sample_weight, params, codes, hyper,
                                      n_jobs, kernel=snapshot_pass)
        self.args = (rows.data, targets, sample_weight)
        self.params, self.codes, self.hyper = params, codes, hyper
        self.order_of = order_of
        self.n = rows.n_samples
        self.mean_grad = np.empty_like(params)
        self.before = np.empty_like(params)
        self.scores = np.empty(n_outputs)
        self.dscores = np.empty(n_outputs)
        self.batch_size = int(batch_size)
        self.corrections = np.empty((self.batch_size, n_outputs))
        self.updates = -(-self.n // self.batch_size)

    def __call__(self, epoch, t):
        loss_sum = self.gradient()
        if not np.isfinite(loss_sum):
            return loss_sum, t, STATUS_DIVERGED
        np.copyto(self.before, self.params)
        grad_sum = self.gradient.grads.sum(axis=0, dtype=np.float64)
        self.last_gradient = (self.before, loss_sum, grad_sum)
        # The weights are scaled to mean 1: the mean over samples is the weighted mean.
        self.mean_grad[...] = grad_sum / self.n
        X, targets, sample_weight = self.args
        status = svrg_epoch(X, targets, sample_weight, self.order_of(epoch), self.batch_size,
                            self.params, self.snapshot, self.mean_grad, self.scores,
                            self.dscores, self.corrections, self.codes, self.hyper)
        return loss_sum, int(t) + self.updates, status
