"""Training on data that never sits in one process's memory, on a Dask cluster.

The data set is generated lazily, chunk by chunk, from a seed (a stand-in for
reading Parquet or Zarr chunks from storage): a linear classification problem
with label noise, ``--rows`` x ``--features`` float64 values in chunks of
``--chunk-rows`` rows. Two ways to train on it:

1. Streaming: ``dask_ml.wrappers.Incremental`` passes the chunks one after
   another through ``GDClassifier.partial_fit`` (one epoch of mini-batch
   gradient descent per chunk), on the workers; at any time only the chunks
   in flight exist.
2. Data-parallel full batch: ``sklearn_gd.dask.fit_dask`` keeps the chunks on
   the workers (in the cluster's memory, or recomputed from the source in every
   step with ``--no-persist``); each step sends the weights to the workers and
   adds up the chunks' gradients, and the result is the model ``fit`` would
   give on the whole array in memory.

Both are scored on a held-out set generated the same way from another seed.

Run ``python examples/dask_larger_than_memory.py`` for a local cluster of two
worker processes, or pass ``--scheduler tcp://host:8786`` to use a running one.
Needs the ``dask`` extra: ``pip install 'sklearn-gd[dask]'``.
"""

import argparse
import time

import dask.array as da
import numpy as np
from dask_ml.wrappers import Incremental, ParallelPostFit
from distributed import Client, LocalCluster

from sklearn_gd import GDClassifier
from sklearn_gd.dask import fit_dask


def make_stream(n_rows, n_features, chunk_rows, seed):
    """Lazy (X, y): nothing is computed until a chunk is needed."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), chunks=(chunk_rows, n_features))
    # The true weights come from a fixed seed so that train and test sets share them.
    true_coef = np.random.default_rng(0).standard_normal(n_features)
    noise = rng.logistic(size=n_rows, chunks=chunk_rows)
    y = (X @ true_coef + noise > 0).astype(np.int64)
    return X, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--max-iter", type=int, default=100,
                        help="full-batch steps of the data-parallel fit")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the local cluster")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running scheduler instead of a local cluster")
    parser.add_argument("--no-persist", action="store_true",
                        help="recompute the chunks in every step instead of keeping them")
    args = parser.parse_args()

    if args.scheduler:
        cluster, client = None, Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        X, y = make_stream(args.rows, args.features, args.chunk_rows, seed=1)
        X_test, y_test = make_stream(max(args.rows // 10, 1000), args.features,
                                     args.chunk_rows, seed=2)
        gigabytes = X.nbytes / 1e9
        print(f"Cluster: {len(client.scheduler_info()['workers'])} workers. Data: "
              f"{args.rows:,} x {args.features} float64 ({gigabytes:.2f} GB) in "
              f"{X.numblocks[0]} chunks, generated lazily.")

        # 1. Streaming: one pass of partial_fit over the chunks, on the workers.
        start = time.perf_counter()
        streaming = Incremental(
            GDClassifier(solver="minibatch", batch_size=256, optimizer="adam",
                         random_state=0),
            scoring="accuracy", shuffle_blocks=False,
        )
        streaming.fit(X, y, classes=[0, 1])
        seconds = time.perf_counter() - start
        score = streaming.score(X_test, y_test)
        print(f"Incremental + partial_fit (1 pass, mini-batch Adam): "
              f"test accuracy {score:.4f}, {seconds:.1f} s")

        # 2. Data-parallel full-batch gradient descent.
        start = time.perf_counter()
        clf = fit_dask(GDClassifier(max_iter=args.max_iter, tol=None), X, y,
                       persist=not args.no_persist)
        seconds = time.perf_counter() - start
        score = ParallelPostFit(clf, scoring="accuracy").score(X_test, y_test)
        print(f"fit_dask (batch, {clf.n_iter_} steps, final objective "
              f"{clf.loss_curve_[-1]:.5f}): test accuracy {score:.4f}, {seconds:.1f} s")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
