"""GDClassifier: linear classification trained by gradient descent."""

import math
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import spmatrix
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._base import (
    BaseGD,
    _kept_buffers,
    _supports_partial_fit,
    check_n_features,
    relative_weights,
    restore_on_error,
    serialized,
)
from ._callbacks import with_callbacks
from ._custom_loss import CustomLoss, loss_info
from ._docstrings import SHARED_ATTRIBUTES, SHARED_NOTES, SHARED_PARAMETERS
from ._kernels.data_passes import encode_labels
from ._lazy_predict import is_dask_array, lazy_prediction, lazy_score, result_dtype
from ._registry import CLASSIFIER_LOSSES
from ._sparse_coef import SparseCoefMixin, linear_scores

_DTYPES = [np.float64, np.float32]


def _softmax(scores):
    """Row-wise softmax in float64, returned in the scores' dtype.

    scikit-learn's ``softmax`` in NumPy operations, without its array-API
    dispatch, which cost three quarters of ``predict_proba`` on a 10-row
    chunk; the same operations in the same order, so the same bits.
    """
    X = np.array(scores, dtype=np.float64, copy=True)
    X -= X.max(axis=1).reshape((-1, 1))
    np.exp(X, out=X)
    X /= X.sum(axis=1).reshape((-1, 1))
    return X.astype(scores.dtype)


def _small_range_labels(y):
    """``np.unique(y, return_inverse=True)`` for integer labels of a small range, else None.

    The labels of most classification data are a few small integers; counting
    them in a table of their range is one pass, where ``np.unique`` hashes or
    sorts (docs/benchmarks.md has the figures), and scikit-learn's target
    check, given the classes found here, does not look for them again.
    """
    if y.ndim != 1 or y.dtype.kind not in "iu" or y.shape[0] == 0:
        return None
    low, high = int(y.min()), int(y.max())
    span = high - low + 1
    if span > max(1024, y.shape[0]):  # a table larger than the data: let np.unique sort
        return None
    if y.dtype.kind == "u":  # y - low >= 0 cannot wrap; then it is a small count
        shifted = (y - y.dtype.type(low)).astype(np.intp, copy=False)
    else:  # in intp: int8's 127 - (-128) would wrap in int8
        shifted = y.astype(np.intp, copy=False)
        shifted = shifted - low if low else shifted
    present = np.flatnonzero(np.bincount(shifted, minlength=span))
    position = np.zeros(span, dtype=np.intp)
    position[present] = np.arange(present.shape[0])
    if y.dtype.kind == "u":
        classes = present.astype(y.dtype) + y.dtype.type(low)
    else:
        classes = (present + low).astype(y.dtype)
    return classes, position[shifted]


def _with_known_classes(y, classes):
    """A view of ``y`` that carries its sorted unique values for scikit-learn's target checks.

    ``type_of_target`` looks for the unique values that ``sklearn.utils._unique``
    attaches to the array's dtype before computing them; a scikit-learn without
    that convention ignores the metadata and computes them, to the same answer.
    """
    return y.view(np.dtype(y.dtype, metadata={"unique": classes}))


def _has_proba(estimator):
    if not estimator._loss_info().probabilistic:
        raise AttributeError(
            f"probability estimates are not available for loss={estimator.loss!r}; "
            "use 'log_loss', 'modified_huber' or 'focal'."
        )
    return True


