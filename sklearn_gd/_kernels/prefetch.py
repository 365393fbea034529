"""Software prefetch (LLVM's ``llvm.prefetch`` intrinsic) for Numba code.

Shuffled SGD epochs are bound by the latency of fetching rows in random order,
not by arithmetic: asking for the row needed a few samples ahead hides much of
that latency (about a third of a shuffled epoch; docs/benchmarks.md, "Behind
the code"). Numba has no prefetch, so this exposes LLVM's intrinsic; the row-level
helper is ``rows.prefetch_row``.
"""

from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

# How many samples ahead to prefetch: far enough to cover the memory latency,
# near enough that the row is still cached when used. 16 first beat 8; once the
# row helpers were inlined, 8 or 16 rows ahead and an L1 or L2 hint measured
# within noise, and 32 was no better (docs/benchmarks.md, "Behind the code").
PREFETCH_DISTANCE = 16


@intrinsic
def prefetch_array_item(typingctx, array, index):
    """Prefetch the cache line holding ``array.flat[index]`` (read, keep in cache)."""

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        arr = context.make_array(arrty)(context, builder, args[0])
        ptr = builder.gep(arr.data, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    if isinstance(array, types.Array) and isinstance(index, types.Integer):
        return types.void(array, index), codegen
    return None


if config.DISABLE_JIT:
    # NUMBA_DISABLE_JIT=1 runs the kernels as plain Python, which cannot call an
    # intrinsic (it raises NotImplementedError); there is no cache to warm anyway.
    def prefetch_array_item(array, index):  # noqa: F811
        """No-op stand-in for the intrinsic when Numba compiles nothing."""
