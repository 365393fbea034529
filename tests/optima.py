"""Independent optima of the objectives the estimators define, for convergence tests.

The training objective of a fitted model is recomputed here in NumPy, and its
minimum is found without any of the package's code: SciPy's L-BFGS-B on the
NumPy objective for smooth losses (on the split ``w = u - v, u, v >= 0`` with an
L1 term), scikit-learn's libsvm (``SVC``/``SVR`` with a linear kernel and an
unpenalised intercept, exactly our hinge / epsilon-insensitive / absolute
objectives up to a factor) and the HiGHS linear program of
``QuantileRegressor`` for the non-smooth losses.

Objective (``sample_weight`` scaled to mean 1, binary labels as +-1)::

    mean_i(w_i * loss(y_i, x_i @ coef + intercept)) + alpha * ((1 - r) / 2 ||coef||^2
                                                               + r ||coef||_1)
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log1p

SMOOTH = ("squared_error", "huber", "squared_epsilon_insensitive", "log_loss",
          "squared_hinge", "modified_huber")
NON_SMOOTH = ("absolute_error", "epsilon_insensitive", "quantile", "hinge")


def loss_and_derivative(loss, p, y, epsilon=0.1, quantile=0.5):
    """Per-sample loss and d loss / d score, the formulas of the docs."""
    r = p - y
    if loss == "squared_error":
        return 0.5 * r * r, r
    if loss == "absolute_error":
        return np.abs(r), np.sign(r)
    if loss == "huber":
        a = np.abs(r)
        quad = a <= epsilon
        return (np.where(quad, 0.5 * r * r, epsilon * a - 0.5 * epsilon**2),
                np.where(quad, r, epsilon * np.sign(r)))
    if loss == "epsilon_insensitive":
        a = np.abs(r) - epsilon
        return np.maximum(a, 0.0), np.where(a > 0, np.sign(r), 0.0)
    if loss == "squared_epsilon_insensitive":
        a = np.maximum(np.abs(r) - epsilon, 0.0)
        return a * a, 2.0 * a * np.sign(r)
    if loss == "quantile":
        d = y - p
        return (np.where(d > 0, quantile * d, (quantile - 1.0) * d),
                np.where(d > 0, -quantile, 1.0 - quantile))
    z = y * p
    if loss == "log_loss":
        value = np.where(z > 0, log1p(np.exp(-np.abs(z))),
                         -z + log1p(np.exp(-np.abs(z))))
        return value, -y * expit(-z)
    if loss == "hinge":
        return np.maximum(1.0 - z, 0.0), np.where(z < 1.0, -y, 0.0)
    if loss == "squared_hinge":
        a = np.maximum(1.0 - z, 0.0)
        return a * a, -2.0 * y * a
    if loss == "modified_huber":
        a = np.maximum(1.0 - z, 0.0)
        return (np.where(z >= -1.0, a * a, -4.0 * z),
                np.where(z >= -1.0, -2.0 * y * a, -4.0 * y))
    raise ValueError(loss)


def penalty_parts(penalty, alpha, l1_ratio):
    if penalty is None:
        return 0.0, 0.0
    r = {"l2": 0.0, "l1": 1.0}.get(penalty, l1_ratio)
    return alpha * (1.0 - r), alpha * r


def objective(loss, X, y, coef, intercept, *, penalty="l2", alpha=1e-4, l1_ratio=0.15,
              sample_weight=None, epsilon=0.1, quantile=0.5):
    """The training objective of one score column at (coef, intercept)."""
    sw = np.ones(len(y)) if sample_weight is None else sample_weight / np.mean(sample_weight)
    value, _ = loss_and_derivative(loss, X @ coef + intercept, y, epsilon, quantile)
    l2, l1 = penalty_parts(penalty, alpha, l1_ratio)
    return float(np.mean(sw * value) + 0.5 * l2 * coef @ coef + l1 * np.abs(coef).sum())


def _smooth_optimum(loss, X, y, penalty, alpha, l1_ratio, fit_intercept, epsilon, quantile):
    n, d = X.shape
    l2, l1 = penalty_parts(penalty, alpha, l1_ratio)

    def split(theta):
        u, v, b = theta[:d], theta[d:2 * d], theta[2 * d]
        return u - v, (b if fit_intercept else 0.0)

    def fun(theta):
        coef, b = split(theta)
        value, deriv = loss_and_derivative(loss, X @ coef + b, y, epsilon, quantile)
        g = X.T @ deriv / n + l2 * coef
        f = value.mean() + 0.5 * l2 * coef @ coef + l1 * theta[:2 * d].sum()
        grad = np.concatenate([g + l1, -g + l1, [deriv.mean() if fit_intercept else 0.0]])
        return f, grad

    bounds = [(0, None)] * (2 * d) + [(None, None)]
    best = None
    for start in (np.zeros(2 * d + 1), None):
        if start is None:
            # Restart from the first answer: L-BFGS-B's own stopping is not a
            # certificate either; a second run from there must agree.
            start = best.x
        best = minimize(fun, start, jac=True, method="L-BFGS-B", bounds=bounds,
                        options={"maxiter": 20000, "maxfun": 40000, "ftol": 1e-15,
                                 "gtol": 1e-11, "maxcor": 30})
    coef, b = split(best.x)
    return coef, b


def _non_smooth_optimum(loss, X, y, penalty, alpha, fit_intercept, epsilon, quantile):
    from sklearn.linear_model import QuantileRegressor
    from sklearn.svm import SVC, SVR

    n = X.shape[0]
    l2, l1 = penalty_parts(penalty, alpha, 0.0)
    if penalty == "l1" and loss in ("absolute_error", "quantile"):
        # (1/n) sum pinball_q + l1 ||w||_1; absolute error is twice the median's pinball.
        q, scale = (0.5, 2.0) if loss == "absolute_error" else (quantile, 1.0)
        model = QuantileRegressor(quantile=q, alpha=l1 / scale, fit_intercept=fit_intercept,
                                  solver="highs").fit(X, y)
        return model.coef_, float(model.intercept_)
    if penalty != "l2" or not fit_intercept or alpha <= 0:
        raise NotImplementedError((loss, penalty, fit_intercept))
    # (1/n) sum loss + l2/2 ||w||^2  =  l2 * (1/2 ||w||^2 + C sum loss), C = 1 / (l2 n).
    C = 1.0 / (l2 * n)
    if loss == "hinge":
        model = SVC(kernel="linear", C=C, tol=1e-10, max_iter=10**8).fit(X, y)
        return model.coef_.ravel(), float(model.intercept_[0])
    if loss in ("epsilon_insensitive", "absolute_error"):
        eps = epsilon if loss == "epsilon_insensitive" else 0.0
        model = SVR(kernel="linear", C=C, epsilon=eps, tol=1e-10, max_iter=10**8).fit(X, y)
        return model.coef_.ravel(), float(model.intercept_[0])
    raise NotImplementedError((loss, penalty))


def optimum(loss, X, y, *, penalty="l2", alpha=1e-4, l1_ratio=0.15, fit_intercept=True,
            epsilon=0.1, quantile=0.5):
    """(coef, intercept, objective) at the minimum, found independently of the package."""
    if loss in NON_SMOOTH:
        coef, b = _non_smooth_optimum(loss, X, y, penalty, alpha, fit_intercept, epsilon,
                                      quantile)
    else:
        coef, b = _smooth_optimum(loss, X, y, penalty, alpha, l1_ratio, fit_intercept,
                                  epsilon, quantile)
    f = objective(loss, X, y, coef, b, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio,
                  epsilon=epsilon, quantile=quantile)
    return coef, b, f


def relative_gap(value, best):
    return (value - best) / max(abs(best), 1e-12)


def problem(kind, task, *, n_samples=400, n_features=8, seed=0):
    """Data with a target in its own units: well or ill conditioned (correlated, uneven).

    ``task`` "regression" gives y around 50 with noise; "classification" +-1 labels
    from a noisy linear rule with an offset, so that neither the intercept nor the
    weights are near zero at the optimum.
    """
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_samples, n_features))
    if kind == "ill":
        mix = np.eye(n_features) + 0.8 * np.ones((n_features, n_features)) / n_features
        X = X @ mix
        X[:, 0] += 0.95 * X[:, 1]
        X *= np.geomspace(0.3, 10.0, n_features)
    w = rng.uniform(-2, 2, n_features)
    score = X @ w / np.sqrt((X @ w).var())
    if task == "regression":
        return X, 50.0 + 10.0 * score + 3.0 * rng.standard_normal(n_samples)
    y = np.where(score + 0.8 + 0.7 * rng.standard_normal(n_samples) > 0, 1.0, -1.0)
    return X, y


# The convergence matrix (tests/test_convergence.py, benchmarks/convergence_matrix.py):
# every solver x optimizer x loss, on problem("well" | "ill", ...) with alpha=ALPHA.
REGRESSION = ("squared_error", "huber", "squared_epsilon_insensitive", "absolute_error",
              "epsilon_insensitive", "quantile")
CLASSIFICATION = ("log_loss", "squared_hinge", "modified_huber", "hinge")
SOLVERS = ("batch", "minibatch", "stochastic")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "normalized")
ALPHA = 1e-3


def matrix_penalty(loss):
    """Quantile regression has an independent optimum with L1 (HiGHS), the others with L2."""
    return "l1" if loss == "quantile" else "l2"


def within(optimizer, gap):
    """Whether a fit ended near enough: 1e-3, or 1e-2 for AdamW, whose decoupled decay has a
    fixed point of its own near the L2 optimum."""
    return gap <= (1e-2 if optimizer == "adamw" else 1e-3)


def one_hot_blocks(rng, n_samples, levels=(5, 40, 200)):
    """One-hot CSR blocks of categoricals whose levels have frequencies from 50 % to 0.1 %
    (geometric), the shape of real tabular data; draws from ``rng`` in a fixed order."""
    import scipy.sparse as sp

    blocks = []
    for n_levels in levels:
        p = np.geomspace(1.0, 1e-3, n_levels)
        codes = rng.choice(n_levels, size=n_samples, p=p / p.sum())
        blocks.append(sp.csr_matrix((np.ones(n_samples), (np.arange(n_samples), codes)),
                                    shape=(n_samples, n_levels)))
    return blocks
