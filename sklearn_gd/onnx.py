"""ONNX export of both estimators through skl2onnx (the optional ``onnx`` extra).

Importing this module registers a shape calculator and a converter for
:class:`~sklearn_gd.GDClassifier` and :class:`~sklearn_gd.GDRegressor`, so that
``skl2onnx.to_onnx`` converts them alone or inside a ``Pipeline``::

    import sklearn_gd.onnx  # noqa: F401  (registers the converters)
    from skl2onnx import to_onnx

    onx = to_onnx(model, X[:1].astype(np.float32))

The graphs compute what ``predict``, ``predict_proba`` and the regressor's
``predict`` compute, in the input's float type: the scores ``X @ coef_.T +
intercept_``; for two classes the label ``classes_[score > 0]``, otherwise
the class of the largest score; the probabilities of the losses that have
them: the logistic function (two classes) or the softmax over all classes
(log and focal loss, which are multinomial here; skl2onnx's own SGD converter
assumes one-vs-rest and is wrong for them), and modified Huber's
``(clip(score, -1, 1) + 1) / 2`` normalised over the one-vs-rest classes.
For the other losses, which have no probabilities, the second output holds
the decision scores (as skl2onnx does for ``SGDClassifier(loss="hinge")``),
one column per class (two for a binary problem: ``-score``, ``score``).
"""

import numpy as np
import scipy.sparse as sp
from skl2onnx import update_registered_converter
from skl2onnx.algebra.onnx_ops import (
    OnnxAdd,
    OnnxArgMax,
    OnnxArrayFeatureExtractor,
    OnnxCast,
    OnnxClip,
    OnnxConcat,
    OnnxDiv,
    OnnxEqual,
    OnnxGreater,
    OnnxIdentity,
    OnnxMatMul,
    OnnxMul,
    OnnxNeg,
    OnnxReduceSumApi11,
    OnnxReshape,
    OnnxSigmoid,
    OnnxSoftmax,
    OnnxSub,
    OnnxWhere,
)
from skl2onnx.common.data_types import guess_numpy_type
from skl2onnx.common.shape_calculator import (
    calculate_linear_classifier_output_shapes,
    calculate_linear_regressor_output_shapes,
)
from skl2onnx.proto import onnx_proto

from ._classification import GDClassifier
from ._regression import GDRegressor

_PROBABILISTIC = ("log_loss", "focal")


def _dense_coef(estimator):
    coef = estimator.coef_
    return coef.toarray() if sp.issparse(coef) else np.asarray(coef)


def _scores(X, estimator, dtype, opv):
    """``X @ coef_.T + intercept_`` as (N, n_outputs)."""
    coef = np.atleast_2d(_dense_coef(estimator)).astype(dtype)
    intercept = np.atleast_1d(estimator.intercept_).astype(dtype)
    return OnnxAdd(OnnxMatMul(X, coef.T, op_version=opv), intercept, op_version=opv)


def _huber_probabilities(scores, n_columns, dtype, opv):
    """(clip(s, -1, 1) + 1) / 2 per column, normalised per row (uniform where all are 0)."""
    half = np.array([0.5], dtype=dtype)
    prob = OnnxMul(OnnxAdd(OnnxClip(scores, np.array(-1, dtype=dtype),
                                    np.array(1, dtype=dtype), op_version=opv),
                           np.array([1], dtype=dtype), op_version=opv), half, op_version=opv)
    if n_columns == 1:
        return OnnxConcat(OnnxSub(np.array([1], dtype=dtype), prob, op_version=opv), prob,
                          axis=1, op_version=opv)
    total = OnnxReduceSumApi11(prob, axes=[1], keepdims=1, op_version=opv)
    zero = OnnxEqual(total, np.array([0], dtype=dtype), op_version=opv)
    uniform = np.full((1, n_columns), 1.0 / n_columns, dtype=dtype)
    return OnnxWhere(zero, uniform, OnnxDiv(prob, total, op_version=opv), op_version=opv)


def _operator_inputs(operator, container):
    """(estimator, opset, input variable, float type of the graph) of a conversion."""
    X = operator.inputs[0]
    dtype = guess_numpy_type(X.type)
    if dtype not in (np.float32, np.float64):
        dtype = np.float32
    return operator.raw_operator, container.target_opset, X, dtype


def _convert_classifier(scope, operator, container):
    estimator, opv, X, dtype = _operator_inputs(operator, container)
    label_out, proba_out = operator.outputs
    scores = _scores(X, estimator, dtype, opv)
    n_columns = np.atleast_2d(_dense_coef(estimator)).shape[0]
    binary = n_columns == 1
    if binary:
        both = OnnxConcat(OnnxNeg(scores, op_version=opv), scores, axis=1, op_version=opv)
        # classes_[score > 0]: a score of exactly 0 is classes_[0], as in predict.
        index = OnnxCast(OnnxGreater(scores, np.array([0], dtype=dtype), op_version=opv),
                         to=onnx_proto.TensorProto.INT64, op_version=opv)
    else:
        both = scores
        index = OnnxArgMax(scores, axis=1, keepdims=1, op_version=opv)
    if estimator.loss in _PROBABILISTIC:
        proba = OnnxSoftmax(both, axis=1, op_version=opv) if not binary else OnnxConcat(
            OnnxSub(np.array([1], dtype=dtype), OnnxSigmoid(scores, op_version=opv),
                    op_version=opv),
            OnnxSigmoid(scores, op_version=opv), axis=1, op_version=opv)
    elif estimator.loss == "modified_huber":
        proba = _huber_probabilities(scores, n_columns, dtype, opv)
    else:
        proba = both
    classes = estimator.classes_
    if classes.dtype.kind in "OUS":
        labels = np.array([str(c) for c in classes])
    else:
        labels = classes.astype(np.int64)
    label = OnnxReshape(OnnxArrayFeatureExtractor(labels, index, op_version=opv),
                        np.array([-1], dtype=np.int64), op_version=opv,
                        output_names=[label_out])
    label.add_to(scope, container)
    OnnxIdentity(proba, op_version=opv, output_names=[proba_out]).add_to(scope, container)


def _convert_regressor(scope, operator, container):
    estimator, opv, X, dtype = _operator_inputs(operator, container)
    scores = _scores(X, estimator, dtype, opv)
    OnnxIdentity(scores, op_version=opv, output_names=[operator.outputs[0]]).add_to(
        scope, container)


def register():
    """Register the converters with skl2onnx (done when this module is imported)."""
    update_registered_converter(
        GDClassifier, "SklearnGDGDClassifier", calculate_linear_classifier_output_shapes,
        _convert_classifier, options={"zipmap": [True, False, "columns"],
                                      "nocl": [True, False]})
    update_registered_converter(
        GDRegressor, "SklearnGDGDRegressor", calculate_linear_regressor_output_shapes,
        _convert_regressor)


register()
