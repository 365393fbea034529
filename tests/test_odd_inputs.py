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
