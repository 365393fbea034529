"""User-defined losses (``CustomLoss``): same loops as the built-in losses, clear errors."""

import copy
import math
import pickle
import warnings

import numba
import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from custom_losses import HINGE, LOG_COSH, SQUARED, log_cosh, residual
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_gd import CustomLoss, GDClassifier, GDRegressor


def _regression(n=200, n_features=5, n_targets=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    coef = rng.standard_normal((n_features,) if n_targets is None else (n_features, n_targets))
    y = X @ coef + 0.5
    return X, y + 0.3 * rng.standard_normal(y.shape)


def _classification(n=200, n_features=5, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    scores = X @ rng.standard_normal((n_features, n_classes))
    return X, scores.argmax(axis=1)


# ------------------------------------------------------- same as built in
# Both fits of a pair stop where they stop; equality is the point, not convergence.
_SAME_STOP = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@_SAME_STOP
@pytest.mark.parametrize("params", [
    {"solver": "batch"},
    # "auto" is SVRG for the built-in loss, the plain step for a custom one.
    {"solver": "stochastic", "optimizer": "sgd", "random_state": 0},
    {"solver": "minibatch", "batch_size": 16, "optimizer": "adam", "random_state": 0},
    {"optimizer": "lbfgs"},
])
def test_restated_squared_error_trains_exactly_as_the_built_in_loss(params):
    X, y = _regression()
    ours = GDRegressor(loss=SQUARED, **params).fit(X, y)
    built_in = GDRegressor(loss="squared_error", **params).fit(X, y)
    np.testing.assert_array_equal(ours.coef_, built_in.coef_)
    np.testing.assert_array_equal(ours.intercept_, built_in.intercept_)
    assert ours.n_iter_ == built_in.n_iter_
    assert ours.loss_curve_ == built_in.loss_curve_


def test_restated_squared_error_on_sparse_multi_output_and_partial_fit():
    X, Y = _regression(n_targets=3)
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    for data, target in ((Xs, Y[:, 0]), (X, Y)):
        ours = GDRegressor(loss=SQUARED).fit(data, target)
        built_in = GDRegressor().fit(data, target)
        np.testing.assert_array_equal(ours.coef_, built_in.coef_)
    ours, built_in = GDRegressor(loss=SQUARED), GDRegressor()
    for chunk in np.array_split(np.arange(X.shape[0]), 4):
        ours.partial_fit(X[chunk], Y[chunk, 0])
        built_in.partial_fit(X[chunk], Y[chunk, 0])
    np.testing.assert_array_equal(ours.coef_, built_in.coef_)


@_SAME_STOP
@pytest.mark.parametrize("n_classes", [2, 3])
def test_restated_hinge_classifies_exactly_as_the_built_in_hinge(n_classes):
    X, y = _classification(n_classes=n_classes)
    ours = GDClassifier(loss=HINGE).fit(X, y)
    built_in = GDClassifier(loss="hinge").fit(X, y)
    np.testing.assert_array_equal(ours.coef_, built_in.coef_)
    np.testing.assert_array_equal(ours.predict(X), built_in.predict(X))
    # One-vs-rest on +-1 targets, as the built-in margin losses: no probabilities.
    assert not hasattr(ours, "predict_proba")


def test_optimal_learning_rate_reads_the_custom_derivative():
    X, y = _classification()
    params = {"solver": "stochastic", "learning_rate": "optimal", "max_iter": 20,
              "random_state": 0, "tol": None}
    ours = GDClassifier(loss=HINGE, **params).fit(X, y)
    built_in = GDClassifier(loss="hinge", **params).fit(X, y)
    np.testing.assert_array_equal(ours.coef_, built_in.coef_)


# -------------------------------------------------- a loss of its own
def test_log_cosh_regression_reaches_scipys_optimum():
    X, y = _regression(seed=1)
    y = y + np.where(np.arange(y.shape[0]) % 17 == 0, 8.0, 0.0)  # a few outliers
    alpha = 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = GDRegressor(loss=LOG_COSH, alpha=alpha, tol=1e-8, max_iter=5000).fit(X, y)
    assert est.convergence_.converged

    def objective(theta):
        r = X @ theta[:-1] + theta[-1] - y
        coef = theta[:-1]
        value = np.mean(np.logaddexp(r, -r) - math.log(2.0)) + 0.5 * alpha * coef @ coef
        d = np.tanh(r) / y.shape[0]
        grad = np.append(X.T @ d + alpha * coef, d.sum())
        return value, grad

    ref = scipy.optimize.minimize(objective, np.zeros(X.shape[1] + 1), jac=True,
                                  method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0})
    np.testing.assert_allclose(est.coef_, ref.x[:-1], atol=1e-5)
    np.testing.assert_allclose(est.intercept_, ref.x[-1], atol=1e-5)
    # Robust: the outliers pull the intercept less than least squares does.
    assert abs(est.intercept_ - 0.5) < abs(GDRegressor().fit(X, y).intercept_ - 0.5)


# ------------------------------------------------------ scikit-learn glue
def test_clone_get_params_and_pickle_keep_the_loss():
    X, y = _regression()
    est = GDRegressor(loss=SQUARED).fit(X, y)
    assert clone(est).loss is SQUARED
    assert est.get_params()["loss"] is SQUARED
    assert copy.deepcopy(SQUARED) is SQUARED
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    np.testing.assert_array_equal(again.fit(X, y).coef_, est.coef_)
    assert "half_squared_residual" in repr(est)


def test_grid_search_over_custom_and_built_in_losses():
    X, y = _regression()
    search = GridSearchCV(GDRegressor(), {"loss": [SQUARED, "huber"]}, cv=3).fit(X, y)
    assert search.cv_results_["param_loss"][0] is SQUARED
    assert search.best_estimator_.loss in (SQUARED, "huber")


# ---------------------------------------------------------------- errors
def test_a_plain_python_function_is_refused():
    with pytest.raises(TypeError, match=r"value must be a Numba-jitted function.*numba\.njit"):
        CustomLoss(lambda score, target: (score - target) ** 2, residual)
    with pytest.raises(TypeError, match="derivative must be a Numba-jitted function"):
        CustomLoss(log_cosh, math.tanh)


def test_a_function_returning_something_else_than_a_float_is_refused():
    @numba.njit
    def pair(score, target):
        return score - target, 1.0

    @numba.njit
    def array(score, target):
        return np.full(2, score - target)

    @numba.njit
    def boolean(score, target):
        return score > target

    with pytest.raises(TypeError, match=r"value=pair must return a float.*two functions"):
        CustomLoss(pair, residual)
    with pytest.raises(TypeError, match="derivative=array must return a float, but returns "
                                        "array"):
        CustomLoss(log_cosh, array)
    with pytest.raises(TypeError, match="must return a float, but returns bool"):
        CustomLoss(boolean, residual)


def test_a_function_that_does_not_compile_for_two_floats_is_refused():
    @numba.njit
    def needs_an_array(score, target):
        return score[0] - target

    with pytest.raises(TypeError, match="cannot be compiled for .score: float64, target: "
                                        "float64"):
        CustomLoss(needs_an_array, residual)


def test_a_derivative_of_the_wrong_sign_is_caught():
    @numba.njit
    def minus_residual(score, target):
        return target - score

    with pytest.raises(ValueError, match="derivative does not match value"):
        CustomLoss(SQUARED.value, minus_residual)
    # Skipped on request, and for non-smooth losses.
    CustomLoss(SQUARED.value, minus_residual, check_derivative=False)
    CustomLoss(SQUARED.value, minus_residual, smooth=False)


@pytest.mark.parametrize("curvature", [0.0, -1.0, math.inf, "1", True])
def test_curvature_must_be_positive_and_finite(curvature):
    with pytest.raises(ValueError, match="curvature must be a positive finite number"):
        CustomLoss(SQUARED.value, residual, curvature=curvature)


def test_the_estimators_reject_what_is_neither_a_name_nor_a_custom_loss():
    X, y = _regression()
    with pytest.raises(InvalidParameterError, match="CustomLoss"):
        GDRegressor(loss=(SQUARED.value, residual)).fit(X, y)


def test_passive_aggressive_steps_need_their_own_loss():
    X, y = _classification()
    with pytest.raises(ValueError, match="only works with loss 'hinge'"):
        GDClassifier(loss=HINGE, solver="stochastic", learning_rate="pa1").fit(X, y)


def test_fit_dask_refuses_a_custom_loss():
    da = pytest.importorskip("dask.array")
    from sklearn_gd.dask import fit_dask

    X, y = _regression()
    with pytest.raises(ValueError, match="a CustomLoss"):
        fit_dask(GDRegressor(loss=SQUARED), da.from_array(X, chunks=50),
                 da.from_array(y, chunks=50))
