"""Epoch loops for batch, mini-batch and stochastic gradient descent.

Parameters are one array ``params`` of shape (n_outputs, n_features + 1) whose
last column is the intercept; the optimizer moments have the same shape.
Everything that varies between fits reaches the kernels as two small arrays,
``codes`` (int64, indexed by the ``C_*`` constants) and ``hyper`` (float64,
indexed by the ``H_*`` constants), so that one compilation per float dtype
serves every loss, optimizer and schedule, and a call unboxes few arguments.
The exception is plain one-sample SGD (:func:`scaled_sgd_epoch_for`): its loop
is compiled without averaging and L1 when they are off (``specialise.py``),
which cuts its compile time and speeds up its epochs.

Three loops share the per-sample and per-coordinate pieces:

* :func:`sgd_epoch`: one update per sample, the gradient fused into the update
  (no gradient buffer). For plain SGD with at most an L2 penalty,
  :func:`scaled_sgd_epoch` keeps the weights as ``scale * v`` so that an update
  costs O(non-zeros of the row) rather than O(n_features);
* :func:`minibatch_epoch`: accumulate ``batch_size`` rows, then one update;
* :func:`batch_gradient` + :func:`batch_update`: the full-batch gradient of a
  block of rows (the driver sums a fixed number of blocks, possibly in
  threads, in a fixed order, so the result does not depend on the thread
  count), then one update. With one score column and a margin loss,
  :func:`single_score_gradient` replaces ``batch_gradient`` (see
  :func:`batch_gradient_kernel`).

``rows`` is a C-ordered 2-D array or a CSR ``(data, indices, indptr)`` tuple;
the helpers in ``rows.py`` specialise each kernel per format at compile time.
Rows are visited in the order given (shuffled by the driver) and the row,
target and weight of the sample ``PREFETCH_DISTANCE`` places ahead are
prefetched.

With averaging (``codes[C_AVERAGE]``, the ``average`` parameter) the loops
also keep ``avg``, shaped like ``params``, as the mean of the weights after
each update from update ``codes[C_AVERAGE]`` on; otherwise ``avg`` is an
unused (0, 0) array. :func:`scaled_sgd_epoch` keeps it lazily in O(non-zeros
of the row) per update, the other loops densely, their updates being dense
anyway.

The "normalized" optimizer (see ``optimizers.py``) also needs each row before
its scores: the row updates the per-feature scales ``s_j`` (and rescales the
weights of the features whose scale grew), and its ``sum_j (x_j / s_j)**2``
enters the running mean kept in the intercept column of ``m1``. The
stochastic loop does this per sample, the mini-batch loop per row and takes
the batch's mean as one update's, and the batch loop gets its scales from
:func:`batch_row_scales` before its first epoch.
"""

import math

import numpy as np

from ._jit import FASTMATH, kernel
from .losses import LOSS_HINGE, LOSS_LOG, log_loss_rows, loss_and_dscores, single_score_loss
from .optimizers import (
    OPT_ADAGRAD,
    OPT_ADAM,
    OPT_ADAMW,
    OPT_MOMENTUM,
    OPT_NESTEROV,
    OPT_NORMALIZED,
    OPT_RMSPROP,
    OPT_SGD,
    normalized_step,
    optimizer_step,
)
from .prefetch import PREFETCH_DISTANCE, prefetch_array_item
from .rows import (
    prefetch_row,
    row_axpy,
    row_axpy_pair,
    row_clear,
    row_cumulative_l1,
    row_dot,
    row_sq_norm,
    row_update_scales,
)
from .schedules import SCHED_PA1, SCHED_PA2, step_learning_rate
from .specialise import specialised

STATUS_OK = 0
STATUS_DIVERGED = 1

# Layout of ``codes`` (int64) and ``hyper`` (float64): the entries in order;
# ``C_<NAME>`` / ``H_<NAME>`` is each one's index, a compile-time constant in
# the kernels. ``_base._KERNEL_CODES`` / ``_base._KERNEL_HYPER`` fill them
# (tests/test_layout.py checks that the names agree).
CODES_LAYOUT = (
    "loss",
    "multinomial",
    "optimizer",
    "schedule",
    "fit_intercept",
    # The update from which the iterates are averaged (1-based; 0: no averaging).
    "average",
)
(C_LOSS, C_MULTINOMIAL, C_OPTIMIZER, C_SCHEDULE, C_FIT_INTERCEPT,
 C_AVERAGE) = range(len(CODES_LAYOUT))
N_CODES = len(CODES_LAYOUT)

HYPER_LAYOUT = (
    "epsilon",
    "quantile",
    "gamma",
    "eta",
    "power_t",
    "optimal_offset",
    "alpha",
    "l2",
    "l1",
    "momentum",
    "beta_1",
    "beta_2",
    "opt_epsilon",
    "clip_value",
    "clip_norm",
)
(H_EPSILON, H_QUANTILE, H_GAMMA, H_ETA, H_POWER_T, H_OPTIMAL_OFFSET, H_ALPHA, H_L2, H_L1,
 H_MOMENTUM, H_BETA_1, H_BETA_2, H_OPT_EPSILON, H_CLIP_VALUE,
 H_CLIP_NORM) = range(len(HYPER_LAYOUT))
N_HYPER = len(HYPER_LAYOUT)

_jit = kernel(fastmath=FASTMATH, error_model="numpy")
# Helpers called once per row or per step are inlined at the Numba IR level: a
# call that passes arrays costs reference-count updates and blocks LLVM's view
# of the loop (the batch gradient of 1,000 x 20 rows ran 2-6x slower).
_inline = kernel(fastmath=FASTMATH, error_model="numpy", inline="always")


# --------------------------------------------------------------- losses
# The loops compute a row's scores with row_dot and then call sample_loss
# directly: wrapping the two in one helper measured 10-20% slower.
@_jit
def zero_model_bound(targets, sample_weight, multinomial):
    """An upper bound on sum_i w_i * loss_i of the all-zero model, from targets alone.

    At zero scores every loss is at most max(y**2, |y|) per output (regression:
    0.5 y**2, |y|, Huber, the insensitive and pinball losses; margin losses: 1,
    log 2, or 0), and the softmax losses are log(n_classes). No transcendental
    per row, no pass over X: it is only a yardstick for blow-ups.
    """
    sq = 0.0
    ab = 0.0
    for i in range(targets.shape[0]):
        row_sq = 0.0
        row_ab = 0.0
        for k in range(targets.shape[1]):
            row_sq += targets[i, k] * targets[i, k]
            row_ab += abs(targets[i, k])
        sq += sample_weight[i] * row_sq
        ab += sample_weight[i] * row_ab
    total = max(sq, ab)
    if multinomial:
        weight = 0.0
        for i in range(targets.shape[0]):
            weight += sample_weight[i]
        total = max(total, weight * math.log(targets.shape[1]))
    return total


