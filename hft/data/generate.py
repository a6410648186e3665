"""`hft data generate`: a deterministic synthetic L3 order flow for one instrument and one session, in LOBSTER format.

Output
------
Two CSV files without header, exactly in the layout of the LOBSTER files (see ``../shared/data/README.md``)::

    <SYMBOL>_<YYYY-MM-DD>_<start_ms>_<end_ms>_message_<L>.csv     time,type,order_id,size,price,direction
    <SYMBOL>_<YYYY-MM-DD>_<start_ms>_<end_ms>_orderbook_<L>.csv   ask_px_1,ask_sz_1,bid_px_1,bid_sz_1,...

time is seconds after midnight (venue local time) with nine decimals; prices are dollars × 10000; row k of the
orderbook file is the top-L book after message k; empty levels read ``9999999999,0`` (ask) and
``-9999999999,0`` (bid). Optionally both files are zipped into ``<SYMBOL>_<date>_<start_ms>_<end_ms>_<L>.zip``,
like the LOBSTER sample zips. Files are written atomically: on any error nothing is left behind.

Model
-----
A zero-intelligence order flow (Smith, Farmer, Gillemot & Krishnamurthy 2003) anchored to a latent fair price,
with Hawkes-clustered arrivals and a U-shaped intraday profile:

* **Fair price** ``v``: a random walk in half-ticks (±½ tick jumps at rate ``4σ²/T`` so that the session
  standard deviation is ``daily_volatility × price``), weakly mean-reverting to the opening price.
* **Order arrivals** (limit, market, hidden): a Hawkes process with exponential kernel (branching ratio
  ``hawkes_branching``, decay ``hawkes_decay_s``) whose baseline follows the intraday profile
  ``1 + A·exp(−u/a) + B·exp(−(1−u)/b)`` (u = fraction of the session), normalised to mean 1.
* **Limit orders** (type 1): side 50/50; a buy is placed at ``⌊v − ½⌋ − k`` ticks, a sell at ``⌈v + ½⌉ + k``,
  with ``k ≥ 0`` drawn from a power law ``(k+1)^−depth_exponent`` truncated at ``max_depth`` ticks. So the
  quoted spread is 1–2 ticks around the fair price and depth decays away from the touch. A limit order priced
  through the opposite best executes first (type 4 rows) and only its remainder rests (type 1).
* **Market orders**: walk the opposite side FIFO, one type-4 execution row per resting order consumed. The
  side leans towards the fair price (``P(buy) = ½ + informed_tilt × (v − mid)``, clipped to [0.15, 0.85]),
  which is how the book follows ``v``.
* **Hidden executions** (type 5, order id 0, book unchanged): inside the spread, or at the touch of the
  passive side when the spread is one tick.
* **Cancellations**: each resting order is cancelled at rate ``ν`` (× the intraday profile), so the cancel
  rate is proportional to the number of resting orders; ``ν`` is set so about ``mean_resting_orders`` rest.
  A share ``partial_cancel_share`` of cancels are partial (type 2; round lots stay round), the rest full
  deletes (type 3, size = remaining size).
* **Open**: the book is laid at the session start (``opening_levels`` × ``opening_orders`` per side), as
  type-1 messages at the opening timestamp, or silently with ``preopen_book=True`` (then, as in real LOBSTER
  files, those orders first appear on cancel or execution and only the first orderbook row reveals them).

The book can never cross or lock: an order priced at or through the opposite best executes before resting.
The target message count is met approximately (±10 %): the arrival rate is set from it using the measured mean
number of messages per arrival (`MESSAGES_PER_ARRIVAL`).

Typical statistics (measured over seeds; the tests check wider ranges). At the default ~300k messages: submits
(1) 44.5 %, deletes (3) 38 %, partial cancels (2) 2 %, visible executions (4) 13 %, hidden executions (5)
2.4 %; spread 1 tick in ~92 % of rows, 2 ticks ~7 %, ≥ 4 ticks < 0.1 %; depth peaks one tick behind the touch
and decays; first and last half hours ≈ 1.9× the midday message rate; ~7 % of messages share their timestamp
with the previous one (sweeps). The fair-price volatility does not scale with the message count, so the
execution share falls with more messages (≈ 20 % at 50k, 9.5 % at 1M). For reference, the LOBSTER samples of
2012-06-21 show submits 46–50 %, deletes 24–44 %, executions 5–20 %, hidden 1.6–9.6 %.

Determinism: the kernel draws from its own xoshiro256** stream seeded from ``seed`` by splitmix64; no Python
hash, set or dict order is involved, so the same config gives byte-identical files in any process (and for any
chunking). Event times use ``log``/``exp`` from the platform's libm, so identity across different machines or
numba/LLVM versions is expected but not guaranteed to the last nanosecond.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.errors import ConfigError, DataError
from hft.core.fileio import remove_dead_temps, temp_prefix
from hft.core.instrument import Instrument

#: Mean number of messages produced per Hawkes arrival at the default model (measured; calibrates the rate).
MESSAGES_PER_ARRIVAL = 1.86

_PRICE_SCALE = 10_000  # LOBSTER price units per dollar
_GRID = 1 << 14  # price grid, ticks
_EMPTY_LEVEL = 9_999_999_999  # LOBSTER's price of an empty ask level (hft.data.lobster.LOBSTER_EMPTY_PRICE)
_ORDER_CAPACITY = 1 << 17  # order slots
_CHUNK_ROWS = 32_768  # rows simulated and written per kernel call
_SYMBOL_RE = re.compile(r"^[A-Za-z0-9.\-]{1,16}$")


def _check(ok: bool, key: str, expected: str, found: object) -> None:
    if not ok:
        raise ConfigError(f"generator {key}: expected {expected}, was {found!r}", key=key)


def _decimal(value: str, key: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"generator {key}: expected a decimal string, was {value!r}", key=key) from None
    if not d.is_finite():
        raise ConfigError(f"generator {key}: expected a finite decimal, was {value!r}", key=key)
    return d



@dataclass(frozen=True, slots=True)
class ModelParams:
    """Order-flow model knobs (see the module docstring). Defaults give a liquid ~$50 stock at 1-cent ticks."""

    hawkes_branching: float = 0.5  # mean events triggered per event (< 1)
    hawkes_decay_s: float = 0.5  # excitation decay time, seconds
    limit_share: float = 0.895  # share of arrivals that are limit orders
    market_share: float = 0.06  # share that are market orders; the rest (4.5 %) are hidden executions
    partial_cancel_share: float = 0.05  # share of cancels that are partial (type 2)
    mean_resting_orders: int = 300  # sets the per-order cancel rate
    depth_exponent: float = 1.2  # limit placement offset k ~ (k+1)^-exponent
    max_depth: int = 40  # ticks beyond the anchor
    informed_tilt: float = 0.3  # market-order buy probability shift per tick of (fair − mid)
    fair_reversion: float = 1.0  # mean reversion of the fair price, per session
    open_amplitude: float = 2.0  # intraday profile: opening excess (A)
    open_decay: float = 0.04  # intraday profile: opening decay, fraction of the session (a)
    close_amplitude: float = 2.5  # intraday profile: closing excess (B)
    close_decay: float = 0.03  # intraday profile: closing decay, fraction of the session (b)
    opening_levels: int = 15  # opening book: price levels per side
    opening_orders: int = 2  # opening book: orders per level
    max_fills: int = 256  # cap of resting orders consumed by one incoming order

    def __post_init__(self) -> None:
        _check(0.0 <= self.hawkes_branching < 0.95, "model.hawkes_branching", "in [0, 0.95)", self.hawkes_branching)
        _check(self.hawkes_decay_s > 0, "model.hawkes_decay_s", "> 0", self.hawkes_decay_s)
        _check(0 < self.limit_share < 1, "model.limit_share", "in (0, 1)", self.limit_share)
        _check(self.market_share >= 0 and self.limit_share + self.market_share <= 1,
               "model.market_share", "in [0, 1 − limit_share]", self.market_share)
        _check(0 <= self.partial_cancel_share <= 1, "model.partial_cancel_share", "in [0, 1]",
               self.partial_cancel_share)
        _check(10 <= self.mean_resting_orders <= 20_000, "model.mean_resting_orders", "in [10, 20000]",
               self.mean_resting_orders)
        _check(self.depth_exponent > 0, "model.depth_exponent", "> 0", self.depth_exponent)
        _check(1 <= self.max_depth <= 100, "model.max_depth", "in [1, 100]", self.max_depth)
        _check(self.informed_tilt >= 0, "model.informed_tilt", ">= 0", self.informed_tilt)
        _check(self.fair_reversion >= 0, "model.fair_reversion", ">= 0", self.fair_reversion)
        for name in ("open_amplitude", "close_amplitude"):
            _check(getattr(self, name) >= 0, f"model.{name}", ">= 0", getattr(self, name))
        for name in ("open_decay", "close_decay"):
            _check(getattr(self, name) > 0, f"model.{name}", "> 0", getattr(self, name))
        _check(1 <= self.opening_levels <= 100, "model.opening_levels", "in [1, 100]", self.opening_levels)
        _check(1 <= self.opening_orders <= 20, "model.opening_orders", "in [1, 20]", self.opening_orders)
        _check(1 <= self.max_fills <= 4096, "model.max_fills", "in [1, 4096]", self.max_fills)


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    """What to generate. Defaults: a full 09:30–16:00 session of ~300k messages, 10 book levels.

    Attributes:
        seed: random seed (0 ≤ seed < 2**64); same config → byte-identical files.
        symbol: ticker used in the file names (letters, digits, '.', '-'; no '_').
        date: session date, ``YYYY-MM-DD`` (only used in file names; times are seconds after midnight).
        session_start: seconds after midnight of the first message (34200 = 09:30).
        session_end: seconds after midnight of the session end (57600 = 16:00), exclusive.
        levels: L, price levels per side in the orderbook file (LOBSTER ships 1, 5, 10, ...).
        target_messages: approximate number of messages (met within about ±10 %).
        start_price: opening fair price in dollars, a multiple of `tick_size`, at least 200 ticks.
        tick_size: tick in dollars; ``tick_size × 10000`` must be an integer (LOBSTER price units). Keep the
            default 0.01 for files meant for `hft.data.lobster`, which assumes NASDAQ's one-cent tick.
        daily_volatility: standard deviation of the fair price over the session, as a fraction of the price.
        preopen_book: lay the opening book without messages (orders "resting before the open").
        model: order-flow model knobs.
    """

    seed: int = 1
    symbol: str = "SYNTH"
    date: str = "2024-06-21"
    session_start: int = 34_200
    session_end: int = 57_600
    levels: int = 10
    target_messages: int = 300_000
    start_price: str = "50.00"
    tick_size: str = "0.01"
    daily_volatility: float = 0.01
    preopen_book: bool = False
    model: ModelParams = field(default_factory=ModelParams)

    def __post_init__(self) -> None:
        _check(isinstance(self.seed, int) and 0 <= self.seed < 2**64, "seed", "an integer in [0, 2**64)",
               self.seed)
        _check(isinstance(self.symbol, str) and bool(_SYMBOL_RE.match(self.symbol)), "symbol",
               "1–16 letters, digits, '.' or '-'", self.symbol)
        try:
            dt.date.fromisoformat(self.date)
            ok_date = len(self.date) == 10
        except (TypeError, ValueError):
            ok_date = False
        _check(ok_date, "date", "a date YYYY-MM-DD", self.date)
        _check(0 <= self.session_start < self.session_end <= 86_400, "session_start/session_end",
               "0 <= start < end <= 86400 seconds after midnight", (self.session_start, self.session_end))
        _check(self.session_end - self.session_start >= 60, "session_end", "a session of at least 60 s",
               self.session_end - self.session_start)
        _check(1 <= self.levels <= 100, "levels", "in [1, 100]", self.levels)
        _check(1_000 <= self.target_messages <= 50_000_000, "target_messages", "in [1000, 50000000]",
               self.target_messages)
        tick = _decimal(self.tick_size, "tick_size")
        price = _decimal(self.start_price, "start_price")
        _check(tick > 0 and (tick * _PRICE_SCALE) == int(tick * _PRICE_SCALE), "tick_size",
               "a positive multiple of 0.0001", self.tick_size)
        _check(price % tick == 0 and price / tick >= 200, "start_price",
               f"a multiple of tick {self.tick_size} of at least 200 ticks", self.start_price)
        _check(price / tick <= 10**8, "start_price", "at most 1e8 ticks", self.start_price)
        # the grid's highest price in LOBSTER units (dollars x 10000) stays below the empty-level marker: every
        # price the kernel writes, (base + index) x units per tick, then fits int64 with room to spare
        top = (max(1, int(price / tick) - _GRID // 2) + _GRID - 1) * tick * _PRICE_SCALE
        _check(top < _EMPTY_LEVEL, "start_price", f"prices below {_EMPTY_LEVEL} LOBSTER units ($999,999.9999, the "
               f"empty-level marker) up to {_GRID // 2} ticks above it, at tick {self.tick_size}", self.start_price)
        _check(0 < self.daily_volatility <= 0.2, "daily_volatility", "in (0, 0.2]", self.daily_volatility)
        _check(isinstance(self.model, ModelParams), "model", "a ModelParams", type(self.model).__name__)

    # --- names -------------------------------------------------------------------------------------------------
    @property
    def _stem(self) -> str:
        return f"{self.symbol}_{self.date}_{self.session_start * 1000}_{self.session_end * 1000}"

    @property
    def message_filename(self) -> str:
        """LOBSTER message file name, e.g. ``SYNTH_2024-06-21_34200000_57600000_message_10.csv``."""
        return f"{self._stem}_message_{self.levels}.csv"

    @property
    def orderbook_filename(self) -> str:
        """LOBSTER orderbook file name."""
        return f"{self._stem}_orderbook_{self.levels}.csv"

    @property
    def zip_filename(self) -> str:
        """Zip holding both files (``zip_output=True``)."""
        return f"{self._stem}_{self.levels}.zip"

    def instrument(self) -> Instrument:
        """The instrument the generated files describe (LOBSTER conventions: price scale 10000)."""
        return Instrument(symbol=self.symbol, venue="SYNTH", tick_size=str(Decimal(self.tick_size)),
                          lot_size="1", price_scale=_PRICE_SCALE, currency="USD",
                          timezone="America/New_York", book_level="L3")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GeneratedDay:
    """What `generate_lobster_day` wrote.

    Attributes:
        config: the configuration used.
        message_path: the message CSV (None when zipped).
        orderbook_path: the orderbook CSV (None when zipped).
        zip_path: the zip holding both CSVs (None unless ``zip_output``).
        message_count: number of messages (= orderbook rows).
        counts_by_type: message count per LOBSTER type (1–5; zero counts included).
        seed: the seed.
    """

    config: GeneratorConfig
    message_path: Path | None
    orderbook_path: Path | None
    zip_path: Path | None
    message_count: int
    counts_by_type: dict[int, int]
    seed: int

    @property
    def paths(self) -> list[Path]:
        """Every file written."""
        return [p for p in (self.message_path, self.orderbook_path, self.zip_path) if p is not None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for ``--json``); message counts by event kind, as `hft data inspect` counts them."""
        from hft.data.lobster import counts_by_kind  # lazy: loads numba (config parsing stays light)

        return {
            "symbol": self.config.symbol,
            "date": self.config.date,
            "levels": self.config.levels,
            "seed": self.seed,
            "message_count": self.message_count,
            "counts": counts_by_kind(self.counts_by_type),
            "message_path": str(self.message_path) if self.message_path else None,
            "orderbook_path": str(self.orderbook_path) if self.orderbook_path else None,
            "zip_path": str(self.zip_path) if self.zip_path else None,
        }


