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
    strings, trigger = T.new_strings(body, T.NEW_FIXED.size)
    assert (strings, trigger) == (["s-1", "ACC", "strat", "SYM", ""], 12345)
    assert T.NEW_FIXED.unpack_from(body)[3] == 4  # ORDER_STOP
    assert T.new_strings(plain[T.HEAD.size:], T.NEW_FIXED.size)[1] == 0
    with pytest.raises(T.FrameError, match="with a trigger"):
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
