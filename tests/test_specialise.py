"""Kernels compiled for one configuration (``_kernels/specialise.py``).

The pass is checked on small kernels whose removed branches cannot even be
typed: they compile only if the configuration's constants decided them. The
specialised one-sample SGD loop is checked against the general loop it
replaces, bit for bit, over losses, schedules, averaging, penalties, row
formats and dtypes.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit
from numba.core.errors import TypingError

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._kernels import loops
from sklearn_gd._kernels._jit import FASTMATH
from sklearn_gd._kernels.specialise import specialised, specialised_kernels, variant_name


def _kernel(**options):
    return njit(nogil=True, fastmath=FASTMATH, error_model="numpy", **options)


@_kernel(inline="always")
def _inlined_choice(code, x):
    if code == 1:
        return x + 1.0
    return x.no_such_attribute  # not typeable: compiles only once pruned


@_kernel()
def _callee(x, codes):
    if codes[0] != 1:
        return x.no_such_attribute
    return 2.0 * x


@_kernel()
def _folds_codes(x, codes):
    return _inlined_choice(codes[0], x)


@_kernel()
def _folds_or_and_not(x, codes):
    passive = codes[1] == 3 or codes[1] == 4
    if not passive:
        return x - 1.0
    return x.no_such_attribute


@_kernel()
def _folds_hyper_zero(x, hyper):
    if hyper[0] > 0.0:
        return x.no_such_attribute
    return x * 3.0


@_kernel()
def _folds_callees(x, codes):
    return _callee(x, codes) + 1.0


CODES = np.array([1, 0], dtype=np.int64)


@pytest.mark.parametrize("kernel,arrays,constants,expected", [
    (_folds_codes, CODES, {("codes", 0): 1}, 3.0),
    (_folds_or_and_not, CODES, {("codes", 1): 0}, 1.0),
    (_folds_hyper_zero, np.zeros(1), {("hyper", 0): 0.0}, 6.0),
    (_folds_callees, CODES, {("codes", 0): 1}, 5.0),
])
def test_the_configuration_decides_branches_before_typing(kernel, arrays, constants, expected):
    with pytest.raises(TypingError):  # the general kernel types every branch
        kernel(2.0, arrays)
    assert specialised(kernel, constants)(2.0, arrays) == expected


def test_one_dispatcher_per_kernel_and_constants():
    first = specialised(_folds_codes, {("codes", 0): 1})
    second = specialised(_folds_codes, {("codes", 0): 2})
    assert specialised(_folds_codes, {("codes", 0): 1}) is first
    assert second is not first
    assert first in specialised_kernels() and second in specialised_kernels()
    assert variant_name({("hyper", 8): 0.0, ("codes", 0): 6}) == "c0=6.h8=0.0"
    # Cache files of their own: the same function and signature, other machine code.
    assert "_folds_codes-c0=1-" in first._cache._impl.filename_base
    assert "_folds_codes-c0=2-" in second._cache._impl.filename_base


def _fit(estimator, X, y, general, monkeypatch):
    if general:
        monkeypatch.setattr(loops, "scaled_sgd_epoch_for",
                            lambda codes, hyper: loops.scaled_sgd_epoch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y)
    monkeypatch.undo()
    return np.concatenate([estimator.coef_.ravel(), np.ravel(estimator.intercept_)])


def _data(task, layout):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 6))
    if task == "binary":
        y = (X[:, 0] + 0.5 * rng.standard_normal(200) > 0).astype(int)
    elif task == "multiclass":
        y = np.digitize(X[:, 1] + 0.3 * rng.standard_normal(200), [-0.5, 0.5])
    else:
        y = X @ np.arange(6.0) + rng.standard_normal(200)
    if layout == "float32":
        X = X.astype(np.float32)
    elif layout == "csr":
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    return X, y


@pytest.mark.parametrize("Est,task,params,layout", [
    (GDClassifier, "binary", {}, "dense"),
    (GDClassifier, "binary", {"loss": "hinge", "average": True}, "csr"),
    (GDClassifier, "binary", {"loss": "modified_huber", "penalty": "elasticnet"}, "dense"),
    (GDClassifier, "multiclass", {}, "float32"),
    (GDClassifier, "binary", {"loss": "hinge", "learning_rate": "pa1"}, "dense"),
    (GDRegressor, "regression", {"learning_rate": "invscaling"}, "csr"),
    (GDRegressor, "regression", {"loss": "huber", "fit_intercept": False, "penalty": "l1"},
     "dense"),
    (GDRegressor, "regression", {"loss": "epsilon_insensitive", "learning_rate": "pa2"},
     "float32"),
])
def test_specialised_sgd_epoch_gives_the_general_loops_bits(Est, task, params, layout,
                                                           monkeypatch):
    X, y = _data(task, layout)
    make = lambda: Est(solver="stochastic", optimizer="sgd", max_iter=15, tol=None,  # noqa: E731
                       random_state=0, **params)
    general = _fit(make(), X, y, True, monkeypatch)
    shipped = _fit(make(), X, y, False, monkeypatch)
    np.testing.assert_array_equal(shipped, general)


def test_plain_sgd_runs_a_specialised_epoch():
    codes = np.zeros(loops.N_CODES, dtype=np.int64)
    hyper = np.zeros(loops.N_HYPER)
    codes[loops.C_LOSS] = 6
    kernel = loops.sgd_epoch_kernel(codes, hyper)
    assert kernel is not loops.scaled_sgd_epoch
    assert kernel.py_func is loops.scaled_sgd_epoch.py_func
    hyper[loops.H_L1] = 0.1
    assert loops.sgd_epoch_kernel(codes, hyper) is not kernel  # L1 on: another variant
    codes[loops.C_AVERAGE] = 1
    assert loops.sgd_epoch_kernel(codes, hyper) is loops.scaled_sgd_epoch  # nothing to fold
    codes[loops.C_OPTIMIZER] = loops.OPT_ADAM
    assert loops.sgd_epoch_kernel(codes, hyper) is loops.sgd_epoch


def test_a_copy_with_other_globals_is_not_specialised():
    """A custom loss's loops are copies of the built-in ones with the user's functions
    in their globals: the same code and cache key, so they must not be cached."""
    from sklearn_gd._kernels.custom_loops import _jit_like, _rebind

    copy = _jit_like(loops.scaled_sgd_epoch,
                     _rebind(loops.scaled_sgd_epoch.py_func, dict(vars(loops))))
    with pytest.raises(ValueError, match="not its module's own kernel"):
        specialised(copy, {("codes", loops.C_LOSS): 6})