@_inline
def sample_loss(scores, targets, i, dscores, codes, hyper):
    """Loss of sample i from its scores; d loss / d scores goes into ``dscores``."""
    return loss_and_dscores(codes[C_LOSS], codes[C_MULTINOMIAL] != 0, scores, targets, i,
                            dscores, hyper[H_EPSILON], hyper[H_QUANTILE], hyper[H_GAMMA])


# -------------------------------------------------------------- updates
@_inline
def update_coordinate(w, g, m1, m2, penalised, lr, bias1, bias2, codes, hyper):
    """Optimizer step on one parameter from its loss gradient ``g``.

    L2 enters the gradient, except for AdamW where it is decoupled weight
    decay; L1 is a proximal (soft-threshold) step with the coordinate's
    effective step size, which makes coefficients exactly zero. The intercept
    (``penalised`` False) gets neither. Returns (w, m1, m2).

    For the steps of size ``lr`` (plain, momentum, Nesterov, and AdamW's
    decay) the L2 part is the shrink ``w * (1 - lr * l2)``, clipped at 0 as
    in scikit-learn's SGD (see :func:`scaled_sgd_epoch`): when
    ``lr * l2 > 1`` the weight is set to zero and the optimizer's step from
    the loss gradient alone is taken from there. For plain SGD that is
    scikit-learn's update exactly.
    """
    opt = codes[C_OPTIMIZER]
    l2 = hyper[H_L2]
    decoupled = opt == OPT_ADAMW
    clip = hyper[H_CLIP_VALUE]
    if clip > 0.0:
        g = min(max(g, -clip), clip)
    # A shrink below 0 would flip the weight's sign and, past -1, grow it every
    # step until the fit diverged. Momentum's velocity is kept free of the
    # clipped term: fed w / lr instead, it left the weights ringing (its
    # roots have modulus sqrt(momentum) whatever the L2 term) and a minibatch
    # fit's objective rose tenfold. The adaptive steps divide by the
    # gradient's running scale, L2 term included, so a strong penalty cannot
    # make them overshoot and they need no clip.
    clipped = penalised and lr * l2 > 1.0 \
        and (opt == OPT_SGD or opt == OPT_MOMENTUM or opt == OPT_NESTEROV)
    start = w
    if clipped:
        # Zero in w's own type (a float literal would make w float64 in
        # float32 fits).
        start = w - w
    elif penalised and not decoupled:
        g += l2 * w
    if opt == OPT_NORMALIZED:
        new_w, m2, step = normalized_step(w, g, m1, m2, lr)
    else:
        new_w, m1, m2, step = optimizer_step(
            opt, start, g, m1, m2, lr, hyper[H_MOMENTUM], hyper[H_BETA_1], hyper[H_BETA_2],
            hyper[H_OPT_EPSILON], bias1, bias2,
        )
    if penalised:
        if decoupled:
            new_w -= min(lr * l2, 1.0) * w
        shrink = step * hyper[H_L1]
        if shrink > 0.0:
            if new_w > shrink:
                new_w -= shrink
            elif new_w < -shrink:
                new_w += shrink
            else:
                new_w = 0.0
    return new_w, m1, m2


@_inline
def prefetch_sample(rows, targets, sample_weight, i):
    """Ask for all that sample i's update reads: its row, target row and weight.

    In a shuffled epoch the target and the weight are random reads too, and
    they sit on the update's dependency chain: prefetching them as well cut a
    shuffled SGD epoch by a quarter to a third (docs/benchmarks.md, "Behind
    the code").
    """
    prefetch_row(rows, i)
    prefetch_array_item(targets, i * targets.shape[1])
    prefetch_array_item(sample_weight, i)


@_inline
def intercept_step(w, g, m1, m2, lr, bias1, bias2, codes, hyper):
    """:func:`update_coordinate` for the intercept, which no penalty touches: (w, m1, m2).

    Inlined instead of a second copy of the whole update in each loop (the
    compile time of the loops; the steps are the same, bit for bit).
    "normalized" keeps its mean norm where the intercept's first moment would
    be: the intercept's scale is that of its constant 1, and ``m1`` comes back
    unchanged.
    """
    clip = hyper[H_CLIP_VALUE]
    if clip > 0.0:
        g = min(max(g, -clip), clip)
    if codes[C_OPTIMIZER] == OPT_NORMALIZED:
        new_w, m2, _ = normalized_step(w, g, 1.0, m2, lr)
        return new_w, m1, m2
    new_w, m1, m2, _ = optimizer_step(
        codes[C_OPTIMIZER], w, g, m1, m2, lr, hyper[H_MOMENTUM], hyper[H_BETA_1],
        hyper[H_BETA_2], hyper[H_OPT_EPSILON], bias1, bias2)
    return new_w, m1, m2


@_inline
def bias_corrections(t, codes, hyper):
    if codes[C_OPTIMIZER] == OPT_ADAM or codes[C_OPTIMIZER] == OPT_ADAMW:
        return 1.0 - hyper[H_BETA_1] ** t, 1.0 - hyper[H_BETA_2] ** t
    return 1.0, 1.0


@_inline
def learning_rate_at(t, codes, hyper):
    return step_learning_rate(codes[C_SCHEDULE], hyper[H_ETA], t, hyper[H_POWER_T],
                              hyper[H_OPTIMAL_OFFSET], hyper[H_ALPHA])


@_inline
def passive_aggressive_rate(code, loss_code, p, y, epsilon, sq_norm, c):
    """The step of a passive-aggressive update of one output with score ``p``.

    PA-I: ``min(C, loss / ||x||^2)``; PA-II: ``loss / (||x||^2 + 1 / (2 C))``
    (Crammer et al. 2006), the intercept's constant feature not counted in
    ``||x||^2``, as in scikit-learn. A zero row takes no PA-I step. The loss
    is the hinge (classification) or the epsilon-insensitive one, written out
    here: a call into the general loss function in the one-sample loop, even
    on a branch plain SGD never takes, slowed its epochs.
    """
    if loss_code == LOSS_HINGE:
        loss = max(0.0, 1.0 - y * p)
    else:
        loss = max(0.0, abs(y - p) - epsilon)
    if code == SCHED_PA1:
        return min(c, loss / sq_norm) if sq_norm > 0.0 else 0.0
    return loss / (sq_norm + 0.5 / c)


