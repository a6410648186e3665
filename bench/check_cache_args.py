"""Does every cached kernel's stamp cover the modules of the types it was compiled for?

A kernel's index entry holds while its module and what that module imports keep their meaning
(`hft._numba_key.SourceStamps`). The types of its arguments come from its caller: a NamedTuple class, a kernel
passed as an argument or an extension type defined in a module outside that closure could change (a field
reordered, a kernel's body) without recompiling it. This reads every index in a numba cache that ``hft`` filled
(after ``hft warmup`` or a test run) and lists the signatures whose argument types name an ``hft`` module outside
the closure of the kernel's module. None is the rule's premise.

Run: ``PYTHONPATH=<tree> .venv/bin/python bench/check_cache_args.py --cache DIR [--tree DIR]``; prints JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
from pathlib import Path


def _hft_modules(t, out: set[str], seen: set[int]) -> None:
    """The ``hft`` modules that define `t` or anything inside it (tuple members, array dtypes, kernels)."""
    from numba.core import types

    if id(t) in seen:
        return
    seen.add(id(t))
    mod = type(t).__module__
    if mod.startswith("hft"):
        out.add(mod)
    if isinstance(t, types.BaseNamedTuple):
        out.add(t.instance_class.__module__)
    if isinstance(t, types.Dispatcher):
        out.add(t.dispatcher.py_func.__module__)
    for attr in ("types", "dtype", "key"):
        sub = getattr(t, attr, None)
        for s in (sub if isinstance(sub, tuple) else (sub,)):
            if isinstance(s, types.Type):
                _hft_modules(s, out, seen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--tree", default=str(Path(__file__).resolve().parents[1]))
    args = ap.parse_args()
    root = os.path.realpath(os.path.join(args.tree, "hft"))
    sys.path.insert(0, os.path.dirname(root))
    import hft  # noqa: F401  (registers the locator; the pickled types name hft classes)
    from hft._numba_key import SourceStamps, module_files

    stamps = SourceStamps(root)
    by_rel = {rel: name for name, rel in module_files(root).items()}
    dirs = {}  # numba's subdirectory name of each package directory -> its path relative to root
    for d, _, _ in os.walk(root):
        sub = "_".join([os.path.basename(d), hashlib.sha1(os.path.abspath(d).encode()).hexdigest()])
        dirs[sub] = os.path.relpath(d, root).replace(os.sep, "/")
    checked, outside = 0, []
    for nbi in sorted(Path(args.cache).rglob("*-src.py*.nbi")):
        pkg = dirs.get(nbi.parent.name)
        if pkg is None:
            continue  # another checkout's
        modname = nbi.name.split(".", 1)[0]
        rel = f"{modname}.py" if pkg == "." else f"{pkg}/{modname}.py"
        if rel not in by_rel:
            continue
        with open(nbi, "rb") as f:
            pickle.load(f)  # numba's version
            _stamp, overloads = pickle.loads(f.read())
        closure = {by_rel[r] for r in stamps.closure(rel)}
        for key in overloads:
            checked += 1
            mods: set[str] = set()
            for t in key[0]:
                _hft_modules(t, mods, set())
            missing = sorted(m for m in mods if m not in closure and m in sys.modules)
            if missing:
                outside.append({"kernel": nbi.name, "module": by_rel[rel], "types_from": missing})
    print(json.dumps({"signatures_checked": checked, "outside_closure": outside}, indent=1))


if __name__ == "__main__":
    main()
