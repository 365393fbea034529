"""``eta0="auto"`` from the data: the adaptive optimizers' rate, the plain steps' preconditioner.

The adaptive optimizers' rate is a distance in the units of the weights:

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

The plain, momentum and Nesterov steps of the batch and mini-batch loops take
a diagonal (Jacobi) preconditioner, :func:`diagonal_preconditioner`: the
step of coordinate ``j`` is ``eta * p_j`` with ``p_j = 1 / h_j``, the inverse
of the diagonal of the curvature bound. Their rate ``1 / L`` is then that of
the preconditioned problem, whose condition number is that of the columns'
correlations, not of their units: on correlated columns with scales from 0.3
to 10 it fell from about 2,000 to 12 (see the user guide).
"""

import math

import numpy as np
from sklearn.utils.extmath import row_norms

from ._kernels.data_passes import weighted_column_squares, weighted_gram_product
from ._registry import OPTIMIZERS

# The optimizers whose eta0="auto" is a distance derived from the data in the
# weights' units (rate = D * factor / updates ** power, the registry's
# ``distance_rule``); "normalized" uses Adagrad's rule in its own units, for
# the batch and mini-batch loops only.
DATA_DERIVED = frozenset(name for name, info in OPTIMIZERS.items()
                         if info.distance_rule is not None and not info.scale_free)


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
    if rows.is_sparse and X.has_canonical_format:
        squares = np.empty(rows.n_features)
        weighted_column_squares(X.data, X.indices, X.indptr, w, squares)
    elif rows.is_sparse:
        # Duplicate entries are summed before they are squared.
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


def normalized_units(rows, sample_weight, fit_intercept):
    """How far one unit of rate moves each coordinate in a first "normalized" update.

    NAG's first step of coordinate ``j`` is ``rate * sign(g_j) / (s_j sqrt(N))``
    (see ``optimizers.py``) with ``s_j`` the largest ``|x_j|`` of the rows of
    positive weight and ``N`` their weighted mean of ``sum_j (x_j / s_j)**2``
    (plus 1 for the intercept, whose ``s`` is 1). Columns that are all zero
    get 0: they never move.
    """
    X = rows.as_matrix()
    w = np.asarray(sample_weight, dtype=np.float64)
    positive = w > 0
    if not positive.all():
        # Rows of zero weight set no scale; only then is X copied.
        X, w = X[positive], w[positive]
    if rows.is_sparse:
        scales = np.asarray(abs(X).max(axis=0).todense(), dtype=np.float64).ravel()
    else:
        # max |x_j| without the n x d temporary of np.abs(X).
        scales = np.maximum(X.max(axis=0, initial=0.0),
                            -X.min(axis=0, initial=0.0)).astype(np.float64)
    inverse = np.where(scales > 0.0, 1.0 / np.where(scales > 0.0, scales, 1.0), 0.0)
    if rows.is_sparse:
        norms = X.multiply(X) @ (inverse * inverse)
    else:
        norms = np.einsum("ij,ij,j->i", X, X, inverse * inverse, dtype=np.float64)
    mean_norm = float(np.dot(w, np.asarray(norms).ravel()) / max(w.sum(), 1e-300))
    mean_norm += float(fit_intercept)
    if not mean_norm > 0.0:
        return None
    units = np.append(inverse, [1.0] if fit_intercept else [])
    return units / math.sqrt(mean_norm)


