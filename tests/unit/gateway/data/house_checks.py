"""Risk checks of a house, as a user writes them outside the package (loaded by path in the tests)."""

from numba import njit

from hft.gateway.risk_checks import OV_PRICE, OV_REF_PX, RiskCheck


@njit
def _max_distance(order, params):
    ref = order[OV_REF_PX]
    if ref > 0 and abs(order[OV_PRICE] - ref) > params[0]:
        return 1
    return 0


@njit
def _field_equals(order, params):
    """Denies when order[params[0]] == params[1]: lets a test read any field of the order view."""
    return 1 if order[params[0]] == params[1] else 0


MAX_DISTANCE = RiskCheck("max_distance", _max_distance, ("max_ticks",))
FIELD_EQUALS = RiskCheck("field_equals", _field_equals, ("field", "value"))
NOT_A_CHECK = 42
NOT_JITTED = RiskCheck("plain", lambda order, params: 0)