def generate_lobster_day(out_dir: Path, config: GeneratorConfig = GeneratorConfig(), *,
                         zip_output: bool = False) -> GeneratedDay:
    """Simulate one session and write it as LOBSTER message + orderbook files into `out_dir`.

    `out_dir` is created if missing. Existing files of the same name are replaced. Writing is atomic: the data
    go to temporary files beside the targets, renamed only when complete; on error nothing is left.

    Raises:
        DataError: `out_dir` cannot be created or written, or the simulation failed.
    """
    from hft.core.selftest import ensure  # lazy: keeps the self-test out of the kernels' cache key
    ensure("lobster")  # the generator's kernel answered right on this CPU target
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{out_dir}: expected a writable output directory, could not create it ({exc.strerror})",
                        file=str(out_dir)) from None
    if not os.access(out_dir, os.W_OK):
        raise DataError(f"{out_dir}: expected a writable output directory, it is not writable", file=str(out_dir))

    temps: list[Path] = []
    finals: list[Path] = []
    try:
        msg_tmp = _mktemp(out_dir, config.message_filename, temps)
        book_tmp = _mktemp(out_dir, config.orderbook_filename, temps)
        count, by_type = _simulate_to_files(config, msg_tmp, book_tmp)
        if zip_output:
            zip_tmp = _mktemp(out_dir, config.zip_filename, temps)
            _write_zip(zip_tmp, [(msg_tmp, config.message_filename), (book_tmp, config.orderbook_filename)])
            zip_path = out_dir / config.zip_filename
            _commit(zip_tmp, zip_path, finals)
            msg_path = book_path = None
        else:
            msg_path = out_dir / config.message_filename
            book_path = out_dir / config.orderbook_filename
            _commit(msg_tmp, msg_path, finals)
            _commit(book_tmp, book_path, finals)
            zip_path = None
    except OSError as exc:
        _cleanup(temps + finals)
        raise DataError(f"{out_dir}: expected to write the generated files, failed: {exc}",
                        file=str(out_dir)) from None
    except BaseException:
        _cleanup(temps + finals)
        raise
    _cleanup(temps)
    return GeneratedDay(config=config, message_path=msg_path, orderbook_path=book_path, zip_path=zip_path,
                        message_count=count, counts_by_type=by_type, seed=config.seed)


