"""LOBSTER verification: the rebuilt L3 book equals the reference after every message, and the check can fail."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, EVENT_DTYPE, NO_PRICE, SELL
from hft.data.lobster import LobsterData, import_lobster, write_lobster_import
from hft.data.verify_lobster import verify_arrays, verify_lobster, verify_lobster_path

SAMPLES = {  # file: (messages, levels), from ../shared/data/README.md
    "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip": (118_497, 1),
    "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip": (57_515, 1),
    "LOBSTER_SampleFile_AMZN_2012-06-21_5.zip": (155_935, 5),
    "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip": (49_482, 1),
    "LOBSTER_SampleFile_GOOG_2012-06-21_5.zip": (112_673, 5),
    "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip": (147_916, 10),
}


def _with_events(data: LobsterData, events: np.ndarray) -> LobsterData:
    events.flags.writeable = False
    return dataclasses.replace(data, events=events)


def test_small_day_verifies_and_accounts_for_pre_existing_orders(tmp_path: Path, lobster_day: Any) -> None:
    res = verify_lobster(import_lobster(lobster_day.write(tmp_path)))
    json.dumps(res)  # JSON-able
    assert res["checked"] == 7 and res["mismatches"] == 0 and res["ok"]
    assert res["first_mismatch"] is None
    assert res["unknown_order_refs"] == 2  # the cancel of order 5 and the delete of order 6
    # row 0 seeds bid 100.00 and ask 100.05; ask 100.10 becomes visible (unobserved before) at row 5
    assert res["seeded_levels"] == 3
    assert res["relearned_levels"] == 0


def test_changed_size_is_a_mismatch(tmp_path: Path, lobster_day: Any) -> None:
    data = import_lobster(lobster_day.write(tmp_path))
    ev = data.events.copy()
    ev["qty"][2] = 31  # the execution of order 11 (30 in the file)
    res = verify_lobster(_with_events(data, ev))
    assert res["mismatches"] >= 1 and not res["ok"]
    first = res["first_mismatch"]
    assert first["row"] == 2 and first["line"] == 3
    assert first["expected"][3] == 70 and first["found"][3] == 69


def test_a_mismatch_names_the_lines_of_both_files(tmp_path: Path, lobster_day: Any) -> None:
    """The first mismatch is named where a person finds it: the orderbook file's line and the message's, as
    ``"<file>: row <line>"`` (a zip's member after its path); `hft data verify`'s problem says both."""
    from hft.data.importing import verify_files

    M = list(lobster_day.messages)
    M[5] = "34204.1234567895,3,12,40,1000300,-1"  # the delete of order 12 takes 40 of its 50
    z = lobster_day.zip(tmp_path, M)
    first = verify_lobster(import_lobster(z))["first_mismatch"]
    assert first["row"] == 5 and first["line"] == 6
    assert first["message"] == f"{z}:{lobster_day.stem}_message_2.csv: row 6"
    assert first["orderbook"] == f"{z}:{lobster_day.stem}_orderbook_2.csv: row 6"
    res = verify_files([lobster_day.write(tmp_path, M)])
    assert res["problem"] == (f"1 book row differs from the orderbook file, the first at {tmp_path}/"
                              f"{lobster_day.stem}_orderbook_2.csv: row 6 (the book after {tmp_path}/"
                              f"{lobster_day.stem}_message_2.csv: row 6): field 'ask_px_1 (column 1)' expected "
                              "1000500, found 1000300 (and 3 more fields)")


def test_a_mismatch_names_the_field_and_both_values(tmp_path: Path, lobster_day: Any) -> None:
    """`hft data verify`'s problem names the first differing orderbook cell, the value the file writes there and
    the one the rebuilt book has (prices in the file's price units), as well as both rows."""
    from hft.data.importing import verify_files

    B = list(lobster_day.books)
    B[2] = "1000300,50,1000100,71,1000500,300,1000000,200"  # bid_sz_1 after the execution: 71, the book has 70
    B[3] = B[2]
    problem = verify_files([lobster_day.write(tmp_path, books=B)])["problem"]
    assert problem.startswith("2 book rows differ from the orderbook file, the first at ")
    assert problem.endswith("_orderbook_2.csv: row 3 (the book after "
                            f"{tmp_path}/{lobster_day.stem}_message_2.csv: row 3): field 'bid_sz_1 (column 4)' "
                            "expected 71, found 70")
    B = list(lobster_day.books)
    B[1] = "1000400,50,1000100,100,1000500,300,1000000,200"  # the add at 100.03 shown at 100.04
    problem = verify_files([lobster_day.write(tmp_path, books=B)])["problem"]
    assert "row 2 (the book after" in problem and problem.endswith(
        "field 'ask_px_1 (column 1)' expected 1000400, found 1000300")


def test_a_price_beyond_the_book_span_names_its_message_line() -> None:
    from hft.book.l3 import MAX_LEVEL_SPAN
    from hft.core.errors import DataValidationError

    ev = np.zeros(2, EVENT_DTYPE)
    ev["kind"], ev["side"], ev["qty"], ev["order_id"] = EV_ADD, [BUY, SELL], 1, [1, 2]
    ev["price"] = [10_000, 10_000 + MAX_LEVEL_SPAN + 10]
    ref = np.array([[NO_PRICE, 0, 10_000, 1], [10_000 + MAX_LEVEL_SPAN + 10, 1, 10_000, 1]], np.int64)
    with pytest.raises(DataValidationError) as e:
        verify_arrays(ev, ref, 1, origins=("m.csv", "o.csv"))
    assert str(e.value) == ("m.csv: row 2 (the book after it: o.csv: row 2): expected prices within the book's "
                            "maximum span, found one beyond it")
    assert e.value.fields["line"] == 2


@pytest.mark.parametrize(("where", "value", "says"), [
    ("price", 2**60 + 1, "m.csv: row 2: price 1152921504606846977; expected a price within ±1152921504606846976"),
    ("qty", 2**61, "m.csv: row 2: qty 2305843009213693952; expected quantities summing to at most "
                   "2305843009213693952 lots (2**61) over the stream, 1 before this row"),
    ("ref_px", -(2**60) - 1, "o.csv: row 2, field 'bid_px_1 (column 3)': expected a price within "
                             "±1152921504606846976 ticks (2**60), was '-1152921504606846977'"),
    ("ref_qty", 2**61 + 1, "o.csv: row 1, field 'ask_sz_1 (column 2)': expected a size from 0 to "
                           "2305843009213693952 (2**61), was '2305843009213693953'"),
    ("ref_qty", -1, "o.csv: row 1, field 'ask_sz_1 (column 2)': expected a size from 0 to 2305843009213693952 "
                    "(2**61), was '-1'"),
])
def test_values_past_the_bounds_the_replay_relies_on_are_refused(where: str, value: int, says: str) -> None:
    """The replay adds and subtracts prices and sizes unchecked (an overflow would be undefined behaviour in
    numba): the events and the reference book are held to the bounds of every replayed stream first, and a value
    past them is named in its file, line and column."""
    from hft.core.errors import DataValidationError

    ev = np.zeros(2, EVENT_DTYPE)
    ev["kind"], ev["side"], ev["qty"], ev["order_id"] = EV_ADD, [BUY, SELL], 1, [1, 2]
    ev["price"] = [10_000, 10_002]
    ref = np.array([[NO_PRICE, 0, 10_000, 1], [10_002, 1, 10_000, 1]], np.int64)
    if where in ("price", "qty"):
        ev[where][1] = value
    else:
        ref[1 if where == "ref_px" else 0, 2 if where == "ref_px" else 1] = value
    with pytest.raises(DataValidationError) as e:
        verify_arrays(ev, ref, 1, origins=("m.csv", "o.csv"))
    assert str(e.value).startswith(says), str(e.value)


def test_changed_reference_is_a_mismatch(tmp_path: Path, lobster_day: Any) -> None:
    data = import_lobster(lobster_day.write(tmp_path))
    ref = data.reference.copy()
    ref[4, 7] += 1  # bid level 2 after the partial cancel
    res = verify_arrays(data.events, ref, data.levels)
    # row 4 differs; the region is then re-synchronised from the (bad) reference, so row 5 differs too
    assert res["mismatches"] == 2 and res["first_mismatch"]["row"] == 4


def test_verify_path_accepts_zip_csv_and_imported_parquet(tmp_path: Path, lobster_day: Any) -> None:
    msg = lobster_day.write(tmp_path)
    out = tmp_path / "imported.parquet"
    write_lobster_import(import_lobster(msg), out)
    for source in (lobster_day.zip(tmp_path), msg, out):
        res = verify_lobster_path(source)
        assert res["checked"] == 7 and res["mismatches"] == 0, source


# --- real files --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples(shared_data: Path) -> dict[str, LobsterData]:
    return {name: import_lobster(shared_data / "lobster" / name) for name in SAMPLES}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_message_of_the_shared_samples_rebuilds_the_reference_book(
        samples: dict[str, LobsterData], name: str) -> None:
    res = verify_lobster(samples[name])
    assert res["checked"] == SAMPLES[name][0]
    assert res["mismatches"] == 0, res["first_mismatch"]
    assert res["unknown_order_refs"] > 0 and res["seeded_levels"] > 0  # pre-09:30 orders were handled
    assert res["not_applied"] == 0 and res["price_conflicts"] == 0


@pytest.mark.shared_data
def test_total_message_count_of_the_shared_samples(samples: dict[str, LobsterData]) -> None:
    assert sum(len(d.events) for d in samples.values()) == 642_018


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["LOBSTER_SampleFile_GOOG_2012-06-21_1.zip",
                                  "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"])
def test_a_corrupted_execution_size_is_detected(samples: dict[str, LobsterData], name: str) -> None:
    data = samples[name]
    ev = data.events.copy()
    # an execution of an order the book knows, well into the day, that does not empty its level
    ref = data.reference
    rows = np.nonzero((ev["kind"] == EV_EXEC) & (ev["qty"] >= 2))[0]
    row = next(int(r) for r in rows if r > 1000 and ref[r, 3] > 0 and ref[r, 1] > 0
               and ev["price"][r] in (ref[r, 0], ref[r, 2]))
    ev["qty"][row] -= 1
    res = verify_lobster(_with_events(data, ev))
    assert res["mismatches"] >= 1
    assert res["first_mismatch"]["row"] == row


@pytest.mark.shared_data
def test_a_corrupted_reference_row_is_detected(samples: dict[str, LobsterData]) -> None:
    data = samples["LOBSTER_SampleFile_GOOG_2012-06-21_5.zip"]
    ref = data.reference.copy()
    ref[50_000, 1] += 100  # best ask size
    res = verify_arrays(data.events, ref, data.levels)
    assert res["mismatches"] >= 1 and res["first_mismatch"]["row"] == 50_000


@pytest.mark.shared_data
def test_learning_levels_only_once_cannot_explain_lobster(samples: dict[str, LobsterData]) -> None:
    """Evidence for re-learning on re-entry: LOBSTER omits every message below level L, so a level that leaves
    the window and comes back may have changed (AAPL line 29: order 16182649 vanishes while at level 2)."""
    res = verify_lobster(samples["LOBSTER_SampleFile_AAPL_2012-06-21_1.zip"], strict_reentry=True)
    assert res["mismatches"] > 1000


# --- property: LOBSTER-style recording (only messages that change the visible top-L) always verifies ------


def _top(book: dict[int, dict[int, int]], levels: int) -> list[int]:
    """LOBSTER-layout top-L row of a {side: {price: qty}} book."""
    bids = sorted((p for p, q in book[BUY].items() if q > 0), reverse=True)[:levels]
    asks = sorted(p for p, q in book[SELL].items() if q > 0)[:levels]
    row: list[int] = []
    for i in range(levels):
        row += [asks[i], book[SELL][asks[i]]] if i < len(asks) else [NO_PRICE, 0]
        row += [bids[i], book[BUY][bids[i]]] if i < len(bids) else [NO_PRICE, 0]
    return row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), levels=st.integers(1, 3), preopen=st.integers(0, 12))
