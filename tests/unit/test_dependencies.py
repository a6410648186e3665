"""Every package `hft` imports is one it declares: what a module imports when it loads is in
``[project].dependencies`` (a plain ``pip install hft`` must run every command), and what a function imports on
demand is there or in an optional extra (``ray``, ``fix``, ``dbn``, ``dev``...); an import guarded by
``except ImportError`` is optional wherever it is (the code says what to install when it is missing).

A package that is installed here only because another one pulls it in (``click`` came with ``ray`` and
``import-linter``, not with ``typer``, which vendors its own) passes every other test and fails on a user's plain
install; this reads the imports from the sources and the declarations from pyproject.toml, not from this venv.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    """(distributions of ``dependencies``, distributions of the optional extras), canonical names."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(reqs: list[str]) -> set[str]:
        return {_canon(re.match(r"[A-Za-z0-9_.-]+", r).group(0)) for r in reqs}

    extras = set().union(*(names(v) for v in project.get("optional-dependencies", {}).values()))
    return names(project["dependencies"]), extras


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _catches_import_error(node: ast.Try) -> bool:
    names = {"ImportError", "ModuleNotFoundError"}
    for h in node.handlers:
        types = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
        if any(isinstance(t, ast.Name) and t.id in names for t in types):
            return True
    return False


def _imports(tree: ast.Module) -> list[tuple[str, int, bool, bool]]:
    """(top-level module, line, at load time, guarded by ``except ImportError``) of each absolute import;
    ``if TYPE_CHECKING:`` blocks are skipped."""
    out: list[tuple[str, int, bool, bool]] = []

    def visit(node: ast.AST, at_load: bool, guarded: bool) -> None:
        if isinstance(node, ast.Try) and _catches_import_error(node):
            for sub in node.body:
                visit_one(sub, at_load, True)
            for part in (node.handlers, node.orelse, node.finalbody):
                for sub in part:
                    visit_one(sub, at_load, guarded)
            return
        for child in ast.iter_child_nodes(node):
            visit_one(child, at_load, guarded)

    def visit_one(child: ast.AST, at_load: bool, guarded: bool) -> None:
        if isinstance(child, ast.If) and _is_type_checking(child):
            for sub in child.orelse:
                visit_one(sub, at_load, guarded)
            return
        if isinstance(child, ast.Import):
            out.extend((a.name.split(".")[0], child.lineno, at_load, guarded) for a in child.names)
        elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
            out.append((child.module.split(".")[0], child.lineno, at_load, guarded))
        inner = at_load and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        visit(child, inner, guarded)

    visit(tree, True, False)
    return out


def test_every_imported_package_is_declared() -> None:
    deps, extras = _declared()
    dists = packages_distributions()
    problems = []
    for path in sorted((ROOT / "hft").rglob("*.py")):
        for top, line, at_load, guarded in _imports(ast.parse(path.read_text(), str(path))):
            if top in sys.stdlib_module_names or top in ("hft", "__future__"):
                continue
            owners = {_canon(d) for d in dists.get(top, ())}
            where = f"{path.relative_to(ROOT)}:{line}: import {top}"
            if guarded:
                if owners and not owners & (deps | extras):
                    problems.append(f"{where}: {sorted(owners)} is installed here but declared nowhere")
            elif not owners:
                problems.append(f"{where}: no installed distribution provides it")
            elif at_load and not owners & deps:
                problems.append(f"{where}: imported when the module loads, but {sorted(owners)} is not in "
                                "[project].dependencies")
            elif not owners & (deps | extras):
                problems.append(f"{where}: {sorted(owners)} is in neither the dependencies nor an extra")
    assert not problems, "\n".join(problems)
