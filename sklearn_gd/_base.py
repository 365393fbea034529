"""Shared estimator base: parameters, their validation, and the epoch driver.

The driver turns estimator parameters into the integer codes and small arrays
the Numba kernel needs, runs the epoch loop in Python (shuffling, schedules,
stopping rules, ``loss_curve_``, divergence checks, ``verbose``) and owns the
optimizer state that must survive ``partial_fit``.

Subclasses (:class:`~sklearn_gd.GDRegressor`, :class:`~sklearn_gd.GDClassifier`)
turn ``y`` into a float target matrix of shape (n_samples, n_outputs) and turn
the parameter matrix back into ``coef_`` / ``intercept_``.
"""

import functools
import math
import operator
import threading
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._batch import NO_STEP_SCALES, BatchEpoch, FullGradient, MomentumRestart
from ._callbacks import CallbackSupportMixin, epoch_callbacks
from ._custom_loss import CustomLoss, loops_of
from ._doc_link import doc_link_template
from ._driver import (
    BLOWUP,
    DivergenceError,
    reference_objective,
    run_epochs,
)
from ._kernels import schedules
from ._kernels.data_passes import all_finite, column_sq_sums
from ._kernels.loops import (
    C_LOSS,
    C_MULTINOMIAL,
    CODES_LAYOUT,
    H_ETA,
    H_L1,
    H_OPTIMAL_OFFSET,
    HYPER_LAYOUT,
)
from ._kernels.losses import (
    LOSS_ABSOLUTE_ERROR,
    LOSS_EPSILON_INSENSITIVE,
    LOSS_HUBER,
    LOSS_QUANTILE,
    LOSS_SQUARED_ERROR,
    margin_loss,
)
from ._kernels.shuffle import shuffled_block_order, shuffled_order
from ._lazy_predict import is_dask_array
from ._lbfgs import fit_lbfgs, lbfgs_memory
from ._registry import (
    OPTIMIZERS,
    PASSIVE_AGGRESSIVE,
    PASSIVE_AGGRESSIVE_C,
    PASSIVE_AGGRESSIVE_LOSS,
    PENALTIES,
    SCHEDULES,
    SOLVERS,
)
from ._state import TrainingState
from ._step_size import (
    DATA_DERIVED,
    RowCurvatures,
    adaptive_rate,
    column_mean_squares,
    diagonal_preconditioner,
    normalized_units,
)
from ._stream import StreamEpoch
from ._svrg import SVRGEpoch
from ._warnings import warn

# Regression losses whose derivative is bounded: their gradient at zero does not
# grow with the targets (see BaseGD._distance_config).
_LIPSCHITZ_REGRESSION = frozenset({LOSS_ABSOLUTE_ERROR, LOSS_HUBER, LOSS_EPSILON_INSENSITIVE,
                                   LOSS_QUANTILE})


class _Rows:
    """Rows of X in the form the kernels take (see ``_kernels/rows.py``).

    ``data`` is the C-ordered dense array, or the CSR tuple ``(data, indices,
    indptr)`` with int32 indices and int64 pointers. Arrays that come from the
    user are presented as read-only views, so that the kernels see one array
    type whatever the caller's flags were (each new type is a new compilation)
    and can never write into user data.
    """

    __slots__ = ("data", "is_sparse", "n_samples", "n_features", "nnz", "column_moments")

    def __init__(self, X):
        # (sample_weight, its columns' weighted mean squares): the adaptive step
        # size and the certificate's norm both need them, and each is a pass.
        self.column_moments = None
        self.n_samples, self.n_features = X.shape
        self.is_sparse = sp.issparse(X)
        # Before the int32 cast below, which would wrap wider column indices negative.
        check_n_features(self.n_features)
        if self.is_sparse:
            X = X.tocsr()
            _check_csr_structure(X)
            self.data = (_readonly(X.data),
                         _readonly(X.indices.astype(np.int32, copy=False)),
                         _readonly(X.indptr.astype(np.int64, copy=False)))
            self.nnz = X.nnz
        else:
            self.data = _readonly(X)
            self.nnz = X.size

    def as_matrix(self):
        """The rows as a NumPy array or SciPy CSR matrix (no copy of the data)."""
        if self.is_sparse:
            return sp.csr_matrix(self.data, shape=(self.n_samples, self.n_features))
        return self.data


_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# validate_data's dtype list: float32 and float64 kept, anything else to float64.
_VALIDATION_DTYPES = [np.float64, np.float32]

# The kernels take CSR column indices as int32 (see _Rows).
MAX_FEATURES = int(np.iinfo(np.int32).max)


def check_n_features(n_features):
    """Reject data wider than the kernels can index, before anything is allocated.

    Wider CSR data used to pass the bounds check and then wrap negative in the
    cast of its column indices to int32, so the kernels read and wrote outside
    the weights. Supporting it would not help in practice: ``coef_`` alone
    would take 16 GiB per output (and the optimizer state as much again).
    """
    if n_features > MAX_FEATURES:
        raise ValueError(
            f"X has n_features={n_features} columns, more than the {MAX_FEATURES} "
            "(2**31 - 1) sklearn_gd supports: its kernels index columns with 32-bit "
            f"integers, and coef_ alone would take {8 * n_features / 2**30:.0f} GiB per "
            "output. Reduce the number of features (e.g. with sklearn's FeatureHasher "
            "and a smaller n_features)."
        )


def _check_csr_structure(X):
    """Reject a CSR matrix whose indices or pointers point outside its arrays.

    SciPy builds such matrices without complaint; the kernels index the
    weights with the column indices unchecked (as unsigned integers, which is
    faster), so a bad index would read or write outside the weights.
    """
    indptr = X.indptr
    if indptr.shape[0] != X.shape[0] + 1 or indptr[0] != 0 \
            or indptr[-1] > min(X.data.shape[0], X.indices.shape[0]) \
            or np.any(np.diff(indptr) < 0):
        raise ValueError("The sparse matrix X has an invalid row pointer array (indptr).")
    indices = X.indices[:indptr[-1]]
    if indices.shape[0] and (indices.min() < 0 or indices.max() >= X.shape[1]):
        raise ValueError(
            f"The sparse matrix X has column indices outside [0, {X.shape[1]}): "
            f"from {indices.min()} to {indices.max()}."
        )


def _checked_milestones(milestones):
    """``milestones`` as a flat float array, or a ValueError if they are not epoch numbers."""
    try:
        values = np.ravel(np.asarray(milestones, dtype=np.float64))
    except (TypeError, ValueError):
        values = None
    if values is None or not np.all(np.isfinite(values)) or np.any(values < 0) \
            or np.any(values != np.floor(values)):
        raise ValueError(
            f"milestones must be epoch numbers (non-negative integers), got {milestones!r}."
        )
    return values


def _readonly(a):
    view = a.view()
    view.flags.writeable = False
    return view




def _l2_part(est, n_outputs):
    return _penalty_split(est.penalty, est.alpha, est.l1_ratio)[0]


def _l1_part(est, n_outputs):
    return _penalty_split(est.penalty, est.alpha, est.l1_ratio)[1]


_PENALTY_PARAMS = ("penalty", "alpha", "l1_ratio")
# How each entry of the kernels' ``codes`` and ``hyper`` (their order:
# ``CODES_LAYOUT``, ``HYPER_LAYOUT``) is filled: the constructor parameters
# it reads and its value, a function of the estimator and the number of outputs.
# The entries that read a resolved "auto" (``optimizer_``, ``schedule_``) name
# the parameter; the resolved values are in the cache key as well.
_KERNEL_CODES = {
    "loss": (("loss",), lambda est, n_outputs: est._loss_info().code),
    "multinomial": (("loss",), lambda est, n_outputs: est._multinomial(n_outputs)),
    # "lbfgs" has no kernel update rule (SciPy steps); its code is never read.
    "optimizer": (("optimizer",), lambda est, n_outputs: getattr(est._optimizer_info(),
                                                                 "code", 0)),
    "schedule": (("learning_rate",), lambda est, n_outputs: est._schedule_code()),
    "fit_intercept": (("fit_intercept",), lambda est, n_outputs: est.fit_intercept),
    "average": (("average",), lambda est, n_outputs: int(est.average)),
}
_KERNEL_HYPER = {
    "epsilon": (("epsilon",), lambda est, n_outputs: est.epsilon),
    "quantile": (("quantile",), lambda est, n_outputs: est.quantile),
    "gamma": (("gamma",), lambda est, n_outputs: est.gamma),
    # The rate changes between calls and epochs: set by _kernel_config's caller.
    "eta": ((), lambda est, n_outputs: 0.0),
    "power_t": (("power_t",), lambda est, n_outputs: est.power_t),
    # Bottou's t0 reads the loss's derivative at one score, so its parameters too.
    "optimal_offset": (("learning_rate", "alpha", "loss", "epsilon", "quantile", "gamma"),
                       lambda est, n_outputs: est._optimal_offset()),
    "alpha": (("alpha",), lambda est, n_outputs: est.alpha),
    "l2": (_PENALTY_PARAMS, _l2_part),
    "l1": (_PENALTY_PARAMS, _l1_part),
    "momentum": (("momentum",), lambda est, n_outputs: est.momentum),
    "beta_1": (("beta_1",), lambda est, n_outputs: est.beta_1),
    "beta_2": (("beta_2",), lambda est, n_outputs: est.beta_2),
    "opt_epsilon": (("optimizer_epsilon",), lambda est, n_outputs: est.optimizer_epsilon),
    "clip_value": (("clip_value",), lambda est, n_outputs: est.clip_value or 0.0),
    "clip_norm": (("clip_norm",), lambda est, n_outputs: est.clip_norm or 0.0),
}
# The parameters _build_kernel_config reads: its cache key.
_CONFIG_PARAMS = tuple(dict.fromkeys(
    param for table in (_KERNEL_CODES, _KERNEL_HYPER) for params, _ in table.values()
    for param in params))
