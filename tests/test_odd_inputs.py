"""Odd but legal inputs, and illegal ones that must fail clearly (issue 12).

Each legal input (extreme sample or class weights, extreme feature scales, the
kernels run as plain Python) must give the fit an independent reference gives;
each illegal one a ``ValueError`` that names the parameter and the value, as
scikit-learn's own validation does, instead of an error from deep inside
(``ZeroDivisionError``, a divergence blamed on ``eta0``, joblib's message) or a
silently useless model.
"""

import json
import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

import sklearn_gd
from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._base import _Rows

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]

PACKAGE_PARENT = Path(sklearn_gd.__file__).resolve().parent.parent


def _regression(n=120, d=4, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = X @ rng.standard_normal(d) + 0.5 + 0.1 * rng.standard_normal(n)
    return X, y


def _classification(n=150, d=4, n_classes=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    y = np.argmax(X @ rng.standard_normal((d, n_classes))
                  + 0.3 * rng.standard_normal((n, n_classes)), axis=1)
    return X, y


# ============================================ 10b. NUMBA_DISABLE_JIT=1 (debugging)
_NO_JIT_CONFIGS = [
    ("reg", False, dict(solver="batch")),
    ("reg", True, dict(solver="stochastic", optimizer="adam")),
    ("reg", False, dict(solver="stochastic", optimizer="normalized")),
    ("clf", True, dict(solver="minibatch", batch_size=16, optimizer="momentum")),
    ("clf", False, dict(solver="stochastic", penalty="l1")),
    ("clf", False, dict(optimizer="lbfgs")),
]


def _no_jit_fits():
    """coef_ of a few small fits covering the loops, row formats and optimizers."""
    out = []
    for kind, sparse, params in _NO_JIT_CONFIGS:
        X, y = _regression(n=40) if kind == "reg" else _classification(n=60, n_classes=3)
        if sparse:
            X = sp.csr_matrix(X)
        est = (GDRegressor if kind == "reg" else GDClassifier)(
            max_iter=3, tol=None, random_state=0, **params)
        out.append(est.fit(X, y).coef_.ravel().tolist())
    X, y = _classification(n=60, n_classes=3)
    stream = GDClassifier(solver="stochastic", random_state=0)
    for start in range(0, 60, 20):
        stream.partial_fit(X[start:start + 20], y[start:start + 20], classes=[0, 1, 2])
    out.append(stream.coef_.ravel().tolist())
    return out


def test_fits_with_numba_jit_disabled():
    """NUMBA_DISABLE_JIT=1 runs the kernels as plain Python: fits must work (the
    prefetch intrinsic and the @overload-ed row helpers used to raise) and agree
    with the compiled kernels up to rounding."""
    code = f"""
        import json, sys, warnings
        warnings.simplefilter("error", RuntimeWarning)
        warnings.filterwarnings("ignore", "The features' scales span")
        warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
        import numba, sklearn_gd
        assert numba.config.DISABLE_JIT
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_odd_inputs as T
        print(json.dumps({{"package": sklearn_gd.__file__, "coefs": T._no_jit_fits()}}))
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(NUMBA_DISABLE_JIT="1", PYTHONPATH=str(PACKAGE_PARENT))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    assert child["package"] == sklearn_gd.__file__
    for python, compiled in zip(child["coefs"], _no_jit_fits(), strict=True):
        assert_allclose(python, compiled, rtol=1e-6, atol=1e-9)


# ===================================== 9. CSR data with 2**31 or more columns
@contextmanager
def _address_space_cap(extra=4 * 2**30):
    """Let this process map at most ``extra`` more bytes while the block runs.

    A regression of the width check would try to allocate coef_ and a power
    iteration vector of 16 GiB each: it must fail here with MemoryError, not
    take a shared machine's memory.
    """
    resource = pytest.importorskip("resource")
    try:
        with open("/proc/self/status") as status:
            vm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        pytest.skip("needs /proc/self/status to cap the address space")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm_kb * 1024 + extra
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _wide_csr(n=20, extra_columns=10):
    """A CSR matrix wider than int32 can index, with a few non-zeros near both ends."""
    width = 2**31 + extra_columns
    rng = np.random.RandomState(0)
    rows = np.repeat(np.arange(n), 2)
    cols = np.tile([3, width - 2], n)
    X = sp.csr_matrix((rng.standard_normal(2 * n), (rows, cols)), shape=(n, width))
    return X, np.arange(n) % 2


@pytest.mark.parametrize("call", ["reg.fit", "reg.partial_fit", "clf.fit", "clf.partial_fit"])
def test_csr_wider_than_int32_is_a_clear_error(call):
    """The column indices used to pass the bounds check and then wrap negative in
    the cast to int32 (the kernels then wrote outside the weights); now the width
    is refused, naming n_features, before anything is allocated."""
    X, y = _wide_csr()
    kind, method = call.split(".")
    est = GDRegressor(max_iter=2) if kind == "reg" else GDClassifier(max_iter=2)
    kwargs = {"classes": [0, 1]} if call == "clf.partial_fit" else {}
    with _address_space_cap(), pytest.raises(ValueError, match=f"n_features={X.shape[1]}"):
        getattr(est, method)(X, y, **kwargs)
    assert not hasattr(est, "coef_")


def test_rows_refuse_csr_wider_than_int32():
    """The kernels' row view checks the width itself, before the int32 cast (the
    Dask path builds it per chunk)."""
    X, _ = _wide_csr()
    with pytest.raises(ValueError, match="n_features"):
        _Rows(X)


# ============================== 8. inputs whose errors did not name the cause
@pytest.mark.parametrize("scale", [1e308 / 2, 1e-320], ids=["huge", "subnormal"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_extreme_sample_weights_fit_as_their_ratios(scale, dtype, method):
    """Only the ratios of the weights enter the weighted mean: weights of 1e308
    (whose sum overflowed: ZeroDivisionError) or 1e-320 (whose scale factor did:
    divergence "with learning rate nan") fit as the same ratios of ordinary size."""
    X, y = _regression(dtype=dtype)
    ratios = np.where(np.arange(X.shape[0]) % 3 == 0, 2.0, 1.0)  # doubling is exact
    weights = ratios * scale
    frozen = weights.copy()
    params = dict(max_iter=20, tol=None, random_state=0, solver="minibatch")
    got = getattr(GDRegressor(**params), method)(X, y, sample_weight=weights)
    ref = getattr(GDRegressor(**params), method)(X, y, sample_weight=ratios)
    assert_allclose(got.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    assert_allclose(got.intercept_, ref.intercept_, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(weights, frozen)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_class_weights_fit_as_their_ratios(dtype):
    """class_weight={0: 1e308, ...} raised ZeroDivisionError; times sample weights of
    1e300 the product overflows float64 as well."""
    X, y = _classification()
    X = X.astype(dtype)
    sample_weight = np.full(X.shape[0], 1e300)
    params = dict(max_iter=20, tol=None, random_state=0)
    got = GDClassifier(class_weight={0: 1e308, 1: 2.5e307}, **params).fit(
        X, y, sample_weight=sample_weight)
    ref = GDClassifier(class_weight={0: 4.0, 1: 1.0}, **params).fit(X, y)
    assert_allclose(got.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    stream = GDClassifier(class_weight={0: 1e308, 1: 2.5e307}, random_state=0)
    stream.partial_fit(X, y, classes=[0, 1], sample_weight=sample_weight)
    ref_stream = GDClassifier(class_weight={0: 4.0, 1: 1.0}, random_state=0)
    ref_stream.partial_fit(X, y, classes=[0, 1])
    assert_allclose(stream.coef_, ref_stream.coef_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("scale", [1e78, 1e150])
@pytest.mark.parametrize("solver", ["batch", "minibatch"])
def test_huge_feature_scale_fits(scale, solver):
    """X * 1e78: the power iteration's norm overflowed, eta0_ came out 0.0 and the
    model all zero. Without intercept or penalty, gradient descent is
    scale-equivariant: the fit is that of the unscaled X, with coef_ / scale."""
    X, y = _regression()
    params = dict(fit_intercept=False, penalty=None, max_iter=30, tol=None, random_state=0,
                  solver=solver, optimizer="sgd")
    got = GDRegressor(**params).fit(X * scale, y)
    ref = GDRegressor(**params).fit(X, y)
    assert 0.0 < got.eta0_ < np.inf
    assert_allclose(got.coef_ * scale, ref.coef_, rtol=1e-8)


def test_features_beyond_auto_step_are_a_clear_error():
    """Where the curvature estimate itself overflows, eta0='auto' says so instead of
    setting eta0_ = 0 (a silently all-zero model)."""
    X, y = _regression()
    with pytest.raises(ValueError, match="eta0='auto' cannot be derived from X"):
        GDRegressor(fit_intercept=False, solver="stochastic").fit(X * 1e160, y)


def _fit_call(call):
    """(estimator, method, args, kwargs) of one of the calls below."""
    X, y = _regression()
    Xc, yc = _classification()
    return {
        "class_weight inf": (GDClassifier(class_weight={0: np.inf}), "fit", (Xc, yc), {}),
        "class_weight nan": (GDClassifier(class_weight={1: np.nan}), "fit", (Xc, yc), {}),
        "class_weight negative": (GDClassifier(class_weight={0: -1.0}), "fit", (Xc, yc), {}),
        "class_weight negative, partial_fit": (
            GDClassifier(class_weight={0: -0.5}), "partial_fit", (Xc, yc),
            {"classes": [0, 1]}),
        "milestones nan": (GDRegressor(learning_rate="step", milestones=[np.nan]), "fit",
                           (X, y), {}),
        "milestones negative": (GDRegressor(learning_rate="step", milestones=[3, -1]),
                                "partial_fit", (X, y), {}),
        "n_jobs 0": (GDRegressor(n_jobs=0), "fit", (X, y), {}),
        "classes nan": (GDClassifier(), "partial_fit", (Xc, yc),
                        {"classes": [0, 1, np.nan]}),
        "y beyond float32": (GDRegressor(), "fit", (X.astype(np.float32), y * 1e39), {}),
        "y beyond float32, partial_fit": (GDRegressor(), "partial_fit",
                                          (X.astype(np.float32), y * 1e39), {}),
    }[call]


_BAD_CALLS = {
    "class_weight inf": r"class_weight must map labels to finite non-negative .* inf",
    "class_weight nan": r"class_weight must map labels to finite non-negative .* nan",
    "class_weight negative": r"class_weight must map labels to finite non-negative .* -1\.0",
    "class_weight negative, partial_fit": r"class_weight must map .* -0\.5",
    "milestones nan": r"milestones must be epoch numbers .* \[nan\]",
    "milestones negative": r"milestones must be epoch numbers .* \[3, -1\]",
    "n_jobs 0": r"'n_jobs' parameter .* Got 0 instead",
    "classes nan": r"classes must not contain NaN or infinity, got \[0, 1, nan\]",
    "y beyond float32": r"y has values up to .* beyond the float32 range",
    "y beyond float32, partial_fit": r"y has values up to .* beyond the float32 range",
}


@pytest.mark.parametrize("call", list(_BAD_CALLS))
def test_bad_values_are_named(call):
    """Each used to fail elsewhere (NaN to integer, joblib's "n_jobs == 0 in Parallel"
    only on data large enough for threads, a divergence blamed on eta0) or not at
    all (a negative class weight trained; a NaN class was declared)."""
    est, method, args, kwargs = _fit_call(call)
    with pytest.raises(ValueError, match=_BAD_CALLS[call]):
        getattr(est, method)(*args, **kwargs)
    assert not hasattr(est, "coef_")
