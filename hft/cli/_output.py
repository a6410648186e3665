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


def console(stderr: bool = False):
    """A rich Console (imported lazily). Printed text is soft-wrapped: the terminal wraps a long line, rich does
    not break it, so a path or a run hash stays one line a person can copy (tables still fit the width)."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


# The progress display lives in its own module; these names stay importable from here.
from hft.cli._progress import progress_bar, show_progress  # noqa: E402

__all__ = ["console", "emit", "fmt_money", "fmt_value", "progress_bar", "show_progress"]
