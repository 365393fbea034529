"""Reliability: inputs left untouched, thread safety and numerical robustness.

Determinism, persistence, the kernel cache and divergence have files of their
own (test_determinism, test_persistence, test_kernel_cache, test_divergence).
"""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import (
    SOLVERS,
    classification_data,
    data_for,
    digest,
    frozen,
    large_regression_data,
    partial_fit_classes,
    regression_data,
    state,
)
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._kernels import losses as L

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]



# --------------------------------------------------------------------- helpers


# ====================================================== a. untouched inputs
def _inputs(kind, layout, dtype):
    X, y = regression_data(n=120, d=5, dtype=dtype) if kind == "reg" else \
        classification_data(n=120, d=5, dtype=dtype)
    X = X.copy()
    sw = np.linspace(0.2, 3.0, X.shape[0])
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout.startswith("csr"):
        X[np.abs(X) < 0.6] = 0.0
        X = sp.csr_matrix(X)
        if layout == "csr64":
            X.indices = X.indices.astype(np.int64)
            X.indptr = X.indptr.astype(np.int64)
        else:
            X.indices = X.indices.astype(np.int32)
            X.indptr = X.indptr.astype(np.int32)
    return X, y, sw


_UNTOUCHED_PARAMS = [
    dict(solver="batch"),
    dict(solver="batch", optimizer="lbfgs"),
    dict(solver="minibatch", optimizer="adam", penalty="l1", batch_size=16),
    dict(solver="stochastic"),  # plain SGD, the scaled-weights loop
    dict(solver="stochastic", optimizer="momentum", clip_norm=1.0),
    dict(solver="stochastic", early_stopping=True, penalty="elasticnet"),
]


@pytest.mark.parametrize("params", _UNTOUCHED_PARAMS,
                         ids=lambda p: "-".join(f"{v}" for v in p.values()))
@pytest.mark.parametrize("layout,dtype", [("C", np.float64), ("F", np.float32),
                                          ("csr32", np.float64), ("csr64", np.float32)])
@pytest.mark.parametrize("kind", ["reg", "clf"])
def test_read_only_inputs_are_accepted_and_never_modified(kind, layout, dtype, params):
    X, y, sw = frozen(*_inputs(kind, layout, dtype))
    Est = GDRegressor if kind == "reg" else GDClassifier
    n_out = 1 if kind == "reg" else len(np.unique(y))
    coef_init, intercept_init = frozen(np.full((n_out, X.shape[1]), 0.01).squeeze(
        axis=0 if kind == "reg" else None), np.full(n_out, 0.1))
    before = digest(X, y, sw, coef_init, intercept_init)

    est = Est(max_iter=4, random_state=0, **params)
    est.fit(X, y, coef_init=coef_init, intercept_init=intercept_init, sample_weight=sw)
    est.set_params(warm_start=True).fit(X, y, sample_weight=sw)
    outputs = [est.predict(X), est.score(X, y, sample_weight=sw)]
    if kind == "clf":
        outputs += [est.decision_function(X), est.predict_proba(X),
                    est.predict_log_proba(X)]
    if params.get("optimizer") != "lbfgs":
        # partial_fit refuses early_stopping=True (as scikit-learn's SGD does).
        pf = Est(random_state=0, **{**params, "early_stopping": False})
        extra = {"classes": np.unique(y)} if kind == "clf" else {}
        for _ in range(2):
            pf.partial_fit(X, y, sample_weight=sw, **extra)
        outputs.append(pf.predict(X))
    log_proba = outputs.pop(4) if kind == "clf" else None
    assert all(np.all(np.isfinite(np.asarray(o, dtype=float))) for o in outputs)
    assert log_proba is None or not np.any(np.isnan(log_proba))
    assert np.all(np.isfinite(est.coef_))
    assert digest(X, y, sw, coef_init, intercept_init) == before
    parts = [X.data, X.indices, X.indptr] if sp.issparse(X) else [X]
    assert not any(p.flags.writeable for p in parts + [y, sw])


