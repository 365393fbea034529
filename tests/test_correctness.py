"""Numerical correctness of the losses, the update rules and the fitted models.

Every check compares against a reference that does not share code with
``sklearn_gd``: finite differences, formulas written out in NumPy/SciPy from
the documentation, closed forms and scikit-learn's own solvers (``Ridge``,
``LogisticRegression``, ``Lasso``, ``ElasticNet``, ``LinearSVC``).

The objective documented in ``_docstrings.py`` is

    sum_i w_i loss_i / sum_i w_i + alpha * ((1 - r) / 2 ||coef||^2 + r ||coef||_1)

so, with ``S = sum_i w_i`` (``n`` for unit weights), the scikit-learn
equivalents are:

* squared error + L2:  ``Ridge(alpha=alpha * S)`` (Ridge minimises
  ``sum w_i r_i^2 + alpha_ridge ||w||^2``, i.e. ours times ``2 S``);
* log loss + L2:       ``LogisticRegression(C=1 / (alpha * S))`` (it minimises
  ``C sum w_i loss_i + ||w||^2 / 2``, i.e. ours times ``1 / alpha``);
* squared error + L1:  ``Lasso(alpha=alpha)``; elastic net:
  ``ElasticNet(alpha=alpha, l1_ratio=l1_ratio)`` (both minimise
  ``1 / (2 S) sum w_i r_i^2 + alpha (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||^2)``);
* squared hinge + L2, no intercept: ``LinearSVC(C=1 / (alpha * n))``.
"""

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.svm import LinearSVC

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor
from sklearn_gd._kernels import losses as L
from sklearn_gd._kernels.losses import loss_and_dscores, margin_loss, softmax_loss
from sklearn_gd._kernels.schedules import (
    SCHED_INVSCALING,
    SCHED_OPTIMAL,
    SCHED_PER_EPOCH,
    epoch_learning_rate,
    optimal_offset,
    step_learning_rate,
)
from sklearn_gd._registry import CLASSIFICATION_LOSSES, OPTIMIZERS, REGRESSION_LOSSES

EPSILON = 0.35  # huber / epsilon-insensitive width used by the loss-level tests
GAMMAS = [0.0, 0.5, 1.0, 2.0, 3.7]
QUANTILES = [0.2, 0.5, 0.83]
# gamma only matters for the focal loss
_CLASSIFICATION_CASES = [(name, gamma) for name in sorted(CLASSIFICATION_LOSSES)
                         for gamma in (GAMMAS if name == "focal" else [2.0])]


# ===================================================================== references
def ref_regression_loss(name, p, y, epsilon, quantile):
    """The documented regression losses of the residual r = p - y, in NumPy."""
    r = np.asarray(p, dtype=float) - y
    a = np.abs(r)
    if name == "squared_error":
        return 0.5 * r**2
    if name == "absolute_error":
        return a
    if name == "huber":
        return np.where(a <= epsilon, 0.5 * r**2, epsilon * a - 0.5 * epsilon**2)
    if name == "epsilon_insensitive":
        return np.maximum(0.0, a - epsilon)
    if name == "squared_epsilon_insensitive":
        return np.maximum(0.0, a - epsilon) ** 2
    if name == "quantile":
        u = -r  # y - p
        return np.where(u >= 0, quantile * u, (quantile - 1.0) * u)
    raise AssertionError(name)


def ref_classification_loss(name, p, y, gamma):
    """The documented margin losses of z = y * p (y in {-1, +1}), in NumPy."""
    z = np.asarray(y, dtype=float) * p
    if name == "log_loss":
        return np.logaddexp(0.0, -z)
    if name == "hinge":
        return np.maximum(0.0, 1.0 - z)
    if name == "squared_hinge":
        return np.maximum(0.0, 1.0 - z) ** 2
    if name == "modified_huber":
        return np.where(z >= -1.0, np.maximum(0.0, 1.0 - z) ** 2, -4.0 * z)
    if name == "perceptron":
        return np.maximum(0.0, -z)
    if name == "focal":
        # -(1 - p)**gamma * log(p) with p = sigmoid(z) the true-class probability
        return -(expit(-z) ** gamma) * log_expit(z)
    raise AssertionError(name)


def ref_softmax_loss(name, scores, c, gamma):
    """Multinomial log / focal loss of a score vector with true class c."""
    log_p = log_softmax(scores, axis=-1)[..., c]
    if name == "log_loss":
        return -log_p
    return -((1.0 - np.exp(log_p)) ** gamma) * log_p


def _kernel_value(code, p, y, quantile=0.5, gamma=2.0):
    return margin_loss(code, float(p), float(y), EPSILON, float(quantile), float(gamma))[0]


def _central_difference(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2.0 * h)


# ============================================================== 1. loss kernels
def _regression_points():
    """(p, y) pairs whose residual is at least 1e-3 away from 0 and +-EPSILON."""
    out = []
    for y in (-1.3, 0.4, 2.0):
        for p in np.linspace(-3.7, 3.3, 29):
            r = p - y
            if min(abs(r), abs(abs(r) - EPSILON)) > 1e-3:
                out.append((p, y))
    return out


def _classification_points():
    """(p, y) pairs whose margin is at least 1e-3 away from the kinks -1, 0, 1."""
    out = []
    for y in (-1.0, 1.0):
        for p in np.linspace(-4.1, 3.9, 33):
            z = y * p
            if min(abs(z), abs(z - 1.0), abs(z + 1.0)) > 1e-3:
                out.append((p, y))
    return out


@pytest.mark.parametrize("name", sorted(REGRESSION_LOSSES))
@pytest.mark.parametrize("quantile", QUANTILES)
def test_regression_loss_derivative_matches_finite_difference(name, quantile):
    code = REGRESSION_LOSSES[name].code
    for p, y in _regression_points():
        value, deriv = margin_loss(code, p, y, EPSILON, quantile, 2.0)
        fd = _central_difference(lambda s: _kernel_value(code, s, y, quantile), p)
        assert deriv == pytest.approx(fd, rel=1e-6, abs=1e-7), (name, p, y)


@pytest.mark.parametrize("name", sorted(REGRESSION_LOSSES))
@pytest.mark.parametrize("quantile", QUANTILES)
def test_regression_loss_value_matches_documented_formula(name, quantile):
    code = REGRESSION_LOSSES[name].code
    points = _regression_points() + [(0.4, 0.4), (1.0, 1.0 - EPSILON), (1.0, 1.0 + EPSILON)]
    for p, y in points:
        value, _ = margin_loss(code, p, y, EPSILON, quantile, 2.0)
        expected = ref_regression_loss(name, p, y, EPSILON, quantile)
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-15), (name, p, y)


@pytest.mark.parametrize("name,gamma", _CLASSIFICATION_CASES)
def test_classification_loss_derivative_matches_finite_difference(name, gamma):
    code = CLASSIFICATION_LOSSES[name].code
    for p, y in _classification_points():
        value, deriv = margin_loss(code, p, y, EPSILON, 0.5, gamma)
        fd = _central_difference(lambda s: _kernel_value(code, s, y, gamma=gamma), p)
        assert deriv == pytest.approx(fd, rel=1e-6, abs=1e-7), (name, gamma, p, y)


