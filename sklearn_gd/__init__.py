"""Gradient-descent linear models for scikit-learn, trained by Numba kernels.

Public names: :class:`GDRegressor`, :class:`GDClassifier`, :class:`CustomLoss` and
:class:`DivergenceError`, :class:`DivergenceWarning`, :class:`KernelCacheWarning`
and :func:`plot_loss_curves` (matplotlib is imported only when it is called).
"""

from ._classification import GDClassifier
from ._custom_loss import CustomLoss
from ._driver import DivergenceError, DivergenceWarning
from ._kernels._cache import KernelCacheWarning
from ._regression import GDRegressor
from .plotting import plot_loss_curves

__all__ = [
    "GDClassifier",
    "GDRegressor",
    "CustomLoss",
    "DivergenceError",
    "DivergenceWarning",
    "KernelCacheWarning",
    "plot_loss_curves",
]
__version__ = "0.1.0"
