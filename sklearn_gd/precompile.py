"""Compile the kernels ahead of time into the on-disk cache: ``python -m sklearn_gd.precompile``.

Run it once where the package is installed, as a user who can write there (a
container image build, a post-install step), so that later processes load the
machine code instead of compiling it, including processes that cannot write to
the install (read-only images, other users). The cache goes to the first
writable place of the kernel cache (``NUMBA_CACHE_DIR`` when set, else the
``__pycache__`` next to the kernels; see "Running in production" in the user
guide) and is keyed on the package's sources, so an upgrade ignores it until it
is built again.

Small fits are run over every combination of the chosen dtypes, row formats
and solvers, for a regressor, a binary and a multiclass classifier; each
kernel is compiled once per dtype and row format (the optimizer, loss, penalty
and schedule are run-time codes), except plain one-sample SGD
(``loops.scaled_sgd_epoch``), which is compiled once more per averaging
and L1 setting: all four are run here. With the default ``optimizer="auto"``
the batch fits of smooth losses compile L-BFGS's gradient pass and the hinge
ones and ``partial_fit`` the plain batch step. Labels of other types and
rarer paths compile on first use as before.
"""

import argparse
import itertools
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

DTYPES = ("float64", "float32")
FORMATS = ("dense", "csr")
SOLVERS = ("batch", "stochastic", "minibatch")


def _estimators(solver):
    """(estimator, number of classes or 0 for regression) pairs that use every kernel."""
    from sklearn_gd import GDClassifier, GDRegressor

    common = dict(solver=solver, max_iter=2, tol=None, random_state=0)
    estimators = [(GDRegressor(**common), 0),
                  (GDClassifier(loss="hinge", **common), 2),
                  (GDClassifier(loss="hinge", **common), 3),  # one-vs-rest
                  (GDClassifier(loss="log_loss", **common), 3),  # softmax
                  # The binary log loss's batch and SVRG snapshot passes are
                  # vectorised kernels of their own (L-BFGS and SVRG by "auto").
                  (GDClassifier(loss="log_loss", **common), 2)]
    if solver != "batch":
        # Plain SGD with an L2 penalty runs its own epoch (weights kept as a
        # scale times a vector); the other optimizers share the general one.
        estimators += [(GDRegressor(optimizer="adam", **common), 0),
                       (GDRegressor(penalty="l2", **common), 0)]
    if solver == "minibatch":
        estimators.append((GDRegressor(shuffle="blocks", **common), 0))
    if solver == "stochastic":
        # SVRG's snapshot pass and its steps are kernels of their own.
        estimators.append((GDRegressor(optimizer="svrg", **common), 0))
        # Plain one-sample SGD's loop is compiled per averaging and L1 setting.
        estimators += [(GDRegressor(optimizer="sgd", average=average, penalty=penalty,
                                    **common), 0)
                       for average in (False, True) for penalty in ("l2", "elasticnet")]
    return estimators


def _data(dtype, row_format, n_classes):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 3)).astype(dtype)
    y = np.arange(40) % n_classes if n_classes else rng.standard_normal(40)
    if row_format == "csr":
        X = sp.csr_matrix(X)
    return X, y


def _kernels():
    from sklearn_gd._kernels import (
        data_passes,
        loops,
        optimizers,
        schedules,
        shuffle,
        variance_reduced,
    )
    from sklearn_gd._kernels.specialise import specialised_kernels

    for module in (data_passes, loops, optimizers, schedules, shuffle, variance_reduced):
        for value in vars(module).values():
            if hasattr(value, "stats") and hasattr(value, "py_func") \
                    and value.py_func.__module__ == module.__name__:
                yield value
    # The variants compiled for one configuration (``specialise.py``), made so far.
    yield from specialised_kernels()


def precompile(dtypes=DTYPES, formats=FORMATS, solvers=SOLVERS):
    """Compile (or load) the kernels the given configurations use.

    Parameters
    ----------
    dtypes : iterable of {"float64", "float32"}, default=("float64", "float32")
        Dtypes of ``X``.
    formats : iterable of {"dense", "csr"}, default=("dense", "csr")
        Row formats of ``X`` (any scipy sparse input is converted to CSR).
    solvers : iterable of {"batch", "stochastic", "minibatch"}, default=all three
        Solvers to prepare.

    Returns
    -------
    report : dict
        ``"compiled"``: number of kernel signatures compiled in this call,
        ``"loaded"``: number loaded from the cache, ``"cache_dirs"``: the
        directories the cache is read from, ``"seconds"``: wall time.
    """
    from sklearn_gd._kernels._cache import package_places

    for name, values, allowed in (("dtypes", dtypes, DTYPES), ("formats", formats, FORMATS),
                                  ("solvers", solvers, SOLVERS)):
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ValueError(f"Unknown {name} {unknown}; choose from {list(allowed)}.")

    def counts():
        hits = misses = 0
        for dispatcher in _kernels():
            hits += sum(dispatcher.stats.cache_hits.values())
            misses += sum(dispatcher.stats.cache_misses.values())
        return hits, misses

    hits0, misses0 = counts()
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Two epochs never converge; only the compilation matters here.
        warnings.filterwarnings("ignore", module="sklearn_gd")
        warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
        for dtype, row_format, solver in itertools.product(dtypes, formats, solvers):
            for estimator, n_classes in _estimators(solver):
                X, y = _data(dtype, row_format, n_classes)
                estimator.fit(X, y)
                if hasattr(estimator, "partial_fit"):  # not for optimizer="svrg"
                    estimator.partial_fit(X, y)
                estimator.predict(X)
    hits, misses = counts()
    return {"compiled": misses - misses0, "loaded": hits - hits0,
            "cache_dirs": [str(d) for d in package_places().readable()],
            "seconds": time.perf_counter() - start}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_gd.precompile",
        description="Compile sklearn_gd's kernels into the on-disk cache ahead of time.")
    parser.add_argument("--dtype", action="append", choices=DTYPES,
                        help="dtype of X to prepare (repeat for several; default: all)")
    parser.add_argument("--format", action="append", choices=FORMATS,
                        help="row format to prepare (repeat; default: all)")
    parser.add_argument("--solver", action="append", choices=SOLVERS,
                        help="solver to prepare (repeat; default: all)")
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = precompile(args.dtype or DTYPES, args.format or FORMATS,
                            args.solver or SOLVERS)
    from sklearn_gd._kernels._cache import KernelCacheWarning

    problems = [str(w.message) for w in caught if issubclass(w.category, KernelCacheWarning)]
    for message in problems:
        print(f"warning: {message}", file=sys.stderr)
    print(f"{report['compiled']} kernel signatures compiled, {report['loaded']} loaded, "
          f"in {report['seconds']:.1f} s")
    print("cache: " + (", ".join(report["cache_dirs"]) or "none written"))
    return 1 if problems or not report["cache_dirs"] else 0


if __name__ == "__main__":
    sys.exit(main())