# One C-level call reads them all (the config key is built on every partial_fit).
_config_values = operator.itemgetter(*_CONFIG_PARAMS)


# partial_fit keeps per-chunk buffers between calls for chunks up to this many
# rows: allocating is a visible cost only on small chunks, and keeping larger
# ones would hold memory in proportion to the chunk for no gain.
_KEEP_BUFFER_ROWS = 4096


def _kept_buffers(estimator, name, key, make):
    """``(make(), False)``, or ``(buffers, True)`` kept from an earlier call with ``key``.

    ``key[0]`` is the chunk's number of rows. The buffers live in
    ``estimator.__dict__[name]``, which pickling leaves out (see
    ``BaseGD.__getstate__``).
    """
    kept = estimator.__dict__.get(name)
    if kept is not None and kept[0] == key:
        return kept[1], True
    buffers = make()
    if key[0] <= _KEEP_BUFFER_ROWS:
        estimator.__dict__[name] = (key, buffers)
    return buffers, False


# Where _kept_buffers stores them: scratch, not part of the model.
_KEPT_BUFFER_NAMES = ("_unit_weight_cache", "_stream_buffers", "_target_cache",
                      "_stream_epoch_kept")
# Left out of pickles and copies (copy.copy goes through __getstate__ too): the
# kept buffers and the kernel config's ``hyper``, which partial_fit writes in
# place, would otherwise be shared by an estimator and its shallow copy; the
# lock belongs to one object (each copy makes its own).
_NOT_COPIED = (*_KEPT_BUFFER_NAMES, "_config_cache", "_fit_lock")

# partial_fit keeps at most this many entries of loss_curve_ (the docstrings
# quote the figures): one per call, an endless stream would otherwise grow it
# (and the pickle) without bound. Past the limit the oldest tenth goes at once,
# so that trimming costs a call next to nothing on average.
_LOSS_CURVE_LIMIT = 10_000


def _penalty_split(penalty, alpha, l1_ratio):
    """(L2 strength, L1 strength) of ``alpha * ((1-r)/2 ||w||^2 + r ||w||_1)``."""
    if penalty is None:
        return 0.0, 0.0
    ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, l1_ratio)
    return float(alpha * (1.0 - ratio)), float(alpha * ratio)


def restore_state(estimator, saved):
    """Put back a snapshot ``saved = dict(estimator.__dict__)`` (see ``restore_on_error``).

    Drops only the names added since, rather than clearing the dict first: a
    reader that looks for the estimator's lock in between must find the same
    lock, not make a new one.
    """
    for name in [name for name in estimator.__dict__ if name not in saved]:
        del estimator.__dict__[name]
    estimator.__dict__.update(saved)


def restore_on_error(method):
    """Make ``fit``/``partial_fit`` leave the estimator as it was if they raise.

    Attributes are only ever replaced, never modified in place (``loss_curve_``
    grows in place only once nothing can fail), so a shallow copy of
    ``__dict__`` taken on entry is a complete snapshot: a failed call (bad
    input, divergence, an unseen label) restores it, previous fitted state
    included, rather than leaving a half-updated model.
    """

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            restore_state(self, saved)
            raise

    return guarded


def serialized(method):
    """Run ``method`` holding the estimator's lock (see ``BaseGD._lock``).

    Calls that change the model from several threads then run one after the
    other, as in some sequential order, and readers never see half of an update.
    """

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock():
            return method(self, *args, **kwargs)

    return locked


def _supports_partial_fit(estimator):
    """``available_if`` condition: L-BFGS and SVRG's snapshot need the whole data set."""
    if estimator.optimizer in ("lbfgs", "svrg"):
        raise AttributeError(
            f"partial_fit is not available for optimizer={estimator.optimizer!r}.")
    return True


