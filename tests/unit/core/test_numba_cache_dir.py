"""numba's on-disk cache holds a kernel while its module and every hft module that module imports keep their
meaning (hft/__init__.py, hft/_numba_locator.py, hft/_numba_key.py `SourceStamps`): a docstring or comment edit
recompiles nothing, a changed constant or callee recompiles its users (never a stale kernel), an edit no kernel
imports recompiles nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(code: str, env: dict[str, str], cwd: Path | None = None) -> str:
    full = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**full, **env}, cwd=cwd)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout.strip()


def test_one_cache_dir_per_checkout_is_used(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    code = ("import os, hft; from hft.core.rng import splitmix64; splitmix64(1, 2); "
            "print(os.environ['NUMBA_CACHE_DIR'], sum(splitmix64.stats.cache_hits.values()))")
    first, hits = _run(code, env).split()
    assert Path(first).parent == tmp_path / "hft" / "numba" and hits == "0"
    assert any(Path(first).rglob("rng.splitmix64-src.*.nbi")), "numba wrote its index into the checkout's cache"
    assert _run(code, env).split() == [first, "1"]  # same sources: the same cache, loaded


def test_the_locator_is_used_whether_numba_is_imported_before_or_after_hft(tmp_path):
    code = "from hft.core.rng import splitmix64; print(type(splitmix64._cache._impl.locator).__name__)"
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    assert _run("import hft, sys; assert 'numba' not in sys.modules; " + code, env) == "SourceLocator"
    assert _run("import numba, hft; " + code, env) == "SourceLocator"


def test_an_explicit_numba_cache_dir_is_respected(tmp_path):
    out = _run("import os, hft; print(os.environ['NUMBA_CACHE_DIR'])", {"NUMBA_CACHE_DIR": str(tmp_path / "x")})
    assert out == str(tmp_path / "x")


def test_old_caches_are_pruned(tmp_path):
    base = tmp_path / "hft" / "numba"
    for i in range(4):
        d = base / f"0.0.{i}-old"
        d.mkdir(parents=True)
        os.utime(d, (1_000_000 + i, 1_000_000 + i))
    _run("import hft", {"XDG_CACHE_HOME": str(tmp_path)})
    left = sorted(p.name for p in base.iterdir() if p.is_dir())
    assert "0.0.3-old" in left and "0.0.2-old" in left and "0.0.0-old" not in left and len(left) == 3


def test_caches_used_this_week_are_kept(tmp_path):
    """Several checkouts on one machine (worktrees, a CI clone) must not delete each other's fresh caches."""
    import time

    base = tmp_path / "hft" / "numba"
    now = time.time()
    for i in range(5):
        d = base / f"0.0.{i}-other-checkout"
        d.mkdir(parents=True)
        os.utime(d, (now - 3600 * (i + 1), now - 3600 * (i + 1)))  # used within the last hours
    stale = base / "0.0.9-stale"
    stale.mkdir()
    os.utime(stale, (now - 30 * 86400, now - 30 * 86400))
    _run("import hft", {"XDG_CACHE_HOME": str(tmp_path)})
    left = {p.name for p in base.iterdir() if p.is_dir()}
    assert {f"0.0.{i}-other-checkout" for i in range(5)} <= left and "0.0.9-stale" not in left


ROOT = Path(__file__).resolve().parents[3] / "hft"

