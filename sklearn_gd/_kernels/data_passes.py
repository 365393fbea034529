"""Passes over training data that check or measure it rather than train on it.

On small ``partial_fit`` chunks the NumPy calls that check a chunk and turn
its labels into the target matrix (a sum, ``isfinite``, ``searchsorted``, a
comparison, ``any``, ``where``, ``astype``) cost more than the epoch itself;
:func:`all_finite` and :func:`encode_labels` do that work in one call each.
The estimators still route anything unusual through scikit-learn's
validation, which raises the usual errors. :func:`column_sq_sums` feeds the
feature-scale warning of ``fit``, :func:`weighted_column_squares` the
preconditioner on CSR rows, :func:`weighted_gram_product` the power
iteration that sets the batch step size.
"""

from ._jit import FASTMATH, kernel
from .rows import row_add_squares, row_axpy, row_dot

# Reassociation lets LLVM vectorise the sum; 'nnan'/'ninf' are left out because
# the sum is there to be NaN when a value is NaN or infinite.
_sum_kernel = kernel(fastmath={"reassoc", "nsz"}, error_model="numpy")


@_sum_kernel
def all_finite(X):
    """True if no value of the 2-D array ``X`` is NaN or infinite."""
    acc = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            # x * 0 is 0 for finite x and NaN for NaN or +-inf.
            acc += X[i, j] * 0.0
    return acc == 0.0


@kernel(fastmath=False, error_model="python")
def encode_labels(y, classes, multinomial, targets):
    """Write the target rows of labels ``y``; return the index of an unknown label or -1.

    ``targets`` has one column of +-1 for two classes, otherwise one column per
    class: one-hot for multinomial losses, +-1 (one-vs-rest) otherwise.
    """
    n_classes = classes.shape[0]
    low = 0.0 if multinomial else -1.0
    for i in range(y.shape[0]):
        c = -1
        for k in range(n_classes):
            if y[i] == classes[k]:
                c = k
                break
        if c < 0:
            return i
        if n_classes == 2:
            targets[i, 0] = 1.0 if c == 1 else -1.0
        else:
            for k in range(n_classes):
                targets[i, k] = low
            targets[i, c] = 1.0
    return -1


@kernel(fastmath=False, error_model="python")
def column_sq_sums(rows, n_samples, out):
    """out[j] = sum over the n_samples rows of x_ij ** 2 (dense or CSR; float64 ``out``).

    One pass over the stored values, faster than ``np.bincount`` with weights
    on CSR data and ``np.einsum`` on dense rows (docs/benchmarks.md, "Behind
    the code").
    """
    out[:] = 0.0
    for i in range(n_samples):
        row_add_squares(rows, i, out)


@kernel(fastmath=False, error_model="numpy")
def weighted_column_squares(data, indices, indptr, sample_weight, out):
    """out[j] = sum_i w_i x_ij ** 2 over canonical CSR rows (float64 ``out``).

    What ``X.multiply(X).T @ w`` computes, bit for bit (the square in the
    data's dtype, then its float64 product with ``w_i``, summed in row
    order), without building the matrix of squares, which took most of
    the time. Strict arithmetic, as SciPy's: a fused multiply-add would round
    differently.
    """
    out[:] = 0.0
    for i in range(indptr.shape[0] - 1):
        w = sample_weight[i]
        for p in range(indptr[i], indptr[i + 1]):
            x = data[p]
            out[indices[p]] += float(x * x) * w


# The epoch loops' flags: the row helpers are inlined with them.
_row_kernel = kernel(fastmath=FASTMATH, error_model="numpy")


@_row_kernel
def weighted_gram_product(rows, n_samples, stride, sample_weight, v, fit_intercept, out):
    """out[0] = sum of w_i (<x_i, v[0, :d]> + b) [x_i, c] over rows 0, stride, 2 stride, ...

    with b = v[0, d] and c = 1 when ``fit_intercept``, else 0: the product of
    the weighted Gram matrix of [X, 1] with ``v``, in one pass over the rows.
    It replaced two BLAS calls per power iteration, whose multi-threaded sums
    made the step size (and so the model) depend on BLAS's thread count, and
    whose idle workers then spun on the cores the batch epochs needed.
    """
    n_features = v.shape[1] - 1
    out[:, :] = 0.0
    for i in range(0, n_samples, stride):
        s = row_dot(rows, i, v, 0)
        if fit_intercept:
            s += v[0, n_features]
        s *= sample_weight[i]
        row_axpy(rows, i, s, out, 0)
        if fit_intercept:
            out[0, n_features] += s
