"""GDRegressor: linear regression trained by gradient descent."""

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.sparse import spmatrix
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._base import (
    BaseGD,
    _supports_partial_fit,
    check_n_features,
    restore_on_error,
    serialized,
)
from ._callbacks import with_callbacks
from ._custom_loss import CustomLoss, loss_info
from ._docstrings import SHARED_ATTRIBUTES, SHARED_NOTES, SHARED_PARAMETERS
from ._lazy_predict import is_dask_array, lazy_prediction, lazy_score, result_dtype
from ._registry import REGRESSION_LOSSES
from ._sparse_coef import SparseCoefMixin, linear_scores

_DTYPES = [np.float64, np.float32]
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _targets(y, dtype):
    """``y`` as the (n_samples, n_targets) target matrix in X's dtype (a new array).

    float32 X trains in float32, targets included: a target beyond float32's
    range would become inf, and the fit then diverge with advice about eta0.
    """
    if dtype == np.float32 and y.dtype != np.float32 and y.shape[0]:
        largest = float(np.max(np.abs(y)))
        if largest > _FLOAT32_MAX:
            raise ValueError(
                f"y has values up to {largest:.4g} in magnitude, beyond the float32 range "
                f"(+-{_FLOAT32_MAX:.4g}) that float32 X trains in: pass X as float64, or "
                "rescale y."
            )
    if y.ndim == 2:
        # C order: the kernels read a sample's targets together.
        return np.array(y, dtype=dtype, order="C")
    return y.astype(dtype).reshape(-1, 1)


