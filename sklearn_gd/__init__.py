"""Gradient-descent linear models for scikit-learn, trained by Numba kernels.

Public names: :class:`GDRegressor`, :class:`GDClassifier` and
:class:`DivergenceError`.
"""

from ._base import DivergenceError
from ._classification import GDClassifier
from ._regression import GDRegressor

__all__ = ["GDClassifier", "GDRegressor", "DivergenceError"]
__version__ = "0.1.0"
