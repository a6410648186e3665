"""The gateway's risk limits, in one table: what each limit is called in the config, where it may be set, how it is
parsed, and which fields of an arena limit row it fills.

Everything that lists limits reads this table: the strict config parser (`hft.gateway.config`: `LimitSet`, the
keys each level accepts, `effective_limits`), the arena writer (`hft.gateway.risk.write_limits`), the arena
layout (the ``L_*`` field indices of `hft.gateway.kernels.layout` are taken from here; the numba kernels freeze
them as constants, so this file is part of the kernels' cache key), the simulator's unlimited profile
(`hft.sim.gateway_setup`) and `hft gateway check-config`. Adding a limit is one row here, its `LimitSet` field,
and its check in the risk kernel (`hft.gateway.kernels.risk`) with its own reason code.

Scopes: ``order`` limits may be set at every level (defaults, accounts, strategies, symbols; the tightest
applies), ``strategy`` ones in the defaults and per strategy, ``loss`` (the daily loss) and ``budget`` (the
submit rate) in the defaults, per strategy and per account (each level is its own budget: a strategy's, else the
default, and the account's own, both apply), ``account`` (``cash``: the buying power) per account only, and
``margin`` (``margin_rate``) in the defaults and per symbol (a symbol's, else the default).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FIELD", "LIMITS", "N_LIMIT_FIELDS", "PPM", "Limit", "names_in_scope"]


@dataclass(frozen=True)
class Limit:
    """One risk limit.

    Attributes:
        name: the `LimitSet` field (and the key in ``effective_limits``).
        key: the config key (``repeat_window`` is given as a duration, stored as ``repeat_window_ns``).
        kind: ``int`` (a non-negative integer, ``null`` = unlimited), ``fraction`` (a number from 0 to 1 such as
            ``0.2`` or ``"20%"``, stored exactly in millionths: `PPM`; no ``null``), ``rate`` (``{count, per}``, or a list of
            up to `windows` of them enforced together, ``null`` = unlimited) or ``duration`` (a duration string,
            stored in ns).
        scope: ``order``, ``strategy``, ``loss``, ``budget``, ``account`` or ``margin`` (module docstring).
        fields: the arena limit-row fields it fills (a rate: count, window of each of its windows).
        title: its column title in ``hft gateway check-config``.
        floor: a minimum (``min_qty``): of the values set at several levels the largest is the tightest
            (`effective_limits`; the risk kernel's `_eff_floor`), of the others the smallest.
        least: the smallest value the config accepts for an ``int`` limit (``null`` = unlimited is always
            accepted): 1 for ``max_order_qty`` and ``max_order_notional``, whose 0 would deny every order (a
            quantity is at least one lot, an order's notional above zero) and is refused at load rather than
            read as a block.
        unit: what an ``int`` limit counts: ``lots`` (also given in instrument units, ``"0.5"``, or as
            ``"3 lots"``), ``money`` (money units; also a currency amount, ``"500 USD"``), or ``""`` (a plain
            count or basis points). `hft.gateway.config` converts the written forms per symbol.
    """

    name: str
    key: str
    kind: str
    scope: str
    fields: tuple[int, ...]
    title: str
    floor: bool = False
    least: int = 0
    unit: str = ""

    @property
    def windows(self) -> int:
        """How many windows a ``rate`` limit holds at once (its fields: a count and a window each)."""
        return len(self.fields) // 2 if self.kind == "rate" else 0


LIMITS: tuple[Limit, ...] = (
    Limit("max_order_qty", "max_order_qty", "int", "order", (0,), "order qty", least=1, unit="lots"),
    Limit("max_order_notional", "max_order_notional", "int", "order", (1,), "order notional", least=1, unit="money"),
    Limit("max_position", "max_position", "int", "order", (2,), "position", unit="lots"),
    Limit("max_long", "max_long", "int", "order", (13,), "long", unit="lots"),
    Limit("max_short", "max_short", "int", "order", (14,), "short", unit="lots"),
    Limit("max_notional", "max_notional", "int", "order", (3,), "notional", unit="money"),
    Limit("min_qty", "min_qty", "int", "order", (4,), "min qty", floor=True, unit="lots"),
    Limit("price_band_bps", "price_band_bps", "int", "order", (5,), "band bps"),
    Limit("daily_loss", "daily_loss", "int", "loss", (6,), "daily loss", unit="money"),
    Limit("submit_rate", "submit_rate", "rate", "budget", (7, 8, 15, 16), "submits"),
    Limit("cancel_rate", "cancel_rate", "rate", "strategy", (9, 10), "cancels"),
    Limit("max_repeats", "max_repeats", "int", "strategy", (11,), "repeats"),
    Limit("repeat_window_ns", "repeat_window", "duration", "strategy", (12,), "repeat window"),
    Limit("cash", "cash", "int", "account", (17,), "cash", unit="money"),
    Limit("margin_rate", "margin_rate", "fraction", "margin", (18,), "margin rate"),
)

#: a ``fraction`` limit's unit: millionths (``margin_rate: 0.2`` is 200,000 in the arena; 1.0 is PPM)
PPM = 1_000_000

#: limit name (a rate: ``<name>.count`` / ``<name>.window``, its second window ``<name>.count2`` /
#: ``<name>.window2``) → its field in an arena limit row
FIELD: dict[str, int] = {}
for _lim in LIMITS:
    if _lim.kind == "rate":
        for _i in range(_lim.windows):
            _n = "" if _i == 0 else str(_i + 1)
            FIELD[f"{_lim.name}.count{_n}"], FIELD[f"{_lim.name}.window{_n}"] = _lim.fields[2 * _i:2 * _i + 2]
    else:
        (FIELD[_lim.name],) = _lim.fields
#: width of an arena limit row (room to grow without changing the arena's shape)
N_LIMIT_FIELDS = 24
if len(set(FIELD.values())) != len(FIELD) or max(FIELD.values()) >= N_LIMIT_FIELDS:
    raise RuntimeError(f"hft.gateway.limits: two limits share an arena field, or one is past {N_LIMIT_FIELDS}")


def names_in_scope(*scopes: str) -> tuple[str, ...]:
    """The limits of these scopes, in table order."""
    return tuple(lim.name for lim in LIMITS if lim.scope in scopes)
