"""Find a strategy class from a command-line spec and build it with strict parameters.

A spec (``hft replay -s SPEC``) is one of:

* ``NAME`` — a strategy registered in the entry-point group ``hft.strategies`` (the built-ins ``mm``,
  ``imbalance_taker``, ``twap``, ``vwap``, ``pov`` … register there too, in ``pyproject.toml``; an installed
  package adds its own with ``[project.entry-points."hft.strategies"] my_mm = "my_pkg.strategies:MyMM"``);
* ``path/to/file.py:Class`` — a class in a Python file (loaded by path, relative to the current directory);
* ``package.module:Class`` — a class in an importable module.

Each route may also name a numba strategy kernel (an ``@njit`` function ``(st, ltop, sord, intents) -> int``,
docs/extending.md "Numba strategy kernels"): it runs as a `hft.sim.kernel_api.KernelStrategy` without
parameters, keyed by the function's name. A kernel with parameters is a ``KernelStrategy`` subclass (a bare one
that reads them is refused). Every kernel is checked when resolved (`hft.sim.kernel_check`).

Parameters: a class declares them either as a ``DEFAULTS`` mapping (name → default; the constructor takes them
as keyword arguments) or as keyword parameters with defaults of its ``__init__``. The config's
``strategies.<key>`` mapping is checked against them (unknown name, wrong type → `ConfigError`); ``<key>`` is
the registry name for a registered strategy, else the class's own ``name`` attribute when it sets one, else the
class name. A ``strategies`` key that is neither registered nor the run strategy's is a `ConfigError` too. A name, a file or a class that cannot be found, or a class that is not a `Strategy`, is a
`SimError` that names the spec.
"""

from __future__ import annotations

import inspect
import math
import sysconfig
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import hft
from hft.core import plugins
from hft.core.errors import ConfigError, HftError, SimError
from hft.core.instrument import Instrument
from hft.core.units import INT64_MAX, lot_in_units, parse_quantity, quantity_in_lots
from hft.sim.engine_nb.strategy_kernels import STRATEGY_KERNELS, resolve_kernel
from hft.sim.kernel_api import KernelStrategy
from hft.sim.kernel_check import (
    SIGNATURE,
    check_bare_kernel,
    check_kernel,
    is_dispatcher,
    shown_path,
    strategy_label,
)
from hft.sim.strategies import MINIMUM as BUILTIN_MINIMUM
from hft.sim.strategies import param_error
from hft.sim.strategy import Strategy

ENTRY_POINT_GROUP = "hft.strategies"


@dataclass(frozen=True)
class StrategySpec:
    """A resolved strategy: the class, its config key and where it came from."""

    key: str  # the name under `strategies:` in the config, in the run summary and the gateway's strategy id
    cls: type[Strategy]
    origin: str  # "registry", "file" or "module"


def registered() -> dict[str, Any]:
    """Entry points of the ``hft.strategies`` group by name (not loaded)."""
    return plugins.entry_point_map(ENTRY_POINT_GROUP)


def resolve(spec: str) -> StrategySpec:
    """The strategy class a spec names (module docstring); `SimError` naming the spec when it cannot."""
    got = plugins.resolve(spec, group=ENTRY_POINT_GROUP, label="strategy", what="class", error=SimError,
                          key="strategy", candidates=offered,
                          hint="write your own as path/to/file.py:ClassName (see docs/extending.md)")
    cls, origin = got.obj, got.origin
    if is_dispatcher(cls):
        who = strategy_label(_kernel_class(cls, got.name), spec if origin != "registry" else got.name)
        check_bare_kernel(check_kernel(cls, who), who)
        return StrategySpec(got.name, _kernel_class(cls, got.name), origin)
    cls = _check_class(cls, got.name if origin == "registry" else spec.strip())
    if issubclass(cls, KernelStrategy):
        _check_nb_kernel(cls, got.name if origin == "registry" else spec)
    own = cls.__dict__.get("name")
    key = got.name if origin == "registry" or not (isinstance(own, str) and own) else own
    return StrategySpec(key, cls, origin)


def _check_nb_kernel(cls: type[KernelStrategy], spec: str) -> None:
    """The ``nb_kernel`` of a `KernelStrategy` class checked before the run (`hft.sim.kernel_check`): a one-line
    `SimError` naming `spec` and the kernel rather than numba's dump at the first call. A built-in kernel's name
    is the engine's own."""
    kernel = getattr(cls, "nb_kernel", None)
    if isinstance(kernel, str) and kernel in STRATEGY_KERNELS:
        return
    who = strategy_label(cls, spec)
    if kernel is None:
        raise SimError(f"{who}: expected nb_kernel, a numba @njit function {SIGNATURE}, was none",
                       key="strategy", hint="set nb_kernel on the class (docs/extending.md, \"Numba strategy kernels\")")
    check_kernel(resolve_kernel(kernel) if isinstance(kernel, str) else kernel, who)


