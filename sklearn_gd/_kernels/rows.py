"""Row access for dense and CSR data, chosen at compile time.

The kernels take ``rows``: a C-ordered 2-D array, or a CSR matrix as the tuple
``(data, indices, indptr)``. The helpers below are ``@overload``-ed on that
type, so each kernel is written once and Numba specialises it per row format
(as it does per dtype). A runtime ``is_sparse`` flag instead cost half the
throughput of the batch gradient: LLVM no longer vectorised the dense loops.
"""

import numpy as np
from numba import types
from numba.extending import overload
from numba.np.numpy_support import as_dtype

from ._jit import FASTMATH
from .prefetch import prefetch_array_item

_OPTIONS = {"fastmath": FASTMATH, "error_model": "numpy",
            "nogil": True}
_LINE = 64  # bytes per cache line


def _is_dense(rows):
    return isinstance(rows, types.Array)


# The bodies below are what runs with NUMBA_DISABLE_JIT=1 (a debugging
# switch: the kernels then run as plain Python and call these directly); compiled
# kernels never see them, they use the @overload-ed versions further down.
def row_dot(rows, i, W, k):
    """<x_i, W[k, :n_features]>."""
    if isinstance(rows, tuple):
        data, indices, indptr = rows
        start, stop = indptr[i], indptr[i + 1]
        return float(np.dot(data[start:stop], W[k, indices[start:stop]]))
    return float(np.dot(rows[i], W[k, :rows.shape[1]]))


def row_dot_pair(rows, i, W, V, k):
    """(<x_i, W[k, :n_features]>, <x_i, V[k, :n_features]>), in one read of the row."""
    return row_dot(rows, i, W, k), row_dot(rows, i, V, k)


def row_axpy(rows, i, a, out, k):
    """out[k, :n_features] += a * x_i."""
    if isinstance(rows, tuple):
        data, indices, indptr = rows
        start, stop = indptr[i], indptr[i + 1]
        # Column indices within a CSR row are distinct, so += does not drop repeats.
        out[k, indices[start:stop]] += a * data[start:stop]
    else:
        out[k, :rows.shape[1]] += a * rows[i]


def row_axpy_pair(rows, i, a, out, b, out2, k):
    """out[k, :n_features] += a * x_i and out2[k, :n_features] += b * x_i, in one pass.

    For the lazy average of ``scaled_sgd_epoch``: the weights and the average
    move on the same columns, and one pass reads the row once.
    """
    row_axpy(rows, i, a, out, k)
    row_axpy(rows, i, b, out2, k)


def row_clear(rows, i, out, k):
    """out[k, j] = 0 wherever x_i may be non-zero (all j for dense rows)."""
    if isinstance(rows, tuple):
        _, indices, indptr = rows
        out[k, indices[indptr[i]:indptr[i + 1]]] = 0.0
    else:
        out[k, :rows.shape[1]] = 0.0


def row_cumulative_l1(rows, i, params, k, q, u, scale, aw, a):
    """The cumulative L1 penalty on the weights of row i's columns (all for dense rows).

    Tsuruoka, Tsujii & Ananiadou (2009), as scikit-learn's plain SGD applies
    it: the weights are ``scale * params[k, :]``, ``u`` is the total L1
    penalty any weight could have received so far and ``q[k, j]`` what weight
    j did receive. A weight is pulled towards zero by what it is owed, and
    never past it, so a weight the noisy gradients keep nudging off zero
    stays exactly zero.

    With ``a`` non-zero, ``aw[k, j] -= a * (change of params[k, j])``: the
    lazy average of ``scaled_sgd_epoch`` (``(aw + a * params) / b``) must not
    move with a change of the weights it has not yet averaged.
    """
    _, columns = _python_row(rows, i)
    for j in columns:
        z = float(params[k, j])
        if scale * z > 0.0:
            params[k, j] = max(0.0, z - (u + float(q[k, j])) / scale)
        elif scale * z < 0.0:
            params[k, j] = min(0.0, z + (u - float(q[k, j])) / scale)
        q[k, j] += scale * (float(params[k, j]) - z)
        if a != 0.0:
            aw[k, j] -= a * (float(params[k, j]) - z)


def row_sq_norm(rows, i):
    """||x_i||^2."""
    x = _python_row(rows, i)[0].astype(np.float64)
    return float(np.dot(x, x))


def row_add_squares(rows, i, out):
    """out[j] += x_ij ** 2 for every column j (float64 ``out``)."""
    x, columns = _python_row(rows, i)
    out[columns] += x.astype(np.float64) ** 2


