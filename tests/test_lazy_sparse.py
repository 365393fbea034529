"""Lazy steps of the adaptive optimizers on CSR rows (``loops.lazy_minibatch_epoch``).

The dense loops are the reference: on the same rows as a dense array they make
every coordinate's step, so the lazy loop must give their model exactly where
its catch-up is exact and closely where it is an approximation.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._kernels import loops as K

ADAPTIVE = ("adagrad", "rmsprop", "adam", "adamw", "normalized")
LAZY = ("sgd", "momentum", "nesterov", *ADAPTIVE)


def _sparse_problem(seed=0, n=300, n_features=40, density=0.2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    X[rng.uniform(size=X.shape) > density] = 0.0
    y = (X @ rng.standard_normal(n_features) + 0.3 * rng.standard_normal(n) > 0).astype(int)
    return X, sp.csr_matrix(X), y


def _pair(params, X, Xs, y, Est=GDClassifier):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Est(**params).fit(X, y), Est(**params).fit(Xs, y)


@pytest.mark.parametrize("solver", ["stochastic", "minibatch"])
@pytest.mark.parametrize("optimizer, rtol", [("adagrad", 1e-12), ("normalized", 1e-12),
                                             ("rmsprop", 1e-10)])
def test_without_a_penalty_the_lazy_steps_are_the_dense_steps(solver, optimizer, rtol):
    # A zero gradient leaves these optimizers' weights where they are and
    # decays RMSprop's moment geometrically: the catch-up is exact.
    X, Xs, y = _sparse_problem()
    params = dict(solver=solver, optimizer=optimizer, penalty=None, batch_size=16,
                  max_iter=20, tol=None, random_state=0)
    dense, lazy = _pair(params, X, Xs, y)
    assert_allclose(lazy.coef_, dense.coef_, rtol=rtol, atol=1e-14)
    assert_allclose(lazy.intercept_, dense.intercept_, rtol=rtol, atol=1e-14)


@pytest.mark.parametrize("optimizer, penalty, rtol", [
    ("sgd", "l2", 1e-10), ("sgd", None, 1e-12), ("momentum", None, 1e-10),
    ("nesterov", None, 1e-10)])
def test_plain_and_momentum_minibatch_steps_are_the_dense_steps(optimizer, penalty, rtol):
    # Zero-gradient steps in closed form: the L2 shrink (1 - lr_j l2)**k at the
    # epoch's rate, the velocity's geometric decay and the moves it makes; the
    # preconditioner's per-column rates ("auto") included.
    X, Xs, y = _sparse_problem(seed=3)
    params = dict(solver="minibatch", optimizer=optimizer, penalty=penalty, alpha=1e-2,
                  batch_size=16, max_iter=20, tol=None, random_state=0)
    dense, lazy = _pair(params, X, Xs, y)
    assert lazy.preconditioner_ is not None
    assert_allclose(lazy.coef_, dense.coef_, rtol=rtol, atol=1e-13)
    assert_allclose(lazy.intercept_, dense.intercept_, rtol=rtol, atol=1e-13)


@pytest.mark.parametrize("solver", ["stochastic", "minibatch"])
@pytest.mark.parametrize("optimizer", LAZY)
@pytest.mark.parametrize("penalty", [None, "l2", "l1"])
def test_the_lazy_steps_stay_close_to_the_dense_steps(solver, optimizer, penalty):
    # Approximations (Adam's momentum between touches, the L2 shrink and the L1
    # threshold at the current rate): the model and its objective stay close.
    X, Xs, y = _sparse_problem(seed=1)
    params = dict(solver=solver, optimizer=optimizer, penalty=penalty, alpha=1e-3,
                  batch_size=16, max_iter=20, tol=None, random_state=0)
    dense, lazy = _pair(params, X, Xs, y)
    scale = np.abs(dense.coef_).max()
    assert np.abs(lazy.coef_ - dense.coef_).max() <= 5e-3 * scale
    assert lazy.loss_curve_[-1] == pytest.approx(dense.loss_curve_[-1], rel=1e-3)


def test_multi_output_partial_fit_and_regression_take_the_lazy_loop(monkeypatch):
    calls = []
    lazy = K.lazy_minibatch_epoch

    def counting(*args):
        calls.append(args[4])  # batch_size
        return lazy(*args)

    monkeypatch.setattr(K, "lazy_minibatch_epoch", counting)
    X, Xs, y = _sparse_problem(seed=2)
    labels = np.digitize(X[:, 0] + X[:, 1], [-0.3, 0.3])  # three classes
    params = dict(optimizer="adam", solver="stochastic", max_iter=5, tol=None,
                  random_state=0)
    dense, lazy_fit = _pair(params, X, Xs, labels)
    assert calls and set(calls) == {1}
    assert np.abs(lazy_fit.coef_ - dense.coef_).max() <= 5e-3 * np.abs(dense.coef_).max()
    calls.clear()
    est = GDRegressor(optimizer="rmsprop", solver="minibatch", batch_size=8)
    for chunk in np.array_split(np.arange(Xs.shape[0]), 3):
        est.partial_fit(Xs[chunk], X[chunk, 0])
    assert calls == [8, 8, 8]
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GDClassifier(solver="minibatch", batch_size=8, max_iter=1).fit(Xs, y)
        GDClassifier(solver="minibatch", optimizer="nesterov", batch_size=4,
                     max_iter=1).fit(Xs, y)
    assert calls == [8, 4]
    # Dense rows, averaging and plain stochastic SGD keep their loops.
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GDClassifier(optimizer="adam", solver="stochastic", max_iter=2).fit(X, y)
        GDClassifier(optimizer="adam", solver="stochastic", average=True,
                     max_iter=2).fit(Xs, y)
        GDClassifier(solver="stochastic", max_iter=2).fit(Xs, y)  # scaled_sgd_epoch
    assert calls == []


def test_adams_catch_up_sums_the_moves_of_its_decaying_momentum():
    # The closed form of k steps with a zero gradient against k explicit
    # steps of the update rule (late in a run: the bias corrections are 1).
    codes = np.zeros(K.N_CODES, dtype=np.int64)
    codes[K.C_OPTIMIZER] = K.OPT_ADAM
    hyper = np.zeros(K.N_HYPER)
    hyper[K.H_BETA_1], hyper[K.H_BETA_2], hyper[K.H_OPT_EPSILON] = 0.9, 0.999, 1e-12
    lr, skipped = 0.01, 25
    params, m1, m2 = np.array([[0.5, 0.0]]), np.array([[0.3, 0.0]]), np.array([[0.04, 0.0]])
    w, m, s = 0.5, 0.3, 0.04
    for _ in range(skipped):
        m, s = 0.9 * m, 0.999 * s
        w -= lr * m / (np.sqrt(s) + 1e-12)
    powers = K.lazy_powers(skipped, codes, hyper)
    K.lazy_catch_up(params, m1, m2, 0, skipped, lr, 1.0, 1.0, powers, codes, hyper)
    assert m1[0, 0] == pytest.approx(m, rel=1e-12)
    assert m2[0, 0] == pytest.approx(s, rel=1e-12)
    assert params[0, 0] == pytest.approx(w, rel=1e-9)
