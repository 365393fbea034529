"""A user-defined loss: two Numba-jitted functions of the score and the target."""

import math
import numbers

from numba.core import types
from numba.core.registry import CPUDispatcher

from ._kernels import loops as default_loops
from ._kernels.custom_loops import loops_for
from ._kernels.losses import LOSS_CUSTOM
from ._registry import LossInfo

_SIGNATURE = (types.float64, types.float64)

# Where the derivative is compared with the value's central differences: scores
# on both sides of the usual kinks (0 and +-1) and targets of both classes and
# of a regression. Points where either function is not finite are skipped.
_PROBE_SCORES = (-2.3, -0.61, 0.37, 1.9)
_PROBE_TARGETS = (-1.0, 1.0, 2.5)
_DERIVATIVE_RTOL = 1e-3


class CustomLoss:
    """A loss given by a pair of Numba-jitted functions, for ``loss=`` of either estimator.

    ``value(score, target)`` is the loss of one score (one output column of
    the linear model, ``x @ coef + intercept``) against its target, and
    ``derivative(score, target)`` its derivative with respect to the score.
    Both take two float64 and return a float. :class:`GDRegressor` passes the
    sample's target; :class:`GDClassifier` passes +1 or -1 per class column
    (one-vs-rest for more than two classes, so the loss is a margin loss of
    ``target * score``), as it does for its built-in margin losses.

    The training loops are compiled for each pair of functions, once per
    process and per solver, input dtype and row format, on the first fit
    that needs them: a few seconds each, and never read from the disk cache
    (the built-in losses' kernels are). A grid search in one process
    compiles once; each process worker compiles its own. Every solver and optimizer
    works with it but the passive-aggressive steps, which are defined for the
    hinge and epsilon-insensitive losses only.

    Parameters
    ----------
    value : numba.core.registry.CPUDispatcher
        ``@numba.njit`` function ``(score, target) -> loss``.
    derivative : numba.core.registry.CPUDispatcher
        ``@numba.njit`` function ``(score, target) -> d loss / d score``.
    curvature : float, default=1.0
        A bound on the second derivative of the loss in the score (for a
        non-smooth loss, a scale of the steps). ``eta0="auto"`` and the
        preconditioner take the step size from it, as from a built-in loss's
        (the squared error has 1, the log loss 0.25): too small a value makes
        the steps too long.
    smooth : bool, default=True
        Whether the derivative is continuous. For a smooth loss convergence
        is certified by the gradient norm; for a non-smooth one by the
        aggregate-subgradient test of the built-in non-smooth losses.
    check_derivative : bool, default=True
        Compare ``derivative`` with central finite differences of ``value``
        at a few points when ``smooth`` is True, and raise a ValueError if
        they disagree at most of them.
    name : str, default=None
        Shown in the ``repr`` and in messages; the value function's name if
        None.

    Attributes
    ----------
    info : LossInfo
        What the estimators need to know about the loss (its kernel code,
        curvature and smoothness).

    Examples
    --------
    >>> import math
    >>> import numba
    >>> from sklearn_gd import CustomLoss, GDRegressor
    >>> @numba.njit
    ... def log_cosh(score, target):
    ...     r = score - target
    ...     return abs(r) + math.log1p(math.exp(-2.0 * abs(r))) - math.log(2.0)
    >>> @numba.njit
    ... def log_cosh_derivative(score, target):
    ...     return math.tanh(score - target)
    >>> loss = CustomLoss(log_cosh, log_cosh_derivative)
    >>> GDRegressor(loss=loss).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0]).predict([[3.0]])
    array([2.99...])
    """

    def __init__(self, value, derivative, *, curvature=1.0, smooth=True,
                 check_derivative=True, name=None):
        for role, func in (("value", value), ("derivative", derivative)):
            _check_jitted(role, func)
        if isinstance(curvature, bool) or not isinstance(curvature, numbers.Real) \
                or not (math.isfinite(curvature) and curvature > 0):
            raise ValueError(f"curvature must be a positive finite number, got {curvature!r}.")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {name!r}.")
        self.value = value
        self.derivative = derivative
        self.curvature = float(curvature)
        self.smooth = bool(smooth)
        self.name = name if name is not None else value.py_func.__name__
        self.info = LossInfo(LOSS_CUSTOM, self.curvature, smooth=self.smooth)
        if self.smooth and check_derivative:
            self._check_derivative()

    def __repr__(self):
        # As scikit-learn's reprs: the arguments that differ from the defaults.
        parts = [self.value.py_func.__name__, self.derivative.py_func.__name__]
        if self.curvature != 1.0:
            parts.append(f"curvature={self.curvature!r}")
        if not self.smooth:
            parts.append("smooth=False")
        if self.name != self.value.py_func.__name__:
            parts.append(f"name={self.name!r}")
        return f"CustomLoss({', '.join(parts)})"

    # Nothing in the object changes after construction, and a copy would only
    # check the derivative again: ``clone`` keeps the object itself.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def loops(self):
        """The training loops compiled for this pair (a module like ``_kernels.loops``)."""
        return loops_for(self.value, self.derivative)

    def _check_derivative(self):
        checked, wrong = 0, []
        for target in _PROBE_TARGETS:
            for score in _PROBE_SCORES:
                h = 1e-5 * max(1.0, abs(score))
                numeric = (self.value(score + h, target) - self.value(score - h, target)) \
                    / (2.0 * h)
                given = self.derivative(score, target)
                if not (math.isfinite(numeric) and math.isfinite(given)):
                    continue
                checked += 1
                if abs(given - numeric) > _DERIVATIVE_RTOL * max(1.0, abs(numeric)):
                    wrong.append((score, target, given, numeric))
        if checked and 2 * len(wrong) > checked:
            score, target, given, numeric = wrong[0]
            raise ValueError(
                f"derivative does not match value: at score={score}, target={target} "
                f"{self.derivative.py_func.__name__} gives {given:.6g} but the central "
                f"difference of {self.value.py_func.__name__} is {numeric:.6g} (and so at "
                f"{len(wrong)} of {checked} points checked). Pass smooth=False for a loss "
                "with kinks, or check_derivative=False to skip this check."
            )


def _check_jitted(role, func):
    """Reject what the loops cannot call: not an ``njit`` function, or not float -> float."""
    if not isinstance(func, CPUDispatcher):
        raise TypeError(
            f"{role} must be a Numba-jitted function (decorate it with @numba.njit), got "
            f"{func!r}."
        )
    try:
        func.compile(_SIGNATURE)
    except Exception as error:
        raise TypeError(
            f"{role}={func.py_func.__name__} cannot be compiled for (score: float64, "
            f"target: float64): {error}"
        ) from error
    returned = func.overloads[_SIGNATURE].signature.return_type
    if not isinstance(returned, (types.Float, types.Integer)) \
            or isinstance(returned, types.Boolean):
        raise TypeError(
            f"{role}={func.py_func.__name__} must return a float, but returns {returned} "
            "for (float64, float64)"
            + (": give the value and the derivative as two functions." if
               isinstance(returned, types.BaseTuple) else ".")
        )


def loops_of(loss):
    """The training-loop module for ``loss``: ``_kernels.loops``, or a custom loss's own."""
    if isinstance(loss, CustomLoss):
        return loss.loops()
    return default_loops


def loss_info(loss, table):
    """The :class:`LossInfo` of ``loss``: a name in ``table``, or a :class:`CustomLoss`."""
    if isinstance(loss, CustomLoss):
        return loss.info
    return table[loss]

