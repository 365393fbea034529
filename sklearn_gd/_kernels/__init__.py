"""Numba kernels: losses, optimizer updates, step-size schedules and epoch loops.

Everything here is ``@njit(cache=True, nogil=True)`` code over typed arrays and
integer codes (see :mod:`sklearn_gd._registry`). No Python objects, no BLAS. The
estimators never import these modules directly; :mod:`sklearn_gd._base` does.
"""
