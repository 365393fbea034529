"""Helpers shared by the test files: frozen inputs, digests, fitted states, round trips."""

import hashlib
import math
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import sklearn_gd
from sklearn_gd import GDClassifier

SOLVERS = ("batch", "minibatch", "stochastic")


def frozen(*arrays):
    """Read-only copies (CSR parts included; None passes), so no test or estimator can
    modify shared data."""
    out = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        if sp.issparse(a):
            a = a.copy()
            for part in (a.data, a.indices, a.indptr):
                part.flags.writeable = False
        else:
            a = np.array(a, copy=True, order="K")
            a.flags.writeable = False
        out.append(a)
    return tuple(out)


def digest(*arrays):
    """SHA-256 of the raw bytes, dtypes and shapes of arrays or sparse matrices (None too)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"None")
            continue
        parts = [a.data, a.indices, a.indptr] if sp.issparse(a) else [np.asarray(a)]
        for p in parts:
            h.update(f"{p.dtype.str}{p.shape}".encode())
            h.update(np.ascontiguousarray(p).tobytes())
    return h.hexdigest()


def state(est):
    """Everything that must be bit-identical between two equivalent fitted estimators,
    as JSON-safe strings (floats in hex, so NaN compares equal to NaN)."""
    out = {
        "coef_": est.coef_.tobytes().hex(),
        "intercept_": est.intercept_.tobytes().hex(),
        "n_iter_": int(est.n_iter_),
        "loss_curve_": [float(v).hex() for v in est.loss_curve_],
    }
    if hasattr(est, "optimizer_state_"):
        out["moments"] = [v.tobytes().hex() for _, v in sorted(est.optimizer_state_.items())]
    if hasattr(est, "t_"):
        out["t_"] = int(est.t_)
    if hasattr(est, "learning_rate_"):
        out["learning_rate_"] = float(est.learning_rate_).hex()
    return out


def roundtrip(est, how, tmp_path):
    """``est`` after a pickle (highest protocol) or joblib file round trip."""
    if how == "pickle":
        return pickle.loads(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


# ------------------------------------------------ fresh interpreters
PACKAGE_DIR = Path(sklearn_gd.__file__).resolve().parent


def clean_env(**extra):
    """Environment for a child Python: no inherited Numba cache settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NUMBA_") and k not in ("PYTHONPATH", "XDG_CACHE_HOME")}
    env.update(extra)
    return env


def run_python(code, env=None, timeout=300, cwd=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=cwd)


def copy_package(dest):
    """Copy sklearn_gd (sources only, no __pycache__ / Numba cache) under dest."""
    target = Path(dest) / "sklearn_gd"
    shutil.copytree(PACKAGE_DIR, target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.pyc"))
    assert not list(target.rglob("*.nbi"))
    return target


def regression_data(n=300, d=6, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    return X, y


def classification_data(n=300, d=6, n_classes=3, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = np.argmax(X @ rng.standard_normal((d, n_classes)) + 0.3
                  * rng.standard_normal((n, n_classes)), axis=1)
    return X, y


def large_regression_data():
    # 40000 x 20 = 800,000 multiply-adds per pass, above the block-thread
    # threshold of sklearn_gd._batch (2**18).
    return regression_data(n=40_000, d=20, seed=1)


# ------------------------------------------------------------ data and state
@cache
def split_data(name):
    """(X_train, X_test, y_train, y_test) of a scikit-learn data set, unscaled."""
    loader = {"breast_cancer": load_breast_cancer, "digits": load_digits,
              "diabetes": load_diabetes, "iris": load_iris}[name]
    X, y = loader(return_X_y=True)
    stratify = None if name == "diabetes" else y
    return frozen(*train_test_split(X, y, test_size=0.25, random_state=0,
                                     stratify=stratify))


@cache
def scaled_data(name):
    """Standardized (with training statistics) version of :func:`split_data`."""
    Xtr, Xte, ytr, yte = split_data(name)
    scaler = StandardScaler().fit(Xtr)
    return frozen(scaler.transform(Xtr), scaler.transform(Xte), ytr, yte)


def clf_data():
    Xtr, _, ytr, _ = scaled_data("breast_cancer")
    return Xtr, ytr


def reg_data():
    Xtr, _, ytr, _ = scaled_data("diabetes")
    return Xtr, (ytr - ytr.mean()) / ytr.std()


def data_for(Est):
    return clf_data() if Est is GDClassifier else reg_data()


def partial_fit_classes(est, X, y, **kwargs):
    """partial_fit that passes ``classes`` to a classifier."""
    if isinstance(est, GDClassifier):
        kwargs.setdefault("classes", np.unique(clf_data()[1]))
    return est.partial_fit(X, y, **kwargs)


STATE_ATTRS = ("coef_", "intercept_", "t_", "learning_rate_", "eta0_", "n_iter_",
                "loss_curve_")


def snapshot(est):
    """Deep copy of everything that defines the fitted model and its optimizer."""
    snap = {}
    for name in STATE_ATTRS:
        value = getattr(est, name)
        snap[name] = value.copy() if isinstance(value, np.ndarray) else \
            (list(value) if isinstance(value, list) else value)
    for key, value in est.optimizer_state_.items():
        snap["optimizer_state_." + key] = value.copy()
    return snap


def assert_same_state(a, b, keys=None):
    """Bit-for-bit equality of two snapshots (dtype, shape and bytes of arrays)."""
    assert a.keys() == b.keys()
    for key in keys or a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, key
            assert x.tobytes() == y.tobytes(), f"{key} differs: {x!r} vs {y!r}"
        elif isinstance(x, float) and math.isnan(x):  # L-BFGS's learning_rate_
            assert isinstance(y, float) and math.isnan(y), f"{key} differs: nan vs {y!r}"
        else:
            assert x == y, f"{key} differs: {x!r} vs {y!r}"


CORE_STATE = ("coef_", "intercept_", "t_", "optimizer_state_.first_moment",
         "optimizer_state_.second_moment")
