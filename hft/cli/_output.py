"""Shared CLI output helpers: JSON on stdout, rich rendering, progress that stays quiet when it should."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def emit(result: Any, json_mode: bool, render: Callable[[], None] | None = None) -> None:
    """Print `result` as JSON on stdout (json_mode) or call `render` for the human view."""
    if json_mode:
        sys.stdout.write(json.dumps(result, default=_json_default, sort_keys=False) + "\n")
        sys.stdout.flush()
    elif render is not None:
        render()


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def fmt_value(v: Any) -> str:
    """A metric for a table cell: ``n/a`` for None, 4 significant digits for floats."""
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def console(stderr: bool = False):
    """A rich Console (imported lazily)."""
    from rich.console import Console

    return Console(stderr=stderr)


def show_progress(json_mode: bool) -> bool:
    """Progress bars only for humans: not under --json and only on a TTY (stderr)."""
    return not json_mode and sys.stderr.isatty()


class progress_bar:
    """A rich progress bar on stderr (`label`, done/total `unit`); a no-op when disabled or without a TTY.

    Use as ``with progress_bar("search", "trials", enabled=not json_out) as update: update(done, total)``.
    """

    def __init__(self, label: str, unit: str = "", *, enabled: bool = True) -> None:
        self.label, self.unit = label, unit
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None

    def __enter__(self) -> Callable[[int, int], None]:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn(self.label), BarColumn(),
                                 TextColumn("{task.completed:,}/{task.total:,} " + self.unit), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=None)
        return self.update

    def update(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
