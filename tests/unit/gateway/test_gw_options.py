"""A new order's optional fields (`hft.core.orders.ORDER_OPTIONS`) are one unit: the Python records' `.options`, the
numba records' `record_options` / `put_record_options`, `typed_intent_v1`'s tail and `order_options` all give them
in `OPTION_NAMES` order, each field its own value (distinct values: a swapped pair would show)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from hft.core.order_rules import put_record_options, record_options
from hft.core.orders import (
    COMMAND_DTYPE,
    DECISION_DTYPE,
    INTENT_DTYPE,
    INTENT_NEW,
    NO_OPTIONS,
    OPTION_NAMES,
    options_dict,
    order_options,
)
from hft.gateway import records
from hft.gateway.intents import Decision, OrderCommand, OrderIntent, typed_intent_v1, typed_options

VALUES = {n: 101 + 7 * k for k, n in enumerate(OPTION_NAMES)}
OPT = tuple(VALUES[n] for n in OPTION_NAMES)


def test_order_options_is_the_names_order_and_refuses_an_unknown_name():
    assert order_options(**VALUES) == OPT and order_options() == NO_OPTIONS == (0,) * len(OPTION_NAMES)
    assert options_dict(OPT) == VALUES
    with pytest.raises(TypeError, match="unknown order option 'trailing'"):
        order_options(trailing=1)


def test_the_python_records_carry_the_options_by_name_and_as_their_last_fields():
    intent = OrderIntent.new(1, "A", "s", "X", 1, 100, 5, **VALUES)
    assert intent.options == OPT and all(getattr(intent, n) == v for n, v in VALUES.items())
    cmd = records.command(INTENT_NEW, 7, 1, "A", "s", "X", 1, 100, 5, 1, 1, 0, OPT)
    assert isinstance(cmd, OrderCommand) and cmd.options == OPT
    assert all(getattr(cmd, n) == v for n, v in VALUES.items())
    dec = records.from_code(1, 0, 0, (1, INTENT_NEW, "A", "s", "X", 1, 100, 5, 1, 1, 0), 0, 7, cmd, OPT)
    assert isinstance(dec, Decision) and dec.options == OPT
    assert all(getattr(dec, n) == v for n, v in VALUES.items())


def test_the_typed_tuple_carries_them_up_to_the_last_that_is_not_0():
    p = typed_intent_v1(INTENT_NEW, 1, "A", "s", "X", 1, 100, 5, 1, 1, 0, 0, **VALUES)
    assert typed_options(p) == OPT and len(p) == 13 + len(OPTION_NAMES)
    first = {OPTION_NAMES[0]: 9}
    p = typed_intent_v1(INTENT_NEW, 1, "A", "s", "X", 1, 100, 5, 1, 1, 0, 0, **first)
    assert len(p) == 14 and typed_options(p) == order_options(**first)
    assert len(typed_intent_v1(INTENT_NEW, 1, "A", "s", "X", 1, 100, 5)) == 13


@njit
def _copy(intents, out):
    put_record_options(out[0], record_options(intents[0]))


@pytest.mark.parametrize("dtype", [DECISION_DTYPE, COMMAND_DTYPE])
def test_the_kernels_read_and_write_them_on_a_record_row_by_name(dtype):
    intents = np.zeros(1, INTENT_DTYPE)
    for n, v in VALUES.items():
        intents[0][n] = v
    out = np.zeros(1, dtype)
    _copy(intents, out)
    assert {n: int(out[0][n]) for n in OPTION_NAMES} == VALUES
