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
        GDRegressor(max_iter=3, tol=None).fit(X, y)


@pytest.mark.parametrize("params", [{}, {"optimizer": "lbfgs"}])
def test_no_warning_for_moderate_spread_or_scale_free_optimizers(params):
    X, y = _data(1e2) if not params else _data(1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GDRegressor(max_iter=3, tol=None, **params).fit(X, y)
