"""optimizer="svrg": one-sample and mini-batch steps that reach the certified optimum.

References are independent of the package: SciPy's L-BFGS-B on the NumPy
objective (``tests/optima.py``) and scikit-learn's LogisticRegression.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from optima import objective, one_hot_blocks, optimum, problem, relative_gap
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd.dask import fit_dask

SVRG = dict(solver="stochastic", optimizer="svrg", random_state=0)


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


def _reference_epochs(X, y, sw, alpha, eta, n_epochs, batch_size=1):
    """SVRG on least squares in NumPy, rows in storage order: snapshot, then the steps,
    each the mean correction of ``batch_size`` consecutive rows (the last one the rest)."""
    sw = sw / sw.mean()
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(n_epochs):
        d_snap = X @ w + b - y
        mu, mu_b = (sw * d_snap) @ X / len(y), np.mean(sw * d_snap)
        for start in range(0, len(y), batch_size):
            rows = slice(start, start + batch_size)
            c = sw[rows] * (X[rows] @ w + b - y[rows] - d_snap[rows])
            w = (1.0 - eta * alpha) * w - eta * (c @ X[rows] / len(c) + mu)
            b -= eta * (c.mean() + mu_b)
    return w, b


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_epochs", [1, 2, 7])
def test_epochs_match_a_numpy_reference(n_epochs, sparse):
    rng = np.random.RandomState(7)
    X = rng.standard_normal((25, 3)) * (rng.uniform(size=(25, 3)) < 0.7)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(25)
    sw = rng.uniform(0.5, 2.0, 25)
    reg = GDRegressor(alpha=0.3, eta0=0.05, max_iter=n_epochs, tol=None, shuffle=False,
                      **SVRG).fit(sp.csr_matrix(X) if sparse else X, y, sample_weight=sw)
    w, b = _reference_epochs(X, y, sw, 0.3, 0.05, n_epochs)
    np.testing.assert_allclose(reg.coef_, w, rtol=1e-10, atol=1e-12)
    assert reg.intercept_[0] == pytest.approx(b, rel=1e-10, abs=1e-12)
    assert reg.t_ == 25 * n_epochs


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("batch_size", [4, 7, 25, 40])
def test_minibatch_epochs_match_a_numpy_reference(batch_size, sparse):
    """Mini-batch steps: the batch's mean correction, all its rows measured at the weights
    before the step; 25 rows in batches of 4 and 7 leave a short last batch."""
    rng = np.random.RandomState(7)
    X = rng.standard_normal((25, 3)) * (rng.uniform(size=(25, 3)) < 0.7)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(25)
    sw = rng.uniform(0.5, 2.0, 25)
    reg = GDRegressor(alpha=0.3, eta0=0.2, max_iter=3, tol=None, shuffle=False,
                      **{**SVRG, "solver": "minibatch"}, batch_size=batch_size)
    reg.fit(sp.csr_matrix(X) if sparse else X, y, sample_weight=sw)
    w, b = _reference_epochs(X, y, sw, 0.3, 0.2, 3, batch_size)
    np.testing.assert_allclose(reg.coef_, w, rtol=1e-10, atol=1e-12)
    assert reg.intercept_[0] == pytest.approx(b, rel=1e-10, abs=1e-12)
    assert reg.t_ == 3 * -(-25 // batch_size)  # t counts updates


@pytest.mark.parametrize("Est, task, loss", [(GDClassifier, "classification", "log_loss"),
                                             (GDRegressor, "regression", "squared_error")])
def test_minibatch_svrg_is_certified_where_the_plain_step_is_not(Est, task, loss):
    """solver="minibatch": certified at SciPy's optimum in a few epochs, at its automatic
    rate (the mini-batch blend of the largest row and the data's top eigenvalue, a third
    of the plain step's); the plain step (what "auto" is there) ran out of epochs."""
    X, y = problem("well", task, n_samples=2000, n_features=20)
    target = y if task == "regression" else np.where(y == y.max(), 1.0, -1.0)
    svrg = _fit(Est(**{**SVRG, "solver": "minibatch"}, alpha=1e-4), X, y)
    plain = Est(solver="minibatch", alpha=1e-4, random_state=0, max_iter=svrg.n_iter_)
    with pytest.warns(ConvergenceWarning):
        plain.fit(X, y)
    assert plain.optimizer_ == "sgd" and svrg.n_iter_ <= 40
    # The plain step's rate without its Jacobi preconditioner, which SVRG does not take.
    unpreconditioned = plain.set_params(precondition=None, max_iter=1, tol=None).fit(X, y)
    assert svrg.eta0_ == pytest.approx(unpreconditioned.eta0_ / 3, rel=1e-12)
    best = optimum(loss, X, target, alpha=1e-4)[2]
    value = objective(loss, X, target, np.ravel(svrg.coef_),
                      float(np.ravel(svrg.intercept_)[0]), alpha=1e-4)
    assert relative_gap(value, best) < 1e-6
    assert svrg.preconditioner_ is None  # its sparse steps shrink all weights alike


@pytest.mark.parametrize("kind", ["well", "ill"])
@pytest.mark.parametrize("task,loss", [("classification", "log_loss"),
                                       ("classification", "squared_hinge"),
                                       ("classification", "modified_huber"),
                                       ("regression", "squared_error"),
                                       ("regression", "huber"),
                                       ("regression", "squared_epsilon_insensitive")])
def test_reaches_the_independent_optimum_with_a_certificate(kind, task, loss):
    X, y = problem(kind, task, n_samples=400, n_features=8)
    if task == "regression":
        y = (y - y.mean()) / y.std()  # huber's epsilon is in the target's units
    alpha = 1e-2 if kind == "ill" else 1e-3
    Est = GDRegressor if task == "regression" else GDClassifier
    est = _fit(Est(loss=loss, alpha=alpha, max_iter=3000, **SVRG), X, y)
    assert est.convergence_.converged and est.convergence_.criterion == "gradient"
    assert est.convergence_.residual <= est.tol
    best = optimum(loss, X, y, alpha=alpha)[2]
    value = objective(loss, X, y, est.coef_.ravel(), float(np.ravel(est.intercept_)[0]),
                      alpha=alpha)
    assert 0.0 <= relative_gap(value, best) + 1e-12 and relative_gap(value, best) < 1e-5


def test_plain_sgd_hovers_where_svrg_converges():
    """The motivation: at the same number of epochs plain one-sample steps stay above
    the optimum and warn; SVRG is certified and (much) nearer."""
    X, y = problem("well", "classification", n_samples=2000, n_features=20)
    best = optimum("log_loss", X, y, alpha=1e-4)[2]
    svrg = _fit(GDClassifier(alpha=1e-4, max_iter=100, **SVRG), X, y)
    with pytest.warns(ConvergenceWarning, match="optimizer='svrg'"):
        plain = GDClassifier(solver="stochastic", optimizer="sgd", alpha=1e-4,
                             max_iter=svrg.n_iter_, random_state=0).fit(X, y)

    def gap(est):
        return relative_gap(objective("log_loss", X, y, est.coef_.ravel(),
                                      float(est.intercept_[0]), alpha=1e-4), best)

    assert svrg.n_iter_ < 40
    assert gap(svrg) < 1e-6 < gap(plain)


def test_sparse_one_hot_rows_match_logistic_regression():
    """CSR rows take O(non-zeros) steps (the lazy snapshot gradient); same optimum as
    scikit-learn's LogisticRegression with C = 1 / (alpha n), and as the dense rows."""
    rng = np.random.RandomState(0)
    X = sp.hstack(one_hot_blocks(rng, 3000)).tocsr()
    w = rng.standard_normal(X.shape[1])
    y = (X @ w + 0.5 * rng.standard_normal(3000) > 0).astype(int)
    alpha = 1e-3
    est = _fit(GDClassifier(alpha=alpha, tol=1e-6, max_iter=500, **SVRG), X, y)
    dense = _fit(GDClassifier(alpha=alpha, tol=1e-6, max_iter=500, **SVRG), X.toarray(), y)
    ref = LogisticRegression(C=1.0 / (alpha * X.shape[0]), tol=1e-10, max_iter=10000) \
        .fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-4)
    np.testing.assert_allclose(est.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    assert est.n_iter_ == dense.n_iter_


@pytest.mark.parametrize("loss", ["log_loss", "squared_hinge"])
def test_multiclass_softmax_and_one_vs_rest(loss):
    X, y = problem("well", "classification", n_samples=600, n_features=6)
    y = np.digitize(X[:, 0] + 0.3 * X[:, 1], [-0.5, 0.5])  # three classes
    est = _fit(GDClassifier(loss=loss, alpha=1e-3, tol=1e-6, max_iter=1000, **SVRG), X, y)
    assert est.coef_.shape == (3, 6) and est.convergence_.converged
    if loss == "log_loss":  # softmax: all columns in one objective
        ref = GDClassifier(loss=loss, alpha=1e-3, optimizer="lbfgs", tol=1e-9, max_iter=5000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # at the float64 floor
            ref.fit(X, y)
        np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-4 * np.abs(ref.coef_).max())
        return
    for k in range(3):  # one-vs-rest: each column its own binary objective
        target = np.where(y == k, 1.0, -1.0)
        best = optimum(loss, X, target, alpha=1e-3)[2]
        value = objective(loss, X, target, est.coef_[k], est.intercept_[k], alpha=1e-3)
        assert relative_gap(value, best) < 1e-6


def test_sample_weights_are_repeated_rows():
    X, y = problem("well", "regression", n_samples=300, n_features=5)
    counts = np.random.RandomState(1).randint(0, 4, 300)
    weighted = _fit(GDRegressor(tol=1e-7, max_iter=2000, **SVRG), X, y,
                    sample_weight=counts)
    repeated = _fit(GDRegressor(tol=1e-7, max_iter=2000, **SVRG),
                    np.repeat(X, counts, axis=0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-5)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-5)


def test_float32_and_threads_and_repeats():
    X, y = problem("well", "classification", n_samples=3000, n_features=40)
    a = _fit(GDClassifier(n_jobs=1, **SVRG), X, y)
    b = _fit(GDClassifier(n_jobs=2, **SVRG), X, y)
    c = _fit(GDClassifier(n_jobs=2, **SVRG), X, y)
    # The snapshot pass sums fixed row blocks in order: no dependence on threads.
    assert a.coef_.tobytes() == b.coef_.tobytes() == c.coef_.tobytes()
    f32 = _fit(GDClassifier(**SVRG), X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32 and f32.convergence_.converged
    np.testing.assert_allclose(f32.coef_, a.coef_, atol=2e-3 * np.abs(a.coef_).max())


def test_warm_start_from_the_optimum_stops_at_once():
    X, y = problem("well", "classification", n_samples=500, n_features=5)
    est = _fit(GDClassifier(warm_start=True, **SVRG), X, y)
    first = est.n_iter_
    _fit(est, X, y)
    assert first > 1 and est.n_iter_ == 1 and est.convergence_.converged


def test_a_step_too_long_is_a_divergence_error():
    X, y = problem("well", "regression", n_samples=200, n_features=4)
    with pytest.raises(ValueError, match="diverged in epoch"):
        GDRegressor(eta0=10.0, **SVRG).fit(X, y)
    recovered = GDRegressor(eta0=10.0, on_divergence="recover", max_iter=2000, **SVRG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recovered.fit(X, y)
    assert np.all(np.isfinite(recovered.coef_)) and recovered.eta0_ < 10.0


@pytest.mark.parametrize("params,match", [
    (dict(solver="batch"), "solver='batch'"),
    (dict(solver="minibatch", precondition="diagonal"), "precondition='diagonal'"),
    (dict(loss="hinge"), "loss='hinge'"),
    (dict(penalty="l1"), "L1 part"),
    (dict(penalty="elasticnet", l1_ratio=0.5), "L1 part"),
    (dict(average=True), "average"),
    (dict(learning_rate="optimal"), "learning_rate='optimal'"),
    (dict(learning_rate="invscaling"), "learning_rate='invscaling'"),
    (dict(clip_norm=1.0), "clip_value or clip_norm"),
])
def test_unsupported_settings_are_named(params, match):
    X, y = problem("well", "classification", n_samples=50, n_features=3)
    est = GDClassifier(**{**SVRG, **params})
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert not hasattr(est, "coef_")


def test_no_partial_fit_and_no_dask_mixing():
    est = GDClassifier(**SVRG)
    assert not hasattr(est, "partial_fit")
    da = pytest.importorskip("dask.array")
    X, y = problem("well", "classification", n_samples=40, n_features=3)
    with pytest.raises(ValueError, match="optimizer='svrg'"):
        fit_dask(GDClassifier(**SVRG), da.from_array(X, chunks=20),
                 da.from_array(y, chunks=20))


def test_per_epoch_schedules_and_early_stopping_work():
    X, y = problem("well", "classification", n_samples=400, n_features=5)
    est = _fit(GDClassifier(learning_rate="adaptive", **SVRG), X, y)
    assert est.convergence_.converged
    early = GDClassifier(early_stopping=True, max_iter=200, **SVRG).fit(X, y)
    assert early.convergence_.criterion == "validation" and early.n_iter_ < 200


def test_the_input_is_not_modified():
    X, y = problem("well", "classification", n_samples=100, n_features=4)
    Xs = sp.csr_matrix(X)
    before = (X.copy(), Xs.data.copy(), y.copy())
    _fit(GDClassifier(**SVRG), X, y)
    _fit(GDClassifier(**SVRG), Xs, y)
    np.testing.assert_array_equal(X, before[0])
    np.testing.assert_array_equal(Xs.data, before[1])
    np.testing.assert_array_equal(y, before[2])


def test_the_precompile_command_prepares_its_kernels():
    from sklearn_gd import precompile
    from sklearn_gd._kernels import variance_reduced

    # It raised AttributeError before (no partial_fit). The counts are not
    # asserted: kernels another test already dispatched in this process are
    # neither compiled nor loaded again.
    report = precompile.precompile(["float64"], ["dense"], ["stochastic"])
    assert report["cache_dirs"]
    assert variance_reduced.svrg_epoch.signatures
    assert variance_reduced.snapshot_gradient.signatures
    assert variance_reduced.log_loss_snapshot_gradient.signatures


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_the_log_loss_snapshot_pass_matches_the_general_one(sparse, dtype):
    # The binary log loss has a vectorised snapshot pass; the derivatives it
    # keeps and the sums it returns are the general pass's (rows 5 to 600
    # span three of its blocks).
    from sklearn_gd._base import _Rows
    from sklearn_gd._kernels import variance_reduced as V

    rng = np.random.RandomState(3)
    X = rng.randn(620, 9).astype(dtype)
    X[X < 0.3] = 0.0
    targets = np.sign(rng.randn(620, 1)).astype(dtype)
    sample_weight = rng.uniform(0.0, 2.0, 620).astype(dtype)
    params = (0.7 * rng.randn(1, 10)).astype(dtype)
    est = GDClassifier(**SVRG)
    est._check_param_combinations()
    codes, hyper = est._kernel_config(1, 0.1)
    assert V.snapshot_kernel(codes, 1) is V.log_loss_snapshot_gradient
    assert V.snapshot_kernel(codes, 2) is V.snapshot_gradient
    rows = _Rows(sp.csr_matrix(X) if sparse else X).data
    results = []
    for kernel in (V.log_loss_snapshot_gradient, V.snapshot_gradient):
        grad, snapshot = np.empty_like(params), np.full((620, 1), -7.0)
        loss = kernel(rows, targets, sample_weight, 5, 600, params, grad, np.empty(1),
                      np.empty(1), codes, hyper, snapshot)
        results.append((loss, grad, snapshot))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=rtol)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=rtol, atol=1e-6 * rtol)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-12, atol=1e-15)
    assert np.all(results[0][2][:5] == -7.0) and np.all(results[0][2][600:] == -7.0)
