"""Load user code named by a spec: the one set of routes every registry of `hft` offers.

A spec is one of:

* ``NAME`` — an object registered in an entry-point group (an installed package declares it in its
  ``pyproject.toml``; the built-ins register there too) — see `entry_point_map`;
* ``path/to/file.py:name`` — an attribute of a Python file, loaded by path (its folder first on ``sys.path``);
* ``package.module:name`` — an attribute of an importable module.

Strategies (`hft.sim.strategy_loader`), strategy kernels (`hft.sim.engine_nb.strategy_kernels`), validation
gates (`hft.alpha.gates.registry`) and risk checks (`hft.gateway.risk_checks`) resolve their specs with
`resolve`, each with its own label and error family, then check the object they got; a failure is one line
naming the spec (and the file and line of a file that fails to import).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from hft.core.errors import HftError

__all__ = ["Resolved", "entry_point_map", "load_entry_point", "load_object", "resolve"]


@dataclass(frozen=True)
class Resolved:
    """What a spec named: the object, its name (the registered name, else the object's ``__name__``) and its
    origin (``"builtin"``, ``"registry"``, ``"file"`` or ``"module"``)."""

    obj: Any
    name: str
    origin: str


def resolve(spec: str, *, group: str, label: str, what: str, error: type[HftError], key: str,
            where: str | None = None, builtins: Mapping[str, Any] | None = None, hint: str | None = None,
            candidates: Callable[[Any], list[str]] | None = None) -> Resolved:
    """The object `spec` names (module docstring): ``FILE.py:name`` / ``module:name`` (`load_object`), else a name
    in `builtins` or in the entry-point group `group`.

    `label` names the kind (``"strategy"``, ``"gate"``), `what` the expected object (``"Class"``,
    ``"function"``), `error` the error family raised and `key` the config key it names; `where` starts every error
    line (default: `label`; a config key's ``key 'K'``), `hint` goes with an unknown name, `candidates(module)`
    lists what a module offers when the name is missing there. The caller checks the object's type.
    """
    spec = spec.strip()
    builtins = builtins or {}
    eps: dict[str, EntryPoint] = {}
    try:
        if ":" in spec:
            obj, origin = load_object(spec, what=what, label=label, error=error, key=key, candidates=candidates)
            return Resolved(obj, getattr(obj, "__name__", spec), origin)
        if spec in builtins:
            return Resolved(builtins[spec], spec, "builtin")
        eps = entry_point_map(group)
        if spec in eps:
            return Resolved(load_entry_point(eps[spec], label=label, error=error, key=key), spec, "registry")
    except HftError as exc:  # a config key's error names the key first
        if where is None:
            raise
        raise error(f"{where}: {exc.message}", key=key, file=exc.fields.get("file"), hint=exc.hint) from None
    raise error(f"{where or label}: expected a registered {label} (one of {sorted({*builtins, *eps})}: built in or "
                f"in the entry-point group {group!r}), FILE.py:{what} or module:{what}, was {spec!r}", key=key,
                hint=hint)


def entry_point_map(group: str) -> dict[str, EntryPoint]:
    """Entry points of `group` by name (not loaded).

    Kept per process while ``sys.path`` and the modification times of its folders stay the same (the rule
    `importlib.metadata` itself caches its folder listings by): a scan reads every installed distribution's
    metadata (~10 ms with a hundred packages), and a replay resolves its strategy by name once per run. Installing
    or removing a distribution changes its folder's modification time, so the next call scans again."""
    key = (group, _path_stamp())
    hit = _EP_CACHE.get(key)
    if hit is None:
        if len(_EP_CACHE) >= 16:  # stale stamps
            _EP_CACHE.clear()
        hit = _EP_CACHE[key] = {ep.name: ep for ep in entry_points(group=group)}
    return dict(hit)


_EP_CACHE: dict[tuple, dict[str, EntryPoint]] = {}


def _path_stamp() -> tuple:
    """``sys.path`` with each folder's modification time (0: not a folder)."""
    out = []
    for p in sys.path:
        try:
            out.append((p, os.stat(p or ".").st_mtime_ns))
        except OSError:
            out.append((p, 0))
    return tuple(out)


def load_entry_point(ep: EntryPoint, *, label: str, error: type[HftError], key: str) -> Any:
    """Load `ep`; an installed plugin that fails to import is one `error` line naming it."""
    try:
        return ep.load()
    except Exception as exc:
        raise error(f"{label} {ep.name!r}: entry point {ep.value!r} failed to load "
                    f"({exc.__class__.__name__}: {exc})", key=key) from None


def load_object(spec: str, *, what: str, label: str, error: type[HftError], key: str,
                candidates: Callable[[Any], list[str]] | None = None) -> tuple[Any, str]:
    """The object ``FILE.py:name`` or ``module:name`` names, and its origin (``"file"`` / ``"module"``).

    `label` starts every error line (``"strategy"``, ``"gate"``), `what` names the expected object (``"class"``,
    ``"function"``), `error` is the error family raised, `key` the config key it names; `candidates(module)`
    lists what the module does offer when the name is missing.
    """
    where, _, attr = spec.rpartition(":")
    if not where or not attr.isidentifier():
        raise error(f"{label}: expected FILE.py:{what} or module:{what}, was {spec!r}", key=key)
    if where.endswith(".py") or "/" in where or "\\" in where:
        module, origin = _load_file(Path(where), spec, label, error, key), "file"
    else:
        module, origin = _load_module(where, attr, spec, label, error, key), "module"
    obj = getattr(module, attr, None)
    if obj is None:
        there = f" (there: {candidates(module)})" if candidates is not None else ""
        raise error(f"{label} {spec!r}: expected a {what} {attr!r} in {where}, none there{there}", key=key)
    return obj, origin


_FILE_MODULES: dict[str, tuple[bytes, Any]] = {}  # module name -> (digest of the source it ran, the module)


def _load_file(path: Path, spec: str, label: str, error: type[HftError], key: str) -> Any:
    """Import a Python file by path under a private module name; a file already run with the same source in this
    process is not run again (a replay config is parsed per layer, merged and again by the gateway: one run)."""
    if not path.is_file():
        raise error(f"{label} {spec!r}: expected a Python file at {path}, none exists", key=key, file=str(path))
    resolved = path.resolve()
    name = "hft_user_" + hashlib.blake2b(str(resolved).encode(), digest_size=6).hexdigest()
    digest = hashlib.blake2b(resolved.read_bytes(), digest_size=16).digest()
    hit = _FILE_MODULES.get(name)
    if hit is not None and hit[0] == digest and sys.modules.get(name) is hit[1]:
        return hit[1]
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise error(f"{label} {spec!r}: expected a Python file, {path} cannot be loaded", key=key, file=str(path))
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise error(f"{label} {spec!r}: {path}{_error_line(exc, resolved)} failed to import "
                    f"({exc.__class__.__name__}: {exc})", key=key, file=str(path)) from None
    _FILE_MODULES[name] = (digest, module)
    return module


def _load_module(name: str, attr: str, spec: str, label: str, error: type[HftError], key: str) -> Any:
    """Import the module `name` of ``module:attr`` `spec`; one error line naming it when it cannot be, whose hint
    says how a module becomes importable (and how a file is named instead)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise error(f"{label} {spec!r}: expected an importable module {name!r}, none found on the Python path",
                        key=key, hint=f"make it importable: put the folder holding {name.split('.')[0]}/ on PYTHONPATH, "
                                      f"or install its package (pip install -e .); or name the file by its path, "
                                      f"with .py: {name.replace('.', '/')}.py:{attr}") from None
        raise error(f"{label} {spec!r}: module {name!r} failed to import ({exc})", key=key) from None
    except Exception as exc:
        raise error(f"{label} {spec!r}: module {name!r} failed to import ({exc.__class__.__name__}: {exc})",
                    key=key) from None


def _error_line(exc: BaseException, path: Path) -> str:
    """``:LINE`` of the innermost frame of `exc` in `path` (or of a SyntaxError there), else ''."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f":{exc.lineno}"
    tb, line = exc.__traceback__, None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f":{line}" if line else ""
