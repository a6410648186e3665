"""The public API's plumbing: a package's short, stable names, loaded on first use, and the old paths of moved modules.

Users import from short paths (``from hft.sim import Strategy``) that do not change when the code behind them is
regrouped. A package declares its public names once, as ``name -> defining module``, with `lazy_exports`:
importing the package stays cheap (no numba, no polars) and each name is imported on first access.

A module that moved keeps working under its old path: `MOVED_MODULES` maps each old path to the new one, and
`install_moved_finder` (called by ``import hft``) makes an import of an old path return the new module with a
`DeprecationWarning` naming the new path. A move is one line in `MOVED_MODULES`.

This module is imported by ``hft/__init__.py``: standard library only.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["MOVED_MODULES", "install_moved_finder", "lazy_exports"]

# old module path -> where it lives now (a regrouping keeps every user's import working)
MOVED_MODULES: dict[str, str] = {
    "hft.store.paths": "hft.core.paths",
    "hft.alpha.base": "hft.alpha.api.base",
    "hft.alpha.config": "hft.alpha.api.config",
    "hft.alpha.lifecycle_config": "hft.alpha.api.lifecycle_config",
    "hft.alpha.registry": "hft.alpha.api.registry",
    "hft.alpha.execution": "hft.alpha.gates.execution",
    "hft.alpha.gate_a": "hft.alpha.gates.gate_a",
    "hft.alpha.gate_b": "hft.alpha.gates.gate_b",
    "hft.alpha.gate_c": "hft.alpha.gates.gate_c",
    "hft.alpha.gate_d": "hft.alpha.gates.gate_d",
    "hft.alpha.gate_e": "hft.alpha.gates.gate_e",
    "hft.alpha.canary": "hft.alpha.governance.canary",
    "hft.alpha.canary_live": "hft.alpha.governance.canary_live",
    "hft.alpha.lifecycle": "hft.alpha.governance.lifecycle",
    "hft.alpha.pool": "hft.alpha.governance.pool",
    "hft.alpha.promote": "hft.alpha.governance.promote",
    "hft.alpha.promotion": "hft.alpha.governance.promotion",
    "hft.alpha.status": "hft.alpha.governance.status",
    "hft.alpha.validate": "hft.alpha.governance.validate",
    "hft.alpha.audit": "hft.alpha.records.audit",
    "hft.alpha.experiments": "hft.alpha.records.experiments",
    "hft.alpha.ledger": "hft.alpha.records.ledger",
    "hft.alpha.combine": "hft.alpha.research.combine",
    "hft.alpha.days": "hft.alpha.research.days",
    "hft.alpha.features": "hft.alpha.research.features",
    "hft.alpha.plots": "hft.alpha.research.plots",
    "hft.alpha.stats": "hft.alpha.research.stats",
}


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for `package` (its ``__name__``) whose public names are `exports`
    (name -> the module defining it). Assign them at the package's top level; a name is imported on first access
    and then kept in the package's namespace."""
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        mod = table.get(name)
        if mod is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(mod), name)
        vars(sys.modules[package])[name] = value  # resolved once: later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return sorted(table), __getattr__, __dir__


class _MovedLoader:  # (the loader protocol; importlib.abc costs 20 ms at import)
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(f"{self.old} moved to {self.new}: import it from there (the old path will be removed)",
                      DeprecationWarning, stacklevel=2)  # (warnings skips the import machinery's frames)
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the new path's, already executed."""


class _MovedFinder:  # (the meta path finder protocol)
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVED_MODULES.get(name)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(name, _MovedLoader(name, new))


def install_moved_finder() -> None:
    """Make imports of `MOVED_MODULES`' old paths return the new modules (idempotent)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
