"""Scale-out on Dask: dask-ml's Incremental, joblib's dask backend, ``sklearn_gd.dask``.

Everything runs on one real ``distributed.LocalCluster`` (two worker processes)
shared by the module. Skipped when the ``dask`` extra is not installed.
"""

import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from sklearn.base import clone, is_classifier  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.metrics import log_loss, mean_squared_error  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gd import (  # noqa: E402
    DivergenceError,
    DivergenceWarning,
    GDClassifier,
    GDRegressor,
)
from sklearn_gd._dask_resident import ChunkActorLostWarning, ResidentChunks  # noqa: E402
from sklearn_gd.dask import fit_dask  # noqa: E402

# Under pytest-xdist (`-n auto`, `--dist loadgroup`) this file's tests run in one
# worker, so its LocalCluster (module fixture) is built once.
pytestmark = pytest.mark.xdist_group("dask")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def actor_passes(monkeypatch):
    """The passes the fits of a test made through the chunks' actors, as
    (function name, addresses of the actors' workers, number of chunks)."""
    passes = []
    original = ResidentChunks.map

    def recording(self, function, *args, **kwargs):
        passes.append((function.__name__, frozenset(self.workers), self.n_chunks))
        return original(self, function, *args, **kwargs)

    monkeypatch.setattr(ResidentChunks, "map", recording)
    return passes


def _chunked(X, y, rows, sample_weight=None):
    parts = [da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=rows)]
    if sample_weight is not None:
        parts.append(da.from_array(sample_weight, chunks=rows))
    return parts