# The truth, from importing every hft module: the modules that hold a numba dispatcher, intrinsic or helper (by the
# module of the Python function it compiles), and the hft modules each module imports at its top level
# (Python's parser; imports under `if TYPE_CHECKING:` do not run).
_TRUTH = r"""
import ast, importlib, json, pkgutil, sys
import hft
from numba.core.dispatcher import Dispatcher
from numba.core.extending import _Intrinsic
from hft.core.jit import Helper
names = [m.name for m in pkgutil.walk_packages(hft.__path__, "hft.")]
for name in names:
    importlib.import_module(name)
compiled = set()
for name in names:
    for v in vars(sys.modules[name]).values():
        if isinstance(v, Dispatcher):
            compiled.add(v.py_func.__module__)
        elif isinstance(v, _Intrinsic):
            compiled.add(v._defn.__module__)
        elif isinstance(v, Helper):
            compiled.add(v.py_func.__module__)
imports = {}
for name in ["hft", *names]:
    mod = sys.modules[name]
    tree = ast.parse(open(mod.__file__, "rb").read())
    found, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.If | ast.Try):
            todo += [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            todo += [s for h in getattr(node, "handlers", []) for s in h.body]
        elif isinstance(node, ast.Import):  # `import a.b` binds `a`: the packages on the way are reachable
            found |= {a.name[:i] for a in node.names for i in range(len(a.name) + 1)
                      if i == len(a.name) or a.name[i] == "."}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
            found |= {node.module + "." + a.name for a in node.names}
    imports[name] = sorted(p for p in found if p in sys.modules and p.split(".")[0] == "hft")
files = {n: sys.modules[n].__file__ for n in ["hft", *names]}
print(json.dumps({"compiled": sorted(compiled), "imports": imports, "files": files}))
"""


def test_the_key_covers_every_compiled_module_and_what_it_imports():
    """Against the truth: a kernel reading a constant of a module outside the key (a reason code of
    `hft.core.orders` in a gateway kernel) would run stale machine code after that module changed."""
    import json

    from hft._numba_key import SourceStamps, key_modules

    truth = json.loads(_run(_TRUTH, {}))
    assert len(truth["compiled"]) > 40  # the gateway, book, venue, engine, live and data kernels
    needed, todo = set(truth["compiled"]), list(truth["compiled"])
    while todo:
        for dep in truth["imports"][todo.pop()]:
            if dep not in needed:
                needed.add(dep)
                todo.append(dep)
    rel = {n: str(Path(f).relative_to(ROOT)) for n, f in truth["files"].items()}
    stamps = SourceStamps(str(ROOT))
    for name in truth["compiled"]:  # each kernel's stamp covers its module's import closure
        closure, todo = {name}, [name]
        while todo:
            for dep in truth["imports"][todo.pop()]:
                if dep not in closure:
                    closure.add(dep)
                    todo.append(dep)
        assert {rel[n] for n in closure} <= set(stamps.closure(rel[name])), name
    # the selftest's record of a pass (`hft.core.selftest._marker`) is keyed by the union of those closures
    key = set(key_modules(str(ROOT)))
    assert sorted(rel[n] for n in needed if rel[n] not in key) == []
    assert "core/orders.py" in key  # the gateway kernels' constants: outside the key before this rule
    # commands, even those whose help names `@njit` (cli/replay.py): editing one keeps the cache
    assert not [r for r in key if r.startswith("cli/")]


def _package(root: Path, files: dict[str, str]) -> str:
    pkg = root / "hft"
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    return str(pkg)


_SMALL = {
    "__init__.py": "",
    "consts.py": "LIMIT = 1\n",
    "wrap.py": "from numba import njit\n\n_kernel = njit(cache=True)\n",
    "kern.py": ("from hft.consts import LIMIT\nfrom hft.wrap import (  # the wrapper\n    _kernel,\n)\n\n\n"
                "@_kernel\ndef over(x):\n    return x > LIMIT\n"),
    "cli.py": ('"""Mentions numba and njit in prose only: a strategy may be an @njit kernel or an @_kernel one."""'
               "\n\nimport hft.help\n\n\ndef main():\n"
               "    from hft.kern import over  # a command's own import\n\n    return over(2)\n"),
    "help.py": "TEXT = 'help'\n",  # imported by the command only: outside the key
}


def test_the_rule_on_a_small_package(tmp_path):
    """A module compiled through another module's wrapper is a root; its top-level imports join the key; a
    command that mentions numba (a decorator's name in its prose too) and imports a kernel inside a function
    does not, nor do its own imports."""
    from hft._numba_key import key_modules

    assert key_modules(_package(tmp_path, _SMALL)) == ["consts.py", "kern.py", "wrap.py"]


