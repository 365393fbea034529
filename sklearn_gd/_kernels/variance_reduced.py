"""Stochastic variance-reduced gradient (SVRG) for the linear models.

SVRG (Johnson & Zhang, 2013) takes one-sample steps whose noise vanishes at
the optimum, so a constant step converges linearly on a strongly convex
objective instead of hovering at a noise floor. An epoch starts at a snapshot
``w~`` with one full pass (:func:`snapshot_gradient`): the mean gradient of
the loss ``mu = mean_i w_i l'(x_i . w~) x_i`` and each sample's derivative
``l'(x_i . w~)``. Its steps (:func:`svrg_epoch`) then use, for sample i,

    g_i(w) = w_i (l'(x_i . w) - l'(x_i . w~)) x_i + mu + l2 * w

an unbiased estimate of the objective's gradient that is exact at ``w~ =
w``. For a linear model the snapshot's derivative is one number per sample and
output, so nothing is recomputed at ``w~`` (SAG's memory of scalars, with
SVRG's full pass instead of SAG's running mean).

``mu + l2 * w`` is dense while the row is sparse. The weights are kept as
``w = scale * v - beta * mu``: the L2 shrink and the constant ``-eta * mu``
of a step change the two scalars, the row's term changes ``v`` on the row's
columns, so a step costs O(non-zeros of the row), as ``scaled_sgd_epoch``'s.
The intercept is not shrunk and takes its part of ``mu`` directly.

The full pass at the snapshot is also the exact gradient of the weights the
epoch starts from: the driver's certificate at no further pass.
"""

import math

from ._jit import FASTMATH, kernel
from .loops import (
    C_FIT_INTERCEPT,
    C_LOSS,
    C_MULTINOMIAL,
    H_ETA,
    H_L2,
    STATUS_DIVERGED,
    STATUS_OK,
    log_loss_blocks,
    params_finite,
    prefetch_sample,
    sample_loss,
)
from .losses import LOSS_LOG
from .prefetch import PREFETCH_DISTANCE, prefetch_array_item
from .rows import row_axpy, row_dot, row_dot_pair

_jit = kernel(fastmath=FASTMATH, error_model="numpy")

# Fold ``scale`` into ``v`` before it underflows (as ``scaled_sgd_epoch``).
_MIN_SCALE = 1e-9


@_jit
def snapshot_gradient(rows, targets, sample_weight, start, stop, params, grad, scores,
                      dscores, codes, hyper, snapshot):
    """:func:`loops.batch_gradient` that also keeps each sample's d loss / d scores.

    ``snapshot[i, k]`` receives the derivative of sample i's loss in its score
    k (unweighted). The argument order is ``batch_gradient``'s plus the
    snapshot, so the driver's row blocks and threads run it alike.
    """
    n_features = params.shape[1] - 1
    grad[:, :] = 0.0
    loss_sum = 0.0
    for i in range(start, stop):
        sw = sample_weight[i]
        for k in range(params.shape[0]):
            scores[k] = row_dot(rows, i, params, k) + params[k, n_features]
        loss_sum += sw * sample_loss(scores, targets, i, dscores, codes, hyper)
        for k in range(params.shape[0]):
            snapshot[i, k] = dscores[k]
            a = sw * dscores[k]
            if a != 0.0:
                row_axpy(rows, i, a, grad, k)
                grad[k, n_features] += a
    return loss_sum


@_jit
def log_loss_snapshot_gradient(rows, targets, sample_weight, start, stop, params, grad,
                               scores, dscores, codes, hyper, snapshot):
    """:func:`snapshot_gradient` for the binary log loss, by ``loops.log_loss_gradient``'s
    vectorised blocks."""
    return log_loss_blocks(rows, targets, sample_weight, start, stop, params, grad, snapshot,
                           True)


def snapshot_kernel(codes, n_outputs):
    """The snapshot pass for this loss and number of score columns."""
    if n_outputs == 1 and not codes[C_MULTINOMIAL] and codes[C_LOSS] == LOSS_LOG:
        return log_loss_snapshot_gradient
    return snapshot_gradient


@_jit
def svrg_epoch(rows, targets, sample_weight, order, batch_size, params, snapshot, mean_grad,
               scores, dscores, corrections, codes, hyper):
    """One pass of SVRG steps in ``order`` from the snapshot ``params``; returns status.

    ``snapshot`` and ``mean_grad`` (shaped like ``params``; the loss part of
    the mean gradient, intercept column included) are those
    :func:`snapshot_gradient` computed at ``params``; the rate is
    ``hyper[H_ETA]``. Each step takes ``batch_size`` consecutive samples of
    ``order`` (the last step the rest): their corrections are averaged, all
    measured at the weights before the step. ``corrections`` is scratch of
    shape (batch_size, n_outputs). With ``batch_size=1`` the floating-point
    operations are those of one-sample SVRG.
    """
    n = order.shape[0]
    n_out = params.shape[0]
    n_features = params.shape[1] - 1
    fit_intercept = codes[C_FIT_INTERCEPT] != 0
    eta = hyper[H_ETA]
    shrink = max(0.0, 1.0 - eta * hyper[H_L2])
    scale = 1.0
    beta = 0.0
    status = STATUS_OK
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        rate = eta / (stop - start)
        for pos in range(start, stop):
            if pos + PREFETCH_DISTANCE < n:
                ahead = order[pos + PREFETCH_DISTANCE]
                prefetch_sample(rows, targets, sample_weight, ahead)
                # The snapshot's derivatives are one more random read per step.
                prefetch_array_item(snapshot, ahead * n_out)
            i = order[pos]
            for k in range(n_out):
                xv, xm = row_dot_pair(rows, i, params, mean_grad, k)
                scores[k] = scale * xv - beta * xm + params[k, n_features]
            loss = sample_loss(scores, targets, i, dscores, codes, hyper)
            if not math.isfinite(loss):
                status = STATUS_DIVERGED
                break
            for k in range(n_out):
                corrections[pos - start, k] = dscores[k] - snapshot[i, k]
        if status != STATUS_OK:
            break
        # w <- shrink * w - eta * (mu + mean correction), in the two scalars and v.
        scale *= shrink
        beta = shrink * beta + eta
        if scale < _MIN_SCALE:
            for k in range(n_out):
                for j in range(n_features):
                    params[k, j] = scale * params[k, j] - beta * mean_grad[k, j]
            scale = 1.0
            beta = 0.0
        # ``scores`` now sums the intercept's steps: one update of it per step.
        for k in range(n_out):
            scores[k] = 0.0
        for pos in range(start, stop):
            i = order[pos]
            sw = sample_weight[i]
            for k in range(n_out):
                step = rate * sw * corrections[pos - start, k]
                if step != 0.0:
                    row_axpy(rows, i, -step / scale, params, k)
                scores[k] += step
        if fit_intercept:
            for k in range(n_out):
                params[k, n_features] -= scores[k] + eta * mean_grad[k, n_features]
    for k in range(n_out):
        for j in range(n_features):
            params[k, j] = scale * params[k, j] - beta * mean_grad[k, j]
    if status == STATUS_OK and not params_finite(params):
        status = STATUS_DIVERGED
    return status