# ------------------------------------------------------------ dask-ml, joblib
def test_incremental_streams_chunks_through_partial_fit(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = make_classification(n_samples=3000, n_features=20, n_informative=8,
                               random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    est = GDClassifier(solver="minibatch", batch_size=32, random_state=0)
    X_stream, y_stream = _chunked(X_train, y_train, 450)  # 5 chunks, the last short

    inc = wrappers.Incremental(clone(est), scoring="accuracy", shuffle_blocks=False)
    with distributed.get_task_stream(client) as tasks:
        inc.fit(X_stream, y_stream, classes=[0, 1])
    assert len(tasks.data) >= X_stream.numblocks[0]  # the partial_fit calls ran there

    model = inc.estimator_
    assert model.n_iter_ == X_stream.numblocks[0]  # one epoch per chunk
    np.testing.assert_array_equal(model.classes_, [0, 1])
    # The same chunks fed to partial_fit in this process give the same model.
    local = clone(est)
    for start in range(0, X_train.shape[0], 450):
        rows = slice(start, start + 450)
        local.partial_fit(X_train[rows], y_train[rows], classes=[0, 1])
    np.testing.assert_allclose(model.coef_, local.coef_, rtol=1e-12, atol=1e-14)

    score = inc.score(*_chunked(X_test, y_test, 250))
    in_memory = clone(est).fit(X_train, y_train).score(X_test, y_test)
    assert score > 0.8
    assert score >= in_memory - 0.05


def test_grid_search_on_the_joblib_dask_backend(client):
    joblib = pytest.importorskip("joblib")
    X, y = make_classification(n_samples=600, n_features=10, n_informative=5,
                               n_classes=3, random_state=1)
    pipe = make_pipeline(StandardScaler(), GDClassifier(max_iter=200, random_state=0))
    grid = {"gdclassifier__alpha": [1e-4, 1e-2], "gdclassifier__loss": ["log_loss", "hinge"]}

    plain = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = GridSearchCV(pipe, grid, cv=3, n_jobs=-1).fit(X, y)

    assert len(tasks.data) > 0  # the fits ran on the cluster's workers
    assert remote.best_params_ == plain.best_params_
    assert remote.best_score_ == pytest.approx(plain.best_score_, rel=1e-12)
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               plain.cv_results_["mean_test_score"], rtol=1e-12)
    assert remote.score(X, y) == pytest.approx(plain.score(X, y))


# ------------------------------------------------------ data-parallel batch fit
def _assert_same_fit(remote, local):
    assert remote.n_iter_ == local.n_iter_
    assert remote.t_ == local.t_
    assert remote.eta0_ == pytest.approx(local.eta0_, rel=1e-12)
    np.testing.assert_allclose(remote.loss_curve_, local.loss_curve_, rtol=1e-8)
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(remote.intercept_, local.intercept_, rtol=1e-8, atol=1e-10)
    assert remote.n_features_in_ == local.n_features_in_


def _regression():
    X, y = make_regression(n_samples=1000, n_features=12, noise=5.0, random_state=0)
    return X, y / 50.0


def _binary():
    return make_classification(n_samples=1000, n_features=12, n_informative=6,
                               random_state=0)


def _multiclass():
    return make_classification(n_samples=1000, n_features=12, n_informative=6,
                               n_classes=4, n_clusters_per_class=1, random_state=0)


@pytest.mark.parametrize("make_est, make_data, weighted", [
    # The plain batch step (the default is L-BFGS, tested on the workers below).
    (lambda: GDRegressor(loss="squared_error", optimizer="sgd", tol=None, max_iter=40),
     _regression, False),
    (lambda: GDClassifier(loss="log_loss", optimizer="sgd", tol=None, max_iter=40),
     _binary, False),
    (lambda: GDClassifier(loss="log_loss", optimizer="sgd", tol=None, max_iter=40),
     _multiclass, True),
], ids=["regressor-squared", "binary-log_loss", "multiclass-log_loss-weighted"])
def test_fit_dask_equals_in_memory_fit(client, make_est, make_data, weighted):
    X, y = make_data()
    sample_weight = np.random.RandomState(0).uniform(0.2, 2.0, X.shape[0]) \
        if weighted else None
    local = make_est().fit(X, y, sample_weight=sample_weight)
    remote = fit_dask(make_est(), *_chunked(X, y, 170, sample_weight))  # 6 uneven chunks
    _assert_same_fit(remote, local)
    if hasattr(local, "classes_"):
        np.testing.assert_array_equal(remote.classes_, local.classes_)
        np.testing.assert_array_equal(remote.predict(X), local.predict(X))


def test_fit_dask_equals_fit_on_data_large_enough_for_a_subsampled_step_size(client):
    # fit derives eta0="auto" from an evenly strided subset of large data (over
    # 50,000 rows): fit_dask must use the same rows. Odd chunk offsets on purpose.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60_000, 5)) * [1.0, 2.0, 3.0, 0.5, 1.0]
    y = (X @ [1.0, -1.0, 0.5, 2.0, 0.0] + rng.logistic(size=60_000) > 0).astype(np.int64)
    local = GDClassifier(optimizer="sgd", max_iter=10, tol=None).fit(X, y)
    remote = fit_dask(GDClassifier(optimizer="sgd", max_iter=10, tol=None), *_chunked(X, y, 14_999))
    _assert_same_fit(remote, local)


@pytest.mark.parametrize("Est, make_data", [(GDRegressor, _regression),
                                             (GDClassifier, _multiclass)])
def test_lbfgs_on_the_workers_reaches_the_in_memory_optimum(client, Est, make_data,
                                                            actor_passes):
    X, y = make_data()
    sample_weight = np.random.RandomState(1).uniform(0.2, 2.0, X.shape[0])
    est = Est(optimizer="lbfgs", alpha=1e-3, tol=1e-6, max_iter=500)
    local = clone(est).fit(X, y, sample_weight=sample_weight)
    dX, dy, dw = _chunked(X, y, 170, sample_weight)
    with distributed.get_task_stream(client) as tasks:
        remote = clone(est).fit(dX, dy, sample_weight=dw)  # fit dispatches to fit_dask
    assert remote.convergence_.converged and local.convergence_.converged
    # The chunks' sums are added in another order: the same optimum, to rounding
    # amplified by the iterations.
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(remote.intercept_, local.intercept_, rtol=1e-6, atol=1e-8)
    from dask.utils import key_split

    assert not any(key_split(t["key"]) == "block_gradient" for t in tasks.data)
    steps = sum(name == "_block_gradient" for name, _, _ in actor_passes)
    assert remote.n_iter_ <= steps <= 3 * remote.n_iter_ + 5  # evaluations
    workers = set(client.scheduler_info()["workers"])
    assert all(where == workers and n == 6 for _, where, n in actor_passes)


def test_fit_dask_stopping_rule_and_options_as_in_fit(client):
    X, y = _multiclass()
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    est = GDClassifier(loss="squared_hinge", optimizer="momentum", learning_rate="adaptive",
                       tol=1e-2, n_iter_no_change=3, max_iter=60, class_weight="balanced")
    local = clone(est).fit(X, labels)
    remote = fit_dask(clone(est), *_chunked(X, labels, 250), split_every=2)
    _assert_same_fit(remote, local)
    assert remote.n_iter_ == local.n_iter_
    assert remote.convergence_.converged == local.convergence_.converged
    np.testing.assert_array_equal(remote.classes_, local.classes_)


@pytest.mark.parametrize("persist, actors", [(True, True), (True, False), (False, True)])
def test_fit_dask_runs_steps_on_the_workers_and_persists_chunks_once(client, persist,
                                                                    actors, actor_passes):
    from dask.utils import key_split

    X = da.random.default_rng(0).standard_normal((2000, 5), chunks=(500, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    with distributed.get_task_stream(client) as tasks:
        clf = fit_dask(GDClassifier(optimizer="sgd", max_iter=5, tol=None), X, y,
                       persist=persist, actors=actors)
    names = [key_split(t["key"]) for t in tasks.data]
    generated = names.count("standard_normal")
    workers = set(client.scheduler_info()["workers"])
    steps = [(name, where) for name, where, _ in actor_passes if name == "_block_gradient"]
    if persist and actors:
        # Each step one call to each worker's actor, no task through the scheduler.
        assert len(steps) == 5 and all(where == workers for _, where in steps)
        assert names.count("block_gradient") == 0
    else:  # without persisted chunks (or by choice) every step is tasks
        assert not actor_passes
        assert names.count("block_gradient") == 4 * 5  # 4 chunks, 5 steps
        assert {t["worker"] for t in tasks.data
                if key_split(t["key"]) == "block_gradient"} == workers
    if persist:
        assert generated == 4  # each chunk made once, then kept on its worker
    else:
        assert generated >= 4 * 5  # made again in every step
    local = GDClassifier(optimizer="sgd", max_iter=5, tol=None).fit(X.compute(), y.compute())
    np.testing.assert_allclose(clf.coef_, local.coef_, rtol=1e-8, atol=1e-12)


def test_fit_dask_divergence_and_unsupported_options(client):
    X, y = _regression()
    est = GDRegressor(eta0=1e3, max_iter=5, tol=None)
    with pytest.raises(DivergenceError, match="diverged"):
        fit_dask(est, *_chunked(X, y * 1e3, 500))
    assert not hasattr(est, "coef_") and not hasattr(est, "eta0_")  # left as it was
    # Recovery restores a checkpoint and cuts the step, exactly as fit does.
    recover = GDRegressor(eta0=5.0, max_iter=15, tol=None, on_divergence="recover")
    with pytest.warns(DivergenceWarning, match="diverged in epoch 1"):
        local = clone(recover).fit(X, y)
    with pytest.warns(DivergenceWarning, match="diverged in epoch 1"):
        remote = fit_dask(clone(recover), *_chunked(X, y, 300))
    _assert_same_fit(remote, local)
    with pytest.raises(ValueError, match="penalty='l1' with solver='minibatch'"):
        fit_dask(GDRegressor(solver="minibatch", penalty="l1"), *_chunked(X, y, 500))
    with pytest.raises(ValueError, match="average with solver='stochastic'"):
        fit_dask(GDRegressor(solver="stochastic", average=True), *_chunked(X, y, 500))
    with pytest.raises(ValueError, match="pass a numeric eta0"):
        fit_dask(GDRegressor(solver="stochastic", optimizer="adam"), *_chunked(X, y, 500))
    with pytest.raises(ValueError, match="optimizer='normalized'"):
        fit_dask(GDRegressor(optimizer="normalized"), *_chunked(X, y, 500))
    with pytest.raises(ValueError, match="NaN or infinity"):
        X_bad = X.copy()
        X_bad[3, 2] = np.nan
        fit_dask(GDRegressor(), *_chunked(X_bad, y, 500))


# ------------------------------------------------ stochastic: parameter mixing
_MIXING = [
    (GDClassifier, _binary, dict(solver="stochastic")),  # "optimal" schedule, auto eta0 cap
    (GDClassifier, _multiclass, dict(solver="stochastic", optimizer="momentum")),
    (GDClassifier, _binary, dict(solver="minibatch", batch_size=32, optimizer="adam",
                                 eta0=0.01)),
    # Runs of consecutive rows (a numeric rate: "auto" for mini-batches is fit's
    # rate only to rounding, see test_mixing_minibatch_auto_eta0_is_fits).
    (GDClassifier, _binary, dict(solver="minibatch", batch_size=16, shuffle="blocks",
                                 eta0=0.05)),
    (GDRegressor, _regression, dict(solver="stochastic")),  # constant 1/L from the top row
]


@pytest.mark.parametrize("Est, make_data, params", _MIXING)
def test_mixing_on_one_chunk_is_the_in_memory_fit(client, Est, make_data, params):
    """One chunk: its local epoch is fit's epoch, the mix a no-op: the same bits
    (step size from the workers' largest row, certificate from their gradient)."""
    X, y = make_data()
    est = Est(max_iter=15, random_state=0, **params)
    remote = fit_dask(clone(est), *_chunked(X, y, X.shape[0]))
    # "auto" is the plain step on the workers (SVRG's snapshot needs all rows).
    local = clone(est).set_params(optimizer=remote.optimizer_).fit(X, y)
    np.testing.assert_array_equal(remote.coef_, local.coef_)
    np.testing.assert_array_equal(remote.intercept_, local.intercept_)
    assert remote.eta0_ == local.eta0_ and remote.n_iter_ == local.n_iter_
    assert remote.loss_curve_ == local.loss_curve_ and remote.t_ == local.t_


@pytest.mark.parametrize("Est, make_data, params", _MIXING)
def test_mixing_on_four_chunks_reaches_the_in_memory_objective(client, Est, make_data, params):
    """Four chunks: another path (averaged local epochs), deterministic, at least as
    good as the in-memory fit after the same epochs, and near the optimum."""
    X, y = make_data()
    est = Est(max_iter=15, tol=None, random_state=0, **params)
    remote = fit_dask(clone(est), *_chunked(X, y, 250))
    again = fit_dask(clone(est), *_chunked(X, y, 250))
    np.testing.assert_array_equal(remote.coef_, again.coef_)
    local = clone(est).set_params(optimizer=remote.optimizer_).fit(X, y)
    assert not np.array_equal(remote.coef_, local.coef_)  # it is another path
    # Averaging the chunks' iterates damps the steps' noise: the mixed model is
    # no worse than the in-memory one (and on these data sets better).
    assert _training_loss(remote, X, y) <= 1.02 * _training_loss(local, X, y)
    assert remote.score(X, y) >= local.score(X, y) - 0.02
    # Both approach the certified optimum of the same objective (in-memory L-BFGS).
    optimum = _training_loss(Est(**{**est.get_params(), "solver": "batch",
                                    "optimizer": "lbfgs", "eta0": "auto", "tol": 1e-8,
                                    "max_iter": 1000}).fit(X, y), X, y)
    assert _training_loss(remote, X, y) <= 1.02 * optimum + 5e-4


@pytest.mark.parametrize("Est, make_data, params", [
    (GDRegressor, _regression, dict()),  # the preconditioned step
    (GDClassifier, _multiclass, dict(optimizer="momentum", precondition=None)),
], ids=["regressor-preconditioned", "multiclass-momentum"])
def test_mixing_minibatch_auto_eta0_is_fits(client, Est, make_data, params):
    """eta0="auto" for mini-batches blends the top eigenvalue of the Gram matrix
    (gathered on the workers) with the largest row (a pass over the chunks):
    fit's rate for the same rows, and on one chunk fit's model."""
    X, y = make_data()
    sample_weight = np.random.RandomState(1).uniform(0.2, 2.0, X.shape[0])
    est = Est(solver="minibatch", batch_size=32, max_iter=10, random_state=0, **params)
    remote = fit_dask(clone(est), *_chunked(X, y, X.shape[0], sample_weight))
    local = clone(est).set_params(optimizer=remote.optimizer_).fit(
        X, y, sample_weight=sample_weight)
    # The eigenvalue comes from the Gram matrix instead of the rows: the same to
    # rounding (power iteration stops at rtol 1e-2 either way).
    assert remote.eta0_ == pytest.approx(local.eta0_, rel=1e-9)
    assert remote.n_iter_ == local.n_iter_
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-6, atol=1e-9)
    four = fit_dask(clone(est), *_chunked(X, y, 250, sample_weight))
    assert four.eta0_ == pytest.approx(remote.eta0_, rel=1e-12)  # nor on the chunking
    assert four.score(X, y) >= local.score(X, y) - 0.02
    # fit on Dask arrays runs it there too (it used to gather them, as the rate
    # was refused).
    dX, dy, dw = _chunked(X, y, 250, sample_weight)
    on_cluster = clone(est).fit(dX, dy, sample_weight=dw)
    np.testing.assert_array_equal(on_cluster.coef_, four.coef_)


def _training_loss(est, X, y):
    """Log loss (classifiers) or half the mean squared error, by scikit-learn's metrics."""
    if is_classifier(est):
        return log_loss(y, est.predict_proba(X), labels=est.classes_)
    return 0.5 * mean_squared_error(y, est.predict(X))


@pytest.mark.parametrize("params", [dict(), dict(optimizer="sgd", max_iter=20, tol=None),
                                    dict(solver="stochastic", max_iter=5, tol=None)],
                         ids=["lbfgs", "batch-sgd", "stochastic-mixing"])
def test_csr_matrix_chunks_train_as_in_memory(client, params):
    """Chunks that are scipy.sparse.csr_matrix (whose ** is a matrix power): the
    statistics pass used to fail on them. One chunk gives fit's model (to rounding
    where eta0 comes from the Gram matrix's stand-in rows, as for plain batch SGD:
    LAPACK's eigenvectors, so the last bits follow the NumPy build)."""
    X, y = _binary()
    X = sp.csr_matrix(np.where(np.abs(X) > 0.7, X, 0.0))
    dX = da.from_array(X, chunks=(X.shape[0], -1), asarray=False)
    est = GDClassifier(random_state=0, **params)
    remote = fit_dask(clone(est), dX, da.from_array(y, chunks=X.shape[0]))
    local = clone(est).set_params(optimizer=remote.optimizer_).fit(X, y)
    assert remote.eta0_ == pytest.approx(local.eta0_, rel=1e-12) or np.isnan(local.eta0_)
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-8, atol=1e-10)
    if params.get("solver") == "stochastic":
        np.testing.assert_array_equal(remote.coef_, local.coef_)
    four = fit_dask(clone(est), da.from_array(X, chunks=(250, -1), asarray=False),
                    da.from_array(y, chunks=250))
    assert four.score(X, y) >= local.score(X, y) - 0.02


def test_fit_on_dask_arrays_mixes_the_stochastic_solver(client, actor_passes):
    """est.fit(dask X, dask y) with solver="stochastic" is fit_dask's mixing, run on
    the workers: one local epoch per chunk and epoch."""
    X, y = _binary()
    dX, dy = _chunked(X, y, 250)
    params = dict(solver="stochastic", max_iter=6, tol=None, random_state=0)
    with distributed.get_task_stream(client) as stream:
        on_cluster = GDClassifier(**params).fit(dX, dy)
    by_hand = fit_dask(GDClassifier(**params), dX, dy)
    np.testing.assert_array_equal(on_cluster.coef_, by_hand.coef_)
    np.testing.assert_array_equal(on_cluster.intercept_, by_hand.intercept_)
    local_epochs = [t for t in stream.data if "_block_local_epoch" in str(t["key"])]
    assert not local_epochs  # one call to each worker's actor per epoch instead
    epochs = [(where, n) for name, where, n in actor_passes if name == "_block_local_epoch"]
    workers = set(client.scheduler_info()["workers"])
    assert epochs == [(workers, 4)] * 6 * 2  # two fits of 6 epochs
    # "auto": the plain step on the workers, SVRG in memory.
    assert on_cluster.optimizer_ == "sgd"
    assert GDClassifier(**params).fit(X, y).optimizer_ == "svrg"


def _unaligned(a):
    """A copy of ``a`` at an odd byte offset, as a chunk read from a network frame may be."""
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)[1:]
    out = raw.view(a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_chunk_tasks_do_not_depend_on_where_the_bytes_landed(sparse):
    """NumPy's ``X.T @ Xw`` takes another loop on unaligned buffers (a chunk that
    arrived on a worker is one), so the Gram matrix behind eta0, and the model
    after it, changed in the last bits from run to run: the tasks align them."""
    from sklearn_gd.dask import _block_statistics

    X, y = make_regression(n_samples=250, n_features=12, random_state=0)
    w = np.random.RandomState(1).uniform(0.2, 2.0, X.shape[0])
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
        moved = sp.csr_matrix((_unaligned(X.data), _unaligned(X.indices),
                               _unaligned(X.indptr)), shape=X.shape)
    else:
        moved = _unaligned(X)
    args = (None, None, None, np.dtype(np.float64), True, 1)
    here = _block_statistics(X, y, w, 0, *args)
    there = _block_statistics(moved, _unaligned(y), _unaligned(w), 0, *args)
    assert set(here) == set(there)
    for name in here:
        np.testing.assert_array_equal(there[name], here[name], err_msg=name)


def test_larger_than_memory_example_runs(client):
    """The example, small, on this module's cluster (it connects with --scheduler)."""
    pytest.importorskip("dask_ml")
    script = Path(__file__).resolve().parents[1] / "examples" / "dask_larger_than_memory.py"
    run = subprocess.run(
        [sys.executable, str(script), "--scheduler", client.scheduler.address,
         "--rows", "20000", "--chunk-rows", "5000", "--features", "8", "--max-iter", "20"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    scores = [float(line.split("test accuracy ")[1].split(",")[0])
              for line in run.stdout.splitlines() if "test accuracy" in line]
    assert len(scores) == 2 and min(scores) > 0.7, run.stdout


# ------------------------------------------------------ lazy predictions on dask arrays
@pytest.mark.parametrize("Est, y_kind", [(GDClassifier, "binary"), (GDClassifier, "3 classes"),
                                         (GDRegressor, "1 target"), (GDRegressor, "2 targets")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predictions_on_dask_arrays_are_lazy_and_blockwise(Est, y_kind, dtype):
    """As dask-ml's ParallelPostFit: a Dask result, one task per row block, never X
    gathered; equal bit for bit to the NumPy predictions of the same rows."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((600, 4)).astype(dtype)
    y = {"binary": (X[:, 0] > 0).astype(int), "3 classes": np.digitize(X[:, 0], [-0.5, 0.5]),
         "1 target": X @ np.arange(1.0, 5.0),
         "2 targets": np.column_stack([X[:, 0], -X[:, 1]])}[y_kind]
    model = Est(loss="log_loss" if Est is GDClassifier else "squared_error", max_iter=5,
                tol=None).fit(X, y)
    dX = da.from_array(X, chunks=(150, 2))  # column blocks too: rechunked to one
    methods = ["predict"] + (["decision_function", "predict_proba", "predict_log_proba"]
                             if Est is GDClassifier else [])
    for name in methods:
        lazy = getattr(model, name)(dX)
        assert isinstance(lazy, da.Array), name
        assert lazy.numblocks[0] == 4, name
        expected = getattr(model, name)(X)
        assert lazy.shape == expected.shape and lazy.dtype == expected.dtype, name
        got = lazy.compute(scheduler="sync")
        np.testing.assert_array_equal(got, expected, err_msg=name)


def test_lazy_predictions_check_the_model_and_the_width_at_once():
    from sklearn.exceptions import NotFittedError

    X = np.random.RandomState(0).standard_normal((100, 3))
    with pytest.raises(NotFittedError):
        GDRegressor().predict(da.from_array(X, chunks=50))
    model = GDRegressor(max_iter=2, tol=None).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="X has 2 features, but GDRegressor is expecting 3"):
        model.predict(da.from_array(X[:, :2], chunks=50))


@pytest.mark.parametrize("Est, y_kind", [(GDClassifier, "binary"), (GDClassifier, "3 classes"),
                                         (GDRegressor, "1 target"), (GDRegressor, "2 targets")])
@pytest.mark.parametrize("weighted", [False, True])
def test_score_on_dask_arrays_is_sums_over_row_blocks(Est, y_kind, weighted):
    """score(dask X, y) is scikit-learn's accuracy / R^2 of the same rows, computed from
    a few sums per row block: the predictions are never gathered (it used to pull
    them, through predict, into memory); y and the weights may be NumPy or Dask."""
    import dask

    rng = np.random.RandomState(0)
    X = rng.standard_normal((600, 4))
    y = {"binary": (X[:, 0] > 0).astype(int), "3 classes": np.digitize(X[:, 0], [-0.5, 0.5]),
         # A large mean against the spread: sums of squares minus the squared sum cancel.
         "1 target": 1e6 + X @ np.arange(1.0, 5.0) + rng.standard_normal(600),
         "2 targets": np.column_stack([X[:, 0], -X[:, 1]]) + rng.standard_normal((600, 2))}[
        y_kind]
    w = rng.uniform(0.0, 2.0, 600) if weighted else None
    model = Est(max_iter=5, tol=None).fit(X, y)
    expected = model.score(X, y, sample_weight=w)
    dX = da.from_array(X, chunks=(150, 2))
    for dy, dw in ((y, w), (da.from_array(y, chunks=100),
                            None if w is None else da.from_array(w, chunks=200))):
        with dask.config.set(scheduler="sync"):
            with mock.patch.object(da.Array, "__array__",
                                   side_effect=AssertionError("gathered")):
                got = model.score(dX, dy, sample_weight=dw)
        assert isinstance(got, float)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_score_on_dask_arrays_keeps_scikit_learns_edge_cases():
    X = np.random.RandomState(0).standard_normal((100, 3))
    dX = da.from_array(X, chunks=25)
    model = GDRegressor(max_iter=5, tol=None).fit(X, X[:, 0])
    constant = np.full(100, 3.0)
    assert model.score(dX, constant) == model.score(X, constant) == 0.0
    with pytest.raises(ValueError, match="inconsistent numbers of samples: \\[100, 99\\]"):
        model.score(dX, X[:99, 0])
    bad = X[:, 0].copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        model.score(dX, bad)
    classifier = GDClassifier(max_iter=5, tol=None).fit(X, X[:, 0] > 0)
    with pytest.raises(ValueError, match="mix of"):
        classifier.score(dX, X[:, 0])  # continuous targets for a classifier


def test_lazy_predictions_on_the_cluster(client):
    X, y = make_classification(n_samples=2000, n_features=6, random_state=0)
    model = GDClassifier(loss="log_loss", max_iter=5, tol=None).fit(X, y)
    dX = da.from_array(X, chunks=500)
    np.testing.assert_array_equal(model.predict_proba(dX).compute(), model.predict_proba(X))
    assert model.score(dX, da.from_array(y, chunks=500)) == pytest.approx(model.score(X, y),
                                                                           abs=1e-12)


def test_fit_on_dask_arrays_runs_data_parallel(client):
    """est.fit(dask X, dask y) is fit_dask's data-parallel fit (dask-ml's convention),
    bit for bit, and close to the in-memory fit; it used to gather X into memory."""
    X, y = make_classification(n_samples=4000, n_features=8, random_state=0)
    dX, dy = da.from_array(X, chunks=1000), da.from_array(y, chunks=1000)
    params = dict(loss="log_loss", max_iter=30, tol=None)
    on_cluster = GDClassifier(**params).fit(dX, dy)
    by_hand = fit_dask(GDClassifier(**params), dX, dy)
    np.testing.assert_array_equal(on_cluster.coef_, by_hand.coef_)
    np.testing.assert_array_equal(on_cluster.intercept_, by_hand.intercept_)
    assert on_cluster.optimizer_ == "lbfgs"  # the default, on the workers' sums
    in_memory = GDClassifier(**params).fit(X, y)
    # The chunks' sums are added in another order than fit's blocks: the same
    # optimum, where 30 L-BFGS iterations (tol=None) wander at the objective's
    # float64 rounding, some 1e-8 in the weights.
    np.testing.assert_allclose(on_cluster.coef_, in_memory.coef_, rtol=0, atol=2e-7)
    reg = GDRegressor(max_iter=30, tol=None).fit(dX, da.from_array(X[:, 0], chunks=1000))
    assert reg.n_features_in_ == 8 and reg.optimizer_ == "lbfgs" and 1 <= reg.n_iter_ <= 30


@pytest.mark.parametrize("params", [dict(solver="stochastic", penalty="l1", random_state=0),
                                    dict(optimizer="normalized"),
                                    dict(early_stopping=True, random_state=0)])
def test_fit_on_dask_arrays_gathers_what_fit_dask_does_not_support(params):
    X, y = make_classification(n_samples=600, n_features=4, random_state=0)
    dX, dy = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    on_dask = GDClassifier(max_iter=5, tol=None, **params).fit(dX, dy)
    in_memory = GDClassifier(max_iter=5, tol=None, **params).fit(X, y)
    np.testing.assert_array_equal(on_dask.coef_, in_memory.coef_)


# ------------------------------------------- the checks and statistics passes
def _bad_inputs():
    X, y = _binary()
    weights = np.ones(len(y))
    nan_weights, negative = weights.copy(), weights.copy()
    nan_weights[7], negative[900] = np.nan, -1.0
    y_reg = y.astype(float)
    y_reg[600] = np.inf
    one_class = np.where(y == 1, 0.0, 1.0)  # only class 0 keeps any weight
    return [
        (GDClassifier(), X, y, nan_weights, "sample_weight contains NaN"),
        (GDClassifier(), X, y, negative, "Negative values in data passed to `sample_weight`"),
        (GDRegressor(), X, y_reg, None, "Input y contains"),
        (GDClassifier(), X, y, one_class, "needs at least 2 classes with positive"),
    ]


@pytest.mark.parametrize("case", range(4))
def test_bad_chunks_raise_fits_errors(client, case):
    """Each chunk is checked in its own task: a bad value in any one of them (here
    in the first, fourth or last of five chunks) gives fit's error."""
    est, X, y, weights, message = _bad_inputs()[case]
    with pytest.raises(ValueError, match=message):
        clone(est).fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match=message):
        fit_dask(clone(est), *_chunked(X, y, 200, weights))


def test_string_labels_and_class_weight_train_as_in_memory(client):
    """Labels merged from the chunks' own label sets (the third class appears in
    the last chunks only), with class weights: fit's model."""
    X, y = _multiclass()
    labels = np.array(["ant", "bee", "cat", "dog"])[np.sort(y)]
    X = X[np.argsort(y, kind="stable")]
    est = GDClassifier(optimizer="sgd", tol=None, max_iter=30,
                       class_weight={"bee": 2.0, "dog": 0.5})
    remote = fit_dask(clone(est), *_chunked(X, labels, 300))
    local = clone(est).fit(X, labels)
    np.testing.assert_array_equal(remote.classes_, local.classes_)
    _assert_same_fit(remote, local)


# ------------------------------------------------ chunks held by actors
_ACTOR_CASES = [
    (GDClassifier(), _multiclass, True),  # L-BFGS, weighted
    (GDClassifier(optimizer="sgd", max_iter=15, tol=None), _binary, False),  # eta0 "auto"
    (GDRegressor(), _regression, True),
    (GDClassifier(solver="stochastic", max_iter=4, tol=None, random_state=0), _binary, True),
]


@pytest.mark.parametrize("est, make_data, weighted", _ACTOR_CASES,
                         ids=["lbfgs-multiclass", "sgd-binary", "lbfgs-regressor", "mixing"])
def test_actor_passes_give_the_tasks_bits(client, est, make_data, weighted, actor_passes):
    """A pass by actors runs the task path's functions on the same chunks and merges
    them in the same tree: the same model, bit for bit."""
    X, y = make_data()
    sample_weight = np.random.RandomState(0).uniform(0.2, 2.0, X.shape[0]) \
        if weighted else None
    parts = _chunked(X, y, 110, sample_weight)  # 10 uneven chunks: a two-level tree
    by_actors = fit_dask(clone(est), *parts, split_every=3)
    assert actor_passes  # they did run
    by_tasks = fit_dask(clone(est), *parts, split_every=3, actors=False)
    np.testing.assert_array_equal(by_actors.coef_, by_tasks.coef_)
    np.testing.assert_array_equal(by_actors.intercept_, by_tasks.intercept_)
    np.testing.assert_array_equal(by_actors.loss_curve_, by_tasks.loss_curve_)
    assert by_actors.n_iter_ == by_tasks.n_iter_
    np.testing.assert_array_equal(by_actors.eta0_, by_tasks.eta0_)  # nan for L-BFGS


def _actors_on_workers(client):
    """The actors left on the workers, once released ones are gone (release is
    asynchronous: the scheduler tells the workers after the fit returned)."""
    import time

    deadline = time.monotonic() + 10.0
    while True:
        left = sum(client.run(lambda dask_worker: len(dask_worker.state.actors)).values())
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_actors_are_released_after_the_fit_and_after_its_errors(client):
    X, y = _binary()
    fit_dask(GDClassifier(), *_chunked(X, y, 250))
    assert _actors_on_workers(client) == 0
    bad = X.copy()
    bad[900, 3] = np.nan  # found by the first pass, on an actor
    with pytest.raises(ValueError, match="NaN"):
        fit_dask(GDClassifier(), *_chunked(bad, y, 250))
    assert _actors_on_workers(client) == 0


def test_a_lost_actor_lets_the_fit_go_on_by_tasks(client, monkeypatch):
    """An actor call that fails (its worker died) is not the end of the fit: it
    goes on by tasks, warns, and gives the same model."""
    from distributed.comm import CommClosedError

    X, y = _multiclass()
    parts = _chunked(X, y, 170)
    original = ResidentChunks.map
    calls = []

    def dying(self, function, *args, **kwargs):
        calls.append(function.__name__)
        if len(calls) > 4:  # the set-up passes and a few evaluations went through
            raise CommClosedError("in <TCP (closed)>: Stream is closed")
        return original(self, function, *args, **kwargs)

    monkeypatch.setattr(ResidentChunks, "map", dying)
    with pytest.warns(ChunkActorLostWarning, match="could not be reached"):
        survived = fit_dask(GDClassifier(), *parts)
    assert calls.count("_block_gradient") == 3  # the fourth evaluation failed over
    expected = fit_dask(GDClassifier(), *parts, actors=False)
    np.testing.assert_array_equal(survived.coef_, expected.coef_)
    assert survived.n_iter_ == expected.n_iter_
    assert _actors_on_workers(client) == 0


def test_without_a_distributed_client_the_passes_are_tasks():
    """Dask's local threads (no Client): no actors to place, the tasks' path."""
    X, y = _binary()
    import dask

    with dask.config.set(scheduler="threads"):
        assert ResidentChunks.place(dict(zip(("X", "y"), dask.persist(
            *_chunked(X, y, 250))))) is None
        local = fit_dask(GDClassifier(), *_chunked(X, y, 250))
    np.testing.assert_allclose(local.coef_, GDClassifier().fit(X, y).coef_, rtol=1e-6)


def test_an_actor_runs_its_chunks_on_the_workers_threads():
    """A worker of two threads: its actor passes its chunks to both, same bits."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        threads = client.run(lambda dask_worker: dask_worker.state.nthreads)
        assert list(threads.values()) == [2]
        X, y = _multiclass()
        parts = _chunked(X, y, 90)
        import dask

        resident = ResidentChunks.place(dict(zip(("X", "y"), dask.persist(*parts))))
        try:
            pools = client.run(lambda dask_worker: [
                actor.pool._max_workers for actor in dask_worker.state.actors.values()])
            assert list(pools.values()) == [[2]]
        finally:
            resident.release()
        for est in (GDClassifier(), GDClassifier(optimizer="sgd", max_iter=10, tol=None)):
            by_actors = fit_dask(clone(est), *parts)
            by_tasks = fit_dask(clone(est), *parts, actors=False)
            np.testing.assert_array_equal(by_actors.coef_, by_tasks.coef_)
            np.testing.assert_array_equal(by_actors.loss_curve_, by_tasks.loss_curve_)
