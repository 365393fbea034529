"""``optimizer="auto"``, the default: L-BFGS or SVRG where they apply, the plain step
elsewhere.

The optima come from ``optima.py`` (SciPy on a NumPy objective), never from the
package.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from custom_losses import HINGE, SQUARED
from optima import objective, one_hot_blocks, optimum, problem, relative_gap
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd import GDClassifier, GDRegressor

ALPHA = 1e-3


@pytest.mark.parametrize("Est, loss", [(GDRegressor, "squared_error"), (GDRegressor, "huber"),
                                       (GDClassifier, "log_loss"),
                                       (GDClassifier, "squared_hinge"),
                                       (GDRegressor, SQUARED)])
def test_smooth_batch_fit_is_lbfgs(Est, loss):
    task = "regression" if Est is GDRegressor else "classification"
    X, y = problem("ill", task)
    est = Est(loss=loss, alpha=ALPHA).fit(X, y)
    assert est.optimizer == "auto" and est.optimizer_ == "lbfgs"
    assert est.convergence_.converged
    assert np.isnan(est.eta0_)


@pytest.mark.parametrize("params", [
    dict(loss="hinge"), dict(loss=HINGE), dict(penalty="l1"),
    dict(penalty="elasticnet"), dict(early_stopping=True), dict(learning_rate="invscaling"),
    dict(eta0=0.1), dict(learning_rate="constant"), dict(clip_norm=1.0),
    dict(clip_value=1.0), dict(solver="minibatch"),
    dict(solver="stochastic", average=True), dict(solver="stochastic", loss="hinge"),
    dict(solver="stochastic", penalty="l1"), dict(solver="stochastic", eta0=0.1),
    dict(solver="stochastic", learning_rate="optimal"),
])
def test_what_asks_for_first_order_steps_gets_the_plain_step(params):
    X, y = problem("well", "classification", n_samples=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = GDClassifier(max_iter=5, random_state=0, **params).fit(X, y)
    assert est.optimizer_ == "sgd"


def test_elasticnet_without_its_l1_part_is_smooth():
    X, y = problem("well", "regression", n_samples=200)
    assert GDRegressor(penalty="elasticnet", l1_ratio=0.0).fit(X, y).optimizer_ == "lbfgs"
    assert GDRegressor(penalty="l1", alpha=0.0).fit(X, y).optimizer_ == "lbfgs"


def test_auto_is_the_explicit_choice_bit_for_bit():
    X, y = problem("ill", "classification")
    auto = GDClassifier(alpha=ALPHA).fit(X, y)
    lbfgs = GDClassifier(alpha=ALPHA, optimizer="lbfgs").fit(X, y)
    np.testing.assert_array_equal(auto.coef_, lbfgs.coef_)
    np.testing.assert_array_equal(auto.intercept_, lbfgs.intercept_)
    hinge = GDClassifier(loss="hinge", alpha=ALPHA, max_iter=50).fit(X, y)
    plain = GDClassifier(loss="hinge", alpha=ALPHA, max_iter=50, optimizer="sgd").fit(X, y)
    np.testing.assert_array_equal(hinge.coef_, plain.coef_)


def test_partial_fit_streams_with_the_plain_step_after_an_lbfgs_fit():
    """L-BFGS leaves no step size (eta0_ NaN): the stream derives its own and goes on
    from the fitted weights, never with a NaN rate."""
    X, y = problem("well", "regression", n_samples=400)
    est = GDRegressor(alpha=ALPHA).fit(X[:200], y[:200])
    assert est.optimizer_ == "lbfgs" and np.isnan(est.eta0_)
    fitted = est.coef_.copy()
    est.partial_fit(X[200:], y[200:])
    assert est.optimizer_ == "sgd"
    assert np.isfinite(est.eta0_) and est.eta0_ > 0
    assert np.all(np.isfinite(est.coef_)) and not np.array_equal(est.coef_, fitted)
    # One plain step from a fit near the optimum stays near it.
    assert est.score(X, y) > 0.9 * GDRegressor(alpha=ALPHA).fit(X, y).score(X, y)
    stream = GDRegressor(random_state=0)
    stream.partial_fit(X, y)
    assert stream.optimizer_ == "sgd"


def _one_hot(n_samples=4000, seed=0):
    """Three categoricals with levels of frequencies from 50 % to 0.1 %."""
    rng = np.random.RandomState(seed)
    X = sp.hstack(one_hot_blocks(rng, n_samples)).tocsr()
    score = X @ rng.standard_normal(X.shape[1])
    y = np.where(score + 0.5 * rng.standard_normal(n_samples) > 0.2, 1.0, -1.0)
    return X, y


def test_default_certifies_one_hot_data_where_the_plain_step_runs_out():
    """The case that made the choice (real one-hot flights): the plain batch step spends
    max_iter and warns; the default is certified, at SciPy's optimum."""
    X, y = _one_hot()
    est = GDClassifier(alpha=ALPHA)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        auto = clone(est).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        clone(est).set_params(optimizer="sgd", max_iter=100).fit(X, y)
    assert auto.convergence_.converged and auto.n_iter_ < 100
    dense = X.toarray()
    best = optimum("log_loss", dense, y, alpha=ALPHA)[2]
    value = objective("log_loss", dense, y, auto.coef_.ravel(), float(auto.intercept_[0]),
                      alpha=ALPHA)
    assert relative_gap(value, best) <= 1e-6


