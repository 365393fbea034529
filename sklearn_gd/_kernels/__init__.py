"""Numba kernels: losses, optimizer updates, step-size schedules and epoch loops.

Everything here is ``@njit(cache=True, nogil=True)`` code (through
``_jit.kernel``, which falls back to in-memory compilation when no cache
directory is writable) over typed arrays and
integer codes (see :mod:`sklearn_gd._registry`). No Python objects, no BLAS. The
estimators never call them directly: the driver modules do (``_base``, ``_batch``,
``_lbfgs`` and ``dask``).
"""
