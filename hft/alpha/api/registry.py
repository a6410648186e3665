"""Find alphas BY ID: ``<research root>/alphas/<alpha_id>/alpha.py``.

The research root is ``$HFT_RESEARCH_ROOT`` when set, else the repository's ``research/`` folder (located from
this package for an editable install). The file path is computed from a validated id, never taken from config:
an id that is not a lowercase identifier, or has a path separator or ``..``, is refused before touching disk.

The module is imported by file path under a private module name, and must define exactly one `Alpha`
subclass whose ``alpha_id`` equals the folder name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from hft.alpha.api.base import ALPHA_ID_RE, Alpha, check_alpha_id
from hft.alpha.api.config import AlphaConfig, load_alpha_config
from hft.core.errors import GovernanceError

__all__ = ["POLICY_DIRS", "alpha_dir", "alphas_root", "code_dir", "fresh_alpha", "get_alpha", "list_alphas",
           "load_alpha_class", "load_config", "repo_research_dir", "research_root"]

# Governed strategies whose code is a research folder other than ``alphas/<id>``: a trained policy (id -> its
# folder under the repository's research/, `code_dir`). Its promotion names the trained artifact's folder
# (``params["artifact"]``), which is part of its code.
POLICY_DIRS = {"rl_mm_q": "rl"}

_CACHE: dict[tuple[str, int], type[Alpha]] = {}


def repo_research_dir() -> Path:
    """The repository's ``research/`` folder (beside the ``hft`` package)."""
    return Path(__file__).resolve().parents[3] / "research"


def research_root() -> Path:
    """``$HFT_RESEARCH_ROOT`` or the repository's ``research/``."""
    env = os.environ.get("HFT_RESEARCH_ROOT")
    return Path(env).absolute() if env else repo_research_dir()


def alphas_root(root: str | Path | None = None) -> Path:
    """``<research root>/alphas`` (`root` overrides the research root)."""
    return (Path(root) if root is not None else research_root()) / "alphas"


def alpha_dir(alpha_id: str, root: str | Path | None = None) -> Path:
    """Folder of an alpha (the id is validated first; the folder may not exist)."""
    return alphas_root(root) / check_alpha_id(alpha_id)


def code_dir(alpha_id: str, root: str | Path | None = None) -> Path:
    """The folder holding the code of `alpha_id`: ``alphas/<id>`` under the research root, or a trained policy's
    folder (`POLICY_DIRS`) under the repository's ``research/``, where its tool is loaded from
    (`hft.cli._research`) whatever ``$HFT_RESEARCH_ROOT`` says. `root` overrides either research folder."""
    rel = POLICY_DIRS.get(alpha_id)
    if rel is None:
        return alpha_dir(alpha_id, root)
    return (Path(root) if root is not None else repo_research_dir()) / rel


def list_alphas(root: str | Path | None = None) -> list[str]:
    """Ids of every alpha folder holding an ``alpha.py``, sorted."""
    root = alphas_root(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and ALPHA_ID_RE.fullmatch(p.name) and (p / "alpha.py").is_file())


def load_alpha_class(alpha_id: str, root: str | Path | None = None) -> type[Alpha]:
    """The `Alpha` subclass of `alpha_id` (GovernanceError for an unknown id, listing the known ones).

    `root` overrides the research root (tests); the path is always ``<root>/alphas/<alpha_id>/alpha.py``.
    """
    path = alpha_dir(alpha_id, root) / "alpha.py"
    if not path.is_file():
        known = list_alphas(root)
        raise GovernanceError(f"unknown alpha {alpha_id!r}: expected one of {known} (under {alphas_root(root)})",
                              key="alpha_id", hint="create one with `hft alpha scaffold NAME`")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns)
    if key in _CACHE:
        return _CACHE[key]
    digest = hashlib.blake2b(key[0].encode(), digest_size=6).hexdigest()
    mod_name = f"_hft_alpha_{alpha_id}_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise GovernanceError(f"alpha {alpha_id}: cannot load {path}", file=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # dataclasses and numba need the module registered while it executes
    try:
        spec.loader.exec_module(module)
    except GovernanceError:
        sys.modules.pop(mod_name, None)
        raise
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        raise GovernanceError(f"alpha {alpha_id}: importing {path} raised {type(exc).__name__}: {exc}",
                              file=str(path)) from exc
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, Alpha) and v is not Alpha and v.__module__ == mod_name]
    if len(found) != 1:
        raise GovernanceError(f"alpha {alpha_id}: expected exactly one Alpha subclass in {path}, found "
                              f"{len(found)}", file=str(path))
    cls = found[0]
    if cls.alpha_id != alpha_id:
        raise GovernanceError(f"alpha {alpha_id}: expected alpha_id {alpha_id!r} in {path}, was "
                              f"{cls.alpha_id!r}", file=str(path), key="alpha_id")
    _CACHE[key] = cls
    return cls