# ------------------------------------------------ learning_rate="auto"
@pytest.mark.parametrize("Est, params, expected", [
    (GDClassifier, dict(solver="stochastic", optimizer="sgd"), "optimal"),
    (GDClassifier, dict(solver="stochastic", penalty="l1"), "optimal"),
    (GDClassifier, dict(solver="stochastic"), "constant"),  # SVRG: one rate per epoch
    (GDClassifier, dict(solver="stochastic", eta0=0.1), "constant"),
    (GDClassifier, dict(solver="stochastic", penalty=None), "constant"),
    (GDClassifier, dict(solver="stochastic", optimizer="adam"), "constant"),
    (GDClassifier, dict(solver="minibatch"), "constant"),
    (GDClassifier, dict(loss="hinge"), "constant"),
    (GDRegressor, dict(solver="stochastic"), "constant"),
])
def test_auto_schedule(Est, params, expected):
    task = "regression" if Est is GDRegressor else "classification"
    X, y = problem("well", task, n_samples=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Est(max_iter=5, random_state=0, **params).fit(X, y)
    assert est.learning_rate == "auto" and est.schedule_ == expected


def test_auto_schedule_never_steps_above_the_stable_constant_step():
    """Bottou's t0 assumes features of unit scale: on rows scaled by 1,000 the explicit
    "optimal" schedule blows the weights up in its first epoch. "auto" raises t0 so that
    no step exceeds eta0_ (1 / L of the largest row): as stable as the constant step."""
    from sklearn_gd import DivergenceError

    X, y = problem("well", "classification", n_samples=400)
    kwargs = dict(solver="stochastic", optimizer="sgd", max_iter=5, tol=None, random_state=0)
    with pytest.raises(DivergenceError, match="optimal"):
        GDClassifier(learning_rate="optimal", **kwargs).fit(X * 1e3, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the features' scale
        scaled = GDClassifier(**kwargs).fit(X * 1e3, y)
        constant = GDClassifier(learning_rate="constant", **kwargs).fit(X * 1e3, y)
    assert scaled.schedule_ == "optimal" and np.all(np.isfinite(scaled.coef_))
    assert scaled.learning_rate_ <= scaled.eta0_
    assert scaled.score(X * 1e3, y) >= constant.score(X * 1e3, y) - 0.02
    stream = GDClassifier(solver="stochastic", random_state=0)
    stream.partial_fit(X, y, classes=[-1.0, 1.0])
    assert stream.schedule_ == "optimal" and stream.learning_rate_ <= stream.eta0_


def test_stochastic_steps_get_near_the_optimum_on_one_hot_rows():
    """The cases that made the choices. The constant automatic step (1 / L of the
    largest row) hovers far above the optimum on one-hot rows; "optimal" gets close in
    a few epochs, as SGDClassifier's default does; SVRG, what "auto" is for a fit, gets
    closer still and is certified soon after."""
    from sklearn.linear_model import SGDClassifier

    X, y = _one_hot()
    dense = X.toarray()
    best = optimum("log_loss", dense, y, alpha=ALPHA)[2]

    def gap(est):
        return relative_gap(objective("log_loss", dense, y, np.ravel(est.coef_),
                                      float(np.ravel(est.intercept_)[0]), alpha=ALPHA), best)

    kwargs = dict(solver="stochastic", alpha=ALPHA, max_iter=5, tol=None, random_state=0)
    auto = GDClassifier(**kwargs).fit(X, y)
    plain = GDClassifier(optimizer="sgd", **kwargs).fit(X, y)
    constant = GDClassifier(optimizer="sgd", learning_rate="constant", **kwargs).fit(X, y)
    peer = SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=5, tol=None,
                         random_state=0).fit(X, y)
    assert auto.optimizer_ == "svrg" and plain.schedule_ == "optimal"
    assert gap(plain) <= 2 * gap(peer) + 1e-3
    assert gap(constant) >= 5 * gap(plain)
    # Measured: 1.1e-5 after 5 epochs, against 6.4e-3 for "optimal".
    assert gap(auto) <= 1e-4 and gap(auto) <= gap(plain) / 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        certified = GDClassifier(solver="stochastic", alpha=ALPHA, random_state=0).fit(X, y)
    assert certified.convergence_.converged and certified.n_iter_ <= 20
    assert gap(certified) <= 1e-6


# ------------------------------------------------ SVRG for solver="stochastic"
@pytest.mark.parametrize("Est, loss", [(GDRegressor, "squared_error"), (GDRegressor, "huber"),
                                       (GDClassifier, "log_loss"),
                                       (GDClassifier, "squared_hinge")])
def test_smooth_stochastic_fit_is_svrg_and_certified(Est, loss):
    """Bit for bit the explicit optimizer="svrg", certified at SciPy's optimum, where
    the plain step (the earlier meaning of "auto") runs out of epochs and warns."""
    task = "regression" if Est is GDRegressor else "classification"
    X, y = problem("well", task, n_samples=400)
    kwargs = dict(loss=loss, alpha=ALPHA, solver="stochastic", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        auto = Est(**kwargs).fit(X, y)
    explicit = Est(optimizer="svrg", **kwargs).fit(X, y)
    assert auto.optimizer == "auto" and auto.optimizer_ == "svrg"
    assert auto.schedule_ == "constant" and auto.convergence_.converged
    np.testing.assert_array_equal(auto.coef_, explicit.coef_)
    np.testing.assert_array_equal(auto.intercept_, explicit.intercept_)
    assert auto.loss_curve_ == explicit.loss_curve_
    target = y if task == "regression" else np.where(y == y.max(), 1.0, -1.0)
    best = optimum(loss, X, target, alpha=ALPHA)[2]
    value = objective(loss, X, target, np.ravel(auto.coef_), float(np.ravel(auto.intercept_)[0]),
                      alpha=ALPHA)
    assert relative_gap(value, best) <= 1e-5
    with pytest.warns(ConvergenceWarning):
        Est(optimizer="sgd", max_iter=auto.n_iter_, **kwargs).fit(X, y)


def test_a_custom_loss_keeps_the_plain_stochastic_step():
    X, y = problem("well", "regression", n_samples=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = GDRegressor(loss=SQUARED, solver="stochastic", max_iter=5,
                          random_state=0).fit(X, y)
    assert est.optimizer_ == "sgd"


def test_partial_fit_after_an_svrg_fit_streams_with_its_own_plain_step():
    """SVRG's rate is a third of the plain step's and its snapshot needs the whole
    data: the stream takes the plain step at the rate a stream starting on the chunk
    derives ("optimal" for the classifier, capped by it), from the fitted weights."""
    X, y = problem("well", "classification", n_samples=600)
    est = GDClassifier(solver="stochastic", alpha=ALPHA, random_state=0).fit(X[:400], y[:400])
    assert est.optimizer_ == "svrg"
    fitted = est.coef_.copy()
    est.partial_fit(X[400:], y[400:])
    stream = GDClassifier(solver="stochastic", alpha=ALPHA, random_state=0)
    stream.partial_fit(X[400:], y[400:], classes=np.unique(y))
    assert est.optimizer_ == stream.optimizer_ == "sgd"
    assert est.schedule_ == stream.schedule_ == "optimal"
    assert est.eta0_ == stream.eta0_
    assert np.all(np.isfinite(est.coef_)) and not np.array_equal(est.coef_, fitted)
    assert est.score(X, y) >= stream.score(X, y) - 0.02
