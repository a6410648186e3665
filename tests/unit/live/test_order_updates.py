"""The order-update log (`hft.live.updates`): numbered in order, read after a number, what it no longer holds
refused, published after each commit, kept whole by a snapshot's pickle; the TCP REPORT frame is its record."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from hft.core.orders import ORDER_UPDATE, ORDER_UPDATE_DTYPE, REPORT_FILL
from hft.live import frames as T
from hft.live.client import _decode
from hft.live.updates import UpdateLog


def _rows(first: int, n: int) -> np.ndarray:
    r = np.zeros(n, ORDER_UPDATE_DTYPE)
    r["seq"] = np.arange(first, first + n)
    r["order_id"] = r["seq"] * 10
    return r


def test_updates_are_read_after_a_number_until_the_ring_wraps_past_it() -> None:
    log = UpdateLog(capacity=4)
    assert (log.n, log.lo, len(log.since(0))) == (0, 1, 0)
    log.append(_rows(1, 3))
    assert log.since(0)["seq"].tolist() == [1, 2, 3] and log.since(2)["seq"].tolist() == [3]
    assert log.since(3).size == 0 and log.since(1, 2)["seq"].tolist() == [2]
    log.append(_rows(4, 3))  # 6 numbers in a ring of 4: 3 .. 6 held
    assert log.lo == 3 and log.since(2)["order_id"].tolist() == [30, 40, 50, 60]
    with pytest.raises(LookupError):
        log.since(1)
    for bad in (-1, 7):
        with pytest.raises(ValueError):
            log.since(bad)


def test_listeners_get_each_update_once_and_a_pickle_keeps_numbers_and_rows() -> None:
    log = UpdateLog(capacity=8)
    seen: list[list[int]] = []
    log.listeners.append(lambda rows: seen.append(rows["seq"].tolist()))
    log.append(_rows(1, 2))
    log.publish()
    log.publish()  # nothing new: no call
    log.append(_rows(3, 1))
    log.publish()
    assert seen == [[1, 2], [3]]
    back = pickle.loads(pickle.dumps(log))
    assert back.listeners == [] and (back.n, back.published) == (3, 3)
    assert back.since(0).tolist() == log.since(0).tolist()
    fresh = UpdateLog()
    fresh.listeners.append(print)
    fresh.restore(back)
    assert fresh.n == 3 and fresh.listeners == [print] and fresh.since(1)["seq"].tolist() == [2, 3]


def test_a_report_frame_is_the_order_update_record_packed() -> None:
    assert T.REPORT_ANSWER.names == ORDER_UPDATE.names and T.REPORT_ANSWER.itemsize == sum(
        np.dtype(f.numpy_type).itemsize for f in ORDER_UPDATE.fields)
    u = _rows(7, 1)
    u["kind"] = REPORT_FILL
    u["status"] = 3
    u["filled"] = 5
    fr = np.zeros(1, T.REPORT_FRAME)
    fr["len"] = T.REPORT_FRAME.itemsize - 4
    fr["type"] = T.REPORT
    for f in ORDER_UPDATE.names:
        fr["u"][f] = u[f]
    raw = fr.tobytes()
    got = _decode(raw[4], raw[5:])
    assert (got["type"], got["seq"], got["order_id"], got["filled"], got["kind_name"], got["status_name"]) == (
        "report", 7, 70, 5, "fill", "filled")
