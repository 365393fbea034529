"""ONNX export (``sklearn_gd.onnx``): onnxruntime's outputs equal the estimators' own.

Labels must be equal; scores and probabilities within 1e-5 (float32) or 1e-12
(float64). Skipped unless the ``onnx`` extra (skl2onnx, onnxruntime) is installed.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("skl2onnx")
rt = pytest.importorskip("onnxruntime")

from skl2onnx import to_onnx  # noqa: E402

import sklearn_gd.onnx  # noqa: E402, F401  (registers the converters)
from sklearn_gd import GDClassifier, GDRegressor  # noqa: E402

_rng = np.random.RandomState(0)
X = _rng.standard_normal((300, 5)) * np.array([1.0, 10.0, 0.1, 1.0, 3.0]) + 2.0
Y2 = (X[:, 0] + 0.1 * X[:, 1] + 0.3 * _rng.standard_normal(300) > 2.0).astype(int)
Y3 = np.digitize(X[:, 0] + 0.5 * _rng.standard_normal(300), [1.5, 2.5])
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _run(model, Xd, **options):
    onx = to_onnx(model, Xd[:1], options={id(model): options} if options else None)
    session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: Xd})


def _reference_scores(model, Xd):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(Xd)
    scores = model.decision_function(Xd)
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["log_loss", "focal", "modified_huber", "hinge",
                                  "squared_hinge", "squared_error"])
@pytest.mark.parametrize("labels", [Y2, Y3, np.array(["no", "yes", "maybe"])[Y3]],
                         ids=["binary", "3 classes", "strings"])
def test_classifier_matches_onnxruntime(dtype, loss, labels):
    Xd = X.astype(dtype)
    model = GDClassifier(loss=loss, max_iter=30, tol=None, random_state=0).fit(Xd, labels)
    label, scores = _run(model, Xd, zipmap=False)
    np.testing.assert_array_equal(label, model.predict(Xd))
    reference = _reference_scores(model, Xd)
    assert scores.dtype == dtype and scores.shape == reference.shape
    np.testing.assert_allclose(scores, reference, rtol=TOL[dtype], atol=TOL[dtype])


def test_softmax_probabilities_are_not_one_vs_rest():
    """skl2onnx's SGDClassifier converter, registered by hand, assumed one-vs-rest
    probabilities and was 0.49 off on softmax models."""
    model = GDClassifier(loss="log_loss", max_iter=30, tol=None).fit(X, Y3)
    _, proba = _run(model, X.astype(np.float32), zipmap=False)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(proba, model.predict_proba(X.astype(np.float32)), atol=1e-5)


def test_zipmap_output_and_a_pipeline_with_a_scaler():
    pipe = make_pipeline(StandardScaler(), GDClassifier(loss="log_loss", max_iter=30,
                                                        tol=None)).fit(X, Y3)
    Xf = X.astype(np.float32)
    label, proba = _run(pipe, Xf)
    np.testing.assert_array_equal(label, pipe.predict(Xf))
    expected = pipe.predict_proba(Xf)
    got = np.array([[row[c] for c in pipe.classes_] for row in proba])
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("targets", [1, 2])
def test_regressor_matches_onnxruntime(dtype, targets):
    Xd = X.astype(dtype)
    y = X @ np.arange(1.0, 6.0) + 7.0
    if targets == 2:
        y = np.column_stack([y, -X[:, 1]])
    model = make_pipeline(StandardScaler(), GDRegressor(max_iter=50, tol=None)).fit(Xd, y)
    (prediction,) = _run(model, Xd)
    expected = model.predict(Xd)
    np.testing.assert_allclose(prediction.reshape(expected.shape), expected,
                               rtol=TOL[dtype], atol=TOL[dtype] * 100)


def test_sparsified_l1_model_exports():
    model = GDClassifier(penalty="l1", alpha=0.05, max_iter=50, tol=None).fit(X, Y2)
    model.sparsify()
    assert sp.issparse(model.coef_)
    label, _ = _run(model, X.astype(np.float32), zipmap=False)
    np.testing.assert_array_equal(label, model.predict(X.astype(np.float32)))