def fresh_alpha(alpha: Alpha) -> Alpha:
    """A new instance of `alpha`'s class, with its params, from a FRESH execution of the file defining it.

    Nothing `alpha` computed earlier can reach the copy: module globals, class attributes, ``functools`` caches
    and instance state all start empty (gate A's exact lookahead tests recompute on such a copy, so a memo of
    the whole day's signal cannot answer a truncated or perturbed frame). An alpha whose class has no source
    file (defined interactively) is returned as is.
    """
    cls = type(alpha)
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if not path or not Path(path).is_file():
        return alpha
    name = f"{cls.__module__}__fresh"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return alpha
    fresh = importlib.util.module_from_spec(spec)
    sys.modules[name] = fresh  # dataclasses need the module registered while it executes
    try:
        spec.loader.exec_module(fresh)
    except Exception as exc:
        raise GovernanceError(f"alpha {alpha.alpha_id}: importing {path} again raised {type(exc).__name__}: "
                              f"{exc}", file=str(path)) from exc
    finally:
        sys.modules.pop(name, None)
    _reuse_compiled_kernels(vars(fresh), vars(module))
    copy = vars(fresh).get(cls.__qualname__)
    if not (isinstance(copy, type) and issubclass(copy, Alpha)):
        return alpha  # a class nested in a function or built at run time: no fresh copy to make
    return copy(dataclasses.asdict(alpha.params))


def _reuse_compiled_kernels(fresh: dict[str, Any], original: dict[str, Any]) -> None:
    """Point the fresh module's numba kernels at the original module's compiled ones where their code is the same.

    A jitted kernel keeps no state between calls that Python code could read (its globals are frozen at compile
    time), so sharing it cannot carry a memo into the fresh copy, and gate A's ~40 recomputes do not each compile
    the alpha's kernels again when they are not disk-cached. A kernel with an object-mode block (which runs Python
    against the original module's globals) is left to compile afresh."""
    for key, obj in list(fresh.items()):
        old = original.get(key)
        code = getattr(getattr(obj, "py_func", None), "__code__", None)
        if (old is None or old is obj or code is None or type(old) is not type(obj)
                or not type(obj).__module__.startswith("numba")
                or getattr(old.py_func, "__code__", None) != code or _uses_object_mode(code)):
            continue
        fresh[key] = old


def _uses_object_mode(code: Any) -> bool:
    """Whether `code` or a code object nested in it names numba's ``objmode``."""
    return "objmode" in code.co_names or any(
        _uses_object_mode(c) for c in code.co_consts if hasattr(c, "co_names"))


def get_alpha(alpha_id: str, params: Any = None, root: str | Path | None = None) -> Alpha:
    """An instance of `alpha_id` with `params` (None: the defaults)."""
    return load_alpha_class(alpha_id, root)(params)


def load_config(alpha_id: str, path: str | Path | None = None, root: str | Path | None = None) -> AlphaConfig:
    """The alpha's ``config.yaml`` (or `path`), strictly parsed against its class."""
    cls = load_alpha_class(alpha_id, root)
    return load_alpha_config(path or alpha_dir(alpha_id, root) / "config.yaml", cls)
