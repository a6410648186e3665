"""hft: deterministic event-replay simulation through a real order gateway, and alpha governance."""

__version__ = "0.1.0"


def _configure_numba_cache() -> None:
    """Key numba's on-disk cache by the content of every ``hft`` module compiled code can depend on.

    numba invalidates a cached kernel only when *its own* source file changes; a kernel that calls a changed
    kernel, or reads a changed constant, of another module would keep running the old machine code (a silent,
    wrong result after a ``git pull``). So the cache lives in ``$NUMBA_CACHE_DIR`` =
    ``<cache>/hft/numba/<version>-<hash>``, the hash covering the modules numba compiles and every ``hft`` module
    they import (`hft._numba_key`): a change there starts a fresh cache (one recompile), a change elsewhere does
    not. A cache is pruned only when no process has used it for a week (and never the two newest), so several
    checkouts on one machine (branches, worktrees, a CI clone) keep their own caches instead of deleting each
    other's. An explicit ``NUMBA_CACHE_DIR`` is respected.
    ``<cache>`` is ``$XDG_CACHE_HOME`` or ``~/.cache``. Costs a few ms at import (reading the sources).
    """
    import os  # lazy: the package namespace stays `__version__` only
    import sys  # lazy: the package namespace stays `__version__` only

    _target_features(os, sys)
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    from pathlib import Path  # lazy: the package namespace stays `__version__` only

    from hft._numba_key import key_digest  # lazy: the package namespace stays `__version__` only

    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hft" / "numba"
        base.mkdir(parents=True, exist_ok=True)
        digest = key_digest(os.path.dirname(os.path.realpath(__file__)), str(base))
        target = base / f"{__version__}-{digest}"
        if not target.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            _prune(base, keep=target)
        else:
            os.utime(target)  # "last used": what pruning reads
    except OSError:  # unreadable sources or an unwritable cache home: numba's default (beside the sources)
        return
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    if "numba" in sys.modules:  # imported before hft: its config was read already
        sys.modules["numba"].config.CACHE_DIR = str(target)


def _target_features(os, sys) -> None:
    """``NUMBA_CPU_NAME=x86-64-v2`` compiles for that CPU: its own instruction set, not this machine's.

    numba, given a CPU name without ``NUMBA_CPU_FEATURES``, keeps the *host's* feature flags (AVX-512 code
    "for x86-64-v2"), which is neither portable nor what the name says. So when only the name is set, the
    features are set empty: the named CPU's own. An explicit ``NUMBA_CPU_FEATURES`` is respected.
    """
    if os.environ.get("NUMBA_CPU_NAME") and "NUMBA_CPU_FEATURES" not in os.environ:
        os.environ["NUMBA_CPU_FEATURES"] = ""
        if "numba" in sys.modules:  # imported before hft: its config was read already
            sys.modules["numba"].config.CPU_FEATURES = ""


def _prune(base, keep, n_old: int = 2, unused_s: float = 7 * 86400) -> None:
    """Delete caches unused for ``unused_s`` seconds, except the ``n_old`` most recently used."""
    import shutil  # lazy: the package namespace stays `__version__` only
    import time  # lazy: the package namespace stays `__version__` only

    old = sorted((d for d in base.iterdir() if d.is_dir() and d != keep), key=lambda d: d.stat().st_mtime,
                 reverse=True)
    cutoff = time.time() - unused_s
    for d in old[n_old:]:
        if d.stat().st_mtime < cutoff:
            shutil.rmtree(d, ignore_errors=True)


_configure_numba_cache()
