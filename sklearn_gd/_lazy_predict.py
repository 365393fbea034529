"""Predictions on Dask arrays: lazy, one task per block of rows, as dask-ml's ParallelPostFit.

``predict``, ``decision_function``, ``predict_proba`` and ``predict_log_proba``
given a ``dask.array.Array`` return a Dask array of the same row blocks
instead of gathering X into memory; each block is predicted by the
estimator's own method (so the results are those of NumPy input, block by
block). Checked at once, not at compute time: that the model is fitted and
that X has the fitted number of columns. Dask is not imported unless X is
one of its arrays.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def is_dask_array(X):
    """Whether X is a Dask array (without importing Dask)."""
    return type(X).__module__.partition(".")[0] == "dask" and hasattr(X, "map_blocks")


def _block(part, estimator, method):
    return getattr(estimator, method)(part)


def lazy_prediction(estimator, method, X, n_columns, dtype):
    """``getattr(estimator, method)`` on every row block of ``X``, as a Dask array.

    ``n_columns`` is None for a 1-D result (one value per row), else the
    width of the 2-D result; ``dtype`` that of the result.
    """
    check_is_fitted(estimator)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D array, got a {X.ndim}D Dask array instead.")
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    if n_columns is None:
        return X.map_blocks(_block, estimator, method, drop_axis=1, dtype=dtype,
                            meta=np.empty((0,), dtype=dtype))
    return X.map_blocks(_block, estimator, method, chunks=(X.chunks[0], (n_columns,)),
                        dtype=dtype, meta=np.empty((0, 0), dtype=dtype))


def result_dtype(estimator, X):
    """The dtype of the scores of X: that of X as validated (float32 kept, else float64)
    combined with the weights'."""
    dtype = np.dtype(X.dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        dtype = np.dtype(np.float64)
    return np.result_type(dtype, np.asarray(estimator.intercept_).dtype)
