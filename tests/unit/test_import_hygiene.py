"""Imports sit at the top of a module unless laziness has a reason (docs/architecture.md, "Imports").

A function-level import is allowed when
* the module is part of the CLI (`hft.cli`): `hft --help` must not load numba, polars, numpy or yaml, so every
  command imports its work when it runs;
* it imports an optional or slow dependency (`LAZY_DEPENDENCIES`, each with its reason);
* it says why, with a ``# lazy: <why>`` comment on its line or the line above (e.g. an import cycle);
* its package has not been cleaned up yet (`NOT_YET_HOISTED`, a debt list that only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: module prefix → why importing it at the top of a library module would cost every user of that module
LAZY_DEPENDENCIES = {
    "matplotlib": "plots only; ~0.5 s to import",
    "ray": "scale-out only; seconds to import, optional at run time",
    "chdb": "the embedded store engine; loads a large shared library",
    "clickhouse_connect": "the server store backend; only when one is configured",
    "hft.store.store": "opens chDB (see chdb); governance code that can run without the store stays light",
    "hft.store.backend": "as hft.store.store",
    "hft.report": "HTML tearsheets; loads matplotlib",
    "hft.alpha.research.plots": "validation PNGs; loads matplotlib",
    "fcntl": "POSIX only; a Windows import of the module must still work",
    "polars": "~85 ms to import: a replay of a LOBSTER zip or a Binance capture must not load it "
              "(tests/unit/sim/test_replay_startup.py)",
    "databento_dbn": "optional (DBN files only): its absence is a one-line error when one is read",
    "zstandard": "optional (zstd-compressed DBN only)",
    "decimal": "hft.data._convert: only the exact-decimal paths of the importers need it",
    "nats": "the NATS client, ~145 ms to import: loaded only when the signal ingress, its bus or a lease runs",
    "prometheus_client": "~100 ms to import: a replay's gateway never exposes metrics; the service and the "
                         "metrics views load it when they build their registry",
}

#: packages whose function-level imports are not yet reviewed (the list only shrinks)
NOT_YET_HOISTED: tuple[str, ...] = ()


def _function_imports(path: Path) -> list[tuple[int, str, str]]:
    src = path.read_text()
    tree = ast.parse(src)
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    lines = src.splitlines()
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        anc = parents.get(node)
        while anc is not None and not isinstance(anc, ast.FunctionDef | ast.AsyncFunctionDef):
            anc = parents.get(anc)
        if anc is None:
            continue
        mod = (node.module or "") if isinstance(node, ast.ImportFrom) else node.names[0].name
        here = lines[node.lineno - 1] + (lines[node.lineno - 2] if node.lineno > 1 else "")
        out.append((node.lineno, mod, here))
    return out


def test_function_level_imports_have_a_reason():
    bad = []
    for path in sorted((ROOT / "hft").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("hft/cli/") or rel.startswith(NOT_YET_HOISTED):
            continue
        for line, mod, here in _function_imports(path):
            if any(mod == d or mod.startswith(d + ".") for d in LAZY_DEPENDENCIES) or "# lazy:" in here:
                continue
            bad.append(f"{rel}:{line}: import of {mod} inside a function (hoist it, or say `# lazy: why`)")
    assert not bad, "\n".join(sorted(set(bad)))


def test_the_debt_list_names_only_what_still_has_lazy_imports():
    """A package cleaned up leaves NOT_YET_HOISTED (else the list would silently keep excusing it)."""
    stale = [p for p in NOT_YET_HOISTED
             if not any(_function_imports(f) for f in sorted(ROOT.glob(p + "**/*.py" if p.endswith("/") else p)))]
    assert not stale, stale


def _private_scope(module: str, name: str | None) -> str | None:
    """The package a private import belongs to, or None when it is public: a module path component with a
    leading underscore is private to the package that holds it (``hft.data._gather`` to ``hft.data``,
    ``hft._numba_key`` to ``hft``); a private name of a module (``_set`` of ``hft.book.l2``) to the module's
    top-level subpackage (``hft.book``)."""
    parts = module.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    if name is not None and name.startswith("_") and not name.startswith("__"):
        return ".".join(parts[:2])
    return None


def _is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def test_no_private_import_across_packages():
    """A subpackage (`hft.book`, `hft.sim`, ...) reaches another's code through its public names only: private
    modules and names are the package's own, free to change without breaking another (issue 53). Checked on the
    syntax tree (import-linter sees modules, not names)."""
    bad = []
    for path in sorted((ROOT / "hft").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        here = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("hft"):
                found = [(node.module, a.name) for a in node.names]
                found += [(f"{node.module}.{a.name}", None) for a in node.names  # `from hft.data import _gather`
                          if _is_module(f"{node.module}.{a.name}")]
            elif isinstance(node, ast.Import):
                found = [(a.name, None) for a in node.names if a.name.startswith("hft")]
            else:
                continue
            for module, name in found:
                scope = _private_scope(module, name)
                if scope is not None and here != scope and not here.startswith(scope + "."):
                    what = f"{module}.{name}" if name else module
                    bad.append(f"{rel}.py:{node.lineno}: imports {what}, private to {scope}")
    assert not bad, "\n".join(sorted(set(bad)))


def test_the_private_scope_rule():
    assert _private_scope("hft.data._gather", "warm") == "hft.data"
    assert _private_scope("hft._numba_key", "key_digest") == "hft"
    assert _private_scope("hft.book.l2", "_set") == "hft.book"
    assert _private_scope("hft.book.l2", "set_level") is None
    assert _private_scope("hft.core.orders", "__all__") is None
