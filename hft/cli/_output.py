"""Shared CLI output helpers: JSON on stdout, rich rendering, progress that stays quiet when it should."""

from __future__ import annotations

import json
import re
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
    from hft.core.jsonable import json_default  # lazy: hft --help loads this module and must not load numpy

    return json_default(obj)


def fmt_value(v: Any) -> str:
    """A metric for a table cell: ``n/a`` for None, 4 significant digits for floats."""
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def fmt_money(v: float) -> str:
    """An amount for a person: ``1,234.56``; small amounts by significant digits (``-2.3e-05``), never ``0.00``."""
    if v == 0:
        return "0"
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"


def count(n: int, noun: str) -> str:
    """``"1 trial"``, ``"3 trials"``, with a thousands separator: a count as a person writes it."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def console(stderr: bool = False):
    """A rich Console (imported lazily) whose printed text never breaks inside a word: on a terminal a long line
    is wrapped at its spaces, a word longer than the width (a path, a run hash) kept whole on its own line so a
    person can copy it; into a pipe or a file lines are not wrapped at all (tables fit the width either way)."""
    global _CONSOLE
    if _CONSOLE is None:
        from rich.console import Console

        class WordWrapConsole(Console):
            def print(self, *objects: Any, **kw: Any) -> None:
                if not (self.is_terminal and objects and all(isinstance(o, str) for o in objects)
                        and set(kw) <= {"style", "end", "highlight", "markup"}):
                    super().print(*objects, **kw)
                    return
                text = self.render_str(" ".join(objects), style=kw.pop("style", ""), markup=kw.pop("markup", None),
                                       highlight=kw.pop("highlight", None))
                super().print(*word_wrap(text, self.width), sep="\n", **kw)

        _CONSOLE = WordWrapConsole
    return _CONSOLE(stderr=stderr, soft_wrap=True)


_CONSOLE: Any = None  # the console class, made on first use (rich is imported lazily)


def word_wrap(text: Any, width: int) -> list[Any]:
    """Lines of a rich `Text` of at most `width` cells, broken only at spaces (styles kept); a word longer than
    `width` stands alone on its line, whole."""
    out = []
    for line in text.split("\n", allow_blank=True):
        plain, start, cuts = line.plain, 0, []
        for m in re.finditer(r"\S+", plain):
            if m.end() - start > width and plain[start:m.start()].strip():
                cuts.append(m.start())
                start = m.start()
        for part in line.divide(cuts):
            part.rstrip()
            out.append(part)
    return out


# The progress display lives in its own module; these names stay importable from here.
from hft.cli._progress import progress_bar, show_progress  # noqa: E402

__all__ = ["console", "emit", "fmt_money", "fmt_value", "progress_bar", "show_progress"]
