"""Reliability: determinism, untouched inputs, thread safety, persistence, the
Numba on-disk cache, numerical robustness and divergence detection.

The tests marked ``slow`` start fresh Python processes that compile the kernels
from an empty cache (5-20 s each); deselect them with ``-m "not slow"``.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import digest, frozen, roundtrip, state
from sklearn.exceptions import ConvergenceWarning

import sklearn_gd
from sklearn_gd import DivergenceError, GDClassifier, GDRegressor, _batch
from sklearn_gd._kernels import losses as L

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]

PACKAGE_DIR = Path(sklearn_gd.__file__).resolve().parent
SOLVERS = ("batch", "minibatch", "stochastic")


# --------------------------------------------------------------------- helpers
def _regression(n=300, d=6, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    return X, y


def _classification(n=300, d=6, n_classes=3, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = np.argmax(X @ rng.standard_normal((d, n_classes)) + 0.3
                  * rng.standard_normal((n, n_classes)), axis=1)
    return X, y


def _large_regression():
    # 40000 x 20 = 800,000 multiply-adds per pass, above the block-thread
    # threshold of sklearn_gd._batch (2**18).
    return _regression(n=40_000, d=20, seed=1)


def _clean_env(**extra):
    """Environment for a child Python: no inherited Numba cache settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NUMBA_") and k not in ("PYTHONPATH", "XDG_CACHE_HOME")}
    env.update(extra)
    return env


def _run_python(code, env=None, timeout=300, cwd=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=cwd)


def _copy_package(dest):
    """Copy sklearn_gd (sources only, no __pycache__ / Numba cache) under dest."""
    target = Path(dest) / "sklearn_gd"
    shutil.copytree(PACKAGE_DIR, target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.pyc"))
    assert not list(target.rglob("*.nbi"))
    return target


# ============================================================ a. determinism
_DETERMINISM_CONFIGS = [
    ("reg", dict(solver="batch", optimizer="sgd")),
    ("reg", dict(solver="stochastic", optimizer="sgd", penalty="l2")),  # scaled path
    ("reg", dict(solver="stochastic", optimizer="adam", penalty="elasticnet")),
    ("reg", dict(solver="minibatch", optimizer="nesterov", batch_size=7,
                 learning_rate="invscaling", eta0=0.01)),
    ("clf", dict(solver="stochastic", optimizer="rmsprop", eta0=0.01)),
    ("clf", dict(solver="minibatch", loss="hinge", optimizer="adagrad", eta0=0.1)),
    ("clf", dict(solver="batch", optimizer="lbfgs")),
]


def _determinism_fit(kind, params, random_state=0):
    if kind == "reg":
        X, y = _regression()
        est = GDRegressor(max_iter=15, tol=None, random_state=random_state, **params)
    else:
        X, y = _classification()
        est = GDClassifier(max_iter=15, tol=None, random_state=random_state, **params)
    return est.fit(X, y)


@pytest.mark.parametrize("kind,params", _DETERMINISM_CONFIGS)
def test_same_random_state_gives_bit_identical_fits(kind, params):
    a = _determinism_fit(kind, params)
    b = _determinism_fit(kind, params)
    assert state(a) == state(b)
    if params["solver"] != "batch":
        # The test can fail: the seed does change the shuffled order.
        c = _determinism_fit(kind, params, random_state=1)
        assert c.coef_.tobytes() != a.coef_.tobytes()


@pytest.mark.slow
@pytest.mark.parametrize("cache", ["empty", "shared"])
def test_bit_identical_across_processes(cache, tmp_path):
    """Another interpreter gives the same bits, whether it compiles the kernels
    from an empty cache (a copy of the package) or loads the cache this process
    uses; compiling them raises no Numba warning either."""
    code = f"""
        import json, sys, warnings
        sys.path.append({str(Path(__file__).parent)!r})
        warnings.simplefilter("ignore")
        import numba.core.errors
        warnings.simplefilter("always", numba.core.errors.NumbaWarning)
        import sklearn_gd
        import test_reliability as T
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", numba.core.errors.NumbaWarning)
            out = [T.state(T._determinism_fit(kind, params))
                   for kind, params in T._DETERMINISM_CONFIGS]
        numba_warnings = [str(w.message) for w in caught
                          if issubclass(w.category, numba.core.errors.NumbaWarning)]
        print(json.dumps({{"package": sklearn_gd.__file__, "states": out,
                          "warnings": numba_warnings}}))
    """
    env = _clean_env()
    if cache == "empty":
        site = tmp_path / "site"
        _copy_package(site)
        env["PYTHONPATH"] = str(site)
    proc = _run_python(code, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    if cache == "empty":
        assert child["package"].startswith(str(tmp_path))
    assert child["warnings"] == []
    here = [state(_determinism_fit(kind, params)) for kind, params in _DETERMINISM_CONFIGS]
    assert child["states"] == json.loads(json.dumps(here))


_ORDER_SCRIPT = """
    import json, sys, warnings
    import numpy as np, scipy.sparse as sp
    from sklearn_gd import GDRegressor
    warnings.simplefilter("ignore")
    if sys.argv[1] == "python-first":
        # Bottou's t0 calls the loss from Python before any kernel is compiled.
        GDRegressor(loss="huber")._loss_derivative(0.5, 1.0)
    rng = np.random.RandomState(0)
    X = rng.standard_normal((120, 6)) * np.array([1, 3, 0.1, 10, 1, 1])
    y = X @ rng.standard_normal(6) + 0.3 * rng.standard_normal(120)
    X = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    est = GDRegressor(loss="huber", max_iter=4, tol=None).fit(X, y)
    print(json.dumps([est.coef_.tobytes().hex(), est.intercept_.tobytes().hex()]))
"""


@pytest.mark.slow
def test_bits_do_not_depend_on_compile_order(tmp_path):
    """Two fresh interpreters, each with an empty cache, fit the same model; one has
    called the loss from Python first. A helper that leaves a floating-point option
    unset inherits it from its first caller's compilation (Numba's ConfigStack), so
    this order changed the L-BFGS fit's last bits, and the cache kept whichever came
    first for every later process."""
    procs = {}
    for order in ("kernel-first", "python-first"):
        site = tmp_path / order
        _copy_package(site)
        procs[order] = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_ORDER_SCRIPT), order],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env=_clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(site / "xdg")))
    out = {}
    for order, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        out[order] = json.loads(stdout.strip().splitlines()[-1])
    assert out["kernel-first"] == out["python-first"]


