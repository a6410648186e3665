"""Checks of a user's numba strategy kernel (docs/extending.md, "Numba strategy kernels"): before the engine runs
it, and on what it returns. Each failure is one `SimError` line naming the strategy (``FILE:Class`` as the user
wrote it), the kernel, the documented signature `SIGNATURE` and what was wrong — never numba's dump.

Before a run (`check_kernel`): the kernel is a numba dispatcher (an ``@njit`` function), takes four positional
arguments (or seven: a kernel with the full context, `CONTEXT_SIGNATURE`), compiles for the int64 arrays the engine
passes (a typing or lowering failure names numba's first
meaningful line and the kernel's line), and returns an integer (a float return would be truncated silently by the
C entry). A kernel with no `KernelStrategy` class around it (``-s file.py:func``) has no parameters, so one that
reads ``st[S_PARAMS + i]`` is refused (`check_bare_kernel`): it would read zeros.

After each call: `hft.sim.engine_nb.strategy_kernels.check_intents` (beside the C entry that marks an impossible
count), with the label `strategy_label` gives.
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from numba import types
from numba.core.errors import NumbaError

from hft.core.errors import SimError

SIGNATURE = "kernel(st, ltop, sord, intents) -> int"
CONTEXT_SIGNATURE = "kernel(st, ltop, sord, intents, depth, trades, acct) -> int"
ARG_TYPES = (types.Array(types.int64, 1, "C"), types.Array(types.int64, 1, "C"),
             types.Array(types.int64, 2, "C"), types.Array(types.int64, 2, "C"))
# a kernel with the full context (`hft.sim.kernel_api`): seven arguments, the last three the context's arrays
CONTEXT_ARITY = 7
CONTEXT_ARG_TYPES = (*ARG_TYPES, types.Array(types.int64, 2, "C"), types.Array(types.int64, 2, "C"),
                     types.Array(types.int64, 1, "C"))
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PLACE = re.compile(r'^File "([^"]+)", line (\d+)')
_HINT = "see docs/extending.md, \"Numba strategy kernels\""


def is_dispatcher(obj: Any) -> bool:
    """A numba dispatcher (an ``@njit`` function)."""
    return callable(obj) and hasattr(obj, "py_func") and hasattr(obj, "compile")


def kernel_name(obj: Any) -> str:
    """The name the user gave a kernel (a dispatcher's or a plain function's ``__name__``; a bound method's
    function's)."""
    obj = getattr(obj, "__func__", obj)
    return str(getattr(getattr(obj, "py_func", obj), "__name__", type(obj).__name__))


@lru_cache(maxsize=64)
def strategy_label(cls: type, spec: str | None = None) -> str:
    """``strategy kernel SPEC`` — `spec` as the user wrote it, else the class's file (relative to the working
    directory when below it) and name; a bare kernel's class (`KernelStrategy` made by the loader) is its kernel's
    file and name. Without `spec` a class's label names its kernel too. Kept per class (the engines name the strategy at each kernel call's check)."""
    if spec is None:
        kernel = getattr(cls, "nb_kernel", None)
        bare = getattr(cls, "__module__", "") == "hft.sim.kernel_api" and is_dispatcher(kernel)
        try:
            target = kernel.py_func if bare else cls
            path, name = inspect.getsourcefile(target), (kernel_name(kernel) if bare else cls.__qualname__)
        except TypeError:
            path, name = None, cls.__qualname__
        spec = f"{shown_path(path)}:{name}" if path else name
        if not bare and kernel is not None:
            spec += f" (kernel {kernel_name(kernel) if not isinstance(kernel, str) else kernel})"
    return f"strategy kernel {spec.strip()}"


@lru_cache(maxsize=256)
def kernel_arity(kernel: Any) -> int:
    """How many positional arguments a kernel (a dispatcher, or a bound method's) takes: 4, or `CONTEXT_ARITY`
    for one with the full context; -1 with ``*args``. Kept per kernel (asked at each Python call of it)."""
    kernel = getattr(kernel, "__func__", kernel)
    params = inspect.signature(getattr(kernel, "py_func", kernel)).parameters.values()
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return -1
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def check_kernel(kernel: Any, who: str) -> Any:
    """`kernel` when it is an ``@njit`` function of the documented signature that compiles for the engine's arrays
    and returns an integer; else a one-line `SimError` starting with `who` (module docstring)."""
    name = kernel_name(kernel)
    kernel = getattr(kernel, "__func__", kernel)
    if not is_dispatcher(kernel):
        was = ("a plain Python function" if inspect.isfunction(kernel) else
               f"class {kernel.__qualname__}" if inspect.isclass(kernel) else f"a {type(kernel).__name__}")
        raise SimError(f"{who}: kernel {name}: expected a numba @njit function {SIGNATURE}, was {was}",
                       key="strategy", hint=f"decorate it with @numba.njit ({_HINT})")
    params = inspect.signature(kernel.py_func).parameters.values()
    arity = kernel_arity(kernel)
    if arity not in (4, CONTEXT_ARITY):
        raise SimError(f"{who}: kernel {name}: expected {CONTEXT_SIGNATURE} (7 arguments) or {SIGNATURE} (4 "
                       f"arguments), was {name}({', '.join(str(p) for p in params)})", key="strategy", hint=_HINT)
    sig, arg_types = (SIGNATURE, ARG_TYPES) if arity == 4 else (CONTEXT_SIGNATURE, CONTEXT_ARG_TYPES)
    try:
        kernel.compile(arg_types)
    except NumbaError as exc:
        raise SimError(f"{who}: kernel {name}: expected {sig} that numba compiles, was refused by numba: "
                       f"{numba_reason(exc)}", key="strategy", hint=_HINT) from None
    ret = kernel.overloads[arg_types].signature.return_type
    if not isinstance(ret, types.Integer):
        raise SimError(f"{who}: kernel {name}: expected {sig} returning an integer (the number of intents "
                       f"written), was one returning {ret}", key="strategy", hint=_HINT)
    return kernel


def check_bare_kernel(kernel: Any, who: str) -> None:
    """A kernel run without a `KernelStrategy` class has no parameters (every ``st[S_PARAMS + i]`` reads 0): one
    that reads them is refused, naming the class form that gives them values."""
    code = getattr(getattr(kernel, "py_func", None), "__code__", None)
    if code is not None and "S_PARAMS" in code.co_names:
        raise SimError(f"{who}: kernel {kernel_name(kernel)} reads st[S_PARAMS + i], but a bare kernel has no "
                       "parameters (every one would read 0)", key="strategy",
                       hint="declare them: a KernelStrategy subclass with nb_kernel and DEFAULTS, run as "
                            f"-s FILE.py:ClassName ({_HINT})")


def numba_reason(exc: BaseException) -> str:
    """numba's first meaningful line of `exc` (not its pipeline banner), with the kernel's ``file:line`` when
    numba names one."""
    lines = [_ANSI.sub("", s).strip() for s in str(exc).splitlines()]
    reason = next((s for s in lines if s and not s.startswith(("Failed in ", "During:", "File ", "- Resolution"))),
                  type(exc).__name__)
    place = next((m for m in map(_PLACE.match, lines) if m), None)
    return f"{reason} ({shown_path(place[1])}:{place[2]})" if place else reason


def shown_path(filename: str | None) -> str:
    """A file as a person names it: relative to the working directory when it is below it."""
    if not filename:
        return "?"
    path = Path(filename).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