class GDClassifier(ClassifierMixin, SparseCoefMixin, BaseGD):
    __doc__ = f"""Linear classifier trained by Numba-jitted gradient descent.

    Minimises ``sum_i w_i * loss(y_i, scores_i) / sum_i w_i + penalty(coef_)``
    with batch, mini-batch or stochastic gradient descent and any of the
    optimizers and step-size schedules below. With more than two classes,
    "log_loss" and "focal" use a softmax over all classes (multinomial); the
    other losses train one-vs-rest, all classes in the same pass over the data.

    Parameters
    ----------
    loss : {{"log_loss", "hinge", "squared_hinge", "modified_huber", \
"perceptron", "focal", "squared_error", "huber", "epsilon_insensitive", \
"squared_epsilon_insensitive"}} or CustomLoss, default="log_loss"
        The loss on the margin ``z = y * score`` (``y`` in {{-1, +1}}):
        logistic ``log(1 + exp(-z))``, hinge ``max(0, 1 - z)``, its square,
        modified Huber (quadratically smoothed hinge, linear for ``z < -1``),
        perceptron ``max(0, -z)``, and the focal loss
        ``-(1 - p)**gamma * log(p)`` of the true-class probability ``p``,
        which down-weights well-classified samples (for imbalanced classes).
        "log_loss", "modified_huber" and "focal" give probabilities.

        The regression losses "squared_error", "huber", "epsilon_insensitive"
        and "squared_epsilon_insensitive" (see :class:`GDRegressor`, with
        ``epsilon``) fit the score to the target ``y`` in {{-1, +1}} of each
        class, one-vs-rest, as scikit-learn's ``SGDClassifier`` allows;
        "squared_error" is least-squares classification. They give no
        probabilities.

        A :class:`CustomLoss` gives a loss of your own, as two Numba-jitted
        functions of the score and the target (+1 or -1), one-vs-rest for
        more than two classes; it gives no probabilities.

    {SHARED_PARAMETERS}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``. "balanced"
        uses ``n_samples / (n_classes * np.bincount(y))`` (not available in
        ``partial_fit``, which sees one chunk at a time).

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights of the features (a sparse matrix after :meth:`sparsify`).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercepts.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    {SHARED_ATTRIBUTES}
    See Also
    --------
    GDRegressor : The regression counterpart.
    sklearn.linear_model.SGDClassifier : scikit-learn's (Cython) SGD classifier.

    Notes
    -----
    {SHARED_NOTES}
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), GDClassifier(random_state=0)).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseGD._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFIER_LOSSES)), CustomLoss],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        loss="log_loss",
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        solver="batch",
        batch_size=32,
        optimizer="auto",
        learning_rate="auto",
        eta0="auto",
        precondition="auto",
        power_t=0.5,
        decay_rate=0.1,
        milestones=None,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        optimizer_epsilon=1e-8,
        clip_value=None,
        clip_norm=None,
        max_iter=1000,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        average=False,
        verbose=0,
        epsilon=0.1,
        quantile=0.5,
        gamma=2.0,
        n_jobs=None,
        on_divergence="raise",
        class_weight=None,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.precondition = precondition
        self.power_t = power_t
        self.decay_rate = decay_rate
        self.milestones = milestones
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.optimizer_epsilon = optimizer_epsilon
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.average = average
        self.verbose = verbose
        self.epsilon = epsilon
        self.quantile = quantile
        self.gamma = gamma
        self.n_jobs = n_jobs
        self.on_divergence = on_divergence
        self.class_weight = class_weight

    # ---------------------------------------------------------------- hooks
    def _loss_info(self):
        return loss_info(self.loss, CLASSIFIER_LOSSES)

    def _coef_attributes(self, params):
        return {"coef_": params[:, :-1].copy(), "intercept_": params[:, -1].copy()}

    def _validation_score(self, params, X, y, sample_weight):
        scores = safe_sparse_dot(X, params[:, :-1].T) + params[:, -1]
        pred = self._labels_from_scores(scores)
        if not np.any(sample_weight > 0):
            sample_weight = None
        return float(np.average(pred == y, weights=sample_weight))

    # ------------------------------------------------------------- targets
    def _targets(self, y_index, n_classes, dtype):
        """Float target matrix: +-1 per column (binary, one-vs-rest) or one-hot."""
        if n_classes == 2:
            return np.where(y_index == 1, 1.0, -1.0).astype(dtype).reshape(-1, 1)
        onehot = np.zeros((y_index.shape[0], n_classes), dtype=dtype)
        onehot[np.arange(y_index.shape[0]), y_index] = 1.0
        if self._loss_info().multinomial:
            return onehot
        return 2.0 * onehot - 1.0

    def _class_sample_weight(self, y_index, sample_weight, n_classes):
        if self.class_weight is None:
            return sample_weight
        if isinstance(self.class_weight, str):
            counts = np.bincount(y_index, weights=None, minlength=n_classes)
            per_class = np.where(counts > 0, len(y_index) / (n_classes * np.maximum(counts, 1)),
                                 0.0)
        else:
            per_class = np.ones(n_classes)
            for label, weight in self.class_weight.items():
                matches = np.flatnonzero(self.classes_ == label)
                if matches.size == 0:
                    raise ValueError(
                        f"class_weight names label {label!r}, which is not one of the "
                        f"classes {self.classes_.tolist()}."
                    )
                if not isinstance(weight, Real) or not 0.0 <= weight < math.inf:
                    raise ValueError(
                        "class_weight must map labels to finite non-negative weights, "
                        f"got {weight!r} for label {label!r}."
                    )
                per_class[matches[0]] = weight
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        factors = per_class[y_index]
        with np.errstate(over="ignore", under="ignore"):  # handled just below
            weights = sample_weight * factors
        if not np.all(np.isfinite(weights)) \
                or np.any((weights == 0.0) & (sample_weight > 0.0) & (factors > 0.0)):
            # Two finite weights whose product leaves float64: only ratios count
            # (the objective is a weighted mean), so take those of each factor.
            weights = (sample_weight / sample_weight.max()) * (factors / factors.max())
        return weights

    def _encode(self, y):
        """Indices of y in classes_, with a clear error for labels never declared."""
        index = np.minimum(np.searchsorted(self.classes_, y), len(self.classes_) - 1)
        unseen = self.classes_[index] != y
        if np.any(unseen):
            raise ValueError(
                f"y contains labels not in classes_ {self.classes_.tolist()}: "
                f"{np.unique(y[unseen]).tolist()}. Pass every label through `classes` "
                "in the first call to partial_fit."
            )
        return index

    def _validate_xy(self, X, y, sample_weight, reset, partial):
        """Validated X, y and sample weights; with ``partial=False`` also (classes, y index)."""
        X, y = validate_data(
            self, X, y, reset=reset, accept_sparse="csr", dtype=_DTYPES, order="C",
        )
        labels = None if partial else _small_range_labels(y)
        check_classification_targets(y if labels is None else _with_known_classes(y, labels[0]))
        check_n_features(X.shape[1])
        sample_weight = _check_sample_weight(
            # float64 whatever X's dtype: float32 would make a weight of 1e300 inf
            # (_unit_mean converts them once scaled to mean 1).
            sample_weight, X, dtype=np.float64, ensure_non_negative=True,
            allow_all_zero_weights=partial,
        )
        if partial:
            return X, y, sample_weight
        return X, y, sample_weight, labels or np.unique(y, return_inverse=True)

    def _set_fit_classes(self, classes):
        """Check the sorted labels ``fit`` found and store them as ``classes_``."""
        if classes.shape[0] < 2:
            raise ValueError(
                "GDClassifier needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {classes[0]!r}."
            )
        if self.warm_start and hasattr(self, "classes_") and not np.array_equal(
                classes, self.classes_):
            raise ValueError(
                f"warm_start=True but y has classes {classes.tolist()} while the model "
                f"was fitted on {self.classes_.tolist()}."
            )
        self.classes_ = classes

    # ------------------------------------------------------------------ fit
    @serialized
    @restore_on_error
    @with_callbacks
    def fit(
        self,
        X: ArrayLike | spmatrix,
        y: ArrayLike,
        coef_init: ArrayLike | None = None,
        intercept_init: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> "GDClassifier":
        """Fit the model with gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 input trains in float32.

        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        coef_init : ndarray of shape (n_classes, n_features), default=None
            Initial coefficients, in the shape of ``coef_``: (1, n_features)
            or (n_features,) for two classes. Any other shape raises a
            ValueError. Taken instead of the previous solution when
            ``warm_start=True``.

        intercept_init : ndarray of shape (n_classes,), default=None
            Initial intercepts, in the shape of ``intercept_``: (1,) or a
            scalar for two classes. Any other shape raises a ValueError.
            Ignored when ``fit_intercept=False``.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; multiplied by ``class_weight``.

        Returns
        -------
        self : GDClassifier
            The fitted estimator.
        """
        self._validate_params()
        if self._fits_on_the_cluster(X):
            return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)
        X, y, sample_weight, (classes, y_index) = self._validate_xy(
            X, y, sample_weight, reset=True, partial=False)
        self._set_fit_classes(classes)
        sample_weight = relative_weights(
            self._class_sample_weight(y_index, sample_weight, len(classes)))
        weighted = np.bincount(y_index, weights=sample_weight, minlength=len(classes))
        if np.count_nonzero(weighted > 0) < 2:
            raise ValueError(
                "GDClassifier needs at least 2 classes with positive sample weight, but "
                f"only {classes[weighted > 0].tolist()} has any: the weights leave a "
                "single class to learn."
            )
        targets = self._targets(y_index, len(classes), X.dtype)
        self._fit_arrays(X, y, targets, sample_weight, coef_init, intercept_init)
        return self

    @available_if(_supports_partial_fit)
    @serialized
    @restore_on_error
    def partial_fit(
        self,
        X: ArrayLike | spmatrix,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> "GDClassifier":
        """Run one epoch over a chunk of data, continuing the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.

        y : array-like of shape (n_samples,)
            Its labels, all of them in ``classes``.

        classes : array-like of shape (n_classes,), default=None
            Every label the stream can contain. Required in the first call,
            optional (and then checked) afterwards.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a chunk whose weights are all zero leaves the
            model unchanged.

        Returns
        -------
        self : GDClassifier
            The updated estimator.
        """
        first = not hasattr(self, "classes_")
        if first:
            self._validate_params()
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        # On every call: set after the first, "balanced" would weigh each chunk
        # by its own class counts.
        if isinstance(self.class_weight, str):
            # scikit-learn's wording, plus the dict it must become.
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit, which sees one "
                "chunk at a time. In order to use 'balanced' weights, use "
                "compute_class_weight('balanced', classes=classes, y=y) (from "
                "sklearn.utils.class_weight). In place of y you can use a large enough "
                "sample of the full training set target to properly estimate the class "
                "frequency distributions. Pass the resulting weights as the class_weight "
                "parameter, as a dict: dict(zip(classes, weights))."
            )
        lean = None if first else self._lean_validate(X, y, sample_weight)
        if lean is None:
            X, y, sample_weight = self._validate_xy(X, y, sample_weight, reset=first,
                                                    partial=True)
        else:
            # Labels need no type_of_target here: _encode below rejects any
            # value that is not one of classes_.
            X, y, sample_weight = lean
        if first:
            declared = np.unique(np.asarray(classes))
            if declared.dtype.kind in "fc" and not np.all(np.isfinite(declared)):
                raise ValueError(
                    f"classes must not contain NaN or infinity, got {classes!r}."
                )
            if declared.shape[0] < 2:
                raise ValueError(
                    "classes must hold at least 2 classes, got "
                    f"{declared.tolist()}."
                )
            self.classes_ = declared
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"`classes={np.unique(classes).tolist()}` is not the same as on the first "
                f"call to partial_fit, which declared {self.classes_.tolist()}."
            )
        n_classes = len(self.classes_)
        if lean is not None and self.class_weight is None and y.dtype.kind in "iuf" \
                and self.classes_.dtype.kind in "iuf":
            targets = self._target_buffer(y.shape[0], 1 if n_classes == 2 else n_classes,
                                          X.dtype)
            if encode_labels(y, self.classes_, self._loss_info().multinomial, targets) < 0:
                self._partial_fit_arrays(X, targets, sample_weight)
                return self
            # An unknown label: _encode below says which.
        y_index = self._encode(y)
        if sample_weight is None:
            sample_weight = np.ones(y.shape[0], dtype=X.dtype)
        sample_weight = self._class_sample_weight(y_index, sample_weight, n_classes)
        self._partial_fit_arrays(X, self._targets(y_index, n_classes, X.dtype), sample_weight)
        return self

    def _target_buffer(self, n_samples, n_columns, dtype):
        """The target matrix of a ``partial_fit`` chunk, kept for chunks of one shape.

        ``encode_labels`` rewrites all of it, and no reference to a chunk's
        targets outlives its call.
        """
        targets, _ = _kept_buffers(self, "_target_cache", (n_samples, n_columns, dtype),
                                   lambda: np.empty((n_samples, n_columns), dtype=dtype))
        return targets

    # -------------------------------------------------------------- predict
    def _scores_and_classes(self, X):
        """Scores of X and the ``classes_`` they refer to, from one state of the model.

        The attributes are read under the lock, as one set: a ``partial_fit`` in
        another thread replaces ``coef_`` and ``intercept_`` together, and a
        ``fit`` may change ``classes_`` and the number of features too.
        """
        with self._lock():
            X = self._prediction_rows(X)
            coef, intercept, classes = self.coef_, self.intercept_, self.classes_
        scores = linear_scores(X, coef) + intercept
        return (scores.ravel() if scores.shape[1] == 1 else scores), classes

    def _lazy(self, method, X):
        """``method`` on a Dask array, block by block (see ``_lazy_predict``)."""
        with self._lock():
            check_is_fitted(self)
            n_classes = len(self.classes_)
        if method == "predict":
            return lazy_prediction(self, method, X, None, self.classes_.dtype)
        dtype = result_dtype(self, X)
        if method == "decision_function" and n_classes == 2:
            return lazy_prediction(self, method, X, None, dtype)
        return lazy_prediction(self, method, X, n_classes, dtype)

    def decision_function(self, X: ArrayLike | spmatrix) -> np.ndarray:
        """Confidence scores: signed distance to the hyperplane(s).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples. A Dask array gives a lazy Dask array, computed block by
            block of rows.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive scores favour ``classes_[1]``.
        """
        if is_dask_array(X):
            return self._lazy("decision_function", X)
        return self._scores_and_classes(X)[0]

    def score(self, X: ArrayLike | spmatrix, y: ArrayLike,
              sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy on the given test data and labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples. For a Dask array the accuracy is computed from sums
            over its row blocks, which stay on the workers (``y`` and
            ``sample_weight`` may then be Dask arrays too).

        y : array-like of shape (n_samples,)
            True labels for X.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to ``y``.
        """
        if is_dask_array(X):
            return lazy_score(self, X, y, sample_weight, classification=True)
        return super().score(X, y, sample_weight=sample_weight)

    def _labels_from_scores(self, scores, classes=None):
        if classes is None:
            classes = self.classes_
        if scores.ndim == 1 or scores.shape[1] == 1:
            return classes[(np.ravel(scores) > 0).astype(int)]
        return classes[np.argmax(scores, axis=1)]

    def predict(self, X: ArrayLike | spmatrix) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels (a lazy Dask array for a Dask array X).
        """
        if is_dask_array(X):
            return self._lazy("predict", X)
        return self._labels_from_scores(*self._scores_and_classes(X))

    @available_if(_has_proba)
    def predict_proba(self, X: ArrayLike | spmatrix) -> np.ndarray:
        """Class probabilities (losses "log_loss", "focal" and "modified_huber").

        "log_loss" and "focal" map scores through the logistic function (two
        classes) or the softmax (more). "modified_huber" gives
        ``(clip(score, -1, 1) + 1) / 2`` per class, normalised over the
        one-vs-rest classes (uniform where all are zero), as scikit-learn does.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_`` (a lazy
            Dask array for a Dask array X).
        """
        if is_dask_array(X):
            return self._lazy("predict_proba", X)
        scores = self.decision_function(X)
        if self.loss == "modified_huber":
            prob = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
            if prob.ndim == 1:
                return np.column_stack([1.0 - prob, prob])
            total = prob.sum(axis=1, keepdims=True)
            zero = total[:, 0] == 0
            prob[zero] = 1.0
            total[zero] = prob.shape[1]
            return prob / total
        if scores.ndim == 1:
            prob = expit(scores)
            return np.column_stack([1.0 - prob, prob])
        return _softmax(scores)

    @available_if(_has_proba)
    def predict_log_proba(self, X: ArrayLike | spmatrix) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class, in the order of ``classes_``.
        """
        if is_dask_array(X):
            return self._lazy("predict_log_proba", X)
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