def test_recording_only_visible_changes_always_verifies(seed: int, levels: int, preopen: int) -> None:
    """A full book evolves at random; like LOBSTER, only messages that change the top-L are recorded, and
    orders resting before the first message are never announced. The replay must match every row."""
    rng = random.Random(seed)
    book: dict[int, dict[int, int]] = {BUY: {}, SELL: {}}
    orders: dict[int, list[int]] = {}  # id -> [side, price, qty]
    next_id = 1

    def add(side: int) -> tuple[int, int, int, int, int]:
        nonlocal next_id
        price = rng.randint(90, 99) if side == BUY else rng.randint(100, 109)  # never crossed
        qty = rng.randint(1, 9)
        orders[next_id] = [side, price, qty]
        book[side][price] = book[side].get(price, 0) + qty
        next_id += 1
        return EV_ADD, side, price, qty, next_id - 1

    for _ in range(preopen):  # resting before the recording starts: never announced
        add(rng.choice([BUY, SELL]))
    rows: list[tuple[int, int, int, int, int]] = []
    refs: list[list[int]] = []
    for _ in range(300):
        before = _top(book, levels)
        if not orders or rng.random() < 0.45:
            msg = add(rng.choice([BUY, SELL]))
        else:
            oid = rng.choice(sorted(orders))
            side, price, qty = orders[oid]
            kind = rng.choice([EV_CANCEL, EV_DELETE, EV_EXEC])
            size = qty if kind == EV_DELETE else rng.randint(1, qty)
            orders[oid][2] -= size
            book[side][price] -= size
            if orders[oid][2] == 0:
                del orders[oid]
            msg = (kind, side, price, size, oid)
        after = _top(book, levels)
        if after != before:  # LOBSTER records only what touches the visible window
            rows.append(msg)
            refs.append(after)
    assume(rows)
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (kind, side, price, qty, oid) in enumerate(rows):
        ev[i] = (i, i, price, qty, oid, i, kind, side, 1)
    ref = np.array(refs, dtype=np.int64)
    res = verify_arrays(ev, ref, levels)
    assert res["checked"] == len(rows)
    assert res["mismatches"] == 0, res["first_mismatch"]
    bad = ev.copy()
    k = len(rows) // 2
    bad["qty"][k] += 1  # every recorded message touches the visible window: a wrong size must show
    res = verify_arrays(bad, ref, levels)
    assert res["mismatches"] >= 1 and res["first_mismatch"]["row"] == k


def test_a_size_conflict_beyond_the_recorded_levels_is_a_warning_naming_its_row(tmp_path: Path,
                                                                                lobster_day: Any) -> None:
    """An order resting beyond the L recorded levels deleted with another size than it was added with (real
    files have this: AMZN 5 levels, once): verify passes, and warns naming the message row and the order id."""
    from hft.data.importing import verify_files

    M = list(lobster_day.messages)
    B = list(lobster_day.books)
    M[1:1] = ["34200.1,1,99,10,990000,1", "34200.2,3,99,7,990000,1"]  # add bid 99.00 x10 (level 3), delete 7
    B[1:1] = [B[0], B[0]]  # the top 2 levels do not change
    res = verify_files([lobster_day.write(tmp_path, M, B)])
    assert res["ok"] and res["size_conflicts"] == 1 and res["first_size_conflict"]["order_id"] == 99
    assert res["warnings"] == [
        f"1 size conflict, the first at {tmp_path}/{lobster_day.stem}_message_2.csv: row 3 (order id 99): a "
        "message's size differs from what its order had left (it changed while unobserved beyond the recorded "
        "levels); the book after it still matches the orderbook file"]
    assert "warnings" not in verify_files([lobster_day.write(tmp_path)])