def test_every_kernel_states_its_floating_point_contract():
    """The rule behind the test above, for every compiled function of the package."""
    from sklearn_gd._kernels import (
        custom_loops,
        data_passes,
        loops,
        losses,
        optimizers,
        schedules,
        shuffle,
    )

    unset = []
    for module in (custom_loops, data_passes, loops, losses, optimizers, schedules, shuffle):
        for name, value in vars(module).items():
            options = getattr(value, "targetoptions", None)
            if options is not None and value.py_func.__module__ == module.__name__:
                unset += [f"{module.__name__}.{name}: {option}"
                          for option in ("fastmath", "error_model") if option not in options]
    assert not unset, unset


@pytest.fixture
def thread_pool_calls(monkeypatch):
    """Count how often the batch gradient hands blocks to its worker threads."""
    calls = []
    original = _batch._thread_pool

    def counting():
        calls.append(threading.current_thread().name)
        return original()

    monkeypatch.setattr(_batch, "_thread_pool", counting)
    return calls


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("Est,optimizer", [(GDRegressor, "sgd"), (GDRegressor, "lbfgs"),
                                           (GDClassifier, "adam")])
def test_n_jobs_does_not_change_the_bits(Est, optimizer, layout, thread_pool_calls):
    X, y = _large_regression()
    if Est is GDClassifier:
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))  # 3 classes
    if layout == "csr":
        X = X.copy()
        X[np.abs(X) < 0.4] = 0.0  # ~30% zeros: still above the threading threshold
        X = sp.csr_matrix(X)
    states = {}
    for n_jobs in (1, 2, None, -1):
        calls_before = len(thread_pool_calls)
        est = Est(solver="batch", optimizer=optimizer, max_iter=8, tol=None, n_jobs=n_jobs,
                  random_state=0).fit(X, y)
        states[n_jobs] = state(est)
        if n_jobs == 1:
            assert len(thread_pool_calls) == calls_before, "n_jobs=1 used worker threads"
        else:
            assert len(thread_pool_calls) > calls_before, \
                f"the threaded path did not engage for n_jobs={n_jobs}"
    assert states[1] == states[2] == states[None] == states[-1]