@pytest.mark.parametrize("layout", ["C", "csr32"])
def test_writeable_inputs_are_not_modified_either(layout):
    """Writeable user arrays are not modified either: only the kernels see read-only
    views; the Python-side preprocessing (sample-weight scaling, class weights,
    early-stopping split) could still write into the caller's arrays."""
    X, y, sw = _inputs("clf", layout, np.float64)
    before = digest(X, y, sw)
    for solver in SOLVERS:
        est = GDClassifier(solver=solver, optimizer="adamw", max_iter=3, random_state=0,
                           class_weight="balanced", early_stopping=solver == "minibatch")
        est.fit(X, y, sample_weight=sw)
        est.predict_proba(X)
    assert digest(X, y, sw) == before


@pytest.mark.parametrize("writeable", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_user_inputs_never_modified(Est, method, sparse, writeable):
    X, y = data_for(Est)
    X = np.array(X[:150])
    y = np.array(y[:150])
    sw = np.linspace(0.5, 2.0, len(y))
    if sparse:
        X[np.abs(X) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    arrays = [X.data, X.indices, X.indptr] if sparse else [X]
    arrays += [y, sw]
    for a in arrays:
        a.flags.writeable = writeable
    before = digest(X, y, sw)
    params = dict(solver="stochastic", max_iter=5, random_state=0)
    if method == "fit":
        if Est is GDClassifier:
            params["class_weight"] = "balanced"
        est = Est(early_stopping=True, **params).fit(X, y, sample_weight=sw)
    else:
        if Est is GDClassifier:
            params["class_weight"] = {0: 2.0, 1: 1.0}
        est = partial_fit_classes(Est(**params), X, y, sample_weight=sw)
        partial_fit_classes(est, X, y, sample_weight=sw)
    assert np.all(np.isfinite(est.coef_))
    assert digest(X, y, sw) == before
    assert all(a.flags.writeable == writeable for a in arrays)


# ============================================================ b. concurrency
def _concurrent_jobs(solver):
    """8 different fits (data, seeds and parameters differ) for one solver."""
    jobs = []
    if solver == "batch":
        X, y = large_regression_data()
        for i in range(8):
            rows = slice(i * 500, 36_000 + i * 500)
            params = dict(solver="batch", optimizer=("sgd", "adam", "nesterov", "lbfgs")[i % 4],
                          max_iter=6, tol=None, alpha=1e-4 * (i + 1), n_jobs=2)
            jobs.append((GDRegressor, params, X[rows], y[rows]))
    else:
        X, y = classification_data(n=3000, d=10)
        Xr, yr = regression_data(n=3000, d=10)
        for i in range(8):
            optimizer = ("sgd", "adam", "momentum", "adagrad")[i % 4]
            params = dict(solver=solver, optimizer=optimizer, max_iter=4, tol=None,
                          random_state=i, batch_size=8 + i)
            if optimizer != "sgd":
                params["eta0"] = 0.01
            if i % 2:
                jobs.append((GDClassifier, params, X[i * 100:], y[i * 100:]))
            else:
                jobs.append((GDRegressor, params, Xr[i * 100:], yr[i * 100:]))
    return jobs


@pytest.mark.parametrize("solver", ["batch", "minibatch"])
def test_fit_does_not_depend_on_blas_threads(solver):
    # The step size comes from a power iteration; done with BLAS, its
    # multi-threaded sums made eta0 (and the model) depend on BLAS's thread
    # count, e.g. when fits in several threads changed it for each other.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, y = classification_data(n=20_000, d=60, n_classes=2)
    fits = []
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
            fits.append(state(GDClassifier(solver=solver, max_iter=3, tol=None,
                                            random_state=0).fit(X, y)))
    assert fits[0] == fits[1]


def _blas_threads():
    import threadpoolctl

    return sorted(info["num_threads"] for info in threadpoolctl.threadpool_info()
                  if info["user_api"] == "blas")


def test_lbfgs_runs_blas_on_one_thread_and_gives_the_threads_back(monkeypatch):
    # OpenBLAS's idle workers spun on the cores the gradient threads need
    # (half of a one-hot L-BFGS fit's time on two cores).
    pytest.importorskip("threadpoolctl")
    import sklearn_gd._lbfgs as lbfgs

    seen = []
    real = lbfgs.minimize

    def minimize(*args, **kwargs):
        seen.append(_blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(lbfgs, "minimize", minimize)
    X, y = classification_data(n=2_000, d=10, n_classes=2)
    before = _blas_threads()
    GDClassifier(optimizer="lbfgs").fit(X, y)
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert _blas_threads() == before


def test_lbfgs_fits_in_threads_leave_blas_as_they_found_it():
    # Each fit taking the limit and restoring what it saw left the process at
    # one thread, or a running fit at two, depending on the order they ended.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, y = classification_data(n=3_000, d=20, n_classes=2)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with ThreadPoolExecutor(4) as pool:
            fits = list(pool.map(lambda seed: state(GDClassifier(
                optimizer="lbfgs", alpha=1e-3 * (1 + seed % 3)).fit(X, y)), range(12)))
        assert _blas_threads() == before
    for seed, fit in enumerate(fits):
        assert fit == state(GDClassifier(optimizer="lbfgs",
                                         alpha=1e-3 * (1 + seed % 3)).fit(X, y))


def test_a_fork_during_an_lbfgs_fit_gives_the_child_its_blas_threads():
    pytest.importorskip("threadpoolctl")
    from sklearn_gd import _blas

    before = _blas_threads()
    with _blas.single_threaded_blas():
        assert _blas_threads() == [1] * len(before)
        _blas._reset_after_fork()  # what the child runs after os.fork()
        assert _blas_threads() == before
        assert _blas._users == 0
    # The block ends in the state the reset left: nothing restored twice, and the
    # next fit takes the limit again.
    assert _blas_threads() == before and _blas._users == 0
    with _blas.single_threaded_blas():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before


def _run_job(job):
    Est, params, X, y = job
    return state(Est(**params).fit(X, y))


@pytest.mark.parametrize("solver", SOLVERS)
def test_concurrent_fits_in_threads_match_sequential_fits(solver, thread_pool_calls):
    jobs = _concurrent_jobs(solver)
    sequential = [_run_job(job) for job in jobs]
    assert len({s["coef_"] for s in sequential}) == len(jobs)  # the jobs really differ
    del thread_pool_calls[:]
    with warnings.catch_warnings():
        # warnings.catch_warnings is not thread-safe: set the filter once, outside.
        warnings.simplefilter("ignore", ConvergenceWarning)
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(_run_job, job) for job in jobs]
            concurrent = [f.result(timeout=120) for f in futures]  # a hang fails here
    if solver == "batch":
        # The fits ran their gradient blocks in the shared worker pool, from
        # several caller threads at once.
        assert len(set(thread_pool_calls)) > 1, thread_pool_calls
    assert concurrent == sequential


def test_concurrent_partial_fit_streams_match_sequential():
    """Several online learners updated from threads at once keep their own state."""
    X, y = classification_data(n=2000, d=8)
    chunks = np.array_split(np.arange(2000), 10)

    def stream(seed):
        est = GDClassifier(solver="stochastic", optimizer="adam", eta0=0.01,
                           random_state=seed)
        for idx in chunks:
            est.partial_fit(X[idx], y[idx], classes=np.arange(3))
        return state(est)

    sequential = [stream(s) for s in range(6)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(stream, range(6), timeout=120))
    assert concurrent == sequential


# ================================================== c. numerical robustness
@pytest.mark.parametrize("z", [-1e4, -745.0, -40.0, 0.0, 40.0, 745.0, 1e4])
def test_scalar_logistic_kernels_are_stable(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = L.sigmoid(z)
        sp_ = L.softplus(z)
        assert 0.0 <= s <= 1.0 and np.isfinite(sp_) and sp_ >= 0.0
        assert sp_ == pytest.approx(max(z, 0.0) + np.log1p(np.exp(-abs(z))), rel=1e-12)
        for code in (L.LOSS_LOG, L.LOSS_FOCAL):
            for y in (-1.0, 1.0):
                value, deriv = L.margin_loss(code, z, y, 0.1, 0.5, 2.0)
                assert np.isfinite(value) and np.isfinite(deriv), (code, z, y)
                assert value >= 0.0 and abs(deriv) <= 1.0 + 1e-12


@pytest.mark.parametrize("big", [1e4, -1e4, 1e300])
@pytest.mark.parametrize("code", [L.LOSS_LOG, L.LOSS_FOCAL])
def test_softmax_kernel_is_stable_for_huge_scores(code, big):
    scores = np.array([big, 0.0, -big])
    for true_class in range(3):
        target = np.zeros(3)
        target[true_class] = 1.0
        dscores = np.empty(3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = L.softmax_loss(code, scores, target, dscores, 2.0)
        assert np.isfinite(loss) and loss >= 0.0
        assert np.all(np.isfinite(dscores))
        assert abs(dscores.sum()) <= 1e-12 * max(1.0, np.abs(dscores).max())


def _huge_margin_problem(n_classes, scale):
    """Data whose scores at coef_init are about +-scale (1e4: exp overflows in float64)."""
    rng = np.random.RandomState(0)
    X = rng.choice([-1.0, 1.0], size=(90, 3))
    y = np.arange(90) % n_classes
    coef = rng.choice([-1.0, 1.0], size=(1 if n_classes == 2 else n_classes, 3)) * scale / 3
    return X, y, coef


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver,optimizer", [("batch", "sgd"), ("minibatch", "adam"),
                                              ("stochastic", "sgd"),
                                              ("stochastic", "nesterov"),
                                              ("batch", "lbfgs")])
@pytest.mark.parametrize("loss", ["log_loss", "focal"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_fit_with_huge_margins_is_finite_without_runtime_warnings(n_classes, loss, solver,
                                                                  optimizer, dtype):
    X, y, coef = _huge_margin_problem(n_classes, 1e4)
    X = X.astype(dtype)
    est = GDClassifier(loss=loss, solver=solver, optimizer=optimizer, eta0=1e-3,
                       max_iter=5, tol=None, random_state=0, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est.fit(X, y, coef_init=coef, intercept_init=np.zeros(coef.shape[0]))
        scores = est.decision_function(X)
        proba = est.predict_proba(X)
        log_proba = est.predict_log_proba(X)
    assert np.abs(X @ coef.T).max() > 9e3  # the starting margins really are huge
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.loss_curve_))
    assert np.all(np.isfinite(scores))
    if optimizer != "lbfgs":
        # The first epoch's loss is measured at (about) the starting margins: a
        # misclassified sample costs about |margin|, not inf.
        assert 100 < est.loss_curve_[0]
    # The loss at margins of -1e4 is about 1e4 per misclassified sample, not inf.
    assert max(est.loss_curve_) < 1e6
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert not np.any(np.isnan(log_proba))


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("scale", [1e4, 1e8, 1e300])
@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("loss", ["log_loss", "focal", "modified_huber"])
def test_predict_proba_for_huge_scores(loss, n_classes, scale, sign):
    X, _ = classification_data(n=50, d=3, n_classes=n_classes)
    y = np.arange(50) % n_classes
    est = GDClassifier(loss=loss, max_iter=2).fit(X, y)
    rng = np.random.RandomState(0)
    est.coef_ = sign * rng.standard_normal(est.coef_.shape) * scale
    est.intercept_ = np.zeros_like(est.intercept_)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        proba = est.predict_proba(X)
        log_proba = est.predict_log_proba(X)
    assert proba.shape == (50, n_classes)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12 if scale > 1e300 else 1e-9)
    assert not np.any(np.isnan(log_proba))
    # The predicted class is (one of) the most probable (modified_huber clips
    # scores to [-1, 1], so ties are possible).
    predicted = np.searchsorted(est.classes_, est.predict(X))
    np.testing.assert_array_equal(proba[np.arange(50), predicted], proba.max(axis=1))


