"""Data-parallel training on a Dask cluster.

:func:`fit_dask` trains a :class:`~sklearn_gd.GDRegressor` or
:class:`~sklearn_gd.GDClassifier` on a ``dask.array`` whose row chunks stay on
the workers (``est.fit`` on Dask arrays calls it)::

    from distributed import Client
    from sklearn_gd import GDClassifier
    from sklearn_gd.dask import fit_dask

    client = Client()                      # or Client("scheduler-address:8786")
    clf = fit_dask(GDClassifier(max_iter=200), X, y)   # X, y: dask arrays

How a step runs: the row chunks of X, the float targets and the sample
weights (prepared chunk by chunk on the workers, exactly as ``fit`` prepares
them) are persisted on the workers once, and with a distributed ``Client``
each worker's chunks are held by a Dask actor for the length of the fit
(:mod:`sklearn_gd._dask_resident`). Each step then ships only the parameter
matrix to the workers, in one direct call to each actor (no task through the
scheduler); every chunk's weighted loss sum and gradient sum come from the
Numba kernel ``fit`` uses (chosen by ``batch_gradient_kernel``), are added up
in a fixed-shape tree (so the result does not depend on which worker finishes
first, nor on whether actors or tasks ran it), and the client applies the
optimizer step with ``batch_update``. ``actors=False``, ``persist=False`` or
Dask's local scheduler run every pass as tasks; a fit whose actor is lost
with its worker goes on by tasks. The epoch loop itself is the estimator's own
(``_run_epochs``): ``loss_curve_``, ``tol`` / ``n_iter_no_change``, the
"adaptive" schedule, ``verbose``, divergence detection and
``on_divergence="recover"`` behave as in ``fit``, and the result equals
``fit`` on the same data up to floating-point rounding. The statistics of the
whole data set that ``fit`` needs (classes, weight totals, and for
``eta0="auto"`` the weighted Gram matrix behind the step size) are computed on
the workers too. ``optimizer="lbfgs"`` drives SciPy's L-BFGS on the client
with the same workers' sums, one round trip per evaluation, and stops on the
same certificate as ``fit``'s L-BFGS.

It runs on whatever Dask scheduler is current: the distributed ``Client`` if
one exists, else Dask's local threads. ``persist=False`` recomputes the chunks
from their source in every step, for data that does not fit in the cluster's
memory (slow, but it works).

The "stochastic" and "minibatch" solvers run by parameter mixing
(Zinkevich et al. 2010), one round trip per epoch: every chunk runs one epoch
of ``fit``'s own loop over its rows on the worker that holds it, from the same
weights, and the client averages the chunks' weights and optimizer moments by
their share of the sample weight. The result is deterministic for a given
chunking; with a single chunk it is ``fit``'s, bit for bit; with several it
is a different (averaged) path to the same optimum, certified by the same
full-gradient test as ``fit`` (one more round trip per check). ``eta0="auto"``
reads the largest row on the workers, and for mini-batches the top eigenvalue
of the weighted Gram matrix gathered there, as ``fit`` reads them. Not with
mixing: an L1 part of the penalty (its cumulative state does not average),
``average``, and ``eta0="auto"`` for Adagrad, RMSprop and Adam (pass a
number). To stream
chunks one at a time through ``partial_fit`` instead, use
``dask_ml.wrappers.Incremental``.

Not supported: ``optimizer="normalized"``, a ``CustomLoss``, ``early_stopping``,
the scikit-learn callbacks, and ``eta0="auto"`` for the plain, momentum and
Nesterov batch and mini-batch updates beyond 4096 features (pass a number).
"""

import copy
import functools
import inspect
import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "sklearn_gd.dask needs Dask: pip install 'sklearn-gd[dask]'"
    ) from exc

from ._base import BaseGD, _Rows, check_n_features, restore_state
from ._batch import NO_STEP_SCALES
from ._callbacks import NoCallbacks
from ._custom_loss import CustomLoss
from ._dask_resident import ChunkActorLostWarning, ResidentChunks
from ._kernels import loops as builtin_loops
from ._kernels.loops import STATUS_DIVERGED
from ._lbfgs import MAX_MEMORY, fit_lbfgs
from ._state import TrainingState
from ._step_size import DATA_DERIVED, preconditioned_row_norm, top_eigenvalue, top_row_norm