@_inline
def note_mean_norm(m1, norm, t):
    """Fold update ``t``'s ``sum_j (x_j / s_j)**2`` into the running mean in ``m1[:, -1]``.

    ``t`` is 1-based. A mean that is not positive was not written by this
    optimizer (a fresh state, or another optimizer's moment kept by
    ``warm_start``): it restarts from this update's value.
    """
    last = m1.shape[1] - 1
    mean = float(m1[0, last])
    mean = norm if not mean > 0.0 else mean + (norm - mean) / t
    for k in range(m1.shape[0]):
        m1[k, last] = mean


@_inline
def normalized_rate(m1):
    """NAG's ``sqrt(t / N)``: 1 / sqrt of the mean kept by :func:`note_mean_norm`."""
    mean = float(m1[0, m1.shape[1] - 1])
    return 1.0 / math.sqrt(mean) if mean > 0.0 else 0.0


@_inline
def averaged_count(t, codes):
    """How many weights the average holds after update ``t`` (1-based); 0 before it starts."""
    start = codes[C_AVERAGE]
    if start > 0 and t >= start:
        return t - start + 1
    return 0


@_inline
def dense_average(params, avg, n):
    """Fold the weights into ``avg``, the mean of ``n`` of them with these the last.

    The first one replaces whatever ``avg`` held: an average that starts
    mid-stream owes nothing to the weights before it.
    """
    mu = 1.0 / n
    for k in range(params.shape[0]):
        for j in range(params.shape[1]):
            if n == 1:
                avg[k, j] = params[k, j]
            else:
                avg[k, j] += (params[k, j] - avg[k, j]) * mu


@_jit
def batch_row_scales(rows, n_samples, sample_weight, params, m1):
    """Scales of the batch loop for "normalized": one update sees all the rows.

    Raises each ``s_j`` to the largest |x_j| of the rows of positive weight
    (rescaling the weights as :func:`row_update_scales` does) and returns the
    rows' weighted mean of ``sum_j (x_j / s_j)**2`` at those scales (the
    intercept not included). Weights, not row counts, so that a weight of 2
    and a repeated row give the same model, as in the other batch updates.
    """
    total = 0.0
    weight = 0.0
    # The first sweep raises the scales; the second, at the final scales, only
    # sums. One loop for both: the row helper inlined twice into one function
    # trips Numba's IR checks (NumbaIRAssumptionWarning).
    for _ in range(2):
        total = 0.0
        weight = 0.0
        for i in range(n_samples):
            sw = sample_weight[i]
            if sw > 0.0:
                total += sw * row_update_scales(rows, i, params, m1)
                weight += sw
    return total / weight if weight > 0.0 else 0.0


@_inline
def plain_sgd_step(params, grad, scale, lr, l2, step_scales, fit_intercept):
    """:func:`apply_gradient`'s plain step when neither clipping nor L1 applies and the
    L2 shrink ``1 - lr * l2`` is not clipped at 0 (for any coordinate's rate).

    The arithmetic of :func:`update_coordinate` for ``OPT_SGD`` in a loop
    without its branches, which LLVM vectorises: through ``update_coordinate``
    a step cost 4 ns a coordinate in float64 and 11 ns in float32, as much as
    the rows' own work at 32 rows a batch. The two compilations may fuse a
    different multiply-add (fast-math "contract"): they agree to an ulp.
    """
    n_features = params.shape[1] - 1
    scaled = step_scales.shape[0] > 0
    for k in range(params.shape[0]):
        for j in range(n_features):
            lr_j = lr * step_scales[j] if scaled else lr
            w = params[k, j]
            params[k, j] = w - lr_j * (grad[k, j] * scale + l2 * w)
        if fit_intercept:
            lr_b = lr * step_scales[n_features] if scaled else lr
            params[k, n_features] = params[k, n_features] - lr_b * (grad[k, n_features] * scale)


@_inline
def plain_sgd_applies(lr, step_scales, codes, hyper):
    """Whether :func:`plain_sgd_step` takes this step."""
    if codes[C_OPTIMIZER] != OPT_SGD or hyper[H_CLIP_VALUE] > 0.0 or hyper[H_L1] != 0.0:
        return False
    if step_scales.shape[0] == 0:
        return not lr * hyper[H_L2] > 1.0
    # The largest rate of a penalised coordinate (the intercept's is last).
    top = 0.0
    for j in range(step_scales.shape[0] - 1):
        top = max(top, lr * step_scales[j])
    return not top * hyper[H_L2] > 1.0


@_jit
def apply_gradient(params, grad, scale, m1, m2, step_scales, t, codes, hyper):
    """One optimizer step on every parameter from the gradient ``grad * scale``.

    ``clip_norm`` rescales the whole loss gradient first; the penalty is
    added per coordinate afterwards. ``step_scales`` (n_features + 1, the
    intercept last) multiplies each coordinate's learning rate: the diagonal
    preconditioner of the plain steps (``precondition``); an empty array
    leaves the rate as it is.
    """
    n_features = params.shape[1] - 1
    n_fit = n_features + 1 if codes[C_FIT_INTERCEPT] else n_features
    clip_norm = hyper[H_CLIP_NORM]
    if clip_norm > 0.0:
        sq = 0.0
        for k in range(params.shape[0]):
            for j in range(n_fit):
                sq += grad[k, j] * grad[k, j]
        norm = math.sqrt(sq) * scale
        if norm > clip_norm:
            scale *= clip_norm / norm
    lr = learning_rate_at(t, codes, hyper)
    scaled = step_scales.shape[0] > 0
    if plain_sgd_applies(lr, step_scales, codes, hyper):
        plain_sgd_step(params, grad, scale, lr, hyper[H_L2], step_scales, n_fit > n_features)
        return
    normalized = codes[C_OPTIMIZER] == OPT_NORMALIZED
    if normalized:
        lr *= normalized_rate(m1)
    bias1, bias2 = bias_corrections(t, codes, hyper)
    for k in range(params.shape[0]):
        for j in range(n_features):
            lr_j = lr * step_scales[j] if scaled else lr
            params[k, j], m1[k, j], m2[k, j] = update_coordinate(
                params[k, j], grad[k, j] * scale, m1[k, j], m2[k, j], True,
                lr_j, bias1, bias2, codes, hyper)
        if n_fit > n_features:
            b = n_features
            params[k, b], m1[k, b], m2[k, b] = intercept_step(
                params[k, b], grad[k, b] * scale, m1[k, b], m2[k, b],
                lr * step_scales[b] if scaled else lr, bias1, bias2, codes, hyper)


@_jit
def params_finite(params):
    for k in range(params.shape[0]):
        for j in range(params.shape[1]):
            if not math.isfinite(params[k, j]):
                return False
    return True


