"""How many solver x optimizer x loss fits end within 1e-3 of the optimum, with defaults.

Every fit uses the estimator's defaults except ``solver`` and ``optimizer``
(and ``alpha``, the strength the optimum is computed for). The optimum comes
from ``tests/optima.py`` (SciPy on a NumPy objective, libsvm, HiGHS), never
from the package. A fit "misses" when its training objective is more than
1e-3 (relative) above the optimum (1e-2 for AdamW, whose decoupled decay has
a fixed point of its own near the L2 optimum); a miss without a
ConvergenceWarning is a silent miss.

    python benchmarks/convergence_matrix.py            # 3 solvers x 8 optimizers x 10 losses x 2
    python benchmarks/convergence_matrix.py --misses   # also list every miss
"""

import argparse
import collections
import itertools
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "tests"))
from optima import (  # noqa: E402
    ALPHA,
    CLASSIFICATION,
    OPTIMIZERS,
    REGRESSION,
    SOLVERS,
    matrix_penalty,
    objective,
    optimum,
    problem,
    relative_gap,
    within,
)

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--n-samples", type=int, default=400)
    parser.add_argument("--n-features", type=int, default=8)
    parser.add_argument("--optimizers", nargs="*", default=OPTIMIZERS)
    parser.add_argument("--solvers", nargs="*", default=SOLVERS)
    parser.add_argument("--losses", nargs="*", default=REGRESSION + CLASSIFICATION)
    args = parser.parse_args()
    tally = collections.defaultdict(lambda: [0, 0, 0])  # within, silent misses, runs
    misses = []
    start = time.perf_counter()
    for kind, loss in itertools.product(("well", "ill"), args.losses):
        task = "regression" if loss in REGRESSION else "classification"
        penalty = matrix_penalty(loss)
        X, y = problem(kind, task, n_samples=args.n_samples, n_features=args.n_features)
        best = optimum(loss, X, y, penalty=penalty, alpha=ALPHA)[2]
        Est = GDRegressor if task == "regression" else GDClassifier
        for solver, opt in itertools.product(args.solvers, args.optimizers):
            est = Est(loss=loss, penalty=penalty, alpha=ALPHA, solver=solver, optimizer=opt,
                      random_state=0)
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                try:
                    est.fit(X, y)
                except DivergenceError:
                    gap, warned = np.inf, True
                else:
                    warned = any(issubclass(w.category, ConvergenceWarning) for w in record)
                    value = objective(loss, X, y, est.coef_.ravel(),
                                      float(np.ravel(est.intercept_)[0]), penalty=penalty,
                                      alpha=ALPHA)
                    gap = relative_gap(value, best)
            near = within(opt, gap)
            for key in (("all",), (kind,), (kind, opt), (kind, solver)):
                tally[key][0] += near
                tally[key][1] += (not near) and (not warned)
                tally[key][2] += 1
            if not near:
                misses.append((kind, loss, solver, opt, gap, warned, getattr(est, "n_iter_", 0)))
    print(f"{'group':<24} {'within 1e-3':>12} {'silent misses':>14}")
    for key in sorted(tally, key=lambda k: (len(k), k)):
        near, silent, runs = tally[key]
        print(f"{' / '.join(key):<24} {near:>5}/{runs:<5} {100 * near / runs:5.1f}%"
              f" {silent:>8}")
    if args.misses:
        for kind, loss, solver, opt, gap, warned, n_iter in misses:
            print(f"miss {kind:4} {loss:28} {solver:10} {opt:10} gap {gap:9.3g} "
                  f"{'warned' if warned else 'SILENT'} after {n_iter} epochs")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
