"""The instrument a run trades: the data's metadata, overridden by the replay config's ``instrument:`` section,
and the exchange filters it carries turned into the gateway's integer symbol spec.

Config (every key optional; values as in `hft.core.instrument.Instrument`, decimals as strings or numbers)::

    instrument:
      kind: inverse            # linear | inverse (coin-margined: PnL and fees in the coin)
      contract_size: 100       # inverse: quote value of one contract; linear: the contract multiplier
      currency: USDT           # the quote currency, when the data does not say it (an import that guessed says so)
      settle_currency: BTC     # the currency PnL and fees are counted in (inverse: default the symbol's base)
      min_qty: 0.001           # exchange filters: smallest order quantity (instrument units)
      min_notional: 5          #   smallest order value (quote currency)
      order_tick: 0.5          #   price step of orders (a multiple of the data's tick)
      order_lot: 0.01          #   quantity step of orders (a multiple of the data's lot)

The filters reach the gateway as its per-symbol rules (`symbol_spec`): ``order_tick`` / ``order_lot`` as
``tick_multiple`` / ``lot_multiple`` (reasons ``OFF_TICK`` / ``OFF_LOT``), ``min_qty`` as the symbol's
``min_qty`` limit (``QTY_BELOW_MIN``) and ``min_notional`` as ``min_notional`` in the gateway's money units
(``MIN_NOTIONAL``). On an inverse contract an order's quote value is ``qty × contract_size`` whatever the price,
so ``min_notional`` becomes a minimum quantity there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from hft.config.strict import Section
from hft.core.errors import ConfigError, DataValidationError
from hft.core.instrument import Instrument
from hft.gateway.config import SymbolUnits, common_units

KEYS = ("kind", "contract_size", "currency", "settle_currency", "min_qty", "min_notional", "order_tick",
        "order_lot")


def parse_overrides(sec: Section) -> dict[str, str]:
    """The config's ``instrument:`` section as strings (strict: unknown keys, non-decimals name the key)."""
    out: dict[str, str] = {}
    for key in KEYS:
        if not sec.has(key):
            continue
        if key == "kind":
            out[key] = sec.str(key, choices=["linear", "inverse"])
        elif key in ("currency", "settle_currency"):
            out[key] = sec.str(key)
        else:
            v = sec.raw(key)
            if isinstance(v, bool) or not isinstance(v, int | float | str):
                sec.fail(sec.key(key), "a decimal number", v)
            out[key] = str(v)
    sec.done()
    try:  # the values alone (tick / lot multiples are checked against the data's instrument when it is open)
        Instrument("X", "X", "1", "1", **{k: v for k, v in out.items() if k not in ("order_tick", "order_lot")})
    except DataValidationError as e:
        key = str(e).split(":")[0].removeprefix("instrument ").strip()
        raise ConfigError(f"{sec.file}: key 'instrument.{key}': {str(e).split(':', 1)[1].strip()}", file=sec.file,
                          key=f"instrument.{key}") from None
    return out


def apply_overrides(inst: Instrument, overrides: dict[str, str]) -> Instrument:
    """`inst` with the config's overrides (a `ConfigError` naming ``instrument.<key>`` when they do not fit it)."""
    if not overrides:
        return inst
    try:
        return replace(inst, **overrides)
    except DataValidationError as e:
        key = str(e).split(":")[0].removeprefix("instrument ").strip()
        raise ConfigError(f"key 'instrument.{key}': {str(e).split(':', 1)[1].strip()} (instrument {inst.symbol})",
                          key=f"instrument.{key}") from None


def gateway_units(instruments: Sequence[Instrument], multipliers: Sequence[int]) -> SymbolUnits | None:
    """The lot and money unit the gateway limits of a run over `instruments` (each with its multiplier) are
    converted with (`hft.gateway.config.limits_in_units`): the instruments' shared ones, else None (only integer
    lots and money units then)."""
    from hft.sim.fees import money_unit_exact  # lazy: numba (the replay config is parsed without it)

    return common_units([SymbolUnits(i.symbol, Decimal(i.lot_size).normalize(),
                                     money_unit_exact(i, m).normalize(), i.settlement, i.unit)
                         for i, m in zip(instruments, multipliers, strict=True)])


def symbol_spec(inst: Instrument, multiplier: int) -> dict[str, Any]:
    """The gateway's ``symbols.<name>`` mapping for `inst`: its money factor (linear: ``multiplier``; inverse:
    ``inverse_factor`` K, so the gateway's money limits and PnL are in the coin units of the replay's accounting,
    `hft.sim.fees.money_factor`) and the exchange filters in integer ticks, lots and money units."""
    from hft.sim.fees import money_factor  # lazy: numba (the replay config is parsed without it)

    tick, lot, cs = Decimal(inst.tick_size), Decimal(inst.lot_size), Decimal(inst.contract_size)
    spec: dict[str, Any] = ({"inverse_factor": -money_factor(inst, multiplier)} if inst.inverse else
                            {"multiplier": multiplier})
    if inst.order_tick:
        spec["tick_multiple"] = int(Decimal(inst.order_tick) / tick)
    if inst.order_lot:
        spec["lot_multiple"] = int(Decimal(inst.order_lot) / lot)
    min_lots = math.ceil(Decimal(inst.min_qty) / lot) if Decimal(inst.min_qty) > 0 else 0
    min_notional = Decimal(inst.min_notional)
    if min_notional > 0:
        if inst.inverse:  # a contract's quote value does not depend on the price
            min_lots = max(min_lots, math.ceil(min_notional / (lot * cs)))
        else:  # one gateway money unit = tick × lot × contract_size / multiplier of the quote currency
            spec["min_notional"] = math.ceil(min_notional * multiplier / (tick * lot * cs))
    if min_lots > 1:
        spec["min_qty"] = min_lots  # the symbol-level limit (the defaults' min_qty stays 1)
    return spec
