"""Benchmarks of sklearn-gd against scikit-learn, measured side by side in one run.

Usage::

    python benchmarks/run.py            # full suite (a few minutes on 2 cores)
    python benchmarks/run.py --quick    # smaller data, for a smoke test

Every case prints the median over repeated runs after a warm-up run (which
excludes Numba compilation), and the ratio ours / peer (lower is better).
Cases:

1. per-epoch time of one-sample SGD on dense 200,000 x 100 (hinge, log loss,
   squared loss with L2), float64 and float32, against SGDClassifier /
   SGDRegressor with a constant learning rate and tol=None;
2. per-epoch time of the batch and mini-batch (256) loops against the floor of
   one pass over X (``X @ w`` with NumPy); for the shuffled mini-batch loop
   also against a second floor, one read of the rows in a random order (a
   Numba loop doing nothing but each row's dot product, with the loops' own
   software prefetch), which no shuffled epoch can beat;
3. one-sample SGD on sparse CSR 100,000 x 50,000 at 0.1% density against
   SGDClassifier (hinge and log loss with L2, hinge with L1);
4. partial_fit streaming in chunks of 10, 100 and 1,000 rows against
   SGDClassifier.partial_fit (and river's LogisticRegression.learn_one when
   river is installed), in samples per second; predict, decision_function
   and predict_proba on a 10-row chunk against SGDClassifier's; progressive
   validation of a stream of 10-row chunks (predict, then partial_fit)
   against river's predict_one + learn_one;
5. time to reach the optimum of log loss + L2 (within 1e-4 relative) against
   LogisticRegression(solver="lbfgs");
6. peak memory of fit above the loaded data on a C-contiguous X, and the
   first-fit latency (import + fit) in a fresh process with a warm cache.
"""

import argparse
import os
import subprocess
import sys
import textwrap
import time
import warnings

import numba
import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier, SGDRegressor

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._kernels.prefetch import PREFETCH_DISTANCE, prefetch_array_item

warnings.filterwarnings("ignore", category=ConvergenceWarning)
ROWS = []


def median_time(fn, repeats):
    fn()  # warm-up: compilation or cache load, page faults
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def epoch_time(make, X, y, epochs, repeats):
    """Seconds per epoch: the slope between fits of 1 and 1 + epochs epochs.

    Taking the difference removes the fixed cost of a fit (validation, set-up),
    which is reported separately, so the figure is the cost of an epoch alone.
    """
    return epoch_times([make], X, y, epochs, repeats)[0]


def epoch_times(makes, X, y, epochs, repeats):
    """:func:`epoch_time` of several estimators, their fits interleaved.

    Round by round, each estimator's short and long fits run one after the
    other's, so a load spike of this shared machine falls on all of them
    rather than on whichever was being timed (ours and the peer's measured
    one after the other moved a ratio by 0.2 between runs).
    """
    for make in makes:  # warm-up: compilation or cache load, page faults
        make(1).fit(X, y)
    times = [([], []) for _ in makes]
    for _ in range(repeats):
        for make, (short, long) in zip(makes, times):
            for length, store in ((1, short), (1 + epochs, long)):
                start = time.perf_counter()
                make(length).fit(X, y)
                store.append(time.perf_counter() - start)
    return [max(float(np.median(long)) - float(np.median(short)), 1e-9) / epochs
            for short, long in times]


