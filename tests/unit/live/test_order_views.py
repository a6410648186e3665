"""`hft.live.views.OrderViews`: the live service's order views as columns (what GET /orders/{id} shows)."""

from __future__ import annotations

import pickle
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.orders import (
    DECISION_DTYPE,
    EXEC_REPORT_DTYPE,
    INTENT_NEW,
    ORDER_UPDATE,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    VENUE_REPORT_DTYPE,
)
from hft.live import views as V
from hft.live.views import ALL_APPLIED, STATUS_NAMES, OrderViews

NAMES = (["ACC1", "ACC2"], ["mm1"], ["AAPL", "MSFT"])


def _extras(qty: int) -> tuple[int, int, int]:
    """A report's fee, fee millionths and liquidity code, made up from its quantity (any sign of fee; every code)."""
    return 3 * (qty % 1000) - 7, qty % 1000 * 123_457 % 1_000_000, qty % 3


def _fill(price: int, qty: int, ts: int) -> dict:
    """A fill as `OrderView.fills` shows it: with the exact fee and liquidity `_reports` gave its report."""
    fee, frac, liq = _extras(qty)
    return {"price": price, "qty": qty, "ts": ts, "fee": fee, "fee_frac": frac,
            "liquidity": ("", "maker", "taker")[liq]}


def _reports(*rows: tuple[int, int, int, int, int, int], plain: bool = False) -> np.ndarray:
    """(order_id, kind, price, qty, leaves, ts) rows as a VENUE_REPORT_DTYPE array (fee, fee_frac, liquidity from
    the qty, `_extras`; an ACK's queue 40 + leaves, -1 on the others), or `plain` an EXEC_REPORT_DTYPE one (no
    liquidity nor queue, as a venue that says nothing more sends)."""
    out = np.zeros(len(rows), EXEC_REPORT_DTYPE if plain else VENUE_REPORT_DTYPE)
    for i, (oid, kind, price, qty, leaves, ts) in enumerate(rows):
        out[i]["order_id"], out[i]["kind"], out[i]["price"], out[i]["qty"] = oid, kind, price, qty
        out[i]["leaves"], out[i]["ts"] = leaves, ts
        if not plain:
            out[i]["fee"], out[i]["fee_frac"], out[i]["liquidity"] = _extras(qty)
            out[i]["queue"] = 40 + leaves if kind == REPORT_ACK else -1
    return out


def _accepted(oids: list[int], account: int = 0, symbol: int = 0) -> np.ndarray:
    dec = np.zeros(len(oids), DECISION_DTYPE)
    dec["order_id"] = oids
    dec["account"] = account
    dec["symbol"] = symbol
    dec["side"] = 1
    dec["price"] = 9990
    dec["qty"] = 10
    dec["ts"] = 5
    return dec


def test_views_follow_their_reports_in_order() -> None:
    v = OrderViews(NAMES, capacity=2)  # grows past its first capacity
    v.add_many(_accepted([1, 2, 3]), ["a", "b", "c"])
    v.add(4, "d", 1, 0, 1, -1, 10010, 7, 6)
    assert len(v) == 4
    rep = _reports((1, REPORT_ACK, 0, 0, 10, 7), (1, REPORT_PARTIAL_FILL, 9990, 4, 6, 8),
                   (2, REPORT_ACK, 0, 0, 10, 9), (1, REPORT_FILL, 9989, 6, 0, 10),
                   (99, REPORT_ACK, 0, 0, 1, 11), (3, REPORT_CANCELED, 0, 0, 0, 12))
    fills, cols, u = v.apply_reports(rep, 41)
    assert fills.tolist() == [1, 3]  # the rows of the array that filled a viewed order
    assert cols.tolist() == [[0, 0, 0, 1], [0, 0, 0, 1]]  # their views: account, strategy, symbol, side
    # the order-update stream's rows: each report applied to a view (99 has none), its status and filled after it
    assert [(r.seq, r.order_id, r.ts, STATUS_NAMES[r.status], r.filled, r.qty, r.leaves)
            for r in ORDER_UPDATE.rows(u)] == [
        (41, 1, 7, "working", 0, 0, 10), (42, 1, 8, "partially_filled", 4, 4, 6), (43, 2, 9, "working", 0, 0, 10),
        (44, 1, 10, "filled", 10, 6, 0), (45, 3, 12, "canceled", 0, 0, 0)]
    # and what the venue said: each report's exact fee and liquidity, an ACK's queue ahead (-1 on the others)
    assert [(r.fee, r.fee_frac, r.liquidity, r.queue) for r in ORDER_UPDATE.rows(u)] == [
        (*_extras(0), 50), (*_extras(4), -1), (*_extras(0), 50), (*_extras(6), -1), (*_extras(0), -1)]
    one = v.get(1)
    assert (one.status, one.filled, one.leaves, one.client_order_id, one.account, one.symbol) == (
        "filled", 10, 0, "a", "ACC1", "AAPL")
    assert one.fills == [_fill(9990, 4, 8), _fill(9989, 6, 10)]
    assert v.get(2).status == "working" and v.get(2).body()["leaves"] == 10
    assert v.get(3).status == "canceled"
    four = v.get(4)
    assert (four.account, four.symbol, four.side, four.status, four.body()["leaves"]) == ("ACC2", "MSFT", -1,
                                                                                         "accepted", 7)
    assert v.get(5) is None and v.get(99) is None and v.get(0) is None
    assert (v.applied(1), v.applied(2), v.applied(4), v.applied(99)) == (3, 1, 0, 1)


