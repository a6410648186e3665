"""The package's ``njit``: numba's, with calls between kernels compiled for the arguments' plain types.

numba compiles a kernel once per tuple of argument types. Called from Python, an argument's type is that of its
value (``int`` → ``int64``). Called from another kernel, a constant argument keeps its *literal* type
(``Literal[int](5)``), so every distinct constant a caller passes is a specialisation of its own: the venues'
report helper ``emit`` was compiled 30 times, once per combination of the constants its call sites pass. LLVM
inlines such small helpers and folds the constants anyway, so the copies buy nothing but compile time.

`njit` here is ``numba.njit`` (the same arguments and forms: ``@njit``, ``@njit(...)``, ``njit(...)(f)``,
``njit(signature)``) whose dispatcher resolves a call from another kernel with every literal argument type
replaced by its plain type (``numba.core.types.unliteral``): one specialisation per tuple of plain types, as a
call from Python gives. No kernel of the package dispatches on a literal value (none uses ``numba.literally``);
a kernel that needs a compile-time constant reads a module global.

`helper` compiles a small hot function as a subroutine of each kernel that calls it: no dispatcher, wrappers,
machine code or cache entry of its own, inlined by LLVM at each call site.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from numba import njit as _numba_njit
from numba.core import compiler, types, utils
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher
from numba.core.registry import cpu_target
from numba.core.typing.templates import AbstractTemplate, Signature, fold_arguments

__all__ = ["Helper", "helper", "inline_copy", "njit"]


def _plain_dispatch(dispatcher: Dispatcher) -> Dispatcher:
    """`dispatcher`, resolving calls from other kernels with plain (non-literal) argument types."""
    resolve = dispatcher.get_call_template  # numba's: folds keywords and defaults, compiles for the types given

    def get_call_template(args: tuple, kws: dict) -> Any:
        return resolve(tuple(types.unliteral(a) for a in args), {k: types.unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher


def njit(*args: Any, **options: Any) -> Any:
    """``numba.njit`` with plain-type dispatch between kernels (module docstring). Forms: ``njit(f)``,
    ``njit(**options)`` and ``njit(signature, **options)`` return what numba's do."""
    if len(args) == 1 and callable(args[0]) and not isinstance(args[0], (str, list, tuple)):
        return _plain_dispatch(_numba_njit(**options)(args[0]))
    decorate = _numba_njit(*args, **options)

    def wrap(fn: Callable[..., Any]) -> Dispatcher:
        return _plain_dispatch(decorate(fn))

    return wrap


def _subroutine_flags(options: dict[str, Any], outline: bool) -> compiler.Flags:
    flags = compiler.Flags()
    cpu_target.options.parse_as_flags(flags, {"nopython": True, "_nrt": False, "forceinline": not outline, **options})
    flags.no_compile = True  # no machine code of its own: the caller's library links the optimised IR
    flags.no_cpython_wrapper = True
    flags.no_cfunc_wrapper = True
    return flags