@numba.njit(nogil=True, fastmath=True)
def _read_rows_in_order(X, order, w, out):
    """Each row's dot product with ``w``, rows taken in ``order``, prefetched as our loops do."""
    n, d = X.shape
    line = max(64 // X.itemsize, 1)
    for pos in range(n):
        if pos + PREFETCH_DISTANCE < n:
            base = order[pos + PREFETCH_DISTANCE] * d
            for j in range(0, d, line):
                prefetch_array_item(X, base + j)
        i = order[pos]
        acc = X[i, 0] * 0
        for j in range(d):
            acc += X[i, j] * w[j]
        out[pos] = acc


def report(case, ours, peer, peer_name, unit="s", target=None, label="ours"):
    ratio = ours / peer
    ROWS.append((case, ours, peer, peer_name, ratio, unit, target))
    flag = "" if target is None else \
        f"  (target <= {target:.2f}: {'met' if ratio <= target else 'NOT met'})"
    scale, unit = (1e6, "us") if max(ours, peer) < 1e-3 else (1e3, "ms")
    print(f"{case:<52s} {label} {ours * scale:9.2f} {unit}  {peer_name:<26s} "
          f"{peer * scale:9.2f} {unit}  ratio {ratio:5.2f}{flag}", flush=True)


def make_dense(n, d, dtype, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d).astype(dtype)
    w = rng.randn(d)
    y_reg = X @ w + rng.randn(n)
    y_clf = (y_reg > 0).astype(np.int64)
    return X, y_reg.astype(dtype), y_clf


def case_sgd(n, d, epochs, repeats):
    for dtype in (np.float64, np.float32):
        X, y_reg, y_clf = make_dense(n, d, dtype)
        for loss in ("hinge", "log_loss", "squared_error"):
            regression = loss == "squared_error"
            y = y_reg if regression else y_clf
            ours_cls, peer_cls = (GDRegressor, SGDRegressor) if regression else \
                (GDClassifier, SGDClassifier)
            ours, peer = epoch_times([
                lambda e: ours_cls(loss=loss, solver="stochastic", eta0=1e-3, max_iter=e,
                                   tol=None, random_state=0),
                lambda e: peer_cls(loss=loss, learning_rate="constant", eta0=1e-3,
                                   max_iter=e, tol=None, random_state=0)],
                X, y, epochs, repeats)
            report(f"1. SGD epoch {loss} {np.dtype(dtype).name} {n}x{d}", ours, peer,
                   peer_cls.__name__, target=0.5)


def case_batch(n, d, epochs, repeats):
    for dtype in (np.float64, np.float32):
        X, _, y = make_dense(n, d, dtype)
        w = np.ones(d, dtype=dtype)
        # shuffle="blocks" reads each mini-batch's rows in sequence (opt-in).
        for solver, shuffle, target in (("batch", True, 1.5), ("minibatch", True, 2.5),
                                        ("minibatch", "blocks", 2.5)):
            before = median_time(lambda: X @ w, repeats * 3)
            # The plain step's epoch (the default batch fit is L-BFGS).
            ours = epoch_time(lambda e: GDClassifier(
                solver=solver, optimizer="sgd", batch_size=256, shuffle=shuffle,
                max_iter=e, tol=None, random_state=0), X, y, epochs, repeats)
            # The floor is taken on both sides of our measurement and the lower
            # kept: a load spike during one of them must not flatter the ratio.
            floor = min(before, median_time(lambda: X @ w, repeats * 3))
            name = solver if shuffle is True else f"{solver} shuffle={shuffle!r}"
            report(f"2. {name} epoch log_loss {np.dtype(dtype).name} {n}x{d}", ours,
                   floor, "one pass X @ w", target=target)
            if solver == "minibatch" and shuffle is True:
                # What the rows alone cost in a random order: the part of the
                # goal's gap that no loop over shuffled rows can close.
                order = np.random.RandomState(0).permutation(n).astype(np.int64)
                out = np.empty(n)
                shuffled = median_time(lambda: _read_rows_in_order(X, order, w, out),
                                       repeats * 3)
                report(f"2. one read of the rows in random order {np.dtype(dtype).name}",
                       shuffled, floor, "one pass X @ w", label="read")
                report(f"2. {name} epoch log_loss {np.dtype(dtype).name} {n}x{d}", ours,
                       shuffled, "rows read in random order")


def make_sparse(n, d, density, seed=0):
    """CSR matrix with round(d * density) random columns per row (text-like).

    Built directly: scipy.sparse.random samples flat indices without
    replacement, which needs an n * d index array (37 GiB at 100,000 x 50,000).
    """
    rng = np.random.RandomState(seed)
    per_row = max(1, int(round(d * density)))
    indices = np.sort(rng.randint(0, d, size=(n, per_row)), axis=1).ravel()
    indptr = np.arange(0, n * per_row + 1, per_row)
    X = sp.csr_matrix((rng.rand(n * per_row), indices, indptr), shape=(n, d))
    X.sum_duplicates()
    return X


def case_sparse(n, d, density, epochs, repeats):
    X = make_sparse(n, d, density)
    rng = np.random.RandomState(0)
    w = rng.randn(d)
    y = (X @ w > 0).astype(np.int64)
    # L1 is the cumulative penalty on the row's columns in both libraries.
    for loss, penalty in (("hinge", "l2"), ("log_loss", "l2"), ("hinge", "l1")):
        ours, peer = epoch_times([
            lambda e: GDClassifier(loss=loss, penalty=penalty, solver="stochastic",
                                   eta0=1e-2, max_iter=e, tol=None, random_state=0),
            lambda e: SGDClassifier(loss=loss, penalty=penalty, learning_rate="constant",
                                    eta0=1e-2, max_iter=e, tol=None, random_state=0)],
            X, y, epochs, repeats)
        report(f"3. sparse SGD epoch {loss} {penalty} {n}x{d} @{density:.1%}", ours, peer,
               "SGDClassifier", target=0.7)


_ROUNDS = 5


def _stream_rates(estimators, X, y, chunk, n_calls):
    """Samples per second of each estimator's partial_fit on chunks of ``chunk`` rows.

    The estimators take turns in ``_ROUNDS`` rounds of ``n_calls / _ROUNDS``
    calls over the same stream, and each keeps its best round: on a shared
    machine the load drifts within a minute, and timing one side after the
    other moved the ratio by 2x between runs.
    """
    for est in estimators:
        # Two warm-up calls: the first call (with classes) and the later ones take
        # different paths, each with kernels of its own to load or compile.
        est.partial_fit(X[:chunk], y[:chunk], classes=np.array([0, 1]))
        est.partial_fit(X[chunk:2 * chunk], y[chunk:2 * chunk])
    per_round = max(n_calls // _ROUNDS, 1)
    best = [np.inf] * len(estimators)
    for r in range(_ROUNDS):
        calls = range(2 + r * per_round, 2 + (r + 1) * per_round)
        for e, est in enumerate(estimators):
            start = time.perf_counter()
            for c in calls:
                est.partial_fit(X[c * chunk:(c + 1) * chunk], y[c * chunk:(c + 1) * chunk])
            best[e] = min(best[e], time.perf_counter() - start)
    return [per_round * chunk / t for t in best]


def case_partial_fit(total_rows):
    X, _, y = make_dense(total_rows + 2000, 20, np.float64)
    try:
        from river import linear_model as river_lm
    except ImportError:
        river_lm = None
    for chunk, target in ((10, 20.0), (100, None), (1000, 5.0)):
        n_calls = min(total_rows // chunk, 3000)
        ours, peer = _stream_rates(
            [GDClassifier(solver="stochastic", eta0=0.01, random_state=0),
             SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.01,
                           random_state=0)], X, y, chunk, n_calls)
        # Report seconds per sample so that "ratio" keeps lower-is-better.
        report(f"4. partial_fit chunks of {chunk} (s/sample)", 1 / ours, 1 / peer,
               "SGDClassifier.partial_fit", target=None if target is None else 1 / target)
    if river_lm is not None:
        model = river_lm.LogisticRegression()
        rows = [dict(enumerate(row)) for row in X[:20000]]
        start = time.perf_counter()
        for row, label in zip(rows, y[:20000]):
            model.learn_one(row, bool(label))
        river_rate = 20000 / (time.perf_counter() - start)
        ours, = _stream_rates([GDClassifier(solver="stochastic", eta0=0.01, random_state=0)],
                              X, y, 10, 2000)
        report("4. partial_fit chunks of 10 vs river (s/sample)", 1 / ours, 1 / river_rate,
               "river learn_one")


def _per_call(calls, rounds=_ROUNDS):
    """Best time per call of each zero-argument callable, the callables taking turns."""
    for call in calls:
        call()
    best = [np.inf] * len(calls)
    for _ in range(rounds):
        for c, call in enumerate(calls):
            start = time.perf_counter()
            for _ in range(300):
                call()
            best[c] = min(best[c], (time.perf_counter() - start) / 300)
    return best


def case_predict_chunks():
    """predict, decision_function and predict_proba on a 10-row chunk, against SGDClassifier's."""
    X, _, y = make_dense(5000, 20, np.float64)
    y3 = np.digitize(X[:, 1], [-0.5, 0.5])
    chunk = np.ascontiguousarray(X[:10])
    for labels, name in ((y, "binary"), (y3, "3 classes")):
        ours = GDClassifier(loss="log_loss", solver="stochastic", max_iter=5, tol=None,
                            random_state=0).fit(X, labels)
        peer = SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0).fit(X, labels)
        for method in ("predict", "decision_function", "predict_proba"):
            a, b = _per_call([lambda m=method: getattr(ours, m)(chunk),
                              lambda m=method: getattr(peer, m)(chunk)])
            report(f"4. {method}, 10 rows, {name}", a, b, f"SGDClassifier.{method}",
                   target=0.2 if name == "binary" else None)


def case_progressive_validation(n_rows):
    """Predict each 10-row chunk, then learn it: ours against river's one-row loop.

    The two take turns in ``_ROUNDS`` rounds over consecutive parts of the
    stream (each learner continuing its own), and each keeps its best round,
    as ``_stream_rates`` does: timing one whole stream after the other moved
    the ratio by half between runs on this shared machine.
    """
    X, _, y = make_dense(n_rows + 20, 20, np.float64)
    try:
        from river import linear_model as river_lm
    except ImportError:
        print("4. progressive validation: river not installed (pip install -e '.[bench]')")
        return
    est = GDClassifier(solver="stochastic", random_state=0)
    est.partial_fit(X[:10], y[:10], classes=np.array([0, 1]))
    est.predict(X[10:20])
    model = river_lm.LogisticRegression()
    rows = [dict(enumerate(row)) for row in X[:n_rows + 20]]
    labels = [bool(label) for label in y[:n_rows + 20]]
    per_round = (n_rows // 10 - 2) // _ROUNDS
    ours = river = np.inf
    for r in range(_ROUNDS):
        chunks = range(2 + r * per_round, 2 + (r + 1) * per_round)
        start = time.perf_counter()
        for c in chunks:
            part = X[c * 10:(c + 1) * 10]
            est.predict(part)
            est.partial_fit(part, y[c * 10:(c + 1) * 10])
        ours = min(ours, (time.perf_counter() - start) / (10 * per_round))
        start = time.perf_counter()
        for i in range(chunks[0] * 10, chunks[-1] * 10 + 10):
            model.predict_one(rows[i])
            model.learn_one(rows[i], labels[i])
        river = min(river, (time.perf_counter() - start) / (10 * per_round))
    report("4. progressive validation, 10-row chunks (s/sample)", ours, river,
           "river predict_one+learn_one", target=0.5)


def case_time_to_optimum(n, d):
    X, _, y = make_dense(n, d, np.float64)
    alpha = 1e-4
    C = 1.0 / (alpha * n)
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)

    def objective(coef, intercept):
        z = X @ coef.ravel() + intercept[0]
        signed = np.where(y == 1, z, -z)
        return np.mean(np.logaddexp(0, -signed)) + 0.5 * alpha * float(coef.ravel() @ coef.ravel())

    optimum = objective(reference.coef_, reference.intercept_)

    def tolerance_for(make):
        # The loosest tolerance whose fit reaches the objective within 1e-4 relative.
        for tol in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8):
            model = make(tol).fit(X, y)
            if objective(model.coef_, model.intercept_) <= optimum * (1 + 1e-4):
                return tol
        return tol

    tol_ours = tolerance_for(lambda tol: GDClassifier(optimizer="lbfgs", alpha=alpha, tol=tol,
                                                      max_iter=1000))
    tol_peer = tolerance_for(lambda tol: LogisticRegression(C=C, tol=tol, max_iter=1000))
    ours = median_time(lambda: GDClassifier(optimizer="lbfgs", alpha=alpha, tol=tol_ours,
                                            max_iter=1000).fit(X, y), 3)
    peer = median_time(lambda: LogisticRegression(C=C, tol=tol_peer, max_iter=1000).fit(X, y), 3)
    report(f"5. time to optimum (1e-4 rel) log_loss+L2 {n}x{d}", ours, peer,
           "LogisticRegression(lbfgs)", target=0.6)


_MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys, numpy as np
    from sklearn_gd import GDClassifier
    n, d = int(sys.argv[1]), int(sys.argv[2])
    X = np.random.RandomState(0).standard_normal((n, d))
    y = (X[:, 0] > 0).astype(np.int64)
    GDClassifier(max_iter=1).fit(X[:100], y[:100])  # compile / load cache first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    GDClassifier(max_iter=3, tol=None).fit(X, y)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024 / X.nbytes)
""")

_LATENCY_SCRIPT = textwrap.dedent("""
    import time
    start = time.perf_counter()
    import numpy as np
    from sklearn_gd import GDClassifier
    X = np.random.RandomState(0).standard_normal((1000, 20))
    GDClassifier(max_iter=5).fit(X, X[:, 0] > 0)
    print(time.perf_counter() - start)
""")


def case_memory_latency(gigabytes):
    d = 100
    n = int(gigabytes * 1e9 / (8 * d))
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", _MEMORY_SCRIPT, str(n), str(d)],
                         capture_output=True, text=True, check=True)
    extra = float(out.stdout.strip().splitlines()[-1])
    print(f"6. peak RSS of fit above X ({gigabytes:g} GB, {n}x{d}): {extra:.1%} of X "
          f"(target <= 20%: {'met' if extra <= 0.2 else 'NOT met'})", flush=True)
    ROWS.append((f"6. fit peak memory above X ({gigabytes:g} GB)", extra, None, "", None, "", 0.2))
    subprocess.run([sys.executable, "-W", "ignore", "-c", _LATENCY_SCRIPT], check=True,
                   capture_output=True)  # make sure the cache is warm
    times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", _LATENCY_SCRIPT],
                             capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    latency = float(np.median(times))
    print(f"6. first fit in a fresh process, warm cache, incl. import: {latency:.2f} s "
          f"(target <= 2 s: {'met' if latency <= 2 else 'NOT met'})", flush=True)
    ROWS.append(("6. first-fit latency incl. import (s)", latency, None, "", None, "s", 2.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data (smoke test)")
    args = parser.parse_args()
    q = args.quick
    print(f"sklearn-gd benchmarks; {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d')}; {'quick' if q else 'full'} run", flush=True)
    n, d = (20_000, 100) if q else (200_000, 100)
    case_sgd(n, d, epochs=3 if q else 5, repeats=3)
    case_batch(n, d, epochs=5 if q else 10, repeats=3)
    case_sparse(*((10_000, 5_000) if q else (100_000, 50_000)), 0.001, epochs=3 if q else 5,
                repeats=3)
    case_partial_fit(20_000 if q else 100_000)
    case_predict_chunks()
    case_progressive_validation(5_000 if q else 20_000)
    case_time_to_optimum(*((20_000, 100) if q else (200_000, 100)))
    case_memory_latency(0.05 if q else 1.0)


if __name__ == "__main__":
    main()
