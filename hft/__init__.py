"""hft: deterministic event-replay simulation through a real order gateway, and alpha governance."""

__version__ = "0.1.0"


def _configure_numba_cache() -> None:
    """Cache each compiled kernel until its meaning, or that of something it compiles in, changes.

    numba keeps a kernel's cached machine code while the kernel's own file is unchanged: a comment edit recompiles
    the file's kernels, and a kernel that calls a changed kernel, or reads a changed constant, of another module
    keeps the old code (a silent, wrong result after a ``git pull``). So numba's cache locator for this package's
    functions is `hft._numba_locator.SourceLocator`, registered here, first in numba's list, as soon as numba is
    imported (`_after_numba`): a kernel's entry holds while its module and every ``hft`` module it imports,
    directly or through another, keep the same source up to docstrings, comments and line numbers
    (`hft._numba_key.SourceStamps`). A docstring edit recompiles nothing; an edit of one module recompiles the
    kernels of that module and of the modules importing it; a module no kernel imports recompiles nothing.

    The cache lives in ``$NUMBA_CACHE_DIR`` = ``<cache>/hft/numba/<checkout>-<hash of its path>``, one per
    checkout, for all its versions (an index entry is overwritten when its kernel recompiles). A checkout's
    cache is pruned only when no process has used it for a week (and never the two newest), so several checkouts
    on one machine (branches, worktrees, a CI clone) keep theirs. An explicit ``NUMBA_CACHE_DIR`` is respected
    (and ``NUMBA_CACHE_LOCATOR_CLASSES``, numba's own list, bypasses the locator). ``<cache>`` is
    ``$XDG_CACHE_HOME`` or ``~/.cache``. Costs well under a millisecond at import; the stamps are read when numba
    defines the first kernel (each file's size and modification time against a memo beside the cache; a changed
    file is parsed again).
    """
    import os  # lazy: the package namespace stays `__version__` only
    import sys  # lazy: the package namespace stays `__version__` only

    _default_target(os, sys)
    _target_features(os, sys)
    _after_numba(sys)
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    import hashlib  # lazy: the package namespace stays `__version__` only
    from pathlib import Path  # lazy: the package namespace stays `__version__` only

    root = os.path.dirname(os.path.realpath(__file__))
    tag = hashlib.blake2b(root.encode(), digest_size=8).hexdigest()
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hft" / "numba"
        target = base / f"{os.path.basename(os.path.dirname(root))}-{tag}"
        if not target.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            _prune(base, keep=target)
        else:
            os.utime(target)  # "last used": what pruning reads
    except OSError:  # an unwritable cache home: numba's default (beside the sources)
        return
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    if "numba" in sys.modules:  # imported before hft: its config was read already
        sys.modules["numba"].config.CACHE_DIR = str(target)


def _after_numba(sys) -> None:
    """Register `hft._numba_locator` with numba: now if numba is imported, else right after its cache module
    loads (a one-shot import hook: ``import hft`` must not import numba, ~0.4 s, for a command that compiles
    nothing; the hook must run before any ``hft`` kernel is defined)."""
    if "numba.core.caching" in sys.modules:
        from hft._numba_locator import register  # lazy: imports numba

        register()
        return

    class _Hook:
        def find_spec(self, name, path, target=None):
            if name != "numba.core.caching":
                return None
            sys.meta_path.remove(self)
            import importlib.util  # lazy: the package namespace stays `__version__` only

            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                from hft._numba_locator import register  # lazy: numba's cache module is loaded now

                register()

            spec.loader.exec_module = exec_module
            return spec

    if not any(type(f).__name__ == "_Hook" and type(f).__module__ == __name__ for f in sys.meta_path):
        sys.meta_path.insert(0, _Hook())


# The x86-64 feature levels a default target is chosen from (the psABI's levels, LLVM's CPU names), lowest first,
# each with the /proc/cpuinfo flags it adds to the level below.
_X86_LEVELS = (
    ("x86-64-v2", frozenset(["cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"])),
    ("x86-64-v3", frozenset(["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"])),
)


def _x86_level(flags: set[str] | frozenset[str]) -> str:
    """The highest level of `_X86_LEVELS` a CPU with these /proc/cpuinfo `flags` executes (``x86-64`` below v2)."""
    level = "x86-64"
    for name, adds in _X86_LEVELS:
        if not adds <= flags:
            break
        level = name
    return level


def _default_target(os, sys) -> None:
    """Without ``NUMBA_CPU_NAME``, on x86-64 Linux, kernels compile for an x86-64 feature level — x86-64-v3 where
    the CPU has AVX2 (`_x86_level`), else v2 — not for this CPU's model (numba's default).

    So every user's kernels are code that CI compiles and tests (`.ci/targets` runs v2, v3 and v4: the same
    answers on every CPU), not a model-tuned variant no one tested; and on the replay loop x86-64-v3 measured faster
    than both the model's own name (znver4) and x86-64-v4 (AVX-512) on an AMD EPYC (bench/JOURNAL.md). An
    explicit ``NUMBA_CPU_NAME`` is respected (``x86-64-v4``, or a model such as ``znver4`` or
    ``sapphirerapids``); other systems and architectures keep numba's default.
    """
    if os.environ.get("NUMBA_CPU_NAME") or not sys.platform.startswith("linux") or os.uname().machine != "x86_64":
        return
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), None)
    except OSError:
        return
    if flags is None:
        return
    os.environ["NUMBA_CPU_NAME"] = _x86_level(set(flags))
    if "numba" in sys.modules:  # imported before hft: its config was read already
        sys.modules["numba"].config.CPU_NAME = os.environ["NUMBA_CPU_NAME"]


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


def _keep_moved_paths() -> None:
    """Old import paths of moved modules keep working, with a DeprecationWarning (`hft.core.exports`)."""
    from hft.core.exports import install_moved_finder  # lazy: the package namespace stays `__version__` only

    install_moved_finder()


_keep_moved_paths()