def test_cancel_pending_only_for_open_orders() -> None:
    v = OrderViews(NAMES)
    v.add_many(_accepted([1, 2]), ["a", "b"])
    v.apply_reports(_reports((2, REPORT_FILL, 9990, 10, 0, 1)))
    v.cancel_pending(1)
    v.cancel_pending(2)
    v.cancel_pending(7)  # no view: nothing
    assert (v.get(1).status, v.get(2).status) == ("cancel_pending", "filled")
    v.apply_reports(_reports((1, REPORT_ACK, 0, 0, 10, 2)))  # an ack keeps cancel_pending
    assert v.get(1).status == "cancel_pending"


def test_a_pickled_copy_restores_into_fresh_views() -> None:
    v = OrderViews(NAMES)
    v.add_many(_accepted([1, 2, 3], account=1), ["a", "b", "c"])
    v.apply_reports(_reports((2, REPORT_FILL, 9990, 10, 0, 1), (5000, REPORT_ACK, 0, 0, 1, 2)))
    assert len(pickle.dumps(v)) < 3000  # the used rows only, not the capacity of the columns (1024 rows)
    v.apply_reports(_reports((900, REPORT_ACK, 0, 0, 1, 3)))  # an id without a view, inside the columns
    blob = pickle.dumps(v)
    fresh = OrderViews(NAMES)
    fresh.restore(pickle.loads(blob))
    assert len(fresh) == 3
    assert fresh.get(2).body() == v.get(2).body() and fresh.get(2).account == "ACC2"
    assert fresh.applied(5000) == 1 and fresh.applied(900) == 1  # no views, yet counted (internal orders)
    fresh.add_many(_accepted([4]), ["d"])  # and it goes on
    fresh.apply_reports(_reports((4, REPORT_FILL, 9990, 10, 0, 3), (2, REPORT_ACK, 0, 0, 0, 4)))
    assert fresh.get(4).status == "filled" and fresh.get(2).fills == v.get(2).fills and fresh.applied(2) == 2


def test_fill_rows_carry_the_venues_fee_and_liquidity_in_the_stores_code() -> None:
    """The ``sim.fills`` rows of viewed orders' fills: the report's exact fee and its liquidity as the store codes it
    (`FILL_LIQUIDITY`: maker 1, taker -1, not said 0); a venue that says nothing more (an EXEC_REPORT_DTYPE array)
    gives liquidity 0 and queue -1."""
    v = OrderViews(NAMES)
    v.add_many(_accepted([1, 2, 3]), ["a", "b", "c"])
    rep = _reports((1, REPORT_PARTIAL_FILL, 9990, 4, 6, 1), (2, REPORT_FILL, 9991, 5, 0, 2),
                   (3, REPORT_FILL, 9992, 3, 0, 3))
    sel, cols, _ = v.apply_reports(rep)
    rows = OrderViews.fill_rows(rep, np.array([11, 12, 13]), sel, cols, 7)
    assert rows.dtype == V.FILL_DTYPE
    assert [(r["fill_id"], r["fee"], r["fee_frac"], r["liquidity"], r["exch_ts"]) for r in rows] == [
        (7, *_extras(4)[:2], 1, 11), (8, *_extras(5)[:2], -1, 12), (9, *_extras(3)[:2], 0, 13)]
    v.add_many(_accepted([4]), ["d"])
    plain = _reports((4, REPORT_ACK, 0, 0, 10, 4), (4, REPORT_FILL, 9990, 10, 0, 5), plain=True)
    sel, cols, u = v.apply_reports(plain)
    assert u[["liquidity", "queue"]].tolist() == [(0, -1), (0, -1)]
    assert OrderViews.fill_rows(plain, np.array([1, 2]), sel, cols, 1)["liquidity"].tolist() == [0]
    assert v.get(4).fills == [{"price": 9990, "qty": 10, "ts": 5, "fee": 0, "fee_frac": 0, "liquidity": ""}]


