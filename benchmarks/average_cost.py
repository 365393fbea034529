"""Per-epoch cost of ``average=True`` over plain SGD, with scikit-learn's as a peer.

Usage::

    python benchmarks/average_cost.py            # 200,000 x 100 dense, 100,000 x 50,000 CSR
    python benchmarks/average_cost.py --quick    # smaller data, for a smoke test

Plain one-sample SGD (hinge, L2, constant rate, no shuffle, tol=None) with and
without averaging, timed interleaved in one process: each round times every
variant once, and each variant keeps its best round, so that the load of a
shared machine falls on all of them alike. An epoch's time is the difference
between fits of 1 and 1 + ``epochs`` epochs (the fixed cost of a fit drops
out). The goal of issue 13: averaging costs at most 10 % per epoch.
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from sklearn_gd import GDClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)
# The CSR columns are rare: the scale warning is right, and beside the point here.
warnings.filterwarnings("ignore", message="The features' scales span")


def _settings(average, epochs):
    return dict(loss="hinge", alpha=1e-4, learning_rate="constant", eta0=0.01,
                shuffle=False, tol=None, max_iter=epochs, average=average)


VARIANTS = {
    "sklearn-gd": lambda average, epochs: GDClassifier(
        solver="stochastic", optimizer="sgd", **_settings(average, epochs)),
    "SGDClassifier": lambda average, epochs: SGDClassifier(**_settings(average, epochs)),
}


def _fit_seconds(make, X, y):
    start = time.perf_counter()
    make().fit(X, y)
    return time.perf_counter() - start


def per_epoch(cases, X, y, epochs, rounds):
    """Best-of-``rounds`` seconds per epoch of each case, the cases interleaved."""
    best = dict.fromkeys(cases, np.inf)
    for make in cases.values():  # warm-up: compilation or cache load, page faults
        make(1).fit(X, y)
    for _ in range(rounds):
        for name, make in cases.items():
            long = _fit_seconds(lambda: make(1 + epochs), X, y)
            short = _fit_seconds(lambda: make(1), X, y)
            best[name] = min(best[name], (long - short) / epochs)
    return best


def run(label, X, y, epochs, rounds):
    cases = {}
    for library, make in VARIANTS.items():
        for average in (False, True):
            cases[(library, average)] = \
                lambda n, make=make, average=average: make(average, n)
    best = per_epoch(cases, X, y, epochs, rounds)
    print(f"\n{label}: seconds per epoch, best of {rounds} interleaved rounds")
    for library in VARIANTS:
        plain, averaged = best[(library, False)], best[(library, True)]
        print(f"  {library:14s} plain {1e3 * plain:8.2f} ms   average=True "
              f"{1e3 * averaged:8.2f} ms   ratio {averaged / plain:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    n_dense, n_sparse, width = (20_000, 10_000, 5_000) if args.quick \
        else (200_000, 100_000, 50_000)
    X = rng.standard_normal((n_dense, 100))
    y = (X @ rng.standard_normal(100) + 0.5 * rng.standard_normal(n_dense) > 0).astype(int)
    run(f"dense {n_dense:,} x 100 float64", X, y, epochs=5, rounds=args.rounds)
    # Built row by row: scipy.sparse.random draws from all n_sparse * width
    # positions at once (tens of GiB here).
    per_row = width // 1000
    columns = np.sort(rng.randint(0, width, size=(n_sparse, per_row)), axis=1)
    Xs = sp.csr_matrix((rng.standard_normal(n_sparse * per_row), columns.ravel(),
                        np.arange(0, n_sparse * per_row + 1, per_row)),
                       shape=(n_sparse, width))
    Xs.sum_duplicates()
    ys = (Xs @ rng.standard_normal(width) > 0).astype(int)
    run(f"CSR {n_sparse:,} x {width:,} at 0.1 % float64", Xs, ys, epochs=5,
        rounds=args.rounds)


if __name__ == "__main__":
    main()
