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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit as _numba_njit
from numba.core import types
from numba.core.dispatcher import Dispatcher

__all__ = ["inline_copy", "njit"]


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


def inline_copy(kernel: Any) -> Any:
    """A copy of the compiled `kernel` (a `njit` dispatcher of this package, compiled without reference counting)
    that LLVM inlines at each call site (numba's ``forceinline``), for a hot caller where a call would pass every
    array as ~7 machine words. Not cached: numba keys a cache file's entries by signature, not by options, so the
    copy would share its kernel's file; it compiles only inside its callers' compiles, whose cache entries hold it."""
    return njit(_nrt=False, forceinline=True)(kernel.py_func)
