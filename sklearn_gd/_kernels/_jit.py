"""The one decorator for the package's kernels: ``@njit(nogil=True)`` with our disk cache.

Numba's ``cache=True`` is replaced by ``_cache.KernelCache``: keyed on the whole
kernel package, readable from a read-only install, checked for ownership, and
never failing a fit (see that module). Decorating never touches the disk, so
``import sklearn_gd`` works wherever the package can be imported.
"""

from numba import njit

from ._cache import attach


def kernel(**options):
    """``njit(nogil=True, **options)``, cached on disk by ``KernelCache``."""

    def decorate(func):
        return attach(njit(cache=False, nogil=True, **options)(func))

    return decorate
