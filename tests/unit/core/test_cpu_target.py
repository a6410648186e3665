"""The CPU target `import hft` picks when none is given: on x86-64 Linux the x86-64 feature level the CPU executes
(x86-64-v3 with AVX2 & co., else v2, else plain x86-64), never the CPU's model; an explicit ``NUMBA_CPU_NAME`` is
kept; numba imported before hft gets it too. The levels' flags are checked against the psABI's lists, written out
here apart from the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hft import _x86_level

V2 = {"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"}
V3 = V2 | {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}
V4 = V3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}
LINUX_X86 = pytest.mark.skipif(not sys.platform.startswith("linux") or os.uname().machine != "x86_64",
                               reason="the default level is chosen on x86-64 Linux only")


@pytest.mark.parametrize(("flags", "level"), [
    (set(), "x86-64"),
    ({"sse2", "fpu"}, "x86-64"),
    (V2, "x86-64-v2"),
    (V2 - {"popcnt"}, "x86-64"),
    (V3, "x86-64-v3"),
    (V3 - {"movbe"}, "x86-64-v2"),
    (V3 - V2, "x86-64"),  # v3's own flags without v2's: not v3
    (V4 | {"avx512vnni", "sse4a"}, "x86-64-v3"),  # AVX-512 machines get v3 too
])
def test_the_level_from_the_flags(flags: set[str], level: str) -> None:
    assert _x86_level(frozenset(flags)) == level


def _import_hft(env: dict[str, str], first: str = "") -> str:
    code = f"{first}import hft, os; from numba.core import config; print(os.environ.get('NUMBA_CPU_NAME'), " \
           "config.CPU_NAME, repr(config.CPU_FEATURES))"
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**base, **env}).stdout.strip()


def _this_cpus_level() -> str:
    line = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags"))
    return _x86_level(frozenset(line.split(":", 1)[1].split()))


@LINUX_X86
def test_without_a_target_hft_compiles_for_this_cpus_level() -> None:
    level = _this_cpus_level()
    assert level.startswith("x86-64")
    assert _import_hft({}) == f"{level} {level} ''"
    assert _import_hft({}, first="import numba; ") == f"{level} {level} ''"  # numba imported before hft


@LINUX_X86
def test_an_explicit_target_is_kept() -> None:
    assert _import_hft({"NUMBA_CPU_NAME": "x86-64-v2"}) == "x86-64-v2 x86-64-v2 ''"
    assert _import_hft({"NUMBA_CPU_NAME": "znver3", "NUMBA_CPU_FEATURES": "+avx2"}) == "znver3 znver3 '+avx2'"
