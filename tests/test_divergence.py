"""Divergence: a fit whose loss explodes raises (or recovers, on request), names
the epoch, leaves the estimator as it was, and never returns a NaN model.
"""

import math
import warnings

import numpy as np
import pytest
from helpers import (
    SOLVERS,
    assert_same_state,
    partial_fit_classes,
    reg_data,
    scaled_data,
    snapshot,
    split_data,
)
from sklearn.exceptions import NotFittedError

import sklearn_gd
from sklearn_gd import DivergenceError, DivergenceWarning, GDClassifier, GDRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]


def _unscaled_binary():
    Xtr, _, ytr, _ = split_data("breast_cancer")
    return Xtr, ytr


@pytest.mark.parametrize("solver", ["batch", "stochastic"])
@pytest.mark.parametrize("Est, loss", [(GDRegressor, "squared_error"),
                                       (GDClassifier, "squared_hinge")])
def test_huge_step_raises_divergence_error(Est, loss, solver):
    X, y = _unscaled_binary()
    est = Est(loss=loss, optimizer="sgd", eta0=1e6, penalty=None, solver=solver,
              max_iter=30, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(DivergenceError) as info:
            est.fit(X, y)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "learning rate" in message
    assert "1e+06" in message
    assert "smaller" in message
    # No model (let alone a NaN one) is left behind.
    assert not hasattr(est, "coef_")

    est.set_params(eta0="auto").fit(X, y)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    assert np.all(np.isfinite(est.loss_curve_))
    assert est.eta0_ < 1e6

    # A failed refit does not replace the good model with a NaN one.
    before = snapshot(est)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(DivergenceError):
            est.set_params(eta0=1e6).fit(X, y)
    assert_same_state(snapshot(est), before, keys=("coef_", "intercept_", "t_"))


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_divergence_with_penalty_raises_no_runtime_warning(penalty):
    """The penalty of exploded weights must not overflow into a RuntimeWarning
    before (or, with warnings as errors, instead of) the DivergenceError."""
    X, y = _unscaled_binary()
    est = GDRegressor(optimizer="sgd", eta0=1e6, penalty=penalty, max_iter=30, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(DivergenceError):
            est.fit(X, y)


@pytest.mark.parametrize("solver", [
    # Regression: batch detects a blow-up one epoch late (its loss is measured
    # before the step), so recovery must go back two epochs' starts.
    "batch",
    "minibatch",
    "stochastic",
])
def test_on_divergence_recover(solver):
    X, y = reg_data()
    params = dict(optimizer="sgd", eta0=10.0, penalty=None, max_iter=30, tol=None,
                  solver=solver, batch_size=32, random_state=0)
    with pytest.raises(DivergenceError):
        GDRegressor(**params).fit(X, y)
    with pytest.warns(DivergenceWarning, match="learning rate"):
        est = GDRegressor(on_divergence="recover", **params).fit(X, y)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.loss_curve_))
    assert est.n_iter_ == 30 and len(est.loss_curve_) == 30
    # eta0_ is the requested step divided by a power of ten.
    cuts = math.log10(10.0 / est.eta0_)
    assert cuts >= 1 and abs(cuts - round(cuts)) < 1e-9
    # No epoch of the kept run blew up (relative to the all-zero model's loss).
    zero_model_loss = 0.5 * np.mean(y ** 2)
    assert max(est.loss_curve_) < 1e6 * zero_model_loss


def test_on_divergence_recover_gives_up():
    """Hopeless cases still raise, after a bounded number of cuts."""
    X, y = _unscaled_binary()
    est = GDRegressor(optimizer="sgd", eta0=1e6, penalty=None, solver="stochastic",
                      max_iter=5, tol=None, random_state=0, on_divergence="recover")
    with pytest.warns(DivergenceWarning) as record, pytest.raises(DivergenceError):
        est.fit(X, y)
    n_cuts = sum(issubclass(w.category, DivergenceWarning) for w in record)
    assert 1 <= n_cuts <= 10
    assert not hasattr(est, "coef_")


@pytest.mark.parametrize("Est, loss", [(GDRegressor, "squared_error"),
                                       (GDClassifier, "squared_hinge")])
def test_divergence_in_partial_fit_leaves_state_untouched(Est, loss):
    Xs, _, y, _ = scaled_data("breast_cancer")
    # Momentum, so that the optimizer moments are in play too.
    params = dict(loss=loss, optimizer="momentum", momentum=0.5, eta0=0.5, penalty=None,
                  solver="stochastic", random_state=0)
    est = partial_fit_classes(Est(**params), Xs[:200] * 0.01, y[:200])
    twin = partial_fit_classes(Est(**params), Xs[:200] * 0.01, y[:200])
    before = snapshot(est)
    assert np.all(np.isfinite(est.coef_))
    with pytest.raises(DivergenceError, match="learning rate"):
        partial_fit_classes(est, Xs[200:] * 1000.0, y[200:])  # same step, huge features
    assert_same_state(snapshot(est), before)
    partial_fit_classes(est, Xs[200:] * 0.01, y[200:])
    partial_fit_classes(twin, Xs[200:] * 0.01, y[200:])
    assert_same_state(snapshot(est), snapshot(twin))


@pytest.mark.parametrize("Est, loss", [(GDRegressor, "squared_error"),
                                       (GDClassifier, "squared_hinge")])
