"""Known-answer self-tests of the compiled kernels: a kernel family proves it answers right on this CPU target
before anything runs on it.

Compiled code can answer differently on another CPU target when a kernel relies on undefined behaviour or when
the compiler is wrong (docs/architecture.md, "Undefined behaviour"). So each *family* of kernels has a check: a
few tiny known inputs run through the family's real entry points, each answer compared with the one recorded in
the check's module. `ensure(family)` runs the check the first time a compiled cache is used on a CPU target
(every kernel family's entry point calls it), and records the pass as a marker file in numba's cache directory,
keyed by everything that decides the machine code: the kernels' sources, numba and llvmlite, the CPU name and
features, the optimisation level and bounds checking. Later uses find the marker (one ``stat`` per process).
A wrong answer raises `KernelError` (exit 18) naming the family, what it got and what was expected, and the CPU
target; nothing is marked, so every later use refuses too. `hft warmup` runs every family (`run_all`).

The checks live beside their kernels (`FAMILIES`: ``module:function``; each returns `Answer` records) and import
nothing above their own layer.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hft.core.errors import KernelError
from hft.core.fileio import atomic_write_text

# family → (its check, ``module:function``; what it covers)
FAMILIES: dict[str, tuple[str, str]] = {
    "events": ("hft.data.selftest:events", "the event-file check and content digest"),
    "binance": ("hft.data.selftest:binance", "the Binance capture scanner, units and sync kernels"),
    "lobster": ("hft.data.selftest:lobster", "the LOBSTER import and book-verify kernels"),
    "gateway": ("hft.gateway.selftest:decisions", "the gateway's decision core"),
    "replay-l2": ("hft.sim.selftest:replay_l2", "the L2 venue and the replay loop"),
    "replay-l3": ("hft.sim.selftest:replay_l3", "the L3 venue and the replay loop"),
    "pnl": ("hft.sim.selftest:pnl", "a strategy kernel's PnL (hft.sim.fees.mark_pnl: exact, rounded once)"),
}
FALLBACK_TARGET = "x86-64-v2"  # portable code, what the hint offers


@dataclass(frozen=True)
class Answer:
    """One known answer of a check: what it is, the recorded value, the value computed now."""

    what: str
    expected: str
    got: str


_passed: set[str] = set()
_running: set[str] = set()


def target() -> str:
    """The CPU target numba compiles for: ``NUMBA_CPU_NAME`` when set, else this machine's CPU (``host: <name>``)."""
    import llvmlite.binding as llvm  # lazy: numba's binding, loaded only where kernels run
    from numba.core import config  # lazy: as above

    return config.CPU_NAME if config.CPU_NAME else f"host: {llvm.get_host_cpu_name()}"


def _codegen_key() -> str:
    """What decides the machine code besides the sources: versions, target triple, CPU name and features,
    optimisation level, bounds checking."""
    import llvmlite  # lazy: as in `target`
    import numba  # lazy: as in `target`
    from numba.core import config  # lazy: as in `target`
    from numba.core.registry import cpu_target  # lazy: as in `target`

    magic = cpu_target.target_context.codegen().magic_tuple()
    return repr((numba.__version__, llvmlite.__version__, magic, str(config.OPT), config.BOUNDSCHECK,
                 config.DISABLE_JIT))


def _marker(family: str) -> Path | None:
    """Where the pass of `family` on this target is recorded (None: no cache directory to record it in)."""
    cache = os.environ.get("NUMBA_CACHE_DIR")
    if not cache:
        return None
    from hft._numba_key import key_digest  # lazy: reads the sources (memoised by their stamps)

    root = Path(__file__).resolve().parents[1]
    h = hashlib.blake2b(digest_size=10)
    h.update(key_digest(str(root), cache).encode())
    h.update(_codegen_key().encode())
    return Path(cache) / "hft-selftest" / f"{family}-{h.hexdigest()}.ok"


def _check(family: str) -> Callable[[], list[Answer]]:
    spec = FAMILIES[family][0]
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def answers(family: str) -> list[Answer]:
    """`family`'s check run now: each known answer beside the one computed (nothing compared, nothing recorded)."""
    _running.add(family)
    try:
        return _check(family)()
    finally:
        _running.discard(family)


def run(family: str) -> list[Answer]:
    """Run `family`'s check now (whatever is recorded) and return its answers.

    Raises:
        KernelError: an answer differs from the recorded one.
    """
    try:
        got = answers(family)
    except KernelError:  # another family's check, reached through this one's entry points
        raise
    except Exception as exc:  # a known-good input refused or crashing: the kernels misbehave, not the data
        got = [Answer("its known input", "answers", f"{type(exc).__name__}: {exc}")]
    wrong = [a for a in got if a.got != a.expected]
    if wrong:
        w = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise KernelError(
            f"the {family} kernels ({FAMILIES[family][1]}) compiled for CPU target {target()} answer a known "
            f"input wrongly: {w.what}: expected {w.expected}, got {w.got}{more}; nothing was run on them",
            hint=f"this is the compiled code, not your data: run with NUMBA_CPU_NAME={FALLBACK_TARGET} (portable "
                 "code, compiled into a cache of its own) and report the CPU target and this line",
            family=family, target=target(), what=w.what, expected=w.expected, found=w.got)
    _passed.add(family)
    return got


def ensure(family: str) -> None:
    """Make sure `family` gave its known answers on this cache and CPU target: once per process, and the check
    itself only when no pass is recorded (a fresh cache, another target, changed kernels).

    Raises:
        KernelError: the check failed (`run`).
    """
    if family in _passed or family in _running:  # a check's own use of the kernels does not check again
        return
    marker = _marker(family)
    if marker is not None and marker.exists():
        _passed.add(family)
        return
    run(family)
    _record(family, marker)


def passed(family: str) -> bool:
    """Whether a pass of `family` is recorded for this cache, these kernel sources and this CPU target: its
    kernels were compiled into this cache (a command that would compile them can tell a cold cache from a warm
    one without compiling anything)."""
    if family in _passed:
        return True
    marker = _marker(family)
    return marker is not None and marker.exists()


def run_all() -> dict[str, int]:
    """Run every family's check now (`hft warmup`); returns the number of answers each compared.

    Raises:
        KernelError: the first family with a wrong answer.
    """
    out = {}
    for family in FAMILIES:
        out[family] = len(run(family))
        _record(family, _marker(family))
    return out


def _record(family: str, marker: Path | None) -> None:
    """Record `family`'s pass at `marker` (nothing without a cache directory; an unwritable one: the check runs
    again in the next process)."""
    if marker is None:
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(marker, f"{family} {target()}\n")
    except OSError:
        pass