def offered(module: Any) -> list[str]:
    """The strategies and strategy kernels a module offers (named in an error when the one asked for is missing)."""
    return sorted(n for n, v in vars(module).items() if (inspect.isclass(v) and issubclass(v, Strategy)
                                                         and v is not Strategy) or is_dispatcher(v))


def _kernel_class(kernel: Any, key: str) -> type[Strategy]:
    """A bare strategy kernel as a parameterless `KernelStrategy` named `key`."""

    return type(key, (KernelStrategy,), {"name": key, "nb_kernel": staticmethod(kernel), "DEFAULTS": {},
                                         "__module__": KernelStrategy.__module__})


def make(spec: str, config_params: dict[str, dict[str, Any]] | None = None) -> tuple[StrategySpec, Strategy]:
    """Resolve `spec` and instantiate it with its parameters from ``config_params[key]`` (strictly checked).

    Every other key of `config_params` must be a registered strategy: a key naming no strategy (``MM`` for
    ``mm``, an own strategy's key misspelt) would otherwise be ignored while the run used the defaults."""
    rs = resolve(spec)
    params = config_params or {}
    names = registered()
    stray = sorted(k for k in params if k != rs.key and k not in names)
    if stray:
        raise ConfigError(f"strategies.{stray[0]}: expected a registered strategy ({sorted(names)}) or the "
                          f"key of the strategy run ({rs.key!r}, from -s {spec.strip()}), was {stray[0]!r}",
                          key=f"strategies.{stray[0]}",
                          hint="a config names the parameters of the strategies it runs; keys are case-sensitive")
    return rs, instantiate(rs, params.get(rs.key))


def declared_params(cls: type[Strategy]) -> dict[str, Any]:
    """The parameters a class declares, with their defaults (``DEFAULTS``, else keyword defaults of ``__init__``)."""
    defaults = getattr(cls, "DEFAULTS", None)
    if isinstance(defaults, dict):
        return dict(defaults)
    if cls.__init__ is object.__init__:
        return {}
    out: dict[str, Any] = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            raise SimError(f"strategy {cls.__name__}: expected a default for constructor parameter {p.name!r} "
                           "(or a DEFAULTS mapping)", key="strategy")
        out[p.name] = p.default
    return out


def instantiate(rs: StrategySpec, params: dict[str, Any] | None,
                instruments: Sequence[Instrument] | None = None) -> Strategy:
    """`rs.cls(**merged)` where merged = declared defaults updated by `params`, each of its default's type.

    A quantity parameter (the class's ``QUANTITIES``) may be given in instrument units (`in_lots`): turned into
    lots through the lot of `instruments`; without them (the config checked before any data is read) its form is
    checked and the class is built with its default in its place, to be built again once the data is open
    (`with_instruments`)."""
    declared = declared_params(rs.cls)
    params = in_lots(rs, dict(params or {}), instruments, declared)
    unknown = sorted(set(params) - set(declared))
    if unknown and not declared:
        raise ConfigError(f"strategy {rs.key}: unknown parameter '{unknown[0]}': the strategy takes no parameters",
                          key=f"strategies.{rs.key}.{unknown[0]}",
                          hint=f"remove strategies.{rs.key} from the config and --set, or declare the parameter "
                               "(a DEFAULTS mapping or a keyword default of __init__: docs/extending.md)")
    if unknown:
        raise ConfigError(f"strategy {rs.key}: unknown parameter '{unknown[0]}': expected one of "
                          f"{sorted(declared)}", key=f"strategies.{rs.key}.{unknown[0]}")
    merged = {**declared, **params}
    bounds = getattr(rs.cls, "MINIMUM", None)
    if bounds is None and rs.cls.__module__.startswith("hft.sim.strategies."):
        bounds = BUILTIN_MINIMUM
    for k, v in params.items():
        _check_type(rs.key, k, declared[k], v)
        low = (bounds or {}).get(k)
        if low is not None and v < low:
            lots = ""
            if k in getattr(rs.cls, "QUANTITIES", ()):
                lots = f" (lots; {_lot_said(instruments)})" if instruments else " (lots)"
            raise param_error(rs.key, k, f"a value >= {low}", v, lots)
    try:
        return rs.cls(**merged)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"strategy {rs.key}: the class refused its parameters: {exc}",
                          key=f"strategies.{rs.key}") from None
    except Exception as exc:
        where = _user_place(_frames(exc.__traceback__), _class_files(rs.cls))
        if where is None:  # raised in hft (a built-in's constructor): an hft bug
            raise
        raise SimError(f"strategy {rs.key}: __init__ raised {_said(exc)} ({where})", key="strategy") from exc


