"""The one decorator for the package's kernels: ``@njit(nogil=True)`` with our disk cache.

Every kernel states its floating-point contract (``fastmath`` and
``error_model``): Numba lets a function that leaves one unset inherit it from
the kernel that first compiles it as a callee, so a helper reached from Python
and from a kernel (or from kernels of different flags) compiled to different
code depending on which came first in the process, and the disk cache kept
that version for every later process (a fit's last bits changed with the
order: ``tests/test_determinism.py::test_bits_do_not_depend_on_compile_order``).

Numba's ``cache=True`` is replaced by ``_cache.KernelCache``: keyed on the whole
kernel package, readable from a read-only install, checked for ownership, and
never failing a fit (see that module). Decorating never touches the disk, so
``import sklearn_gd`` works wherever the package can be imported.
"""

from numba import njit

from ._cache import attach

# The floating-point contract of the loops, their helpers and the passes that
# sum over rows: reassociation lets LLVM vectorise the dot products and gradient
# sums (a fixed order for a given build, so results stay reproducible);
# 'nnan'/'ninf' are not allowed because the divergence checks rely on NaN and
# inf behaving as such.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


def kernel(*, fastmath, error_model, **options):
    """``njit(nogil=True, fastmath=..., error_model=..., **options)``, cached by ``KernelCache``.

    ``fastmath`` and ``error_model`` are required (see the module docstring).
    """

    def decorate(func):
        return attach(njit(cache=False, nogil=True, fastmath=fastmath,
                           error_model=error_model, **options)(func))

    return decorate
