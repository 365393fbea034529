"""The epoch loop shared by batch, mini-batch and stochastic gradient descent.

One kernel, :func:`run_epoch`, walks the samples in a given order in batches of
``batch_size`` rows (``n_samples`` rows: batch gradient descent; one row: SGD),
accumulates the batch gradient, and applies one optimizer update per batch.
Everything that varies (loss, optimizer, schedule, dense or CSR rows) is an
integer code or flag, so the kernel compiles once per floating dtype and is
cached on disk.

Parameters are one array ``params`` of shape (n_outputs, n_features + 1) whose
last column is the intercept; the optimizer state arrays have the same shape.
"""

import math

from numba import njit

from .losses import loss_and_dscores
from .optimizers import OPT_ADAMW, optimizer_step
from .schedules import step_learning_rate

STATUS_OK = 0
STATUS_DIVERGED = 1

_jit = njit(cache=True, nogil=True)


@_jit
def row_dot(X, data, indices, indptr, is_sparse, i, w):
    """<x_i, w[:n_features]> for a dense row or a CSR row."""
    acc = 0.0
    if is_sparse:
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * w[indices[p]]
    else:
        for j in range(X.shape[1]):
            acc += X[i, j] * w[j]
    return acc


@_jit
def row_axpy(X, data, indices, indptr, is_sparse, i, a, out):
    """out[:n_features] += a * x_i for a dense row or a CSR row."""
    if is_sparse:
        for p in range(indptr[i], indptr[i + 1]):
            out[indices[p]] += a * data[p]
    else:
        for j in range(X.shape[1]):
            out[j] += a * X[i, j]


@_jit
def apply_update(params, grad, scale, m1, m2, n_fit, lr, t, opt_code, l2, l1,
                 momentum, beta_1, beta_2, eps, clip_value, clip_norm):
    """One optimizer step on every parameter from the accumulated gradient.

    ``grad * scale`` is the gradient of the data term. ``n_fit`` is the number
    of columns updated (``n_features`` without intercept, ``n_features + 1``
    with). Clipping applies to the data term before the penalty. L2 enters the
    gradient, except for AdamW where it is decoupled weight decay; L1 is a
    proximal (soft-threshold) step with the coordinate's effective step size,
    which makes coefficients exactly zero.
    """
    n_out = params.shape[0]
    n_features = params.shape[1] - 1
    if clip_norm > 0.0:
        sq = 0.0
        for k in range(n_out):
            for j in range(n_fit):
                sq += grad[k, j] * grad[k, j]
        norm = math.sqrt(sq) * scale
        if norm > clip_norm:
            scale *= clip_norm / norm
    bias1 = 1.0 - beta_1**t
    bias2 = 1.0 - beta_2**t
    decoupled = opt_code == OPT_ADAMW
    for k in range(n_out):
        for j in range(n_fit):
            w = params[k, j]
            g = grad[k, j] * scale
            if clip_value > 0.0:
                g = min(max(g, -clip_value), clip_value)
            penalised = j < n_features
            if penalised and not decoupled:
                g += l2 * w
            new_w, m1[k, j], m2[k, j], step = optimizer_step(
                opt_code, w, g, m1[k, j], m2[k, j], lr, momentum, beta_1, beta_2, eps,
                bias1, bias2,
            )
            if penalised:
                if decoupled:
                    new_w -= lr * l2 * w
                if l1 > 0.0:
                    shrink = step * l1
                    if new_w > shrink:
                        new_w -= shrink
                    elif new_w < -shrink:
                        new_w += shrink
                    else:
                        new_w = 0.0
            params[k, j] = new_w


@_jit
def run_epoch(X, data, indices, indptr, is_sparse, targets, sample_weight, order,
              batch_size, params, m1, m2, grad, scores, dscores,
              loss_code, multinomial, epsilon, quantile, gamma,
              opt_code, t, eta, sched_code, power_t, optimal_offset,
              alpha, l2, l1, momentum, beta_1, beta_2, opt_eps,
              clip_value, clip_norm, fit_intercept):
    """One pass over ``order``; returns (sum of weighted losses, t, status).

    ``sample_weight`` must have mean 1 over the data the schedule is set up for,
    so that the batch gradient ``sum(w_i * grad_i) / batch_rows`` is an unbiased
    estimate of the gradient of ``sum(w_i * loss_i) / sum(w_i)``; with one batch
    of all rows the two are equal, which makes weighted and repeated samples
    give the same model. Each loss is evaluated before the update it feeds, so
    the returned sum is the usual running epoch loss. A non-finite loss stops
    the epoch at once with ``STATUS_DIVERGED``.
    """
    n = order.shape[0]
    n_out = params.shape[0]
    n_features = params.shape[1] - 1
    n_fit = n_features + 1 if fit_intercept else n_features
    loss_sum = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        grad[:, :] = 0.0
        for pos in range(start, stop):
            i = order[pos]
            for k in range(n_out):
                scores[k] = row_dot(X, data, indices, indptr, is_sparse, i, params[k]) \
                    + params[k, n_features]
            loss = loss_and_dscores(loss_code, multinomial, scores, targets[i], dscores,
                                    epsilon, quantile, gamma)
            sw = sample_weight[i]
            loss_sum += sw * loss
            if not math.isfinite(loss_sum):
                return loss_sum, t, STATUS_DIVERGED
            for k in range(n_out):
                a = sw * dscores[k]
                if a != 0.0:
                    row_axpy(X, data, indices, indptr, is_sparse, i, a, grad[k])
                    grad[k, n_features] += a
        t += 1
        lr = step_learning_rate(sched_code, eta, t, power_t, optimal_offset, alpha)
        apply_update(params, grad, 1.0 / (stop - start), m1, m2, n_fit, lr, t, opt_code,
                     l2, l1, momentum, beta_1, beta_2, opt_eps, clip_value, clip_norm)
    for k in range(n_out):
        for j in range(n_features + 1):
            if not math.isfinite(params[k, j]):
                return loss_sum, t, STATUS_DIVERGED
    return loss_sum, t, STATUS_OK


@_jit
def decision_scores(X, data, indices, indptr, is_sparse, params, out):
    """out[i, k] = <x_i, params[k, :-1]> + params[k, -1] (no BLAS, any row format)."""
    n_features = params.shape[1] - 1
    for i in range(out.shape[0]):
        for k in range(params.shape[0]):
            out[i, k] = row_dot(X, data, indices, indptr, is_sparse, i, params[k]) \
                + params[k, n_features]


@_jit
def data_loss(X, data, indices, indptr, is_sparse, targets, sample_weight, params,
              scores, dscores, loss_code, multinomial, epsilon, quantile, gamma):
    """sum_i w_i * loss_i at the current parameters (no update)."""
    n_out = params.shape[0]
    n_features = params.shape[1] - 1
    total = 0.0
    for i in range(targets.shape[0]):
        for k in range(n_out):
            scores[k] = row_dot(X, data, indices, indptr, is_sparse, i, params[k]) \
                + params[k, n_features]
        total += sample_weight[i] * loss_and_dscores(
            loss_code, multinomial, scores, targets[i], dscores, epsilon, quantile, gamma)
    return total
