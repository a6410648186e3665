"""DiskPressureMonitor: watches the free space of the WAL directory and sets a pressure level.

Levels: NORMAL < WARNING < CRITICAL < HALT. A threshold is the free space *at or below which* a level applies,
given in bytes (``"2GiB"``, an int) or in percent of the filesystem size (``"5%"``). A background thread
re-evaluates every `interval_s`; :attr:`level` is a plain attribute read (cheap, thread-safe under the GIL).
Hooks fire on every level change (from the monitor thread; a failing hook is logged and ignored).

What the levels mean for :class:`~hft.recorder.wal_first.WALFirstWriter`:

* WARNING - logged; writes go on.
* CRITICAL - the topic's policy applies: ``write`` (go on), ``drop`` (refuse with a warning, counted as
  dropped) or ``halt`` (refuse, as HALT).
* HALT - every ``write()`` returns False at once; the caller counts a data-loss event.

The monitor survives its own errors: a failing ``statvfs`` is logged and counted, the last level is kept and
the check is retried at the next interval.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hft.config.strict import Section
from hft.core.errors import ConfigError
from hft.core.units import parse_size_bytes

log = logging.getLogger("hft.recorder.disk")


class DiskLevel(enum.IntEnum):
    NORMAL = 0
    WARNING = 1
    CRITICAL = 2
    HALT = 3


@dataclass(frozen=True)
class Threshold:
    """Free space at or below which a level applies: absolute bytes or a percent of the filesystem size."""
    bytes: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, value: str | int | float, *, key: str = "threshold") -> Threshold:
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                pct = float(value.strip()[:-1])
            except ValueError:
                raise ConfigError(f"{key}: expected a size like '2GiB' or a percent like '5%', was {value!r}",
                                  key=key) from None
            if not 0 <= pct <= 100:
                raise ConfigError(f"{key}: expected a percent in [0, 100], was {value!r}", key=key)
            return cls(percent=pct)
        if isinstance(value, float) and not isinstance(value, bool):
            if value != int(value):
                raise ConfigError(f"{key}: expected bytes as an integer or a size string, was {value!r}", key=key)
            value = int(value)
        return cls(bytes=parse_size_bytes(value, key=key))

    def free_bytes(self, total: int) -> int:
        if self.bytes is not None:
            return self.bytes
        return int(total * (self.percent or 0.0) / 100.0)

    def __str__(self) -> str:
        return f"{self.percent}%" if self.percent is not None else f"{self.bytes}B"


@dataclass(frozen=True)
class DiskThresholds:
    warning: Threshold
    critical: Threshold
    halt: Threshold

    @classmethod
    def from_values(cls, warning: str | int = "10%", critical: str | int = "5%",
                    halt: str | int = "1%") -> DiskThresholds:
        return cls(Threshold.parse(warning, key="warning"), Threshold.parse(critical, key="critical"),
                   Threshold.parse(halt, key="halt"))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str | None = None) -> DiskThresholds:
        """Strict parse of ``{warning: …, critical: …, halt: …}`` (unknown keys are a ConfigError)."""
        s = Section(data, file, "disk")
        out = cls.from_values(s.raw("warning", "10%"), s.raw("critical", "5%"), s.raw("halt", "1%"))
        s.done()
        return out

    def level_for(self, free: int, total: int) -> DiskLevel:
        if free <= self.halt.free_bytes(total):
            return DiskLevel.HALT
        if free <= self.critical.free_bytes(total):
            return DiskLevel.CRITICAL
        if free <= self.warning.free_bytes(total):
            return DiskLevel.WARNING
        return DiskLevel.NORMAL


Hook = Callable[[DiskLevel, DiskLevel, int], None]

#: Environment variable with the thresholds of the monitor every CLI writer attaches, e.g.
#: ``warning=10%,critical=5%,halt=1%`` (any subset; the others keep their defaults).
ENV_THRESHOLDS = "HFT_DISK_THRESHOLDS"


def env_thresholds() -> DiskThresholds:
    """Thresholds from ``$HFT_DISK_THRESHOLDS`` (defaults when unset). ConfigError naming the variable if bad."""
    raw = os.environ.get(ENV_THRESHOLDS, "").strip()
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        key, eq, value = part.partition("=")
        if not eq or key.strip() not in ("warning", "critical", "halt") or key.strip() in values:
            raise ConfigError(f"{ENV_THRESHOLDS}: expected 'warning=10%,critical=5%,halt=1%' (each at most once), "
                              f"was {raw!r}", key=ENV_THRESHOLDS)
        values[key.strip()] = value.strip()
    try:
        return DiskThresholds.from_mapping(values, ENV_THRESHOLDS)
    except ConfigError as exc:  # "halt: expected ...": said of the variable
        raise ConfigError(f"{ENV_THRESHOLDS}: {exc.message}", key=ENV_THRESHOLDS) from None


def disk_usage(path: str | Path) -> tuple[int, int]:
    """(free bytes available to unprivileged users, total bytes) of the filesystem holding `path`."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