# ====================================================================================================================
# internals
# ====================================================================================================================


def _mktemp(directory: Path, name: str, temps: list[Path]) -> Path:
    remove_dead_temps(directory)  # a killed generator's (hft.core.fileio)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(f".{name}."), suffix=".tmp", dir=directory)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; data files are world-readable like any other output
    temps.append(Path(tmp))
    return temps[-1]


def _commit(tmp: Path, final: Path, finals: list[Path]) -> None:
    os.replace(tmp, final)
    finals.append(final)


def _cleanup(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _splitmix64_words(seed: int, n: int = 4) -> np.ndarray:
    """Expand a seed into `n` 64-bit words (splitmix64; the recommended xoshiro seeding)."""
    mask = (1 << 64) - 1
    x = seed & mask
    out = []
    for _ in range(n):
        x = (x + 0x9E3779B97F4A7C15) & mask
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append(z ^ (z >> 31))
    return np.array(out, dtype=np.uint64)


def _cdf(weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    return c


# size buckets: (probability, low, high, step) in shares. Round lots dominate, as on NASDAQ.
_LIMIT_SIZES = [(0.42, 100, 100, 1), (0.18, 200, 500, 100), (0.02, 1000, 1000, 1), (0.25, 1, 99, 1),
                (0.08, 101, 999, 1), (0.05, 600, 2000, 100)]
_MARKET_SIZES = [(0.30, 100, 100, 1), (0.42, 1, 99, 1), (0.15, 200, 500, 100), (0.10, 101, 999, 1),
                 (0.03, 600, 3000, 100)]


def _size_table(buckets: list[tuple[float, int, int, int]]) -> tuple[np.ndarray, ...]:
    return (_cdf([b[0] for b in buckets]), np.array([b[1] for b in buckets], np.int64),
            np.array([b[2] for b in buckets], np.int64), np.array([b[3] for b in buckets], np.int64))


def build_params(config: GeneratorConfig) -> Any:
    """Derive the kernel `Params` (rates, tables, grid) from a config. Imports numba (via the kernel module)."""
    from hft.data import _genkernel as k  # lazy: loads numba; the generator config is parsed without it

    m = config.model
    tick = Decimal(config.tick_size)
    start_ticks = int(Decimal(config.start_price) / tick)
    base = max(1, start_ticks - _GRID // 2)
    t_len = float(config.session_end - config.session_start)

    a, ta, b, tb = m.open_amplitude, m.open_decay, m.close_amplitude, m.close_decay
    norm = 1.0 + a * ta * (1.0 - math.exp(-1.0 / ta)) + b * tb * (1.0 - math.exp(-1.0 / tb))
    prof_max = max(1.0 + a + b * math.exp(-1.0 / tb), 1.0 + a * math.exp(-1.0 / ta) + b) / norm

    n = m.hawkes_branching
    beta = 1.0 / m.hawkes_decay_s
    arrivals = config.target_messages / MESSAGES_PER_ARRIVAL  # Hawkes arrivals in the session
    mu = arrivals * (1.0 - n) / t_len  # baseline at profile 1 (the profile has mean 1)
    nu = m.limit_share * (arrivals / t_len) / m.mean_resting_orders
    sigma_ticks = config.daily_volatility * start_ticks
    jump_rate = 4.0 * sigma_ticks**2 / t_len  # half-tick jumps: variance (2σ)² half-ticks² per session
    revert = 0.5 * m.fair_reversion / max(jump_rate * t_len, 1.0)

    f = np.zeros(k.N_PF, np.float64)
    f[k.P_T_END] = t_len
    f[k.P_MU] = mu
    f[k.P_ALPHA] = n * beta
    f[k.P_BETA] = beta
    f[k.P_NU] = nu
    f[k.P_JUMP] = jump_rate
    f[k.P_REVERT] = revert
    f[k.P_P_LIMIT] = m.limit_share
    f[k.P_P_MARKET] = m.market_share
    f[k.P_P_PARTIAL] = m.partial_cancel_share
    f[k.P_INFORM] = m.informed_tilt
    f[k.P_PROF_A], f[k.P_PROF_TA], f[k.P_PROF_B], f[k.P_PROF_TB] = a, ta, b, tb
    f[k.P_PROF_NORM] = norm
    f[k.P_PROF_MAX] = prof_max * 1.000001

    i = np.zeros(k.N_PI, np.int64)
    i[k.Q_G] = _GRID
    i[k.Q_BASE_TICKS] = base
    i[k.Q_TICK_UNITS] = int(tick * _PRICE_SCALE)
    i[k.Q_START_NS] = config.session_start * 1_000_000_000
    i[k.Q_LEVELS] = config.levels
    i[k.Q_INIT_LEVELS] = m.opening_levels
    i[k.Q_INIT_ORDERS] = m.opening_orders
    i[k.Q_HALF0] = 2 * (start_ticks - base)
    i[k.Q_MAX_FILLS] = m.max_fills
    i[k.Q_PREOPEN] = int(config.preopen_book)

    depth = _cdf([(kk + 1.0) ** (-m.depth_exponent) for kk in range(m.max_depth + 1)])
    ls = _size_table(_LIMIT_SIZES)
    ms = _size_table(_MARKET_SIZES)
    return k.Params(f=f, i=i, depth_cdf=depth, lim_size_cdf=ls[0], lim_size_lo=ls[1], lim_size_hi=ls[2],
                    lim_size_step=ls[3], mkt_size_cdf=ms[0], mkt_size_lo=ms[1], mkt_size_hi=ms[2],
                    mkt_size_step=ms[3])


def _simulate_to_files(config: GeneratorConfig, msg_path: Path, book_path: Path) -> tuple[int, dict[int, int]]:
    """Run the kernel chunk by chunk, formatting and appending each chunk to the two files."""
    from hft.data import _genkernel as k  # lazy: loads numba; the generator config is parsed without it

    prm = build_params(config)
    st = k.new_state(_GRID, _ORDER_CAPACITY, _splitmix64_words(config.seed))
    st.ints[k.I_HALF] = prm.i[k.Q_HALF0]
    st.ints[k.I_NEXT_ID] = 10_000_001  # LOBSTER-like order ids
    ncol = 4 * config.levels
    rows = max(_CHUNK_ROWS, 2 * config.model.opening_levels * config.model.opening_orders
               + config.model.max_fills + 16)
    msg = np.empty((rows, 6), np.int64)
    book = np.empty((rows, ncol), np.int64)
    msg_buf = np.empty(rows * 128, np.uint8)  # generous worst case per row (int64 fields)
    book_buf = np.empty(rows * (21 * ncol + 1), np.uint8)
    counts = np.zeros(8, np.int64)
    total = 0
    with open(msg_path, "wb") as fm, open(book_path, "wb") as fb:
        while True:
            n, status = k.run_chunk(st, prm, msg, book)
            if status < 0:
                raise DataError(f"generator: expected at most {_ORDER_CAPACITY} resting orders, the simulation "
                                f"needed more (status {status})", hint="lower model.mean_resting_orders")
            if n:
                counts += np.bincount(msg[:n, 1], minlength=8)[:8]
                fm.write(memoryview(msg_buf[: k.format_messages(msg, n, msg_buf)]))
                fb.write(memoryview(book_buf[: k.format_book(book, n, book_buf)]))
                total += n
            if status == k.ST_DONE:
                break
    return total, {t: int(counts[t]) for t in range(1, 6)}


def _write_zip(zip_path: Path, members: list[tuple[Path, str]]) -> None:
    """Deterministic zip: fixed member order, timestamps and permissions."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for src, name in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            size = src.stat().st_size
            with open(src, "rb") as fin, zf.open(info, "w", force_zip64=size >= (1 << 31) - 1) as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
