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


#: private names of other libraries used where they have no public equivalent, as written (``receiver._name``) →
#: why. Everything else a package reads of another's objects is public.
THIRD_PARTY_PRIVATE = {
    "os._exit": "documented: ends a process at once, without cleanup (a forked child, a watchdog, Ctrl-C twice)",
    "sys._current_frames": "documented: every thread's current frame (waiting for the main thread's hook)",
    "logging._srcfile": "documented switch (logging HOWTO, Optimization): no caller lookup per record",
    "pool._processes": "a ProcessPoolExecutor's workers: no public way to stop them before Python 3.14",
    "caching._CacheLocator": "numba: the cache locator base class; numba has no public API to add a locator",
    "caching.CacheImpl._locator_classes": "numba: its list of cache locators (as above)",
    "st._getvalue": "numba's cgutils struct proxy: its LLVM value (the extension API has no other accessor)",
    "classes[schema]._dtypes": "databento_dbn: a record class's numpy layout exists only as `_dtypes`",
    "nc._process_msg": "nats-py 2.16: the parser's per-message hook (acks resolved without a Msg each)",
    "sub._id": "nats-py: a subscription's sid (what _process_msg is called with); no public attribute",
    "nc._send_command": "nats-py 2.16: nc.publish's tail, for many messages in one write (no batch publish)",
    "nc._flush_queue": "nats-py 2.16: whether its flusher is already woken (as nc.publish checks it)",
    "nc._flush_pending": "nats-py 2.16: wakes its flusher (as nc.publish does)",
    "nc._max_pending_size": "nats-py: the reconnect buffer's limit (as nc.publish checks it); not exposed",
}
#: a NamedTuple's own public API (underscored so as not to clash with field names)
NAMEDTUPLE_API = frozenset({"_make", "_asdict", "_replace", "_fields", "_field_defaults"})


def _package_of(rel: str) -> str:
    """The top-level package under hft of a module path: ``hft/live/engine.py`` → ``hft.live``; a module directly
    under hft is its own (``hft/_numba_locator.py`` → ``hft._numba_locator``); ``hft/__init__.py`` → ``hft``."""
    parts = Path(rel).with_suffix("").parts
    return "hft" if parts[1] == "__init__" else ".".join(parts[:2])


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defines(tree: ast.AST) -> set[str]:
    """The private names a module defines: its functions, classes and assigned names, and the attributes it
    assigns on ``self`` / ``cls``."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(n.name)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif (isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name)
              and n.value.id in ("self", "cls")):
            out.add(n.attr)
    return {name for name in out if _is_private(name)}


def _foreign_private_accesses(sources: dict[str, str]) -> tuple[list[str], set[str]]:
    """Accesses ``x._name`` (read or write; x not ``self`` / ``cls``) in module M whose ``_name`` no module of M's
    package defines (`_defines`), nor is a NamedTuple method, nor in `THIRD_PARTY_PRIVATE`. `sources`: path
    (``hft/...py``) → text. Returns those, and the allow-list entries used."""
    trees = {rel: ast.parse(src) for rel, src in sources.items()}
    defined: dict[str, set[str]] = {}
    for rel, tree in trees.items():
        defined.setdefault(_package_of(rel), set()).update(_defines(tree))
    bad, used = [], set()
    for rel, tree in trees.items():
        own = defined[_package_of(rel)]
        for n in ast.walk(tree):
            if not isinstance(n, ast.Attribute) or not _is_private(n.attr) or n.attr in own or n.attr in NAMEDTUPLE_API:
                continue
            if isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"):
                continue
            what = f"{ast.unparse(n.value)}.{n.attr}"
            if what in THIRD_PARTY_PRIVATE:
                used.add(what)
                continue
            bad.append(f"{rel}:{n.lineno}: {what}: private to another package (no module of "
                       f"{_package_of(rel)} defines {n.attr})")
    return sorted(set(bad)), used


def test_no_private_attribute_across_packages():
    """A package reads and changes another's objects through their public API only (issue 53): what a caller needs
    is a public property or method of the owner, which stays free to change its fields. Checked on the syntax
    tree, by name: ``x._name`` is another package's when no module of this one defines ``_name``."""
    sources = {path.relative_to(ROOT).as_posix(): path.read_text() for path in sorted((ROOT / "hft").rglob("*.py"))}
    bad, used = _foreign_private_accesses(sources)
    assert not bad, f"{len(bad)} private accesses across packages:\n" + "\n".join(bad)
    stale = sorted(set(THIRD_PARTY_PRIVATE) - used)
    assert not stale, f"THIRD_PARTY_PRIVATE names what no module uses any more: {stale}"


def test_the_private_attribute_rule():
    sources = {
        "hft/a/x.py": "class C:\n    def __init__(self):\n        self._n = 1\n        self._m = self._n\n",
        "hft/a/y.py": "def f(c):\n    return c._n\n",  # its own package's field
        "hft/b/z.py": "def g(c, t):\n    c._n = 2\n    return c.__len__(), t._asdict(), os._exit, c.gw._m\n",
        "hft/b_c.py": "_n = 0\n",  # a module of its own: defines nothing for hft.b
    }
    bad, used = _foreign_private_accesses(sources)
    assert [b.split(": ")[1] for b in bad] == ["c._n", "c.gw._m"]
    assert used == {"os._exit"}
    assert _package_of("hft/live/engine.py") == "hft.live"
    assert _package_of("hft/_numba_locator.py") == "hft._numba_locator"