# ====================================================== b. untouched inputs
def _inputs(kind, layout, dtype):
    X, y = _regression(n=120, d=5, dtype=dtype) if kind == "reg" else \
        _classification(n=120, d=5, dtype=dtype)
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


# ============================================================ c. concurrency
def _concurrent_jobs(solver):
    """8 different fits (data, seeds and parameters differ) for one solver."""
    jobs = []
    if solver == "batch":
        X, y = _large_regression()
        for i in range(8):
            rows = slice(i * 500, 36_000 + i * 500)
            params = dict(solver="batch", optimizer=("sgd", "adam", "nesterov", "lbfgs")[i % 4],
                          max_iter=6, tol=None, alpha=1e-4 * (i + 1), n_jobs=2)
            jobs.append((GDRegressor, params, X[rows], y[rows]))
    else:
        X, y = _classification(n=3000, d=10)
        Xr, yr = _regression(n=3000, d=10)
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
    X, y = _classification(n=20_000, d=60, n_classes=2)
    fits = []
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
            fits.append(state(GDClassifier(solver=solver, max_iter=3, tol=None,
                                            random_state=0).fit(X, y)))
    assert fits[0] == fits[1]


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
    X, y = _classification(n=2000, d=8)
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


# ============================================================ d. persistence
_PERSISTENCE_CONFIGS = [
    (GDRegressor, dict(solver="stochastic", optimizer="adam", learning_rate="invscaling",
                       eta0=0.01, power_t=0.25)),
    (GDRegressor, dict(solver="stochastic", optimizer="sgd", penalty="l2", alpha=1e-3)),
    (GDRegressor, dict(solver="batch", optimizer="rmsprop", eta0=0.01, penalty="l1")),
    (GDClassifier, dict(solver="minibatch", optimizer="momentum", batch_size=10)),
    (GDClassifier, dict(solver="stochastic", loss="hinge", learning_rate="optimal",
                        alpha=1e-3)),
    (GDClassifier, dict(solver="minibatch", loss="focal", optimizer="adamw", eta0=0.01,
                        learning_rate="exponential", decay_rate=0.2)),
]


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("Est,params", _PERSISTENCE_CONFIGS)
def test_round_trip_mid_partial_fit_continues_bit_identically(Est, params, how, tmp_path):
    if Est is GDRegressor:
        X, y = _regression(n=600)
        extra = {}
    else:
        X, y = _classification(n=600)
        extra = {"classes": np.arange(3)}
    chunks = np.array_split(np.arange(600), 6)
    est = Est(random_state=0, **params)
    for idx in chunks[:3]:
        est.partial_fit(X[idx], y[idx], **extra)
    loaded = roundtrip(est, how, tmp_path)
    assert loaded is not est and state(loaded) == state(est)
    halfway = est.coef_.copy()
    for idx in chunks[3:]:
        est.partial_fit(X[idx], y[idx], **extra)
        loaded.partial_fit(X[idx], y[idx], **extra)
    assert state(loaded) == state(est)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert est.n_iter_ == 6
    # The continuation did train (a frozen model would pass the comparison).
    assert not np.array_equal(halfway, est.coef_)


def test_round_trip_then_warm_start_fit_continues_bit_identically(tmp_path):
    X, y = _classification(n=400)
    est = GDClassifier(solver="stochastic", optimizer="adam", eta0=0.01, warm_start=True,
                       max_iter=3, tol=None, random_state=0).fit(X, y)
    loaded = roundtrip(est, "joblib", tmp_path)
    first = est.coef_.copy()
    est.fit(X, y)
    loaded.fit(X, y)
    assert state(loaded) == state(est)
    assert not np.array_equal(first, est.coef_)


