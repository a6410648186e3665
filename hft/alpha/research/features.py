"""Features from replayed book states, on event time or on a fixed clock, with forward mid returns.

Book states
-----------
* LOBSTER inputs (``md.lobster`` present, raw zip or an import with its ``.ref.parquet``): the provider's
  reference orderbook rows, which are the exact top-L book after every message. A level-L LOBSTER file carries
  no messages below level L, so a book rebuilt from the messages alone drifts; the reference never does.
* Everything else (L2 streams, L3 event files without a reference): replayed with the L2 view kernel
  (`hft.book.l2_view.local_apply`) in ONE numba call over the whole stream (`_replay_top`), writing the top-N
  levels after every ``FLAG_EOM`` event into caller-allocated arrays.

Sampling
--------
* ``sampling="event"``: one row per ``FLAG_EOM`` event (the book is consistent after it), in stream order.
* ``sampling="100ms"`` (any duration): one row per grid time ``g`` on the UTC epoch-aligned grid
  ``g = k * step`` with ``first event ts < g <= last event ts``; the row holds the last consistent state at
  or before ``g`` (the state after the last FLAG_EOM event such that no event up to it has ``exch_ts > g``;
  for time-ordered streams simply the events with ``exch_ts <= g``). Nothing after ``g`` is used.

Columns (every row; prices in integer ticks, quantities in integer lots)
-------------------------------------------------------------------------
==========================  ========  ====================================================================
``ts``                      Int64     event ``exch_ts`` (event time) or the grid time (clock), ns UTC
``ts_utc``                  Datetime  ``ts`` as ``Datetime(ns, UTC)``, to read (not a feature an alpha requests)
``src_row``                 Int64     index in ``md.events`` of the last event the row's state includes
``bid_px_k``, ``ask_px_k``  Int64     price of level k = 1..levels (null: empty level)
``bid_qty_k``, ``ask_qty_k``Int64     quantity of level k (0: empty level)
``mid``                     Float64   (best bid + best ask) / 2, ticks (null when a side is empty)
``spread``                  Int64     best ask − best bid, ticks
``microprice``              Float64   size-weighted mid ``(bid·q_ask + ask·q_bid) / (q_bid + q_ask)``, ticks —
                                      the first-order micro-price (Stoikov 2018 takes its expectation of
                                      the mid; this is the standard imbalance-weighted approximation)
``imb_1``                   Float64   L1 imbalance ``(q_bid1 − q_ask1) / (q_bid1 + q_ask1)`` in [−1, 1]
``depth_bid``, ``depth_ask``Int64     total quantity over the `levels` levels of each side
``imb_depth``               Float64   ``(depth_bid − depth_ask) / (depth_bid + depth_ask)``
``bid_px_chg``,             Int64     change of the best bid / ask price since the previous row (0 on the
``ask_px_chg``                        first row or when a side is empty)
``ofi``                     Int64     Cont–Kukanov–Stoikov (2014) order-flow imbalance: the sum of
                                      ``e_n = 1{Pb_n >= Pb_n-1} qb_n − 1{Pb_n <= Pb_n-1} qb_n-1
                                      − 1{Pa_n <= Pa_n-1} qa_n + 1{Pa_n >= Pa_n-1} qa_n-1``
                                      over the consistent book states since the previous row (event time:
                                      exactly one e_n; clock: every e_n in the interval)
``trade_buy_qty``,          Int64     aggressive buy / sell volume since the previous row. The aggressor
``trade_sell_qty``                    is the TRADE event's side, or the opposite of the resting side for
                                      L3 executions (EXEC and HIDDEN_EXEC)
``trade_qty``               Int64     all traded volume since the previous row (incl. trades without side)
``trade_signed_qty``        Int64     ``trade_buy_qty − trade_sell_qty``
``trade_count``             Int64     number of trade / execution events since the previous row
``fwd_ret_<h>``             Float64   forward mid return ``mid[t+h] / mid[t] − 1``; h in rows for event
                                      time (``fwd_ret_10``), a duration for clock sampling
                                      (``fwd_ret_1s``, a multiple of the step); null without a future
==========================  ========  ====================================================================

"Since the previous row" for the first row means since the start of the stream.

Caching
-------
`compute_features` caches its result as Parquet under ``$HFT_HOME/cache/features/<key>.parquet`` (HFT_HOME
defaults to ``.hft``), written atomically. The key hashes the data (file SHA-256s when given paths; the event
array and reference book when given a `MarketData`), the `FeatureSpec` and `FEATURES_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hft.alpha.research.feature_spec import (  # the names and the spec (no numba), re-exported here
    FIXED_FEATURES,
    MAX_LEVELS,
    FeatureSpec,
    horizon_column,
    is_feature_name,
    level_of,
)
from hft.book.l2 import L2_OK, L2_OUT_OF_RANGE, L2Book, book_for, grow, top_n
from hft.book.l2_view import local_apply
from hft.core.dtypes import (
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    FLAG_EOM,
    NO_PRICE,
)
from hft.core.errors import ConfigError, DataValidationError
from hft.core.fileio import atomic_path
from hft.core.ids import hash_arrays, sha256_file
from hft.core.jit import njit
from hft.core.market_data import MarketDataSource
from hft.core.paths import hft_home

__all__ = [
    "FEATURES_VERSION",
    "FIXED_FEATURES",
    "MAX_LEVELS",
    "FeatureSpec",
    "compute_features",
    "feature_cache_dir",
    "feature_cache_key",
    "horizon_column",
    "is_feature_name",
    "level_of",
]

FEATURES_VERSION = 2  # bump when any column's definition changes (invalidates the cache)
MAX_CLOCK_ROWS = 50_000_000
_INT64_MAX = np.iinfo(np.int64).max

# --------------------------------------------------------------------------------------------------------------
# numba: replay for streams without a reference book
# --------------------------------------------------------------------------------------------------------------


@njit(cache=True)
def replay_top(book: L2Book, ev: np.ndarray, start: int, k: int, is_l3: bool, rows: np.ndarray,
               bid_px: np.ndarray, bid_qty: np.ndarray, ask_px: np.ndarray, ask_qty: np.ndarray
               ) -> tuple[int, int, int]:
    """Replay ``ev[start:]`` into `book`, writing the top-N levels after every FLAG_EOM event into row `k`
    onwards of the caller's ``[n, N]`` arrays (and its event index into ``rows``). Returns
    ``(status, next event, next row)``; on a status other than L2_OK the failing event was not applied."""
    top = np.empty(4, np.int64)
    for i in range(start, len(ev)):
        e = ev[i]
        status = local_apply(book, e.kind, e.side, e.price, e.qty, is_l3, top)
        if status != L2_OK:
            return status, i, k
        if e.flags & FLAG_EOM:
            top_n(book, bid_px[k], bid_qty[k], ask_px[k], ask_qty[k])
            rows[k] = i
            k += 1
    return L2_OK, len(ev), k


# --------------------------------------------------------------------------------------------------------------
# book states at every consistent event
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _States:
    rows: np.ndarray  # int64 [n]: event index of each state
    bid_px: np.ndarray  # int64 [n, L]
    bid_qty: np.ndarray
    ask_px: np.ndarray
    ask_qty: np.ndarray


def _states_from_reference(md: Any, levels: int) -> _States:
    lob = md.lobster
    ev = md.events
    ref = lob.reference
    if levels > lob.levels:
        raise ConfigError(f"features.levels: expected at most {lob.levels} (the LOBSTER file's levels), "
                          f"was {levels}", key="features.levels")
    if len(ref) != len(ev):
        raise DataValidationError(f"LOBSTER reference: expected one book row per event ({len(ev)}), was "
                                  f"{len(ref)}")
    rows = np.flatnonzero(ev["flags"] & FLAG_EOM).astype(np.int64)
    sub = ref[rows] if len(rows) != len(ref) else ref
    stop = 4 * levels
    return _States(rows, np.ascontiguousarray(sub[:, 2:stop:4]), np.ascontiguousarray(sub[:, 3:stop:4]),
                   np.ascontiguousarray(sub[:, 0:stop:4]), np.ascontiguousarray(sub[:, 1:stop:4]))


def _states_from_replay(md: Any, levels: int) -> _States:
    ev = md.events
    n_eom = int(np.count_nonzero(ev["flags"] & FLAG_EOM))
    rows = np.empty(n_eom, np.int64)
    bpx = np.empty((n_eom, levels), np.int64)
    bq = np.empty((n_eom, levels), np.int64)
    apx = np.empty((n_eom, levels), np.int64)
    aq = np.empty((n_eom, levels), np.int64)
    book = book_for(ev)
    is_l3 = md.instrument.book_level == "L3"
    i, k = 0, 0
    while i < len(ev):
        status, i, k = replay_top(book, ev, i, k, is_l3, rows, bpx, bq, apx, aq)
        if status == L2_OUT_OF_RANGE:
            book = grow(book, int(ev[i]["side"]), int(ev[i]["price"]))
        elif status != L2_OK:
            i += 1  # a malformed level update: skip it (`hft data verify` reports these precisely)
    return _States(rows[:k], bpx[:k], bq[:k], apx[:k], aq[:k])


def _ofi_increments(bp: np.ndarray, bq: np.ndarray, ap: np.ndarray, aq: np.ndarray) -> np.ndarray:
    """CKS e_n between consecutive states (e_0 = 0). Empty sides: bid at NO_PRICE (lowest), ask at +max."""
    e = np.zeros(len(bp), np.int64)
    if len(bp) < 2:
        return e
    ap = np.where(ap == NO_PRICE, _INT64_MAX, ap)
    b0, b1, a0, a1 = bp[:-1], bp[1:], ap[:-1], ap[1:]
    e[1:] = ((b1 >= b0) * bq[1:] - (b1 <= b0) * bq[:-1] - (a1 <= a0) * aq[1:] + (a1 >= a0) * aq[:-1])
    return e


def _trade_cums(ev: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cumulative (per event) aggressive buy, sell, total volume and trade count."""
    kind = ev["kind"]
    side = ev["side"].astype(np.int64)
    qty = ev["qty"]
    is_trade = kind == EV_TRADE
    is_exec = (kind == EV_EXEC) | (kind == EV_HIDDEN_EXEC)
    aggr = np.where(is_trade, side, np.where(is_exec, -side, 0))
    any_trade = is_trade | is_exec
    buy = np.where(any_trade & (aggr > 0), qty, 0)
    sell = np.where(any_trade & (aggr < 0), qty, 0)
    vol = np.where(any_trade, qty, 0)
    return np.cumsum(buy), np.cumsum(sell), np.cumsum(vol), np.cumsum(any_trade.astype(np.int64))


