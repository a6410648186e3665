"""The Python TCP client's NEW frames read back through the server's frame layout (`hft.live.frames`): one order
sent alone (`send_new`) and in a run (`send_new_many`, the load generator's path) gives the same frame."""

from __future__ import annotations

import pytest

from hft.live import frames as T
from hft.live.client import TcpOrderClient


def _offline() -> TcpOrderClient:
    """A client with no socket: sending only queues frames (`pending`)."""
    c = object.__new__(TcpOrderClient)
    c.pending, c.corr = [], 0
    return c


def _read(frame: bytes) -> tuple:
    n, kind = T.HEAD.unpack_from(frame)
    assert n == len(frame) - 4 and kind == T.NEW
    body = frame[T.HEAD.size:]
    return T.NEW_FIXED.unpack_from(body) + tuple(T.strings(body, T.NEW_FIXED.size, 5))


def test_a_new_frame_reads_back_as_sent_alone_or_in_a_run() -> None:
    alone, run = _offline(), _offline()
    alone.send_new("c-1", "ACC", "strat", "SYM", "buy", 3, 1000, durable=True, idempotency_key="k1")
    alone.send_new("cé-2", "ACC", "strat", "SYM", "sell", 1, 999, order_type="market", tif="ioc")
    run.send_new_many(["c-1"], "ACC", "strat", "SYM", [1], [3], [1000], durable=True, idempotency_keys=["k1"])
    run.send_new_many(["cé-2"], "ACC", "strat", "SYM", [-1], [1], [999], order_type="market", tif="ioc")
    assert alone.pending == run.pending
    first, second = (_read(f) for f in alone.pending)
    assert first[0] == 1 and first[1] == T.FLAG_DURABLE and first[2] == 1 and first[5:] == (
        1000, 3, "c-1", "ACC", "strat", "SYM", "k1")
    assert second[0] == 2 and second[1] == 0 and second[2] == -1 and second[5:] == (
        999, 1, "cé-2", "ACC", "strat", "SYM", "")


def test_a_stops_trigger_grows_the_new_frame_at_its_end_and_the_scan_leaves_it_to_the_per_frame_path() -> None:
    """A stop's NEW frame is the plain frame plus `NEW_TRIGGER` after its strings: a reader of the old layout finds
    its first bytes unchanged; `new_strings` reads the trigger (0 without it); any other tail is a FrameError; the
    column-wise scan takes the plain frame and stops at the grown one (the per-frame path answers it)."""
    import numpy as np

    from hft.live.tcp_scan import N_COLS, scan_new_frames

    c = _offline()
    c.send_new("s-1", "ACC", "strat", "SYM", "sell", 2, 0, order_type="stop", trigger=12345, corr=1)
    c.send_new("s-1", "ACC", "strat", "SYM", "sell", 2, 0, order_type="stop", corr=1)
    grown, plain = c.pending
    assert grown[T.HEAD.size:len(plain)] == plain[T.HEAD.size:] and len(grown) == len(plain) + T.NEW_TRIGGER.size
    body = grown[T.HEAD.size:]
    strings, tail = T.new_strings(body, T.NEW_FIXED.size)
    assert (strings, tail) == (["s-1", "ACC", "strat", "SYM", ""], (12345, 0, 0, 0, 0, 0))
    assert T.NEW_FIXED.unpack_from(body)[3] == 4  # ORDER_STOP
    assert T.new_strings(plain[T.HEAD.size:], T.NEW_FIXED.size)[1] == (0, 0, 0, 0, 0, 0)
    with pytest.raises(T.FrameError, match="tail count 57: expected at most 6"):  # 12345's low byte, read as a count
        T.new_strings(body + b"\0", T.NEW_FIXED.size)
    with pytest.raises(T.FrameError):
        T.strings(body, T.NEW_FIXED.size, 5)  # the other frames' strings still end their body
    out = np.zeros((4, N_COLS), np.int64)
    assert scan_new_frames(np.frombuffer(plain + grown + plain, np.uint8), 0, out) == (1, len(plain))


@pytest.mark.parametrize("coid,key", [("x" * 256, ""), ("c", "k" * 300)])
def test_a_string_too_long_for_a_frame_is_refused_before_anything_is_queued(coid: str, key: str) -> None:
    c = _offline()
    with pytest.raises(ValueError, match=r"too long for a frame \(\d+ bytes > 255\)"):
        c.send_new(coid, "ACC", "s", "SYM", "buy", 1, 1, idempotency_key=key)
    with pytest.raises(ValueError, match="too long for a frame"):
        c.send_new_many(["ok", coid], "ACC", "s", "SYM", [1, 1], [1, 1], [1, 1], idempotency_keys=["", key])
    assert c.pending == [] and c.corr == 0
    c.send_new("ok", "ACC", "s", "SYM", "buy", 1, 1)
    assert _read(c.pending[0])[0] == 1  # the refusals took no corr id


# the DECISION answer's wire layout (docs/live.md, "TCP intake"): packed, little-endian; clients parse these bytes
DECISION_ANSWER_LAYOUT = [("corr", "<u8", 0), ("status", "<u2", 8), ("accepted", "|u1", 10), ("duplicate", "|u1", 11),
                          ("kind", "|u1", 12), ("reason", "<i2", 13), ("order_id", "<i8", 15), ("seq", "<u8", 23),
                          ("ts", "<i8", 31)]


