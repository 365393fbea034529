"""The one decorator for the package's kernels: ``@njit`` cached on disk when possible.

Numba looks for a writable cache directory when a function is decorated: next
to the sources, then ``NUMBA_CACHE_DIR`` or the user's cache directory. With
none of them writable (a read-only install with no writable home, say) it
raises "no locator available", which would make ``import sklearn_gd`` fail;
here that falls back, with one warning, to compiling in memory in each process.
"""

import warnings

from numba import njit

_warned = False


def kernel(**options):
    """``njit(cache=True, nogil=True, **options)``, or uncached if nowhere to cache."""

    def decorate(func):
        global _warned
        try:
            return njit(cache=True, nogil=True, **options)(func)
        except RuntimeError as exc:
            if "no locator available" not in str(exc):
                raise
            if not _warned:
                warnings.warn(
                    "sklearn_gd: no writable directory for Numba's on-disk cache (tried "
                    "next to the package, NUMBA_CACHE_DIR and the user cache directory); "
                    "kernels are compiled in memory in each process, which costs a few "
                    "seconds on first use.",
                    UserWarning,
                    stacklevel=2,
                )
                _warned = True
            return njit(cache=False, nogil=True, **options)(func)

    return decorate
