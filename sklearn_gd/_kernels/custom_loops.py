"""The epoch loops of ``loops.py`` compiled around a user-defined loss.

A user-defined loss (``sklearn_gd.CustomLoss``) is a pair of Numba-jitted
functions ``value(score, target)`` and ``derivative(score, target)``. The loops
reach the loss only through two inlined helpers, ``sample_loss`` and
``single_score_loss``; :func:`build_loops` makes a module like ``loops`` whose
loss-calling loops are new compilations of the same Python functions, with
those two names bound to helpers that call the user's pair. Every loss, built
in or not, so runs one loop source, and the user's functions are compiled into
it as direct calls, as a built-in loss is.

The copies are compiled for one pair of functions (:func:`loops_for` keeps one
module per pair), in the process that uses them, on first use, and are not
written to the disk cache: their entries would be keyed on the source of
``loops.py`` and meet the built-in kernels'.
"""

import math
import threading
import types

from numba import njit

from . import loops
from .losses import LOSS_CUSTOM

# The loops that evaluate the loss, and the Python functions choosing among them
# (rebound so that they return the new loops).
LOSS_LOOPS = ("sgd_epoch", "scaled_sgd_epoch", "minibatch_epoch", "lazy_minibatch_epoch",
              "batch_gradient", "single_score_gradient")
SELECTORS = ("sgd_epoch_kernel", "minibatch_epoch_kernel", "batch_gradient_kernel")


# Templates: compiled with ``loss_value`` and ``loss_derivative`` bound to the
# user's functions in their globals. The score and target reach them as float64
# whatever the fit's dtype, so each user function compiles for one signature.
def _single_score_loss(code, p, y, epsilon, quantile, gamma):
    p = float(p)
    y = float(y)
    return float(loss_value(p, y)), float(loss_derivative(p, y))  # noqa: F821


def _sample_loss(scores, targets, i, dscores, codes, hyper):
    total = 0.0
    for k in range(scores.shape[0]):
        value, deriv = single_score_loss(LOSS_CUSTOM, scores[k], targets[i, k], 0.0, 0.0, 0.0)  # noqa: F821
        total += value
        dscores[k] = deriv
    return total


def _zero_model_bound(targets, sample_weight, multinomial):
    """``loops.zero_model_bound``, or the user loss's own sum at zero scores if larger."""
    total = 0.0
    for i in range(targets.shape[0]):
        row = 0.0
        for k in range(targets.shape[1]):
            row += abs(float(loss_value(0.0, float(targets[i, k]))))  # noqa: F821
        total += sample_weight[i] * row
    bound = builtin_zero_model_bound(targets, sample_weight, multinomial)  # noqa: F821
    if not math.isfinite(total):
        return bound
    return max(bound, total)


def _rebind(func, namespace):
    """``func`` with ``namespace`` as its globals (same code, defaults and name)."""
    copy = types.FunctionType(func.__code__, namespace, func.__name__, func.__defaults__,
                              func.__closure__)
    copy.__qualname__ = func.__qualname__
    copy.__doc__ = func.__doc__
    return copy


def _jit_like(dispatcher, func):
    """Compile ``func`` with ``dispatcher``'s options, without the disk cache."""
    options = {k: v for k, v in dispatcher.targetoptions.items() if k != "nopython"}
    return njit(**options)(func)


_BUILT = {}
_BUILT_LOCK = threading.Lock()


def loops_for(value, derivative):
    """The loop module of the pair, built on the first request in this process."""
    with _BUILT_LOCK:
        module = _BUILT.get((value, derivative))
        if module is None:
            module = _BUILT[value, derivative] = build_loops(value, derivative)
    return module


def build_loops(value, derivative):
    """A module with the attributes of ``loops``, its loss-calling loops compiled for the pair.

    Nothing is compiled here: each loop compiles on its first call, for the
    dtypes and row format it meets, as the built-in loops do.
    """
    name = f"{value.py_func.__name__}, {derivative.py_func.__name__}"
    module = types.ModuleType(f"{loops.__name__}[{name}]")
    namespace = module.__dict__
    namespace.update({key: item for key, item in vars(loops).items()
                      if not key.startswith("__")})
    namespace.update(loss_value=value, loss_derivative=derivative, LOSS_CUSTOM=LOSS_CUSTOM,
                     builtin_zero_model_bound=loops.zero_model_bound)
    for helper, template in (("single_score_loss", _single_score_loss),
                             ("sample_loss", _sample_loss),
                             ("zero_model_bound", _zero_model_bound)):
        namespace[helper] = _jit_like(getattr(loops, helper), _rebind(template, namespace))
    for loop in LOSS_LOOPS:
        dispatcher = getattr(loops, loop)
        namespace[loop] = _jit_like(dispatcher, _rebind(dispatcher.py_func, namespace))
    for selector in SELECTORS:
        namespace[selector] = _rebind(getattr(loops, selector), namespace)
    # The built-in plain SGD loop is specialised (averaging and L1 folded away
    # when off) and cached; a copy around the user's functions is neither:
    # it shares the built-in's code and cache key (see specialise.py).
    namespace["scaled_sgd_epoch_for"] = lambda codes, hyper: namespace["scaled_sgd_epoch"]
    return module