def row_update_scales(rows, i, params, scales):
    """Note row i's |x_ij| in the per-feature scales; return sum_j (x_ij / s_j)**2.

    ``scales[k, j]`` holds s_j, the largest |x_j| seen (the same in every row
    k). Where |x_ij| exceeds it, s_j becomes |x_ij| and ``params[:, j]`` is
    multiplied by old s_j / new s_j (when old s_j > 0), as the normalized
    adaptive gradient (NAG) of Ross, Mineiro and Langford does.
    """
    x, columns = _python_row(rows, i)
    acc = 0.0
    for value, j in zip(x, columns, strict=True):
        a = abs(float(value))
        s = float(scales[0, j])
        if a > s:
            if s > 0.0:
                params[:, j] *= s / a
            scales[:, j] = a
            s = float(scales[0, j])
        if a > 0.0:
            acc += (a / s) ** 2
    return acc


def prefetch_row(rows, i):
    """Ask for the cache lines of row i ahead of its use."""


def _python_row(rows, i):
    """(values, column indices) of row i, for the pure-Python bodies above."""
    if isinstance(rows, tuple):
        data, indices, indptr = rows
        start, stop = indptr[i], indptr[i + 1]
        return data[start:stop], indices[start:stop]
    return rows[i], np.arange(rows.shape[1])


def _scalar(rows):
    """The NumPy scalar type of the row values (float32 data is summed in float32)."""
    return as_dtype((rows if _is_dense(rows) else rows[0]).dtype).type


@overload(row_dot, jit_options=_OPTIONS, inline="always")
def _row_dot(rows, i, W, k):
    # Accumulating float32 rows in float64 halved the vector width of the
    # loops that read X (a float32 epoch cost as much as a float64 one).
    scalar = _scalar(rows)
    if _is_dense(rows):
        def dense(rows, i, W, k):
            acc = scalar(0.0)
            for j in range(rows.shape[1]):
                acc += rows[i, j] * W[k, j]
            return acc
        return dense

    def sparse(rows, i, W, k):
        data, indices, indptr = rows
        acc = scalar(0.0)
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * W[k, np.uint64(indices[p])]
        return acc
    return sparse


@overload(row_dot_pair, jit_options=_OPTIONS, inline="always")
def _row_dot_pair(rows, i, W, V, k):
    # One helper for both: row_dot inlined twice into one kernel trips Numba's
    # IR checks (NumbaIRAssumptionWarning), and the row is read once.
    scalar = _scalar(rows)
    if _is_dense(rows):
        def dense(rows, i, W, V, k):
            acc = scalar(0.0)
            acc2 = scalar(0.0)
            for j in range(rows.shape[1]):
                acc += rows[i, j] * W[k, j]
                acc2 += rows[i, j] * V[k, j]
            return acc, acc2
        return dense

    def sparse(rows, i, W, V, k):
        data, indices, indptr = rows
        acc = scalar(0.0)
        acc2 = scalar(0.0)
        for p in range(indptr[i], indptr[i + 1]):
            j = np.uint64(indices[p])
            acc += data[p] * W[k, j]
            acc2 += data[p] * V[k, j]
        return acc, acc2
    return sparse


@overload(row_axpy, jit_options=_OPTIONS, inline="always")
def _row_axpy(rows, i, a, out, k):
    scalar = _scalar(rows)
    if _is_dense(rows):
        def dense(rows, i, a, out, k):
            b = scalar(a)
            for j in range(rows.shape[1]):
                out[k, j] += b * rows[i, j]
        return dense

    def sparse(rows, i, a, out, k):
        data, indices, indptr = rows
        b = scalar(a)
        for p in range(indptr[i], indptr[i + 1]):
            out[k, np.uint64(indices[p])] += b * data[p]
    return sparse


@overload(row_axpy_pair, jit_options=_OPTIONS, inline="always")
def _row_axpy_pair(rows, i, a, out, b, out2, k):
    scalar = _scalar(rows)
    if _is_dense(rows):
        def dense(rows, i, a, out, b, out2, k):
            sa = scalar(a)
            sb = scalar(b)
            for j in range(rows.shape[1]):
                x = rows[i, j]
                out[k, j] += sa * x
                out2[k, j] += sb * x
        return dense

    def sparse(rows, i, a, out, b, out2, k):
        data, indices, indptr = rows
        sa = scalar(a)
        sb = scalar(b)
        for p in range(indptr[i], indptr[i + 1]):
            j = np.uint64(indices[p])
            x = data[p]
            out[k, j] += sa * x
            out2[k, j] += sb * x
    return sparse


@overload(row_clear, jit_options=_OPTIONS, inline="always")
def _row_clear(rows, i, out, k):
    if _is_dense(rows):
        def dense(rows, i, out, k):
            for j in range(rows.shape[1]):
                out[k, j] = 0.0
        return dense

    def sparse(rows, i, out, k):
        data, indices, indptr = rows
        for p in range(indptr[i], indptr[i + 1]):
            out[k, indices[p]] = 0.0
    return sparse


