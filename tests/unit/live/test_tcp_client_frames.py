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
