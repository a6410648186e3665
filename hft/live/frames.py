"""The binary TCP intake's frame layout (shared by the server, `hft.live.tcp`, and the client,
`hft.live.client`; described in docs/live.md "TCP intake"). No heavy imports besides numpy: a client loads only
this."""

from __future__ import annotations

import struct

import numpy as np

from hft.core.orders import ORDER_UPDATE

HELLO, NEW, CANCEL, REPLACE = 0x01, 0x02, 0x03, 0x04
READY, DECISION, REPORT, ERROR = 0x81, 0x82, 0x83, 0xEE
MAX_FRAME = 4096
FLAG_DURABLE = 1

HEAD = struct.Struct("<IB")
NEW_FIXED = struct.Struct("<QBbBBqq")
CANCEL_FIXED = struct.Struct("<QBq")
REPLACE_FIXED = struct.Struct("<QBqqq")  # corr, flags, order_id, price, qty
NEW_TRIGGER = struct.Struct("<q")  # a NEW frame's optional tail, after its strings: a stop's trigger (ticks)
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


def new_strings(body: bytes | memoryview, pos: int) -> tuple[list[str], int]:
    """A NEW frame's five strings from `pos`, and its trigger: the `NEW_TRIGGER` after them when the frame has one
    (a stop's; grown at the frame's end, so a frame without it is the NEW frame as it always was), else 0."""
    out, end = strings_at(body, pos, 5)
    if end == len(body):
        return out, 0
    if len(body) - end != NEW_TRIGGER.size:
        raise FrameError(f"NEW frame: expected {end} bytes of body, or {end + NEW_TRIGGER.size} with a trigger, "
                         f"was {len(body)}")
    return out, NEW_TRIGGER.unpack_from(body, end)[0]


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