def test_a_snapshot_whose_fill_logs_lack_the_fee_and_liquidity_restores_them_as_unknown() -> None:
    """A snapshot written before a fill kept its fee and liquidity (its fill logs' rows of 5 columns, `N_FCOLS_V1`)
    restores with those fills' fee 0 and liquidity not said; new fills keep theirs."""
    from hft.live.fill_log import N_FCOLS_V1

    v = OrderViews(NAMES, retention=1)
    v.add_many(_accepted([1, 2, 3, 4]), ["a", "b", "c", "d"])
    v.apply_reports(_reports((1, REPORT_PARTIAL_FILL, 9990, 4, 6, 1), (4, REPORT_PARTIAL_FILL, 9991, 5, 5, 2)))
    with mock.patch.object(V, "_STEP", 1):
        assert v.prune() == 0 and v.n_old == 2  # 1 and 2 are open: aside (1 with its fill in the aside log)
    state = v.__getstate__()
    state["fills"] = [f[:, :N_FCOLS_V1] for f in state["fills"]]  # as an older hft pickled them
    state["old_fills"] = state["old_fills"][:, :N_FCOLS_V1]
    old = OrderViews.__new__(OrderViews)
    old.__dict__.update(state)
    fresh = OrderViews(NAMES, retention=1)
    fresh.restore(old)
    unknown = {"fee": 0, "fee_frac": 0, "liquidity": ""}
    assert fresh.get(1).fills == [{"price": 9990, "qty": 4, "ts": 1, **unknown}]
    assert fresh.get(4).fills == [{"price": 9991, "qty": 5, "ts": 2, **unknown}]
    fresh.apply_reports(_reports((4, REPORT_FILL, 9992, 5, 0, 3), (1, REPORT_FILL, 9993, 6, 0, 4)))
    assert fresh.get(4).fills[1:] == [_fill(9992, 5, 3)] and fresh.get(1).fills[1:] == [_fill(9993, 6, 4)]


def test_prune_drops_old_terminal_views_and_keeps_open_ones() -> None:
    v = OrderViews(NAMES, capacity=4, retention=3)
    v.add_many(_accepted(list(range(1, 7))), [f"c{i}" for i in range(1, 7)])
    assert v.prune() == 0  # 6 ids: not past twice the retention yet
    v.apply_reports(_reports(*[(i, REPORT_FILL, 9990, 10, 0, i) for i in (1, 3, 4, 5, 6)],
                             (2, REPORT_PARTIAL_FILL, 9991, 4, 6, 20)))
    v.add(7, "c7", 0, 0, 0, 1, 9990, 10, 7)
    assert v.prune() == 3  # ids 1..4 leave the newest 3 (5, 6, 7): 1, 3, 4 are filled, 2 is still open
    assert [v.find_client(0, f"c{i}") for i in range(1, 8)] == [None, 2, None, None, 5, 6, 7]
    assert len(v) == 4 and v.n_pruned == 3
    assert v.get(1) is None and v.pruned(1) and v.applied(1) == ALL_APPLIED
    assert not v.pruned(2) and not v.pruned(6) and not v.pruned(99)
    two = v.get(2)  # open: kept aside, still followed by its reports
    assert (two.status, two.fills) == ("partially_filled", [_fill(9991, 4, 20)])
    assert v.get(5).fills == [_fill(9990, 10, 5)]  # the fills of the views kept survive
    fills, cols, _ = v.apply_reports(_reports((2, REPORT_FILL, 9992, 6, 0, 30), (7, REPORT_FILL, 9990, 10, 0, 31)))
    assert fills.tolist() == [0, 1] and cols[:, 3].tolist() == [1, 1]
    assert v.get(2).status == "filled" and [f["qty"] for f in v.get(2).fills] == [4, 6]
    assert v.applied(2) == 2
    v.cancel_pending(2)  # filled: stays filled
    assert v.get(2).status == "filled"
    for i in range(8, 12):  # 7 ids past the base: over twice the retention again
        v.add(i, f"c{i}", 0, 0, 0, 1, 9990, 10, i)
    assert v.prune() == 4  # 2 is terminal now: dropped at the next prune (with 5, 6, 7; 8 is open, kept)
    assert v.get(2) is None and v.pruned(2)
    assert [v.get(i).client_order_id for i in (9, 10, 11)] == ["c9", "c10", "c11"]


