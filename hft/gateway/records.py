"""Every `Decision` and `OrderCommand` built in Python, in one module.

The gateway answers each intent with a `Decision` (and, when accepted, the `OrderCommand` step 7 dispatches).
They are built here from what each path has at hand: the core's code for one intent (`from_code`), a rejection
decided outside the core (`rejected`), a row of the batch kernel's DECISION_DTYPE / COMMAND_DTYPE arrays
(`decision_from_row`, `command_from_row`, `commands_from_array`), a row as a tuple in DECISION_DTYPE order with
the names the intent carried (`decision_from_values`).

`fields` below is the intent's 11 fields in Decision order: key, kind, account, strategy, symbol, side, price,
qty, order_type, tif, target_id; `opt`, a new order's optional fields (`hft.core.orders.order_options`: a stop's
trigger, a GTD order's expiry, an iceberg's display, a trailing stop's trail; 0 when absent), are the Decision's and the command's last
fields. Builders use ``tuple.__new__`` (no NamedTuple argument parsing: these run once per intent on the hot
paths).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hft.core.orders import NO_OPTIONS, OPTION_NAMES
from hft.gateway.intents import Decision, OrderCommand
from hft.gateway.kernels import DUP_FLAG

__all__ = ["command", "command_from_row", "commands_from_array", "decision_from_row", "decision_from_values",
           "from_code", "rejected"]

_tnew = tuple.__new__


def command(action: int, order_id: int, key: Any, account: Any, strategy: Any, symbol: Any, side: int, price: int,
            qty: int, order_type: int, tif: int, ts: int, opt: tuple = NO_OPTIONS) -> OrderCommand:
    """An `OrderCommand`: for a new order `order_id` is the gateway's id, for cancel / replace the target's."""
    return _tnew(OrderCommand, (action, order_id, key, account, strategy, symbol, side, price, qty, order_type,
                                tif, ts, *opt))


def from_code(seq: int, ts: int, recv_ts: int, fields: Sequence[Any], code: int, order_id: int,
              cmd: OrderCommand | None, opt: tuple = NO_OPTIONS) -> Decision:
    """The decision of the core's answer ``code = reason | DUP_FLAG`` (a duplicate carries the original's)."""
    reason = code & 0xFFFF
    return _tnew(Decision, (seq, ts, recv_ts, *fields, reason == 0, reason, order_id, code >= DUP_FLAG, cmd, *opt))


def rejected(seq: int, ts: int, recv_ts: int, fields: Sequence[Any], reason: int,
             opt: tuple = NO_OPTIONS) -> Decision:
    """A rejection decided outside the core (no usable key, disabled gateway, malformed, internal error, full
    queue): nothing reserved, nothing dispatched."""
    return _tnew(Decision, (seq, ts, recv_ts, *fields, False, reason, 0, False, None, *opt))


def _name(names: list[str], i: Any) -> Any:
    i = int(i)
    return names[i] if 0 <= i < len(names) else i


def decision_from_row(row: Any, accounts: list[str], strategies: list[str], symbols: list[str]) -> Decision:
    """A `Decision` from a DECISION_DTYPE row, registry indices resolved to names (an index outside the
    registry stays a number). No command: the batch path dispatches COMMAND_DTYPE rows."""
    return _tnew(Decision, (
        int(row["seq"]), int(row["ts"]), int(row["recv_ts"]), int(row["key"]), int(row["kind"]),
        _name(accounts, row["account"]), _name(strategies, row["strategy"]), _name(symbols, row["symbol"]),
        int(row["side"]), int(row["price"]), int(row["qty"]), int(row["order_type"]), int(row["tif"]),
        int(row["target_id"]), bool(row["accepted"]), int(row["reason"]), int(row["order_id"]),
        bool(row["duplicate"]), None, *(int(row[n]) for n in OPTION_NAMES)))


def decision_from_values(r: Sequence[Any], account: Any, strategy: Any, symbol: Any) -> Decision:
    """A `Decision` from a DECISION_DTYPE row as a tuple (``array.tolist()``: seq ts recv_ts key order_id target_id
    price qty account strategy symbol reason kind side order_type tif accepted duplicate, then the optional
    fields), with the names the intent carried."""
    return _tnew(Decision, (r[0], r[1], r[2], r[3], r[12], account, strategy, symbol, r[13], r[6], r[7], r[14],
                            r[15], r[5], r[16] == 1, r[11], r[4], r[17] == 1, None, *r[18:]))


def command_from_row(c: Any, accounts: list[str], strategies: list[str], symbols: list[str]) -> OrderCommand:
    """An `OrderCommand` from a COMMAND_DTYPE row, registry indices resolved to names."""
    return command(int(c["action"]), int(c["order_id"]), int(c["key"]), _name(accounts, c["account"]),
                   _name(strategies, c["strategy"]), _name(symbols, c["symbol"]), int(c["side"]), int(c["price"]),
                   int(c["qty"]), int(c["order_type"]), int(c["tif"]), int(c["ts"]),
                   tuple(int(c[n]) for n in OPTION_NAMES))


def commands_from_array(cmds: np.ndarray, accounts: list[str], strategies: list[str],
                        symbols: list[str]) -> list[OrderCommand]:
    """Every row of a COMMAND_DTYPE array as an `OrderCommand` (one ``tolist`` pass: the live writer's path)."""
    return [_tnew(OrderCommand, (action, oid, key, accounts[a], strategies[t], symbols[y], side, price, qty, otype,
                                 tif, ts, *opt))
            for ts, oid, key, price, qty, a, t, y, action, side, otype, tif, *opt in cmds.tolist()]
