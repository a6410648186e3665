"""`hft.live.client_index.ClientIndex`: (account, client order id) -> newest order id, with deletions by backward
shift (what a prune of old order views does) and the re-indexing of older orders a deletion uncovered."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.live.client_index import ClientIndex, KeyTable, find

_IDS = [f"id-{i}" for i in range(500)] + ["é", ""]  # enough keys to fill half the 1,024 buckets: long probe runs

_batch = st.lists(st.tuples(st.integers(0, 1), st.sampled_from(_IDS)), min_size=1, max_size=120)
_op = st.one_of(st.tuples(st.just("put"), _batch),
                st.tuples(st.just("drop"), st.lists(st.integers(0, 10_000), min_size=1, max_size=120)),
                st.tuples(st.just("missing"), st.lists(st.integers(0, 10_000), min_size=1, max_size=30)),
                st.tuples(st.just("watch"), st.lists(st.integers(0, 10_000), min_size=1, max_size=30)),
                st.tuples(st.just("unwatch"), st.lists(st.integers(0, 10_000), min_size=1, max_size=30)))


@given(ops=st.lists(_op, min_size=1, max_size=30))
@settings(max_examples=120, deadline=None)
def test_the_index_answers_as_a_dict_through_puts_deletes_and_reputs(ops: list) -> None:
    """Against a dict: `put_many` (the later of equal keys wins; empty ids skipped), `drop_many` (a key goes only
    while it still names the dropped order; the keys it deleted that are watched are reported), `put_missing` (a
    key the index lacks goes to the newest order given), `watch` (a count per key, +1 / -1); every key is found
    after each step, the counts are right, and a table at half load with deletions inside its probe runs finds
    every key left (no probe crosses a hole: backward shift)."""
    index = ClientIndex(256)  # 1,024 buckets, grown past half full
    model: dict[tuple[int, str], int] = {}
    orders: list[tuple[int, str, int, int]] = []  # (account, client id, order id, key) of each put
    watched: dict[tuple[int, str], int] = {}
    oid = 0
    for kind, arg in ops:
        if kind == "put":
            acct = np.array([a for a, _ in arg], np.int64)
            coids = [c for _, c in arg]
            oids = np.arange(oid + 1, oid + len(arg) + 1, dtype=np.int64)
            oid += len(arg)
            keys = index.put_many(acct, coids, oids)
            assert (keys == 0).tolist() == [c == "" for c in coids]
            for (a, c), o, k in zip(arg, oids.tolist(), keys.tolist(), strict=True):
                if c:
                    model[(a, c)] = o
                    orders.append((a, c, o, k))
        elif orders:
            picked = sorted({orders[i % len(orders)] for i in arg}, key=lambda x: x[2])
            keys = np.array([k for *_, k in picked], np.int64)
            oids = np.array([o for _, _, o, _ in picked], np.int64)
            if kind == "drop":
                model_before = dict(model)
                reported = index.drop_many(keys, oids)
                gone = [(a, c) for a, c, o, _ in picked if model.get((a, c)) == o]
                for key in gone:
                    del model[key]
                assert sorted(reported.tolist()) == sorted(k for a, c, o, k in picked if (a, c) in gone
                                                           and model_before[(a, c)] == o
                                                           and watched.get((a, c), 0) > 0)
            elif kind in ("watch", "unwatch"):
                if kind == "unwatch":  # once per client id counted (a count never goes below 0)
                    picked = [p for p in {p[:2]: p for p in picked}.values() if watched.get(p[:2], 0) > 0]
                    keys = np.array([k for *_, k in picked], np.int64)
                index.watch(keys, 1 if kind == "watch" else -1)
                for a, c, _, _ in picked:
                    watched[(a, c)] = watched.get((a, c), 0) + (1 if kind == "watch" else -1)
            else:
                index.put_missing(keys, oids)
                newest: dict[tuple[int, str], int] = {}
                for a, c, o, _ in picked:
                    newest[(a, c)] = max(newest.get((a, c), 0), o)
                for key, o in newest.items():  # only where the key was missing
                    model.setdefault(key, o)
        assert len(index) == len(model) and index.n_watched == sum(1 for n in watched.values() if n > 0)
        for a in (0, 1):
            for c in _IDS[:-1]:
                assert index.get(a, c) == model.get((a, c)), (a, c)


def test_a_deleted_key_goes_back_to_the_newest_older_order_given() -> None:
    """Orders 1, 2, 3 of one client id (3 indexed); 3 dropped: the key is gone; of 1 and 2 put back where missing,
    2 (the newest) takes it; a key still present keeps its order."""
    index = ClientIndex()
    keys = index.put_many(np.zeros(4, np.int64), ["x", "x", "x", "y"], np.array([1, 2, 3, 4]))
    assert index.get(0, "x") == 3 and keys[0] == keys[1] == keys[2] != keys[3]
    index.drop_many(keys[:1], np.array([1]))  # names 3, not 1: kept
    assert index.get(0, "x") == 3
    index.drop_many(keys[2:3], np.array([3]))
    assert index.get(0, "x") is None and len(index) == 1
    index.put_missing(keys[[0, 1, 3]], np.array([1, 2, 4]))
    assert index.get(0, "x") == 2 and index.get(0, "y") == 4 and len(index) == 2


def test_key_zero_is_never_found_nor_stored() -> None:
    """0 marks an empty bucket: `find` of 0 answers -1 (it used to answer the empty bucket's value, 0), and a
    `KeyTable` given key 0 stores nothing."""
    t = KeyTable()
    t.put(np.array([5, 0, 9], np.int64), np.array([50, 77, 90], np.int64))
    assert t.n == 2
    assert find(t.tab, 0) == -1 and find(t.tab, 5) == 50 and find(t.tab, 9) == 90
    assert find(t.tab, -(2**63)) == -1 and find(t.tab, 2**63 - 1) == -1