@pytest.mark.parametrize("name,gamma", _CLASSIFICATION_CASES)
def test_classification_loss_value_matches_documented_formula(name, gamma):
    code = CLASSIFICATION_LOSSES[name].code
    for p, y in _classification_points() + [(1.0, 1.0), (-1.0, 1.0), (0.0, -1.0)]:
        value, _ = margin_loss(code, p, y, EPSILON, 0.5, gamma)
        expected = ref_classification_loss(name, p, y, gamma)
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-15), (name, gamma, p, y)


def test_focal_with_gamma_zero_is_log_loss():
    for p, y in _classification_points():
        assert margin_loss(L.LOSS_FOCAL, p, y, 0.1, 0.5, 0.0) == pytest.approx(
            margin_loss(L.LOSS_LOG, p, y, 0.1, 0.5, 2.0), rel=1e-14, abs=1e-300)


def _softmax_call(code, scores, c, gamma):
    target = np.zeros_like(scores)
    target[c] = 1.0
    dscores = np.empty_like(scores)
    value = softmax_loss(code, scores, target, dscores, gamma)
    return value, dscores


@pytest.mark.parametrize("name,gamma", [("log_loss", 2.0)] + [("focal", g) for g in GAMMAS])
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_softmax_loss_value_and_derivative(name, gamma, n_classes):
    code = CLASSIFICATION_LOSSES[name].code
    rng = np.random.default_rng(n_classes)
    for trial in range(6):
        scores = rng.normal(scale=2.5, size=n_classes)
        c = trial % n_classes
        value, dscores = _softmax_call(code, scores, c, gamma)
        assert value == pytest.approx(ref_softmax_loss(name, scores, c, gamma), rel=1e-11)
        if name == "log_loss":
            # the softmax log loss is -log softmax_c, and its gradient softmax - onehot
            assert value == pytest.approx(-log_softmax(scores)[c], rel=1e-12)
            assert_allclose(dscores, softmax(scores) - np.eye(n_classes)[c], atol=1e-14)
        fd = np.empty(n_classes)
        for k in range(n_classes):
            def f(s, k=k):
                shifted = scores.copy()
                shifted[k] = s
                return _softmax_call(code, shifted, c, gamma)[0]
            fd[k] = _central_difference(f, scores[k])
        assert_allclose(dscores, fd, rtol=1e-6, atol=1e-8)
        # shifting every score by the same amount changes nothing
        assert abs(dscores.sum()) < 1e-12


@pytest.mark.parametrize("name", ["log_loss", "focal"])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_focal_softmax_gamma_zero_and_loss_and_dscores_dispatch(name, gamma):
    """loss_and_dscores: softmax row for multinomial, sum of margin losses otherwise."""
    code = CLASSIFICATION_LOSSES[name].code
    scores = np.array([0.3, -1.2, 2.2])
    onehot = np.array([0.0, 1.0, 0.0])
    dscores = np.empty(3)
    value = loss_and_dscores(code, True, scores, onehot[None, :], 0, dscores, 0.1, 0.5, gamma)
    ref_value, ref_d = _softmax_call(code, scores, 1, gamma)
    assert value == ref_value
    assert_array_equal(dscores, ref_d)
    if gamma == 0.0:
        log_value, log_d = _softmax_call(L.LOSS_LOG, scores, 1, 2.0)
        assert value == pytest.approx(log_value, rel=1e-14)
        assert_allclose(dscores, log_d, rtol=1e-14, atol=1e-300)
    signs = 2.0 * onehot - 1.0
    value = loss_and_dscores(code, False, scores, signs[None, :], 0, dscores, 0.1, 0.5, gamma)
    pairs = [margin_loss(code, s, t, 0.1, 0.5, gamma) for s, t in zip(scores, signs)]
    assert value == pytest.approx(sum(v for v, _ in pairs), rel=1e-14, abs=0)
    assert_allclose(dscores, [d for _, d in pairs], rtol=1e-14)


@pytest.mark.parametrize("name", ["log_loss", "focal"])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
@pytest.mark.parametrize("z", [-30.0, -8.0, -1.5, 0.0, 0.7, 3.0, 8.0])
def test_two_class_softmax_equals_binary_margin_loss(name, gamma, z):
    """softmax([0, z]) with true class 1 is the binary loss at margin z."""
    code = CLASSIFICATION_LOSSES[name].code
    value, dscores = _softmax_call(code, np.array([0.0, z]), 1, gamma)
    b_value, b_deriv = margin_loss(code, z, 1.0, 0.1, 0.5, gamma)
    assert value == pytest.approx(b_value, rel=1e-10, abs=0)
    assert dscores[1] == pytest.approx(b_deriv, rel=1e-10, abs=0)
    assert dscores[0] == pytest.approx(-b_deriv, rel=1e-10, abs=0)


@pytest.mark.parametrize("name", ["log_loss", "focal"])
@pytest.mark.parametrize("z", [20.0, 40.0])
def test_two_class_softmax_keeps_relative_precision_at_large_margins(name, z):
    code = CLASSIFICATION_LOSSES[name].code
    value, dscores = _softmax_call(code, np.array([0.0, z]), 1, 2.0)
    b_value, b_deriv = margin_loss(code, z, 1.0, 0.1, 0.5, 2.0)
    assert b_value > 0.0
    assert value == pytest.approx(b_value, rel=1e-10, abs=0)
    assert dscores[1] == pytest.approx(b_deriv, rel=1e-10, abs=0)


@pytest.mark.parametrize("name", sorted(CLASSIFICATION_LOSSES) + sorted(REGRESSION_LOSSES))
@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_huge_margins_are_finite_and_silent(name, gamma):
    info = CLASSIFICATION_LOSSES.get(name) or REGRESSION_LOSSES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p in (-1e4, -1e3, 1e3, 1e4):
            for y in (-1.0, 1.0):
                value, deriv = margin_loss(info.code, p, y, 0.1, 0.5, gamma)
                assert math.isfinite(value) and math.isfinite(deriv), (p, y)
                assert value >= 0.0
        if info.multinomial:
            for scores in ([1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [1e4, 1e4, 1e4]):
                for c in range(3):
                    value, dscores = _softmax_call(info.code, np.array(scores), c, gamma)
                    assert math.isfinite(value) and np.all(np.isfinite(dscores))
                    assert value >= 0.0
            # a true class losing by 2e4 costs 2e4 (log loss) and has gradient -1
            value, dscores = _softmax_call(info.code, np.array([1e4, -1e4, -1e4]), 1, gamma)
            assert value == pytest.approx(2e4, rel=1e-12)
            assert dscores[1] == pytest.approx(-1.0, rel=1e-12)


def _huge_scale_data(n_classes):
    rng = np.random.default_rng(0)
    y = np.arange(40) % n_classes
    return (rng.normal(size=(40, 2)) + 4.0 * np.eye(n_classes, 2)[y]) * 1e3, y


@pytest.mark.parametrize("loss", ["log_loss", "focal"])
def test_fit_on_huge_margins_stays_finite(loss):
    """Separable data at a huge scale: margins of 1e4 and more, no warnings, no NaN."""
    X, y = _huge_scale_data(2)
    clf = GDClassifier(loss=loss, eta0=1e-2, alpha=0.0, max_iter=20, tol=None).fit(X, y)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
    assert np.max(np.abs(clf.decision_function(X))) > 1e4
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(clf.loss_curve_))


