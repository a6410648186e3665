"""The binary TCP intake's frame layout (shared by the server, `hft.live.tcp`, and the client,
`hft.live.client`; described in docs/live.md "TCP intake"). No heavy imports besides numpy: a client loads only
this."""

from __future__ import annotations

import struct

import numpy as np

from hft.core.orders import OPTION_NAMES, ORDER_UPDATE, order_options

HELLO, NEW, CANCEL, REPLACE = 0x01, 0x02, 0x03, 0x04
READY, DECISION, REPORT, ERROR = 0x81, 0x82, 0x83, 0xEE
MAX_FRAME = 4096
FLAG_DURABLE = 1

HEAD = struct.Struct("<IB")
NEW_FIXED = struct.Struct("<QBbBBqq")
CANCEL_FIXED = struct.Struct("<QBq")
REPLACE_FIXED = struct.Struct("<QBqqq")  # corr, flags, order_id, price, qty
NEW_TRIGGER = struct.Struct("<q")  # a NEW frame's first tail (after its strings), the 8-byte one: a stop's trigger
NEW_TAIL_FIELDS = OPTION_NAMES
"""The NEW frame's counted tail (`new_tail`): ``count u8``, then that many ``i64``, a new order's optional fields
in this order (`hft.core.orders.ORDER_OPTIONS`: a stop's trigger in ticks, a GTD order's expiry in ns UTC, an
iceberg's display in lots, a trailing stop's trail in ticks); the fields not sent are 0. The next optional field
declared there is one more entry
(old frames keep parsing: their count is smaller)."""
NEW_TAIL_COUNT = struct.Struct("<B")
NEW_TAIL_FIELD = struct.Struct("<q")
DECISION_BODY = struct.Struct("<QHBBBhqQq")
ERROR_FIXED = struct.Struct("<QH")
DECISION_ANSWER = np.dtype([("corr", "<u8"), ("status", "<u2"), ("accepted", "u1"), ("duplicate", "u1"),
                            ("kind", "u1"), ("reason", "<i2"), ("order_id", "<i8"), ("seq", "<u8"), ("ts", "<i8")])
"""`DECISION_BODY` as a numpy dtype (answers written and read column-wise). A wire format of its own (packed;
``corr`` / ``status`` are the connection's), not a projection of the decision record `hft.core.orders.DECISION`,
whose fields it carries at their widths (a test pins the bytes)."""
DECISION_FRAME = np.dtype([("len", "<u4"), ("type", "u1"), ("a", DECISION_ANSWER)])
"""A whole DECISION frame: ``len`` is always ``DECISION_FRAME.itemsize - 4``."""


class FrameError(Exception):
    """A frame that cannot be parsed: the connection is answered 400 and closed."""


def strings(body: bytes | memoryview, pos: int, n: int) -> list[str]:
    """`n` length-prefixed UTF-8 strings from `pos` to the body's end (FrameError when short, longer or not
    UTF-8)."""
    out, end = strings_at(body, pos, n)
    if end != len(body):
        raise FrameError(f"expected {end} bytes of body, was {len(body)}")
    return out


def new_strings(body: bytes | memoryview, pos: int) -> tuple[list[str], tuple[int, ...]]:
    """A NEW frame's five strings from `pos`, and its optional fields (`NEW_TAIL_FIELDS`' values, 0 when not sent)
    from the tail after them: none (the NEW frame as it always was), the 8-byte `NEW_TRIGGER` (a stop's trigger, as
    clients before the counted tail send it), or the counted tail (``count u8`` then `count` int64s: 1 + 8 x count
    bytes, never 8). Anything else is a FrameError saying what was expected."""
    out, end = strings_at(body, pos, 5)
    rest = len(body) - end
    if rest == 0:
        return out, _NO_TAIL
    if rest == NEW_TRIGGER.size:
        return out, (NEW_TRIGGER.unpack_from(body, end)[0], *_NO_TAIL[1:])
    n = body[end]
    if n > len(NEW_TAIL_FIELDS):
        raise FrameError(f"NEW frame: tail count {n}: expected at most {len(NEW_TAIL_FIELDS)} fields "
                         f"({', '.join(NEW_TAIL_FIELDS)})")
    if rest != NEW_TAIL_COUNT.size + n * NEW_TAIL_FIELD.size:
        raise FrameError(f"NEW frame: tail of {rest} bytes after the strings: expected {NEW_TRIGGER.size} (a "
                         f"trigger) or 1 + 8 x count bytes (count {n}: {1 + 8 * n})")
    vals = struct.unpack_from(f"<{n}q", body, end + 1)
    return out, vals + _NO_TAIL[n:]


def new_tail(**options: int) -> bytes:
    """The shortest NEW tail carrying these optional fields (``trigger=``, ``expire=``, ``display=``, ``trail=``:
    `hft.core.orders.order_options`): none when all are 0, the 8-byte `NEW_TRIGGER` when only a trigger is (the
    frame an older server reads), else the counted tail up to the last field that is not 0."""
    vals = order_options(**options)
    n = len(vals)
    while n and not vals[n - 1]:
        n -= 1
    if n == 0:
        return b""
    if n == 1:
        return NEW_TRIGGER.pack(vals[0])
    return NEW_TAIL_COUNT.pack(n) + struct.pack(f"<{n}q", *vals[:n])


_NO_TAIL = (0,) * len(NEW_TAIL_FIELDS)


def strings_at(body: bytes | memoryview, pos: int, n: int) -> tuple[list[str], int]:
    """`n` length-prefixed UTF-8 strings from `pos`, and the offset past them (FrameError when short or not
    UTF-8)."""
    out = []
    for _ in range(n):
        if pos >= len(body):
            raise FrameError("short frame: expected more strings")
        k = body[pos]
        pos += 1
        if pos + k > len(body):
            raise FrameError("short frame: string runs past the end")
        try:
            out.append(bytes(body[pos:pos + k]).decode())
        except UnicodeDecodeError:
            raise FrameError("a string is not UTF-8") from None
        pos += k
    return out, pos


def pack_strings(*values: str) -> bytes:
    parts = []
    for v in values:
        b = v.encode()
        if len(b) > 255:
            raise ValueError(f"string too long for a frame ({len(b)} bytes > 255): {v[:20]!r}...")
        parts.append(bytes((len(b),)) + b)
    return b"".join(parts)


def frame(kind: int, body: bytes) -> bytes:
    return HEAD.pack(len(body) + 1, kind) + body


REPORT_ANSWER = np.dtype([(f.name, np.dtype(f.numpy_type).newbyteorder("<")) for f in ORDER_UPDATE.fields])
"""A REPORT frame's body: the order-update record `hft.core.orders.ORDER_UPDATE` packed (its fields in order, no
padding), one per execution report applied to an order the connection sent."""
REPORT_FRAME = np.dtype([("len", "<u4"), ("type", "u1"), ("u", REPORT_ANSWER)])
"""A whole REPORT frame: ``len`` is always ``REPORT_FRAME.itemsize - 4``."""