def test_client_ids_find_the_newest_held_order_of_that_account() -> None:
    """`find_client` (GET /orders/client/{id}): per account, the newest order with that client order id among
    the views held; through growth of the index, a prune (dropped views are not found, kept ones are), a
    snapshot's restore, non-ASCII and empty ids; an index entry whose view does not match is not answered."""
    v = OrderViews(NAMES, capacity=4, retention=3000)
    n = 5000
    v.add_many(_accepted(list(range(1, n + 1))), [f"id-{i}" for i in range(1, n + 1)])
    v.add_many(_accepted([n + 1, n + 2], account=1), ["id-7", "é-ü"])  # the other account reuses id-7
    v.add(n + 3, "id-9", 0, 0, 0, 1, 9990, 10, 1)  # a newer order of account 0 reuses id-9
    v.add(n + 4, "", 0, 0, 0, 1, 9990, 10, 1)  # no client id: not indexed
    assert [v.find_client(0, f"id-{i}") for i in (1, 7, 9, n)] == [1, 7, n + 3, n]
    assert (v.find_client(1, "id-7"), v.find_client(1, "é-ü"), v.find_client(0, "é-ü")) == (n + 1, n + 2, None)
    assert v.find_client(0, "") is None and v.find_client(1, "id-1") is None and v.find_client(0, "id-0") is None
    v.apply_reports(_reports(*[(i, REPORT_FILL, 9990, 10, 0, 1) for i in range(1, n + 1) if i != 2]))
    for i in range(n + 5, 2 * n):  # past twice the retention: old terminal views dropped, 2 (open) kept
        v.add(i, f"new-{i}", 0, 0, 0, 1, 9990, 10, i)
    assert v.prune()
    assert v.find_client(0, "id-1") is None and v.find_client(0, "id-2") == 2 and v.find_client(0, "id-9") == n + 3
    assert v.find_client(0, f"new-{2 * n - 1}") == 2 * n - 1
    fresh = OrderViews(NAMES, retention=3000)
    fresh.restore(pickle.loads(pickle.dumps(v)))  # the index is not pickled: rebuilt from the views
    assert "index" not in v.__getstate__()
    for acct, coid in ((0, "id-2"), (0, "id-9"), (1, "é-ü"), (0, "id-1"), (0, f"new-{n + 5}")):
        assert fresh.find_client(acct, coid) == v.find_client(acct, coid)
    fresh.index.put(0, "id-1", n + 3)  # an entry pointing at another order's view: checked, not answered
    assert fresh.find_client(0, "id-1") is None
    top = 2 * n + 10  # views added one by one are indexed in order with those added column-wise
    fresh.add(top, "z", 0, 0, 0, 1, 9990, 10, 1)
    fresh.add_many(_accepted([top + 1]), ["z"])
    assert fresh.find_client(0, "z") == top + 1
    fresh.add(top + 2, "z", 0, 0, 0, 1, 9990, 10, 1)
    fresh.flush_index()
    assert fresh.find_client(0, "z") == top + 2 and not fresh._unindexed


def test_views_grow_in_place_inside_their_reservation_and_beyond_it(monkeypatch) -> None:
    """The columns and the fill log are a reservation (no copy of what is held: the doubling copy stalled the
    writer) and past it a larger one; every view, fill and client id stays as written."""
    from hft.live import views as V

    monkeypatch.setattr(V, "_STEP", 16)
    monkeypatch.setattr(V, "_RESERVE", 200)
    v = OrderViews(NAMES, capacity=4)
    rows0, fills0 = v.rows, v.fills
    account: dict[int, int] = {}
    oid = 0
    for b, size in enumerate([1, 3, 17, 40, 2, 90, 33, 300, 5, 700]):  # steps, then past the 200-row reservation
        ids = list(range(oid + 1, oid + size + 1))
        oid += size
        v.add_many(_accepted(ids, account=b % 2), [f"k{i}" for i in ids])
        account.update(dict.fromkeys(ids, b % 2))
        v.apply_reports(_reports(*[(i, REPORT_FILL, 9990 - i % 7, 10, 0, i) for i in ids if i % 3 == 0]))
        if oid <= 200:
            assert np.shares_memory(v.rows, rows0) and np.shares_memory(v.fills, fills0)  # never copied
    assert not np.shares_memory(v.rows, rows0)  # past the reservation: a larger one
    assert len(v) == oid == 1191
    for i in range(1, oid + 1):
        view = v.get(i)
        assert (view.client_order_id, view.account) == (f"k{i}", NAMES[0][account[i]])
        assert view.status == ("filled" if i % 3 == 0 else "accepted")
        assert view.fills == ([_fill(9990 - i % 7, 10, i)] if i % 3 == 0 else [])
        assert v.find_client(account[i], f"k{i}") == i and v.find_client(1 - account[i], f"k{i}") is None


def test_a_prune_before_any_fill_drops_the_terminal_views() -> None:
    """A venue that has filled nothing yet (canceled and rejected orders only): the fill log is empty when the
    first prune comes (it used to fail there, indexing the empty renumbering)."""
    v = OrderViews(NAMES, retention=2)
    v.add_many(_accepted([1, 2, 3, 4, 5]), [f"c{i}" for i in range(1, 6)])
    v.apply_reports(_reports(*[(i, REPORT_CANCELED, 0, 0, 0, i) for i in (1, 2, 4)]))
    assert v.prune() == 2  # ids 1..3 leave the newest 2: 1 and 2 canceled, 3 open (kept aside)
    assert v.pruned(1) and v.pruned(2) and v.get(3).status == "accepted" and v.get(4).status == "canceled"
    assert v.get(3).fills == [] and v.n_fill == 0