def test_divergence_in_first_partial_fit_leaves_no_model(Est, loss):
    X, y = _unscaled_binary()
    est = Est(loss=loss, eta0=1e6, penalty=None, solver="stochastic", random_state=0)
    with pytest.raises(DivergenceError):
        partial_fit_classes(est, X, y)
    assert not hasattr(est, "coef_")
    # A retry with a sane step starts from scratch and works.
    est.set_params(eta0="auto")
    partial_fit_classes(est, X, y)
    assert np.all(np.isfinite(est.coef_))
    assert est.n_iter_ == 1


@pytest.mark.parametrize("failure", ["divergence", "undeclared_label"])
def test_predict_after_failed_first_partial_fit_raises_not_fitted(failure):
    if failure == "divergence":
        X, y = _unscaled_binary()
        est = GDRegressor(eta0=1e6, penalty=None, solver="stochastic", random_state=0)
        with pytest.raises(DivergenceError):
            est.partial_fit(X, y)
    else:
        X, _, y, _ = scaled_data("iris")
        est = GDClassifier()
        with pytest.raises(ValueError):
            est.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(NotFittedError):
        est.predict(X)


def _divergence_data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 5))
    return X, X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(100)


@pytest.mark.parametrize("solver", ["stochastic", "minibatch"])
def test_partial_fit_on_a_long_chunk_reports_a_diverging_last_update(solver):
    """partial_fit checks the last update of a chunk on its first 256 rows only
    (sklearn_gd._stream.STREAM_CHECK_ROWS); a blow-up must still be caught on a
    chunk four times as long, with the model left as it was."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((1024, 5))
    y = X @ rng.standard_normal(5)
    est = GDRegressor(solver=solver, optimizer="sgd", eta0=1e-3, penalty=None,
                      batch_size=1024, random_state=0).partial_fit(X, y)
    before = est.coef_.copy()
    est.set_params(eta0=1e6)
    # One mini-batch per chunk: only the check after the last update can see it.
    match = "last update" if solver == "minibatch" else "diverged"
    with pytest.raises(DivergenceError, match=match):
        est.partial_fit(X, y)
    np.testing.assert_array_equal(est.coef_, before)


@pytest.mark.parametrize("solver", SOLVERS)
def test_huge_learning_rate_diverges_in_the_first_epoch(solver):
    """eta0=1e6 blows up in the first epoch's updates; the error names that epoch."""
    X, y = _divergence_data()
    est = GDRegressor(solver=solver, optimizer="sgd", eta0=1e6, max_iter=50,
                      random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow warnings either
        with pytest.raises(DivergenceError, match=r"diverged in epoch 1\b") as info:
            est.fit(X, y)
    message = str(info.value)
    assert "learning rate 1e+06" in message
    assert not hasattr(est, "coef_")  # no half-fitted model left behind


@pytest.mark.parametrize("solver", [
    "minibatch", "stochastic", "batch",
])
def test_huge_learning_rate_without_penalty_names_the_first_epoch(solver):
    X, y = _divergence_data()
    est = GDRegressor(solver=solver, optimizer="sgd", eta0=1e6, penalty=None,
                      max_iter=50, random_state=0)
    with pytest.raises(DivergenceError, match=r"diverged in epoch (\d+)") as info:
        est.fit(X, y)
    assert "diverged in epoch 1:" in str(info.value), str(info.value)


@pytest.mark.parametrize("solver,method,batch_size", [
    # The last update of a run used to go unchecked (found by fuzzing).
    ("batch", "fit", 32),
    ("minibatch", "fit", 100),  # one batch per epoch
    ("batch", "partial_fit", 32),
    ("minibatch", "fit", 32),
    ("stochastic", "fit", 32),
    ("stochastic", "partial_fit", 32),
])
def test_a_diverging_last_epoch_is_reported(solver, method, batch_size):
    """eta0=1e6 and a single epoch: the blow-up must not be returned as a model."""
    X, y = _divergence_data()  # 100 samples
    est = GDRegressor(solver=solver, optimizer="sgd", eta0=1e6, penalty=None, max_iter=1,
                      batch_size=batch_size, random_state=0)
    try:
        getattr(est, method)(X, y)
    except DivergenceError:
        return
    raise AssertionError(f"no DivergenceError; returned a model with R^2 = "
                         f"{est.score(X, y):.3g} and |coef| up to {np.abs(est.coef_).max():.3g}")


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("penalty", ["l2", None])
def test_auto_learning_rate_does_not_diverge_on_the_same_data(solver, penalty):
    X, y = _divergence_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est = GDRegressor(solver=solver, optimizer="sgd", eta0="auto", penalty=penalty,
                          max_iter=50, random_state=0).fit(X, y)
    assert 0 < est.eta0_ < 1e6
    assert np.all(np.isfinite(est.coef_))
    assert est.score(X, y) > 0.95


@pytest.mark.parametrize("solver", SOLVERS)
def test_recover_instead_of_raise_on_the_same_data(solver):
    X, y = _divergence_data()
    est = GDRegressor(solver=solver, optimizer="sgd", eta0=1e6, on_divergence="recover",
                      max_iter=50, random_state=0)
    with pytest.warns(sklearn_gd.DivergenceWarning, match=r"diverged in epoch \d+"):
        est.fit(X, y)
    assert np.all(np.isfinite(est.coef_))
    assert est.eta0_ < 1e6
