"""The diagonal preconditioner of the plain steps (``precondition``).

The optima come from ``optima.py`` (SciPy on a NumPy objective), never from
the package; the preconditioner itself is recomputed here in NumPy.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from optima import objective, one_hot_blocks, optimum, problem, relative_gap
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd import GDClassifier, GDRegressor

ALPHA = 1e-3


def _gap(est, X, y, loss="squared_error"):
    best = optimum(loss, X, y, alpha=ALPHA)[2]
    value = objective(loss, X, y, est.coef_.ravel(), float(np.ravel(est.intercept_)[0]),
                      alpha=ALPHA)
    return relative_gap(value, best)


@pytest.mark.parametrize("solver", ["batch", "minibatch"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
def test_ill_conditioned_columns_no_longer_stall(solver, optimizer):
    """Correlated columns with scales from 0.3 to 10 (condition number ~2,000).

    Without the preconditioner these fits ran all 1,000 epochs and ended
    4e-3 to 6e-3 above the optimum (warned); with it they are certified
    within 1e-3 well before.
    """
    X, y = problem("ill", "regression", n_samples=400, n_features=8)
    kwargs = dict(alpha=ALPHA, solver=solver, optimizer=optimizer, random_state=0)
    est = GDRegressor(**kwargs).fit(X, y)
    assert est.preconditioner_ is not None
    assert est.convergence_.converged
    assert _gap(est, X, y) <= 1e-3
    assert est.n_iter_ <= 700
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = GDRegressor(precondition=None, **kwargs).fit(X, y)
    assert plain.preconditioner_ is None
    assert est.n_iter_ < plain.n_iter_


def test_batch_epochs_depend_on_correlation_not_units():
    """Scaling the columns leaves the preconditioned batch fit's epochs nearly unchanged."""
    X, y = problem("well", "classification", n_samples=400, n_features=8)
    scaled = X * np.geomspace(1e-2, 1e2, X.shape[1])
    a = GDClassifier(alpha=ALPHA, penalty=None).fit(X, y)
    b = GDClassifier(alpha=ALPHA, penalty=None).fit(scaled, y)
    assert a.convergence_.converged and b.convergence_.converged
    assert b.n_iter_ <= 2 * a.n_iter_ + 5
    # The same model, in the units of each X.
    np.testing.assert_allclose(b.coef_ * np.geomspace(1e-2, 1e2, X.shape[1]), a.coef_,
                               rtol=1e-2, atol=1e-3)


def test_preconditioner_is_the_inverse_curvature_diagonal():
    X, y = problem("ill", "classification", n_samples=300, n_features=5)
    w = np.random.RandomState(1).uniform(0.5, 2.0, X.shape[0])
    X[:, 2] = 0.0  # a zero column takes a unit scale, not 1 / l2
    est = GDClassifier(loss="log_loss", alpha=ALPHA, max_iter=3, tol=None).fit(
        X, y, sample_weight=w)
    w = w / w.mean()
    squares = (w[:, None] * X**2).mean(axis=0)
    squares[2] = 1.0
    expected = np.append(1.0 / (0.25 * squares + ALPHA), 1.0 / 0.25)
    np.testing.assert_allclose(est.preconditioner_, expected, rtol=1e-12)


def test_preconditioned_step_is_stable_and_not_too_short():
    """eta0_ is 1 / (top eigenvalue of the preconditioned curvature), computed here by
    NumPy's eigensolver: within the stable range 2 / L, and not far below 1 / L."""
    X, y = problem("ill", "regression", n_samples=400, n_features=8)
    est = GDRegressor(optimizer="sgd", alpha=ALPHA, max_iter=2, tol=None).fit(X, y)
    Z = np.hstack([X, np.ones((X.shape[0], 1))])
    H = Z.T @ Z / X.shape[0] + np.diag(np.append(np.full(X.shape[1], ALPHA), 0.0))
    s = np.sqrt(est.preconditioner_)
    top = np.linalg.eigvalsh(s[:, None] * H * s[None, :]).max()
    assert 0.9 / top <= est.eta0_ <= 1.0 / (0.9 * top) * 1.2


def test_numeric_eta0_keeps_its_meaning_unless_asked():
    X, y = problem("ill", "regression", n_samples=200, n_features=4)
    est = GDRegressor(eta0=1e-3, max_iter=2, tol=None).fit(X, y)
    assert est.preconditioner_ is None
    est = GDRegressor(eta0=0.5, precondition="diagonal", max_iter=2000).fit(X, y)
    assert est.preconditioner_ is not None and est.convergence_.converged


@pytest.mark.parametrize("params", [dict(solver="stochastic"), dict(optimizer="adam")])
def test_diagonal_refuses_what_it_does_not_support(params):
    X, y = problem("well", "regression", n_samples=50, n_features=3)
    with pytest.raises(ValueError, match="precondition='diagonal' is supported by"):
        GDRegressor(precondition="diagonal", **params).fit(X, y)


@pytest.mark.parametrize("params", [dict(solver="stochastic"), dict(optimizer="adam"),
                                    dict(optimizer="normalized")])