@pytest.mark.parametrize("loss", ["log_loss", "focal"])
def test_softmax_oscillation_at_huge_scale_is_reported_cleanly(loss):
    """3 classes at the same scale: any step far above "auto" makes batch descent
    oscillate with an objective growing in proportion to the step. That is
    reported as divergence, with no overflow warning (RuntimeWarning is an
    error in this suite) and no NaN along the way."""
    X, y = _huge_scale_data(3)
    with pytest.raises(DivergenceError, match="objective rose"):
        GDClassifier(loss=loss, eta0=1.0, alpha=0.0, max_iter=20, tol=None).fit(X, y)
    clf = GDClassifier(loss=loss, alpha=0.0, max_iter=20, tol=None).fit(X, y)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


# ======================================================== data used by the fits
def _regression_data(n=40, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + 0.5 * rng.standard_normal(n) + 1.0
    return X, y, rng.uniform(0.2, 3.0, n)


def _classification_data(n_classes, n=60, p=4, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    scores = X @ rng.standard_normal((p, n_classes)) + rng.standard_normal((n, n_classes))
    y = np.argmax(scores, axis=1) if n_classes > 2 else (scores[:, 0] > scores[:, 1])
    return X, y.astype(int), rng.uniform(0.2, 3.0, n)


def _np_objective(params, X, targets, sw, loss, multinomial, alpha, l1_ratio,
                  epsilon=0.1, quantile=0.5, gamma=2.0):
    """The documented objective at params = [coef | intercept] (one row per output)."""
    W, b = params[:, :-1], params[:, -1]
    S = X @ W.T + b
    if loss in REGRESSION_LOSSES:
        per = ref_regression_loss(loss, S[:, 0], targets[:, 0], epsilon, quantile)
    elif multinomial:
        c = np.argmax(targets, axis=1)
        log_p = log_softmax(S, axis=1)[np.arange(len(c)), c]
        g = 0.0 if loss == "log_loss" else gamma
        per = -((1.0 - np.exp(log_p)) ** g) * log_p
    else:
        per = ref_classification_loss(loss, S, targets, gamma).sum(axis=1)
    data = np.sum(sw * per) / np.sum(sw)
    return data + alpha * ((1 - l1_ratio) / 2 * np.sum(W**2) + l1_ratio * np.sum(np.abs(W)))


def _np_gradient(f, params, h=1e-6):
    grad = np.zeros_like(params)
    for idx in np.ndindex(params.shape):
        up, down = params.copy(), params.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (f(up) - f(down)) / (2 * h)
    return grad


def _params(est):
    return np.hstack([np.atleast_2d(est.coef_), np.ravel(est.intercept_)[:, None]])


# ========================================================= 2. ridge closed form
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.01, 0.5])
def test_batch_squared_l2_equals_ridge(fit_intercept, weighted, alpha):
    X, y, sw = _regression_data()
    sw = sw if weighted else None
    S = len(y) if sw is None else sw.sum()
    reg = GDRegressor(alpha=alpha, optimizer="nesterov", fit_intercept=fit_intercept,
                      max_iter=3000, tol=None).fit(X, y, sample_weight=sw)
    ref = Ridge(alpha=alpha * S, fit_intercept=fit_intercept, solver="cholesky").fit(
        X, y, sample_weight=sw)
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert_allclose(reg.intercept_[0], ref.intercept_, rtol=0, atol=1e-8)
    if not fit_intercept:
        assert reg.intercept_[0] == 0.0
    # loss_curve_ reports the documented objective, here at the optimum
    weights = np.ones_like(y) if sw is None else sw
    expected = _np_objective(np.append(ref.coef_, ref.intercept_)[None], X, y[:, None],
                             weights, "squared_error", False, alpha, 0.0)
    assert reg.loss_curve_[-1] == pytest.approx(expected, rel=1e-10)


def test_plain_batch_gd_equals_ridge_tightly():
    """The default update (plain gradient step, eta0="auto") converges exactly too."""
    X, y, _ = _regression_data(seed=3)
    reg = GDRegressor(alpha=0.1, max_iter=4000, tol=None).fit(X, y)
    ref = Ridge(alpha=0.1 * len(y), solver="cholesky").fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert reg.intercept_[0] == pytest.approx(ref.intercept_, abs=1e-8)


