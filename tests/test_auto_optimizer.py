"""``optimizer="auto"``, the default: L-BFGS where it applies, the plain step elsewhere.

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
    dict(clip_value=1.0), dict(solver="minibatch"), dict(solver="stochastic"),
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
    (GDClassifier, dict(solver="stochastic"), "optimal"),
    (GDClassifier, dict(solver="stochastic", penalty="l1"), "optimal"),
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
    kwargs = dict(solver="stochastic", max_iter=5, tol=None, random_state=0)
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


def test_stochastic_default_gets_near_the_optimum_on_one_hot_rows():
    """The case that made the choice: the constant automatic step (1 / L of the largest
    row) hovers far above the optimum on one-hot rows; "optimal" gets close in a few
    epochs, as SGDClassifier's default does."""
    from sklearn.linear_model import SGDClassifier

    X, y = _one_hot()
    dense = X.toarray()
    best = optimum("log_loss", dense, y, alpha=ALPHA)[2]

    def gap(coef, intercept):
        return relative_gap(objective("log_loss", dense, y, np.ravel(coef),
                                      float(np.ravel(intercept)[0]), alpha=ALPHA), best)

    kwargs = dict(solver="stochastic", alpha=ALPHA, max_iter=5, tol=None, random_state=0)
    auto = GDClassifier(**kwargs).fit(X, y)
    constant = GDClassifier(learning_rate="constant", **kwargs).fit(X, y)
    peer = SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=5, tol=None,
                         random_state=0).fit(X, y)
    assert gap(auto.coef_, auto.intercept_) <= 2 * gap(peer.coef_, peer.intercept_) + 1e-3
    assert gap(constant.coef_, constant.intercept_) >= 5 * gap(auto.coef_, auto.intercept_)
