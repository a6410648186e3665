"""`hft.live.venues.LoopbackVenue`: orders sent as an array are journaled with the lines `send` writes for each
(built column-wise), and a restarted venue reads them back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    COMMAND_DTYPE,
    ORDER_MARKET,
    REPORT_ACK,
    REPORT_FILL,
    REPORT_REJECTED,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway import records
from hft.live.venues import LoopbackVenue

NAMES = (["ACC1", "ACC\"2"], ["mm1"], ["AAPL", "Zürich"])  # a quote and a non-ASCII name: JSON-escaped


def _commands(n: int, first: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    c = np.zeros(n, COMMAND_DTYPE)
    c["order_id"] = np.arange(first, first + n)
    c["action"] = CMD_NEW
    c["side"] = rng.choice([1, -1], n)
    c["price"] = rng.integers(1, 10**12, n)
    c["qty"] = rng.integers(1, 10**6, n)
    c["account"] = rng.integers(0, 2, n)
    c["symbol"] = rng.integers(0, 2, n)
    c["tif"] = TIF_GTC
    c["order_type"] = 1
    return c


def test_an_array_is_journaled_as_its_orders_one_by_one(tmp_path: Path) -> None:
    cmds = _commands(300, 1)
    one = LoopbackVenue(tmp_path / "one.jsonl")
    for cmd in records.commands_from_array(cmds, *NAMES):
        one.send(cmd)
    many = LoopbackVenue(tmp_path / "many.jsonl")
    reps = many.send_array(cmds, *NAMES)
    assert (tmp_path / "many.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    lines = [json.loads(x) for x in (tmp_path / "many.jsonl").read_text().splitlines()]
    assert lines[0]["account"] in NAMES[0] and lines[0]["price"] == int(cmds["price"][0])
    assert len(reps) == 0  # not started: nothing delivered, all recorded
    again = LoopbackVenue(tmp_path / "many.jsonl")
    assert again.reports() == one.reports()
    kinds = [r.kind for r in again.reports()[1]]
    assert kinds == [REPORT_ACK, REPORT_FILL]


def test_orders_filled_from_an_array_count_like_ones_sent_one_by_one(tmp_path: Path) -> None:
    """Orders `send_array` fills at once (kept as arrays, not per-order entries) give the same positions, the same
    rejected cancel and the same refused repeat as orders sent command by command, before and after a restart."""
    cmds = _commands(200, 1)
    one = LoopbackVenue(tmp_path / "one.jsonl")
    for cmd in records.commands_from_array(cmds, *NAMES):
        one.send(cmd)
    many = LoopbackVenue(tmp_path / "many.jsonl")
    many.send_array(cmds[:120], *NAMES)
    many.send_array(cmds[120:], *NAMES)
    later = _commands(5, 1000)
    # a cancel of an order filled at once (rejected), a repeated id (refused as dup), on both
    cancel = records.commands_from_array(cmds[6:7], *NAMES)[0]._replace(action=CMD_CANCEL)
    again = records.commands_from_array(cmds[:1], *NAMES)[0]
    for v in (one, many):
        v.send_array(later, *NAMES)
        v.send(cancel)
        v.send(again)
    assert many.positions() == one.positions() and many.positions()
    assert many.duplicates == one.duplicates == 1
    assert (tmp_path / "many.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert LoopbackVenue(tmp_path / "many.jsonl").positions() == one.positions()


def test_an_array_with_a_repeated_id_is_refused_like_commands_one_by_one(tmp_path: Path) -> None:
    """The received ids (a bitmap taken column-wise by `send_array`): an array repeating an id already received,
    one holding an id twice, and ids outside the bitmap (negative, over 2**36) are journaled, refused (dup) and
    counted as they are command by command, before and after a restart."""
    first = _commands(50, 1)
    arrays = [_commands(10, 45),  # ids 45-50 were received: dups
              np.concatenate([_commands(3, 100), _commands(2, 101)]),  # 101 and 102 twice in one array
              _commands(4, (1 << 36) - 2), _commands(2, -5), _commands(3, 200)]
    one = LoopbackVenue(tmp_path / "one.jsonl")
    many = LoopbackVenue(tmp_path / "many.jsonl")
    many.send_array(first, *NAMES)
    for cmds in [first, *arrays]:
        for cmd in records.commands_from_array(cmds, *NAMES):
            one.send(cmd)
    for cmds in arrays:
        many.send_array(cmds, *NAMES)
    assert many.duplicates == one.duplicates == 8
    assert (tmp_path / "many.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert many.received() == one.received() and len(many.received()) == 50 + 4 + 3 + 4 + 2 + 3
    back = LoopbackVenue(tmp_path / "many.jsonl")
    assert back.received() == one.received() and back.health()["received"] == one.health()["received"]
    assert back.duplicates == 8  # the journal's dup lines
    back.send_array(_commands(2, 202), *NAMES)  # 202 received before the restart (a dup), 203 not: taken
    assert back.duplicates == 9 and (CMD_NEW, 203) in back.received()


def test_a_market_order_fills_at_the_last_fill_price_of_its_symbol(tmp_path: Path) -> None:
    """A market order carries no price: it fills at the venue's reference price (its last fill of the symbol,
    also of orders an array filled, and after a restart from the journal); without one it is rejected."""
    venue = LoopbackVenue(tmp_path / "v.jsonl")
    mkt = _commands(1, 1)
    mkt["symbol"], mkt["price"], mkt["order_type"], mkt["tif"] = 0, 0, ORDER_MARKET, TIF_IOC
    qty = int(mkt["qty"][0])
    venue.send_array(mkt, *NAMES)
    assert [(r.kind, r.price) for r in venue.reports()[1]] == [(REPORT_REJECTED, 0)]
    assert "no reference price for AAPL" in (tmp_path / "v.jsonl").read_text()
    limits = _commands(3, 2)
    limits["symbol"] = [0, 1, 0]
    limits["price"] = [100, 200, 300]
    venue.send_array(limits, *NAMES)  # column-wise: AAPL's last fill at 300, Zürich's at 200
    mkt["order_id"] = 5
    venue.send_array(mkt, *NAMES)
    assert [(r.kind, r.price, r.qty, r.leaves) for r in venue.reports()[5]] == [(REPORT_ACK, 0, 0, qty),
                                                                               (REPORT_FILL, 300, qty, 0)]
    venue.close()
    again = LoopbackVenue(tmp_path / "v.jsonl")
    mkt["order_id"], mkt["symbol"] = 6, 1
    for cmd in records.commands_from_array(mkt, *NAMES):
        again.send(cmd)  # one by one, after a restart: the journal's last fill of Zürich
    fill = again.reports()[6][-1]
    assert (fill.kind, fill.price, fill.qty) == (REPORT_FILL, 200, qty)


def test_a_resting_order_is_replaced_and_anything_else_refused(tmp_path: Path) -> None:
    """``rest`` mode: a replace of a resting order takes its new price and open size (REPLACED, also in the book a
    restarted venue reads back), of an order that is not resting is refused (REPLACE_REJECTED)."""
    from hft.core.orders import CMD_REPLACE, REPORT_CANCELED, REPORT_REPLACE_REJECTED, REPORT_REPLACED

    venue = LoopbackVenue(tmp_path / "v.jsonl", mode="rest")
    new = _commands(1, 1)
    new["price"], new["qty"] = 1000, 5
    venue.send_array(new, *NAMES)
    rep = new.copy()
    rep["action"], rep["price"], rep["qty"] = CMD_REPLACE, 1010, 3
    for cmd in records.commands_from_array(rep, *NAMES):
        venue.send(cmd)
    assert [(r.kind, r.price, r.leaves) for r in venue.reports()[1]][-1] == (REPORT_REPLACED, 1010, 3)
    venue.close()
    again = LoopbackVenue(tmp_path / "v.jsonl", mode="rest")
    assert again._book()[1][4:] == (1010, 3, True)  # price, qty, still resting
    cx = new.copy()
    cx["action"] = CMD_CANCEL
    rep["order_id"] = 99  # never sent
    for cmd in [*records.commands_from_array(cx, *NAMES), *records.commands_from_array(rep, *NAMES)]:
        again.send(cmd)
    rep["order_id"] = 1  # cancelled now: no longer resting
    for cmd in records.commands_from_array(rep, *NAMES):
        again.send(cmd)
    assert [r.kind for r in again.reports()[1]][-2:] == [REPORT_CANCELED, REPORT_REPLACE_REJECTED]
    assert [r.kind for r in again.reports()[99]] == [REPORT_REPLACE_REJECTED]


def test_stops_and_resting_gtd_orders_are_rejected_never_filled_as_something_else(tmp_path: Path) -> None:
    """The loopback venue has no book to trigger a stop and no clock to expire a GTD order: a stop or stop-limit is
    REJECTED in either mode and on either path (an array's column-wise fill included: a stop's price is 0, it must
    not fill there), a GTD order that would rest is REJECTED, its journal saying why; one it fills at once (``fill``
    mode) fills as any order; a restarted venue reads the rejections back."""
    from hft.core.orders import ORDER_STOP, ORDER_STOP_LIMIT, TIF_GTD

    for mode in ("fill", "rest"):
        path = tmp_path / f"{mode}.jsonl"
        venue = LoopbackVenue(path, mode=mode)
        c = _commands(4, 1)
        c["order_type"] = [ORDER_STOP, ORDER_STOP_LIMIT, 1, 1]
        c["price"][0] = 0
        c["trigger"] = [100, 100, 0, 0]
        c["tif"] = [TIF_GTC, TIF_GTC, TIF_GTD, TIF_GTC]
        c["expire"] = [0, 0, 2 * 10**18, 0]
        venue.send_array(c, *NAMES)
        kinds = {oid: [r.kind for r in reps] for oid, reps in venue.reports().items()}
        gtd = [REPORT_ACK, REPORT_FILL] if mode == "fill" else [REPORT_REJECTED]
        last = [REPORT_ACK, REPORT_FILL] if mode == "fill" else [REPORT_ACK]
        assert kinds == {1: [REPORT_REJECTED], 2: [REPORT_REJECTED], 3: gtd, 4: last}
        text = path.read_text()
        assert text.count("a stop: the loopback venue holds none") == 2
        assert ("a good-till-date order resting" in text) == (mode == "rest")
        venue.close()
        again = LoopbackVenue(path, mode=mode)
        assert {oid: [r.kind for r in reps] for oid, reps in again.reports().items()} == kinds
        one = c[:1].copy()
        one["order_id"] = 9
        for cmd in records.commands_from_array(one, *NAMES):
            again.send(cmd)  # one by one
        assert [r.kind for r in again.reports()[9]] == [REPORT_REJECTED]
        again.close()


def test_a_trailing_stop_is_rejected_and_the_rest_of_its_array_still_fills(tmp_path: Path) -> None:
    """A trailing stop is a stop, which the loopback venue does not hold: REJECTED at once, never filled nor held,
    the array it came in taken command by command so its neighbours still fill; a restarted venue reads the
    rejection back from its journal."""
    from hft.core.orders import ORDER_STOP

    cmds = _commands(3, 1)
    cmds["order_type"][1], cmds["price"][1], cmds["trigger"][1], cmds["trail"][1] = ORDER_STOP, 0, 5, 2
    v = LoopbackVenue(tmp_path / "j.jsonl")
    v.send_array(cmds, *NAMES)
    kinds = {oid: [r.kind for r in reps] for oid, reps in v.reports().items()}
    assert kinds == {1: [REPORT_ACK, REPORT_FILL], 2: [REPORT_REJECTED], 3: [REPORT_ACK, REPORT_FILL]}
    again = LoopbackVenue(tmp_path / "j.jsonl")
    assert {oid: [r.kind for r in reps] for oid, reps in again.reports().items()} == kinds


def test_oco_and_bracket_orders_are_rejected_never_worked_unlinked(tmp_path: Path) -> None:
    """The loopback venue fills or rests each order alone: it holds no OCO pair nor bracket child (docs/live.md, "OCO
    and bracket orders"), so an order with an ``oco`` or a ``parent`` is REJECTED in either mode and on either path
    (an array's column-wise fill hands it to the one-by-one path, its neighbours still fill), never filled or rested
    unlinked; its journal says why, and a restarted venue reads the rejections back."""
    for mode in ("fill", "rest"):
        path = tmp_path / f"{mode}.jsonl"
        v = LoopbackVenue(path, mode=mode)
        cmds = _commands(4, 1)
        cmds["oco"][1] = 1
        cmds["parent"][2] = 1
        v.send_array(cmds, *NAMES)
        kinds = {oid: [r.kind for r in reps] for oid, reps in v.reports().items()}
        plain = [REPORT_ACK, REPORT_FILL] if mode == "fill" else [REPORT_ACK]
        assert kinds == {1: plain, 2: [REPORT_REJECTED], 3: [REPORT_REJECTED], 4: plain}, (mode, kinds)
        assert path.read_text().count("an OCO / bracket order: the loopback venue holds none") == 2
        v.close()
        again = LoopbackVenue(path, mode=mode)
        assert {oid: [r.kind for r in reps] for oid, reps in again.reports().items()} == kinds
        one = cmds[1:2].copy()
        one["order_id"] = 9
        for cmd in records.commands_from_array(one, *NAMES):
            again.send(cmd)  # one by one
        assert [r.kind for r in again.reports()[9]] == [REPORT_REJECTED]
        again.close()