def _diff0(x: np.ndarray) -> np.ndarray:
    """Increments of a cumulative series (the first element kept as is)."""
    out = np.empty_like(x)
    if len(x):
        out[0] = x[0]
        out[1:] = x[1:] - x[:-1]
    return out


def _build(md: Any, spec: FeatureSpec):

    ev = md.events
    if len(ev) == 0:
        raise DataValidationError("features: expected a non-empty event stream, was empty")
    st = (_states_from_reference(md, spec.levels) if getattr(md, "lobster", None) is not None
          else _states_from_replay(md, spec.levels))
    if len(st.rows) == 0:
        raise DataValidationError("features: expected at least one consistent book state (FLAG_EOM event), "
                                  "found none")
    buy_c, sell_c, vol_c, cnt_c = _trade_cums(ev)
    ofi_c = np.cumsum(_ofi_increments(st.bid_px[:, 0], st.bid_qty[:, 0], st.ask_px[:, 0], st.ask_qty[:, 0]))
    eom_ts = ev["exch_ts"][st.rows]
    step = spec.step_ns
    if step is None:
        pick = np.arange(len(st.rows))
        ts = eom_ts
    else:
        # running maximum: a state is taken only when no event applied so far is stamped after g (exchange
        # stamps of merged L2 feeds can step back a little; the ordering of the stream is kept)
        eom_ts = np.maximum.accumulate(eom_ts)
        t_first, t_last = int(ev["exch_ts"][0]), int(eom_ts[-1])
        g0 = (t_first // step + 1) * step
        n = (t_last - g0) // step + 1 if t_last >= g0 else 0
        if n > MAX_CLOCK_ROWS:
            raise ConfigError(f"features.sampling: expected at most {MAX_CLOCK_ROWS} grid rows, "
                              f"{spec.sampling} gives {n}", key="features.sampling")
        ts = g0 + step * np.arange(max(n, 0), dtype=np.int64)
        pick = np.searchsorted(eom_ts, ts, side="right") - 1
        keep = pick >= 0
        ts, pick = ts[keep], pick[keep]
    if len(pick) < 2:
        raise DataValidationError(f"features: expected at least 2 rows, sampling {spec.sampling} gives "
                                  f"{len(pick)}", hint="use a finer clock or longer data")
    src = st.rows[pick]
    cols: dict[str, Any] = {"ts": ts.astype(np.int64), "src_row": src}
    for name, arr in (("bid_px", st.bid_px), ("bid_qty", st.bid_qty), ("ask_px", st.ask_px),
                      ("ask_qty", st.ask_qty)):
        sub = arr[pick]
        for lv in range(spec.levels):
            cols[f"{name}_{lv + 1}"] = sub[:, lv]
    bp1 = st.bid_px[pick, 0]
    ap1 = st.ask_px[pick, 0]
    cols["bid_px_chg"] = _px_change(bp1)
    cols["ask_px_chg"] = _px_change(ap1)
    cols["ofi"] = _diff0(ofi_c[pick])
    buy, sell = _diff0(buy_c[src]), _diff0(sell_c[src])
    cols["trade_buy_qty"] = buy
    cols["trade_sell_qty"] = sell
    cols["trade_qty"] = _diff0(vol_c[src])
    cols["trade_signed_qty"] = buy - sell
    cols["trade_count"] = _diff0(cnt_c[src])
    df = pl.DataFrame(cols)
    px_cols = [f"{s}_px_{lv + 1}" for s in ("bid", "ask") for lv in range(spec.levels)]
    df = df.with_columns([pl.when(pl.col(c) == NO_PRICE).then(None).otherwise(pl.col(c)).alias(c)
                          for c in px_cols])
    b, a = pl.col("bid_px_1"), pl.col("ask_px_1")
    qb, qa = pl.col("bid_qty_1"), pl.col("ask_qty_1")
    db = pl.sum_horizontal([pl.col(f"bid_qty_{lv + 1}") for lv in range(spec.levels)])
    da = pl.sum_horizontal([pl.col(f"ask_qty_{lv + 1}") for lv in range(spec.levels)])
    df = df.with_columns(
        mid=(b + a).cast(pl.Float64) / 2.0,
        spread=a - b,
        microprice=_nan_null((b * qa + a * qb).cast(pl.Float64) / (qb + qa).cast(pl.Float64)),
        imb_1=_nan_null((qb - qa).cast(pl.Float64) / (qb + qa).cast(pl.Float64)),
        depth_bid=db.cast(pl.Int64),
        depth_ask=da.cast(pl.Int64),
    ).with_columns(
        imb_depth=_nan_null((pl.col("depth_bid") - pl.col("depth_ask")).cast(pl.Float64)
                            / (pl.col("depth_bid") + pl.col("depth_ask")).cast(pl.Float64)),
    )
    mid = pl.col("mid")
    df = df.with_columns([(mid.shift(-k) / mid - 1.0).alias(horizon_column(h))
                          for h, k in zip(spec.horizons, spec.horizon_rows(), strict=True)])
    df = df.with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")).alias("ts_utc"))
    return df.select(column_order(spec))


def _nan_null(expr):
    return expr.fill_nan(None)


def _px_change(px: np.ndarray) -> np.ndarray:
    """Change since the previous row (0 on the first row and when either price is an empty side)."""
    out = np.zeros(len(px), np.int64)
    if len(px) > 1:
        ok = (px[1:] != NO_PRICE) & (px[:-1] != NO_PRICE)
        out[1:][ok] = px[1:][ok] - px[:-1][ok]
    return out


def column_order(spec: FeatureSpec) -> list[str]:
    """The output columns of `compute_features` for `spec`, in order."""
    lv = [f"{s}_{q}_{k + 1}" for k in range(spec.levels) for s in ("bid", "ask") for q in ("px", "qty")]
    return ["ts", "ts_utc", "src_row", *lv, *FIXED_FEATURES[2:], *(horizon_column(h) for h in spec.horizons)]


# --------------------------------------------------------------------------------------------------------------
# public entry point + cache
# --------------------------------------------------------------------------------------------------------------


def feature_cache_dir() -> Path:
    """``$HFT_HOME/cache/features`` (not created)."""
    return hft_home() / "cache" / "features"


def data_hash(md_or_paths: Any) -> str:
    """Content hash of the data: SHA-256 of the files (and LOBSTER sidecars) for paths, else of the arrays."""
    if isinstance(md_or_paths, str | Path) or (isinstance(md_or_paths, Sequence)
                                               and not hasattr(md_or_paths, "events")):
        paths = [Path(md_or_paths)] if isinstance(md_or_paths, str | Path) else [Path(p) for p in md_or_paths]
        h = hashlib.blake2b(digest_size=16)
        for p in paths:
            if not p.is_file():
                raise DataValidationError(f"{p}: expected a market data file, none exists", file=str(p))
            h.update(b"file:" + sha256_file(p).encode())
            side = p.with_name(p.name.removesuffix(".parquet") + ".ref.parquet")
            if p.name.endswith(".parquet") and side.is_file():
                h.update(b"ref:" + sha256_file(side).encode())
            if "_message_" in p.name and p.name.endswith(".csv"):
                ob = p.with_name(p.name.replace("_message_", "_orderbook_"))
                if ob.is_file():
                    h.update(b"ob:" + sha256_file(ob).encode())
        return "files-" + h.hexdigest()
    md = md_or_paths
    arrays = [md.events]
    if getattr(md, "lobster", None) is not None:
        arrays.append(md.lobster.reference.reshape(-1))
    return "arrays-" + hash_arrays(*arrays) + f"-{md.instrument.book_level}"


def feature_cache_key(data_key: str, spec: FeatureSpec) -> str:
    """The cache file key of `spec`'s features on the data whose content key is `data_key`."""
    payload = json.dumps({"v": FEATURES_VERSION, "data": data_key, "spec": spec.to_dict()}, sort_keys=True)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def compute_features(md_or_paths: Any, spec: FeatureSpec | None = None, *, source: MarketDataSource | None = None,
                     cache: bool = True, cache_dir: Path | None = None) -> pl.DataFrame:
    """Features of a market-data stream (see the module docstring for the columns).

    Args:
        md_or_paths: an opened market-data stream (`hft.data.sources.MarketData`), or input path(s) that
            `source` opens; paths of several days (`MarketDataSource.group_days`) give each day's rows in turn,
            each day computed on its own (a forward return never runs into the next day).
        spec: what to compute (default `FeatureSpec()`).
        source: opens paths (`hft.core.market_data.MarketDataSource`; the files on disk:
            `hft.data.sources.FILES`); required with paths, unused with an opened stream.
        cache: read / write the Parquet cache (key: data hash + spec + `FEATURES_VERSION`).
        cache_dir: override the cache folder (default `feature_cache_dir()`).

    Returns:
        A polars DataFrame, one row per sample.
    """
    spec = spec or FeatureSpec()
    if not hasattr(md_or_paths, "events") and source is None:
        raise TypeError("compute_features: paths need a market-data source (source=hft.data.sources.FILES), "
                        "was None")
    target = None
    if cache:
        key = feature_cache_key(data_hash(md_or_paths), spec)
        target = Path(cache_dir or feature_cache_dir()) / f"{key}.parquet"
        if target.is_file():
            try:
                return pl.read_parquet(target)
            except Exception:  # a damaged cache entry is recomputed and replaced, never trusted
                target.unlink(missing_ok=True)
    md = md_or_paths
    if not hasattr(md, "events"):

        paths = [md] if isinstance(md, str | Path) else list(md)
        groups = source.group_days(paths)
        if len(groups) > 1:  # several days: each day's features on its own (no return across a night), in order
            df = pl.concat([compute_features(g, spec, source=source, cache=cache, cache_dir=cache_dir)
                            for g in groups])
            md = None
        else:
            md = source.open_market_data([Path(p) for p in paths])
    if md is not None:
        df = _build(md, spec)
    if target is not None:

        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            df.write_parquet(tmp, compression="lz4")
    return df