@_jit
def penalty_value(params, l2, l1):
    """alpha * ((1 - r) / 2 ||W||^2 + r ||W||_1), given l2 = alpha(1-r), l1 = alpha r."""
    n_features = params.shape[1] - 1
    sq = 0.0
    ab = 0.0
    for k in range(params.shape[0]):
        for j in range(n_features):
            sq += params[k, j] * params[k, j]
            ab += abs(params[k, j])
    return 0.5 * l2 * sq + l1 * ab


# ---------------------------------------------------------------- loops
@_jit
def sgd_epoch(rows, targets, sample_weight, order, params, m1, m2, avg, work, scores, dscores,
              t, codes, hyper):
    """One update per sample, in ``order``; returns (sum of weighted losses, t, status).

    ``work`` is a zeroed (n_outputs, n_features + 1) buffer (left zeroed);
    ``avg`` the running average (see the module's docstring). Plain SGD
    without clipping has the faster :func:`scaled_sgd_epoch` (see
    :func:`sgd_epoch_kernel`).
    """
    n = order.shape[0]
    n_out = params.shape[0]
    n_features = params.shape[1] - 1
    fit_intercept = codes[C_FIT_INTERCEPT] != 0
    clip_norm = hyper[H_CLIP_NORM]
    normalized = codes[C_OPTIMIZER] == OPT_NORMALIZED
    loss_sum = 0.0
    norm = 0.0
    for pos in range(n):
        if pos + PREFETCH_DISTANCE < n:
            prefetch_sample(rows, targets, sample_weight, order[pos + PREFETCH_DISTANCE])
        i = order[pos]
        sw = sample_weight[i]
        if normalized:
            # Before the scores, as in NAG: a weight rescaled for a grown
            # scale already predicts at that scale.
            norm = row_update_scales(rows, i, params, m1) + (1.0 if fit_intercept else 0.0)
        for k in range(n_out):
            scores[k] = row_dot(rows, i, params, k) + params[k, n_features]
        loss_sum += sw * sample_loss(scores, targets, i, dscores, codes, hyper)
        if not math.isfinite(loss_sum):
            return loss_sum, t, STATUS_DIVERGED
        t += 1
        lr = learning_rate_at(t, codes, hyper)
        if normalized:
            note_mean_norm(m1, norm, t)
            lr *= normalized_rate(m1)
        factor = sw
        if clip_norm > 0.0:
            sq = 0.0
            for k in range(n_out):
                sq += dscores[k] * dscores[k]
            norm = abs(sw) * math.sqrt(sq * (row_sq_norm(rows, i)
                                             + (1.0 if fit_intercept else 0.0)))
            if norm > clip_norm:
                factor *= clip_norm / norm
        bias1, bias2 = bias_corrections(t, codes, hyper)
        for k in range(n_out):
            a = factor * dscores[k]
            # Moments and penalties move every coordinate, so the update is dense;
            # the row's gradient is scattered into ``work`` first.
            row_axpy(rows, i, a, work, k)
            for j in range(n_features):
                params[k, j], m1[k, j], m2[k, j] = update_coordinate(
                    params[k, j], work[k, j], m1[k, j], m2[k, j], True, lr, bias1, bias2,
                    codes, hyper)
            row_clear(rows, i, work, k)
            if fit_intercept:
                b = n_features
                params[k, b], m1[k, b], m2[k, b] = intercept_step(
                    params[k, b], a, m1[k, b], m2[k, b], lr, bias1, bias2, codes, hyper)
        n_avg = averaged_count(t, codes)
        if n_avg > 0:
            dense_average(params, avg, n_avg)
    if not params_finite(params):
        return loss_sum, t, STATUS_DIVERGED
    return loss_sum, t, STATUS_OK


def sgd_epoch_kernel(codes, hyper):
    """The one-sample loop for this configuration: :func:`scaled_sgd_epoch` or :func:`sgd_epoch`.

    Chosen in Python rather than by a branch inside ``sgd_epoch``: a kernel
    called from another is compiled in both contexts, and with fastmath the two
    copies could round differently (a fresh process and one loading the cache
    then disagreed in the last bits).
    """
    if codes[C_OPTIMIZER] == OPT_SGD \
            and hyper[H_CLIP_VALUE] == 0.0 and hyper[H_CLIP_NORM] == 0.0:
        return scaled_sgd_epoch_for(codes, hyper)
    return sgd_epoch


def scaled_sgd_epoch_for(codes, hyper):
    """:func:`scaled_sgd_epoch` compiled without the averaging and L1 it does not use.

    The general loop keeps the lazy average's and the cumulative L1's
    bookkeeping behind run-time branches in its inner loop; with them folded
    away when they are off it compiles in less time and runs faster
    (``benchmarks/specialisation.py``), with the same results bit for bit
    (tests/test_specialise.py). At most three variants besides the general
    loop exist, so a machine compiles few. Folding the loss as well bought
    more (compile and epoch), but one variant per loss, schedule and
    intercept: the test suite compiled 60 of them, and its time went over its
    budget. Without a JIT (``NUMBA_DISABLE_JIT=1``) the general loop runs.
    """
    if not hasattr(scaled_sgd_epoch, "py_func"):
        return scaled_sgd_epoch
    constants = {}
    if codes[C_AVERAGE] == 0:
        constants["codes", C_AVERAGE] = 0
    if hyper[H_L1] == 0.0:
        constants["hyper", H_L1] = 0.0
    if not constants:
        return scaled_sgd_epoch
    return specialised(scaled_sgd_epoch, constants)


@_inline
def fold_average(v, avg, avg_a, avg_b):
    """Write the lazy average ``(avg + avg_a * v) / avg_b`` of the weight columns into ``avg``."""
    for k in range(v.shape[0]):
        for j in range(v.shape[1] - 1):
            avg[k, j] = (avg[k, j] + avg_a * v[k, j]) / avg_b


