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


def fmt_money(v: float, unit: float | None = None) -> str:
    """An amount for a person, thousands separated. With its money `unit` (``0.01`` USD, ``1e-09`` BTC): exactly
    that unit's decimals, wherever an amount of it shows (``1,234.50``, ``0.50``, ``0.00``, ``-0.000008613``; every
    amount of a run is a whole number of money units). Without one (an amount converted at a mid): ``1,234.56``,
    small amounts by significant digits (``-2.3e-05``), never ``0.00``."""
    if unit is not None and unit > 0:
        text = f"{v:,.{unit_decimals(unit)}f}"
        return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # never "-0.00"
    if v == 0:
        return "0"
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"


def unit_decimals(unit: float) -> int:
    """The decimals a money unit has: 2 for ``0.01``, 9 for ``1e-09``, 0 for ``1`` or ``100``."""
    from decimal import Decimal  # lazy: only a rendered amount needs it

    return max(0, -int(Decimal(repr(float(unit))).normalize().as_tuple().exponent))


def fmt_qty(v: float) -> str:
    """A quantity in instrument units (shares, coins, contracts) for a person: ``3,538``, ``1,234.5``, ``0.002``."""
    return f"{v + 0.0:,.12g}"  # + 0.0: never "-0"


def fmt_rejects(rejects: dict[str, int]) -> str:
    """Rejects by reason as a person reads them: ``SELF_MATCH 1, RISK_LIMIT 2,345``, or ``none``."""
    return ", ".join(f"{k} {v:,}" for k, v in rejects.items()) or "none"


def short_hash(h: str | None) -> str:
    """A hash (a run hash) as a table shows it: its first 8 hex digits, as the docs write one (``575c790d``);
    ``--json`` and the run folder hold it whole."""
    return (h or "")[:8]


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

__all__ = ["console", "emit", "fmt_money", "fmt_qty", "fmt_rejects", "fmt_value", "progress_bar", "short_hash",
           "show_progress", "unit_decimals"]