# ====================================================== 3. logistic regression
@pytest.mark.parametrize("optimizer", ["nesterov", "momentum"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_binary_log_loss_l2_equals_logistic_regression(optimizer, weighted, fit_intercept):
    X, y, sw = _classification_data(2)
    sw = sw if weighted else None
    S = len(y) if sw is None else sw.sum()
    alpha = 0.05
    clf = GDClassifier(alpha=alpha, optimizer=optimizer, fit_intercept=fit_intercept,
                       max_iter=2000, tol=None).fit(X, y, sample_weight=sw)
    ref = LogisticRegression(C=1.0 / (alpha * S), fit_intercept=fit_intercept, tol=1e-12,
                             max_iter=10000).fit(X, y, sample_weight=sw)
    assert_allclose(clf.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert_allclose(clf.intercept_, ref.intercept_, rtol=0, atol=1e-6)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-7)


@pytest.mark.parametrize("optimizer", ["nesterov", "sgd"])
@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_log_loss_l2_equals_logistic_regression(optimizer, weighted):
    """Softmax over 3 classes. With alpha > 0 the coefficients are unique (their rows
    sum to 0 at the optimum); the unpenalised intercepts are only defined up to a
    common shift, so both sets are compared after centring."""
    X, y, sw = _classification_data(3)
    sw = sw if weighted else None
    S = len(y) if sw is None else sw.sum()
    alpha = 0.05
    clf = GDClassifier(alpha=alpha, optimizer=optimizer, max_iter=2000, tol=None).fit(
        X, y, sample_weight=sw)
    ref = LogisticRegression(C=1.0 / (alpha * S), tol=1e-12, max_iter=10000).fit(
        X, y, sample_weight=sw)
    assert clf.coef_.shape == (3, X.shape[1])
    assert_allclose(clf.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert_allclose(clf.coef_.sum(axis=0), 0.0, atol=1e-10)
    assert_allclose(clf.intercept_ - clf.intercept_.mean(),
                    ref.intercept_ - ref.intercept_.mean(), rtol=0, atol=1e-6)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-7)


def test_squared_hinge_l2_equals_linear_svc():
    X, y, _ = _classification_data(2, seed=4)
    alpha = 0.05
    clf = GDClassifier(loss="squared_hinge", alpha=alpha, fit_intercept=False,
                       optimizer="nesterov", max_iter=3000, tol=None).fit(X, y)
    ref = LinearSVC(loss="squared_hinge", C=1.0 / (alpha * len(y)), fit_intercept=False,
                    tol=1e-12, max_iter=100000).fit(X, y)
    assert_allclose(clf.coef_, ref.coef_, rtol=0, atol=1e-6)


# =========================================================== 4. every optimizer
# sgd, momentum and nesterov converge with a constant step (eta0="auto" = 1/L).
# Adagrad's step shrinks by itself as squared gradients accumulate. RMSprop and
# Adam(W) with a constant step normalise the gradient by its running RMS, so near
# the optimum they keep taking steps of roughly eta0 and can cycle around it;
# "inverse_time" makes the step decay so they settle. "normalized" is Adagrad
# with per-feature scales, and its "auto" rate serves.
_OPTIMIZER_SETTINGS = {
    "sgd": {},
    "momentum": {},
    "nesterov": {},
    "adagrad": {"eta0": 0.1},
    "rmsprop": {"eta0": 0.1, "learning_rate": "inverse_time", "decay_rate": 0.01},
    "adam": {"eta0": 0.1, "learning_rate": "inverse_time", "decay_rate": 0.01},
    "adamw": {"eta0": 0.1, "learning_rate": "inverse_time", "decay_rate": 0.01},
    "normalized": {},
    "svrg": {"solver": "stochastic"},
}


def test_optimizer_settings_cover_registry():
    assert set(_OPTIMIZER_SETTINGS) == set(OPTIMIZERS)


# adamw's decoupled weight decay has another optimum than ridge: alpha=0 only.
@pytest.mark.parametrize("optimizer,alpha", [(opt, a) for opt in sorted(_OPTIMIZER_SETTINGS)
                                             for a in ([0.0] if opt == "adamw" else [0.0, 0.1])])
def test_every_optimizer_reaches_the_ridge_optimum(optimizer, alpha):
    X, y, sw = _regression_data(seed=5)
    reg = GDRegressor(alpha=alpha, optimizer=optimizer, max_iter=3000, tol=None,
                      **_OPTIMIZER_SETTINGS[optimizer]).fit(X, y, sample_weight=sw)
    ref = Ridge(alpha=alpha * sw.sum(), solver="cholesky").fit(X, y, sample_weight=sw)
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert reg.intercept_[0] == pytest.approx(ref.intercept_, abs=1e-6)


@pytest.mark.parametrize("optimizer", sorted(_OPTIMIZER_SETTINGS))
def test_every_optimizer_reaches_the_logistic_optimum(optimizer):
    X, y, _ = _classification_data(2, seed=6)
    alpha = 0.0 if optimizer == "adamw" else 0.05
    if alpha == 0.0:
        X = X + np.random.default_rng(0).normal(scale=3.0, size=X.shape)  # not separable
    settings = dict(_OPTIMIZER_SETTINGS[optimizer])
    clf = GDClassifier(alpha=alpha, optimizer=optimizer, max_iter=3000, tol=None,
                       **settings).fit(X, y)
    ref = LogisticRegression(C=np.inf if alpha == 0 else 1.0 / (alpha * len(y)), tol=1e-12,
                             max_iter=10000).fit(X, y)
    assert_allclose(clf.coef_, ref.coef_, rtol=0, atol=1e-5)
    assert_allclose(clf.intercept_, ref.intercept_, rtol=0, atol=1e-5)


def test_adamw_weight_decay_is_decoupled():
    """AdamW's L2 is w -= lr * alpha * w, not a gradient term: its fixed point is where
    the Adam direction balances the decay, which is *not* the ridge optimum."""
    X, y, _ = _regression_data(seed=5)
    alpha = 0.5
    adamw = GDRegressor(alpha=alpha, optimizer="adamw", eta0=0.05, max_iter=1,
                        tol=None).fit(X, y, coef_init=np.ones(X.shape[1]), intercept_init=[0.0])
    adam = GDRegressor(alpha=0.0, optimizer="adam", eta0=0.05, max_iter=1,
                       tol=None).fit(X, y, coef_init=np.ones(X.shape[1]), intercept_init=[0.0])
    # the first step: Adam's step on the data gradient, then decay by lr * alpha * w_old
    assert_allclose(adamw.coef_, adam.coef_ - 0.05 * alpha * 1.0, rtol=1e-12)
    assert adamw.intercept_[0] == pytest.approx(adam.intercept_[0], rel=1e-12)


# First epochs of every optimizer against the update rules written out here
# (torch.optim's conventions, as documented in _kernels/optimizers.py).
def _reference_trajectory(optimizer, X, y, sw, alpha, eta0, n_steps, momentum=0.9,
                          beta_1=0.9, beta_2=0.999, eps=1e-8):
    n, p = X.shape
    w = np.zeros(p + 1)  # [coef | intercept]
    Xb = np.hstack([X, np.ones((n, 1))])
    penal = np.r_[np.ones(p), 0.0]
    m1 = np.zeros(p + 1)
    m2 = np.zeros(p + 1)
    # NAG (Ross, Mineiro & Langford 2013) on full batches: the scales are the
    # columns' largest |x| over rows of positive weight (the intercept's constant
    # feature: 1), and each step's sum_j (x_j / s_j)**2 is the rows' weighted
    # mean (as repeated rows would give), so sqrt(t / N) is constant.
    scales = np.r_[np.abs(X[sw > 0]).max(axis=0), 1.0]
    mean_norm = np.average(np.sum((Xb / scales) ** 2, axis=1), weights=sw)
    # The batch loop's heavy ball and Nesterov restart (O'Donoghue & Candes): the
    # velocity is dropped when the step direction -v makes an uphill angle with
    # the gradient, and the momentum of update k after a restart is
    # min(momentum, (k - 1) / (k + 2)).
    k = 0
    for t in range(1, n_steps + 1):
        g = Xb.T @ (sw * (Xb @ w - y)) / sw.sum()
        if optimizer != "adamw":
            g = g + alpha * penal * w
        if optimizer in ("momentum", "nesterov"):
            if g @ m1 < 0:
                m1 = np.zeros_like(m1)
                k = 0
            k += 1
            beta = min(momentum, (k - 1) / (k + 2))
        if optimizer == "sgd":
            new = w - eta0 * g
        elif optimizer == "momentum":
            m1 = beta * m1 + g
            new = w - eta0 * m1
        elif optimizer == "nesterov":
            m1 = beta * m1 + g
            new = w - eta0 * (g + beta * m1)
        elif optimizer == "adagrad":
            m2 = m2 + g * g
            new = w - eta0 * g / (np.sqrt(m2) + eps)
        elif optimizer == "rmsprop":
            m2 = beta_2 * m2 + (1 - beta_2) * g * g
            new = w - eta0 * g / (np.sqrt(m2) + eps)
        elif optimizer == "normalized":
            m2 = m2 + g * g
            new = w - eta0 / np.sqrt(mean_norm) * g / (scales * np.sqrt(m2))
        else:
            m1 = beta_1 * m1 + (1 - beta_1) * g
            m2 = beta_2 * m2 + (1 - beta_2) * g * g
            m_hat = m1 / (1 - beta_1**t)
            v_hat = m2 / (1 - beta_2**t)
            new = w - eta0 * m_hat / (np.sqrt(v_hat) + eps)
            if optimizer == "adamw":
                new = new - eta0 * alpha * penal * w
        w = new
    return w


# The batch loop's update rules; SVRG's epochs have their reference in test_svrg.py.
@pytest.mark.parametrize("optimizer", sorted(set(_OPTIMIZER_SETTINGS) - {"svrg"}))
@pytest.mark.parametrize("n_steps", [1, 2, 7])
def test_optimizer_update_rules_match_reference(optimizer, n_steps):
    X, y, sw = _regression_data(n=25, p=3, seed=7)
    alpha, eta0 = 0.3, 0.05
    reg = GDRegressor(alpha=alpha, optimizer=optimizer, eta0=eta0, max_iter=n_steps,
                      tol=None).fit(X, y, sample_weight=sw)
    expected = _reference_trajectory(optimizer, X, y, sw, alpha, eta0, n_steps)
    assert_allclose(_params(reg)[0], expected, rtol=1e-10, atol=1e-12)
    assert reg.t_ == n_steps


# ======================================================== 5. L1 / elastic net
def _sparse_problem(seed=1):
    rng = np.random.default_rng(seed)
    w = np.zeros(8)
    w[:3] = [2.0, -3.0, 1.5]
    X = rng.standard_normal((50, 8))
    y = X @ w + 0.3 * rng.standard_normal(50) + 0.7
    return X, y, rng.uniform(0.3, 2.0, 50)


# Proximal updates that converge to the exact lasso solution: plain proximal
# gradient (ISTA), and the adaptive methods with a decaying rate (see the
# optimizer tests for why they need one). Adagrad converges, but slowly: at a
# lasso optimum the smooth gradient of a non-zero weight is -l1 * sign(w), not
# 0, so its sum of squared gradients grows linearly and its step decays like
# 1 / sqrt(t); it gets a looser tolerance, and so does "normalized", which is
# Adagrad with per-feature scales.
_L1_SETTINGS = {
    "sgd": {},
    "adagrad": {"eta0": 0.1},
    "rmsprop": {"eta0": 0.1, "learning_rate": "inverse_time", "decay_rate": 0.01},
    "adam": {"eta0": 0.1, "learning_rate": "inverse_time", "decay_rate": 0.01},
    "normalized": {},
}
_L1_ATOL = {"adagrad": 2e-4, "normalized": 5e-5}


@pytest.mark.parametrize("optimizer", sorted(_L1_SETTINGS))
@pytest.mark.parametrize("weighted", [False, True])
def test_l1_equals_lasso_with_exact_zeros(optimizer, weighted):
    X, y, sw = _sparse_problem()
    sw = sw if weighted else None
    alpha = 0.2
    reg = GDRegressor(penalty="l1", alpha=alpha, optimizer=optimizer, max_iter=3000,
                      tol=None, **_L1_SETTINGS[optimizer]).fit(X, y, sample_weight=sw)
    ref = Lasso(alpha=alpha, tol=1e-14, max_iter=100000).fit(X, y, sample_weight=sw)
    zeros = ref.coef_ == 0.0
    assert zeros[3:].all() and not zeros[:3].any()  # the reference is sparse
    assert_array_equal(reg.coef_[zeros], 0.0)  # exact zeros, not merely small
    atol = _L1_ATOL.get(optimizer, 1e-6)
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=atol)
    assert reg.intercept_[0] == pytest.approx(ref.intercept_, abs=atol)


@pytest.mark.parametrize("optimizer", sorted(_L1_SETTINGS))
@pytest.mark.parametrize("l1_ratio", [0.3, 0.7])
def test_elasticnet_equals_sklearn_elasticnet(optimizer, l1_ratio):
    X, y, sw = _sparse_problem(seed=2)
    alpha = 0.3
    reg = GDRegressor(penalty="elasticnet", alpha=alpha, l1_ratio=l1_ratio,
                      optimizer=optimizer, max_iter=3000, tol=None,
                      **_L1_SETTINGS[optimizer]).fit(X, y, sample_weight=sw)
    ref = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=100000).fit(
        X, y, sample_weight=sw)
    zeros = ref.coef_ == 0.0
    assert zeros.any()
    assert_array_equal(reg.coef_[zeros], 0.0)
    atol = _L1_ATOL.get(optimizer, 1e-6)
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=atol)
    assert reg.intercept_[0] == pytest.approx(ref.intercept_, abs=atol)


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_l1_with_momentum_equals_lasso(optimizer):
    X, y, _ = _sparse_problem()
    alpha = 0.2
    reg = GDRegressor(penalty="l1", alpha=alpha, optimizer=optimizer, max_iter=3000,
                      tol=None).fit(X, y)
    ref = Lasso(alpha=alpha, tol=1e-14, max_iter=100000).fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=1e-6)


