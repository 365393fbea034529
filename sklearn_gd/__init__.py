"""Gradient-descent linear models for scikit-learn, trained by Numba kernels.

Public names: :class:`GDRegressor`, :class:`GDClassifier`, :class:`CustomLoss` and
:class:`DivergenceError`, :class:`DivergenceWarning`, :class:`KernelCacheWarning`
and :func:`plot_loss_curves` (matplotlib is imported only when it is called).

They are imported on first access (PEP 562), so that ``import sklearn_gd._kernels``
(a worker loading cached kernels, ``python -m sklearn_gd.precompile``) does not
import scikit-learn first.
"""

import importlib
from typing import TYPE_CHECKING

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

_HOMES = {
    "GDClassifier": "._classification",
    "GDRegressor": "._regression",
    "CustomLoss": "._custom_loss",
    "DivergenceError": "._driver",
    "DivergenceWarning": "._driver",
    "KernelCacheWarning": "._kernels._cache",
    "plot_loss_curves": ".plotting",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._classification import GDClassifier
    from ._custom_loss import CustomLoss
    from ._driver import DivergenceError, DivergenceWarning
    from ._kernels._cache import KernelCacheWarning
    from ._regression import GDRegressor
    from .plotting import plot_loss_curves


def __getattr__(name):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
