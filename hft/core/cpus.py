"""How many CPUs this process may run on: its affinity set where the OS has one (a process pinned with
``taskset`` or a container's cpuset sees its own share, not the machine's), else the machine's count."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPUs this process may run on (at least 1)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1