# ============================================================== 6. schedules
@pytest.mark.parametrize("epoch", [0, 1, 2, 5, 17])
def test_epoch_learning_rate_formulas(epoch):
    eta0, d = 0.3, 0.25
    milestones = (2, 5, 9)
    assert epoch_learning_rate("constant", eta0, epoch, d, milestones) == eta0
    assert epoch_learning_rate("adaptive", eta0, epoch, d, milestones) == eta0
    assert epoch_learning_rate("inverse_time", eta0, epoch, d, milestones) == \
        pytest.approx(eta0 / (1.0 + d * epoch), rel=1e-15)
    assert epoch_learning_rate("exponential", eta0, epoch, d, milestones) == \
        pytest.approx(eta0 * math.exp(-d * epoch), rel=1e-15)
    passed = len([m for m in milestones if m <= epoch])
    assert epoch_learning_rate("step", eta0, epoch, d, milestones) == \
        pytest.approx(eta0 * d**passed, rel=1e-15)


@pytest.mark.parametrize("t", [1, 2, 3, 10, 1000])
def test_step_learning_rate_formulas(t):
    eta0, power_t, t0, alpha = 0.4, 0.37, 123.5, 0.01
    assert step_learning_rate(SCHED_PER_EPOCH, eta0, t, power_t, t0, alpha) == eta0
    assert step_learning_rate(SCHED_INVSCALING, eta0, t, power_t, t0, alpha) == \
        pytest.approx(eta0 / t**power_t, rel=1e-14)
    assert step_learning_rate(SCHED_OPTIMAL, eta0, t, power_t, t0, alpha) == \
        pytest.approx(1.0 / (alpha * (t0 + t - 1)), rel=1e-14)