def adaptive_rate(optimizer, rows, sample_weight, mean_gradient, curvature, l2,
                  fit_intercept, updates_per_epoch, beta_2, units=None):
    """The data-derived ``eta0`` of an adaptive optimizer, or None if the data say nothing.

    ``mean_gradient`` is the (n_outputs, n_features + 1) gradient of the mean
    loss at the all-zero model, intercept last. ``units`` (one per fitted
    coordinate) is how far a unit of rate moves each coordinate per update,
    1 for all but "normalized" (see :func:`normalized_units`), which takes
    Adagrad's rule in its own units.
    """
    factor, power = OPTIMIZERS[optimizer].distance_rule
    g = np.asarray(mean_gradient, dtype=np.float64)
    width = g.shape[1] if fit_intercept else g.shape[1] - 1
    g = g[:, :width]
    h = np.append(curvature * column_mean_squares(rows, sample_weight) + l2,
                  [curvature] if fit_intercept else [])
    if units is None:
        units = np.ones(width)
    # Columns that are all zero have no gradient either: no distance to go.
    moves = (h > 0) & (units > 0)
    distance = np.where(moves, np.abs(g) / np.where(moves, h * units, 1.0), 0.0)
    d_max = float(np.max(distance)) if distance.size else 0.0
    if not (d_max > 0.0 and math.isfinite(d_max)):
        return None
    rate = d_max * factor / updates_per_epoch ** power
    # The first update moves every coordinate by about rate * sign(g0) (RMSprop
    # by 1/sqrt(1 - beta_2) times that): keep it within the minimiser of the
    # quadratic bound of the objective along that direction.
    direction = np.sign(g) * units
    along = curvature * quadratic_along(rows, sample_weight, direction, fit_intercept)
    along += l2 * np.sum(direction[:, :g.shape[1] - int(fit_intercept)] ** 2, axis=1)
    descent = (np.abs(g) * units).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        caps = np.where(along > 0, 2.0 * descent / along, np.inf)
    cap = float(np.min(caps))
    if optimizer == "rmsprop":
        cap *= math.sqrt(1.0 - beta_2)
    if math.isfinite(cap) and cap > 0.0:
        rate = min(rate, cap)
    return rate


def diagonal_preconditioner(column_mean_squares, curvature, l2, fit_intercept):
    """``p_j = 1 / h_j`` per coordinate (intercept last), for the plain steps.

    ``h_j = curvature * mean_i(w_i x_ij^2) + l2`` is the diagonal of the
    curvature bound of the objective (the intercept's column of ones:
    ``curvature``). A column that is zero on the rows seen is treated as one
    of unit scale: its own ``h_j`` (``l2`` or 0) would give its weight a huge
    step the first time a later chunk (``partial_fit``) makes it non-zero.
    Without an intercept its entry is 1 (unused).
    """
    squares = np.asarray(column_mean_squares, dtype=np.float64)
    squares = np.where(squares > 0.0, squares, 1.0)
    scales = np.empty(squares.shape[0] + 1)
    scales[:-1] = 1.0 / (curvature * squares + l2)
    scales[-1] = 1.0 / curvature if fit_intercept else 1.0
    return scales


def preconditioned_row_norm(rows, sample_weight, scales, fit_intercept):
    """``max_i w_i (sum_j p_j x_ij^2 + p_b)``: the largest weighted squared row norm
    in the coordinates of the preconditioner ``scales`` (``p``, the intercept's last)."""
    X = rows.as_matrix()
    p = scales[:-1]
    if rows.is_sparse:
        norms = X.multiply(X) @ p
    else:
        norms = np.einsum("ij,ij,j->i", X, X, p, dtype=np.float64)
    norms = np.asarray(norms, dtype=np.float64).ravel()
    if fit_intercept:
        norms = norms + scales[-1]
    return float(np.max(norms * np.asarray(sample_weight, dtype=np.float64)))


def top_row_norm(rows, sample_weight, fit_intercept):
    """``max_i w_i (||x_i||^2 + b)`` (``b`` 1 with an intercept): one row's curvature."""
    X = rows.as_matrix()
    return float(np.max((row_norms(X, squared=True) + float(fit_intercept)) * sample_weight))


