"""Software prefetch of array rows (LLVM's ``llvm.prefetch`` intrinsic).

Shuffled SGD epochs are bound by the latency of fetching rows in random order,
not by arithmetic: asking for the row needed a few samples ahead hides most of
that latency. Numba has no prefetch, so this exposes LLVM's intrinsic.
"""

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# Rows further apart than this many samples would be evicted before use; fewer
# do not cover the memory latency.
PREFETCH_DISTANCE = 8
_LINE = 64  # bytes per cache line


@intrinsic
def _prefetch_item(typingctx, array, index):
    """Prefetch the cache line holding ``array.flat[index]`` (read, keep in cache)."""

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        arr = context.make_array(arrty)(context, builder, args[0])
        ptr = builder.gep(arr.data, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32),
                                               ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(ir.IntType(32), 0),
                          ir.Constant(ir.IntType(32), 3), ir.Constant(ir.IntType(32), 1)])
        return context.get_dummy_value()

    if isinstance(array, types.Array) and isinstance(index, types.Integer):
        return types.void(array, index), codegen
    return None


@njit(cache=True, nogil=True)
def prefetch_row(X, data, indices, indptr, is_sparse, i):
    """Prefetch every cache line of row ``i`` of a C-ordered dense X or of a CSR matrix."""
    if is_sparse:
        start, stop = indptr[i], indptr[i + 1]
        for p in range(start, stop, max(_LINE // data.itemsize, 1)):
            _prefetch_item(data, p)
        for p in range(start, stop, max(_LINE // indices.itemsize, 1)):
            _prefetch_item(indices, p)
    else:
        n_features = X.shape[1]
        step = max(_LINE // X.itemsize, 1)
        base = i * n_features
        for j in range(0, n_features, step):
            _prefetch_item(X, base + j)
