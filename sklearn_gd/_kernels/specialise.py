"""Kernels compiled for one configuration: part of ``codes`` / ``hyper`` as constants.

The loops read the loss, optimizer, schedule and flags from two small arrays
(``codes`` and ``hyper``) at run time, so that one compilation per dtype and
row format serves every configuration; Numba then types, lowers and optimises
every branch of every loss and schedule in each loop. ``specialised(kernel,
constants)`` compiles the same Python function again with some of those
entries replaced by constants before type inference, and the branches they
decide removed, so that only the configuration's own code is compiled. Each
variant has its own entry in the kernel cache.

It is one extra Numba compiler pass, run after Numba's IR-level inlining (the
inlined helpers' branches on ``codes`` are then in the kernel's own IR):

* ``codes[i]`` / ``hyper[i]`` for an entry in ``constants`` becomes that
  constant (``codes`` and ``hyper`` are recognised as the kernel's arguments of
  those names, through the copies inlining makes);
* comparisons, ``not`` and ``bool()`` of constants become constants, and so
  does a variable all of whose definitions are the same constant;
* a branch on a constant becomes a jump, and the blocks no longer reached are
  dropped; then again, until nothing changes;
* calls to other kernels that take ``codes`` / ``hyper`` go to their
  specialised versions for the same constants.

Only branches change: what is left is the same expressions on the same
values. With fastmath, LLVM may still schedule a smaller function's
arithmetic differently, so a variant's results are checked against the
general kernel's (tests/test_specialise.py), and a kernel is specialised only
where that check holds. The caller must pass arrays that hold ``constants``
in every call (the choosers in ``loops.py`` read them from the same arrays).
"""

import operator
import sys
import threading

from numba import njit
from numba.core import ir
from numba.core.analysis import compute_cfg_from_blocks
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.ir_utils import build_definitions, get_definition, guard
from numba.core.untyped_passes import InlineInlinables

from ._cache import attach

_COMPARISONS = {operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge}
_CONFIG_ARGUMENTS = ("codes", "hyper")

_lock = threading.Lock()
_specialised = {}  # (py_func, constants) -> dispatcher


def _argument_name(func_ir, var):
    """The name of the kernel argument ``var`` is a copy of, or None."""
    definition = guard(get_definition, func_ir, var)
    return definition.name if isinstance(definition, ir.Arg) else None


def _constant(func_ir, var, depth=0):
    """The int, bool or float every definition of ``var`` gives, or None."""
    definitions = func_ir._definitions.get(var.name, ())
    if not definitions or depth > 20:
        return None
    found = set()
    for definition in definitions:
        if isinstance(definition, ir.Var):
            value = _constant(func_ir, definition, depth + 1)
        elif isinstance(definition, (ir.Const, ir.Global, ir.FreeVar)) \
                and type(definition.value) in (int, bool, float):
            value = definition.value
        else:
            value = None
        if value is None:
            return None
        found.add((type(value), value))
    return next(iter(found))[1] if len(found) == 1 else None


def _takes_configuration(dispatcher):
    """A kernel called as a function of its own with ``codes`` or ``hyper``.

    Not an inlined helper: its body is already in the caller's IR, and its
    global left behind is never called.
    """
    code = getattr(getattr(dispatcher, "py_func", None), "__code__", None)
    inlined = getattr(dispatcher, "targetoptions", {}).get("inline", "never") != "never"
    return code is not None and not inlined and any(
        name in code.co_varnames[:code.co_argcount] for name in _CONFIG_ARGUMENTS)


def _folded_value(func_ir, expr, constants):
    """The constant ``expr`` evaluates to under ``constants``, as a 1-tuple, or None."""
    if expr.op in ("static_getitem", "getitem"):
        name = _argument_name(func_ir, expr.value)
        if name in _CONFIG_ARGUMENTS:
            index = expr.index if expr.op == "static_getitem" \
                else _constant(func_ir, expr.index)
            if (name, index) in constants:
                return (constants[name, index],)
    elif expr.op == "binop" and expr.fn in _COMPARISONS:
        lhs, rhs = _constant(func_ir, expr.lhs), _constant(func_ir, expr.rhs)
        if lhs is not None and rhs is not None:
            return (expr.fn(lhs, rhs),)
    elif expr.op == "unary" and expr.fn == operator.not_:
        value = _constant(func_ir, expr.value)
        if value is not None:
            return (not value,)
    elif expr.op == "call" and len(expr.args) == 1 and not expr.kws:
        function = guard(get_definition, func_ir, expr.func)
        if isinstance(function, ir.Global) and function.value is bool:
            value = _constant(func_ir, expr.args[0])
            if value is not None:
                return (bool(value),)
    return None


