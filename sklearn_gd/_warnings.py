"""Warnings that point at the user's call, however deep in the package they are raised."""

import os
import sys
import warnings


def _skipped_prefixes():
    prefixes = [os.path.dirname(os.path.abspath(__file__)) + os.sep]
    try:
        # scikit-learn's callback decorator wraps our fit (see _callbacks.py):
        # its frames stand between the user's call and ours.
        import sklearn.callback

        prefixes.append(os.path.dirname(os.path.abspath(sklearn.callback.__file__)) + os.sep)
    except ImportError:
        pass
    return tuple(prefixes)


_SKIPPED = _skipped_prefixes()


def warn(message, category, skip=()):
    """``warnings.warn`` at the first frame outside ``sklearn_gd`` (and the callback wrapper).

    ``skip`` adds directories whose frames are passed over too (Numba's, for
    warnings raised while the dispatcher compiles or loads a kernel).

    A fixed ``stacklevel`` is wrong for some path (fit, partial_fit, the Dask
    path and the decorators around them nest differently), and a warning shown
    at a line of the library says nothing about which of the user's fits it
    concerns.
    """
    level = 2  # warnings.warn counts this function as 1
    skipped = _SKIPPED + tuple(skip)
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(skipped):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