class GDRegressor(RegressorMixin, SparseCoefMixin, BaseGD):
    __doc__ = f"""Linear regression trained by Numba-jitted gradient descent.

    Minimises ``sum_i w_i * loss(y_i, x_i @ coef_ + intercept_) / sum_i w_i +
    penalty(coef_)`` with batch, mini-batch or stochastic gradient descent and
    any of the optimizers and step-size schedules below.

    A 2-D ``y`` of shape (n_samples, n_targets) trains one weight vector per
    target, all in the same pass over the data (as ``Ridge`` does; scikit-learn's
    ``SGDRegressor`` takes one target). The objective is then the sum over the
    targets of each target's weighted mean loss, plus the penalty of all the
    weights: it separates, so each target's weights minimise that target's
    own objective, and the batch loop with a fixed step gives each column the
    model a single-target fit of it would. What the targets share is the
    step size ``eta0="auto"`` derives for the adaptive optimizers and the
    stopping rule (one certificate for all the weights). A ``y`` of shape
    (n_samples, 1) is one target, as for ``Ridge``: ``coef_`` of shape
    (n_features,) and 1-D predictions.

    Parameters
    ----------
    loss : {{"squared_error", "absolute_error", "huber", "epsilon_insensitive", \
"squared_epsilon_insensitive", "quantile"}} or CustomLoss, default="squared_error"
        The loss on the residual ``r = prediction - y``: ``r**2 / 2``, ``|r|``,
        Huber (quadratic up to ``epsilon``, linear beyond),
        ``max(0, |r| - epsilon)``, its square, and the pinball loss of
        ``quantile``. A :class:`CustomLoss` gives a loss of your own, as two
        Numba-jitted functions of the prediction and the target.

    {SHARED_PARAMETERS}
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weights of the features, one row per target for a 2-D ``y`` of
        several columns (a sparse matrix of shape (1, n_features) or
        (n_targets, n_features) after :meth:`sparsify`).

    intercept_ : ndarray of shape (1,) or (n_targets,)
        The intercept(s).

    {SHARED_ATTRIBUTES}
    See Also
    --------
    GDClassifier : The classifier counterpart.
    sklearn.linear_model.SGDRegressor : scikit-learn's (Cython) SGD regressor.

    Notes
    -----
    {SHARED_NOTES}
    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_gd import GDRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    >>> reg = GDRegressor(alpha=0.0, max_iter=2000, tol=1e-8).fit(X, y)
    >>> round(reg.score(X, y), 3)
    1.0
    """

    _parameter_constraints: dict = {
        **BaseGD._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES)), CustomLoss],
    }

    def __init__(
        self,
        loss="squared_error",
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

    def _loss_info(self):
        return loss_info(self.loss, REGRESSION_LOSSES)

    def _coef_attributes(self, params):
        if params.shape[0] == 1:
            return {"coef_": params[0, :-1].copy(), "intercept_": params[0, -1:].copy()}
        return {"coef_": params[:, :-1].copy(), "intercept_": params[:, -1].copy()}

    def _validation_score(self, params, X, y, sample_weight):
        # In float64: a float32 model's squared residuals overflow far sooner.
        if params.shape[0] == 1:
            pred = safe_sparse_dot(X, params[0, :-1].astype(np.float64)) + float(params[0, -1])
        else:
            pred = safe_sparse_dot(X, params[:, :-1].T.astype(np.float64)) \
                + params[:, -1].astype(np.float64)
        # Averaged uniformly over the targets, as score() does.
        return r2_score(y, pred, sample_weight=sample_weight)

    def _validate_xy(self, X, y, sample_weight, reset, partial):
        X, y = validate_data(
            self, X, y, reset=reset, accept_sparse="csr", dtype=_DTYPES, order="C",
            y_numeric=True, multi_output=True,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]  # one target, as Ridge takes it: 1-D coef_ and predictions
        check_n_features(X.shape[1])
        sample_weight = _check_sample_weight(
            # float64 whatever X's dtype: float32 would make a weight of 1e300 inf
            # (_unit_mean converts them once scaled to mean 1).
            sample_weight, X, dtype=np.float64, ensure_non_negative=True,
            allow_all_zero_weights=partial,
        )
        return X, y, sample_weight

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
    ) -> "GDRegressor":
        """Fit the model with gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 input trains in float32.

        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values; a 2-D ``y`` trains one weight vector per target.

        coef_init : ndarray of shape (n_features,) or (n_targets, n_features), \
default=None
            Initial coefficients (instead of zeros or the warm start), in the
            shape of ``coef_`` (a single target also takes (1, n_features)). Any
            other shape raises a ValueError.

        intercept_init : ndarray of shape (1,) or (n_targets,), default=None
            Initial intercept(s), in the shape of ``intercept_`` (a single
            target also takes a scalar). Any other shape raises a ValueError.
            Ignored when ``fit_intercept=False``.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; None means equal weights.

        Returns
        -------
        self : GDRegressor
            The fitted estimator.
        """
        self._validate_params()
        if self._fits_on_the_cluster(X):
            return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)
        X, y, sample_weight = self._validate_xy(X, y, sample_weight, reset=True, partial=False)
        self._fit_arrays(X, y, _targets(y, X.dtype), sample_weight, coef_init,
                         intercept_init)
        return self

    @available_if(_supports_partial_fit)
    @serialized
    @restore_on_error
    def partial_fit(
        self,
        X: ArrayLike | spmatrix,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> "GDRegressor":
        """Run one epoch over a chunk of data, continuing the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.

        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Its targets: as many as in the first call (a 1-D ``y`` is one).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a chunk whose weights are all zero leaves the
            model unchanged.

        Returns
        -------
        self : GDRegressor
            The updated estimator.
        """
        first = not hasattr(self, "coef_")
        lean = None
        if first:
            self._validate_params()
        elif getattr(y, "dtype", None) is not None and y.dtype.kind in "fiu":
            lean = self._lean_validate(X, y, sample_weight, multi_output=True)
        if lean is None:
            X, y, sample_weight = self._validate_xy(X, y, sample_weight, reset=first,
                                                    partial=True)
        else:
            X, y, sample_weight = lean
        targets = _targets(y, X.dtype)
        if not first and targets.shape[1] != self.intercept_.shape[0]:
            raise ValueError(
                f"y has {targets.shape[1]} target{'s' if targets.shape[1] > 1 else ''}, "
                f"but {type(self).__name__} is expecting {self.intercept_.shape[0]} "
                "targets as input."
            )
        self._partial_fit_arrays(X, targets, sample_weight)
        return self

    def predict(self, X: ArrayLike | spmatrix) -> np.ndarray:
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predicted values, in the dtype the model was trained in; one
            column per target for a model of several targets. A Dask array X
            gives a lazy Dask array, computed block by block of rows.
        """
        if is_dask_array(X):
            with self._lock():
                check_is_fitted(self)
                n_targets = self.intercept_.shape[0]
            return lazy_prediction(self, "predict", X, None if n_targets == 1 else n_targets,
                                   result_dtype(self, X))
        # One coef_/intercept_ pair: a partial_fit in another thread replaces both.
        with self._lock():
            X = self._prediction_rows(X)
            coef, intercept = self.coef_, self.intercept_
        if coef.ndim == 1:
            # safe_sparse_dot's product for dense X, without its checks.
            scores = X @ coef if type(X) is np.ndarray else safe_sparse_dot(X, coef)
            return scores + intercept[0]
        if intercept.shape[0] > 1:
            return linear_scores(X, coef) + intercept
        # One target after sparsify(): coef_ is (1, n_features).
        if sp.issparse(X):
            return linear_scores(X, coef)[:, 0] + intercept[0]
        # Its dense row, for the very product (and bits) of the 1-D coef_.
        return safe_sparse_dot(X, coef.toarray()[0]) + intercept[0]

    def score(self, X: ArrayLike | spmatrix, y: ArrayLike,
              sample_weight: ArrayLike | None = None) -> float:
        """Coefficient of determination R^2 of the prediction.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples. For a Dask array R^2 is computed from sums over its
            row blocks, which stay on the workers (``y`` and ``sample_weight``
            may then be Dask arrays too).

        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            True values for X.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` with respect to ``y``, averaged over
            the targets, as :func:`sklearn.metrics.r2_score`.
        """
        if is_dask_array(X):
            return lazy_score(self, X, y, sample_weight, classification=False)
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
