"""`usable_cpus`: the CPUs a process may run on, not the machine's (what `hft warmup` and a sweep's default pool
size read)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hft.core.cpus import usable_cpus


def test_usable_cpus_is_at_least_one_and_at_most_the_machine():
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux's")
def test_a_process_pinned_to_one_cpu_sees_one():
    cpu = min(os.sched_getaffinity(0))
    code = (f"import os; os.sched_setaffinity(0, {{{cpu}}}); from hft.core.cpus import usable_cpus; "
            "print(usable_cpus())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "1"
