"""The summary's ``pnl_money_units`` (`hft.sim.replay.final_pnl_money_units`): the run's final PnL exact and rounded
once, half to even — the last equity sample with a mid, marked there, else the final cash — against Python's
fractions (sharing no code with it). The float net equity it replaced rounded an exact tie such as 1.5 (cash 3,
0.7 in fee millionths, an inverse position marked at -0.8) to 1: the float sum is 1.4999999999999998."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.sim.replay import final_pnl_money_units
from hft.sim.run_records import EQUITY_DTYPE

MILLION = 1_000_000


def equity(*rows: tuple[int, int, int, int]) -> np.ndarray:
    """Equity samples of (mid2, position, cash, fee_frac); 0 mid2: no mid."""
    eq = np.zeros(len(rows), EQUITY_DTYPE)
    for i, (mid2, pos, cash, frac) in enumerate(rows):
        eq[i]["ts"], eq[i]["mid2"], eq[i]["position"], eq[i]["cash"], eq[i]["fee_frac"] = i, mid2, pos, cash, frac
    return eq


def oracle(mid2: int, pos: int, cash: int, frac: int, money: int) -> int:
    exact = Fraction(cash) - Fraction(frac, MILLION)
    if mid2 > 0:
        exact += Fraction(pos * mid2 * money, 2) if money > 0 else Fraction(pos * money * 2, mid2)
    return round(exact)  # a Fraction rounds half to even


def test_an_exact_tie_rounds_half_to_even() -> None:
    eq = equity((5, 1, 3, 700_000))  # inverse (money -2): 3 - 0.7 - 1 * 2 * 2 / 5 = 1.5
    assert final_pnl_money_units(eq, {"cash": 3, "fee_frac": 700_000}, -2) == 2
    eq = equity((5, 1, 33, 700_000))  # 31.5: the float sum rounded to 31
    assert final_pnl_money_units(eq, {"cash": 33, "fee_frac": 700_000}, -2) == 32


def test_the_last_sample_with_a_mid_is_marked_and_later_ones_without_are_not() -> None:
    eq = equity((4, 1, -10, 0), (6, 2, -20, 250_000), (0, 3, -99, 0))
    assert final_pnl_money_units(eq, {"cash": -99, "fee_frac": 0}, 5) == oracle(6, 2, -20, 250_000, 5) == 10


def test_without_a_mid_the_final_cash() -> None:
    assert final_pnl_money_units(equity((0, 1, 7, 0)), {"cash": 8, "fee_frac": 500_000}, 1) == 8  # 7.5 -> 8
    assert final_pnl_money_units(equity(), {"cash": 7, "fee_frac": 500_000}, 1) == 6  # 6.5 -> 6


def test_past_int64_the_float_net_equity() -> None:
    eq = equity((2, 1, 2**63 - 1, 0))  # the mark takes it one past int64
    assert final_pnl_money_units(eq, {"cash": 0, "fee_frac": 0}, 1) == round(float(2**63))


@settings(max_examples=300, deadline=None)
@given(mid2=st.integers(1, 10**7), pos=st.integers(-10**6, 10**6), cash=st.integers(-10**12, 10**12),
       frac=st.integers(0, MILLION - 1), money=st.sampled_from([1, 3, 100, -1, -2, -7, -10**6]))
def test_equals_fractions(mid2: int, pos: int, cash: int, frac: int, money: int) -> None:
    eq = equity((mid2, pos, cash, frac))
    assert final_pnl_money_units(eq, {"cash": cash, "fee_frac": frac}, money) == oracle(mid2, pos, cash, frac, money)
