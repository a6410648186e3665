"""The Python entry points README.md, docs/ and the notebooks present carry docstrings and type hints.

A notebook user reads them with ``help()`` / ``?``: every public function and method of these modules (defined
there, not imported) has a docstring, annotated parameters and a return annotation.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

ENTRY_POINTS = (
    "hft.data.importing", "hft.data.sources", "hft.data.events_io",
    "hft.sim.replay", "hft.sim.golden", "hft.sim.run_reader", "hft.sim.strategy", "hft.sim.conditional",
    "hft.gateway.service",
    "hft.alpha.api.base", "hft.alpha.api.registry", "hft.alpha.research.features", "hft.alpha.research.stats",
    "hft.alpha.governance.validate", "hft.alpha.governance.pool", "hft.alpha.governance.promote",
    "hft.alpha.governance.canary", "hft.alpha.governance.status", "hft.alpha.records.experiments",
    "hft.recorder.alpha_audit",
)


def _public_functions(module_name: str):
    module = importlib.import_module(module_name)
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
            continue
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            yield from ((f"{name}.{k}", v) for k, v in vars(obj).items()
                        if not k.startswith("_") and inspect.isfunction(v))


@pytest.mark.parametrize("module_name", ENTRY_POINTS)
def test_public_functions_have_docstrings_and_type_hints(module_name):
    problems = []
    for name, fn in _public_functions(module_name):
        sig = inspect.signature(fn)
        bare = [p for p, v in sig.parameters.items() if p not in ("self", "cls") and v.annotation is v.empty]
        problems += [f"{name}: no docstring"] * (not fn.__doc__)
        problems += [f"{name}: parameters without a type hint {bare}"] * bool(bare)
        problems += [f"{name}: no return type hint"] * (sig.return_annotation is sig.empty)
    assert not problems, f"{module_name}: " + "; ".join(problems)
