"""Building blocks of a self-contained HTML page: escaped tables, matplotlib figures as base64 PNG, one style.

A page written here needs nothing beside it (no script, no external file): every plot is an ``<img>`` whose
``src`` is a ``data:image/png;base64`` URI.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;
color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;
padding-bottom:4px}.sub{color:#5a6475;margin:0 0 16px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}td,th{border:1px solid #dde2ea;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f5f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#137333;font-weight:600}.fail{color:#b3261e;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
figure{margin:0}figure img{width:100%;border:1px solid #dde2ea}figcaption{color:#5a6475;font-size:12px}
pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px;border:1px solid #dde2ea}
.note{color:#5a6475;font-size:12px}
"""


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def fmt(v: Any) -> str:
    """A cell value: floats to 4 significant digits (small amounts kept), ints with separators."""
    if isinstance(v, bool) or v is None:
        return esc("n/a" if v is None else v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != v:
            return "n/a"
        return f"{v:,.2f}" if abs(v) >= 1000 else f"{v:.4g}"
    return esc(v)


def table(rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None, raw: bool = False) -> str:
    """An HTML table; cells are escaped unless `raw` (then they are trusted HTML built here)."""
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
    for r in rows:
        cells = []
        for v in r:
            cls = ' class="num"' if isinstance(v, int | float) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{v if raw and isinstance(v, str) else fmt(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def verdict(ok: bool | None) -> str:
    if ok is None:
        return '<span class="note">n/a</span>'
    return '<span class="pass">pass</span>' if ok else '<span class="fail">fail</span>'


def png_figure(fig: Any, caption: str, dpi: int = 90) -> str:
    """A matplotlib `Figure` as an embedded PNG ``<figure>``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return png_bytes(buf.getvalue(), caption)


def png_bytes(data: bytes, caption: str) -> str:
    """PNG bytes as an embedded ``<figure>``."""
    b64 = base64.b64encode(data).decode("ascii")
    return (f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def page(title: str, subtitle: str, sections: Iterable[tuple[str, str]]) -> str:
    """The whole document: a title, a subtitle and ``(heading, html)`` sections."""
    body = "".join(f"<h2>{esc(h)}</h2>{content}" for h, content in sections)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1><p class=\"sub\">{esc(subtitle)}</p>"
            f"{body}</body></html>\n")