def test_a_prune_drops_a_step_of_ids_at_a_time() -> None:
    """Retention R: nothing goes until the views reach more than S = `_STEP` ids past the newest R; then each call
    drops the oldest S ids (a bounded piece of work per writer step), or, after a step that added more, as many as
    reach past R + S; the views never hold more than R + S ids after a call."""
    r, s = 5000, V._STEP
    v = OrderViews(NAMES, retention=r)

    def add(lo: int, hi: int) -> None:
        ids = list(range(lo, hi))
        v.add_many(_accepted(ids), [f"c{i}" for i in ids])
        v.apply_reports(_reports(*[(i, REPORT_FILL, 9990, 10, 0, i) for i in ids]))

    add(1, r + s + 1)
    assert v.prune() == 0  # S ids past the newest R: not yet
    add(r + s + 1, r + s + 2)
    assert v.prune() == s and v.pruned(s) and v.get(s + 1) is not None  # ids 1..S
    assert v.prune() == 0 and len(v) == r + 1
    add(r + s + 2, r + s + 2 + 10_000)  # a step of 10,000 orders
    top = r + s + 1 + 10_000
    assert v.prune() == 10_001 - s  # down to R + S ids
    assert v.pruned(top - r - s) and v.find_client(0, f"c{top - r - s + 1}") == top - r - s + 1
    assert v.prune() == 0 and len(v) == r + s
    add(top + 1, top + 2)
    assert v.prune() == s and len(v) == r + 1  # a step at a time, down to R
    assert v.get(top - r) is None and v.get(top + 1 - r).status == "filled"


def test_a_view_aside_is_dropped_once_ended_unless_a_later_report_reopened_it() -> None:
    """Open views older than the retention go aside; one ended by a report is dropped at the next prune that drops
    (its client id then forgotten, an older view aside with the same client id found again), one ended and then
    reopened (a partial fill after its cancel) is not; every later report still reaches it."""
    v = OrderViews(NAMES, retention=2)
    v.add_many(_accepted([1, 2, 3]), ["x", "y", "x"])  # 3 reuses the client id of 1
    v.add_many(_accepted([4, 5, 6]), ["a", "b", "c"])
    v.apply_reports(_reports((1, REPORT_ACK, 0, 0, 10, 1), (2, REPORT_ACK, 0, 0, 10, 1),
                             (4, REPORT_FILL, 9990, 10, 0, 1)))
    assert v.prune() == 1 and v.n_old == 3  # ids 1..4 leave the ring: 4 filled, dropped; 1, 2, 3 open: aside
    assert v.find_client(0, "x") == 3
    v.apply_reports(_reports((3, REPORT_CANCELED, 0, 0, 0, 2), (2, REPORT_CANCELED, 0, 0, 0, 3),
                             (2, REPORT_PARTIAL_FILL, 9990, 4, 6, 4)))  # 2 ended, then reopened
    v.add_many(_accepted([7, 8, 9]), ["d", "e", "f"])
    v.apply_reports(_reports(*[(i, REPORT_FILL, 9990, 10, 0, 5) for i in (5, 6, 7)]))
    assert v.prune() == 4  # ids 5..7 and 3 (aside, ended); 2 reopened: kept
    assert v.pruned(3) and v.get(3) is None and v.find_client(0, "x") == 1  # 1 has its client id again
    assert v.get(2).status == "partially_filled" and v.get(2).fills == [_fill(9990, 4, 4)]
    v.apply_reports(_reports((2, REPORT_FILL, 9991, 6, 0, 6), (3, REPORT_ACK, 0, 0, 0, 7)))
    assert [f["qty"] for f in v.get(2).fills] == [4, 6] and v.applied(2) == 4 and v.applied(3) == ALL_APPLIED


# ---------------------------------------------------------------- a model of what must be held, dropped, found
_KINDS = (REPORT_ACK, REPORT_PARTIAL_FILL, REPORT_FILL, REPORT_CANCELED, REPORT_REJECTED, REPORT_EXPIRED)
_TERMINAL = {"filled", "canceled", "rejected", "expired"}
_STATUS_OF = {REPORT_FILL: "filled", REPORT_PARTIAL_FILL: "partially_filled", REPORT_CANCELED: "canceled",
              REPORT_REJECTED: "rejected", REPORT_EXPIRED: "expired"}