@_jit
def scaled_sgd_epoch(rows, targets, sample_weight, order, params, m1, m2, avg, work, scores,
                     dscores, t, codes, hyper):
    """Plain SGD with L2 and L1 in O(non-zeros of the row) per update.

    The weights are kept as ``scale * v``: the L2 shrinkage of every weight is
    a change of ``scale``, and the loss gradient touches only the row's
    non-zero columns of ``v`` (all columns for dense rows, still one pass).
    The passive-aggressive schedules ("pa1", "pa2") replace the rate of each
    output's loss step by :func:`passive_aggressive_rate` of its loss (the
    rate given, C, still sets the L2 shrink and the L1 owed), as
    scikit-learn's SGD does. L1 is the cumulative penalty of Tsuruoka, Tsujii
    & Ananiadou (2009), on the row's columns after each update
    (``rows.row_cumulative_l1``), as in scikit-learn: a per-update soft
    threshold let the noise of single-sample gradients keep irrelevant
    weights a little off zero (2-3e-4 after 20 epochs), the cumulative one
    leaves them exactly zero. Its state is kept in
    the moments plain SGD does not use: what each weight received in
    ``m1[:, :-1]``, what any weight could have in ``m2[0, -1]``, so that it
    carries over ``partial_fit`` calls.

    The average of the weights is kept lazily too (Xu 2011, as scikit-learn's
    averaged SGD): over the weight columns it is ``(avg + avg_a * v) /
    avg_b``. A change of ``v`` is offset in ``avg`` (on the row's columns
    only), and folding the new weights ``scale * v`` in with weight ``1 / n``
    is a change of the two scalars. It is written out as the plain mean at
    the end of the epoch, and before ``scale`` is folded into ``v``. Unlike
    scikit-learn, which folds the weights in before their L1 step and then
    lets that step move the whole average, the mean is of the weights after
    their L1 step. Takes the same arguments as :func:`sgd_epoch` (it needs
    no ``work``).
    """
    n = order.shape[0]
    n_out = params.shape[0]
    n_features = params.shape[1] - 1
    fit_intercept = codes[C_FIT_INTERCEPT] != 0
    l2 = hyper[H_L2]
    l1 = hyper[H_L1]
    # Accumulated in float64 whatever the dtype: it only grows.
    owed = float(m2[0, n_features])
    scale = 1.0
    averaging = codes[C_AVERAGE] > 0
    schedule = codes[C_SCHEDULE]
    passive_aggressive = schedule == SCHED_PA1 or schedule == SCHED_PA2
    avg_a = 0.0
    avg_b = 1.0
    loss_sum = 0.0
    status = STATUS_OK
    for pos in range(n):
        if pos + PREFETCH_DISTANCE < n:
            prefetch_sample(rows, targets, sample_weight, order[pos + PREFETCH_DISTANCE])
        i = order[pos]
        for k in range(n_out):
            scores[k] = scale * row_dot(rows, i, params, k) + params[k, n_features]
        sw = sample_weight[i]
        loss_sum += sw * sample_loss(scores, targets, i, dscores, codes, hyper)
        if not math.isfinite(loss_sum):
            status = STATUS_DIVERGED
            break
        t += 1
        lr = learning_rate_at(t, codes, hyper)
        # Clipped at 0 as scikit-learn's plain SGD: a step too long for the
        # penalty (lr * l2 > 1) sets the weights to zero before the loss's
        # step instead of flipping their signs, which past lr * l2 = 2 made
        # them grow every update until the fit diverged.
        scale *= max(0.0, 1.0 - lr * l2)
        if abs(scale) < 1e-9:
            # Fold the scale into v before it underflows (the average first:
            # it is expressed in v).
            if avg_a != 0.0 or avg_b != 1.0:
                fold_average(params, avg, avg_a, avg_b)
                avg_a = 0.0
                avg_b = 1.0
            for k in range(n_out):
                for j in range(n_features):
                    params[k, j] *= scale
            scale = 1.0
        n_avg = averaged_count(t, codes) if averaging else 0
        if n_avg == 1:
            # The average starts at these weights, whatever it held.
            for k in range(n_out):
                for j in range(n_features):
                    avg[k, j] = 0.0
            avg_a = 0.0
            avg_b = 1.0
        sq_norm = row_sq_norm(rows, i) if passive_aggressive else 0.0
        for k in range(n_out):
            rate = lr
            if passive_aggressive and dscores[k] != 0.0:
                # The output's own loss: for one-vs-rest the sum sample_loss
                # gives mixes the classes.
                rate = passive_aggressive_rate(schedule, codes[C_LOSS], scores[k],
                                               float(targets[i, k]), hyper[H_EPSILON],
                                               sq_norm, lr)
            step = rate * sw * dscores[k]
            if step != 0.0:
                if avg_a != 0.0:
                    row_axpy_pair(rows, i, -step / scale, params, avg_a * step / scale, avg,
                                  k)
                else:
                    row_axpy(rows, i, -step / scale, params, k)
                if fit_intercept:
                    params[k, n_features] -= step
        if l1 > 0.0:
            owed += lr * l1
            for k in range(n_out):
                row_cumulative_l1(rows, i, params, k, m1, owed, scale, avg, avg_a)
        if n_avg > 0:
            mu = 1.0 / n_avg
            if n_avg > 1:
                avg_b /= 1.0 - mu
            avg_a += mu * avg_b * scale
            for k in range(n_out):
                avg[k, n_features] += (params[k, n_features] - avg[k, n_features]) * mu
    if l1 > 0.0:
        m2[0, n_features] = owed
    if avg_a != 0.0 or avg_b != 1.0:
        fold_average(params, avg, avg_a, avg_b)
    for k in range(n_out):
        for j in range(n_features):
            params[k, j] *= scale
    if status == STATUS_OK and not params_finite(params):
        status = STATUS_DIVERGED
    return loss_sum, t, status


@_inline
def batch_step(params, grad, n_rows, norm, m1, m2, avg, step_scales, t, codes, hyper):
    """The end of a mini-batch: one update from the mean of its ``n_rows`` gradients
    (``norm``: the sum of their row norms, for "normalized"), then the average;
    returns the update count."""
    t += 1
    if codes[C_OPTIMIZER] == OPT_NORMALIZED:
        # The update is one step from the batch's mean gradient, so the
        # batch's mean row norm is its norm.
        note_mean_norm(m1, norm / n_rows, t)
    apply_gradient(params, grad, 1.0 / n_rows, m1, m2, step_scales, t, codes, hyper)
    n_avg = averaged_count(t, codes)
    if n_avg > 0:
        dense_average(params, avg, n_avg)
    return t


@_jit
def minibatch_epoch(rows, targets, sample_weight, order, batch_size, params, m1, m2, avg,
                    grad, scores, dscores, step_scales, t, codes, hyper):
    """One update per ``batch_size`` rows of ``order``; returns (loss sum, t, status).

    The update uses the mean of the weighted gradients of the batch: with
    weights scaled to mean 1 it is an unbiased estimate of the gradient of
    ``sum(w_i loss_i) / sum(w_i)``. ``step_scales``: see :func:`apply_gradient`.
    """
    n = order.shape[0]
    n_features = params.shape[1] - 1
    normalized = codes[C_OPTIMIZER] == OPT_NORMALIZED
    intercept_norm = 1.0 if codes[C_FIT_INTERCEPT] else 0.0
    loss_sum = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        grad[:, :] = 0.0
        norm = 0.0
        for pos in range(start, stop):
            if pos + PREFETCH_DISTANCE < n:
                prefetch_sample(rows, targets, sample_weight, order[pos + PREFETCH_DISTANCE])
            i = order[pos]
            sw = sample_weight[i]
            if normalized:
                norm += row_update_scales(rows, i, params, m1) + intercept_norm
            for k in range(params.shape[0]):
                scores[k] = row_dot(rows, i, params, k) + params[k, n_features]
            loss_sum += sw * sample_loss(scores, targets, i, dscores, codes, hyper)
            if not math.isfinite(loss_sum):
                return loss_sum, t, STATUS_DIVERGED
            for k in range(params.shape[0]):
                a = sw * dscores[k]
                if a != 0.0:
                    row_axpy(rows, i, a, grad, k)
                    grad[k, n_features] += a
        t = batch_step(params, grad, stop - start, norm, m1, m2, avg, step_scales, t, codes,
                       hyper)
    if not params_finite(params):
        return loss_sum, t, STATUS_DIVERGED
    return loss_sum, t, STATUS_OK


