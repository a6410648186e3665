"""The live service's trading calendar: when the next session boundary falls (`TradingCalendar.next_after`).

Sessions come from the strict config (``sessions:``, `hft.gateway.config.SessionSpec`): ``default`` and per symbol,
each a daily open and close in an IANA time zone (`zoneinfo`). Two kinds of boundary, every calendar day:

- ``close`` of a session: the DAY orders of its symbols are cancelled (``default``: every symbol without a
  session of its own);
- ``roll`` at the open of the ``default`` session: a new trading day (daily PnL and the daily-loss check restart
  at zero; positions kept).

Only this module computes boundaries; the writer's timer (`hft.live.engine.LiveGateway.on_timer`) fires each as a
journaled control, so a WAL replay applies it at its recorded time. Local times are resolved by `zoneinfo` (a
time in a DST gap falls an hour later, a repeated one at its first occurrence).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hft.gateway.config import SessionSpec

CLOSE, ROLL = "close", "roll"
_RANK = {CLOSE: 0, ROLL: 1}  # at the same instant: the close's expiries, then the new day
_NS = 1_000_000_000


def _next_local(t_ns: int, seconds: int, tz: ZoneInfo) -> int:
    """The first instant strictly after `t_ns` whose local time in `tz` is `seconds` after midnight (ns)."""
    day = datetime.fromtimestamp(t_ns // _NS, UTC).astimezone(tz).date() - timedelta(days=1)
    at = time(seconds // 3600, seconds // 60 % 60, seconds % 60)
    for k in range(4):  # from the day before (a wide UTC offset), one of the next days is after t_ns
        ns = int(datetime.combine(day + timedelta(days=k), at, tzinfo=tz).timestamp()) * _NS
        if ns > t_ns:
            return ns
    raise AssertionError("unreachable: a local time of day recurs within a day or two")


class TradingCalendar:
    """The session boundaries of a config's ``sessions`` (see the module doc)."""

    def __init__(self, sessions: Mapping[str, SessionSpec]) -> None:
        self.sessions = dict(sessions)
        self._tz = {name: ZoneInfo(s.time_zone) for name, s in self.sessions.items()}

    def next_after(self, t_ns: int, fired: tuple[str, str] | None = None) -> tuple[int, str, str]:
        """The earliest boundary after `t_ns`: (ns, ``close`` | ``roll``, session name). Strictly after it, but
        for `fired`, the (op, session) just fired at `t_ns`: then those at `t_ns` that come after it (a 24-hour
        session's roll at the instant of its close)."""
        done = (_RANK[fired[0]], fired[1]) if fired is not None else None
        out: list[tuple[int, int, str, str]] = []
        for name, s in self.sessions.items():
            tz = self._tz[name]
            for op, seconds in ((CLOSE, s.close_s), (ROLL, s.open_s)) if name == "default" else ((CLOSE, s.close_s),):
                ns = _next_local(t_ns - 1, seconds, tz)  # at or after t_ns
                if ns == t_ns and (done is None or (_RANK[op], name) <= done):
                    ns = _next_local(t_ns, seconds, tz)
                out.append((ns, _RANK[op], op, name))
        ns, _, op, name = min(out)
        return ns, op, name

    def symbols_of(self, name: str, symbols: list[str]) -> set[int]:
        """Registry indices of the symbols whose DAY orders session `name` ends (``default``: those without a
        session of their own)."""
        if name == "default":
            return {y for y, s in enumerate(symbols) if s not in self.sessions}
        return {y for y, s in enumerate(symbols) if s == name}
