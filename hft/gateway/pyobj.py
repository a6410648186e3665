"""CPython objects inside numba: a pointer type and the dozen C-API calls the compiled gateway driver needs.

`PyRef` is a raw ``PyObject *`` as a numba value. A compiled function taking `PyRef` arguments receives the
caller's objects as borrowed pointers (no conversion, no reference taken); returning a `PyRef` hands a *new*
reference back to Python. Nothing is reference counted for you: every intrinsic states whether it returns a
borrowed or a new reference, and the caller balances them (`incref` / `decref`). Functions using these must be
compiled with the GIL held (no ``nogil``), which is numba's default.

Only functions of CPython's public C API are called (resolved from the running interpreter when the JIT
links), so nothing needs a C compiler at install time. Three reads that the C API offers only as macros or
as checked calls are done directly from the object layout: ``ob_type``, a tuple's ``ob_size`` and its item
array (the hottest operations of the driver; offsets taken from ``__basicsize__`` and verified on live
objects by `layout_ok`). See `hft.gateway.driver` for the one user.
"""

from __future__ import annotations

import ctypes
import functools

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import NativeValue, box, intrinsic, models, register_model, unbox

_P = ir.IntType(8).as_pointer()
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)
# Object layout (byte offsets), from the running interpreter; `layout_ok()` checks them on live objects.
_OB_TYPE = object.__basicsize__ - 8  # PyObject.ob_type: the last field of the object header
_OB_SIZE = object.__basicsize__  # PyVarObject.ob_size: right after the object header
_TUPLE_ITEMS = tuple.__basicsize__  # PyTupleObject.ob_item[0]


@functools.cache
def layout_ok() -> bool:
    """True when the offsets above hold on live objects of this interpreter (read through ctypes). Users of
    this module fall back to plain Python when they do not (an unusual build)."""

    def ptr(addr: int) -> int | None:
        return ctypes.c_void_p.from_address(addr).value

    t = (object(), "x", 12345678901)
    return (ptr(id(t) + _OB_TYPE) == id(tuple) and ctypes.c_ssize_t.from_address(id(t) + _OB_SIZE).value == 3
            and all(ptr(id(t) + _TUPLE_ITEMS + 8 * i) == id(x) for i, x in enumerate(t)))


class PyRef(types.Opaque):
    """Numba type of a raw ``PyObject *`` (may be NULL where an intrinsic says so)."""

    def __init__(self) -> None:
        super().__init__(name="PyRef")


pyref = PyRef()
register_model(PyRef)(models.OpaqueModel)


@unbox(PyRef)
def _unbox_pyref(typ, obj, c):  # the argument itself, borrowed for the call
    return NativeValue(obj)


@box(PyRef)
def _box_pyref(typ, val, c):  # the callee returns a new reference (NULL: the exception it set propagates)
    return val


def _call(builder, ret, argtys, name, args):
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ret, argtys), name)
    return builder.call(fn, args)


@intrinsic
def is_null(typingctx, o):
    """True when `o` is NULL."""
    def cg(context, builder, sig, args):
        return builder.icmp_unsigned("==", args[0], _P(None))
    return types.boolean(pyref), cg


@intrinsic
def same(typingctx, a, b):
    """``a is b``."""
    def cg(context, builder, sig, args):
        return builder.icmp_unsigned("==", args[0], args[1])
    return types.boolean(pyref, pyref), cg


def _load_ptr(builder, base, offset):
    """The pointer stored `offset` bytes into the object at `base`."""
    return builder.load(builder.bitcast(builder.gep(base, [offset]), _P.as_pointer()))


@intrinsic
def type_of(typingctx, o):
    """``type(o)`` (borrowed; a load of ``ob_type``). `o` must be a live object (not NULL)."""
    def cg(context, builder, sig, args):
        return _load_ptr(builder, args[0], _I64(_OB_TYPE))
    return pyref(pyref), cg


@intrinsic
def incref(typingctx, o):
    """``Py_IncRef(o)`` (NULL: nothing, as ``Py_XINCREF``)."""
    def cg(context, builder, sig, args):
        _call(builder, ir.VoidType(), [_P], "Py_IncRef", [args[0]])
        return context.get_dummy_value()
    return types.void(pyref), cg


@intrinsic
def decref(typingctx, o):
    """``Py_DecRef(o)`` (NULL: nothing, as ``Py_XDECREF``); the caller gives up a reference it owns."""
    def cg(context, builder, sig, args):
        _call(builder, ir.VoidType(), [_P], "Py_DecRef", [args[0]])
        return context.get_dummy_value()
    return types.void(pyref), cg


@intrinsic
def none(typingctx):
    """``None`` (borrowed)."""
    def cg(context, builder, sig, args):
        return context.get_python_api(builder).borrow_none()
    return pyref(), cg


@intrinsic
def null(typingctx):
    """NULL (no object)."""
    def cg(context, builder, sig, args):
        return _P(None)
    return pyref(), cg


@intrinsic
def err_clear(typingctx):
    """Discard the pending exception, if any."""
    def cg(context, builder, sig, args):
        _call(builder, ir.VoidType(), [], "PyErr_Clear", [])
        return context.get_dummy_value()
    return types.void(), cg