# ======================================================= e. Numba disk cache
_GRID_SCRIPT = """
    import json, os, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    from joblib import Parallel, delayed
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV
    import sklearn_gd
    from sklearn_gd import GDClassifier

    def where():
        import sklearn_gd, os
        return os.path.dirname(sklearn_gd.__file__), os.getpid()

    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    grid = GridSearchCV(
        # One solver: every candidate needs the same kernels, so both workers
        # compile them at once and race to write the same files (more solvers
        # would only add compile time, not another race).
        GDClassifier(solver="batch", max_iter=5, tol=None, random_state=0),
        {"optimizer": ["sgd", "adam"], "alpha": [1e-4, 1e-3]},
        cv=2, n_jobs=2, pre_dispatch="all",
    ).fit(X, y)
    workers = Parallel(n_jobs=2)(delayed(where)() for _ in range(8))
    print(json.dumps({
        "package": os.path.dirname(sklearn_gd.__file__),
        "workers": sorted({w[0] for w in workers}),
        "n_worker_pids": len({w[1] for w in workers} - {os.getpid()}),
        "best": grid.best_params_,
        "coef": grid.best_estimator_.coef_.tobytes().hex(),
        "scores": [float(s).hex() for s in grid.cv_results_["mean_test_score"]],
    }))
"""


@pytest.mark.slow
def test_concurrent_processes_fill_an_empty_cache_without_crashing(tmp_path):
    """GridSearchCV(n_jobs=2) in a fresh interpreter, twice: first its loky worker
    processes compile the same kernels from an empty cache at the same time (and
    race to write the same cache files), then a second run loads them."""
    site = tmp_path / "site"
    pkg = _copy_package(site)
    env = _clean_env(PYTHONPATH=str(site))

    def start():
        return subprocess.Popen([sys.executable, "-c", textwrap.dedent(_GRID_SCRIPT)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=tmp_path)

    def finish(proc):
        try:
            out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        return json.loads(out.strip().splitlines()[-1])

    cold = finish(start())
    cache_files = sorted(p.name for p in pkg.rglob("*.nbi"))
    assert cache_files, "no Numba cache was written into the package copy"
    warm = finish(start())
    for result in (cold, warm):
        assert result["package"] == str(pkg)
        assert result["workers"] == [str(pkg)]  # the workers imported the copy too
        assert result["n_worker_pids"] >= 1
    # Freshly compiled (racing writers) and cached code compute the same bits.
    assert cold["coef"] == warm["coef"]
    assert cold["scores"] == warm["scores"]
    assert sorted(p.name for p in pkg.rglob("*.nbi")) == cache_files
    assert not [p for p in pkg.rglob("*") if p.name.endswith(".tmp")]


_FIT_SCRIPT = """
    import json, os, warnings
    import numpy as np
    import sklearn_gd
    from sklearn_gd import GDRegressor
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = GDRegressor(max_iter=200, tol=None).fit(X, y)
    print(json.dumps({
        "package": os.path.dirname(sklearn_gd.__file__),
        "coef": est.coef_.tolist(),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }))
"""


def _read_only_install(tmp_path):
    """A copy of the package made read-only; returns (site dir, package dir, is_effective).

    ``is_effective`` is False when chmod does not stop this user from writing
    (root): the test then simulates an unwritable install differently.
    """
    site = tmp_path / "site"
    pkg = _copy_package(site)
    for path in sorted(site.rglob("*"), reverse=True) + [site]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    effective = not os.access(pkg, os.W_OK) and not os.access(pkg / "_kernels", os.W_OK)
    return site, pkg, effective


def _make_writable(root):
    for path in [root] + list(Path(root).rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _block_in_tree_cache(site, pkg):
    """Stand-in for a read-only package when chmod is ineffective (root): a regular
    file where each __pycache__ directory would go, so that Numba cannot create
    its in-tree cache (os.makedirs fails exactly as on a read-only directory)."""
    _make_writable(site)
    for package_dir in [pkg] + [d for d in pkg.rglob("*") if d.is_dir()]:
        (package_dir / "__pycache__").write_text("not a directory\n")


def _unwritable_path(tmp_path, name):
    """A path that cannot be created, even by root: it lies under a regular file."""
    blocker = tmp_path / f"{name}-is-a-file"
    blocker.write_text("")
    return blocker / "cache"


@pytest.mark.slow
def test_read_only_install_still_fits(tmp_path):
    site, pkg, effective = _read_only_install(tmp_path)
    user_cache = tmp_path / "user-cache"  # Numba's user-wide fallback ($XDG_CACHE_HOME)
    try:
        if effective:
            # A real read-only install; NUMBA_CACHE_DIR unset.
            env = _clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(user_cache))
        else:
            # Running as root: simulate (see _block_in_tree_cache), and point
            # NUMBA_CACHE_DIR at a path that cannot be created either.
            _block_in_tree_cache(site, pkg)
            env = _clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(user_cache),
                             NUMBA_CACHE_DIR=str(_unwritable_path(tmp_path, "numba")))
        proc = _run_python(_FIT_SCRIPT, env=env, cwd=tmp_path)
    finally:
        _make_writable(site)  # let pytest clean tmp_path up
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["package"] == str(pkg)
    np.testing.assert_allclose(result["coef"], [1.0, -2.0, 0.5, 3.0], atol=1e-3)
    # At most a warning about caching; nothing else.
    assert not [w for w in result["warnings"] if "Numba" not in w and "cach" not in w], \
        result["warnings"]
    # Nothing was written into the install; the kernels went to the user-wide cache.
    assert not list(pkg.rglob("*.nbi")) and not list(pkg.rglob("*.nbc"))
    assert list(user_cache.rglob("*.nbi")), "Numba did not fall back to the user-wide cache"