class _Model:
    """What the views must show: every order's view as the reports left it (plain Python), which of them are
    dropped, and how many reports each order id got. The retention's rule, written out: once the views reach more
    than S = min(step, R) ids past the newest R, a prune moves the lowest id held in order (`base`) on by S (or by
    as many as reach past R + S), and then every terminal view below it is dropped; the views from `base` on are
    all held, those below only while open."""

    def __init__(self, retention: int, step: int) -> None:
        self.retention, self.step, self.slack = retention, step, min(step, retention)
        self.views: dict[int, dict] = {}
        self.dropped: set[int] = set()
        self.reports: dict[int, int] = {}
        self.base = 1
        self.top = 0  # the newest order id with a view
        self.issued = 0  # the newest order id given (a rejected order's has no view)

    def held(self) -> dict[int, dict]:
        return {o: w for o, w in self.views.items() if o not in self.dropped}

    def add(self, oid: int, coid: str, acct: int, side: int, price: int, qty: int) -> None:
        self.views[oid] = {"client_order_id": coid, "account": NAMES[0][acct], "acct": acct, "side": side,
                           "price": price, "qty": qty, "status": "accepted", "filled": 0, "leaves": -1, "fills": []}
        self.top = max(self.top, oid)
        self.issued = max(self.issued, oid)

    def report(self, oid: int, kind: int, price: int, qty: int, leaves: int, ts: int) -> bool:
        """Apply one report; whether it is a fill of a held view."""
        self.reports[oid] = self.reports.get(oid, 0) + 1
        w = self.views.get(oid)
        if w is None or oid in self.dropped:
            return False
        fill = kind in (REPORT_FILL, REPORT_PARTIAL_FILL)
        if fill:
            w["filled"] += qty
            w["fills"].append(_fill(price, qty, ts))
        if leaves >= 0:
            w["leaves"] = leaves
        if kind in _STATUS_OF:
            w["status"] = _STATUS_OF[kind]
        elif w["status"] == "accepted":
            w["status"] = "working"
        return fill

    def prune(self) -> int:
        """The views dropped by a prune now."""
        over = self.top + 1 - self.retention - self.base
        if over <= self.slack:
            return 0
        self.base += max(min(self.step, over), over - self.slack)
        gone = {o for o, w in self.held().items() if o < self.base and w["status"] in _TERMINAL}
        self.dropped |= gone
        return len(gone)

    def check(self, v: OrderViews) -> None:
        """Every view held shows what its reports said, the dropped ones are gone for good, and each client id
        finds the newest order holding it."""
        held = self.held()
        assert len(v) == len(held)
        for oid, w in held.items():
            got = v.get(oid)
            assert got is not None, oid
            body = got.body()
            want = {k: w[k] for k in ("client_order_id", "account", "price", "qty", "status", "filled", "fills")}
            assert {k: body[k] for k in want} == want, oid
            assert body["leaves"] == (w["qty"] - w["filled"] if w["leaves"] < 0 else w["leaves"])
            assert got.side == w["side"] and not v.pruned(oid)
            assert v.applied(oid) == self.reports.get(oid, 0)
            assert v.client_order_id(oid) == w["client_order_id"]
        for oid in self.dropped:
            assert v.get(oid) is None and v.pruned(oid) and v.applied(oid) == ALL_APPLIED
            assert v.client_order_id(oid) is None
        for oid, n in self.reports.items():  # order ids without a view: counted (or, once dropped, all applied)
            if oid not in self.views:
                assert v.applied(oid) in (n, ALL_APPLIED) and (v.applied(oid) == n or oid < self.top + 1 - self.retention)
        newest: dict[tuple[int, str], int] = {}
        for oid, w in sorted(held.items()):
            if w["client_order_id"]:
                newest[(w["acct"], w["client_order_id"])] = oid
        for (acct, coid), oid in newest.items():
            assert v.find_client(acct, coid) == oid, (acct, coid)
        for oid in self.dropped:
            w = self.views[oid]
            if w["client_order_id"] and (w["acct"], w["client_order_id"]) not in newest:
                assert v.find_client(w["acct"], w["client_order_id"]) is None


_COIDS = ["a", "b", "c", "é-1", ""]  # few: the same client id comes back on later orders (and an empty one)
_add = st.tuples(st.just("add"), st.integers(1, 6), st.sampled_from(["many", "one", "accepted"]),
                 st.lists(st.tuples(st.integers(0, 1), st.sampled_from(_COIDS), st.booleans()), min_size=12,
                          max_size=12))
_report = st.tuples(st.just("report"), st.lists(st.tuples(st.integers(-40, 3), st.sampled_from(_KINDS),
                                                          st.integers(1, 5), st.integers(-1, 9)),
                                                min_size=1, max_size=8))
_settle = st.tuples(st.just("report"), st.lists(st.tuples(st.integers(-8, 0), st.just(REPORT_FILL), st.just(10),
                                                          st.just(0)), min_size=4, max_size=8))