def in_lots(rs: StrategySpec, params: dict[str, Any], instruments: Sequence[Instrument] | None,
            declared: dict[str, Any] | None = None) -> dict[str, Any]:
    """`params` with each quantity parameter (``QUANTITIES``) given as a string in lots: ``"3 lots"`` → 3, an
    instrument quantity ``"0.001"`` → ``0.001 / lot`` of `instruments` (exactly: a quantity that is not a whole
    number of lots is a `ConfigError` naming the key, the value and the lot). Without `instruments` an instrument
    quantity takes its default's place (`instantiate`). Several instruments must share one lot."""
    quantities = set(getattr(rs.cls, "QUANTITIES", ()))
    out = dict(params)
    for k, v in params.items():
        if k not in quantities or not isinstance(v, str | float):  # a float: refused, saying the string form
            continue
        key, head = f"strategies.{rs.key}.{k}", f"strategy {rs.key}: parameter '{k}'"
        try:
            qty = parse_quantity(v, key=key)
        except ConfigError:
            raise ConfigError(f"{head}: expected an integer (lots), a string like '3 lots' or a quantity in "
                              f"instrument units as a decimal string like '0.001' or '0.001 BTC'"
                              f"{f' ({_lot_said(instruments)})' if instruments else ''}, was {v!r}", key=key) from None
        if isinstance(qty, int):
            out[k] = qty
        elif not instruments:
            out[k] = (declared if declared is not None else declared_params(rs.cls))[k]
        else:
            out[k] = _lots(head, key, v, instruments)
    return out


def _lots(head: str, key: str, value: str, instruments: Sequence[Instrument]) -> int:
    """An instrument quantity in lots of `instruments` (one lot for all), or a one-line `ConfigError`."""
    lots = sorted({Decimal(i.lot_size) for i in instruments})
    if len(lots) > 1:
        each = ", ".join(f"{i.symbol} {i.lot_size}" for i in instruments)
        raise ConfigError(f"{head}: expected an integer (lots) when the instruments' lots differ ({each}), was "
                          f"{value!r} in instrument units", key=key)
    try:  # each instrument's unit word, when the value names one: "0.5 BTC" is no size on ETHUSDT
        each = [quantity_in_lots(value, i.lot_size, key=key, symbol=i.symbol, unit=i.unit) for i in instruments]
    except ConfigError as exc:
        raise ConfigError(f"{head}: {exc.message.removeprefix(f'{key}: ')}", key=key) from None
    return each[0]


def _lot_said(instruments: Sequence[Instrument]) -> str:
    """``one lot is 0.00001 BTC (BTCUSDT)``: the instruments' lots in instrument units, for an error message."""
    return f"one lot is {', '.join(f'{lot_in_units(i.lot_size, i.unit)} ({i.symbol})' for i in instruments)}"


def with_instruments(strategy: Strategy, spec: StrategySpec, params: dict[str, Any] | None,
                     instruments: Sequence[Instrument]) -> Strategy:
    """`strategy` itself when `params` give no quantity in instrument units, else the strategy built again with
    them in lots of `instruments` (the data's, once opened)."""
    quantities = set(getattr(spec.cls, "QUANTITIES", ()))
    if not any(k in quantities and isinstance(v, str) and _in_units(v) for k, v in (params or {}).items()):
        return strategy
    return instantiate(spec, params, instruments)


def _in_units(value: str) -> bool:
    """Whether a quantity string is in instrument units (not lots); a bad one was refused when the config was
    checked, and is again by `instantiate`."""
    try:
        return not isinstance(parse_quantity(value), int)
    except ConfigError:
        return True


def _check_type(key: str, name: str, default: Any, value: Any) -> None:
    """A parameter takes the type of its default (int accepts int; float accepts int or float)."""
    if default is None:
        return
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):  # an int64: the kernels' parameter slots
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok, want = ok and -INT64_MAX - 1 <= value <= INT64_MAX, "an integer within int64" if ok else "an integer"
    elif isinstance(default, float):
        ok, want = (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
                    "a finite number" if isinstance(value, float) else "a number")
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    else:
        ok, want = isinstance(value, type(default)), f"a {type(default).__name__}"
    if not ok:
        raise param_error(key, name, want, value)