@_jit
def log_loss_minibatch_epoch(rows, targets, sample_weight, order, batch_size, params, m1,
                             m2, avg, grad, scores, dscores, step_scales, t, codes, hyper):
    """:func:`minibatch_epoch` for the binary log loss, the batch's losses in one loop.

    A batch's scores come first, then their losses and derivatives in one
    vectorised loop (``losses.log_loss_rows``, as the batch gradient's
    :func:`log_loss_blocks`), then the gradient: one row at a time through the
    C library, the exp and log1p were more than half of a dense float32
    epoch. The rows of a batch are read twice, the second time from cache.
    The arguments are those of :func:`minibatch_epoch` (``scores`` and
    ``dscores`` unused).
    """
    n = order.shape[0]
    n_features = params.shape[1] - 1
    normalized = codes[C_OPTIMIZER] == OPT_NORMALIZED
    intercept_norm = 1.0 if codes[C_FIT_INTERCEPT] else 0.0
    block = min(batch_size, max(n, 1))
    margins = np.empty(block)
    labels = np.empty(block)
    weights = np.empty(block)
    derivs = np.empty(block)
    loss_sum = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        norm = 0.0
        for pos in range(start, stop):
            if pos + PREFETCH_DISTANCE < n:
                prefetch_sample(rows, targets, sample_weight, order[pos + PREFETCH_DISTANCE])
            i = order[pos]
            if normalized:
                norm += row_update_scales(rows, i, params, m1) + intercept_norm
            b = pos - start
            margins[b] = row_dot(rows, i, params, 0) + params[0, n_features]
            labels[b] = targets[i, 0]
            weights[b] = sample_weight[i]
        loss_sum += log_loss_rows(margins, labels, weights, derivs, stop - start)
        if not math.isfinite(loss_sum):
            return loss_sum, t, STATUS_DIVERGED
        grad[:, :] = 0.0
        for pos in range(start, stop):
            b = pos - start
            a = weights[b] * derivs[b]
            if a != 0.0:
                row_axpy(rows, order[pos], a, grad, 0)
                grad[0, n_features] += a
        t = batch_step(params, grad, stop - start, norm, m1, m2, avg, step_scales, t, codes,
                       hyper)
    if not params_finite(params):
        return loss_sum, t, STATUS_DIVERGED
    return loss_sum, t, STATUS_OK


def minibatch_epoch_kernel(codes, n_outputs):
    """The mini-batch loop for this loss and number of score columns."""
    if n_outputs == 1 and not codes[C_MULTINOMIAL] and codes[C_LOSS] == LOSS_LOG:
        return log_loss_minibatch_epoch
    return minibatch_epoch


# ------------------------------------------------------ lazy sparse steps
# A step moves every coordinate (the L2 term is a gradient, moments and
# velocities decay), so on CSR rows a dense step costs
# n_features where the rows have a few non-zeros. The lazy loop updates only
# the columns a step's rows touch and brings a column up to date when a row next
# touches it, and every column at the end of the loop (see ``lazy_catch_up``
# for what is exact), as TensorFlow's LazyAdam and Vowpal Wabbit do.
LAZY_OPTIMIZERS = (OPT_SGD, OPT_MOMENTUM, OPT_NESTEROV, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADAM,
                   OPT_ADAMW, OPT_NORMALIZED)


def lazy_updates(codes, sparse, one_sample):
    """Whether the loops take :func:`lazy_minibatch_epoch` for these rows and this config.

    CSR rows, no averaging (the dense average of the weights after every
    update would cost n_features per step anyway), and not plain SGD one
    sample at a time, which :func:`scaled_sgd_epoch` already makes in
    O(non-zeros) exactly (or :func:`sgd_epoch` with clipping).
    """
    opt = codes[C_OPTIMIZER]
    if one_sample and opt == OPT_SGD:
        return False
    return bool(sparse) and opt in LAZY_OPTIMIZERS and codes[C_AVERAGE] == 0


@_inline
def unit_step(opt, scale, m2, lr, bias1, bias2, eps):
    """The step an adaptive optimizer gives a unit gradient on a coordinate (0 if none)."""
    if opt == OPT_NORMALIZED:
        if scale > 0.0 and m2 > 0.0:
            return lr / (scale * math.sqrt(m2))
        return 0.0
    if not m2 > 0.0:
        # No gradient seen yet: the coordinate has not moved (unless a warm
        # start set it), and no rate is known to shrink it with.
        return 0.0
    if opt == OPT_ADAM or opt == OPT_ADAMW:
        return (lr / bias1) / (math.sqrt(m2 / bias2) + eps)
    return lr / (math.sqrt(m2) + eps)


@_jit
def lazy_powers(n_steps, codes, hyper):
    """Rows ``a**k``, ``b**k`` and ``sum_{i=1..k} r**i`` of the optimizer's decays.

    Adam(W) and RMSprop: ``a = beta_1``, ``b = beta_2``, ``r = beta_1 /
    sqrt(beta_2)``; heavy ball and Nesterov: ``a = r = momentum``, ``b = 1``.
    For k up to ``n_steps``, the most steps a column can fall behind in one
    call of the lazy loop: tabled once, a catch-up reads them instead of
    computing three powers.
    """
    opt = codes[C_OPTIMIZER]
    if opt == OPT_MOMENTUM or opt == OPT_NESTEROV:
        beta_1 = hyper[H_MOMENTUM]
        beta_2 = 1.0
        ratio = beta_1
    else:
        beta_1 = hyper[H_BETA_1]
        beta_2 = hyper[H_BETA_2]
        ratio = beta_1 / math.sqrt(beta_2) if beta_2 > 0.0 else 0.0
    powers = np.empty((3, n_steps + 1))
    powers[0, 0] = 1.0
    powers[1, 0] = 1.0
    powers[2, 0] = 0.0
    term = 1.0
    for k in range(1, n_steps + 1):
        powers[0, k] = powers[0, k - 1] * beta_1
        powers[1, k] = powers[1, k - 1] * beta_2
        term *= ratio
        powers[2, k] = powers[2, k - 1] + term
    return powers


