"""Loss values and their derivatives with respect to the decision scores.

Two families share one entry point, :func:`loss_and_dscores`:

* margin losses on one score per output column: regression losses compare the
  score ``p`` with a real target ``y``; classification losses see ``y`` in
  {-1, +1} and work on the margin ``z = y * p``. With several columns (one-vs-rest)
  each column is an independent binary problem and the loss is their sum;
* multinomial losses (softmax log loss and softmax focal loss) on a row of
  scores with a one-hot target row.

Codes are the ``LOSS_*`` constants below; :mod:`sklearn_gd._registry` maps the
public names onto them.
"""

import math

from ._jit import FASTMATH, kernel
from .vector_math import exp_neg, log1p_unit

LOSS_SQUARED_ERROR = 0
LOSS_ABSOLUTE_ERROR = 1
LOSS_HUBER = 2
LOSS_EPSILON_INSENSITIVE = 3
LOSS_SQUARED_EPSILON_INSENSITIVE = 4
LOSS_QUANTILE = 5
LOSS_LOG = 6
LOSS_HINGE = 7
LOSS_SQUARED_HINGE = 8
LOSS_MODIFIED_HUBER = 9
LOSS_PERCEPTRON = 10
LOSS_FOCAL = 11
# A user-defined loss (``CustomLoss``): its loops are compiled around the user's
# functions (``custom_loops.py``); the built-in loops never see this code.
LOSS_CUSTOM = 12

# The loops' contract: margin_loss is also called from Python (Bottou's t0), and
# must compile to the same code whichever caller comes first (see _jit).
_jit = kernel(fastmath=FASTMATH, error_model="numpy")
# Called once per row from the loops: inlined (see loops._inline).
_inline = kernel(fastmath=FASTMATH, error_model="numpy", inline="always")


@_jit
def softplus(x):
    """log(1 + exp(x)) without overflow for large |x|."""
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@_jit
def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@_jit
def _focal_factor(q, log_p, gamma):
    """d(-(q**gamma) log p)/d(log-odds of the true class) divided by q.

    ``p`` is the probability of the true class and ``q = 1 - p`` (given
    separately so that it keeps its precision when p is close to 1). The
    derivative of the focal loss with respect to the true-class score is
    ``q**gamma * (gamma * p * log(p) / q - 1) * q``; ``p log p / q`` tends to
    -1 as q -> 0, which is substituted to avoid 0/0.
    """
    if q > 1e-300:
        ratio = (1.0 - q) * log_p / q
    else:
        ratio = -1.0
    return (q**gamma) * (gamma * ratio - 1.0)


@_inline
def log_loss(z, y):
    """(loss, d loss / d p) of the logistic loss at margin ``z = y * p``.

    softplus(-z) and sigmoid(-z) from one exp (it is most of the loss's cost);
    the log1p is ``vector_math``'s, inlined, where the C library's was a call
    per row for a value that only feeds the epoch's objective.
    """
    if z > 0.0:
        e = math.exp(-z)
        return log1p_unit(e), -y * e / (1.0 + e)
    e = math.exp(z)
    return log1p_unit(e) - z, -y / (1.0 + e)


@_jit
def margin_loss(code, p, y, epsilon, quantile, gamma):
    """Return (loss, d loss / d p) for one score ``p`` and target ``y``."""
    if code == LOSS_SQUARED_ERROR:
        r = p - y
        return 0.5 * r * r, r
    if code == LOSS_ABSOLUTE_ERROR:
        r = p - y
        if r > 0.0:
            return r, 1.0
        if r < 0.0:
            return -r, -1.0
        return 0.0, 0.0
    if code == LOSS_HUBER:
        r = p - y
        a = abs(r)
        if a <= epsilon:
            return 0.5 * r * r, r
        s = 1.0 if r > 0.0 else -1.0
        return epsilon * a - 0.5 * epsilon * epsilon, epsilon * s
    if code == LOSS_EPSILON_INSENSITIVE:
        r = p - y
        a = abs(r) - epsilon
        if a <= 0.0:
            return 0.0, 0.0
        return a, 1.0 if r > 0.0 else -1.0
    if code == LOSS_SQUARED_EPSILON_INSENSITIVE:
        r = p - y
        a = abs(r) - epsilon
        if a <= 0.0:
            return 0.0, 0.0
        return a * a, 2.0 * a * (1.0 if r > 0.0 else -1.0)
    if code == LOSS_QUANTILE:
        r = y - p
        if r > 0.0:
            return quantile * r, -quantile
        if r < 0.0:
            return (quantile - 1.0) * r, 1.0 - quantile
        return 0.0, 0.0
    # Classification: y in {-1, +1}, margin z = y * p.
    z = y * p
    if code == LOSS_LOG:
        return log_loss(z, y)
    if code == LOSS_HINGE:
        if z < 1.0:
            return 1.0 - z, -y
        return 0.0, 0.0
    if code == LOSS_SQUARED_HINGE:
        if z < 1.0:
            return (1.0 - z) * (1.0 - z), -2.0 * y * (1.0 - z)
        return 0.0, 0.0
    if code == LOSS_MODIFIED_HUBER:
        if z >= 1.0:
            return 0.0, 0.0
        if z >= -1.0:
            return (1.0 - z) * (1.0 - z), -2.0 * y * (1.0 - z)
        return -4.0 * z, -4.0 * y
    if code == LOSS_PERCEPTRON:
        if z <= 0.0:
            return -z, -y
        return 0.0, 0.0
    if code == LOSS_FOCAL:
        q = sigmoid(-z)
        log_p = -softplus(-z)
        return -(q**gamma) * log_p, y * _focal_factor(q, log_p, gamma) * q
    return math.nan, math.nan