@pytest.mark.slow
def test_unusable_numba_cache_dir_still_fits(tmp_path):
    """NUMBA_CACHE_DIR pointing where no directory can be created: Numba skips it
    and caches next to the sources (the package copy here is writable)."""
    site = tmp_path / "site"
    pkg = _copy_package(site)
    env = _clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(tmp_path / "user-cache"),
                     NUMBA_CACHE_DIR=str(_unwritable_path(tmp_path, "numba")))
    proc = _run_python(_FIT_SCRIPT, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(result["coef"], [1.0, -2.0, 0.5, 3.0], atol=1e-3)
    assert not [w for w in result["warnings"] if "Numba" not in w and "cach" not in w], \
        result["warnings"]
    assert list(pkg.rglob("*.nbi")), "expected the in-tree cache as the fallback"


@pytest.mark.slow
def test_no_writable_cache_location_at_all_still_fits(tmp_path):
    site, pkg, effective = _read_only_install(tmp_path)
    try:
        if not effective:
            _block_in_tree_cache(site, pkg)
        env = _clean_env(PYTHONPATH=str(site),
                         XDG_CACHE_HOME=str(_unwritable_path(tmp_path, "xdg")),
                         NUMBA_CACHE_DIR=str(_unwritable_path(tmp_path, "numba")))
        proc = _run_python(_FIT_SCRIPT, env=env, cwd=tmp_path)
    finally:
        _make_writable(site)
    if proc.returncode != 0:
        if "no locator available" in proc.stderr:
            raise AssertionError(proc.stderr[-600:])  # the known failure
        raise RuntimeError(f"unexpected failure:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(result["coef"], [1.0, -2.0, 0.5, 3.0], atol=1e-3)


# ================================================== f. numerical robustness
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
    X, _ = _classification(n=50, d=3, n_classes=n_classes)
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


# ============================================================ g. divergence
def _divergence_data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 5))
    return X, X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(100)


@pytest.mark.parametrize("solver", ["stochastic", "minibatch"])
def test_partial_fit_on_a_long_chunk_reports_a_diverging_last_update(solver):
    """partial_fit checks the last update of a chunk on its first 256 rows only
    (sklearn_gd._base._STREAM_CHECK_ROWS); a blow-up must still be caught on a
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