def test_the_digest_follows_the_key_and_its_memo_follows_the_sources(tmp_path):
    from hft._numba_key import key_digest

    root = _package(tmp_path / "src", _SMALL)
    memo = tmp_path / "memo"
    memo.mkdir()
    first = key_digest(root, str(memo))
    assert key_digest(root, str(memo)) == first == key_digest(root)  # the memo gives what a full read gives
    cli = Path(root) / "cli.py"
    cli.write_text(cli.read_text() + "# edited\n")
    assert key_digest(root, str(memo)) == first  # a command changed: the same cache
    consts = Path(root) / "consts.py"
    consts.write_text("LIMIT = 2\n")  # same size: the modification time tells the memo
    changed = key_digest(root, str(memo))
    assert changed != first and changed == key_digest(root)


# A package named `hft` with the real cache machinery (its `__init__`, `_numba_key`, `_numba_locator`) and a few
# small modules: `kern` compiles in a constant of `consts`, a kernel of `callee` and a subroutine of `sub`
# (`hft.core.jit.helper`: no cache entry of its own); `user` calls `kern`'s kernel;
# `other` is imported by no kernel.
_KERNELS = {
    "consts.py": "LIMIT = 3\n",
    "callee.py": "from numba import njit\n\n\n@njit(cache=True)\ndef bump(x):\n    return x + 10\n",
    "sub.py": "from hft.core.jit import helper\n\n\n@helper\ndef plus(x):\n    return x\n",
    "kern.py": ('"""Kernels."""\n\nfrom numba import njit\n\nfrom hft.callee import bump\nfrom hft.consts import LIMIT\n'
                'from hft.sub import plus\n'
                '\n\n@njit(cache=True)\ndef over(x):\n    """Scaled."""\n    return bump(plus(x)) * LIMIT\n'),
    "user.py": ("from numba import njit\n\nfrom hft.kern import over\n\n\n@njit(cache=True)\ndef twice(x):\n"
                "    return over(x) * 2\n"),
    "other.py": "TEXT = 'other'\n",
}
_CALL = ("import json\nfrom hft.kern import over\nfrom hft.user import twice\n"
         "r = [over(1), twice(1)]\n"
         "print(json.dumps({'result': r, 'loaded': [sum(f.stats.cache_hits.values()) for f in (over, twice)],"
         " 'compiled': [sum(f.stats.cache_misses.values()) for f in (over, twice)]}))")


def test_an_edit_recompiles_the_kernels_that_depend_on_it_and_only_those(tmp_path):
    """Each run a fresh process on one cache: the kernel of a module whose meaning (or whose imports' meaning)
    changed is compiled again and gives the new answer; after a docstring, comment or unrelated edit every
    kernel is loaded."""
    import json
    import shutil

    root = Path(_package(tmp_path / "src", _KERNELS))
    (root / "core").mkdir(exist_ok=True)
    for name in ("__init__.py", "_numba_key.py", "_numba_locator.py", "core/__init__.py", "core/exports.py",
                 "core/jit.py"):
        shutil.copy(ROOT / name, root / name)  # what `import hft` runs, and the subroutines' decorator
    env = {"PYTHONPATH": str(tmp_path / "src"), "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONDONTWRITEBYTECODE": "1"}

    def run() -> dict:
        return json.loads(_run(_CALL, env, cwd=tmp_path))  # not the checkout's own `hft`

    def edit(rel: str, old: str, new: str) -> None:
        p = root / rel
        assert old in p.read_text()
        p.write_text(p.read_text().replace(old, new))

    assert run() == {"result": [33, 66], "loaded": [0, 0], "compiled": [1, 1]}
    assert run() == {"result": [33, 66], "loaded": [1, 1], "compiled": [0, 0]}
    # docstrings and comments, lines moved above the kernel: nothing recompiles
    edit("kern.py", '"""Kernels."""\n', '"""Kernels, and a docstring\nthat grew."""\n# a comment\n\n')
    edit("kern.py", '"""Scaled."""', '"""Scaled: an edited docstring."""  # and a comment')
    edit("callee.py", "from numba", "# a comment\nfrom numba")
    assert run() == {"result": [33, 66], "loaded": [1, 1], "compiled": [0, 0]}
    edit("other.py", "'other'", "'changed'")  # a module no kernel imports
    assert run() == {"result": [33, 66], "loaded": [1, 1], "compiled": [0, 0]}
    edit("consts.py", "LIMIT = 3", "LIMIT = 4")  # a constant `kern` compiles in: `kern` and its user recompile
    assert run() == {"result": [44, 88], "loaded": [0, 0], "compiled": [1, 1]}
    edit("callee.py", "x + 10", "x + 20")  # a callee in another module
    assert run() == {"result": [84, 168], "loaded": [0, 0], "compiled": [1, 1]}
    edit("user.py", "* 2", "* 3")  # the dependent only: the kernel it calls stays cached
    assert run() == {"result": [84, 252], "loaded": [1, 0], "compiled": [0, 1]}
    assert run() == {"result": [84, 252], "loaded": [1, 1], "compiled": [0, 0]}
    edit("sub.py", "\n\n@helper", "\n# a comment\n\n@helper")
    assert run() == {"result": [84, 252], "loaded": [1, 1], "compiled": [0, 0]}
    edit("sub.py", "return x", "return x + 1")  # a subroutine: cached in its callers' entries, recompiled with them
    assert run() == {"result": [88, 264], "loaded": [0, 0], "compiled": [1, 1]}