_prune = st.tuples(st.just("prune"))
_op = st.one_of(_add, _add, _report, _settle, _prune, _prune, st.tuples(st.just("cancel"), st.integers(-40, 0)),
                st.tuples(st.just("snapshot")))


@given(retention=st.integers(1, 12), step=st.sampled_from([1, 3, 2048]), ops=st.lists(_op, min_size=20, max_size=120))
@settings(max_examples=150, deadline=None)
def test_views_match_a_model_through_adds_reports_prunes_and_snapshots(retention: int, step: int, ops: list) -> None:
    """Random adds (column-wise, one by one, picked among decisions), reports (acks, partial and full fills,
    cancels, rejects, expiries; to old, new, dropped and unknown order ids), cancels, prunes and snapshot round
    trips against `_Model`: the views held show what their reports said, each prune drops exactly the views the
    retention's rule drops (terminal ones below the moved base, those that went aside open once they have ended),
    and client ids (reused by later orders, per account) find the newest order holding them. A step of 1 or 3
    ids (`_STEP`) makes the ring and the fill log wrap and grow; 2048 is the service's. The views aside have
    room for 2 rows and 2 fills (`_ASIDE`, `_OLD_FILLS`): they fill up, and are compacted, often."""
    with mock.patch.object(V, "_STEP", step), mock.patch.object(V, "_OLD_FILLS", 2), \
            mock.patch.object(V, "_ASIDE", 2):
        v = OrderViews(NAMES, capacity=4, retention=retention)
        m = _Model(retention, step)
        ts = 0
        for op in ops:
            ts += 1
            if op[0] == "add":
                _, n, how, spec = op
                ids = list(range(m.issued + 1, m.issued + n + 1))
                acct = [a for a, _, _ in spec[:n]]
                coids = [c for _, c, _ in spec[:n]]
                if how == "one":
                    for i, a, c in zip(ids, acct, coids, strict=True):
                        v.add(i, c, a, 0, a, 1 - 2 * a, 9990 + i, 10, ts)
                        m.add(i, c, a, 1 - 2 * a, 9990 + i, 10)
                    continue
                dec = _accepted(ids)
                dec["account"], dec["symbol"], dec["side"], dec["price"] = acct, acct, [1 - 2 * a for a in acct], \
                    [9990 + i for i in ids]
                if how == "many":
                    v.add_many(dec, coids)
                    taken = ids
                else:  # among decisions: the rejected and the duplicates get no view (their ids are skipped)
                    dec["kind"], dec["accepted"] = INTENT_NEW, [1 if ok else 0 for _, _, ok in spec[:n]]
                    taken = [ids[i] for i in v.add_accepted(dec, coids).tolist()]
                    assert taken == [i for i, (_, _, ok) in zip(ids, spec, strict=False) if ok]
                    m.issued = ids[-1]
                for i in taken:
                    j = i - ids[0]
                    m.add(i, coids[j], acct[j], 1 - 2 * acct[j], 9990 + i, 10)
            elif op[0] == "report":
                rows = [(max(1, m.issued + d), kind, 9000 + q, q, leaves, ts) for d, kind, q, leaves in op[1]]
                fills, cols, _ = v.apply_reports(_reports(*rows))
                want = [i for i, r in enumerate(rows) if m.report(*r)]
                assert fills.tolist() == want
                assert cols[:, 0].tolist() == [m.views[rows[i][0]]["acct"] for i in want]
            elif op[0] == "cancel":
                oid = max(1, m.issued + op[1])
                v.cancel_pending(oid)
                w = m.views.get(oid)
                if w is not None and oid not in m.dropped and w["status"] in ("accepted", "working",
                                                                              "partially_filled"):
                    w["status"] = "cancel_pending"
            elif op[0] == "prune":
                assert v.prune() == m.prune()
            else:
                fresh = OrderViews(NAMES, capacity=4, retention=retention)
                fresh.restore(pickle.loads(pickle.dumps(v)))
                v = fresh
            m.check(v)


def test_a_refused_cancel_leaves_the_order_working() -> None:
    """A cancel the venue refuses: the view goes back from cancel_pending to working (partial once filled) with
    its leaves as they were; it stayed cancel_pending with the refusal's placeholder leaves 0."""
    v = OrderViews(NAMES, capacity=4)
    v.add_many(_accepted([1, 2]), ["a", "b"])
    v.apply_reports(_reports((1, REPORT_ACK, 0, 0, 10, 7), (2, REPORT_ACK, 0, 0, 10, 7),
                             (2, REPORT_PARTIAL_FILL, 9990, 3, 7, 8)))
    v.cancel_pending(1)
    v.cancel_pending(2)
    assert v.get(1).status == "cancel_pending"
    v.apply_reports(_reports((1, REPORT_CANCEL_REJECTED, 0, 0, 0, 9), (2, REPORT_CANCEL_REJECTED, 0, 0, 0, 9)))
    one, two = v.get(1).body(), v.get(2).body()
    assert (one["status"], one["leaves"]) == ("working", 10)
    assert (two["status"], two["leaves"]) == ("partially_filled", 7)



