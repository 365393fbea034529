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
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

import sklearn_gd
from sklearn_gd import GDClassifier, GDRegressor

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