def test_a_comment_or_docstring_edit_in_any_kernel_module_keeps_every_stamp(tmp_path):
    """Every module the kernels' key holds (`key_modules`: those that compile code and what they import), edited
    in a copy of the package with a comment and lines added at its top and its module docstring changed: no
    module's stamp changes, so no kernel recompiles (the small package's test above shows a kept stamp loads the
    cached kernel)."""
    import ast
    import shutil

    from hft._numba_key import SourceStamps, key_modules

    root = tmp_path / "hft"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    mods = key_modules(str(root))
    assert len(mods) > 40
    first = SourceStamps(str(root))
    before = {rel: first.stamp(rel) for rel in mods}
    for rel in mods:
        p = root / rel
        text = p.read_text()
        doc = ast.get_docstring(ast.parse(text), clean=False)
        if doc:  # the module docstring edited, lines added inside it
            text = text.replace(doc, doc + "\n\nAn edited docstring.\n", 1)
        p.write_text("# an edited comment\n\n" + text.replace("\n\n", "\n\n# another comment\n", 1))
    after = SourceStamps(str(root))
    assert {rel: after.stamp(rel) for rel in mods} == before
    (root / mods[0]).write_text((root / mods[0]).read_text() + "\n_EDITED = 1\n")  # code: its stamp changes
    assert SourceStamps(str(root)).stamp(mods[0]) != before[mods[0]]


def test_the_cache_census_counts_distinct_specialisations_and_duplicates(tmp_path):
    """`cached_specialisations` over the small package's cache: one entry per (kernel, signature), whichever
    process compiled it; a kernel called with an int8 and an int64 holds a duplicate (so does the callee it
    compiles in); a subroutine (`sub.plus`) has no entry; an edited module's stale entries no longer count."""
    import json
    import shutil

    root = Path(_package(tmp_path / "src", _KERNELS))
    (root / "core").mkdir(exist_ok=True)
    for name in ("__init__.py", "_numba_key.py", "_numba_locator.py", "compile_watch.py", "core/__init__.py",
                 "core/exports.py", "core/jit.py"):
        shutil.copy(ROOT / name, root / name)
    env = {"PYTHONPATH": str(tmp_path / "src"), "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    census = "import json, hft; from hft.compile_watch import cached_specialisations as c; print(json.dumps(c()))"
    calls = "import numpy as np\nfrom hft.kern import over\nfrom hft.user import twice\nover(1); twice(1)\n"
    _run(calls, env, cwd=tmp_path)
    _run(calls, env, cwd=tmp_path)  # a second process loads: nothing new
    assert json.loads(_run(census, env, cwd=tmp_path)) == {"specialisations": 3, "functions": 3, "duplicates": {}}
    _run(calls + "over(np.int8(1))\n", env, cwd=tmp_path)
    assert json.loads(_run(census, env, cwd=tmp_path)) == {
        "specialisations": 5, "functions": 3, "duplicates": {"callee.bump": 1, "kern.over": 1}}
    p = root / "user.py"
    p.write_text(p.read_text().replace("* 2", "* 3"))  # `twice`'s entry is stale until it recompiles
    assert json.loads(_run(census, env, cwd=tmp_path))["functions"] == 2