@_inline
def lazy_catch_up(params, m1, m2, j, skipped, lr, bias1, bias2, powers, codes, hyper):
    """Column j of every output through ``skipped`` steps in which its loss gradient was 0.

    ``lr`` is the column's rate (the preconditioner's scale included).

    Exact: the moments' decays (RMSprop's and Adam's ``beta**skipped``, the
    velocity's ``momentum**skipped``; Adagrad and "normalized" keep theirs),
    AdamW's decoupled decay and plain SGD's L2 shrink at a constant rate, and,
    without a penalty, the weight of Adagrad, RMSprop and "normalized", which a
    zero gradient leaves where it is, and of heavy ball and Nesterov, whose
    velocity moves it on by ``lr * v * sum_{i=1..skipped} momentum**i`` (Nesterov:
    times ``momentum`` once more). Approximate: Adam's momentum
    keeps moving the weight while its first moment decays; the moves sum to
    ``step * m1 * sum_{i=1..skipped} (beta_1 / sqrt(beta_2))**i`` when the
    bias corrections are those of the current step and ``optimizer_epsilon``
    shrinks with the second moment (LazyAdam leaves this move out; it was
    half the progress of a stochastic fit). The L2 term is a shrink by the
    coordinate's current unit step, ``(1 - step * l2)**skipped``, its squares
    left out of the moments (for heavy ball and Nesterov the step is
    ``lr / (1 - momentum)``, the velocity's steady state, as their L1 step
    takes); the L1 soft threshold is by ``skipped * step * l1``, after the
    shrink; a per-update schedule's rate is the current one.
    """
    opt = codes[C_OPTIMIZER]
    l2 = hyper[H_L2]
    l1 = hyper[H_L1]
    adam = opt == OPT_ADAM or opt == OPT_ADAMW
    heavy = opt == OPT_MOMENTUM or opt == OPT_NESTEROV
    momentum = hyper[H_MOMENTUM]
    for k in range(params.shape[0]):
        w = params[k, j]
        if heavy:
            drift = lr * m1[k, j] * powers[2, skipped]
            w -= momentum * drift if opt == OPT_NESTEROV else drift
            m1[k, j] *= powers[0, skipped]
        elif adam:
            w -= unit_step(opt, 0.0, m2[k, j], lr, bias1, bias2, hyper[H_OPT_EPSILON]) \
                * m1[k, j] * powers[2, skipped]
            m1[k, j] *= powers[0, skipped]
            m2[k, j] *= powers[1, skipped]
        elif opt == OPT_RMSPROP:
            m2[k, j] *= powers[1, skipped]
        if opt == OPT_SGD:
            step = lr
        elif heavy:
            step = lr / (1.0 - momentum)
        else:
            step = unit_step(opt, m1[k, j], m2[k, j], lr, bias1, bias2,
                             hyper[H_OPT_EPSILON])
        if opt == OPT_ADAMW:
            if l2 > 0.0:
                w *= max(1.0 - lr * l2, 0.0) ** skipped
        elif l2 > 0.0:
            w *= max(1.0 - step * l2, 0.0) ** skipped
        shrink = skipped * step * l1
        if shrink > 0.0:
            if w > shrink:
                w -= shrink
            elif w < -shrink:
                w += shrink
            else:
                w = w - w
        params[k, j] = w


