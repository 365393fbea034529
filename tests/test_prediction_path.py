"""Prediction on plain NumPy chunks takes a lean validation path: same answers, same errors.

``predict``, ``decision_function`` and ``predict_proba`` on a C-ordered float
array skip ``validate_data`` (about nine tenths of a call on 10 rows). Every
answer must equal the general path's bit for bit (the general path is reached
here through inputs the lean one declines: lists, Fortran order, DataFrames),
and every bad input must fail with the general path's error.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from sklearn_gd import GDClassifier, GDRegressor

_rng = np.random.RandomState(0)
X = _rng.standard_normal((300, 6))
X.flags.writeable = False
Y_BINARY = (X[:, 0] + 0.3 * _rng.standard_normal(300) > 0).astype(int)
Y_THREE = np.digitize(X[:, 1], [-0.5, 0.5])
Y_REAL = X @ np.arange(1.0, 7.0) + 5.0


class _Subclass(np.ndarray):
    """Not a plain ndarray: takes the general path."""


def _models(dtype):
    Xd = X.astype(dtype)
    return [
        (GDClassifier(loss="log_loss", max_iter=20, tol=None).fit(Xd, Y_BINARY),
         ("predict", "decision_function", "predict_proba", "predict_log_proba")),
        (GDClassifier(loss="log_loss", max_iter=20, tol=None).fit(Xd, Y_THREE),
         ("predict", "decision_function", "predict_proba")),
        (GDClassifier(loss="modified_huber", max_iter=20, tol=None).fit(Xd, Y_THREE),
         ("predict", "predict_proba")),
        (GDClassifier(loss="hinge", max_iter=20, tol=None).fit(Xd, np.array(["a", "b"])[Y_BINARY]),
         ("predict", "decision_function")),
        (GDRegressor(max_iter=20, tol=None).fit(Xd, Y_REAL), ("predict",)),
        (GDRegressor(max_iter=20, tol=None).fit(Xd, np.column_stack([Y_REAL, -Y_REAL])),
         ("predict",)),
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lean_and_general_paths_agree_bit_for_bit(dtype):
    chunk = np.ascontiguousarray(X[:10], dtype=dtype)
    for model, methods in _models(dtype):
        for name in methods:
            method = getattr(model, name)
            lean = method(chunk)
            # Inputs the lean path declines but validate_data turns into the same
            # C-ordered array (Fortran order would change BLAS's summation order,
            # hence the last bits, on either path).
            # A list becomes float64, as it always did.
            others = [chunk.view(_Subclass)] + ([chunk.tolist()] if dtype == np.float64 else [])
            for other in others:
                general = method(other)
                assert general.dtype == lean.dtype, (model, name)
                np.testing.assert_array_equal(lean, general, err_msg=f"{model} {name}")


def _error(call):
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value)


@pytest.mark.parametrize("name", ["predict", "decision_function", "predict_proba"])
def test_bad_chunks_fail_as_on_the_general_path(name):
    model = GDClassifier(loss="log_loss", max_iter=5, tol=None).fit(X, Y_BINARY)
    method = getattr(model, name)
    bad = {
        "nan": np.where(np.eye(10, 6) > 0, np.nan, X[:10]),
        "inf": np.where(np.eye(10, 6) > 0, np.inf, X[:10]),
        "width": np.ascontiguousarray(X[:10, :4]),
        "empty": np.empty((0, 6)),
    }
    for case, chunk in bad.items():
        lean = _error(lambda c=chunk: method(c))
        general = _error(lambda c=chunk: method(c.tolist() if c.size else np.asfortranarray(c)))
        assert lean == general, case
    # 1-D and 3-D input: the general path's errors (the lean one declines them).
    with pytest.raises(ValueError, match="Expected 2D array"):
        method(X[0])
    with pytest.raises(ValueError):
        method(X[None, :10])


def test_unfitted_and_named_models_take_the_general_path():
    with pytest.raises(NotFittedError):
        GDRegressor().predict(X[:10])
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(6)])
    model = GDRegressor(max_iter=5, tol=None).fit(frame, Y_REAL)
    # A model fitted with feature names warns about a plain array, as scikit-learn's do.
    with pytest.warns(UserWarning, match="feature names"):
        plain = model.predict(np.ascontiguousarray(X[:10]))
    np.testing.assert_allclose(plain, model.predict(frame.iloc[:10]), rtol=1e-12)


def test_sparse_and_integer_chunks_still_predict():
    model = GDClassifier(loss="log_loss", max_iter=5, tol=None).fit(X, Y_BINARY)
    dense = model.decision_function(np.ascontiguousarray(X[:10]))
    np.testing.assert_allclose(model.decision_function(sp.csr_matrix(X[:10])), dense,
                               rtol=1e-12)
    ints = np.round(X[:10] * 10).astype(np.int64)
    np.testing.assert_array_equal(model.decision_function(ints),
                                  model.decision_function(ints.astype(np.float64)))
