"""What a compiled kernel depends on, read from the sources without importing them.

A compiled kernel's machine code depends on its own source and on the globals it reads, which numba freezes at
compile time: constants and other kernels from the modules its module imports (a reason code of
`hft.core.orders` in a gateway kernel, say). numba's own cache notices only a change of the kernel's file.

`SourceStamps` gives each module a stamp over its normalised source (the syntax tree without docstrings: comments
and line numbers are not in it) and that of every ``hft`` module it imports, directly or through another (Python's
parser, as the import runs: top level, ``if`` / ``try``, not ``if TYPE_CHECKING:``). numba's cache index of each
``hft`` kernel is stamped with it (`hft._numba_locator`): an edit recompiles exactly the kernels whose module
imports the edited one, and a docstring or comment edit none.

`key_modules` / `key_digest` name the whole set at once (the modules numba compiles and every ``hft`` module they
import), for what is recorded per version of all kernels: the self-test's passes (`hft.core.selftest`). Read from
the sources' text with regular expressions (a few milliseconds): a module compiles code when it applies one of
numba's decorators or calls ``njit`` / ``jit``, applies a decorator that another module defines as
``name = njit(...)`` (the packages' ``_kernel``), or defines a subroutine (``@helper`` / ``inline_copy(``:
`hft.core.jit`). ``tests/unit/core/test_numba_cache_dir.py`` checks both against the truth: every module holding
a numba dispatcher, intrinsic or `hft.core.jit.Helper` after importing all of ``hft``, and the import closure of
those read by Python's parser.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re

_NUMBA_DECORATORS = ("njit", "jit", "intrinsic", "overload", "overload_method", "overload_attribute",
                     "register_jitable", "cfunc", "vectorize", "guvectorize", "jitclass", "generated_jit",
                     "helper")  # (the last: `hft.core.jit`'s subroutines)
# Each pattern starts with a literal, which Python's `re` finds fast; prose that matches only adds a module.
_JIT = re.compile(rb"jit\b")
_WRAPPER = re.compile(rb"(\w+)[ \t]*=[ \t]*(?:numba\.)?n?")  # the line before `jit`: `_kernel = njit(cache=True)`
# imports at the top level (a kernel reads its module's globals; a function's own imports are not among them)
_FROM = re.compile(rb"\nfrom[ \t]+(hft(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)")
_IMPORT = re.compile(rb"\nimport[ \t]+(hft(?:\.\w+)*)")
_NAME = re.compile(r"\w+")


def module_files(root: str) -> dict[str, str]:
    """Every module of the package at `root`: dotted name (``hft.core.orders``; a package by its own name) →
    path relative to `root` with ``/`` separators."""
    base = os.path.basename(root)
    out: dict[str, str] = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
                parts = rel[:-3].split("/")
                if parts[-1] == "__init__":
                    parts.pop()
                out[".".join([base, *parts])] = rel
    return out


def _imports(text: bytes, modules: dict[str, str]) -> set[str]:
    """The package's modules a source imports at its top level (``from M import a, b`` or ``import M``): M, and
    M.a / M.b where those are modules."""
    out: set[str] = set()
    text = b"\n" + text  # the patterns start at a line's start
    for m in _FROM.finditer(text):
        mod = m.group(1).decode()
        out.add(mod)
        names = re.sub(rb"#[^\n]*", b"", m.group(2)) if b"#" in m.group(2) else m.group(2)  # comments, also in (...)
        out.update(f"{mod}.{n}" for n in _NAME.findall(names.replace(b" as ", b" , ").decode()))
    for m in _IMPORT.finditer(text):
        name = m.group(1).decode()
        out.update(name[:i] for i in range(len(name) + 1) if i == len(name) or name[i] == ".")
    return out & modules.keys()


def _sources(root: str, modules: dict[str, str]) -> dict[str, bytes]:
    texts = {}
    for rel in modules.values():
        with open(os.path.join(root, rel), "rb") as fh:
            texts[rel] = fh.read()
    return texts


def key_digest(root: str, memo_dir: str | None = None) -> str:
    """The hex digest of all the kernels' sources of the package at `root`: each key module's relative path and
    source (`key_modules`). With `memo_dir`, the digest is kept there for the sources' stamp (every module's path,
    size and modification time in ns, numba's own rule for its cache) and read back while the stamp holds: a
    start-up then stats the files instead of reading and scanning them."""
    modules = module_files(root)
    memo = stamp = None
    if memo_dir is not None:
        h = hashlib.blake2b(digest_size=16)
        for rel in sorted(modules.values()):
            st = os.stat(os.path.join(root, rel))
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        stamp = h.hexdigest()
        memo = os.path.join(memo_dir, "key-" + hashlib.blake2b(root.encode(), digest_size=8).hexdigest())
        try:
            with open(memo, encoding="ascii") as fh:
                kept = fh.read().split()
            if len(kept) == 2 and kept[0] == stamp:
                return kept[1]
        except (OSError, UnicodeDecodeError):
            pass
    texts = _sources(root, modules)
    h = hashlib.blake2b(digest_size=8)
    for rel in key_modules(root, modules, texts):
        h.update(rel.encode() + b"\0" + texts[rel])
    digest = h.hexdigest()
    if memo is not None:
        try:
            tmp = f"{memo}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="ascii") as fh:
                fh.write(f"{stamp} {digest}\n")
            os.replace(tmp, memo)
        except OSError:
            pass
    return digest


def key_modules(root: str, modules: dict[str, str] | None = None, texts: dict[str, bytes] | None = None) -> list[str]:
    """The relative paths (sorted as pathlib sorts them) of the modules numba compiles and those they import
    (module doc).
    `modules` / `texts`: `module_files` and the sources, if read already."""
    modules = module_files(root) if modules is None else modules
    texts = _sources(root, modules) if texts is None else texts
    by_rel = {rel: name for name, rel in modules.items()}
    wrappers = set()
    for t in texts.values():
        for m in _JIT.finditer(t) if b"jit" in t else ():
            w = _WRAPPER.fullmatch(t, t.rfind(b"\n", 0, m.start()) + 1, m.start())
            if w is not None:
                wrappers.add(w.group(1).decode())
    decorated = re.compile(rb"\n[ \t]*@[ \t]*(?:numba\.)?(?:" + b"|".join(  # a decorator line, not prose
        re.escape(n.encode()) for n in sorted({*_NUMBA_DECORATORS, *wrappers})) + rb")\b")
    todo = [by_rel[rel] for rel, t in texts.items() if b"jit(" in t or b"inline_copy(" in t or decorated.search(t)]
    seen = set(todo)
    while todo:
        for dep in _imports(texts[modules[todo.pop()]], modules):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return sorted((modules[m] for m in seen), key=lambda r: r.split("/"))


# --- per-module source stamps (numba's cache locator for hft's kernels: `hft._numba_locator`) -------------------

def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            b = node.body
            if b and isinstance(b[0], ast.Expr) and isinstance(b[0].value, ast.Constant) \
                    and isinstance(b[0].value.value, str):
                node.body = b[1:]


def _top_imports(tree: ast.Module) -> list[str]:
    """The ``hft`` modules (or names) a module imports when it runs: top-level ``import`` / ``from``, also inside
    ``if`` / ``try`` (not under ``if TYPE_CHECKING:``). ``import a.b`` binds ``a``: the packages on the way count;
    ``from M import x`` counts M and ``M.x`` (kept only where that is a module)."""
    found: set[str] = set()
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.If | ast.Try):
            todo += [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            todo += [s for h in getattr(node, "handlers", []) for s in h.body]
        elif isinstance(node, ast.Import):
            found |= {a.name[:i] for a in node.names for i in range(len(a.name) + 1)
                      if i == len(a.name) or a.name[i] == "."}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
            found |= {node.module + "." + a.name for a in node.names}
    return sorted(found)


def normalized(source: bytes) -> tuple[str, list[str]]:
    """A source's meaning as the compiler sees it and what it imports: the hex digest of its syntax tree without
    docstrings (comments, blank lines and line numbers are not in the tree), and `_top_imports`."""
    tree = ast.parse(source)
    imports = _top_imports(tree)
    _strip_docstrings(tree)
    return hashlib.blake2b(ast.dump(tree).encode(), digest_size=16).hexdigest(), imports


class SourceStamps:
    """Source stamps of the modules of the package at `root`, for numba's cache index (`hft._numba_locator`).

    A module's stamp covers its own normalised source (`normalized`: a docstring or comment edit keeps it) and
    that of every package module it imports, directly or through another (`closure`): a kernel compiles in the
    constants and the kernels of those modules, so a change to any of them must recompile it, and a change
    anywhere else must not. Each file's digest is kept in `memo` (a JSON file; None: in memory only) for its
    size and modification time in ns, so a start-up stats the files and parses only the changed ones. An instance
    reads each file's state once (a process defines its kernels once): a new instance sees later edits."""

    def __init__(self, root: str, memo: str | None = None) -> None:
        self.root = root
        self.memo = memo
        self._modules = module_files(root)
        self._files: dict[str, list] = {}  # rel -> [size, mtime_ns, digest, imports]
        self._checked: set[str] = set()  # entries whose file was stat'ed in this process
        self._stamps: dict[str, str] = {}
        self._loaded = False
        self._dirty = False

    def _load(self) -> None:
        self._loaded = True
        if self.memo is None:
            return
        try:
            with open(self.memo, encoding="utf-8") as fh:
                kept = json.load(fh)
            if isinstance(kept, dict):
                self._files = kept
        except (OSError, ValueError):
            pass

    def _entry(self, rel: str) -> list:
        e = self._files.get(rel)
        if rel in self._checked:
            return e
        if not self._loaded:
            self._load()
            e = self._files.get(rel)
        path = os.path.join(self.root, rel)
        st = os.stat(path)
        if not (isinstance(e, list) and len(e) == 4 and e[0] == st.st_size and e[1] == st.st_mtime_ns):
            with open(path, "rb") as fh:
                digest, imports = normalized(fh.read())
            e = self._files[rel] = [st.st_size, st.st_mtime_ns, digest, imports]
            self._dirty = True
        self._checked.add(rel)
        return e

    def closure(self, rel: str) -> list[str]:
        """`rel` and the package modules it imports, directly or through another: relative paths, sorted."""
        by_name = self._modules
        seen, todo = {rel}, [rel]
        while todo:
            for name in self._entry(todo.pop())[3]:
                dep = by_name.get(name)
                if dep is not None and dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return sorted(seen)

    def stamp(self, rel: str) -> str:
        """The stamp of the module at `rel` (relative to `root`, ``/`` separators): the digest of its closure's
        paths and normalised sources. Each file is read once per instance: numba asks when a kernel is defined."""
        stamp = self._stamps.get(rel)
        if stamp is None:
            h = hashlib.blake2b(digest_size=16)
            for dep in self.closure(rel):
                h.update(f"{dep}\0{self._entry(dep)[2]}\n".encode())
            stamp = self._stamps[rel] = h.hexdigest()
            self.save()
        return stamp

    def save(self) -> None:
        """Write the memo if a digest was computed since it was read (best effort: a read-only cache skips it)."""
        if not self._dirty or self.memo is None:
            return
        self._dirty = False
        try:
            tmp = f"{self.memo}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self._files, fh, separators=(",", ":"))
            os.replace(tmp, self.memo)
        except OSError:
            pass