def _check_class(obj: Any, spec: str) -> type[Strategy]:
    """`obj` when it is a `Strategy` subclass; else a `SimError` naming it as the user wrote it (`spec`: the file
    or module and the class, or the registered name) and what it is, never the private module a file is loaded
    under."""
    if not (inspect.isclass(obj) and issubclass(obj, Strategy)):
        if inspect.isclass(obj):
            was = f"class {obj.__qualname__} (bases: {', '.join(b.__qualname__ for b in obj.__bases__)})"
        else:
            was = f"a {type(obj).__name__}, not a class"
        raise SimError(f"strategy {spec!r}: expected a subclass of hft.sim.strategy.Strategy, was {was}",
                       key="strategy", hint="derive it from hft.sim.strategy.Strategy (docs/extending.md)")
    return obj


_HFT_DIR = Path(hft.__file__).resolve().parent
_LIBRARY_DIRS = tuple({Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "platstdlib", "purelib", "platlib")})


@contextmanager
def user_errors(spec: str, strategy: Strategy) -> Iterator[None]:
    """Run a replay of `strategy` (named by `spec` on the command line); an exception its own code raised in a
    callback becomes one `SimError` line: ``strategy SPEC: on_book raised RuntimeError: msg (my.py:12)`` (the
    original chained: ``HFT_DEBUG=1`` shows its traceback). An `HftError` raised through a callback (a bad
    ``ctx.submit``) keeps its family and gains the same prefix and place. Anything else passes unchanged: an
    exception raised inside `hft` itself, or in a built-in strategy, is an `hft` bug."""
    try:
        yield
    except Exception as exc:
        blame = _blame(exc.__traceback__, strategy, raised_by_hft=isinstance(exc, HftError))
        if blame is None:
            raise
        callback, where = blame
        if isinstance(exc, HftError):
            exc.message = f"strategy {spec}: {callback}: {exc.message} ({where})"
            exc.args = (exc.message,)
            raise
        raise SimError(f"strategy {spec}: {callback} raised {_said(exc)} ({where})",
                       key="strategy", file=where.rpartition(":")[0]) from exc


def _said(exc: BaseException) -> str:
    """``Type: first line of the message`` (``Type`` alone without one)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}{': ' + text[0] if text else ''}"


def _frames(tb: TracebackType | None) -> list[tuple[Any, int]]:
    """(frame, line) of a traceback, outermost first."""
    out = []
    while tb is not None:
        out.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return out


def _user_place(frames: list[tuple[Any, int]], own: set[Path]) -> str | None:
    """``file:line`` of the innermost of `frames` in the user's own code (`_owner`), None when none is."""
    mine = [(f, n) for f, n in frames if _owner(f.f_code.co_filename, own) == "user"]
    if not mine:
        return None
    frame, line = mine[-1]
    return f"{shown_path(frame.f_code.co_filename)}:{line}"


def _blame(tb: TracebackType | None, strategy: Strategy, *, raised_by_hft: bool) -> tuple[str, str] | None:
    """(callback, ``file:line``) of an exception raised in the user's code of `strategy`, else None. The callback
    is the outermost frame of a method of the strategy; the place, the innermost frame below it in the user's own
    files (those of the strategy's classes, and any not in `hft`, the standard library or an installed package).
    Unless `raised_by_hft`, the innermost frame of all must not be in `hft` (an exception `hft` raised is its own)."""
    frames = _frames(tb)
    start = next((i for i, (f, _) in enumerate(frames) if isinstance(f.f_locals.get("self"), type(strategy))), None)
    own = _class_files(type(strategy))
    if start is None or (not raised_by_hft and _owner(frames[-1][0].f_code.co_filename, own) == "hft"):
        return None
    where = _user_place(frames[start:], own)
    return None if where is None else (frames[start][0].f_code.co_name, where)


def _class_files(cls: type) -> set[Path]:
    """The source files of `cls` and its bases (a built-in class has none)."""
    out = set()
    for c in cls.__mro__:
        try:
            f = inspect.getsourcefile(c)
        except TypeError:
            continue
        if f:
            out.add(Path(f).resolve())
    return out


def _owner(filename: str, own: set[Path]) -> str:
    """``hft``, ``library`` (the standard library, an installed package, a frozen module) or ``user`` (a file in
    `own`, the strategy's classes' files, or any other)."""
    if filename.startswith("<"):
        return "library"
    path = Path(filename).resolve()
    if path.is_relative_to(_HFT_DIR):
        return "hft"
    if path in own:
        return "user"
    return "library" if any(path.is_relative_to(d) for d in _LIBRARY_DIRS) else "user"
