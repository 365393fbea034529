"""Gradient-descent linear models for scikit-learn, trained by Numba kernels.

Public names: :class:`GDRegressor`, :class:`GDClassifier` and
:class:`DivergenceError` and :class:`DivergenceWarning`.
"""

from ._base import DivergenceError, DivergenceWarning
from ._classification import GDClassifier
from ._regression import GDRegressor

__all__ = ["GDClassifier", "GDRegressor", "DivergenceError", "DivergenceWarning"]
__version__ = "0.1.0"