class BaseGD(CallbackSupportMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the gradient-descent estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "penalty": [StrOptions(set(PENALTIES)), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions(set(SOLVERS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS) | {"lbfgs", "auto"})],
        "learning_rate": [StrOptions(set(SCHEDULES) | {"auto"})],
        "eta0": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "precondition": [StrOptions({"auto", "diagonal"}), None],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "decay_rate": [Interval(Real, 0, None, closed="left")],
        "milestones": ["array-like", None],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "optimizer_epsilon": [Interval(Real, 0, None, closed="neither")],
        "clip_value": [Interval(Real, 0, None, closed="neither"), None],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean", StrOptions({"blocks"})],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="left"), "boolean"],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        # 0 means nothing to joblib; rejected here rather than by joblib on the
        # first fit large enough to use threads.
        "n_jobs": [Interval(Integral, None, -1, closed="right"),
                   Interval(Integral, 1, None, closed="left"), None],
        "on_divergence": [StrOptions({"raise", "recover"})],
    }

    # The HTML representation (notebooks) links to our pages, not scikit-learn's.
    _doc_link_module = "sklearn_gd"

    @property
    def _doc_link_template(self):
        from . import __version__

        return doc_link_template(__version__)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coef_")

    def __getstate__(self):
        # Under the lock: a model pickled while another thread trains is one
        # that existed between two calls. A copy: on Python 3.11+ the inherited
        # state is the instance's own dict.
        with self._lock():
            state = dict(super().__getstate__())
            # partial_fit extends loss_curve_ in place: a shallow copy must not
            # grow the original's, and the copy is made under the lock, or the
            # pickle would read the list while another thread's call extends
            # it (a checkpoint with more curve entries than n_iter_).
            if type(state.get("loss_curve_")) is list:
                state["loss_curve_"] = list(state["loss_curve_"])
        for name in _NOT_COPIED:
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        # Made now rather than at first use, so that predict on a copy or an
        # unpickled model does not add to its __dict__.
        self._lock()

    def _lock(self):
        """The lock that ``fit``, ``partial_fit``, ``set_params`` and the readers hold.

        Re-entrant: callbacks run inside ``fit`` may call back into the
        estimator. Made at first use, not in ``__init__`` (which must only
        store the parameters); ``dict.setdefault`` is atomic, so threads that
        race to make it all get the same one.
        """
        lock = self.__dict__.get("_fit_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_fit_lock", threading.RLock())
        return lock

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Waits for a ``fit`` or ``partial_fit`` running in another thread, which
        would otherwise see some of the new parameters and not others.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        with self._lock():
            return super().set_params(**params)

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _loss_info(self):
        """The :class:`~sklearn_gd._registry.LossInfo` of ``self.loss``."""

    @abstractmethod
    def _validation_score(self, params, X, y, sample_weight):
        """Score of the parameter matrix on held-out data (for early stopping)."""

    # ----------------------------------------------------------- parameters
    def _multinomial(self, n_outputs):
        return self._loss_info().multinomial and n_outputs > 1

    def _loops(self):
        """The training loops of ``self.loss`` (``_kernels.loops``, or a custom loss's)."""
        return loops_of(self.loss)

    def _loss_derivative(self, p, y):
        """d loss / d score of one score ``p`` against target ``y``, in Python."""
        if isinstance(self.loss, CustomLoss):
            return float(self.loss.derivative(float(p), float(y)))
        return margin_loss(self._loss_info().code, p, y, float(self.epsilon),
                           float(self.quantile), float(self.gamma))[1]

    def _resolve_eta0(self, rows, sample_weight, n_outputs, initial_gradient=None,
                      curvatures=None):
        """Initial step size; ``"auto"`` derives it from the data.

        For the plain, momentum and Nesterov updates "auto" is ``1 / L`` with L
        the curvature of the objective: the loss's curvature bound times the
        largest eigenvalue of the weighted Gram matrix (power iteration) for
        the batch loop, the largest squared row norm for one sample per step,
        and in between for mini-batches, plus the L2 strength. Momentum
        amplifies the gradient noise of the stochastic loops by
        ``1 / (1 - momentum)``, so there the rate is scaled down by that factor.
        Adagrad, RMSprop, Adam and AdamW move each coordinate by about their
        rate per update, so for them "auto" is a distance in the units of the
        weights, from ``initial_gradient()`` (the mean gradient at the
        all-zero model) and the columns' scales (see ``_step_size``); the
        customary constant only when the data say nothing (a zero gradient).
        "normalized" takes 0.5, as Vowpal Wabbit's default, for one sample per
        step, and Adagrad's distance in its own units for the batch and
        mini-batch loops. L-BFGS takes no
        step size (NaN).

        The plain steps read the rows only through ``curvatures`` (a
        :class:`RowCurvatures` of ``rows`` unless given: the Dask path passes
        one computed on its workers).
        """
        if self.optimizer_ == "lbfgs":
            return float("nan")
        if self.eta0 != "auto":
            return float(self.eta0)
        if self.schedule_ in PASSIVE_AGGRESSIVE:
            return PASSIVE_AGGRESSIVE_C
        info = self._optimizer_info()
        if self.optimizer_ in DATA_DERIVED:
            n = rows.n_samples
            rate = None
            if initial_gradient is not None:
                l2, _ = _penalty_split(self.penalty, self.alpha, self.l1_ratio)
                updates = -(-n // self._batch_rows(n))
                rate = adaptive_rate(self.optimizer_, rows, sample_weight, initial_gradient(),
                                     self._distance_curvature(n_outputs), l2,
                                     self.fit_intercept, max(updates, 1), self.beta_2)
            return info.fallback_eta if rate is None else rate
        if info.scale_free and self.solver != "stochastic" \
                and initial_gradient is not None:
            rate = self._normalized_batch_rate(rows, sample_weight, n_outputs,
                                               initial_gradient)
            if rate is not None:
                return rate
        if info.per_coordinate:
            return info.fallback_eta
        if curvatures is None:
            curvatures = RowCurvatures(rows, sample_weight, self.fit_intercept)
        n = curvatures.n_samples
        batch = self._batch_rows(n)
        scales = getattr(self, "preconditioner_", None)
        if scales is not None:
            return self._preconditioned_eta0(curvatures, n_outputs, scales)
        top_row = full = None
        if batch < n or n == 1:
            top_row = curvatures.top_row()
        if batch > 1 and n > 1:
            full = curvatures.top_eigenvalue()
        if full is None:
            gram = top_row
        elif top_row is None:
            gram = full
        else:
            # The mean gradient of b of n rows drawn without replacement: its
            # curvature moves from one row's (b = 1) to the full data's (b = n).
            share = (1.0 / batch - 1.0 / n) / (1.0 - 1.0 / n)
            gram = full + (top_row - full) * share
        if not math.isfinite(gram):
            dtype = curvatures.dtype
            raise ValueError(
                "eta0='auto' cannot be derived from X: the curvature of the objective "
                f"(the largest eigenvalue of X^T X / n_samples) overflows {dtype} for "
                "features of this scale. Scale the features (e.g. with StandardScaler), "
                "train in float64, or pass a numeric eta0."
            )
        l2, _ = _penalty_split(self.penalty, self.alpha, self.l1_ratio)
        eta = info.auto_rate_factor / max(self._curvature(n_outputs) * gram + l2, 1e-12)
        if info.velocity and batch < n:
            eta *= 1.0 - self.momentum
        return eta

    def _normalized_batch_rate(self, rows, sample_weight, n_outputs, initial_gradient):
        """``eta0="auto"`` of "normalized" for the batch and mini-batch loops.

        Vowpal Wabbit's 0.5 is a change of one prediction per example, right
        for one sample per step; with a few updates per epoch it left the
        batch loop 94 times above the optimum of least squares after 1,000
        epochs. There the rate is Adagrad's data-derived one (see
        ``_step_size``) in NAG's units.
        """
        units = normalized_units(rows, sample_weight, self.fit_intercept)
        if units is None:
            return None
        n = rows.n_samples
        l2, _ = _penalty_split(self.penalty, self.alpha, self.l1_ratio)
        return adaptive_rate("normalized", rows, sample_weight, initial_gradient(),
                             self._distance_curvature(n_outputs), l2, self.fit_intercept,
                             max(-(-n // self._batch_rows(n)), 1), self.beta_2, units=units)

    def _preconditioned_eta0(self, curvatures, n_outputs, scales):
        """``1 / L`` of the problem preconditioned by ``scales`` (see ``_step_size``).

        The same bounds as without a preconditioner (the top eigenvalue of
        the curvature for the batch loop, a row's for one sample, in between
        for mini-batches), in the coordinates ``w_j / sqrt(p_j)``; the L2
        term is part of the operator whose eigenvalue is found.
        """
        n = curvatures.n_samples
        batch = self._batch_rows(n)
        curvature = self._curvature(n_outputs)
        l2, _ = _penalty_split(self.penalty, self.alpha, self.l1_ratio)
        ridge = np.append(l2 * scales[:-1] / curvature, 0.0)
        full = curvature * curvatures.top_eigenvalue(scales=np.sqrt(scales), ridge=ridge)
        if batch < n:
            # The bound on the largest squared row norm, in the preconditioned
            # coordinates (the L2 term's largest diagonal entry added).
            top_row = curvature * curvatures.top_preconditioned_row(scales) \
                + l2 * float(np.max(scales[:-1], initial=0.0))
            share = (1.0 / batch - 1.0 / n) / (1.0 - 1.0 / n)
            full = full + (top_row - full) * share
        if not math.isfinite(full):
            raise ValueError(
                "eta0='auto' cannot be derived from X: the preconditioned curvature of the "
                "objective is not finite. Scale the features (e.g. with StandardScaler) "
                "or pass a numeric eta0."
            )
        eta = 1.0 / max(full, 1e-12)
        if self._optimizer_info().velocity and batch < n:
            eta *= 1.0 - self.momentum
        return eta

    def _uses_preconditioner(self):
        """Whether the steps take the diagonal preconditioner (``precondition``).

        "auto": for the plain, momentum and Nesterov steps of the batch and
        mini-batch loops when ``eta0="auto"`` sets their rate (a numeric
        ``eta0`` keeps its meaning as the step of every coordinate), and for
        L-BFGS's variables (see ``_lbfgs``).
        """
        if self.precondition is None:
            return False
        if self.optimizer_ == "lbfgs":
            return True
        info = self._optimizer_info()
        # SVRG's sparse steps keep the L2 shrink in one scalar for all coordinates.
        if self.solver == "stochastic" or info.per_coordinate or info.variance_reduced:
            return False
        return self.precondition == "diagonal" or self.eta0 == "auto"

    def _resolve_preconditioner(self, column_mean_squares, n_outputs):
        """The diagonal preconditioner of the steps, or None (see ``_uses_preconditioner``).

        ``column_mean_squares``: ``mean_i(w_i x_ij^2)`` per column, or a
        callable giving it (a pass over the data, made only when needed).
        """
        if not self._uses_preconditioner():
            return None
        if callable(column_mean_squares):
            column_mean_squares = column_mean_squares()
        l2, _ = _penalty_split(self.penalty, self.alpha, self.l1_ratio)
        scales = diagonal_preconditioner(column_mean_squares, self._curvature(n_outputs), l2,
                                         self.fit_intercept)
        if self.optimizer_ == "lbfgs" and self.precondition == "auto":
            # Rescaling L-BFGS's variables pays when the diagonal is uneven
            # (one-hot, TF-IDF, raw units: 3-15x fewer iterations measured). On
            # columns of one scale it gains nothing, and with fewer rows than
            # columns it can cost iterations: unscaled, L-BFGS's iterates stay
            # in the span of the rows, rescaled they reach the directions only
            # the small L2 term curves (15 x 30 uncentered rows: 2-5x more).
            kept = scales if self.fit_intercept else scales[:-1]
            if kept.size == 0 or kept.max() <= _LBFGS_UNEVEN * kept.min():
                return None
        return scales

    def _kernel_step_scales(self):
        """``preconditioner_`` as the kernels take it: an empty array for none."""
        scales = getattr(self, "preconditioner_", None)
        return NO_STEP_SCALES if scales is None else scales

    def _eta0_reads_data(self):
        """Whether :meth:`_resolve_eta0` looks at the rows (the Dask path then gathers
        their statistics on the workers first)."""
        info = self._optimizer_info()
        return self.eta0 == "auto" and info is not None and not info.scale_free

    def _curvature(self, n_outputs):
        """A bound on the loss's second derivative in the score (a scale, if non-smooth)."""
        curvature = self._loss_info().curvature
        if self.loss == "focal":
            curvature *= 1.0 + self.gamma
        if self._multinomial(n_outputs):
            curvature = max(curvature, 0.5)
        return curvature

    def _distance_config(self, n_outputs):
        """Kernel config of the loss whose gradient at zero measures the distance to go.

        A regression loss with a bounded derivative (absolute, Huber,
        epsilon-insensitive, quantile) has a gradient of at most ~1 (Huber:
        ``epsilon``) at zero whatever the targets' size, so ``|g| / h`` would
        say an intercept of 50 is 0.1 away; the squared error's gradient there,
        the mean target, measures the distance these losses' optima are at too
        (a mean rather than a median or quantile).
        """
        codes, hyper = self._kernel_config(n_outputs, 0.0)
        if self._loss_info().code in _LIPSCHITZ_REGRESSION:
            codes = codes.copy()
            codes[C_LOSS] = LOSS_SQUARED_ERROR
        return codes, hyper

    def _distance_curvature(self, n_outputs):
        if self._loss_info().code in _LIPSCHITZ_REGRESSION:
            return 1.0
        return self._curvature(n_outputs)

    def _initial_gradient(self, rows, targets, sample_weight, like):
        """A callable giving the mean loss gradient at the all-zero model (one pass).

        At zero, not at the starting weights: the rate is then a property of
        the data alone, so a warm start, or any ``coef_init``, takes the rate
        of a fit from zero.
        """

        def gradient():
            codes, hyper = self._distance_config(like.shape[0])
            zero = np.zeros_like(like)
            _, grad_sum = FullGradient(rows, targets, sample_weight, zero, codes, hyper,
                                       self.n_jobs, loops=self._loops())(zero)
            return grad_sum / float(np.sum(sample_weight, dtype=np.float64))

        return gradient

    def _batch_rows(self, n_samples):
        if self.solver == "batch":
            return max(n_samples, 1)
        if self.solver == "stochastic":
            return 1
        return min(self.batch_size, max(n_samples, 1))

    def _schedule_code(self):
        return SCHEDULES[self.schedule_].code

    def _measures_at_epoch_start(self):
        """Whether the sampled loop's epochs start with a full pass (SVRG's snapshot)."""
        info = self._optimizer_info()
        return info is not None and info.variance_reduced

    def _optimizer_info(self):
        """The registry row of the resolved first-order optimizer; None for L-BFGS."""
        return OPTIMIZERS.get(self.optimizer_)

    def _optimal_offset(self):
        if self.schedule_ != "optimal":
            return 0.0
        return schedules.optimal_offset(self.alpha, lambda p: abs(self._loss_derivative(p, 1.0)))

    def _resolve_optimizer(self, partial=False, in_memory=True):
        """What ``optimizer="auto"`` means for this fit (any other value is itself).

        A method that reaches a certified optimum where one applies and
        nothing asks for first-order steps (a smooth built-in loss, no L1
        term, no step-size setting: schedule, ``eta0``, clipping): L-BFGS for
        ``fit`` on the full batch without early stopping, SVRG for ``fit``
        with ``solver="stochastic"``, a built-in loss and no ``average``.
        Otherwise the plain step, as before "auto" existed: ``partial_fit``,
        the Dask parameter-mixing path (``in_memory=False``: each worker sees
        its own chunk, never the whole data set SVRG's snapshot needs), and
        ``solver="minibatch"``, whose plain steps take the diagonal
        preconditioner and so ignore the features' scales, which SVRG's do
        not (columns of scales 1 and 100: the preconditioned plain step
        certified in 236 epochs, SVRG ended 1,000 epochs at 11x the optimum).
        Chosen on the real-data benchmark (docs/benchmarks.md): on
        one-hot and TF-IDF rows the plain batch step ran all of ``max_iter``
        without a certificate, where L-BFGS certifies in tens of iterations,
        and the plain one-sample step ran its 100 epochs and warned on all
        three data sets, where SVRG certified in 9-72.
        """
        if self.optimizer != "auto":
            return self.optimizer
        l1 = _penalty_split(self.penalty, self.alpha, self.l1_ratio)[1]
        if (partial or l1 > 0.0 or not self._loss_info().smooth
                or self.learning_rate != "auto" or self.eta0 != "auto"
                or self.clip_value is not None or self.clip_norm is not None):
            return "sgd"
        if self.solver == "batch" and not self.early_stopping:
            return "lbfgs"
        if (self.solver == "stochastic" and in_memory and not self.average
                and not isinstance(self.loss, CustomLoss)):
            return "svrg"
        return "sgd"

    def _resolved(self, param, attribute):
        """``'auto' -> 'sgd'`` for a parameter "auto" resolved, its repr otherwise."""
        value, used = getattr(self, param), getattr(self, attribute)
        return f"{value!r}" if value == used else f"{value!r} -> {used!r}"

    def _resolve_schedule(self):
        """What ``learning_rate="auto"`` means for this fit (any other value is itself).

        scikit-learn's SGDClassifier default, "optimal" (its first step capped
        at ``eta0_``, see :meth:`_capped_optimal_offset`), for the plain
        one-sample steps of a classifier with an L2 or L1 term and
        ``eta0="auto"``: their constant automatic step (1 / L of the largest
        row) leaves them hovering far above the optimum on sparse one-hot rows
        (held-out log loss 0.74-0.93 against 0.51 on the flights benchmark,
        docs/user_guide.md). "constant" otherwise: the step
        sizes ``eta0="auto"`` derives are made for a constant rate, and
        "optimal" diverges on regression targets in their own units.
        """
        if self.learning_rate != "auto":
            return self.learning_rate
        # isinstance, not is_classifier: that builds the tags, a tenth of a
        # partial_fit call on 10 rows.
        if (self.solver == "stochastic" and self.optimizer_ == "sgd" and self.eta0 == "auto"
                and self.penalty is not None and self.alpha > 0
                and isinstance(self, ClassifierMixin)):
            return "optimal"
        return "constant"

    def _capped_optimal_offset(self, offset):
        """``t0`` of "optimal" when "auto" chose it: never a first step above ``eta0_``.

        Bottou's ``t0`` assumes features of unit scale; on rows of norm 1,000 its
        first steps blew the weights up (a DivergenceError in epoch 1, where the
        constant step ``eta0_ = 1 / L`` of the largest row is stable). With
        ``t0 >= 1 / (alpha eta0_)`` the rate ``1 / (alpha (t0 + t))`` starts at
        most at that safe step and decays from there as "optimal" does. An
        explicit ``learning_rate="optimal"`` keeps scikit-learn's ``t0``.
        """
        eta0 = getattr(self, "eta0_", None)
        if self.learning_rate != "auto" or not eta0 or not math.isfinite(eta0):
            return offset
        return max(offset, 1.0 / (self.alpha * eta0))

    def _check_param_combinations(self, partial=False, in_memory=True):
        """Reject combinations of valid parameters that cannot work together.

        Also checks the values inside array-like parameters, which
        ``_parameter_constraints`` cannot describe, and resolves ``optimizer_``
        and ``schedule_`` (:meth:`_resolve_optimizer`, :meth:`_resolve_schedule`):
        every method a fit calls after this reads those instead of ``optimizer``
        and ``learning_rate``.
        """
        if self.milestones is not None:
            _checked_milestones(self.milestones)
        # scikit-learn's wording for both.
        if partial and self.early_stopping:
            raise ValueError("early_stopping should be False with partial_fit: a stream has "
                             "no held-out validation set. Set early_stopping=False, or use "
                             "fit.")
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        self.optimizer_ = self._resolve_optimizer(partial, in_memory)
        self.schedule_ = self._resolve_schedule()
        if self.schedule_ == "optimal" and (self.penalty is None or self.alpha == 0):
            raise ValueError(
                "alpha must be > 0 and penalty not None when learning_rate='optimal': "
                "its step size is 1 / (alpha * (t0 + t))."
            )
        if self.schedule_ in PASSIVE_AGGRESSIVE:
            self._check_passive_aggressive()
        if self.precondition == "diagonal" and self.optimizer_ != "lbfgs" and (
                self.solver == "stochastic" or self._optimizer_info().per_coordinate
                or self._optimizer_info().variance_reduced):
            raise ValueError(
                "precondition='diagonal' is supported by optimizer='sgd', 'momentum' and "
                "'nesterov' with solver='batch' or 'minibatch', and by optimizer='lbfgs', "
                f"got optimizer={self.optimizer_!r}, solver={self.solver!r}. Set "
                "precondition='auto' or None."
            )
        if self.average and self.solver == "batch":
            # One update per epoch: there are no noisy iterates to average, and
            # the certificates judge the batch iterate itself.
            raise ValueError(
                f"average={self.average!r} is supported by solver='stochastic' and "
                f"solver='minibatch' only, got solver='batch'"
                + (" (optimizer='lbfgs' needs it)" if self.optimizer_ == "lbfgs" else "")
                + ". Set average=False, or use another solver."
            )
        if self.optimizer_ == "svrg":
            self._check_svrg(partial)
        if self.optimizer_ == "lbfgs":
            problems = []
            if self.solver != "batch":
                problems.append(f"solver={self.solver!r} (it needs solver='batch')")
            if _penalty_split(self.penalty, self.alpha, self.l1_ratio)[1] > 0.0:
                problems.append(f"penalty={self.penalty!r} (L1 is not differentiable; "
                                "use a first-order optimizer for it)")
            if self.early_stopping:
                problems.append("early_stopping=True")
            if partial:
                problems.append("partial_fit (it needs the whole data set; use fit)")
            if problems:
                raise ValueError("optimizer='lbfgs' does not support " + ", ".join(problems)
                                 + ".")

    def _check_svrg(self, partial):
        """What ``optimizer="svrg"`` needs: see its entry in the class docstring."""
        problems = []
        if self.solver == "batch":
            problems.append("solver='batch' (it needs solver='stochastic' or 'minibatch'; "
                            "the batch loop's full gradient has no noise to reduce)")
        if isinstance(self.loss, CustomLoss) or not self._loss_info().smooth:
            problems.append(f"loss={self.loss!r} (it needs a smooth built-in loss: its "
                            "snapshot's gradient must vanish at the optimum)")
        if _penalty_split(self.penalty, self.alpha, self.l1_ratio)[1] > 0.0:
            problems.append(f"penalty={self.penalty!r} with an L1 part")
        if self.average:
            problems.append("average (its iterates converge: there is no noise to average)")
        if SCHEDULES[self.schedule_].code != schedules.SCHED_PER_EPOCH:
            problems.append(f"learning_rate={self.schedule_!r} (the rate must be constant "
                            "within an epoch)")
        if self.clip_value is not None or self.clip_norm is not None:
            problems.append("clip_value or clip_norm")
        if partial:
            problems.append("partial_fit (its snapshot needs the whole data set; use fit)")
        if problems:
            raise ValueError("optimizer='svrg' does not support " + ", ".join(problems) + ".")

    def _check_passive_aggressive(self):
        """The passive-aggressive steps are scikit-learn's: plain one-sample steps on its loss."""
        kind = "classifier" if is_classifier(self) else "regressor"
        loss = PASSIVE_AGGRESSIVE_LOSS[kind]
        if self.loss != loss:
            # scikit-learn's wording.
            raise ValueError(f"Learning rate '{self.schedule_}' only works with loss "
                             f"'{loss}'.")
        problems = []
        if self.solver != "stochastic":
            problems.append(f"solver={self.solver!r} (it needs solver='stochastic': the "
                            "step is chosen per sample)")
        if self.optimizer_ != "sgd":
            problems.append(f"optimizer={self.optimizer_!r} (it needs optimizer='sgd')")
        if self.clip_value is not None or self.clip_norm is not None:
            problems.append("clip_value or clip_norm (its steps are bounded by eta0, "
                            "its C)")
        if problems:
            raise ValueError(f"learning_rate={self.schedule_!r} does not support "
                             + ", ".join(problems) + ".")

    def _milestones(self):
        if self.milestones is None:
            return (self.max_iter // 2, (3 * self.max_iter) // 4)
        return tuple(int(m) for m in _checked_milestones(self.milestones))

    # --------------------------------------------------------------- state
    def _fresh_state(self, n_outputs, n_features, dtype, coef_init=None, intercept_init=None):
        params = np.zeros((n_outputs, n_features + 1), dtype=dtype)
        if coef_init is not None:
            params[:, :-1] = self._checked_init("coef_init", coef_init, n_outputs, n_features)
        if intercept_init is not None:
            intercept = self._checked_init("intercept_init", intercept_init, n_outputs)
            if self.fit_intercept:
                params[:, -1] = intercept
        state = TrainingState.zeros_like(params)
        if self.average:
            state.average = params.copy()
            state.average_start = int(self.average)
        return state

    def _checked_init(self, name, value, n_outputs, n_features=None):
        """``coef_init`` or ``intercept_init`` as a float64 array, or a ValueError.

        The shapes are those of ``coef_`` and ``intercept_`` (for one output
        also the flat form scikit-learn takes): a reshape or a broadcast would
        train from weights the caller did not mean. The message names the
        expected shape.
        """
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be an array of numbers: {exc}") from exc
        # The fitted attribute's own shape first: the one to pass back.
        exposed = self._coef_attributes(np.zeros((n_outputs, (n_features or 0) + 1)))
        if n_features is None:
            expected = [exposed["intercept_"].shape, (1,), ()]
        else:
            expected = [exposed["coef_"].shape, (1, n_features), (n_features,)]
        if n_outputs > 1:
            expected = expected[:1]
        expected = list(dict.fromkeys(expected))
        if array.shape not in expected:
            context = []
            if is_classifier(self):
                context.append("binary problem" if n_outputs == 1 else f"{n_outputs} classes")
            if n_features is not None:
                context.append(f"{n_features} features")
            raise ValueError(
                f"Provided {name} does not match dataset: expected shape "
                + " or ".join(str(shape) for shape in expected)
                + (f" ({', '.join(context)})" if context else "")
                + f", got {array.shape}."
            )
        bad = np.count_nonzero(~np.isfinite(array))
        if bad:
            raise ValueError(f"{name} must be finite; it has {bad} NaN or infinite values.")
        return array.reshape(n_outputs, -1) if n_features is not None else array.reshape(-1)

    def _warm_start_init(self, coef_init, intercept_init, n_features):
        """``(coef_init, intercept_init)`` of a ``fit``: with ``warm_start``, the last solution.

        As in scikit-learn, a warm-started ``fit`` is ``fit(X, y,
        coef_init=coef_, intercept_init=intercept_)`` (each init given
        explicitly wins): only the weights carry over. The update counter
        ``t_``, the schedule and the optimizer's moments restart, since they
        belong to the run that made them; ``partial_fit`` is the way to
        continue a run. The certificate of convergence measures a warm start
        from the all-zero model, as it does any non-zero init.
        """
        if not (self.warm_start and hasattr(self, "coef_")):
            return coef_init, intercept_init
        if self.coef_.shape[-1] != n_features:
            raise ValueError(
                f"warm_start=True but X has {n_features} features while the model was "
                f"fitted on {self.coef_.shape[-1]}: set warm_start=False to start afresh."
            )
        coef = self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_  # sparsify()
        return (coef if coef_init is None else coef_init,
                self.intercept_ if intercept_init is None else intercept_init)

    def _fitted_state(self, dtype):
        """Copy of the fitted state, so a failed update leaves the model untouched.

        Plain SGD keeps no moments (the kernels write back the values they
        read), so its moment arrays are shared rather than copied, unless L1
        is on: its cumulative penalty keeps its state there (see
        ``loops.scaled_sgd_epoch``).
        """
        params = self._params_from_attributes(dtype)
        moments = self.optimizer_state_
        copy = self._moments_are_copied()
        state = TrainingState(
            params,
            moments["first_moment"].astype(dtype, copy=copy),
            moments["second_moment"].astype(dtype, copy=copy),
            t=int(self.t_),
            epochs=int(self._epochs_seen),
            momentum_steps=int(self.__dict__.get("_momentum_steps", 0)),
            eta=None if self.learning_rate_ is None else float(self.learning_rate_),
        )
        if self.average:
            # With averaging coef_ is the average: training goes on from the
            # last iterate, and the average from where it was.
            standard = self.__dict__.get("_standard_params")
            average = self.__dict__.get("_average_params")
            if standard is not None and standard.shape == params.shape:
                state.params = standard.astype(dtype, copy=True)
            state.average = params.copy() if average is None \
                or average.shape != params.shape else average.astype(dtype, copy=True)
            state.average_start = int(self.average)
        return state

    def _moments_are_copied(self):
        """Whether ``_fitted_state`` copies the optimizer's moment arrays (see there)."""
        return self.optimizer_ != "sgd" \
            or _penalty_split(self.penalty, self.alpha, self.l1_ratio)[1] > 0.0

    def _params_from_attributes(self, dtype=None):
        """A new (n_outputs, n_features + 1) matrix of ``coef_`` and ``intercept_``."""
        coef = self.coef_
        if sp.issparse(coef):  # after sparsify()
            coef = coef.toarray()
        n_outputs = 1 if coef.ndim == 1 else coef.shape[0]
        if dtype is None:
            dtype = coef.dtype
        params = np.empty((n_outputs, coef.shape[-1] + 1), dtype=dtype)
        params[:, :-1] = coef
        params[:, -1] = self.intercept_
        return params

    def _commit_state(self, state):
        self.__dict__.update(self._coef_attributes(state.returned))
        if state.average is None:
            self.__dict__.pop("_standard_params", None)
            self.__dict__.pop("_average_params", None)
        else:
            # The last iterate and the running average, for partial_fit (as
            # scikit-learn's _standard_coef and _average_coef); replaced, never
            # changed in place (see restore_on_error).
            self._standard_params = state.params
            self._average_params = state.average
        self.optimizer_state_ = {
            "first_moment": state.first_moment,
            "second_moment": state.second_moment,
        }
        self.t_ = state.t
        self._epochs_seen = state.epochs
        self._momentum_steps = state.momentum_steps
        self.learning_rate_ = state.eta

    @abstractmethod
    def _coef_attributes(self, params):
        """``{"coef_": ..., "intercept_": ...}`` (copies) in the shapes the estimator exposes."""

    # -------------------------------------------------------------- driver
    def _seed(self):
        """Seed of the shuffles and the early-stopping split (see ``_reset_seed``)."""
        if not hasattr(self, "_shuffle_seed"):
            self._reset_seed()
        return self._shuffle_seed

    def _reset_seed(self):
        """Draw the seed from ``random_state``: at every ``fit`` and first ``partial_fit``.

        An integer ``random_state`` gives the same seed every time, so a
        warm-started fit visits the samples in the orders of a fresh one.
        """
        self._shuffle_seed = int(check_random_state(self.random_state).randint(2**31 - 1))

    def _epoch_order(self, order, epoch):
        """Fill ``order`` with the sample order of ``epoch`` (identity if not shuffled)."""
        if self.shuffle == "blocks" and self.solver != "batch":
            shuffled_block_order(order, self._seed(), epoch, self._batch_rows(order.shape[0]))
        elif self.shuffle and self.solver != "batch":
            shuffled_order(order, self._seed(), epoch)
        elif order.shape[0] and order[-1] != order.shape[0] - 1:
            order[:] = np.arange(order.shape[0])
        return order

    def _fits_on_the_cluster(self, X):
        """Whether ``fit`` runs data-parallel on Dask (``sklearn_gd.dask.fit_dask``).

        dask-ml's convention: an estimator given Dask arrays works on them
        rather than gathering them into memory. That is the case for a Dask
        array X with what ``fit_dask`` supports: an optimizer other than
        "normalized", a built-in loss, no early stopping, no scikit-learn
        callbacks, and for the stochastic and mini-batch solvers what parameter
        mixing supports (no L1 part, no ``average``, a numeric ``eta0`` for
        the adaptive optimizers). Anything else
        gathers X into memory, as before (to keep a stream on the workers, pass
        its chunks to ``partial_fit`` with ``dask_ml.wrappers.Incremental``).
        """
        if not (is_dask_array(X) and not isinstance(self.loss, CustomLoss)
                and self.optimizer != "normalized"
                and not self.early_stopping and not getattr(self, "_skl_callbacks", None)):
            return False
        if self.solver == "batch":
            return True
        from .dask import _mixing_problems  # Dask is importable: X is a Dask array

        return not _mixing_problems(self)

    def _fit_dask(self, X, y, sample_weight, coef_init, intercept_init):
        from .dask import fit_dask  # imports Dask, which only Dask input needs

        return fit_dask(self, X, y, sample_weight, coef_init=coef_init,
                        intercept_init=intercept_init)

    def _lean_rows(self, X):
        """``X`` if it is a plain, finite float array or CSR matrix of the fitted width, else None.

        The checks ``validate_data(reset=False, accept_sparse="csr")`` makes
        on a C-ordered float32/float64 NumPy array or a SciPy CSR matrix (or
        array) of those dtypes, at a fraction of its cost (it dominated
        ``predict`` and ``partial_fit`` on small chunks, dense or sparse; see
        docs/benchmarks.md); anything else (lists, DataFrames, other sparse formats,
        dtypes or layouts, no rows, NaN, a model fitted with feature names)
        returns None, for the general path and its usual errors. A wrong
        number of features raises scikit-learn's ValueError here.
        """
        if type(X) is np.ndarray:
            if X.ndim != 2 or X.dtype not in _FLOAT_DTYPES or not X.flags.c_contiguous:
                return None
            values = X
        elif sp.issparse(X) and X.format == "csr" and X.dtype in _FLOAT_DTYPES \
                and X.ndim == 2:
            # validate_data's finiteness check on sparse input reads the stored values.
            values = X.data.reshape(1, -1)
        else:
            return None
        if hasattr(self, "feature_names_in_"):
            return None
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        if X.shape[0] == 0 or not all_finite(values):
            return None
        return X

    def _prediction_rows(self, X):
        """``X`` validated for ``predict`` and ``decision_function`` (call under the lock).

        NumPy and CSR chunks take :meth:`_lean_rows`; the rest ``validate_data``.
        The array is the same either way (float32 and float64 are kept as
        they are), so are the predictions.
        """
        if "coef_" not in self.__dict__:
            check_is_fitted(self)  # its NotFittedError
        lean = self._lean_rows(X) if hasattr(self, "n_features_in_") else None
        if lean is not None:
            return lean
        return validate_data(self, X, reset=False, accept_sparse="csr",
                             dtype=_VALIDATION_DTYPES)

    def _lean_validate(self, X, y, sample_weight, multi_output=False):
        """Cheap validation for repeated ``partial_fit`` calls on NumPy or CSR chunks.

        Makes the checks ``validate_data`` would make here (2-D float array,
        ``n_features_in_``, finiteness, matching lengths, non-negative weights)
        at a fraction of its cost, which otherwise dominates small chunks.
        Returns None whenever the input needs the general path (lists,
        DataFrames, sparse formats other than CSR, other dtypes or layouts, or
        anything suspicious), which then raises the usual errors. Weights not given stay
        None (unit weights, see ``_partial_fit_arrays``). ``multi_output``
        admits a 2-D ``y`` of two or more columns (a regressor's targets).
        """
        if type(y) is not np.ndarray or self._lean_rows(X) is None:
            return None
        if y.ndim != 1 and not (multi_output and y.ndim == 2 and y.shape[1] >= 2):
            return None
        n_samples = X.shape[0]
        if y.shape[0] != n_samples:
            return None
        if y.dtype.kind == "f" and not np.isfinite(y.sum()):
            return None
        if sample_weight is not None:
            if type(sample_weight) is not np.ndarray or sample_weight.shape != (n_samples,) \
                    or sample_weight.dtype.kind != "f":
                return None
            if not np.isfinite(sample_weight.sum()) or sample_weight.min() < 0:
                return None
            # Not cast to X.dtype: float32 would turn a weight of 1e300 into inf
            # (_unit_mean converts them once scaled to mean 1).
        return X, y, sample_weight

    def _kernel_config(self, n_outputs, eta, copy=True):
        """The ``codes`` and ``hyper`` arrays the kernels read (see ``_kernels.loops``).

        Built once per combination of parameters and kept: ``partial_fit`` on
        small chunks would otherwise spend a tenth of its time here. ``hyper`` is
        a fresh copy each time (the driver writes the learning rate into it),
        unless ``copy`` is False: then it is the kept array itself, with only
        its learning rate set, which every caller overwrites before use.
        """
        key = (n_outputs, self.__dict__.get("optimizer_"), self.__dict__.get("schedule_"),
               _config_values(self.__dict__))
        cached = self.__dict__.get("_config_cache")
        if cached is None or cached[0] != key:
            codes, hyper = self._build_kernel_config(n_outputs)
            # Bottou's t0 as built: the capped one below depends on eta0_ (the data).
            cached = (key, codes, hyper, float(hyper[H_OPTIMAL_OFFSET]))
            self._config_cache = cached
        _, codes, hyper, optimal_offset = cached
        if copy:
            hyper = hyper.copy()
        hyper[H_ETA] = eta
        if optimal_offset:
            hyper[H_OPTIMAL_OFFSET] = self._capped_optimal_offset(optimal_offset)
        return codes, hyper

    def _build_kernel_config(self, n_outputs):
        codes = np.array([_KERNEL_CODES[name][1](self, n_outputs) for name in CODES_LAYOUT],
                         dtype=np.int64)
        hyper = np.array([_KERNEL_HYPER[name][1](self, n_outputs) for name in HYPER_LAYOUT],
                         dtype=np.float64)
        return codes, hyper

    def _run_epochs(self, rows, targets, sample_weight, state, max_iter, **options):
        """Train for up to ``max_iter`` epochs (see :func:`~sklearn_gd._driver.run_epochs`)."""
        return run_epochs(self, rows, targets, sample_weight, state, max_iter, **options)

    def _reference_objective(self, targets, sample_weight, codes, total_weight):
        """Yardstick of a sane objective: a bound on that of the all-zero model.

        An epoch whose objective exceeds it ``BLOWUP``-fold has diverged even
        while its weights are still finite (they can reach 1e150 before any
        overflow), so such an epoch is treated like one that produced NaN. The
        bound (see ``zero_model_bound``) is positive for any non-zero targets,
        which keeps a threshold for losses that are 0 at zero, such as the
        perceptron's.
        """
        return reference_objective(self._loops(), targets, sample_weight,
                                   bool(codes[C_MULTINOMIAL]), total_weight)

    def _epoch_function(self, rows, targets, sample_weight, state, codes, hyper):
        """A closure ``(epoch, t) -> (loss_sum, t, status)`` running one epoch."""
        params, m1, m2 = state.params, state.first_moment, state.second_moment
        avg = state.kernel_average()
        n_outputs = params.shape[0]
        scores = np.empty(n_outputs, dtype=np.float64)
        dscores = np.empty(n_outputs, dtype=np.float64)
        X = rows.data
        n = rows.n_samples

        step_scales = self._kernel_step_scales()
        if self._measures_at_epoch_start():
            order = np.arange(n, dtype=np.int64)
            return SVRGEpoch(rows, targets, sample_weight, params, codes, hyper, self.n_jobs,
                             lambda epoch: self._epoch_order(order, epoch),
                             self._batch_rows(n))
        if self.solver == "batch":
            return BatchEpoch(rows, targets, sample_weight, params, m1, m2, codes, hyper,
                              self.n_jobs, restart=self._momentum_restart(state, hyper),
                              step_scales=step_scales, loops=self._loops())

        work = np.zeros_like(params)
        order = np.arange(n, dtype=np.int64)
        loops = self._loops()
        if loops.lazy_updates(codes, rows.is_sparse, self.solver == "stochastic"):
            batch = int(self._batch_rows(n))

            def epoch_fn(epoch, t):
                return loops.lazy_minibatch_epoch(X, targets, sample_weight,
                                                  self._epoch_order(order, epoch), batch,
                                                  params, m1, m2, work, scores, dscores,
                                                  step_scales, int(t), codes, hyper)
            return epoch_fn
        if self.solver == "stochastic":
            sgd_epoch = loops.sgd_epoch_kernel(codes, hyper)

            def epoch_fn(epoch, t):
                return sgd_epoch(X, targets, sample_weight, self._epoch_order(order, epoch),
                                 params, m1, m2, avg, work, scores, dscores, int(t), codes,
                                 hyper)
            return epoch_fn

        batch = int(self._batch_rows(n))
        minibatch_epoch = loops.minibatch_epoch_kernel(codes, n_outputs)

        def epoch_fn(epoch, t):
            return minibatch_epoch(X, targets, sample_weight, self._epoch_order(order, epoch),
                                   batch, params, m1, m2, avg, work, scores, dscores,
                                   step_scales, int(t), codes, hyper)
        return epoch_fn

    def _momentum_restart(self, state, hyper):
        """The batch loop's restart of momentum (``_batch.MomentumRestart``), or None.

        Heavy ball and Nesterov, not with L1: its soft-threshold assumes the
        velocity's steady state (see ``optimizers.py``), and restarts from
        zero velocity made it cycle.
        """
        if not self._optimizer_info().velocity or hyper[H_L1] != 0.0:
            return None
        return MomentumRestart(state, hyper, self.momentum, self._kernel_step_scales())

    def _raise_divergence(self, epoch, eta, reason=None):
        if reason is None:
            reason = (f"the loss became infinite or NaN or grew over {BLOWUP:.0e} times "
                      "that of the all-zero model")
        if self.schedule_ == "optimal":
            # Its rate is 1 / (alpha (t0 + t)): eta0 plays no part.
            advice = (f"learning_rate='optimal' sets the rate from alpha={self.alpha!r}: use "
                      "a larger alpha, another learning_rate, or scale the features (e.g. "
                      "with StandardScaler).")
        else:
            advice = (f"Use a smaller eta0 (for example {eta / 10:.4g}), eta0='auto', or "
                      "scale the features (e.g. with StandardScaler).")
        raise DivergenceError(
            f"Training diverged in epoch {epoch + 1}: {reason}, with learning rate "
            f"{eta:.4g} (eta0={self.eta0!r}, "
            f"learning_rate={self._resolved('learning_rate', 'schedule_')}, "
            f"optimizer={self._resolved('optimizer', 'optimizer_')}). {advice}"
        )

    # ---------------------------------------------------------- fit helpers
    def _fit_arrays(self, X, y, targets, sample_weight, coef_init=None,
                    intercept_init=None):
        """Full ``fit``: fresh or warm state, early-stopping split, epochs, commit."""
        self._check_param_combinations()
        self._reset_seed()
        dtype = X.dtype
        n_outputs = targets.shape[1]
        sample_weight = relative_weights(sample_weight)
        coef_init, intercept_init = self._warm_start_init(coef_init, intercept_init,
                                                          X.shape[1])
        state = self._fresh_state(n_outputs, X.shape[1], dtype, coef_init, intercept_init)

        validation = None
        if self.early_stopping:
            train_idx, val_idx = self._validation_split(y)
            validation = (X[val_idx], y[val_idx], sample_weight[val_idx])
            X, targets, sample_weight = X[train_idx], targets[train_idx], \
                sample_weight[train_idx]
            if not np.any(sample_weight > 0):
                raise ValueError(
                    "early_stopping=True held out every sample with a positive weight "
                    f"(validation_fraction={self.validation_fraction}), leaving nothing "
                    "to train on; use more data, a smaller validation_fraction or "
                    "early_stopping=False."
                )

        sample_weight = _unit_mean(sample_weight, dtype)
        rows = _Rows(X)
        advice = _scale_advice(self)
        if advice is not None:
            _warn_if_badly_scaled(rows, advice, _intercept_counts(self))
        self.preconditioner_ = self._resolve_preconditioner(
            lambda: column_mean_squares(rows, sample_weight), n_outputs)
        self.eta0_ = self._resolve_eta0(
            rows, sample_weight, n_outputs,
            self._initial_gradient(rows, targets, sample_weight, state.params))
        state.eta = None  # every fit restarts the schedule from eta0_
        # L-BFGS opens one more sub-task than it runs iterations; recoveries redo
        # epochs, so their count is not known in advance.
        max_tasks = None if self.on_divergence == "recover" else \
            self.max_iter + (self.optimizer_ == "lbfgs")
        callbacks = epoch_callbacks(self, X, y if not self.early_stopping else None,
                                    sample_weight, max_tasks)
        try:
            if self.optimizer_ == "lbfgs":
                gradient_factory = functools.partial(
                    FullGradient, rows, targets, sample_weight, state.params,
                    n_jobs=self.n_jobs, loops=self._loops())
                curve, n_epochs = fit_lbfgs(self, gradient_factory, rows.n_samples,
                                            column_mean_squares(rows, sample_weight),
                                            state, self.max_iter, callbacks,
                                            self.preconditioner_,
                                            lbfgs_memory(rows.nnz * state.params.shape[0],
                                                         state.params.size))
            else:
                curve, n_epochs = self._run_epochs(rows, targets, sample_weight, state,
                                                   self.max_iter, validation=validation,
                                                   callbacks=callbacks)
        finally:
            callbacks.close(state.params)
        self._commit_state(state)
        self.loss_curve_ = curve
        self.n_iter_ = n_epochs
        self.convergence_ = state.convergence

    def _validation_split(self, y):
        """Indices (train, validation) for early stopping, stratified for classifiers.

        Falls back to a plain random split when the held-out share is too small
        to contain every class, rather than refusing to train.
        """
        # Imported here: sklearn.model_selection adds noticeably to
        # `import sklearn_gd`, and only early stopping needs it.
        from sklearn.model_selection import train_test_split

        idx = np.arange(y.shape[0])
        stratify = y if is_classifier(self) else None
        try:
            try:
                train_idx, val_idx = train_test_split(
                    idx, test_size=self.validation_fraction, stratify=stratify,
                    random_state=self._seed(),
                )
            except ValueError:
                if stratify is None:
                    raise
                train_idx, val_idx = train_test_split(
                    idx, test_size=self.validation_fraction, random_state=self._seed()
                )
        except ValueError as exc:
            raise ValueError(
                f"early_stopping=True cannot hold out validation_fraction="
                f"{self.validation_fraction} of {y.shape[0]} samples: {exc}"
            ) from exc
        return np.sort(train_idx), np.sort(val_idx)

    def _partial_fit_arrays(self, X, targets, sample_weight):
        """One epoch over a chunk, continuing the stored optimizer state.

        ``sample_weight`` None means unit weights (no sums over them needed).
        """
        dtype = X.dtype
        kept = self.__dict__.get("_stream_epoch_kept")
        if kept is not None and kept.accepts(self, X, targets):
            weights = None
            if sample_weight is not None:
                with np.errstate(over="ignore"):  # _unit_mean deals with an overflow
                    total = float(sample_weight.sum())
                # A chunk of zero total weight takes the general path (no update).
                weights = _unit_mean(sample_weight, dtype) if total > 0.0 else None
            if sample_weight is None or weights is not None:
                # Sparse chunks pass _Rows's checks of their structure every time.
                kept.step(self, _Rows(X).data if kept.is_sparse else _readonly(X), targets,
                          weights)
                return
        first = not hasattr(self, "coef_")
        unit = sample_weight is None
        if unit:
            sample_weight = self._unit_weights(X.shape[0], dtype)
            total = float(X.shape[0])
        else:
            with np.errstate(over="ignore"):  # _unit_mean deals with an overflow
                total = float(sample_weight.sum())
        fitted_by = getattr(self, "optimizer_", None)
        self._check_param_combinations(partial=True)
        if first:
            self._reset_seed()
            state = self._fresh_state(targets.shape[1], X.shape[1], dtype)
        else:
            state = self._fitted_state(dtype)
        if total <= 0.0:
            # A chunk whose weights are all zero carries no information.
            if first:
                state.eta = None
                self.eta0_ = None
                self.preconditioner_ = None
            self._commit_state(state)
            if first:
                self.loss_curve_, self.n_iter_ = [], 0
            return
        if not unit:
            sample_weight = _unit_mean(sample_weight, dtype)
        rows = _Rows(X)
        _check_stream_scales(self, rows, first)
        # A fit by L-BFGS left no step size (NaN), one by SVRG (chosen by "auto")
        # a third of the plain step's: the stream derives its own.
        fresh = (first or getattr(self, "eta0_", None) is None or math.isnan(self.eta0_)
                 or fitted_by != self.optimizer_)
        if fresh:
            # As eta0_, from the first chunk, and kept.
            self.preconditioner_ = self._resolve_preconditioner(
                lambda: column_mean_squares(rows, sample_weight), targets.shape[1])
        if fresh or self.eta0 != "auto":
            self.eta0_ = self._resolve_eta0(
                rows, sample_weight, targets.shape[1],
                self._initial_gradient(rows, targets, sample_weight, state.params))
        epoch_run = None
        if self.solver != "batch" and self.on_divergence == "raise" and not self.verbose:
            curve, n_epochs, epoch_run = self._stream_epoch(rows, targets, sample_weight,
                                                            state, unit)
        else:
            curve, n_epochs = self._run_epochs(rows, targets, sample_weight, state, 1,
                                               stopping=False)
        self._commit_state(state)
        self._record_stream_epochs(curve, n_epochs, first)
        if epoch_run is not None and not self.average \
                and rows.n_samples <= _KEEP_BUFFER_ROWS \
                and self.__dict__.get("_stream_scales", ()) is None:
            # The next chunk of this shape skips the set-up (see _stream); on a
            # large chunk the set-up costs nothing next to the epoch.
            epoch_run.keep(self, self._unit_weights(rows.n_samples, dtype))

    def _unit_weights(self, n_samples, dtype):
        """Weights of 1, kept from call to call for chunks of one length and dtype.

        Nothing writes into sample weights once they are validated (the
        kernels and the drivers only read them; ``_unit_mean`` never scales
        in place), so one array serves every chunk of a stream; making it each
        time was a few per cent of a call on 10 rows.
        """
        weights, _ = _kept_buffers(self, "_unit_weight_cache", (n_samples, dtype),
                                   lambda: np.ones(n_samples, dtype=dtype))
        return weights

    def _stream_scratch(self, n_samples, params):
        """Buffers of ``_stream_epoch``, kept from call to call for chunks of one shape.

        (scores, dscores, a zeroed buffer like ``params``, a gradient buffer
        like it, an order of ``n_samples``); allocating them was a few per cent
        of a call on 10-row chunks. The zeroed buffer is zeroed again each time:
        the mini-batch loop leaves its last gradient in it.
        """
        # The order starts as the identity, which unshuffled epochs keep.
        buffers, kept = _kept_buffers(
            self, "_stream_buffers", (n_samples, params.shape, params.dtype, self.shuffle),
            lambda: (np.empty(params.shape[0]), np.empty(params.shape[0]),
                     np.zeros(params.shape, dtype=params.dtype),
                     np.empty(params.shape, dtype=params.dtype),
                     np.arange(n_samples, dtype=np.int64)))
        if kept:
            buffers[2].fill(0.0)
        return buffers

    def _stream_epoch(self, rows, targets, sample_weight, state, unit=False):
        """``_run_epochs(max_iter=1)`` for the common ``partial_fit`` case, with little Python.

        A call on a small chunk is a few microseconds of kernel work, so the
        driver's bookkeeping (recovery checkpoints, stopping rules, callbacks,
        verbose output, none of which a single raising epoch needs) was most of
        its cost. The kernels, the order of the updates and the two divergence
        checks are those of ``_run_epochs``, so the result is the same to the
        bit; ``partial_fit`` uses the general driver for the batch solver,
        ``on_divergence="recover"`` and ``verbose``. ``unit`` says that the
        weights are all 1 (their sums are then known). Returns the curve, the
        number of epochs and the :class:`~sklearn_gd._stream.StreamEpoch` that
        ran (which ``partial_fit`` may keep for the next chunk).
        """
        epoch_run = StreamEpoch(self, rows.n_samples, state.params, rows.is_sparse)
        total_weight = float(rows.n_samples) if unit else float(sample_weight.sum())
        objective, state.t, state.eta = epoch_run.run(
            self, rows.data, targets, sample_weight, total_weight, state.params,
            state.first_moment, state.second_moment, state.kernel_average(), state.t,
            state.epochs, state.eta, unit)
        state.epochs += 1
        return [objective], 1, epoch_run

    def _record_stream_epochs(self, curve, n_epochs, first):
        """Add a ``partial_fit`` call's epochs to ``loss_curve_`` and ``n_iter_``.

        Extended in place (as MLP's loss_curve_ is): copying it on every call
        made long streams quadratic. Nothing can fail after this point, so
        restore_on_error's snapshot stays valid.
        """
        if first:
            self.loss_curve_ = curve
        else:
            history = self.loss_curve_
            history.extend(curve)
            if len(history) > _LOSS_CURVE_LIMIT:
                del history[:len(history) - _LOSS_CURVE_LIMIT * 9 // 10]
        self.n_iter_ = (0 if first else self.n_iter_) + n_epochs


# precondition="auto" rescales L-BFGS's variables when the diagonal's largest
# entry is more than this many times its smallest (see _resolve_preconditioner).
_LBFGS_UNEVEN = 10.0


# Column scales further apart than this make first-order descent crawl along
# the small ones (the step size is bounded by the large ones): a ratio r of
# scales is a condition number of about r**2.
_SCALE_SPREAD_WARNING = 1e3


# partial_fit judges the scales on the first rows of a stream (whole chunks, at
# least this many), so that the calls after them pay nothing for the check.
_STREAM_SCALE_ROWS = 100


def _scale_advice(estimator):
    """What to advise when the features are badly scaled, or None if it does not matter.

    The plain, momentum and Nesterov steps are bounded by the largest scale.
    The "normalized" steps are scale-free, but an L1/L2 penalty is not: the
    weights of small-scale features are large, and it shrinks them hardest.
    The diagonal preconditioner (``precondition``) gives each coordinate a step
    of its own scale: nothing to advise then.
    """
    info = estimator._optimizer_info()
    if info is None:
        return None  # L-BFGS
    if not info.per_coordinate and not estimator._uses_preconditioner():
        return ("Gradient descent with a step size safe for the largest converges slowly "
                "along the smallest: use optimizer='normalized' (per-feature scale-free "
                "steps, also for partial_fit streams), scale the features (e.g. "
                "StandardScaler in a Pipeline), or use another adaptive optimizer "
                "('adam', 'adagrad') or optimizer='lbfgs'.")
    if info.scale_free and estimator.penalty is not None \
            and estimator.alpha > 0:
        return ("optimizer='normalized' takes scale-free steps, but the penalty is not "
                "scale-free: it shrinks the large weights of small-scale features hardest. "
                "Use penalty=None (or a much smaller alpha), or scale the features.")
    return None


def _intercept_counts(estimator):
    """Whether the intercept's column of ones counts among the scales (plain steps only).

    Features all scaled by 1e4 leave the intercept as slow as a tiny feature
    would be under a step sized for them; the adaptive and normalized steps
    are per coordinate, so there it does not matter.
    """
    info = estimator._optimizer_info()
    return estimator.fit_intercept and info is not None and not info.per_coordinate


def _warn_if_badly_scaled(rows, advice, fit_intercept=False, seen=None):
    """Warn, with ``advice``, when feature scales (root mean squares) span 1e3 or more.

    With ``fit_intercept`` the intercept's column of ones counts as a feature
    of scale 1. ``seen`` is ``(column sums of squares, number of rows)`` of
    earlier rows to judge together with ``rows``. Returns that pair with
    ``rows`` added, or None if it warned.
    """
    sq = np.empty(rows.n_features)
    column_sq_sums(rows.data, rows.n_samples, sq)
    n_rows = rows.n_samples
    if seen is not None:
        sq += seen[0]
        n_rows += seen[1]
    rms = np.sqrt(sq / max(n_rows, 1))
    if not np.all(np.isfinite(rms)):
        # Squares beyond float64 have no ratio to report; the step size (which
        # cannot be derived from them either) raises the error that names X.
        return sq, n_rows
    rms = rms[rms > 0]
    if fit_intercept:
        rms = np.append(rms, 1.0)
    if rms.size > 1 and rms.max() >= _SCALE_SPREAD_WARNING * rms.min():
        warn(
            f"The features' scales span a factor of {rms.max() / rms.min():.3g} (root mean "
            f"squares from {rms.min():.3g} to {rms.max():.3g}"
            + (", the intercept's column of ones counting as 1" if fit_intercept else "")
            + f"). {advice}",
            UserWarning,
        )
        return None
    return sq, n_rows


def _check_stream_scales(estimator, rows, first):
    """``fit``'s warning about feature scales, for ``partial_fit``: at most once per estimator.

    The first calls of a stream add their rows' column sums of squares to
    ``estimator._stream_scales`` (replaced, never changed in place, as
    ``restore_on_error`` requires) until a warning or ``_STREAM_SCALE_ROWS``
    rows; it is None from then on, and pickles keep it, so a model stored
    and resumed does not warn again.
    """
    state = () if first else estimator.__dict__.get("_stream_scales", ())
    if state is None:
        return
    advice = _scale_advice(estimator)
    if advice is None:
        estimator._stream_scales = None
        return
    seen = _warn_if_badly_scaled(rows, advice, _intercept_counts(estimator), state or None)
    estimator._stream_scales = None if seen is None or seen[1] >= _STREAM_SCALE_ROWS \
        else seen


def relative_weights(sample_weight):
    """``sample_weight`` (float64), divided by its largest value if its sum leaves float64.

    The objective is a weighted mean, so only the ratios of the weights matter;
    weights of 1e308 (whose sum overflows) or of 1e-320 (whose mean-1 scale
    factor does) are then as good as any. Ordinary weights come back as they
    are, so their fits do not change by a rounding. Raises a ValueError naming
    ``sample_weight`` if they are not finite (a product with class weights can
    be) or all zero.
    """
    sw = np.asarray(sample_weight, dtype=np.float64)
    n = sw.shape[0]
    with np.errstate(over="ignore"):  # an overflowing sum is the case handled below
        total = float(sw.sum())
    if 0.0 < total < math.inf and math.isfinite(n / total):
        return sw
    top = float(sw.max()) if n else 0.0
    if not (0.0 < top < math.inf):
        raise ValueError(
            "sample_weight (times class_weight, for a classifier) must be finite with at "
            f"least one positive value; its largest value is {top!r}."
        )
    return sw / top


def _unit_mean(sample_weight, dtype):
    """Weights scaled to mean 1, in ``dtype``.

    Returns a new array unless ``sample_weight`` already is that (as the unit
    weights made for ``sample_weight=None`` are); the kernels never write to it.
    The weights must have a positive sum.
    """
    sw = np.asarray(sample_weight, dtype=np.float64)
    with np.errstate(over="ignore"):  # relative_weights deals with an overflow
        total = float(sw.sum())
    if total == sw.shape[0] and sample_weight.dtype == dtype:
        return sample_weight
    sw = relative_weights(sw)
    return (sw * (sw.shape[0] / float(sw.sum()))).astype(dtype)