__all__ = ["ChunkActorLostWarning", "fit_dask"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# eta0="auto" needs the (n_features + 1)^2 Gram matrix on the client: 4097^2 float64
# is 134 MB.
_MAX_GRAM_FEATURES = 4096
# The chunks' arrays as the actors name them: the raw inputs, and those training reads.
_RAW = ("X", "y", "sample_weight")
_TRAINING = ("X", "targets", "weights")


def fit_dask(estimator: BaseGD, X, y, sample_weight=None, *, coef_init=None,
             intercept_init=None, persist: bool = True, split_every: int = 8,
             actors: bool = True) -> BaseGD:
    """Fit ``estimator`` on Dask arrays, data-parallel.

    The chunks of X stay on the workers. With ``solver="batch"`` each step
    sends them the weights, and the chunks' loss and gradient sums come back
    and are added up: the result is the model ``estimator.fit`` gives on the
    same data in memory, up to floating-point rounding. With "stochastic" or
    "minibatch", each epoch every chunk runs ``fit``'s loop over its own rows
    and the client averages the chunks' weights (parameter mixing; see the
    module docstring). Runs on the current Dask scheduler (a distributed
    ``Client`` if one exists).

    Parameters
    ----------
    estimator : GDRegressor or GDClassifier
        The estimator to train; fitted in place.

    X : dask.array.Array or array-like of shape (n_samples, n_features)
        Training data. Its row chunks are the units of work; columns are
        gathered into one chunk. float32 data trains in float32, anything
        else in float64. NumPy input is cut into chunks of Dask's default
        size (``array.chunk-size``).

    y : dask.array.Array or array-like of shape (n_samples,)
        Targets or class labels; rechunked to X's row chunks.

    sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None
        Non-negative sample weights (``class_weight`` multiplies into them).

    coef_init, intercept_init : ndarray, default=None
        Initial parameters, as in ``fit``.

    persist : bool, default=True
        Keep the prepared chunks in the workers' memory for all steps. False
        recomputes them from their source in every step.

    split_every : int, default=8
        Fan-in of the tree that adds up the chunks' gradients.

    actors : bool, default=True
        With a distributed ``Client`` and ``persist=True``: hold each
        worker's chunks in a Dask actor for the length of the fit, so that
        every pass over the data is one direct call to each worker instead
        of a graph of tasks through the scheduler (a round trip that costs
        more than the pass itself on small clusters). The result is the same
        bit for bit. If an actor cannot be reached (its worker was lost) the
        fit goes on by tasks, with a :class:`ChunkActorLostWarning`. Chunks an
        actor holds cannot be spilled to disk by the worker: for data that
        fits the cluster only by spilling, pass False (every pass by tasks).

    Returns
    -------
    estimator
        The fitted estimator, with the same attributes ``fit`` sets. If the fit
        raises (bad input, divergence), the estimator is left as it was.

    See Also
    --------
    sklearn_gd.GDClassifier.fit : The in-memory fit this equals (classifier).
    sklearn_gd.GDRegressor.fit : The in-memory fit this equals (regressor).

    Examples
    --------
    >>> import dask.array as da
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.dask import fit_dask
    >>> X, y = make_classification(n_samples=1000, random_state=0)
    >>> X, y = da.from_array(X, chunks=(250, -1)), da.from_array(y, chunks=250)
    >>> clf = fit_dask(GDClassifier(max_iter=50, tol=None), X, y)
    >>> clf.n_iter_, len(clf.loss_curve_)
    (50, 50)
    """
    # As fit: one call at a time, and predict in other threads sees the model
    # before or after, never in between.
    with estimator._lock():
        # Attributes are only ever replaced, so a shallow copy is a full snapshot.
        saved = dict(estimator.__dict__)
        try:
            return _fit(estimator, X, y, sample_weight, coef_init, intercept_init, persist,
                        split_every, actors)
        except BaseException:
            restore_state(estimator, saved)
            raise


def _fit(est, X, y, sample_weight, coef_init, intercept_init, persist, split_every,
         actors=True):
    est._validate_params()
    problems = []
    mixing = est.solver != "batch"
    if mixing:
        problems += _mixing_problems(est)
    if est.optimizer == "normalized":
        # Its per-feature scales need a pass over the rows before the first
        # step (BatchEpoch makes it), which has no distributed version here.
        problems.append("optimizer='normalized' (use fit or partial_fit for it)")
    if est.early_stopping:
        problems.append("early_stopping=True")
    if isinstance(est.loss, CustomLoss):
        # Its loops are compiled in the process that uses them; the workers
        # would each compile their own, and the divergence yardstick is the
        # built-in losses' (see ``zero_model_bound``).
        problems.append("a CustomLoss (use fit on in-memory data)")
    if problems:
        raise ValueError("fit_dask does not support " + ", ".join(problems) + ".")
    if not isinstance(split_every, Integral) or split_every < 2:
        raise ValueError(f"split_every must be an integer >= 2, got {split_every!r}.")
    # A worker's local epoch sees its own chunk only: "auto" means the plain
    # step there, never SVRG (whose snapshot needs the whole data set).
    est._check_param_combinations(in_memory=not mixing)

    source, y, sample_weight, columns = _as_dask_inputs(X, y, sample_weight)
    check_n_features(source.shape[1])
    dtype = source.dtype if source.dtype in _FLOATS else np.dtype(np.float64)
    X = source.map_blocks(_block_rows, dtype, dtype=dtype)
    resident = None
    if persist and actors:
        # Held by actors where they lie, every pass is a direct call to each worker
        # instead of a round trip of tasks through the scheduler (_dask_resident).
        # The actors prepare the chunks themselves: arrays the user persisted need
        # no task at all.
        source, y, sample_weight = dask.persist(source, y, sample_weight)
        resident = ResidentChunks.place(
            {"X": source, "y": y, "sample_weight": sample_weight},
            prepare={"X": functools.partial(_prepared_rows, dtype=dtype), "y": _aligned,
                     "sample_weight": _aligned})
        if resident is not None:
            X = source.map_blocks(_block_rows, dtype, dtype=dtype)
    if persist and resident is None:
        # One pass over the source: X, y and the weights often share its tasks.
        # Stored aligned on the worker that computed them, so that the tasks of
        # every later pass need not copy them (see _aligned).
        X, y, sample_weight = dask.persist(*(
            None if a is None else a.map_blocks(_aligned, dtype=a.dtype, meta=a._meta)
            for a in (X, y, sample_weight)))
    try:
        return _fit_chunks(est, X, y, sample_weight, coef_init, intercept_init, columns,
                           persist=persist, split_every=split_every, mixing=mixing,
                           resident=resident)
    finally:
        if resident is not None:
            resident.release()


def _fit_chunks(est, X, y, sample_weight, coef_init, intercept_init, columns, *, persist,
                split_every, mixing, resident):
    """:func:`_fit` once the chunks are in place (``resident``: their actors, or None)."""
    dtype = X.dtype
    n_samples, n_features = X.shape
    if n_samples == 0:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    classifier = is_classifier(est)

    # -- Pass 1: checks that need the whole data set, and the labels. One task
    # per chunk and a tree of merges (dask.array's isfinite/unique/all made ten
    # times as many tasks, and on a small cluster each task costs milliseconds).
    blocks = _chunk_blocks(X, y, sample_weight)
    checks = _chunk_pass(resident, blocks, _block_checks, _merge_checks, split_every,
                         classifier)
    for name in ("X finite", "y finite", "sample_weight finite"):
        if not checks[name]:
            raise ValueError(f"Input {name.split()[0]} contains NaN or infinity.")
    if not checks["sample_weight non-negative"]:
        raise ValueError("Negative values in data passed to `sample_weight`")

    classes = per_class = None
    if classifier:
        classes, counts = checks["labels"]
        check_classification_targets(classes)
        est._set_fit_classes(classes)
        per_class = _per_class_weights(est, counts)

    # -- The float targets and raw weights, chunk by chunk on the workers.
    prototype = clone(est)  # small and picklable: only ``_targets`` is used remotely
    n_outputs = 1 if classes is None else \
        prototype._targets(np.arange(len(classes)), len(classes), dtype).shape[1]
    targets = da.map_blocks(_block_targets, y, prototype, classes, dtype,
                            new_axis=1, chunks=(y.chunks[0], (n_outputs,)), dtype=dtype)
    weights = da.map_blocks(_block_weights, y, sample_weight, classes, per_class, dtype,
                            chunks=y.chunks, dtype=dtype)

    # -- Pass 2, one task per chunk as well: the weight total, for classifiers
    # the weight of each class, the scales of the convergence certificate's
    # norm (as fit's), the divergence yardstick's sums (``zero_model_bound`` of
    # all targets, with the raw weights: scaled below, they save a pass of
    # their own) and, when eta0="auto" looks at the data, the weighted Gram
    # matrix it depends on.
    # Mixing's one sample per step reads only the largest row (a pass of its own).
    needs_data = est._eta0_reads_data() and not (mixing and est.solver == "stochastic")
    stride = None
    if needs_data:
        if n_features > _MAX_GRAM_FEATURES:
            raise ValueError(
                f"eta0='auto' with optimizer={est.optimizer_!r} derives the step size from "
                f"the ({n_features} + 1)^2 weighted Gram matrix of X, which fit_dask does "
                f"not build for more than {_MAX_GRAM_FEATURES} features: pass a numeric "
                "eta0."
            )
        stride = _eigen_stride(n_samples)
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).tolist()
    statistics_args = (prototype, classes, per_class, dtype, est.fit_intercept, stride)
    if resident is not None:
        stats = _tree(resident.map(_block_statistics, _RAW, statistics_args,
                                   chunk_args=[(start,) for start in starts]),
                      _merge_statistics, split_every)
    else:
        stats = _tree_reduce(
            [dask.delayed(_block_statistics, pure=True)(x, labels, w, start, *statistics_args)
             for (x, labels, w), start in zip(blocks, starts, strict=True)],
            _merge_statistics, split_every)
    total = float(stats["total"])
    if not total > 0.0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if classifier and np.count_nonzero(stats["class_weight"] > 0) < 2:
        raise ValueError(
            "GDClassifier needs at least 2 classes with positive sample weight, but "
            f"only {classes[stats['class_weight'] > 0].tolist()} has any: the weights "
            "leave a single class to learn."
        )

    # Weights scaled to mean 1, as ``_unit_mean`` does (with the global total).
    scale = n_samples / total
    weights = weights.map_blocks(_block_unit_mean, scale, dtype, dtype=dtype)
    if resident is not None:
        # The same functions on the same chunks as the task path's arrays.
        resident.store(("targets", "weights"), _block_training, ("y", "sample_weight"),
                       (prototype, classes, per_class, dtype, scale))
    if persist and (resident is None or mixing):
        # (Mixing's set-up reads the weights by tasks.)
        targets, weights = dask.persist(targets, weights)
    if persist and resident is None:
        del y, sample_weight  # release the raw labels and weights on the workers
    # The objective divides the weighted loss sum by the number of rows, as fit's
    # does after ``_unit_mean``.
    unit_total = float(n_samples)
    target_sq, target_abs = stats["target_sq"] * scale, stats["target_abs"] * scale

    # -- State and step size, from the estimator's own helpers.
    coef_init, intercept_init = est._warm_start_init(coef_init, intercept_init, n_features)
    state = est._fresh_state(n_outputs, n_features, dtype, coef_init, intercept_init)
    gradient = _DaskGradient(X, targets, weights, split_every, resident, persist)

    def gradient_factory(codes, hyper):
        return lambda params: gradient(np.ascontiguousarray(params, dtype=dtype), codes,
                                       hyper)

    if est.optimizer_ == "lbfgs":
        # The fewest passes, each one round trip: SciPy's L-BFGS on the workers' sums.
        est.preconditioner_ = est._resolve_preconditioner(stats["column_squares"] / total,
                                                          n_outputs)
        est.eta0_ = est._resolve_eta0(None, None, n_outputs)
        state.eta = None
        # Every evaluation is a round trip through the scheduler, which costs
        # more than any number of pairs: the most memory that pays.
        curve, n_iter = fit_lbfgs(est, gradient_factory, unit_total,
                                  stats["column_squares"] / total, state, est.max_iter,
                                  NoCallbacks(), est.preconditioner_, MAX_MEMORY)
        return _finish(est, state, curve, n_iter, n_features, columns)
    est.preconditioner_ = est._resolve_preconditioner(stats["column_squares"] / total,
                                                      n_outputs)
    gram = None
    if needs_data:
        # The mean over the rows top_eigenvalue uses, with weights of mean 1 over all.
        n_used = -(-n_samples // stride)
        gram = stats["gram"] * (n_samples / total) / n_used
    if mixing:
        est.eta0_ = est._resolve_eta0(
            None, None, n_outputs,
            curvatures=_DaskCurvatures(X, weights, gram, est.fit_intercept),
        ) if est._eta0_reads_data() else est._resolve_eta0(None, None, n_outputs)
    elif needs_data:
        codes, hyper = est._distance_config(n_outputs)

        def initial_gradient():
            # The mean gradient at the all-zero model, as fit's, on the workers.
            _, grad_sum = gradient(np.zeros_like(state.params), codes, hyper)
            return grad_sum.astype(np.float64) / unit_total

        est.eta0_ = est._resolve_eta0(*_gram_stand_in(gram, est.fit_intercept, dtype),
                                      n_outputs, initial_gradient)
    else:
        est.eta0_ = est._resolve_eta0(None, None, n_outputs)
    state.eta = None  # every fit restarts the schedule from eta0_

    # ``zero_model_bound`` of all the targets, from the sums gathered above.
    bound = max(target_sq, target_abs)
    if est._multinomial(n_outputs):
        bound = max(bound, unit_total * np.log(n_outputs))
    reference = bound / unit_total if np.isfinite(bound / unit_total) else np.inf
    def epoch_factory(rows, targets, sample_weight, state, codes, hyper):
        if mixing:
            return _DaskMixedEpoch(gradient, est, state, codes, hyper)
        return _DaskBatchEpoch(gradient, state, codes, hyper,
                               restart=est._momentum_restart(state, hyper),
                               step_scales=est._kernel_step_scales())

    curve, n_epochs = est._run_epochs(gradient, None, None, state, est.max_iter,
                                      epoch_factory=epoch_factory, reference=reference,
                                      total_weight=unit_total,
                                      gradient_factory=gradient_factory,
                                      column_mean_squares=stats["column_squares"] / total)
    return _finish(est, state, curve, n_epochs, n_features, columns)


def _finish(est, state, curve, n_epochs, n_features, columns):
    """Set the fitted attributes from the trained state, as ``fit`` does."""
    est._commit_state(state)
    est.loss_curve_ = curve
    est.n_iter_ = n_epochs
    est.convergence_ = state.convergence
    est.n_features_in_ = n_features
    if columns is not None:
        est.feature_names_in_ = columns
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    return est


# ------------------------------------------------------------------ inputs
def _as_dask_inputs(X, y, sample_weight):
    """Dask arrays with known row chunks shared by X, y and the weights.

    X is the source, in one chunk of columns: :func:`_block_rows` makes its chunks
    what the kernels read.
    """
    columns = None
    if hasattr(X, "columns"):
        names = list(X.columns)
        if names and all(isinstance(c, str) for c in names):
            columns = np.asarray(names, dtype=object)
    X = _as_dask(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D X, got {X.ndim} dimension(s).")
    dtype = X.dtype if X.dtype in _FLOATS else np.dtype(np.float64)
    X = X.rechunk({1: -1})
    y = _as_dask(y, X.chunks[0])
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must be 1-D with {X.shape[0]} samples, got shape {y.shape}.")
    if sample_weight is not None:
        sample_weight = _as_dask(sample_weight, X.chunks[0]).astype(dtype)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(f"sample_weight.shape == {sample_weight.shape}, expected "
                             f"{(X.shape[0],)}!")
    return X, y, sample_weight, columns


def _as_dask(a, row_chunks=None):
    if hasattr(a, "to_dask_array"):  # dask DataFrame / Series
        a = a.to_dask_array(lengths=True)
    elif not isinstance(a, da.Array):
        a = np.asarray(a)
        a = da.from_array(a) if row_chunks is None else \
            da.from_array(a, chunks=(row_chunks,) + a.shape[1:])
    if any(np.isnan(c) for c in a.chunks[0]):
        a = a.compute_chunk_sizes()
    if row_chunks is not None and a.chunks[0] != row_chunks:
        a = a.rechunk({0: row_chunks})
    return a


# ------------------------------------------------- functions run on workers
def _aligned(value):
    """``value`` with every array buffer aligned to its item size (copied only if not).

    Chunks arrive on a worker deserialized from a network frame, their
    buffers at any byte offset. NumPy computes on unaligned arrays by other
    loops than on aligned ones (``X.T @ Xw`` without BLAS, for one), which
    round differently, and Numba types them apart (another compilation): the
    same chunking would give a model that depends on where the bytes landed.
    """
    if isinstance(value, np.ndarray):
        return value if value.flags.aligned else value.copy()
    if sp.issparse(value) and value.format in ("csr", "csc") and not all(
            part.flags.aligned for part in (value.data, value.indices, value.indptr)):
        return type(value)((value.data.copy(), value.indices.copy(), value.indptr.copy()),
                           shape=value.shape)
    return value


def _on_aligned_chunks(function):
    """A task on chunks that sees them with aligned buffers (see :func:`_aligned`)."""
    @functools.wraps(function)
    def task(*args):
        return function(*(_aligned(arg) for arg in args))
    return task


def _block_rows(block, dtype):
    """A chunk of X as the kernels read it: C-ordered float array (or float CSR)."""
    if sp.issparse(block):
        return sp.csr_matrix(block, dtype=dtype)
    return np.ascontiguousarray(block, dtype=dtype)


def _prepared_rows(block, dtype):
    """A chunk of X as the kernels read it, with aligned buffers."""
    return _aligned(_block_rows(block, dtype))


def _chunk_blocks(X, y, sample_weight):
    """``(X, y, sample_weight)`` of each row chunk, as delayed values (weights: None)."""
    # Without graph optimisation, as _DaskGradient's: the chunks may be persisted.
    parts = [a.to_delayed(optimize_graph=False).ravel() for a in (X, y)]
    weights = [None] * len(parts[0]) if sample_weight is None else \
        sample_weight.to_delayed(optimize_graph=False).ravel()
    return list(zip(*parts, weights, strict=True))


def _tree(parts, merge, split_every):
    """``merge`` the ``parts`` in groups of ``split_every``, level by level, to one."""
    while len(parts) > 1:
        parts = [merge(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


def _tree_reduce(parts, merge, split_every):
    """``merge`` the delayed ``parts`` in a tree on the workers; the computed result.

    The same tree as :func:`_tree` on computed parts, so both give the same bits.
    """
    (result,) = dask.compute(_tree(parts, dask.delayed(merge, pure=True), split_every))
    return result


def _chunk_pass(resident, blocks, function, merge, split_every, *args):
    """``function(*chunk, *args)`` on every chunk, merged: on the actors, else as tasks."""
    if resident is not None:
        return _tree(resident.map(function, _RAW, args), merge, split_every)
    return _tree_reduce([dask.delayed(function, pure=True)(*block, *args) for block in blocks],
                        merge, split_every)


@_on_aligned_chunks
def _block_checks(X, y, sample_weight, classifier):
    """Pass 1 on one chunk: what must hold for the whole data set, and the labels."""
    values = X.data if sp.issparse(X) else np.asarray(X)
    checks = {"X finite": bool(np.isfinite(values).all()), "y finite": True,
              "sample_weight finite": True, "sample_weight non-negative": True,
              "labels": None}
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        checks["sample_weight finite"] = bool(np.isfinite(sample_weight).all())
        checks["sample_weight non-negative"] = bool((sample_weight >= 0).all())
    if classifier:
        checks["labels"] = np.unique(np.asarray(y), return_counts=True)
    else:
        checks["y finite"] = bool(np.isfinite(np.asarray(y)).all())
    return checks


def _merge_checks(*parts):
    """Pass 1's checks of several chunks as those of their union."""
    merged = dict(parts[0])
    for name in ("X finite", "y finite", "sample_weight finite", "sample_weight non-negative"):
        merged[name] = all(part[name] for part in parts)
    if merged["labels"] is not None:
        labels = np.concatenate([part["labels"][0] for part in parts])
        counts = np.concatenate([part["labels"][1] for part in parts])
        classes, index = np.unique(labels, return_inverse=True)
        merged["labels"] = (classes, np.bincount(index.ravel(), weights=counts,
                                                 minlength=len(classes)).astype(np.int64))
    return merged


@_on_aligned_chunks
def _block_statistics(X, y, sample_weight, start, prototype, classes, per_class, dtype,
                      fit_intercept, stride):
    """Pass 2 on one chunk (rows from ``start``): sums that :func:`_merge_statistics` adds."""
    targets = _block_targets(y, prototype, classes, dtype).astype(np.float64)
    weights = _block_weights(y, sample_weight, classes, per_class, dtype)
    weights64 = weights.astype(np.float64)
    stats = {"total": weights.sum(dtype=np.float64),
             "column_squares": _block_column_squares(X, weights[:, None])[0],
             "target_sq": (weights64 * (targets ** 2).sum(axis=1)).sum(),
             "target_abs": (weights64 * abs(targets).sum(axis=1)).sum()}
    if classes is not None:
        stats["class_weight"] = np.bincount(_block_index(y, classes), weights=weights64,
                                            minlength=len(classes))
    if stride is not None:
        stats["gram"] = _block_gram(X, weights, fit_intercept, stride, start)
    return stats


def _merge_statistics(*parts):
    """Pass 2's sums of several chunks, added in the order given."""
    merged = {name: np.array(value, copy=True) for name, value in parts[0].items()}
    for part in parts[1:]:
        for name, value in part.items():
            merged[name] += value
    return merged


def _block_column_squares(X, sample_weight):
    """``sum_i w_i x_ij^2`` of one chunk (dense or SciPy sparse), as a (1, n_features) row."""
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if sp.issparse(X):
        squared = sp.csr_matrix(X, dtype=np.float64).multiply(sp.csr_matrix(X, dtype=np.float64))
        return np.asarray(squared.T @ w, dtype=np.float64).reshape(1, -1)
    # The expression fit's column_mean_squares evaluates (no temporaries of X's size).
    return np.einsum("i,ij,ij->j", w, X, X, dtype=np.float64).reshape(1, -1)


def _block_gram(X, sample_weight, fit_intercept, stride, start):
    """``[X, 1]^T diag(w) [X, 1]`` of a chunk's rows whose index is a multiple of ``stride``.

    (Without the column of ones if there is no intercept.) ``start``: the
    index of the chunk's first row in the data set.
    """
    first = -start % stride
    X = X[first::stride]
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)[first::stride]
    Xw = X.multiply(w[:, None]) if sp.issparse(X) else X * w[:, None]
    gram = np.asarray(safe_sparse_dot(X.T, Xw, dense_output=True), dtype=np.float64)
    if fit_intercept:
        col = np.asarray(Xw.sum(axis=0), dtype=np.float64).reshape(-1)
        gram = np.block([[gram, col[:, None]], [col[None, :], np.array([[w.sum()]])]])
    return gram


def _block_index(y, classes):
    """Indices of a chunk's labels in ``classes``."""
    return np.searchsorted(classes, y)


def _block_targets(y, prototype, classes, dtype):
    """The float target matrix of a chunk, as ``fit`` builds it."""
    if classes is None:
        return np.asarray(y).astype(dtype).reshape(-1, 1)
    return prototype._targets(_block_index(y, classes), len(classes), dtype)


def _block_weights(y, sample_weight, classes, per_class, dtype):
    """Sample weights of a chunk times its class weights (before scaling to mean 1)."""
    if sample_weight is None:
        sample_weight = np.ones(y.shape[0], dtype=dtype)
    sample_weight = np.asarray(sample_weight, dtype=dtype)
    if per_class is None:
        return sample_weight
    return sample_weight * per_class[_block_index(y, classes)].astype(dtype)


def _block_unit_mean(sample_weight, scale, dtype):
    return (np.asarray(sample_weight, dtype=np.float64) * scale).astype(dtype)


def _block_training(y, sample_weight, prototype, classes, per_class, dtype, scale):
    """A chunk's float targets and unit-mean weights: the task path's two arrays."""
    weights = _block_weights(y, sample_weight, classes, per_class, dtype)
    return (_block_targets(y, prototype, classes, dtype),
            _block_unit_mean(weights, scale, dtype))


class _Step:
    """Copies of what a step's gradient needs (an opaque object, not a graph tuple)."""

    __slots__ = ("params", "codes", "hyper")

    def __init__(self, params, codes, hyper):
        self.params, self.codes, self.hyper = params.copy(), codes.copy(), hyper.copy()


@_on_aligned_chunks
def _block_gradient(X, targets, sample_weight, step):
    """Weighted loss sum and gradient sum of one chunk, by the in-memory kernel."""
    params, codes, hyper = step.params, step.codes, step.hyper
    rows = _Rows(X)
    grad = np.zeros_like(params)
    scores = np.empty(params.shape[0])
    dscores = np.empty(params.shape[0])
    gradient = builtin_loops.batch_gradient_kernel(codes, params.shape[0])
    loss = gradient(rows.data, targets, sample_weight, 0, rows.n_samples, params, grad, scores,
                    dscores, codes, hyper)
    return float(loss), grad


def _add(*parts):
    """Sum of ``(loss, grad)`` pairs, in the order given."""
    loss, grad = parts[0]
    grad = grad.copy()
    for other_loss, other_grad in parts[1:]:
        loss += other_loss
        grad += other_grad
    return loss, grad


# ------------------------------------------------------- estimator glue
def _per_class_weights(estimator, counts):
    """Weight of each class from ``class_weight`` (None when it is None)."""
    n_classes = counts.shape[0]
    if estimator.class_weight is None:
        return None
    if isinstance(estimator.class_weight, str):  # "balanced", on the whole data set
        return counts.sum() / (n_classes * counts.astype(np.float64))
    index = np.arange(n_classes)
    return estimator._class_sample_weight(index, np.ones(n_classes), n_classes)


def _eigen_stride(n_samples):
    """Every how many rows ``top_eigenvalue`` looks at (it subsamples large data)."""
    try:
        max_rows = inspect.signature(top_eigenvalue).parameters["max_rows"].default
    except KeyError:
        return 1
    return max(1, -(-n_samples // max_rows)) if n_samples > max_rows else 1


def _gram_stand_in(gram, fit_intercept, dtype):
    """``(rows, sample_weight)`` with the weighted Gram matrix ``gram`` (divided by n).

    ``_resolve_eta0`` reads the data (for ``solver="batch"``) only through the
    matrix ``[X, 1]^T diag(w) [X, 1] / n`` of the training rows and their
    unit-mean weights (of the evenly strided subset of them that
    ``top_eigenvalue`` uses on large data), whose top eigenvalue bounds the
    curvature. These 2 d
    rows (d features) have that same matrix: with ``c`` its intercept
    corner, ``m`` the weighted mean row and ``S = L L^T`` the weighted
    covariance, the rows are ``m +- sqrt(d) L[:, k]``, each with weight
    ``c``. So the helper computes the step size ``fit`` computes, from
    statistics gathered on the workers.
    """
    if fit_intercept:
        corner = float(gram[-1, -1])
        mean = gram[:-1, -1] / corner
        cov = gram[:-1, :-1] / corner - np.outer(mean, mean)
    else:
        corner = 1.0
        mean = np.zeros(gram.shape[0])
        cov = gram
    d = cov.shape[0]
    values, vectors = np.linalg.eigh((cov + cov.T) / 2.0)
    spread = vectors * np.sqrt(np.clip(values, 0.0, None) * d)  # columns sqrt(d) L[:, k]
    rows = np.vstack([mean + spread.T, mean - spread.T])
    return _Rows(np.ascontiguousarray(rows, dtype=dtype)), np.full(2 * d, corner, dtype=dtype)


class _DaskGradient:
    """Weighted loss sum and gradient sum over all chunks at ``params``, on the workers.

    Stands in for the rows in ``_run_epochs`` (which only hands them on).
    """

    def __init__(self, X, targets, weights, split_every, resident=None, persist=True):
        self.n_samples, self.n_features = X.shape
        self.is_sparse = False
        self.arrays = (X, targets, weights)
        self.resident, self.persist = resident, persist
        self._set_blocks()
        self.split_every = split_every

    def _set_blocks(self):
        # Without graph optimisation: the chunks are persisted (nothing to optimise),
        # and older Dask loses the link to persisted chunks when it optimises.
        self.blocks = list(zip(*(a.to_delayed(optimize_graph=False).ravel()
                                 for a in self.arrays), strict=True))

    def map(self, function, shared):
        """``function(X, targets, weights, shared)`` of every chunk, in chunk order."""
        if self.resident is not None:
            try:
                return self.resident.map(function, _TRAINING, (shared,))
            except Exception as exc:  # a lost worker: its actor is gone
                self._by_tasks(exc)
        # One small value per call, under a fresh key, that every chunk's task reads.
        value = dask.delayed(shared, pure=False)
        return list(dask.compute(*[dask.delayed(function, pure=True)(x, t, w, value)
                                   for x, t, w in self.blocks]))

    def _by_tasks(self, exc):
        """Go on through the scheduler's tasks (the actors could not be reached)."""
        warnings.warn(ChunkActorLostWarning(
            f"The workers' chunk actors could not be reached ({exc!r}); the fit goes on "
            "through the scheduler's tasks (Dask recomputes lost chunks)."), stacklevel=3)
        self.resident = None
        if self.persist:
            self.arrays = dask.persist(*self.arrays)
            self._set_blocks()

    def __call__(self, params, codes, hyper):
        step = _Step(params, codes, hyper)
        if self.resident is not None:
            try:
                parts = self.resident.map(_block_gradient, _TRAINING, (step,))
            except Exception as exc:  # a lost worker: its actor is gone
                self._by_tasks(exc)
            else:
                loss, grad = _tree(parts, _add, self.split_every)
                return float(loss), np.array(grad, dtype=params.dtype, order="C", copy=True)
        step = dask.delayed(step, pure=False)
        loss, grad = _tree_reduce([dask.delayed(_block_gradient, pure=True)(x, t, w, step)
                                   for x, t, w in self.blocks], _add, self.split_every)
        # Received arrays may be read-only views of network buffers.
        return float(loss), np.array(grad, dtype=params.dtype, order="C", copy=True)


class _DaskBatchEpoch:
    """One full-batch step, as ``(epoch, t) -> (loss_sum, t, status)`` (cf. ``BatchEpoch``)."""

    def __init__(self, gradient, state, codes, hyper, restart=None,
                 step_scales=NO_STEP_SCALES):
        self.gradient = gradient
        self.restart = restart
        self.step_scales = step_scales
        self.params, self.m1, self.m2 = (state.params, state.first_moment,
                                         state.second_moment)
        self.codes, self.hyper = codes, hyper

    def __call__(self, epoch, t):
        loss_sum, grad = self.gradient(self.params, self.codes, self.hyper)
        if not np.isfinite(loss_sum):
            return loss_sum, t, STATUS_DIVERGED
        t = int(t) + 1
        # As BatchEpoch's: the certificate of the weights before the step.
        self.last_gradient = (self.params.copy(), loss_sum, grad.copy())
        if self.restart is not None:
            self.restart(grad[None], self.m1, self.params, float(self.gradient.n_samples))
        status = builtin_loops.batch_update(self.params, grad[None],
                                            float(self.gradient.n_samples), self.m1, self.m2,
                                            self.step_scales, t, self.codes, self.hyper)
        return loss_sum, t, status


# --------------------------------------------- stochastic: parameter mixing
def _mixing_problems(est):
    """What the parameter-mixing path (solver "stochastic" or "minibatch") cannot do."""
    problems = []
    if est.optimizer == "svrg":
        # Each step reads the snapshot's derivative of its sample and the
        # snapshot's full gradient: a local epoch would need both per chunk.
        problems.append("optimizer='svrg' (use solver='batch' with optimizer='lbfgs', "
                        "or fit on in-memory data)")
    if est.penalty in ("l1", "elasticnet") and est.alpha > 0 and \
            (est.penalty == "l1" or est.l1_ratio > 0):
        # The cumulative L1 penalty keeps per-weight debts in the moments'
        # place; an average of debts is not the debt of the averaged weights.
        problems.append(f"penalty={est.penalty!r} with solver={est.solver!r}")
    if est.average:
        problems.append(f"average with solver={est.solver!r}")
    if est.eta0 == "auto" and est.optimizer in DATA_DERIVED:
        # Their rate is a distance derived from passes over the rows in memory.
        problems.append(f"eta0='auto' with optimizer={est.optimizer!r} and "
                        f"solver={est.solver!r} (pass a numeric eta0)")
    return problems


@_on_aligned_chunks
def _block_top_row(X, sample_weight, fit_intercept, scales):
    """One chunk's largest weighted squared row norm (preconditioned by ``scales``)."""
    rows = _Rows(X)
    if rows.n_samples == 0:
        return -np.inf
    if scales is None:
        return top_row_norm(rows, sample_weight, fit_intercept)
    return preconditioned_row_norm(rows, sample_weight, scales, fit_intercept)


class _DaskCurvatures:
    """``RowCurvatures`` of the chunks, from statistics computed on the workers.

    The top eigenvalue is that of the weighted Gram matrix ``gram`` gathered
    with the other statistics (see ``_gram_stand_in``), the largest row one
    pass over the chunks when asked for: ``_resolve_eta0`` then computes
    ``fit``'s step size for the same rows.
    """

    def __init__(self, X, weights, gram, fit_intercept):
        self.X, self.weights, self.gram = X, weights, gram
        self.fit_intercept = fit_intercept
        self.n_samples = X.shape[0]
        self.dtype = X.dtype

    def top_eigenvalue(self, scales=None, ridge=None):
        rows, weights = _gram_stand_in(self.gram, self.fit_intercept, self.dtype)
        return top_eigenvalue(rows, weights, self.fit_intercept, scales=scales, ridge=ridge)

    def top_row(self):
        return self._largest(None)

    def top_preconditioned_row(self, scales):
        return self._largest(scales)

    def _largest(self, scales):
        blocks = zip(*(a.to_delayed(optimize_graph=False).ravel()
                       for a in (self.X, self.weights)), strict=True)
        return max(dask.compute(*[
            dask.delayed(_block_top_row, pure=True)(x, w, self.fit_intercept, scales)
            for x, w in blocks]))


class _LocalEpoch:
    """What one chunk's local epoch needs: a copy of the estimator and the mixed state."""

    __slots__ = ("estimator", "params", "first_moment", "second_moment", "codes", "hyper",
                 "epoch", "t")

    def __init__(self, estimator, state, codes, hyper, epoch, t):
        self.estimator = estimator
        self.params, self.first_moment, self.second_moment = (
            state.params.copy(), state.first_moment.copy(), state.second_moment.copy())
        self.codes, self.hyper = codes.copy(), hyper.copy()
        self.epoch, self.t = int(epoch), int(t)


def _weight_sum(X, targets, sample_weight, _):
    """A chunk's total weight (its share in parameter mixing)."""
    return np.asarray(sample_weight).sum(dtype=np.float64)


@_on_aligned_chunks
def _block_local_epoch(X, targets, sample_weight, job):
    """One epoch of ``fit``'s own loop over one chunk, from the mixed weights."""
    local = TrainingState(job.params.copy(), job.first_moment.copy(),
                          job.second_moment.copy())
    epoch_fn = job.estimator._epoch_function(_Rows(X), targets, sample_weight, local,
                                             job.codes, job.hyper)
    loss_sum, t, status = epoch_fn(job.epoch, job.t)
    return (float(loss_sum), local.params, local.first_moment, local.second_moment,
            int(t) - job.t, int(status))


class _DaskMixedEpoch:
    """Parameter mixing (Zinkevich, Weimer, Smola & Li 2010), one mix per epoch.

    Every chunk runs one epoch of the estimator's own stochastic (or
    mini-batch) loop over its rows, on the worker that holds it, starting from
    the same weights and optimizer state; the client then averages the
    chunks' weights and moments, each weighted by its share of the sample
    weight, in chunk order (so the result depends on the chunking, not on
    which worker finishes first). The update count advances by the chunks'
    weighted mean number of updates, which is what each local run's schedule
    saw. With one chunk this is ``fit``'s epoch exactly.
    """

    def __init__(self, gradient, estimator, state, codes, hyper):
        self.gradient = gradient
        self.state, self.codes, self.hyper = state, codes, hyper
        # A copy for the workers: pickling the estimator itself would take its
        # lock, which this thread holds for the whole fit.
        self.estimator = copy.copy(estimator)
        shares = gradient.map(_weight_sum, None)
        self.shares = np.asarray(shares, dtype=np.float64)
        self.shares /= self.shares.sum()

    def __call__(self, epoch, t):
        results = self.gradient.map(_block_local_epoch, _LocalEpoch(
            self.estimator, self.state, self.codes, self.hyper, epoch, t))
        loss_sum = 0.0
        status = 0
        mixed = [np.zeros(a.shape, dtype=np.float64)
                 for a in (self.state.params, self.state.first_moment,
                           self.state.second_moment)]
        advance = 0.0
        for share, (block_loss, *arrays, block_advance, block_status) in zip(
                self.shares, results, strict=True):
            loss_sum += block_loss
            status = max(status, block_status)
            advance += share * block_advance
            for total, array in zip(mixed, arrays, strict=True):
                total += share * array
        for target, total in zip((self.state.params, self.state.first_moment,
                                  self.state.second_moment), mixed, strict=True):
            target[...] = total
        return loss_sum, int(t) + int(round(advance)), status