@pytest.mark.parametrize("alpha", [1e-4, 0.01, 1.0])
def test_optimal_offset_is_bottous_heuristic(alpha):
    # sklearn's SGD: typw = sqrt(1/sqrt(alpha)); eta0 = typw / max(1, |dloss(-typw)|)
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    hinge = lambda p: abs(margin_loss(L.LOSS_HINGE, p, 1.0, 0.1, 0.5, 2.0)[1])  # noqa: E731
    log = lambda p: abs(margin_loss(L.LOSS_LOG, p, 1.0, 0.1, 0.5, 2.0)[1])  # noqa: E731
    assert optimal_offset(alpha, hinge) == pytest.approx(1.0 / (typw * alpha), rel=1e-14)
    assert optimal_offset(alpha, log) == pytest.approx(1.0 / (typw * alpha), rel=1e-14)
    sq = lambda p: abs(p - 1.0)  # noqa: E731  derivative of the squared error at y = 1
    assert optimal_offset(alpha, sq) == pytest.approx(
        1.0 / (typw / (typw + 1.0) * alpha), rel=1e-14)


def _ridge_gd(X, y, alpha, rates):
    """Plain batch gradient descent on the ridge objective with the given step sizes."""
    n, p = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    penal = np.r_[np.ones(p), 0.0]
    w = np.zeros(p + 1)
    for lr in rates:
        w = w - lr * (Xb.T @ (Xb @ w - y) / n + alpha * penal * w)
    return w


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "optimal", "inverse_time",
                                      "step", "exponential"])
def test_schedules_drive_the_batch_updates(schedule):
    X, y, _ = _regression_data(n=30, p=3, seed=8)
    n_epochs, eta0, alpha, d, power_t = 8, 0.2, 1.0, 0.3, 0.6
    milestones = [2, 5]
    reg = GDRegressor(alpha=alpha, learning_rate=schedule, eta0=eta0, decay_rate=d,
                      power_t=power_t, milestones=milestones, max_iter=n_epochs,
                      tol=None).fit(X, y)
    e = np.arange(n_epochs)
    if schedule == "constant":
        rates = np.full(n_epochs, eta0)
    elif schedule == "invscaling":  # one update per epoch: t = e + 1
        rates = eta0 / (e + 1.0) ** power_t
    elif schedule == "optimal":
        typw = math.sqrt(1.0 / math.sqrt(alpha))
        t0 = 1.0 / (typw / max(1.0, typw + 1.0) * alpha)
        rates = 1.0 / (alpha * (t0 + e))
    elif schedule == "inverse_time":
        rates = eta0 / (1.0 + d * e)
    elif schedule == "step":
        rates = eta0 * d ** np.array([sum(m <= k for m in milestones) for k in e])
    else:
        rates = eta0 * np.exp(-d * e)
    assert_allclose(_params(reg)[0], _ridge_gd(X, y, alpha, rates), rtol=1e-11, atol=1e-13)
    if schedule not in ("invscaling", "optimal"):
        assert reg.learning_rate_ == pytest.approx(rates[-1], rel=1e-14)


def test_adaptive_on_a_converging_fit():
    """The rate is only ever cut by powers of 5, and the fit ends, certified, well
    before max_iter, at the ridge optimum."""
    X, y, _ = _regression_data(n=30, p=3, seed=10)
    eta0, alpha = 0.1, 0.1
    reg = GDRegressor(alpha=alpha, learning_rate="adaptive", eta0=eta0, tol=1e-8,
                      n_iter_no_change=3, max_iter=5000).fit(X, y)
    assert reg.convergence_.converged
    assert reg.n_iter_ < 5000
    divisions = math.log(eta0 / reg.learning_rate_) / math.log(5.0)
    assert divisions >= 0 and divisions == pytest.approx(round(divisions), abs=1e-9)
    ref = Ridge(alpha=alpha * len(y), solver="cholesky").fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=1e-6)


# ===================================================== 7. other loss references
def _weighted_quantile(y, w, q):
    order = np.argsort(y)
    cum = np.cumsum(w[order])
    return y[order][np.searchsorted(cum, q * cum[-1])]


@pytest.mark.parametrize("quantile", [0.5, 0.25, 0.8])
@pytest.mark.parametrize("weighted", [False, True])
def test_intercept_only_quantile_fit_is_the_weighted_quantile(quantile, weighted):
    rng = np.random.default_rng(11)
    y = rng.normal(size=41) * 2.0 + 1.0
    sw = rng.uniform(0.2, 3.0, 41) if weighted else np.ones(41)
    X = np.zeros((41, 1))
    # The pinball loss is piecewise linear: a constant step would circle the
    # minimiser. Its minimum is sharp (the subgradient is bounded away from 0
    # around it), so geometrically decaying steps still reach it, and they can
    # travel sum(eta) = eta0 / (1 - exp(-decay)) ~ 50 before they vanish.
    reg = GDRegressor(loss="quantile", quantile=quantile, penalty=None, eta0=0.5,
                      learning_rate="exponential", decay_rate=0.01, tol=None,
                      max_iter=3000).fit(X, y, sample_weight=sw)
    expected = _weighted_quantile(y, sw, quantile)
    assert reg.intercept_[0] == pytest.approx(expected, abs=1e-8)
    assert reg.coef_[0] == 0.0
    # and the neighbouring sample values are clearly worse answers
    others = np.sort(y)[np.abs(np.sort(y) - expected) > 1e-12]
    assert np.min(np.abs(others - expected)) > 1e-3


def test_huber_with_huge_epsilon_is_squared_error():
    X, y, sw = _regression_data(seed=12)
    kw = dict(alpha=0.05, max_iter=200, tol=None, optimizer="momentum")
    huber = GDRegressor(loss="huber", epsilon=1e6, **kw).fit(X, y, sample_weight=sw)
    squared = GDRegressor(loss="squared_error", **kw).fit(X, y, sample_weight=sw)
    assert_allclose(huber.coef_, squared.coef_, rtol=1e-12)
    assert_allclose(huber.intercept_, squared.intercept_, rtol=1e-12)
    assert_allclose(huber.loss_curve_, squared.loss_curve_, rtol=1e-12)
    # while a small epsilon changes the fit
    robust = GDRegressor(loss="huber", epsilon=0.1, **kw).fit(X, y, sample_weight=sw)
    assert np.max(np.abs(robust.coef_ - squared.coef_)) > 1e-3


def test_huber_with_huge_epsilon_equals_ridge():
    X, y, sw = _regression_data(seed=13)
    reg = GDRegressor(loss="huber", epsilon=1e6, alpha=0.1, optimizer="nesterov",
                      max_iter=2000, tol=None).fit(X, y, sample_weight=sw)
    ref = Ridge(alpha=0.1 * sw.sum(), solver="cholesky").fit(X, y, sample_weight=sw)
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=1e-8)