@_jit
def lazy_minibatch_epoch(rows, targets, sample_weight, order, batch_size, params, m1, m2,
                         grad, scores, dscores, step_scales, t, codes, hyper):
    """:func:`minibatch_epoch` on CSR rows, each step in O(non-zeros of its rows).

    ``batch_size`` 1 is the stochastic loop. A column's weight and moments are
    brought up to date (:func:`lazy_catch_up`) before a row reads them, and
    every column's at the end, so the weights returned are those of the last
    step. ``grad`` is a zeroed buffer shaped like ``params``, left zeroed;
    ``step_scales`` as in :func:`apply_gradient`. Without a penalty Adagrad
    and "normalized" make the dense loop's steps exactly, RMSprop, heavy ball
    and Nesterov to rounding, and so does plain SGD with L2 at a per-epoch
    rate.
    """
    data, indices, indptr = rows
    n = order.shape[0]
    n_features = params.shape[1] - 1
    opt = codes[C_OPTIMIZER]
    normalized = opt == OPT_NORMALIZED
    fit_intercept = codes[C_FIT_INTERCEPT] != 0
    intercept_norm = 1.0 if fit_intercept else 0.0
    clip_norm = hyper[H_CLIP_NORM]
    # The step after which each column is up to date, and the batch that listed it.
    last = np.full(n_features, t, dtype=np.int64)
    listed = np.full(n_features, -1, dtype=np.int64)
    touched = np.empty(n_features, dtype=np.int64)
    powers = lazy_powers((n + batch_size - 1) // batch_size, codes, hyper)
    scaled = step_scales.shape[0] > 0
    loss_sum = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        # The rate of the steps being caught up: the one of the last step made.
        lr = learning_rate_at(t, codes, hyper)
        if normalized:
            lr *= normalized_rate(m1)
        bias1, bias2 = bias_corrections(t, codes, hyper)
        n_touched = 0
        norm = 0.0
        for pos in range(start, stop):
            if pos + PREFETCH_DISTANCE < n:
                prefetch_sample(rows, targets, sample_weight, order[pos + PREFETCH_DISTANCE])
            i = order[pos]
            sw = sample_weight[i]
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if listed[j] != start:
                    listed[j] = start
                    touched[n_touched] = j
                    n_touched += 1
                    if last[j] < t:
                        lazy_catch_up(params, m1, m2, j, t - last[j],
                                      lr * step_scales[j] if scaled else lr, bias1, bias2,
                                      powers, codes, hyper)
                        last[j] = t
            if normalized:
                norm += row_update_scales(rows, i, params, m1) + intercept_norm
            for k in range(params.shape[0]):
                scores[k] = row_dot(rows, i, params, k) + params[k, n_features]
            loss_sum += sw * sample_loss(scores, targets, i, dscores, codes, hyper)
            if not math.isfinite(loss_sum):
                return loss_sum, t, STATUS_DIVERGED
            for k in range(params.shape[0]):
                a = sw * dscores[k]
                if a != 0.0:
                    row_axpy(rows, i, a, grad, k)
                    grad[k, n_features] += a
        t += 1
        if normalized:
            note_mean_norm(m1, norm / (stop - start), t)
        scale = 1.0 / (stop - start)
        if clip_norm > 0.0:
            sq = 0.0
            for k in range(params.shape[0]):
                for q in range(n_touched):
                    sq += grad[k, touched[q]] * grad[k, touched[q]]
                if fit_intercept:
                    sq += grad[k, n_features] * grad[k, n_features]
            gnorm = math.sqrt(sq) * scale
            if gnorm > clip_norm:
                scale *= clip_norm / gnorm
        lr = learning_rate_at(t, codes, hyper)
        if normalized:
            lr *= normalized_rate(m1)
        bias1, bias2 = bias_corrections(t, codes, hyper)
        for k in range(params.shape[0]):
            for q in range(n_touched):
                j = touched[q]
                params[k, j], m1[k, j], m2[k, j] = update_coordinate(
                    params[k, j], grad[k, j] * scale, m1[k, j], m2[k, j], True,
                    lr * step_scales[j] if scaled else lr, bias1, bias2, codes, hyper)
                grad[k, j] = 0.0
            if fit_intercept:
                b = n_features
                params[k, b], m1[k, b], m2[k, b] = intercept_step(
                    params[k, b], grad[k, b] * scale, m1[k, b], m2[k, b],
                    lr * step_scales[b] if scaled else lr, bias1, bias2, codes, hyper)
            grad[k, n_features] = 0.0
        for q in range(n_touched):
            last[touched[q]] = t
    lr = learning_rate_at(t, codes, hyper)
    if normalized:
        lr *= normalized_rate(m1)
    bias1, bias2 = bias_corrections(t, codes, hyper)
    for j in range(n_features):
        if last[j] < t:
            lazy_catch_up(params, m1, m2, j, t - last[j], lr * step_scales[j] if scaled else lr,
                          bias1, bias2, powers, codes, hyper)
    if not params_finite(params):
        return loss_sum, t, STATUS_DIVERGED
    return loss_sum, t, STATUS_OK


@_jit
def batch_gradient(rows, targets, sample_weight, start, stop, params, grad, scores, dscores,
                   codes, hyper):
    """Weighted loss sum of rows [start, stop); their gradient sum goes into ``grad``.

    One fused pass: each row's scores and its contribution to the gradient are
    computed while the row is in cache.
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
            a = sw * dscores[k]
            if a != 0.0:
                row_axpy(rows, i, a, grad, k)
                grad[k, n_features] += a
    return loss_sum


@_jit
def single_score_gradient(rows, targets, sample_weight, start, stop, params, grad, scores,
                          dscores, codes, hyper):
    """:func:`batch_gradient` for one score column and a margin loss (binary, regression).

    The score and its derivative stay in registers instead of the ``scores``
    and ``dscores`` arrays (unused here; the arguments are those of
    :func:`batch_gradient`): on 200,000 x 100 rows a pass took 15-27 % less
    time in float64 and 29-38 % less in float32. A branch for it inside
    ``batch_gradient`` would inline the row helpers twice into one function,
    on which Numba's IR checks emit ``NumbaIRAssumptionWarning``.
    """
    n_features = params.shape[1] - 1
    grad[:, :] = 0.0
    loss_sum = 0.0
    bias = params[0, n_features]
    code, epsilon, quantile, gamma = codes[C_LOSS], hyper[H_EPSILON], hyper[H_QUANTILE], \
        hyper[H_GAMMA]
    for i in range(start, stop):
        sw = sample_weight[i]
        value, deriv = single_score_loss(code, float(row_dot(rows, i, params, 0) + bias),
                                  float(targets[i, 0]), epsilon, quantile, gamma)
        loss_sum += sw * value
        a = sw * deriv
        if a != 0.0:
            row_axpy(rows, i, a, grad, 0)
            grad[0, n_features] += a
    return loss_sum


# Rows per block of log_loss_gradient: its scores fit in L1 with room for the rows.
_MARGIN_BLOCK = 256


@_inline
def log_loss_blocks(rows, targets, sample_weight, start, stop, params, grad, snapshot, keep):
    """The body of :func:`log_loss_gradient`; with ``keep``, ``snapshot[i, 0]`` also gets
    row i's d loss / d score (unweighted), for SVRG's snapshot pass."""
    n_features = params.shape[1] - 1
    grad[:, :] = 0.0
    loss_sum = 0.0
    bias = params[0, n_features]
    block = min(_MARGIN_BLOCK, max(stop - start, 1))
    margins = np.empty(block)
    labels = np.empty(block)
    weights = np.empty(block)
    derivs = np.empty(block)
    for lo in range(start, stop, block):
        n = min(block, stop - lo)
        for b in range(n):
            margins[b] = row_dot(rows, lo + b, params, 0) + bias
            labels[b] = targets[lo + b, 0]
            weights[b] = sample_weight[lo + b]
        loss_sum += log_loss_rows(margins, labels, weights, derivs, n)
        for b in range(n):
            if keep:
                snapshot[lo + b, 0] = derivs[b]
            a = weights[b] * derivs[b]
            if a != 0.0:
                row_axpy(rows, lo + b, a, grad, 0)
                grad[0, n_features] += a
    return loss_sum


@_jit
def log_loss_gradient(rows, targets, sample_weight, start, stop, params, grad, scores,
                      dscores, codes, hyper):
    """:func:`single_score_gradient` for the binary log loss, a block of rows at a time.

    The scores of a block come first, then the loss and its derivatives of
    the whole block in one vectorised loop (``losses.log_loss_rows``), then
    the gradient: on sparse one-hot rows the exp and log1p, one row at a time
    through the C library, were most of a pass. The arguments are those of
    :func:`batch_gradient` (``scores`` and ``dscores`` unused).
    """
    return log_loss_blocks(rows, targets, sample_weight, start, stop, params, grad, grad,
                           False)


def batch_gradient_kernel(codes, n_outputs):
    """The full-batch gradient pass for this loss and number of score columns."""
    if n_outputs == 1 and not codes[C_MULTINOMIAL]:
        return log_loss_gradient if codes[C_LOSS] == LOSS_LOG else single_score_gradient
    return batch_gradient


@_jit
def batch_update(params, block_grads, n_samples, m1, m2, step_scales, t, codes, hyper):
    """Sum the block gradients in order and take one step; returns status.

    ``step_scales``: see :func:`apply_gradient`.
    """
    n_blocks = block_grads.shape[0]
    grad = block_grads[0]
    for b in range(1, n_blocks):
        for k in range(grad.shape[0]):
            for j in range(grad.shape[1]):
                grad[k, j] += block_grads[b, k, j]
    apply_gradient(params, grad, 1.0 / n_samples, m1, m2, step_scales, t, codes, hyper)
    if not params_finite(params):
        return STATUS_DIVERGED
    return STATUS_OK
