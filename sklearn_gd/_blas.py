"""BLAS on one thread while L-BFGS runs, shared by every fit of the process.

SciPy's L-BFGS-B calls BLAS a few times per iteration, on arrays of the size
of the model. OpenBLAS answers each call with its worker threads, which then
spin for a while waiting for more work, on the cores our gradient threads
need: on the flights benchmark (245,509 one-hot rows, two cores) that doubled
the time of ``GDClassifier().fit``. One BLAS thread costs L-BFGS-B nothing at
these sizes.

The limit is process-wide (BLAS has no other), as scikit-learn's ``KMeans``
sets it for its own fits. It is counted: the first L-BFGS run to start sets
it, the last to end restores what it found, so fits in several threads
neither undo each other's limit nor leave it behind (a limit taken and given
back by each fit on its own left the process at one thread, or a running fit
at two, depending on the order in which the fits ended). While any L-BFGS
fit runs, BLAS called from other threads of the process also runs on one
thread.
"""

import os
import threading
from contextlib import contextmanager

_LOCK = threading.Lock()
_users = 0
_limiter = None
_controller = None


def _blas_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


@contextmanager
def single_threaded_blas():
    """Run the block with every BLAS library of the process on one thread."""
    global _users, _limiter
    with _LOCK:
        if _users == 0:
            _limiter = _blas_controller().limit(limits=1, user_api="blas")
        _users += 1
    try:
        yield
    finally:
        with _LOCK:
            # 0 here: a fork's child reset the count under this block.
            if _users > 0:
                _users -= 1
                if _users == 0:
                    limiter, _limiter = _limiter, None
                    limiter.restore_original_limits()


def _reset_after_fork():
    """Start the child of a fork with no fit running and BLAS as it was.

    Only the forking thread survives: a limit taken by a fit running in
    another thread would stay forever, and the lock may have been held.
    """
    global _LOCK, _users, _limiter
    _LOCK = threading.Lock()
    limiter, _limiter, _users = _limiter, None, 0
    if limiter is not None:
        limiter.restore_original_limits()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