class RowCurvatures:
    """What the plain steps' ``eta0="auto"`` reads from the training rows.

    The batch loop's curvature is the top eigenvalue of the weighted Gram
    matrix, one sample's the largest weighted squared row norm; a mini-batch
    step's lies between the two. Any object with these members can stand in
    (the Dask path computes them on its workers).
    """

    def __init__(self, rows, sample_weight, fit_intercept):
        self.rows, self.sample_weight = rows, sample_weight
        self.fit_intercept = fit_intercept
        self.n_samples = rows.n_samples
        self.dtype = (rows.data[0] if rows.is_sparse else rows.data).dtype

    def top_eigenvalue(self, scales=None, ridge=None):
        """:func:`top_eigenvalue` of the rows."""
        return top_eigenvalue(self.rows, self.sample_weight, self.fit_intercept,
                              scales=scales, ridge=ridge)

    def top_row(self):
        """:func:`top_row_norm` of the rows."""
        return top_row_norm(self.rows, self.sample_weight, self.fit_intercept)

    def top_preconditioned_row(self, scales):
        """:func:`preconditioned_row_norm` of the rows."""
        return preconditioned_row_norm(self.rows, self.sample_weight, scales,
                                       self.fit_intercept)


def top_eigenvalue(rows, sample_weight, fit_intercept, max_iter=20, rtol=1e-2,
                    max_rows=50_000, scales=None, ridge=None):
    """Largest eigenvalue of [X, 1]^T diag(w) [X, 1] / n by power iteration.

    With ``scales`` (``s``, one per coordinate, the intercept last) and
    ``ridge`` (``r``, the same shape), that of ``S G S + diag(r)`` for
    ``S = diag(s)`` and ``G`` the matrix above: the preconditioned curvature.

    ``rows`` is a ``_Rows``. Each iteration is one pass over the rows
    (``weighted_gram_product``, single-threaded and in a fixed order, so the
    estimate does not depend on thread counts); above ``max_rows`` rows a
    fixed, evenly strided subset stands in for them (the matrix is a mean over
    rows). The estimate approaches the eigenvalue from below; components of
    eigenvalues below 0.9 of the top one shrink by 0.9**2 per iteration, so
    the step 1 / estimate stays well inside the stable range 2 / eigenvalue.
    The start vector and the subset are fixed, so the step size (and the
    model) does not depend on any random state.
    """
    n_rows = rows.n_samples
    stride = -(-n_rows // max_rows) if n_rows > max_rows else 1
    n = -(-n_rows // stride)
    d = rows.n_features
    width = d + int(fit_intercept)
    dtype = (rows.data[0] if rows.is_sparse else rows.data).dtype
    sample_weight = np.asarray(sample_weight, dtype=dtype)
    v = np.random.RandomState(0).standard_normal(width)
    v /= np.linalg.norm(v)
    v_rows = np.zeros((1, d + 1), dtype=dtype)
    product = np.empty((1, d + 1), dtype=dtype)
    estimate = 0.0
    if scales is not None:
        scales = np.asarray(scales, dtype=np.float64)[:width]
        ridge = np.asarray(ridge, dtype=np.float64)[:width]
    for _ in range(max_iter):
        v_rows[0, :width] = v if scales is None else scales * v
        weighted_gram_product(rows.data, n_rows, stride, sample_weight, v_rows,
                              bool(fit_intercept), product)
        w = product[0, :width].astype(np.float64) / n
        if scales is not None:
            w = scales * w + ridge * v
        with np.errstate(over="ignore"):
            norm = float(np.linalg.norm(w))
        if norm == math.inf and np.all(np.isfinite(w)):
            # Features of 1e78 give components of 1e156, whose squares overflow
            # (eta0 was 1 / inf = 0): scaled, the norm is finite.
            top = float(np.max(np.abs(w)))
            norm = top * float(np.linalg.norm(w / top))
        if norm == 0.0 or not np.isfinite(norm):
            return norm
        v = w / norm
        converged = abs(norm - estimate) <= rtol * norm
        estimate = norm
        if converged:
            break
    return estimate