class DiskPressureMonitor:
    """Background free-space watcher of `path`.

    Args:
        path: the directory to watch (the WAL directory).
        thresholds: levels; defaults WARNING 10%, CRITICAL 5%, HALT 1% free.
        interval_s: seconds between checks.
        usage: injectable ``path -> (free, total)`` (tests); defaults to ``statvfs``.
    """

    def __init__(self, path: str | Path, thresholds: DiskThresholds | None = None, *, interval_s: float = 1.0,
                 usage: Callable[[str | Path], tuple[int, int]] = disk_usage) -> None:
        self.path = Path(path)
        self.thresholds = thresholds or DiskThresholds.from_values()
        self.interval_s = float(interval_s)
        self._usage = usage
        self._hooks: list[Hook] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.level: DiskLevel = DiskLevel.NORMAL
        self.free_bytes: int | None = None
        self.total_bytes: int | None = None
        self.checks = 0
        self.errors = 0
        self.hook_errors = 0
        self.last_error: str | None = None

    # --- control -------------------------------------------------------------------------------------------
    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(old_level, new_level, free_bytes)`` on every level change."""
        with self._lock:
            self._hooks.append(hook)

    def start(self) -> DiskPressureMonitor:
        """Evaluate once now, then keep evaluating in a daemon thread."""
        self.check_now()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="hft-disk-monitor", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        t, self._thread = self._thread, None
        if t is not None:
            t.join(timeout=max(1.0, 2 * self.interval_s))

    def __enter__(self) -> DiskPressureMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- evaluation ----------------------------------------------------------------------------------------
    def check_now(self) -> DiskLevel:
        """Evaluate the level now (also what the thread does). Never raises: errors keep the last level."""
        with self._lock:
            self.checks += 1
            try:
                free, total = self._usage(self.path)
                new = self.thresholds.level_for(free, total)
            except Exception as exc:  # survive anything: log, keep the last level, retry later
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("disk monitor: cannot read free space of %s (%s); keeping level %s",
                            self.path, self.last_error, self.level.name)
                return self.level
            self.free_bytes, self.total_bytes = free, total
            old = self.level
            self.level = new
            hooks = list(self._hooks) if new != old else []
        if hooks:
            (log.warning if new > old else log.info)(
                "disk pressure on %s: %s -> %s (%d bytes free of %d)", self.path, old.name, new.name, free, total)
            for hook in hooks:
                try:
                    hook(old, new, free)
                except Exception as exc:
                    self.hook_errors += 1
                    log.error("disk monitor hook %r failed: %s: %s", hook, type(exc).__name__, exc)
        return new

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check_now()
            except Exception as exc:  # pragma: no cover - check_now does not raise; belt and braces
                self.errors += 1
                log.error("disk monitor loop error: %s", exc)

    def snapshot(self) -> dict[str, Any]:
        return {"path": str(self.path), "level": self.level.name, "free_bytes": self.free_bytes,
                "total_bytes": self.total_bytes, "checks": self.checks, "errors": self.errors,
                "last_error": self.last_error,
                "thresholds": {"warning": str(self.thresholds.warning), "critical": str(self.thresholds.critical),
                               "halt": str(self.thresholds.halt)}}
