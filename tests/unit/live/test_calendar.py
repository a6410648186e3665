"""`hft.live.calendar`: the next session boundary (close, then roll at the default open) in local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hft.gateway.config import SessionSpec
from hft.live.calendar import TradingCalendar

NY = ZoneInfo("America/New_York")


def _ns(y, mo, d, h, mi, s=0, tz=NY) -> int:
    return int(datetime(y, mo, d, h, mi, s, tzinfo=tz).timestamp()) * 10**9


def test_the_boundaries_of_a_day_in_order_across_a_dst_change():
    cal = TradingCalendar({"default": SessionSpec(9 * 3600 + 1800, 16 * 3600, "America/New_York"),
                           "AAPL": SessionSpec(4 * 3600, 20 * 3600 + 5, "America/New_York")})
    t = _ns(2026, 3, 6, 12, 0)  # a Friday; clocks move forward on Sunday 8 March
    seen = []
    for _ in range(9):
        t, op, name = cal.next_after(t)
        seen.append((datetime.fromtimestamp(t // 10**9, NY).strftime("%d %H:%M:%S"), op, name))
    assert seen == [("06 16:00:00", "close", "default"), ("06 20:00:05", "close", "AAPL"),
                    ("07 09:30:00", "roll", "default"), ("07 16:00:00", "close", "default"),
                    ("07 20:00:05", "close", "AAPL"), ("08 09:30:00", "roll", "default"),
                    ("08 16:00:00", "close", "default"), ("08 20:00:05", "close", "AAPL"),
                    ("09 09:30:00", "roll", "default")]
    assert cal.symbols_of("default", ["MSFT", "AAPL", "X"]) == {0, 2}
    assert cal.symbols_of("AAPL", ["MSFT", "AAPL", "X"]) == {1}


def test_a_24_hour_session_closes_then_rolls_at_the_same_instant():
    cal = TradingCalendar({"default": SessionSpec(0, 0, "UTC")})
    mid = _ns(2026, 5, 2, 0, 0, tz=ZoneInfo("UTC"))
    assert cal.next_after(mid - 1) == (mid, "close", "default")
    # the close just fired: the roll at the same instant is next, then the next day's close
    assert cal.next_after(mid, ("close", "default")) == (mid, "roll", "default")
    assert cal.next_after(mid, ("roll", "default")) == (mid + 86_400 * 10**9, "close", "default")
    assert cal.next_after(mid) == (mid + 86_400 * 10**9, "close", "default")  # all at `mid` done