@_jit
def log_loss_rows(margins, labels, weights, dscores, n):
    """Weighted log loss of ``n`` rows from their scores, labels (-1 or +1) and weights.

    Sets ``dscores[b]`` to ``d loss / d score`` of row ``b`` (unweighted). The
    loss of :func:`log_loss`, without its branch and with ``vector_math``'s
    exp and log1p, so that the loop runs several rows at once: the batch
    gradient's rows are independent, where the stochastic loops need each
    score before the next. The arguments are contiguous 1-D blocks: read
    through the (n_samples, 1) target matrix, the loop was not vectorised.
    """
    total = 0.0
    for b in range(n):
        y = labels[b]
        z = y * margins[b]
        e = exp_neg(abs(z))
        total += weights[b] * (log1p_unit(e) + (-z if z < 0.0 else 0.0))
        r = 1.0 / (1.0 + e)
        dscores[b] = -y * (e * r if z > 0.0 else r)
    return total


@_inline
def single_score_loss(code, p, y, epsilon, quantile, gamma):
    """:func:`margin_loss` for the loops: the most used loss skips the call into it."""
    if code == LOSS_LOG:
        return log_loss(y * p, y)
    return margin_loss(code, p, y, epsilon, quantile, gamma)


@_inline
def softmax_loss(code, scores, target, dscores, gamma):
    """Multinomial log loss or focal loss on one row of scores.

    ``target`` is a one-hot row. Writes d loss / d scores into ``dscores`` and
    returns the loss. The log-sum-exp is shifted by the largest score so that
    margins of any size stay finite.
    """
    n = scores.shape[0]
    top = scores[0]
    arg_top = 0
    c = 0
    for k in range(1, n):
        if scores[k] > top:
            top = scores[k]
            arg_top = k
    best_target = target[0]
    for k in range(n):
        if target[k] > best_target:
            best_target = target[k]
            c = k
    others = 0.0  # sum of exp(s_k - top) over k != arg_top
    for k in range(n):
        if k != arg_top:
            others += math.exp(scores[k] - top)
    log_norm = top + math.log1p(others)
    if c == arg_top:
        # log p_c = -log1p(others) keeps its relative precision when the true
        # class leads by a wide margin, where s_c - log_norm rounds to 0.
        log_p = -math.log1p(others)
    else:
        log_p = scores[c] - log_norm
    # 1 - p_c as the sum of the other probabilities keeps precision near p_c = 1.
    q = 0.0
    for k in range(n):
        prob = math.exp(scores[k] - log_norm)
        dscores[k] = prob
        if k != c:
            q += prob
    if code == LOSS_LOG:
        dscores[c] = -q
        return -log_p
    # Focal: d/ds_k = g * (delta_kc - p_k) with g = q**gamma * (gamma*p log p / q - 1).
    g = _focal_factor(q, log_p, gamma)
    for k in range(n):
        if k == c:
            dscores[k] = g * q
        else:
            dscores[k] = -g * dscores[k]
    return -(q**gamma) * log_p


@_inline
def loss_and_dscores(code, multinomial, scores, targets, i, dscores, epsilon, quantile,
                     gamma):
    """Loss of sample ``i`` (row i of ``targets``) and d loss / d each score column."""
    if multinomial:
        return softmax_loss(code, scores, targets[i], dscores, gamma)
    total = 0.0
    for k in range(scores.shape[0]):
        value, deriv = single_score_loss(code, scores[k], targets[i, k], epsilon, quantile, gamma)
        total += value
        dscores[k] = deriv
    return total
