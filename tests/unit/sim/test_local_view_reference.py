"""The strategy's local view on LOBSTER data with ``l3_resync`` on (`hft.sim.engine`, "Local view and reference
rows"): at local event i the view becomes reference row i — exactly its top-L, nothing below — so at every
callback the context shows the reference row of the last message delivered, never a row before its message's
local time; both engines agree with the switch on and off, and off is the old message-built view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_l3_resync import GOOG_1, GOOG_10, _md, _truncate_like_lobster

from hft.book.l2 import BOOK_N_ASK, BOOK_N_BID, L2_OK, L2_OUT_OF_RANGE, book_for, grow, top_n
from hft.book.l2_view import local_apply, local_set_row
from hft.core.dtypes import BUY, EV_ADD, EVENT_DTYPE, NO_PRICE, SELL
from hft.core.ids import RUN_HASH_BLAKE2B, run_hash_scheme
from hft.sim.engine import Engine
from hft.sim.engine_nb import NbEngine
from hft.sim.latency import feed_local_times
from hft.sim.replay import build_engine, lobster_preopen_levels, parse_replay_config
from hft.sim.strategies.mm import MarketMaker
from hft.sim.strategy import Context

# Run hashes of the truncated day with l3_resync OFF, measured on the code before this change (commit b62bcad:
# venue resync only, local view from the messages): off must reproduce them. Re-pinned when fees became exact
# (issue 51: the fill log carries each fee's millionths, so every run with fills hashes anew; nothing else moved).
TRUNC_OFF_HASHES = {
    "mm": "ae5acb1c325cf7631be826855f585f76",
    "mm_feed": "38ec7295840f0ec28fed14ea80517cc3",
    "imbalance_taker": "ebbdd5df6ba07e5ee5c8880032a4fdcb",
}
CONFIGS = {
    "mm": ("mm", {"strategies": {"mm": {"size": 3, "max_position": 12}}}),
    "mm_feed": ("mm", {"strategies": {"mm": {"size": 2, "edge_ticks": 1}},
                       "latency": {"feed": {"base": "300us", "jitter": "200us"}}, "seed": 5}),
    "imbalance_taker": ("imbalance_taker", {"latency": {"jitter": "200us"}, "seed": 3}),
}


# ----------------------------------------------------------------------------------------------- helpers
class _Recorder(MarketMaker):
    """`mm` (Python callbacks: no strategy kernel) that records what the context shows at every callback."""

    nb_kernel = None
    # ~23k timer callbacks in a 6.5-hour session, between messages (a few per second): every kind of callback is
    # checked. It was 7 ms: 3.3 M timer callbacks (through Python), which was ~90 % of these tests' time.
    timer_ns = 1_013_000_000

    def __init__(self) -> None:
        super().__init__(size=2, max_position=6, edge_ticks=0, skew_ticks_per_lot=0)
        self.seen: list[tuple[str, int, int, int, int, int]] = []

    def _rec(self, what: str, ctx: Context) -> None:
        b, a = ctx.best_bid, ctx.best_ask
        self.seen.append((what, ctx.now, NO_PRICE if b is None else b, ctx.bid_qty, NO_PRICE if a is None else a,
                          ctx.ask_qty))

    def on_book(self, ctx: Context) -> None:
        self._rec("book", ctx)
        super().on_book(ctx)

    def on_trade(self, ctx: Context, side: int, price: int, qty: int) -> None:
        self._rec("trade", ctx)

    def on_order_update(self, ctx: Context, update) -> None:
        self._rec("order", ctx)

    def on_timer(self, ctx: Context) -> None:
        self._rec("timer", ctx)


def _ref_top(ref: np.ndarray, j: int, seed_top: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """(bid, bid qty, ask, ask qty) of reference row j (-1: the pre-open book the engine was seeded with)."""
    if j < 0:
        return seed_top
    r = ref[j]
    return int(r[2]), int(r[3]), int(r[0]), int(r[1])


def _seed_top(data) -> tuple[int, int, int, int]:
    lv = lobster_preopen_levels(data)
    bids = [(p, q) for s, p, q in lv if s == BUY]
    asks = [(p, q) for s, p, q in lv if s == SELL]
    b = max(bids) if bids else (NO_PRICE, 0)
    a = min(asks) if asks else (NO_PRICE, 0)
    return b[0], b[1], a[0], a[1]


def _check_views(data, cfg: dict, engine: str, strict_reference: bool = True) -> tuple[Engine, list]:
    """Replay `data` with the recorder; assert at every callback that the context shows the reference row of
    the last message delivered (book: row i at message i's local time; trade: row i-1, the book as of the last
    end of message, which message i's on_book then refreshes; order report / timer at time t: the row of the
    last message whose local time <= t — local data goes first at equal times). Returns the engine and the
    record."""
    rc = parse_replay_config({**cfg, "engine": engine})
    strat = _Recorder()
    eng, mult = build_engine(_md(data), strat, "mm", rc)
    eng.run(multiplier=mult)
    ev = data.events
    local = feed_local_times(np.ascontiguousarray(ev["exch_ts"]), np.ascontiguousarray(ev["local_ts"]),
                             eng.cfg.feed)
    ref = data.reference
    seed = _seed_top(data)
    i_book = 0
    kinds = set()
    for what, now, *top in strat.seen:
        kinds.add(what)
        if what == "book":
            j = i_book
            assert now == local[j]
            i_book += 1
        elif what == "trade":
            j = i_book - 1  # on_trade of message i_book runs before its end-of-message refresh
            assert now == local[i_book]
        else:
            j = int(np.searchsorted(local, now, side="right")) - 1
        assert j < 0 or local[j] <= now  # never a row before its message's local time
        if strict_reference:
            assert tuple(top) == _ref_top(ref, j, seed), (what, now, j, top, _ref_top(ref, j, seed))
    assert i_book == len(ev)
    assert kinds == {"book", "trade", "order", "timer"}
    return eng, strat.seen


def _view_levels(eng: Engine, levels: int) -> np.ndarray:
    """The local view as one LOBSTER-layout row of `levels` levels per side."""
    bp, bq, ap, aq = (np.zeros(levels, np.int64) for _ in range(4))
    top_n(eng.local, bp, bq, ap, aq)
    row = np.zeros(4 * levels, np.int64)
    row[0::4], row[1::4], row[2::4], row[3::4] = ap, aq, bp, bq
    return row


# ----------------------------------------------------------------------------------------------- generated days
@pytest.fixture(scope="module")
def gen_data(tmp_path_factory):
    from hft.data.importing import generate_day
    from hft.data.lobster import import_lobster

    out = tmp_path_factory.mktemp("view_day")
    z = generate_day(out, seed=13, symbol="SYNTH", date="2024-01-02", messages=8000, levels=5, zip_output=True)
    return import_lobster(z["zip_path"])


@pytest.fixture(scope="module")
def trunc_data(gen_data):
    return _truncate_like_lobster(gen_data, 2)


def test_kernel_sets_exactly_the_row():
    """`local_set_row`: the view holds exactly the row (nothing below its L-th level), from any view (walk) and
    from the previous row (diff); a price outside the range changes nothing and reports it."""
    ev = np.zeros(2, dtype=EVENT_DTYPE)
    ev["kind"] = EV_ADD
    ev["side"] = [BUY, SELL]
    ev["price"] = [100, 102]
    ev["qty"] = 1
    book = book_for(ev)
    top = np.zeros(4, np.int64)
    for side, price, qty in ((BUY, 100, 5), (BUY, 99, 4), (BUY, 90, 1), (SELL, 102, 3), (SELL, 110, 9)):
        local_apply(book, EV_ADD, side, price, qty, True, top)
    rows = np.array([[102, 7, 100, 6, 103, 2, 98, 1],  # row 0: 99, 90, 110 must go, 100 / 102 change
                     [101, 1, 100, 6, NO_PRICE, 0, 98, 1],  # row 1: a new best ask, 102 / 103 gone
                     [101, 1, 99, 2, NO_PRICE, 0, NO_PRICE, 0]], np.int64)
    for k in range(3):
        assert local_set_row(book, rows, k, k > 0, top) == 0
        got = np.zeros(8, np.int64)
        bp, bq, ap, aq = (np.zeros(2, np.int64) for _ in range(4))
        top_n(book, bp, bq, ap, aq)
        got[0::4], got[1::4], got[2::4], got[3::4] = ap, aq, bp, bq
        assert np.array_equal(got, rows[k]), (k, got)
        n_bid = int((rows[k][2::4] != NO_PRICE).sum())
        n_ask = int((rows[k][0::4] != NO_PRICE).sum())
        assert (book.state[BOOK_N_BID], book.state[BOOK_N_ASK]) == (n_bid, n_ask)  # nothing else, below or between
        assert top.tolist() == [rows[k][2], rows[k][3], rows[k][0], rows[k][1]]
    far = rows[2:3].copy()
    far[0, 2] = 10_000_000  # a bid far outside the allocated range
    before = book.bid_qty.copy()
    assert local_set_row(book, far, 0, False, top) == 1  # L2_OUT_OF_RANGE, nothing changed
    assert np.array_equal(book.bid_qty, before)


def test_generated_day_view_from_messages_equals_reference(gen_data):
    """A generated day's messages are complete: the view built from them shows the reference top-L after every
    message, so the reference rows change nothing there (its goldens stay byte-identical)."""
    ev = gen_data.events
    book = book_for(ev)
    top = np.zeros(4, np.int64)

    def apply(kind, side, price, qty):
        nonlocal book
        while (status := local_apply(book, kind, side, price, qty, True, top)) == L2_OUT_OF_RANGE:
            book = grow(book, side, price)
        assert status == L2_OK

    for side, price, qty in lobster_preopen_levels(gen_data):
        apply(EV_ADD, side, price, qty)
    levels = gen_data.levels
    bp, bq, ap, aq = (np.zeros(levels, np.int64) for _ in range(4))
    for k in range(len(ev)):
        e = ev[k]
        apply(int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]))
        top_n(book, bp, bq, ap, aq)
        row = gen_data.reference[k]
        assert np.array_equal(ap, row[0::4]) and np.array_equal(aq, row[1::4]), k
        assert np.array_equal(bp, row[2::4]) and np.array_equal(bq, row[3::4]), k


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_generated_day_runs_identical_on_and_off(gen_data, name):
    strategy, cfg = CONFIGS[name]
    from hft.sim.strategies import make_strategy

    hashes = set()
    for engine in ("python", "numba"):
        for resync in (True, False):
            rc = parse_replay_config({**cfg, "engine": engine, "l3_resync": resync})
            eng, mult = build_engine(_md(gen_data), make_strategy(strategy, rc.strategies.get(strategy)), strategy,
                                     rc)
            out = eng.run(multiplier=mult)
            hashes.add((out.run_hash, out.equity.tobytes()))
    assert len(hashes) == 1


@pytest.mark.parametrize("engine", ["python", "numba"])
@pytest.mark.parametrize("feed", [None, {"base": "300us", "jitter": "2ms"}])
def test_truncated_day_view_is_the_reference_at_every_callback(trunc_data, engine, feed):
    cfg = {} if feed is None else {"latency": {"feed": feed}, "seed": 9}
    eng, _ = _check_views(trunc_data, cfg, engine)
    # the view holds exactly the last row: its top-L and nothing below
    lv = trunc_data.levels
    assert np.array_equal(_view_levels(eng, lv + 3)[: 4 * lv], trunc_data.reference[-1])
    assert np.all(_view_levels(eng, lv + 3)[4 * lv:][0::2] == NO_PRICE)


def test_truncated_day_off_is_the_message_view(trunc_data):
    """Off, the view is built from the messages: it drifts from the reference (which is why it is replaced)."""
    rc = parse_replay_config({"l3_resync": False, "engine": "python"})
    strat = _Recorder()
    eng, mult = build_engine(_md(trunc_data), strat, "mm", rc)
    eng.run(multiplier=mult)
    ref = trunc_data.reference
    books = [top for what, _, *top in strat.seen if what == "book"]
    differ = sum(tuple(t) != _ref_top(ref, i, (0, 0, 0, 0)) for i, t in enumerate(books))
    assert differ > len(books) // 20


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("resync", [True, False])
def test_truncated_day_engines_agree(trunc_data, name, resync):
    from hft.sim.strategies import make_strategy

    strategy, cfg = CONFIGS[name]
    outs = []
    for engine in ("python", "numba"):
        rc = parse_replay_config({**cfg, "engine": engine, "l3_resync": resync})
        eng, mult = build_engine(_md(trunc_data), make_strategy(strategy, rc.strategies.get(strategy)), strategy,
                                 rc)
        assert type(eng) is (Engine if engine == "python" else NbEngine)
        assert (eng.reference is not None) is resync
        with run_hash_scheme(RUN_HASH_BLAKE2B):  # TRUNC_OFF_HASHES are BLAKE2b run hashes, recorded before BLAKE3
            outs.append(eng.run(multiplier=mult))
    a, b = outs
    assert a.run_hash == b.run_hash
    assert np.array_equal(a.fills, b.fills) and np.array_equal(a.equity, b.equity) and a.final == b.final
    assert a.resync == b.resync
    if not resync:
        assert a.run_hash == TRUNC_OFF_HASHES[name]  # off: the old message-built view, the old run
    else:
        assert a.run_hash != TRUNC_OFF_HASHES[name]


def test_mm_kernel_equals_python_callback_with_reference(trunc_data):
    """The numba `mm` strategy kernel reads the same (reference) top as the Python `on_book`."""
    from hft.sim.strategies import make_strategy

    hashes = set()
    for engine, kernels in (("python", True), ("numba", True), ("numba", False)):
        rc = parse_replay_config({**CONFIGS["mm"][1], "engine": engine})
        eng, mult = build_engine(_md(trunc_data), make_strategy("mm", rc.strategies.get("mm")), "mm", rc)
        eng.strategy_kernels = kernels
        hashes.add(eng.run(multiplier=mult).run_hash)
    assert len(hashes) == 1


def test_engine_rejects_bad_reference_rows(trunc_data):
    from hft.core.errors import SimError

    rc = parse_replay_config({})
    eng, _ = build_engine(_md(trunc_data), _Recorder(), "mm", rc)
    with pytest.raises(SimError, match="one per event"):
        Engine(trunc_data.events, eng.venue, lambda *a: eng.gw, _Recorder(), "SYNTH", book_level="L3",
               reference=trunc_data.reference[:-1])
    with pytest.raises(SimError, match="L3"):
        Engine(trunc_data.events, eng.venue, lambda *a: eng.gw, _Recorder(), "SYNTH", book_level="L2",
               reference=trunc_data.reference)


# ----------------------------------------------------------------------------------------------- real LOBSTER files
def _real(shared_data: Path, name: str, n: int | None):
    from hft.data.lobster import LobsterData, import_lobster

    data = import_lobster(shared_data / name)
    if n is not None:
        data = LobsterData(data.events[:n], data.instrument, data.reference[:n], data.levels, data.meta)
    return data


@pytest.mark.shared_data
@pytest.mark.parametrize("name,n", [(GOOG_1, None), (GOOG_10, 30_000)])
def test_real_lobster_view_is_the_reference_at_every_callback(shared_data: Path, name: str, n):
    data = _real(shared_data, name, n)
    seen = {}
    for engine in ("python", "numba"):
        _, seen[engine] = _check_views(data, {"latency": {"feed": "250us"}}, engine)
    assert seen["python"] == seen["numba"]
    # never crossed, unlike the message-built view
    books = [t for what, _, *t in seen["numba"] if what == "book"]
    assert all(b == NO_PRICE or a == NO_PRICE or b < a for b, _, a, _ in books)


@pytest.mark.shared_data
@pytest.mark.parametrize("name,n", [(GOOG_10, 30_000)])
def test_real_lobster_engines_agree_on_and_off(shared_data: Path, name: str, n):
    """Both engines give the same run with the switch on and off (GOOG level 1 with off = the old hashes is
    `test_l3_resync.test_real_lobster_engines_and_off_switch`)."""
    from hft.sim.strategies import make_strategy

    data = _real(shared_data, name, n)
    for strategy, cfg in (("mm", {"strategies": {"mm": {"size": 10, "max_position": 100}}}),
                          ("imbalance_taker", {})):
        got = {}
        for resync in (True, False):
            hs = set()
            for engine in ("python", "numba"):
                rc = parse_replay_config({**cfg, "engine": engine, "l3_resync": resync})
                eng, mult = build_engine(_md(data), make_strategy(strategy, rc.strategies.get(strategy)), strategy,
                                         rc)
                hs.add(eng.run(multiplier=mult).run_hash)
            assert len(hs) == 1
            got[resync] = hs.pop()
        assert got[True] != got[False] or strategy == "imbalance_taker"


# ----------------------------------------------------------------------------------------------- CLI table
def test_replay_table_shows_resync_counts(capsys):
    from hft.cli.replay import _render

    base = {"strategy": "mm", "symbol": "GOOG", "venue": "NASDAQ", "events": 10, "wall_s": 0.1, "events_per_s": 100,
            "pnl": 1.0, "currency": "USD", "pnl_money_units": 100.0, "fees_money_units": 0, "sharpe_per_sample": 0.1,
            "sample_s": 1.0, "max_drawdown_money_units": 0.0, "orders": 1, "cancels": 0, "fills": 0, "filled_qty": 0,
            "fill_ratio": 0.0, "maker_share": 0.0, "position": 0, "rejects": {}, "run_hash": "ab" * 16,
            "pnl_gross": 1.0, "fees": 0.0, "max_drawdown": 0.0, "money_unit": 0.01, "position_inst": 0.0,
            "filled_inst": 0.0}
    _render({**base, "resync": {"enabled": True, "levels": 10709, "added": 271155, "removed": 677335}})
    out = capsys.readouterr().out
    assert "L3 resync" in out and "10,709" in out and "+271,155" in out and "-677,335" in out
    _render({**base, "resync": {"enabled": False, "levels": 0, "added": 0, "removed": 0}})
    assert "off" in capsys.readouterr().out
    _render(base)  # Binance / no venue resync: no row
    assert "L3 resync" not in capsys.readouterr().out


def test_book_for_sizes_from_the_events_as_they_are():
    """The price bounds of read-only events are computed once per array; writeable events are read every time."""
    ev = np.zeros(3, dtype=EVENT_DTYPE)
    ev["kind"] = EV_ADD
    ev["side"] = [BUY, BUY, SELL]
    ev["price"] = [100, 90, 102]
    ev["qty"] = 1
    n = book_for(ev).bid_qty.shape[0]
    ev["price"] = [100, 90 - 5000, 102]  # writeable: changed in place, read again
    wide = book_for(ev).bid_qty.shape[0]
    assert wide == n + 5000
    ev.flags.writeable = False
    assert book_for(ev).bid_qty.shape[0] == wide == book_for(ev).bid_qty.shape[0]
    other = ev.copy()
    other["price"] = [100, 90, 102]
    other.flags.writeable = False
    assert book_for(other).bid_qty.shape[0] == n