def test_epsilon_insensitive_with_zero_epsilon_is_absolute_error():
    X, y, sw = _regression_data(seed=14)
    kw = dict(alpha=0.05, eta0=0.05, max_iter=100, tol=None)
    a = GDRegressor(loss="epsilon_insensitive", epsilon=0.0, **kw).fit(X, y, sample_weight=sw)
    b = GDRegressor(loss="absolute_error", **kw).fit(X, y, sample_weight=sw)
    assert_allclose(a.coef_, b.coef_, rtol=1e-12)
    assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_focal_with_gamma_zero_is_the_log_loss_model(n_classes):
    X, y, sw = _classification_data(n_classes, seed=15)
    kw = dict(alpha=0.01, max_iter=150, tol=None, optimizer="nesterov")
    focal = GDClassifier(loss="focal", gamma=0.0, **kw).fit(X, y, sample_weight=sw)
    log = GDClassifier(loss="log_loss", **kw).fit(X, y, sample_weight=sw)
    assert focal.eta0_ == log.eta0_
    assert_allclose(focal.coef_, log.coef_, rtol=1e-12, atol=1e-15)
    assert_allclose(focal.intercept_, log.intercept_, rtol=1e-12, atol=1e-15)
    assert_allclose(focal.loss_curve_, log.loss_curve_, rtol=1e-12)
    # gamma > 0 is a different model
    focal2 = GDClassifier(loss="focal", gamma=2.0, **kw).fit(X, y, sample_weight=sw)
    assert np.max(np.abs(focal2.coef_ - log.coef_)) > 1e-3


# ================================================ 8. one step = -eta0 * gradient
_ONE_STEP_CASES = (
    [("regression", name, 1) for name in sorted(REGRESSION_LOSSES)]
    + [("classification", name, 2) for name in sorted(CLASSIFICATION_LOSSES)]
    + [("classification", name, 3) for name in sorted(CLASSIFICATION_LOSSES)]
)


def _one_step_problem(kind, loss, n_classes, seed=16):
    rng = np.random.default_rng(seed)
    n, p = 30, 4
    X = rng.standard_normal((n, p))
    sw = rng.uniform(0.2, 3.0, n)
    if kind == "regression":
        y = X @ rng.standard_normal(p) + rng.standard_normal(n)
        targets = y[:, None]
        n_out, multinomial = 1, False
    else:
        y = rng.integers(0, n_classes, n)
        y[:n_classes] = np.arange(n_classes)
        if n_classes == 2:
            targets = np.where(y == 1, 1.0, -1.0)[:, None]
            n_out, multinomial = 1, False
        else:
            onehot = np.eye(n_classes)[y]
            multinomial = CLASSIFICATION_LOSSES[loss].multinomial
            targets = onehot if multinomial else 2.0 * onehot - 1.0
            n_out = n_classes
    coef0 = rng.normal(scale=0.7, size=(n_out, p))
    intercept0 = rng.normal(scale=0.5, size=n_out)
    return X, y, sw, targets, multinomial, coef0, intercept0


def _one_step_fit(kind, loss, X, y, sw, coef0, intercept0, **kw):
    est_cls = GDRegressor if kind == "regression" else GDClassifier
    coef_init = coef0.ravel() if kind == "regression" else coef0
    est = est_cls(loss=loss, optimizer="sgd", max_iter=1, tol=None, epsilon=0.4,
                  quantile=0.3, gamma=1.5, **kw)
    return est.fit(X, y, coef_init=coef_init, intercept_init=intercept0, sample_weight=sw)