class Helper:
    """A function compiled as a subroutine of the kernels that call it (`helper`). Called from Python, it runs a
    twin kernel (``njit(cache=True, _nrt=False)`` of the same source, compiled at the first such call), as the
    ``njit`` helper it replaces did, or, for a `pure` helper, its Python function; ``py_func`` is the Python
    function."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any], twin: Dispatcher | None = None,
                 pure: bool = False, outline: bool = False) -> None:
        functools.update_wrapper(self, fn)
        self.py_func = fn
        self.pure = pure
        self.outline = outline
        self._options = options
        self._flags = _subroutine_flags(options, outline)
        self._pysig = utils.pysignature(fn)
        self._compiled: dict[tuple, Any] = {}  # plain argument types -> compile result
        self._twin = twin
        this = self

        class _Template(AbstractTemplate):
            key = self

            def generic(self, args: tuple, kws: dict) -> Signature:
                return this._signature(args, kws)

            def get_impl_key(self, sig: Signature) -> Any:
                return (this, tuple(sig.args))

        self._numba_type_ = types.Function(_Template)  # what numba's `typeof` answers for this object

    def _signature(self, args: tuple, kws: dict) -> Signature:
        """The call's signature for its plain argument types (keywords and defaults folded as numba's dispatchers
        fold them), compiling the subroutine for them the first time."""
        folded = tuple(fold_arguments(self._pysig, tuple(types.unliteral(a) for a in args),
                                      {k: types.unliteral(v) for k, v in kws.items()},
                                      lambda i, p, v: v, lambda i, p, d: types.Omitted(d),
                                      lambda i, p, vs: types.StarArgTuple(vs)))
        cres = self._compiled.get(folded)
        if cres is None:
            ctx = cpu_target.target_context
            with global_compiler_lock:
                library = ctx.codegen().create_library(self.py_func.__qualname__)
                cres = compiler.compile_extra(cpu_target.typing_context, ctx, self.py_func, folded, None,
                                              self._flags.copy(), {}, library=library)
                if self.outline:  # called, never inlined: one copy per caller's module, optimised once there
                    library.get_function(cres.fndesc.mangled_name).add_function_attribute("noinline")
                # lowered as a call of a compiled function, as for a dispatcher; the caller's library links this one
                ctx.insert_user_function((self, folded), cres.fndesc, [cres.library])
            self._compiled[folded] = cres
        return Signature(cres.signature.return_type, folded, None, self._pysig)

    def __call__(self, *args: Any, **kws: Any) -> Any:
        if self.pure:
            return self.py_func(*args, **kws)
        if self._twin is None:
            self._twin = njit(cache=True, _nrt=False, **self._options)(self.py_func)
        return self._twin(*args, **kws)


def helper(fn: Callable[..., Any] | None = None, *, pure: bool = False, outline: bool = False,
           **options: Any) -> Any:
    """Compile `fn`, a small function kernels call, as a subroutine of each kernel that calls it, inlined there by
    LLVM (``alwaysinline``), without reference counting; ``@helper`` or
    ``helper(pure=..., outline=..., **numba options)(fn)``. Returns a `Helper`.

    An `outline` helper is the opposite: a rare path (a venue's OCO and bracket consequences) that LLVM must not
    inline (``noinline``). Each kernel's module holds one copy, called from every site and optimised once, so a
    large rare path costs a caller's compile its own size, not its size at every call site. A call passes each
    array as its several machine words: keep it off the hot path.

    Called from Python, a helper runs a twin kernel compiled for the call (one more specialisation to compile and
    cache), unless it is `pure`: then it runs its Python function, which must answer as the compiled code does on
    every input (comparisons and lookups; no int64 arithmetic that could wrap). Python code (the venues' drivers,
    the Python engine) calls a pure helper, and a pure helper another, at no compile cost.

    A ``njit(forceinline=True)`` helper is a kernel of its own: a dispatcher whose compile optimises its code, emits
    it as machine code with a CPython and a C wrapper, and writes a cache entry, before LLVM inlines its IR again
    into each caller. A `helper` is typed and lowered once per tuple of plain argument types per process (as
    `njit`'s calls between kernels: a literal argument makes no specialisation of its own) and its IR is linked into
    the library of each kernel compiled with it: it has no cache entry of its own, its callers' entries hold it, and
    it is recompiled with them (a caller's cache key covers the modules it imports, the helper's among them)."""
    if fn is None:
        return lambda f: Helper(f, options, pure=pure, outline=outline)
    return Helper(fn, options, pure=pure, outline=outline)


def inline_copy(kernel: Any) -> Any:
    """A `helper` made from the source of `kernel` (a `njit` dispatcher of this package that does not count
    references): the same function inlined at each call site, for a hot caller where a call would pass every array as
    ~7 machine words; the kernel itself stays callable as before, and is what a call from Python runs (a twin of
    its own would share the kernel's cache file: numba keys a file's entries by signature, not by options)."""
    return Helper(kernel.py_func, {}, twin=kernel)