@intrinsic
def tuple_size(typingctx, t):
    """``len(t)`` for a tuple or subclass (a load of ``ob_size``). `t` must be one: checked by its type first."""
    def cg(context, builder, sig, args):
        return builder.load(builder.bitcast(builder.gep(args[0], [_I64(_OB_SIZE)]), _I64.as_pointer()))
    return types.int64(pyref), cg


def _item_addr(builder, t, i):
    items = builder.bitcast(builder.gep(t, [_I64(_TUPLE_ITEMS)]), _P.as_pointer())
    return builder.gep(items, [i])


@intrinsic
def tuple_item(typingctx, t, i):
    """``t[i]`` of a tuple or subclass (borrowed). No bounds check: `i` must be within ``len(t)``."""
    def cg(context, builder, sig, args):
        return builder.load(_item_addr(builder, args[0], args[1]))
    return pyref(pyref, types.int64), cg


@intrinsic
def getattr_(typingctx, o, name):
    """``getattr(o, name)`` (new reference; NULL with the exception set). `o` and `name` (a str) not NULL."""
    def cg(context, builder, sig, args):
        return _call(builder, _P, [_P, _P], "PyObject_GetAttr", [args[0], args[1]])
    return pyref(pyref, pyref), cg


@intrinsic
def dict_get(typingctx, d, k):
    """``d[k]`` for a dict (borrowed); NULL when missing (no exception) or on error (exception set). `d` must be a
    dict (the driver's context holds the registries' dicts)."""
    def cg(context, builder, sig, args):
        return _call(builder, _P, [_P, _P], "PyDict_GetItemWithError", [args[0], args[1]])
    return pyref(pyref, pyref), cg


@intrinsic
def err_occurred(typingctx):
    """True when an exception is pending."""
    def cg(context, builder, sig, args):
        e = _call(builder, _P, [], "PyErr_Occurred", [])
        return builder.icmp_unsigned("!=", e, _P(None))
    return types.boolean(), cg


@intrinsic
def as_int64(typingctx, o):
    """``(value, ok)`` of an exact ``int``: ok is False when it does not fit int64 (nothing raised).
    Call only on objects whose type is ``int``."""
    def cg(context, builder, sig, args):
        flag = cgutils.alloca_once_value(builder, _I32(0))
        v = _call(builder, _I64, [_P, _I32.as_pointer()], "PyLong_AsLongLongAndOverflow", [args[0], flag])
        ok = builder.icmp_signed("==", builder.load(flag), _I32(0))
        return context.make_tuple(builder, sig.return_type, [v, ok])
    return types.Tuple((types.int64, types.boolean))(pyref), cg


@intrinsic
def from_int64(typingctx, v):
    """``int(v)`` (new reference; NULL on MemoryError)."""
    def cg(context, builder, sig, args):
        return _call(builder, _P, [_I64], "PyLong_FromLongLong", [args[0]])
    return pyref(types.int64), cg


@intrinsic
def from_bool(typingctx, v):
    """``True`` / ``False`` (new reference)."""
    def cg(context, builder, sig, args):
        return _call(builder, _P, [_I64], "PyBool_FromLong", [builder.zext(args[0], _I64)])
    return pyref(types.boolean), cg


@intrinsic
def call1(typingctx, f, a):
    """``f(a)`` (new reference; NULL with the exception set)."""
    def cg(context, builder, sig, args):
        return _call(builder, _P, [_P, _P], "PyObject_CallOneArg", [args[0], args[1]])
    return pyref(pyref, pyref), cg


@intrinsic
def tuple_new(typingctx, n):
    """A new exact ``tuple`` of `n` unset items (new reference; NULL on MemoryError); fill with `tuple_steal`."""
    def cg(context, builder, sig, args):
        return _call(builder, _P, [_I64], "PyTuple_New", [args[0]])
    return pyref(types.int64), cg


@intrinsic
def tuple_alloc(typingctx, tp, n):
    """An empty, GC-tracked instance of the tuple subclass `tp` with `n` unset items (new reference; NULL on
    MemoryError). Every item must be set with `tuple_steal` before the object is seen by anything else;
    the collector and the deallocator accept unset (NULL) items meanwhile, as for ``tuple.__new__``."""
    def cg(context, builder, sig, args):
        return _call(builder, _P, [_P, _I64], "PyType_GenericAlloc", [args[0], args[1]])
    return pyref(pyref, types.int64), cg


@intrinsic
def prefetch_items(typingctx, t, n):
    """Software prefetch of the objects referenced by the first `n` items of tuple `t` (``llvm.prefetch``:
    never stalls, never faults). Their cache misses then overlap instead of being paid one after the other
    when the items are read. Call only after checking that `t` is a tuple of at least `n` items."""
    def cg(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [_P, _I32, _I32, _I32]),
                                            "llvm.prefetch.p0")
        with cgutils.for_range(builder, args[1]) as loop:
            builder.call(fn, [builder.load(_item_addr(builder, args[0], loop.index)), _I32(0), _I32(3), _I32(1)])
        return context.get_dummy_value()
    return types.void(pyref, types.int64), cg


@intrinsic
def tuple_steal(typingctx, t, i, o):
    """Set the unset item `i` (within ``len(t)``) of a fresh tuple to `o`, stealing the reference to `o`."""
    def cg(context, builder, sig, args):
        builder.store(args[2], _item_addr(builder, args[0], args[1]))
        return context.get_dummy_value()
    return types.void(pyref, types.int64, pyref), cg
