"""Behaviour that must match scikit-learn's SGDClassifier / SGDRegressor (issue 13).

Where the algorithms are the same (plain SGD, one sample per step, samples in
storage order, ``tol=None``) the coefficients are compared with scikit-learn's
to 1e-6; elsewhere the tests state the behaviour scikit-learn documents (its
errors and their wording, what ``warm_start`` means).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_regression
from sklearn.linear_model import SGDClassifier, SGDRegressor

from sklearn_gd import GDClassifier, GDRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]

# The settings under which both libraries run the same algorithm.
_SAME = dict(shuffle=False, tol=None, max_iter=5)


def _iris():
    X, y = load_iris(return_X_y=True)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _regression():
    X, y = make_regression(n_samples=100, n_features=4, noise=1.0, random_state=0)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


# ------------------------------------------------------------ 1. strong L2
@pytest.mark.parametrize("learning_rate", ["constant", "optimal"])
def test_strong_l2_plain_sgd_matches_sklearn(learning_rate):
    """eta0 * alpha > 2: scikit-learn clips the shrink 1 - eta * alpha at 0.

    With "constant" every step sets the weights to zero before the loss's
    step (and the hinge's last steps have no gradient, so coef_ is exactly
    0); "optimal" has eta * alpha > 1 in its first step only.
    """
    X, y = _iris()
    params = dict(loss="hinge", alpha=1e5, eta0=0.1, learning_rate=learning_rate, **_SAME)
    ours = GDClassifier(solver="stochastic", **params).fit(X, y)
    theirs = SGDClassifier(**params).fit(X, y)
    if learning_rate == "constant":
        assert_array_equal(theirs.coef_, 0.0)
        assert_array_equal(ours.coef_, 0.0)
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-12)


def test_strong_l2_plain_sgd_regressor_matches_sklearn():
    X, y = _regression()
    params = dict(alpha=1e3, eta0=0.01, learning_rate="constant", **_SAME)
    ours = GDRegressor(solver="stochastic", **params).fit(X, y)
    theirs = SGDRegressor(**params).fit(X, y)
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("solver", ["stochastic", "minibatch", "batch"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adamw"])
def test_strong_l2_other_loops_stay_bounded(solver, optimizer):
    """The same clip in the loops without scikit-learn's counterpart.

    ``clip_value`` (too large to clip anything) sends plain stochastic SGD to
    the general one-sample kernel (an L1 part would hide the problem: its
    soft-threshold zeroes the weights too).
    With the penalty's part of each step stopping at zero, what is left of a
    weight is at most one step of the loss gradient (a plain step's
    ``eta0 * max |x|``, amplified by ``1 / (1 - momentum)`` by a velocity).
    """
    X, y = _iris()
    est = GDClassifier(loss="hinge", alpha=1e5, eta0=0.1, solver=solver, optimizer=optimizer,
                       clip_value=1e6, batch_size=16, **_SAME)
    est.fit(X, y)
    bound = 0.1 * np.abs(X).max() / (1.0 - est.momentum)
    assert np.all(np.isfinite(est.coef_))
    assert np.abs(est.coef_).max() <= bound