def test_reports_for_order_ids_at_int64s_edges_touch_no_view() -> None:
    """A venue's order id may be any int64: 0, negative, I64_MIN (whose ``oid - base`` overflowed), I64_MAX. None of
    them is a view's: each counts as a report without a row, and no view aside is touched (order id 0 used to be
    read as the first row aside: the index's empty bucket holds key 0 with value 0)."""
    i64_max, i64_min = 2**63 - 1, -(2**63)
    v = OrderViews(NAMES, retention=2)
    v.add_many(_accepted([1, 2, 3, 4, 5, 6]), ["a", "b", "c", "d", "e", "f"])
    v.apply_reports(_reports((4, REPORT_FILL, 9990, 10, 0, 1)))
    assert v.prune() == 1 and v.n_old == 3  # 1, 2, 3 open: aside (row 0 of the aside rows is one of them)
    before = (v.old_rows.copy(), v.rows.copy(), v.n_fill)
    odd = (0, -1, i64_min, i64_min + 1, i64_max, -7)
    fills, _, _ = v.apply_reports(_reports(*[(o, REPORT_FILL, 9990, 10, 0, 2) for o in odd]))
    assert len(fills) == 0
    assert np.array_equal(v.old_rows, before[0]) and np.array_equal(v.rows, before[1]) and v.n_fill == before[2]
    assert all(v.applied(o) == 1 for o in odd)  # each counted as a report without a row (`far`)
    assert v.get(0) is None and not v.pruned(0) and v.client_order_id(0) is None


def test_filled_and_leaves_at_int64s_end_never_wrap() -> None:
    i64_max = 2**63 - 1
    v = OrderViews(NAMES)
    v.add_many(_accepted([1]), ["a"])
    v.apply_reports(_reports((1, REPORT_PARTIAL_FILL, 9990, i64_max, i64_max, 1),
                             (1, REPORT_PARTIAL_FILL, 9990, i64_max, i64_max, 2)))
    one = v.get(1)
    assert one.filled == i64_max and one.status == "partially_filled"  # clamped, not wrapped negative
    assert one.body()["leaves"] == i64_max - 1  # the column holds leaves + 1: I64_MAX reads back one less


def test_a_replace_shows_once_the_venue_has_replaced_and_not_when_it_refused() -> None:
    from hft.core.orders import REPORT_REPLACE_REJECTED, REPORT_REPLACED

    v = OrderViews(NAMES)
    v.add_many(_accepted([1]), ["a"])  # price 9990, qty 10
    v.apply_reports(_reports((1, REPORT_ACK, 0, 0, 10, 6), (1, REPORT_PARTIAL_FILL, 9990, 4, 6, 7)))
    v.apply_reports(_reports((1, REPORT_REPLACED, 9995, 0, 3, 8)))  # the new open size: 3, after 4 filled
    b = v.get(1).body()
    assert (b["price"], b["qty"], b["filled"], b["leaves"], b["status"]) == (9995, 7, 4, 3, "partially_filled")
    v.apply_reports(_reports((1, REPORT_REPLACE_REJECTED, 0, 0, 0, 9)))  # a later replace refused: as it was
    b = v.get(1).body()
    assert (b["price"], b["qty"], b["leaves"], b["status"]) == (9995, 7, 3, "partially_filled")


@given(rows=st.lists(st.tuples(*(st.integers(-2**63, 2**63 - 1) for _ in range(7)), st.integers(-128, 127)),
                     max_size=40))
@settings(max_examples=60, deadline=None)
def test_venue_reports_widen_an_execution_report_array_as_the_record_declares(rows: list) -> None:
    """`venue_reports` (one numba call, fields copied by name) gives what `Record.widen` gives an EXEC_REPORT_DTYPE array (the record's
    declared defaults: liquidity 0, queue -1), and a copy of a VENUE_REPORT_DTYPE array."""
    from hft.core.orders import VENUE_REPORT

    arr = np.array(rows, EXEC_REPORT_DTYPE) if rows else np.zeros(0, EXEC_REPORT_DTYPE)
    got = V.venue_reports(arr[::2] if len(arr) > 3 else arr)  # a strided view too
    want = VENUE_REPORT.widen(arr[::2] if len(arr) > 3 else arr)
    assert got.dtype == VENUE_REPORT_DTYPE and got.tolist() == want.tolist()  # (padding bytes aside)
    assert all(r[-2:] == (0, -1) for r in got.tolist())
    again = V.venue_reports(got)
    assert again.tolist() == got.tolist() and not np.shares_memory(again, got)
