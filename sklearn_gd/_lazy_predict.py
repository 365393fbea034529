"""Predictions on Dask arrays: lazy, one task per block of rows, as dask-ml's ParallelPostFit.

``predict``, ``decision_function``, ``predict_proba`` and ``predict_log_proba``
given a ``dask.array.Array`` return a Dask array of the same row blocks
instead of gathering X into memory; each block is predicted by the
estimator's own method (so the results are those of NumPy input, block by
block). Checked at once, not at compute time: that the model is fitted and
that X has the fitted number of columns. ``score`` returns a float, as
scikit-learn's, computed from a few sums per row block of the predictions
(as dask-ml's scorers with ``compute=True``). Dask is not imported unless X is
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


def _block_accuracy(y_pred, y_true, sample_weight):
    """Weighted count of right labels in one block, and the block's weight."""
    from sklearn.metrics import accuracy_score

    right = accuracy_score(y_true, y_pred, normalize=False, sample_weight=sample_weight)
    weight = len(y_true) if sample_weight is None else np.sum(sample_weight, dtype=np.float64)
    return float(right), float(weight)


def _block_r2_sums(y_pred, y_true, sample_weight):
    """One block's weight, weighted target mean, sum of squared deviations from it and
    weighted squared error, per target (float64)."""
    from sklearn.utils import assert_all_finite

    assert_all_finite(y_true, input_name="y")
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    w = (np.ones(len(y_true)) if sample_weight is None
         else np.asarray(sample_weight, dtype=np.float64))[:, None]
    weight = float(w.sum())
    mean = (w * y_true).sum(axis=0) / weight if weight > 0 else np.zeros(y_true.shape[1])
    return (weight, mean, (w * (y_true - mean) ** 2).sum(axis=0),
            (w * (y_true - y_pred) ** 2).sum(axis=0))


def _combined_r2(parts):
    """R^2 averaged over targets, from the blocks' sums, as ``r2_score`` computes it.

    The blocks' sums of squared deviations are merged with Chan et al.'s
    update (each around its own mean), not as sums of squares minus the
    squared sum, which cancels catastrophically when the targets' mean is
    large against their spread.
    """
    weight, mean, deviations, error = 0.0, 0.0, 0.0, 0.0
    for w, m, d, e in parts:
        if w == 0.0:
            continue
        total = weight + w
        delta = m - mean
        mean = mean + delta * (w / total)
        deviations = deviations + d + delta ** 2 * (weight * w / total)
        error, weight = error + e, total
    error, deviations = np.atleast_1d(error), np.atleast_1d(deviations)
    # scikit-learn's force_finite: a constant target scores 1 if fitted exactly, else 0.
    scores = np.ones(error.shape)
    valid = (deviations != 0) & (error != 0)
    scores[valid] = 1.0 - error[valid] / deviations[valid]
    scores[(error != 0) & (deviations == 0)] = 0.0
    return float(np.mean(scores))


def _as_row_blocks(a, chunks):
    """``a`` (NumPy or Dask) as a Dask array of the given row chunks."""
    import dask.array as da

    a = a if is_dask_array(a) else da.from_array(np.asarray(a), chunks=-1)
    if not any(np.isnan(a.shape)) and a.shape[0] != sum(chunks):
        raise ValueError("Found input variables with inconsistent numbers of samples: "
                         f"[{sum(chunks)}, {a.shape[0]}]")
    return a.rechunk((chunks, -1) if a.ndim == 2 else (chunks,))


def lazy_score(estimator, X, y, sample_weight, classification):
    """Accuracy (a classifier) or R^2 (a regressor) on a Dask array X, as a float.

    Computed from sums over the row blocks of ``predict(X)``, which stay on the
    workers: only a few numbers per block reach the client.
    """
    import dask

    y_pred = estimator.predict(X)  # lazy; checks the model and X's width at once
    chunks = y_pred.chunks[0]
    y = _as_row_blocks(y, chunks)
    blocks = [y_pred.to_delayed(optimize_graph=False).ravel(),
              y.to_delayed(optimize_graph=False).ravel()]
    if sample_weight is not None:
        weights = _as_row_blocks(sample_weight, chunks)
        blocks.append(weights.to_delayed(optimize_graph=False).ravel())
    else:
        blocks.append([None] * len(chunks))
    if sum(chunks) < 2 and not classification:
        import warnings

        from sklearn.exceptions import UndefinedMetricWarning

        # r2_score's behaviour.
        warnings.warn("R^2 score is not well-defined with less than two samples.",
                      UndefinedMetricWarning, stacklevel=3)
        return float("nan")
    block = _block_accuracy if classification else _block_r2_sums
    parts = dask.compute(*[dask.delayed(block, pure=True)(p, t, w)
                           for p, t, w in zip(*blocks, strict=True)])
    if classification:
        right = sum(part[0] for part in parts)
        weight = sum(part[1] for part in parts)
        return right / weight
    return _combined_r2(parts)
