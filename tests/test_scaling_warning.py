"""Features of very different scales are warned about where they hurt."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_gd import GDRegressor


def _data(spread):
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3) * np.array([1.0, spread, 1.0])
    return X, X[:, 0] + X[:, 2]


@pytest.mark.parametrize("to_sparse", [False, True])
def test_warns_on_widely_spread_feature_scales(to_sparse):
    X, y = _data(1e6)
    X = sp.csr_matrix(X) if to_sparse else X
    with pytest.warns(UserWarning, match=r"scales span a factor of 1\.0\de\+06"):
        GDRegressor(solver="stochastic", max_iter=3, tol=None).fit(X, y)


@pytest.mark.parametrize("params", [{"solver": "stochastic"}, {"optimizer": "lbfgs"}, {},
                                    {"solver": "minibatch"}])
def test_no_warning_for_moderate_spread_or_scale_free_optimizers(params):
    """The preconditioned plain steps (batch and mini-batch defaults) are scale-free too."""
    X, y = _data(1e2) if params == {"solver": "stochastic"} else _data(1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GDRegressor(max_iter=3, tol=None, **params).fit(X, y)


def test_warns_when_every_feature_dwarfs_the_intercept():
    """All columns scaled by 1e4: no spread among them, but the intercept's column of
    ones is 1e4 times smaller; the fit crawls there (it used to end silently, R^2 -3.8)."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4)
    y = X @ np.ones(4) + 50.0
    with pytest.warns(UserWarning, match="intercept's column of ones"):
        GDRegressor(solver="stochastic", max_iter=3, tol=None).fit(X * 1e4, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GDRegressor(solver="stochastic", max_iter=3, tol=None,
                    fit_intercept=False).fit(X * 1e4, y)


def test_preconditioned_defaults_fit_features_that_dwarf_the_intercept():
    """The issue's case: GDRegressor().fit(X * 1e4, y) kept the intercept at 0, R^2 -3.8.

    The diagonal preconditioner gives the intercept a step of its own scale.
    """
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4)
    y = X @ np.ones(4) + 50.0 + 0.1 * rng.randn(300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = GDRegressor().fit(X * 1e4, y)
    assert est.convergence_.converged
    assert est.score(X * 1e4, y) > 0.99
    assert abs(est.intercept_[0] - 50.0) < 0.1
