"""Determinism: the same inputs and seed give the same bits, in this process,
in another one (compiled afresh or loaded from the cache), for any n_jobs and
whatever order the kernels were first compiled in.

The tests marked ``slow`` start fresh interpreters that compile the kernels.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import (
    assert_same_state,
    classification_data,
    clean_env,
    clf_data,
    copy_package,
    data_for,
    large_regression_data,
    regression_data,
    run_python,
    scaled_data,
    snapshot,
    state,
)
from numpy.testing import assert_array_equal

from sklearn_gd import GDClassifier, GDRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]


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
        X, y = regression_data()
        est = GDRegressor(max_iter=15, tol=None, random_state=random_state, **params)
    else:
        X, y = classification_data()
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
        import test_determinism as T
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", numba.core.errors.NumbaWarning)
            out = [T.state(T._determinism_fit(kind, params))
                   for kind, params in T._DETERMINISM_CONFIGS]
        numba_warnings = [str(w.message) for w in caught
                          if issubclass(w.category, numba.core.errors.NumbaWarning)]
        print(json.dumps({{"package": sklearn_gd.__file__, "states": out,
                          "warnings": numba_warnings}}))
    """
    env = clean_env()
    if cache == "empty":
        site = tmp_path / "site"
        copy_package(site)
        env["PYTHONPATH"] = str(site)
    proc = run_python(code, env=env, timeout=300, cwd=tmp_path)
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
        copy_package(site)
        procs[order] = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_ORDER_SCRIPT), order],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env=clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(site / "xdg")))
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


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("Est,optimizer", [(GDRegressor, "sgd"), (GDRegressor, "lbfgs"),
                                           (GDClassifier, "adam")])
def test_n_jobs_does_not_change_the_bits(Est, optimizer, layout, thread_pool_calls):
    X, y = large_regression_data()
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


@pytest.mark.parametrize("solver", ["batch", "minibatch", "stochastic"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_same_random_state_same_model(Est, solver):
    X, y = data_for(Est)
    params = dict(solver=solver, batch_size=20, max_iter=5, tol=None,
                  early_stopping=Est is GDClassifier)
    a = Est(random_state=7, **params).fit(X, y)
    b = Est(random_state=7, **params).fit(X, y)
    assert_same_state(snapshot(a), snapshot(b))
    # Refitting the same estimator gives the same model again.
    before = snapshot(a)
    a.fit(X, y)
    assert_same_state(snapshot(a), before)


@pytest.mark.parametrize("solver", ["minibatch", "stochastic"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_different_random_state_different_model(Est, solver):
    X, y = data_for(Est)
    params = dict(solver=solver, batch_size=20, max_iter=5, tol=None)
    a = Est(random_state=0, **params).fit(X, y)
    b = Est(random_state=1, **params).fit(X, y)
    assert not np.array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_batch_model_does_not_depend_on_n_jobs(Est):
    """Documented: rows are cut into the same blocks whatever the thread count."""
    Xtr, _, ytr, _ = scaled_data("digits")  # large enough for the blocked gradient
    if Est is GDRegressor:
        ytr = ytr.astype(float)
    params = dict(solver="batch", optimizer="adam", max_iter=15, tol=None)
    models = [Est(n_jobs=n_jobs, **params).fit(Xtr, ytr) for n_jobs in (1, 2, None)]
    for other in models[1:]:
        assert_same_state(snapshot(other), snapshot(models[0]))


def test_refit_uses_new_random_state():
    X, y = clf_data()
    params = dict(solver="stochastic", max_iter=5, tol=None)
    est = GDClassifier(random_state=0, **params).fit(X, y)
    est.set_params(random_state=1).fit(X, y)
    fresh = GDClassifier(random_state=1, **params).fit(X, y)
    assert_array_equal(est.coef_, fresh.coef_)