@overload(row_cumulative_l1, jit_options=_OPTIONS, inline="always")
def _row_cumulative_l1(rows, i, params, k, q, u, scale, aw, a):
    if _is_dense(rows):
        def dense(rows, i, params, k, q, u, scale, aw, a):
            for j in range(rows.shape[1]):
                z = float(params[k, j])
                if scale * z > 0.0:
                    params[k, j] = max(0.0, z - (u + q[k, j]) / scale)
                elif scale * z < 0.0:
                    params[k, j] = min(0.0, z + (u - q[k, j]) / scale)
                q[k, j] += scale * (params[k, j] - z)
                if a != 0.0:
                    aw[k, j] -= a * (params[k, j] - z)
        return dense

    def sparse(rows, i, params, k, q, u, scale, aw, a):
        data, indices, indptr = rows
        for p in range(indptr[i], indptr[i + 1]):
            j = np.uint64(indices[p])
            z = float(params[k, j])
            if scale * z > 0.0:
                params[k, j] = max(0.0, z - (u + q[k, j]) / scale)
            elif scale * z < 0.0:
                params[k, j] = min(0.0, z + (u - q[k, j]) / scale)
            q[k, j] += scale * (params[k, j] - z)
            if a != 0.0:
                aw[k, j] -= a * (params[k, j] - z)
    return sparse


@overload(row_sq_norm, jit_options=_OPTIONS, inline="always")
def _row_sq_norm(rows, i):
    if _is_dense(rows):
        def dense(rows, i):
            acc = 0.0
            for j in range(rows.shape[1]):
                acc += rows[i, j] * rows[i, j]
            return acc
        return dense

    def sparse(rows, i):
        data, indices, indptr = rows
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * data[p]
        return acc
    return sparse


@overload(row_add_squares, jit_options=_OPTIONS, inline="always")
def _row_add_squares(rows, i, out):
    if _is_dense(rows):
        def dense(rows, i, out):
            for j in range(rows.shape[1]):
                x = float(rows[i, j])
                out[j] += x * x
        return dense

    def sparse(rows, i, out):
        data, indices, indptr = rows
        for p in range(indptr[i], indptr[i + 1]):
            x = float(data[p])
            out[np.uint64(indices[p])] += x * x
    return sparse


@overload(row_update_scales, jit_options=_OPTIONS, inline="always")
def _row_update_scales(rows, i, params, scales):
    # The body is written out in both versions: as a shared helper (a
    # register_jitable function taking the arrays) it was not inlined, and the
    # calls made a pass some thirty times slower (docs/benchmarks.md, "Behind
    # the code").
    if _is_dense(rows):
        def dense(rows, i, params, scales):
            acc = 0.0
            for j in range(rows.shape[1]):
                a = abs(float(rows[i, j]))
                s = float(scales[0, j])
                if a > s:
                    # s_j <= 0 (no scale yet, or another optimizer's moment
                    # kept by warm_start) has no weight at its scale to convert.
                    if s > 0.0:
                        ratio = s / a
                        for k in range(params.shape[0]):
                            params[k, j] *= ratio
                    for k in range(scales.shape[0]):
                        scales[k, j] = a
                    # Read back: a float32 state holds |x| rounded.
                    s = float(scales[0, j])
                if a > 0.0:
                    q = a / s
                    acc += q * q
            return acc
        return dense

    def sparse(rows, i, params, scales):
        data, indices, indptr = rows
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = np.uint64(indices[p])
            a = abs(float(data[p]))
            s = float(scales[0, j])
            if a > s:
                if s > 0.0:
                    ratio = s / a
                    for k in range(params.shape[0]):
                        params[k, j] *= ratio
                for k in range(scales.shape[0]):
                    scales[k, j] = a
                s = float(scales[0, j])
            if a > 0.0:
                q = a / s
                acc += q * q
        return acc
    return sparse


@overload(prefetch_row, jit_options=_OPTIONS, inline="always")
def _prefetch_row(rows, i):
    if _is_dense(rows):
        def dense(rows, i):
            n_features = rows.shape[1]
            base = i * n_features
            for j in range(0, n_features, max(_LINE // rows.itemsize, 1)):
                prefetch_array_item(rows, base + j)
        return dense

    def sparse(rows, i):
        data, indices, indptr = rows
        start, stop = indptr[i], indptr[i + 1]
        for p in range(start, stop, max(_LINE // data.itemsize, 1)):
            prefetch_array_item(data, p)
        for p in range(start, stop, max(_LINE // indices.itemsize, 1)):
            prefetch_array_item(indices, p)
    return sparse