def test_auto_leaves_the_other_steps_alone(params):
    X, y = problem("well", "regression", n_samples=50, n_features=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = GDRegressor(max_iter=3, **params).fit(X, y)
    assert est.preconditioner_ is None


def test_partial_fit_keeps_the_first_chunks_preconditioner():
    X, y = problem("ill", "regression", n_samples=400, n_features=6)
    est = GDRegressor(solver="minibatch", random_state=0)
    est.partial_fit(X[:200], y[:200])
    first = est.preconditioner_.copy()
    est.partial_fit(X[200:], y[200:])
    np.testing.assert_array_equal(est.preconditioner_, first)


def test_normalized_batch_rate_comes_from_the_data():
    """VW's 0.5 per update left batch "normalized" 94x above the optimum of least
    squares after 1,000 epochs (an intercept of 50 out of reach)."""
    X, y = problem("well", "regression", n_samples=400, n_features=8)
    for solver in ("batch", "minibatch"):
        est = GDRegressor(optimizer="normalized", solver=solver, alpha=ALPHA,
                          random_state=0).fit(X, y)
        assert _gap(est, X, y) <= 1e-3, solver
        assert est.eta0_ > 0.5
    est = GDRegressor(optimizer="normalized", solver="stochastic", max_iter=2, tol=None,
                      random_state=0).fit(X, y)
    assert est.eta0_ == 0.5  # one sample per step: Vowpal Wabbit's default


def _uneven_one_hot(n_samples=3000, seed=0):
    """One-hot rows of three categoricals whose levels have frequencies from 50 % to 0.1 %,
    plus one numeric column of scale 30: the shape of real tabular data."""
    import scipy.sparse as sp

    rng = np.random.RandomState(seed)
    blocks = one_hot_blocks(rng, n_samples)
    numeric = sp.csr_matrix(30.0 * rng.standard_normal((n_samples, 1)))
    X = sp.hstack(blocks + [numeric]).tocsr()
    w = rng.standard_normal(X.shape[1])
    score = X @ w / np.std(X @ w)
    y = np.where(score + 0.5 * rng.standard_normal(n_samples) > 0.3, 1.0, -1.0)
    return X, y


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_lbfgs_in_the_preconditioned_variables_reaches_the_same_optimum_sooner(Est):
    """The change of variables leaves the objective alone (SciPy's optimum, to the tolerance),
    and L-BFGS needs fewer iterations on columns of uneven frequency and scale."""
    X, y = _uneven_one_hot()
    loss = "log_loss" if Est is GDClassifier else "squared_error"
    kwargs = dict(optimizer="lbfgs", alpha=ALPHA, tol=1e-6, max_iter=2000)
    est = Est(**kwargs).fit(X, y)
    assert est.preconditioner_ is not None and est.convergence_.converged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = Est(precondition=None, **kwargs).fit(X, y)
    assert plain.preconditioner_ is None
    dense = X.toarray()
    best = optimum(loss, dense, y, alpha=ALPHA)[2]
    for fit in (est, plain):
        value = objective(loss, dense, y, fit.coef_.ravel(),
                          float(np.ravel(fit.intercept_)[0]), alpha=ALPHA)
        assert relative_gap(value, best) <= 1e-6
    assert 2 * est.n_iter_ <= plain.n_iter_


def test_lbfgs_preconditioner_is_the_plain_steps_diagonal():
    """The same ``p_j = 1 / (c mean(x_j^2) + l2)`` as the plain steps', recomputed in NumPy."""
    X, y = _uneven_one_hot(n_samples=500)
    est = GDClassifier(optimizer="lbfgs", alpha=ALPHA).fit(X, y)
    squares = np.asarray(X.multiply(X).mean(axis=0)).ravel()
    expected = np.append(1.0 / (0.25 * np.where(squares > 0, squares, 1.0) + ALPHA), 4.0)
    np.testing.assert_allclose(est.preconditioner_, expected, rtol=1e-12)
    none = GDClassifier(optimizer="lbfgs", alpha=ALPHA, precondition=None).fit(X, y)
    assert none.preconditioner_ is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_mean_squares_of_csr_rows_are_scipys_bit_for_bit(dtype):
    # On canonical CSR rows a kernel sums w_i x_ij^2 without building the
    # matrix of squares; it must give what X.multiply(X).T @ w gives. Rows
    # with duplicate entries (summed before squaring) keep SciPy's path.
    import scipy.sparse as sp

    from sklearn_gd._base import _Rows
    from sklearn_gd._step_size import column_mean_squares

    rng = np.random.RandomState(0)
    X = sp.random(500, 40, density=0.1, format="csr", random_state=1, dtype=dtype)
    X.data = (10 * rng.randn(X.nnz)).astype(dtype)
    w = rng.uniform(0.0, 3.0, 500)
    expected = np.asarray(X.multiply(X).T @ w).ravel() / 500
    assert_array_equal(column_mean_squares(_Rows(X), w), expected)

    duplicated = sp.csr_matrix((np.array([1.0, 2.0, 3.0], dtype=dtype), [0, 0, 1], [0, 2, 3]),
                               shape=(2, 3))
    assert not duplicated.has_canonical_format
    assert_array_equal(column_mean_squares(_Rows(duplicated), np.ones(2)), [4.5, 4.5, 0.0])
