"""User-defined losses for the tests, one module-level object per pair (each pair compiles once).

Two restate built-in losses, so that a fit with them must equal the built-in
fit; log-cosh has no built-in twin and is checked against SciPy.
"""

import math

import numba

from sklearn_gd import CustomLoss


@numba.njit
def half_squared_residual(score, target):
    r = score - target
    return 0.5 * r * r


@numba.njit
def residual(score, target):
    return score - target


@numba.njit
def hinge_value(score, target):
    return max(0.0, 1.0 - target * score)


@numba.njit
def hinge_derivative(score, target):
    return -target if target * score < 1.0 else 0.0


@numba.njit
def log_cosh(score, target):
    r = abs(score - target)
    return r + math.log1p(math.exp(-2.0 * r)) - math.log(2.0)


@numba.njit
def log_cosh_derivative(score, target):
    return math.tanh(score - target)


SQUARED = CustomLoss(half_squared_residual, residual)
HINGE = CustomLoss(hinge_value, hinge_derivative, smooth=False)
LOG_COSH = CustomLoss(log_cosh, log_cosh_derivative)
