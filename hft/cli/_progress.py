"""The one progress display of the CLI: a rich bar on stderr, for humans on a terminal only.

Every long-running command draws its progress through `progress_bar`: a bar with ``done/total unit`` when the
total is known, a moving bar with ``done unit`` (or only the elapsed time) while it is not. Nothing is drawn
under ``--json`` or when stderr is not a terminal. While kernels compile (a cold cache: the first run after an
install or a change of kernel code) the bar says so, so a long first run is never silent.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

COMPILING = "compiling kernels (first run only)"


def show_progress(json_mode: bool) -> bool:
    """Progress displays only for humans: not under --json and only when stderr is a terminal."""
    return not json_mode and sys.stderr.isatty()


def count_text(completed: float, total: float | None, unit: str) -> str:
    """``"1,234/5,678 events"``; ``"1,234 events"`` while the total is unknown; ``""`` before anything is done.

    A task's total is None until the work reports one (rich's own default); formatting it with ``:,`` was the
    crash of issue 13.
    """
    suffix = f" {unit}" if unit else ""
    if total is None:
        return f"{int(completed):,}{suffix}" if completed else ""
    return f"{int(completed):,}/{int(total):,}{suffix}"


class progress_bar:
    """A progress display on stderr; a no-op when disabled or without a terminal.

    ``with progress_bar("search", "trials", enabled=not json_out) as update: update(done, total)``. ``total``
    may be None (unknown yet). `describe(text)` changes the label (a step name). While the work compiles kernels
    the label reads `COMPILING`.
    """

    def __init__(self, label: str, unit: str = "", *, enabled: bool = True) -> None:
        self.label, self.unit = label, unit
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._watch: Any = None
        self._desc = label

    def __enter__(self) -> Callable[[int, int | None], None]:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.text import Text

            unit = self.unit

            class _Count(ProgressColumn):
                def render(self, task: Any) -> Text:
                    return Text(count_text(task.completed, task.total, unit))

            from hft.cli._output import console

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), _Count(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=None)
            from hft.compile_watch import CompileWatch

            self._watch = CompileWatch(on_start=self._compiling, on_end=self._compiled)
            self._watch.__enter__()
        return self.update

    def update(self, done: int, total: int | None = None) -> None:
        """Report progress: ``done`` of ``total`` (None: unknown)."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)

    def describe(self, text: str) -> None:
        """Show ``label: text`` (e.g. the current step)."""
        self._desc = f"{self.label}: {text}" if text else self.label
        if self._bar is not None:
            self._bar.update(self._task, description=self._desc)

    def _compiling(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=f"{self.label}: {COMPILING}")

    def _compiled(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=self._desc)

    def __exit__(self, *exc: object) -> None:
        if self._watch is not None:
            self._watch.__exit__(*exc)
        if self._bar is not None:
            self._bar.__exit__(*exc)