def test_the_decision_answer_keeps_its_wire_layout_and_carries_decision_fields() -> None:
    """The answer is a wire format of its own, not a projection of the decision record (packed; `corr` and
    `status` are the connection's; `kind` / `seq` unsigned on the wire): its bytes stay, the struct and the dtype
    agree, and each decision field it carries is a field of `hft.core.orders.DECISION` of the same width."""
    import numpy as np

    from hft.core.orders import DECISION

    dt = T.DECISION_ANSWER
    assert [(n, dt.fields[n][0].str, dt.fields[n][1]) for n in dt.names] == DECISION_ANSWER_LAYOUT
    assert dt.itemsize == T.DECISION_BODY.size == 39 and T.DECISION_FRAME.itemsize == 44
    a = np.zeros(1, dt)
    a[0] = (7, 201, 1, 0, 3, -5, 1 << 40, 9, -(1 << 62))
    assert T.DECISION_BODY.unpack(a.tobytes()) == (7, 201, 1, 0, 3, -5, 1 << 40, 9, -(1 << 62))
    carried = [n for n in dt.names if n not in ("corr", "status")]
    assert [dt.fields[n][0].itemsize for n in carried] == [np.dtype(DECISION.field(n).numpy_type).itemsize
                                                           for n in carried]


def _body(c: TcpOrderClient) -> bytes:
    return c.pending[-1][T.HEAD.size:]


def test_the_new_frames_counted_tail_carries_expire_and_display_and_old_frames_parse_as_before() -> None:
    """A GTD order's expiry and an iceberg's display travel in the counted tail (``count u8`` then that many int64s:
    trigger, expire, display; those not sent are 0), written by hand here from docs/live.md's layout: the client
    writes the shortest form (none / the 8-byte trigger / counted up to the last field not 0); every form parses to
    the same three values; a tail of another length or a count past the known fields is a FrameError saying what
    was expected; the column-wise scan leaves every tailed frame to the per-frame path."""
    import struct

    import numpy as np

    from hft.live.tcp_scan import N_COLS, scan_new_frames

    c = _offline()
    c.send_new("g-1", "ACC", "strat", "SYM", "buy", 5, 100, tif="gtd", expire=1_800_000_000_123_456_789, corr=1)
    gtd = _body(c)
    c.send_new("i-1", "ACC", "strat", "SYM", "buy", 5, 100, display=2, corr=2)
    ice = _body(c)
    c.send_new("p-1", "ACC", "strat", "SYM", "buy", 5, 100, corr=3)
    plain = _body(c)
    strings_end = len(plain)
    assert T.NEW_FIXED.unpack_from(gtd)[4] == 5  # TIF_GTD
    assert gtd[strings_end:] == struct.pack("<Bqq", 2, 0, 1_800_000_000_123_456_789)
    assert ice[strings_end:] == struct.pack("<Bqqq", 3, 0, 0, 2)
    assert T.new_strings(gtd, T.NEW_FIXED.size) == (["g-1", "ACC", "strat", "SYM", ""],
                                                      (0, 1_800_000_000_123_456_789, 0, 0, 0, 0))
    assert T.new_strings(ice, T.NEW_FIXED.size)[1] == (0, 0, 2, 0, 0, 0)
    # the same values in every form a client may send: a stop's 8-byte tail is the counted tail of count 1
    assert T.new_strings(plain + struct.pack("<q", 7), T.NEW_FIXED.size)[1] == (7, 0, 0, 0, 0, 0)
    assert T.new_strings(plain + struct.pack("<Bq", 1, 7), T.NEW_FIXED.size)[1] == (7, 0, 0, 0, 0, 0)
    assert T.new_strings(plain + struct.pack("<B", 0), T.NEW_FIXED.size)[1] == (0, 0, 0, 0, 0, 0)
    assert T.new_strings(plain + struct.pack("<Bqqq", 3, 7, 8, 9), T.NEW_FIXED.size)[1] == (7, 8, 9, 0, 0, 0)
    # a fourth field, a trailing stop's trail (OPTION_NAMES)
    assert T.new_strings(plain + struct.pack("<Bqqqq", 4, 7, 8, 9, 3), T.NEW_FIXED.size)[1] == (7, 8, 9, 3, 0, 0)
    # a fifth and sixth, an OCO link and a bracket's parent (order ids)
    assert T.new_strings(plain + struct.pack("<B6q", 6, 7, 8, 9, 3, 11, 12), T.NEW_FIXED.size)[1] == (
        7, 8, 9, 3, 11, 12)
    for bad, why in ((struct.pack("<B7q", 7, 1, 2, 3, 4, 5, 6, 7), "tail count 7: expected at most 6 fields"),
                     (struct.pack("<Bq", 2, 1), "tail of 9 bytes after the strings: expected 8 .* \\(count 2: 17\\)"),
                     (struct.pack("<Bqq", 1, 1, 2), "tail of 17 bytes"),
                     (b"\x00\x00", "tail of 2 bytes"),
                     (struct.pack("<B", 200), "tail count 200")):
        with pytest.raises(T.FrameError, match=why):
            T.new_strings(plain + bad, T.NEW_FIXED.size)
    assert T.new_tail() == b"" and T.new_tail(trigger=5) == struct.pack("<q", 5)
    assert T.new_tail(display=1) == struct.pack("<Bqqq", 3, 0, 0, 1)
    frames = c.pending[-3:]
    out = np.zeros((4, N_COLS), np.int64)
    assert scan_new_frames(np.frombuffer(frames[2] + frames[0], np.uint8), 0, out) == (1, len(frames[2]))