@pytest.mark.parametrize("kind,loss,n_classes", _ONE_STEP_CASES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_one_batch_step_is_minus_eta0_times_objective_gradient(kind, loss, n_classes,
                                                               fit_intercept):
    X, y, sw, targets, multinomial, coef0, intercept0 = _one_step_problem(
        kind, loss, n_classes)
    alpha, eta0 = 0.2, 0.1
    est = _one_step_fit(kind, loss, X, y, sw, coef0, intercept0, alpha=alpha, eta0=eta0,
                        fit_intercept=fit_intercept)
    start = np.hstack([coef0, (intercept0 if fit_intercept else 0 * intercept0)[:, None]])

    def objective(params):
        return _np_objective(params, X, targets, sw, loss, multinomial, alpha, 0.0,
                             epsilon=0.4, quantile=0.3, gamma=1.5)

    grad = _np_gradient(objective, start)
    if not fit_intercept:
        grad[:, -1] = 0.0
    assert np.max(np.abs(grad[:, :-1])) > 1e-3  # the step is not trivially zero
    assert_allclose(_params(est), start - eta0 * grad, rtol=0, atol=1e-8)
    # the recorded objective is the one at the starting point (loss before the
    # update) plus the penalty after it
    W1 = _params(est)[:, :-1]
    expected = objective(start) - alpha / 2 * (np.sum(coef0**2) - np.sum(W1**2))
    assert est.loss_curve_[0] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("kind,loss,n_classes",
                         [("regression", "huber", 1), ("classification", "log_loss", 3),
                          ("classification", "hinge", 3)])
@pytest.mark.parametrize("l1_ratio", [0.4, 1.0])
def test_one_step_with_l1_is_the_proximal_step(kind, loss, n_classes, l1_ratio):
    X, y, sw, targets, multinomial, coef0, intercept0 = _one_step_problem(
        kind, loss, n_classes, seed=17)
    # a feature on a tiny scale and a small weight for it: the gradient step
    # leaves that weight near 0.01, which the soft threshold sets to exactly 0
    X[:, 0] *= 1e-3
    coef0[:, 0] = 0.01
    alpha, eta0 = 0.5, 0.1
    est = _one_step_fit(kind, loss, X, y, sw, coef0, intercept0, alpha=alpha, eta0=eta0,
                        penalty="elasticnet", l1_ratio=l1_ratio)
    start = np.hstack([coef0, intercept0[:, None]])
    smooth = _np_gradient(lambda prm: _np_objective(
        prm, X, targets, sw, loss, multinomial, alpha, 0.0, epsilon=0.4, quantile=0.3,
        gamma=1.5) - alpha / 2 * np.sum(prm[:, :-1] ** 2) * l1_ratio, start)
    moved = start - eta0 * smooth
    shrink = eta0 * alpha * l1_ratio
    expected = moved.copy()
    expected[:, :-1] = np.sign(moved[:, :-1]) * np.maximum(np.abs(moved[:, :-1]) - shrink, 0)
    assert np.any(expected[:, :-1] == 0.0)
    assert_allclose(_params(est), expected, rtol=0, atol=1e-8)
    assert_array_equal(_params(est)[:, :-1] == 0.0, expected[:, :-1] == 0.0)


@pytest.mark.parametrize("clip", ["value", "norm"])
def test_one_step_with_clipping(clip):
    """Clipping acts on the data-term gradient, before the L2 term is added."""
    X, y, sw, targets, multinomial, coef0, intercept0 = _one_step_problem(
        "classification", "log_loss", 3, seed=18)
    alpha, eta0 = 0.3, 0.1
    data_grad = _np_gradient(lambda prm: _np_objective(
        prm, X, targets, sw, "log_loss", multinomial, 0.0, 0.0), np.hstack(
        [coef0, intercept0[:, None]]))
    if clip == "value":
        c = 0.5 * np.max(np.abs(data_grad))
        clipped = np.clip(data_grad, -c, c)
        kw = {"clip_value": c}
    else:
        c = 0.5 * np.linalg.norm(data_grad)
        clipped = data_grad * c / np.linalg.norm(data_grad)
        kw = {"clip_norm": c}
    est = _one_step_fit("classification", "log_loss", X, y, sw, coef0, intercept0,
                        alpha=alpha, eta0=eta0, **kw)
    start = np.hstack([coef0, intercept0[:, None]])
    penalty_grad = np.hstack([alpha * coef0, np.zeros((3, 1))])
    assert_allclose(_params(est), start - eta0 * (clipped + penalty_grad), rtol=0, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("Est, loss", [(GDClassifier, name) for name in CLASSIFICATION_LOSSES]
                         + [(GDRegressor, name) for name in REGRESSION_LOSSES])
def test_single_score_gradient_equals_general_batch_gradient(Est, loss, dtype):
    # One score column takes its own batch kernel (scores in registers); it
    # must compute what the general kernel computes, for dense and CSR rows.
    # Rows 10 to 290 span more than one block of log_loss_gradient.
    import scipy.sparse as sp

    from sklearn_gd._base import _Rows
    from sklearn_gd._kernels import loops as K

    rng = np.random.RandomState(0)
    X = rng.randn(300, 7).astype(dtype)
    X[X < -0.5] = 0.0
    targets = (np.sign(rng.randn(300)) if Est is GDClassifier else 3 * rng.randn(300))
    targets = targets.astype(dtype).reshape(-1, 1)
    sample_weight = rng.uniform(0.0, 2.0, 300).astype(dtype)
    params = (0.5 * rng.randn(1, 8)).astype(dtype)
    est = Est(loss=loss)
    est._check_param_combinations()  # resolves optimizer_, as every fit does first
    codes, hyper = est._kernel_config(1, 0.1)
    single = K.batch_gradient_kernel(codes, 1)
    # The binary log loss has a blocked kernel of its own (vectorised exp and log1p).
    assert single is (K.log_loss_gradient if loss == "log_loss" else K.single_score_gradient)
    assert K.batch_gradient_kernel(codes, 2) is K.batch_gradient
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for data in (X, sp.csr_matrix(X)):
        rows = _Rows(data).data
        results = []
        for kernel in (single, K.batch_gradient):
            grad = np.empty_like(params)
            loss_sum = kernel(rows, targets, sample_weight, 10, 290, params, grad,
                              np.empty(1), np.empty(1), codes, hyper)
            results.append((loss_sum, grad))
        assert results[0][0] > 0.0
        assert_allclose(results[0][0], results[1][0], rtol=rtol)
        assert_allclose(results[0][1], results[1][1], rtol=rtol, atol=1e-6 * rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer, average", [("sgd", False), ("sgd", 3), ("adam", False),
                                                ("normalized", False)])
def test_log_loss_minibatch_epoch_equals_general_minibatch_epoch(optimizer, average, dtype):
    # The binary log loss takes a mini-batch loop of its own (the batch's
    # losses in one vectorised loop); it must take the steps the general loop
    # takes, up to the last bits of exp and log1p, on dense and CSR rows, with
    # a last batch shorter than the others.
    import scipy.sparse as sp

    from sklearn_gd._base import _Rows
    from sklearn_gd._batch import NO_STEP_SCALES
    from sklearn_gd._kernels import loops as K

    rng = np.random.RandomState(1)
    n = 203
    X = rng.randn(n, 7).astype(dtype)
    X[X < -0.5] = 0.0
    targets = np.sign(rng.randn(n)).astype(dtype).reshape(-1, 1)
    sample_weight = rng.uniform(0.0, 2.0, n).astype(dtype)
    order = rng.permutation(n).astype(np.int64)
    est = GDClassifier(loss="log_loss", solver="minibatch", optimizer=optimizer,
                       average=average)
    est._check_param_combinations()
    codes, hyper = est._kernel_config(1, 0.05)
    assert K.minibatch_epoch_kernel(codes, 1) is K.log_loss_minibatch_epoch
    assert K.minibatch_epoch_kernel(codes, 2) is K.minibatch_epoch
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for data in (X, sp.csr_matrix(X)):
        rows = _Rows(data).data
        results = []
        start = (0.5 * np.random.RandomState(2).randn(1, 8)).astype(dtype)
        for kernel in (K.log_loss_minibatch_epoch, K.minibatch_epoch):
            params = start.copy()
            m1, m2 = np.zeros_like(params), np.zeros_like(params)
            if optimizer == "normalized":
                m1[:] = 1.0
            avg = np.zeros_like(params) if average else np.zeros((0, 0), dtype=dtype)
            loss_sum, t, status = kernel(rows, targets, sample_weight, order, 32, params,
                                         m1, m2, avg, np.zeros_like(params), np.empty(1),
                                         np.empty(1), NO_STEP_SCALES, 0, codes, hyper)
            results.append((loss_sum, t, status, params, m1, m2, avg))
        assert results[0][1:3] == results[1][1:3] == (7, 0)
        assert results[0][0] > 0.0
        assert_allclose(results[0][0], results[1][0], rtol=rtol)
        for ours, general in zip(results[0][3:], results[1][3:]):
            assert_allclose(ours, general, rtol=rtol, atol=1e-6 * rtol)
        assert not np.array_equal(results[0][3], start)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("alpha", [0.0, 1e-3, 50.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("preconditioned", [True, False])
def test_plain_sgd_step_is_the_per_coordinate_update(dtype, alpha, fit_intercept,
                                                    preconditioned):
    # Plain SGD without clipping or L1 takes a branch-free loop
    # (loops.plain_sgd_step); a clip at 1e300, which clips nothing, sends the
    # same step through update_coordinate, the general path. At alpha=50 some
    # rates shrink past 0 (clipped there) and both take the general path. The
    # two compilations may contract a different multiply-add into an FMA
    # (fast-math "contract"), so they agree to an ulp, not always bit for bit.
    from sklearn_gd._batch import NO_STEP_SCALES
    from sklearn_gd._kernels import loops as K

    rng = np.random.RandomState(4)
    params = rng.randn(2, 9).astype(dtype)
    grad = rng.randn(2, 9).astype(dtype)
    step_scales = rng.uniform(0.1, 3.0, 9) if preconditioned else NO_STEP_SCALES
    results = []
    for clip_value in (None, 1e300):
        est = GDClassifier(solver="minibatch", optimizer="sgd", alpha=alpha, eta0=0.1,
                           fit_intercept=fit_intercept, clip_value=clip_value)
        est._check_param_combinations()
        codes, hyper = est._kernel_config(2, 0.1)
        out = params.copy()
        m1, m2 = np.zeros_like(params), np.zeros_like(params)
        K.apply_gradient(out, grad, 1.0 / 7, m1, m2, step_scales, 3, codes, hyper)
        results.append(out)
    assert not np.array_equal(results[0], params)
    ulp = np.finfo(dtype).eps
    assert_allclose(results[0], results[1], rtol=2 * ulp, atol=0)