def _fold(func_ir, constants):
    """One sweep of constant folding; returns how many statements changed."""
    changed = 0
    # A snapshot under the lock: another thread may be adding a variant.
    made = {id(dispatcher) for dispatcher in specialised_kernels()}
    for block in func_ir.blocks.values():
        for inst in block.body:
            if not isinstance(inst, ir.Assign):
                continue
            value = inst.value
            if isinstance(value, ir.Global) and id(value.value) not in made \
                    and _takes_configuration(value.value):
                inst.value = ir.Global(value.name, specialised(value.value, constants), value.loc)
                changed += 1
                continue
            if not isinstance(value, ir.Expr):
                continue
            result = _folded_value(func_ir, value, constants)
            definitions = func_ir._definitions[inst.target.name]
            if result is not None and len(definitions) == 1:
                inst.value = ir.Const(result[0], value.loc)
                definitions[0] = inst.value
                changed += 1
    return changed


def _prune(func_ir):
    """Branches on constants become jumps; blocks no longer reached are dropped."""
    pruned = 0
    for block in func_ir.blocks.values():
        branch = block.terminator
        if isinstance(branch, ir.Branch):
            condition = _constant(func_ir, branch.cond)
            if condition is not None:
                block.body[-1] = ir.Jump(branch.truebr if condition else branch.falsebr,
                                         branch.loc)
                pruned += 1
    for label in compute_cfg_from_blocks(func_ir.blocks).dead_nodes():
        del func_ir.blocks[label]
    func_ir._definitions = build_definitions(func_ir.blocks)
    return pruned


@register_pass(mutates_CFG=True, analysis_only=False)
class FoldConfiguration(FunctionPass):
    """The configuration's entries as constants, and the branches they decide removed."""

    _name = "fold_configuration"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        constants = state.folded_constants
        changed = False
        while _fold(state.func_ir, constants) + _prune(state.func_ir):
            changed = True
        return changed


def _pipeline(constants):
    class FoldingCompiler(CompilerBase):
        def define_pipelines(self):
            self.state.folded_constants = constants
            pipeline = DefaultPassBuilder.define_nopython_pipeline(self.state)
            pipeline.add_pass_after(FoldConfiguration, InlineInlinables)
            pipeline.finalize()
            return [pipeline]

    return FoldingCompiler


def variant_name(constants):
    """The constants as a file-name suffix, e.g. ``c0=6.c3=2.h8=0.0``."""
    return ".".join(f"{name[0]}{index}={value!r}" for (name, index), value
                    in sorted(constants.items()))


def specialised(kernel, constants):
    """``kernel`` compiled with ``constants`` folded in, cached on disk as a variant.

    Parameters
    ----------
    kernel : numba dispatcher
        One of the package's kernels, with arguments named ``codes`` and/or
        ``hyper``.
    constants : dict
        ``{("codes" | "hyper", index): value}``: the entries every call of the
        returned kernel will have.

    Returns
    -------
    dispatcher
        Called with the same arguments as ``kernel``; one per (kernel,
        constants) in a process.
    """
    module = sys.modules.get(kernel.py_func.__module__)
    if module is None or kernel.py_func.__globals__ is not vars(module):
        # A copy with other globals (a custom loss's loops) shares the
        # original's code and cache key, and would load its machine code.
        raise ValueError(f"{kernel.py_func.__qualname__} is not its module's own kernel; "
                         "only those are specialised and cached.")
    key = (kernel.py_func, tuple(sorted(constants.items())))
    with _lock:
        if key not in _specialised:
            options = dict(kernel.targetoptions)
            options.pop("pipeline_class", None)
            options.pop("nopython", None)  # njit sets it, and warns when given it
            dispatcher = njit(pipeline_class=_pipeline(dict(constants)), **options)(
                kernel.py_func)
            _specialised[key] = attach(dispatcher, variant=variant_name(constants))
        return _specialised[key]


def specialised_kernels():
    """The specialised dispatchers made in this process so far."""
    with _lock:
        return list(_specialised.values())
