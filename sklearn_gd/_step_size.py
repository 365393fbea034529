"""``eta0="auto"`` for the adaptive optimizers: a rate in the units of the weights.

Adagrad, RMSprop, Adam and AdamW move each coordinate by about the learning
rate per update whatever the gradient's size, so their rate is a *distance*:
a fixed customary value (0.001 for Adam) cannot reach an intercept of 50 in
1,000 steps, and oversteps weights of 1e-4. From one gradient pass at the
all-zero model and the columns' mean squares:

* ``D_j = |g0_j| / h_j``, the diagonal-Newton distance of coordinate ``j``
  (``h_j = curvature * mean_i(w_i x_ij^2) + l2``, the intercept's column of
  ones giving ``h = curvature``): exact for uncorrelated, standardized
  columns, and ``D = max_j D_j``;
* with ``S`` updates per epoch: Adam and AdamW ``D / (8 sqrt(S))``, RMSprop
  ``D / (16 sqrt(S))``, Adagrad ``2 D / S**(1/4)``. ``D / sqrt(T)`` is the
  worst-case constant step over ``T`` updates; the constants were fitted by
  simulating the library's driver (which halves a rate that stalls, so they
  err high: a rate too low stalls and is cut further, one too high costs a
  cut) on standardized and correlated least squares and on logistic
  regression, against the best rate of a sweep;
* capped by the step that minimises the quadratic bound of the objective
  along the first update (``rate * sign(g0)``, scaled by ``1/sqrt(1 - beta_2)``
  for RMSprop, which has no bias correction), so that features of very
  different scales cannot make the first update blow up.

These are statistics of the data (one pass for the gradient at the all-zero
model, one for the cap): the Dask path computes them where the data lives.
"""

import math

import numpy as np

from ._kernels.data_passes import weighted_gram_product

# Rate = D * FACTOR / S ** POWER, per optimizer.
_RULES = {
    "adam": (1.0 / 8.0, 0.5),
    "adamw": (1.0 / 8.0, 0.5),
    "rmsprop": (1.0 / 16.0, 0.5),
    "adagrad": (2.0, 0.25),
}

DATA_DERIVED = frozenset(_RULES)


def column_mean_squares(rows, sample_weight):
    """``mean_i(w_i x_ij^2)`` for every column j of the ``_Rows`` (float64).

    Kept on ``rows`` for the same ``sample_weight`` object: one pass per fit.
    """
    kept = rows.column_moments
    if kept is not None and kept[0] is sample_weight:
        return kept[1]
    X = rows.as_matrix()
    w = np.asarray(sample_weight, dtype=np.float64)
    n = max(rows.n_samples, 1)
    if rows.is_sparse:
        squares = X.multiply(X).T @ w
    else:
        squares = np.einsum("i,ij,ij->j", w, X, X, dtype=np.float64)
    result = np.asarray(squares, dtype=np.float64).ravel() / n
    rows.column_moments = (sample_weight, result)
    return result


def quadratic_along(rows, sample_weight, direction, fit_intercept):
    """``v^T [X, 1]^T diag(w) [X, 1] v / n`` for each row ``v`` of ``direction``."""
    d = rows.n_features
    dtype = (rows.data[0] if rows.is_sparse else rows.data).dtype
    sample_weight = np.asarray(sample_weight, dtype=dtype)
    n = max(rows.n_samples, 1)
    values = []
    for v in direction:
        v_rows = np.zeros((1, d + 1), dtype=dtype)
        v_rows[0, :v.shape[0]] = v
        product = np.empty((1, d + 1), dtype=dtype)
        weighted_gram_product(rows.data, rows.n_samples, 1, sample_weight, v_rows,
                              bool(fit_intercept), product)
        values.append(float(np.dot(product[0, :v.shape[0]].astype(np.float64), v)) / n)
    return np.array(values)


def adaptive_rate(optimizer, rows, sample_weight, mean_gradient, curvature, l2,
                  fit_intercept, updates_per_epoch, beta_2):
    """The data-derived ``eta0`` of an adaptive optimizer, or None if the data say nothing.

    ``mean_gradient`` is the (n_outputs, n_features + 1) gradient of the mean
    loss at the all-zero model, intercept last.
    """
    factor, power = _RULES[optimizer]
    g = np.asarray(mean_gradient, dtype=np.float64)
    width = g.shape[1] if fit_intercept else g.shape[1] - 1
    g = g[:, :width]
    h = np.append(curvature * column_mean_squares(rows, sample_weight) + l2,
                  [curvature] if fit_intercept else [])
    # Columns that are all zero have no gradient either: no distance to go.
    distance = np.where(h > 0, np.abs(g) / np.where(h > 0, h, 1.0), 0.0)
    d_max = float(np.max(distance)) if distance.size else 0.0
    if not (d_max > 0.0 and math.isfinite(d_max)):
        return None
    rate = d_max * factor / updates_per_epoch ** power
    # The first update moves every coordinate by about rate * sign(g0) (RMSprop
    # by 1/sqrt(1 - beta_2) times that): keep it within the minimiser of the
    # quadratic bound of the objective along that direction.
    direction = np.sign(g)
    along = curvature * quadratic_along(rows, sample_weight, direction, fit_intercept)
    along += l2 * np.count_nonzero(direction[:, :g.shape[1] - int(fit_intercept)], axis=1)
    descent = np.abs(g).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        caps = np.where(along > 0, 2.0 * descent / along, np.inf)
    cap = float(np.min(caps))
    if optimizer == "rmsprop":
        cap *= math.sqrt(1.0 - beta_2)
    if math.isfinite(cap) and cap > 0.0:
        rate = min(rate, cap)
    return rate
