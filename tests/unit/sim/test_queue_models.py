"""L2 queue-position models: hand-computed cases and invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hft.core.errors import ConfigError
from hft.sim.queue_models import filled_lots, on_depth, on_trade, parse_queue_model, prob_behind

RA = parse_queue_model("risk_averse")
P2 = parse_queue_model("power_prob_2")
LG = parse_queue_model("log_prob")


def test_risk_averse_advances_only_on_trades():
    front, cum = 10.0, 0.0
    front, cum = on_depth(RA, front, cum, 30.0, 25.0)  # 5 cancelled somewhere: no advance
    assert front == 10.0
    front, cum = on_trade(front, cum, 4.0)
    assert front == 6.0
    front, cum = on_depth(RA, front, cum, 25.0, 3.0)  # level shrank below our front: capped
    assert front == 3.0


def test_power_prob_splits_cancels():
    # front 10, back 30 at prev 40; 8 cancelled. p(behind) = 30^2/(30^2+10^2) = 0.9
    assert prob_behind(P2, 10.0, 30.0) == pytest.approx(0.9)
    front, _ = on_depth(P2, 10.0, 0.0, 40.0, 32.0)
    assert front == pytest.approx(10.0 - 0.1 * 8)


def test_prob_models_do_not_double_count_trades():
    front, cum = on_trade(10.0, 0.0, 5.0)  # 5 traded ahead of us
    front, cum = on_depth(P2, front, cum, 40.0, 35.0)  # the depth update reflecting that trade
    assert front == pytest.approx(5.0) and cum == 0.0


def test_log_prob():
    import math

    p = prob_behind(LG, 10.0, 30.0)
    assert p == pytest.approx(math.log1p(30) / (math.log1p(30) + math.log1p(10)))


def test_fill_detection():
    assert filled_lots(0.4) == 0
    assert filled_lots(-0.4) == 0  # rounds to 0: nothing reached us yet
    assert filled_lots(-3.0) == 3


@given(st.one_of(st.floats(-1e17, 1e17), st.sampled_from([-0.5, -1.5, -2.5, math.nextafter(-0.5, -1.0), 0.5, -0.0])))
def test_fill_detection_equals_pythons_rounding(front):
    """Python's own rule (round half to even, then floor) is the oracle wherever its answer fits."""
    assert filled_lots(front) == (math.floor(-front) if round(front) < 0 else 0)


def test_fill_detection_beyond_int64_is_held_at_2_62():
    """A front at or past -2**62 (a trade of ~2**63 lots at our price): 2**62 lots reached, more than any order of
    ours holds; no float beyond int64 is turned into an integer (undefined behaviour in numba), nor NaN."""
    for front in (-(2.0**62), -(2.0**63), -1e30, -math.inf):
        assert filled_lots(front) == 2**62
    assert filled_lots(math.nan) == 0 and filled_lots(math.inf) == 0
    assert filled_lots(-(2.0**62) + 1024.0) == 2**62 - 1024


@pytest.mark.parametrize("bad", ["", "power_prob_", "power_prob_0", "fifo", "log"])
def test_bad_names(bad):
    with pytest.raises(ConfigError, match="queue_model"):
        parse_queue_model(bad)


@given(st.floats(0, 1000), st.floats(0, 1000), st.floats(0, 1000),
       st.sampled_from(["risk_averse", "power_prob_2", "power_prob_3", "log_prob"]))
def test_front_never_exceeds_level_and_never_moves_back_on_decrease(front, extra, new, name):
    m = parse_queue_model(name)
    prev = front + extra
    new = min(new, prev)
    f2, _ = on_depth(m, front, 0.0, prev, new)
    assert f2 <= new + 1e-9
    assert f2 <= front + 1e-9
