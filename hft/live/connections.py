"""The connection cap shared by the live service's listeners (HTTP `hft.live.http`, TCP `hft.live.tcp`).

``server.max_connections`` bounds the connections open across both listeners together (one pool: the file
descriptors they spend are the process's). A connection accepted past the cap is answered at once and closed
(HTTP: 503 ``TOO_MANY_CONNECTIONS`` with ``connection: close``; TCP: an ``ERROR`` frame 503) without being
counted. Connections closed by a deadline (TCP authentication, HTTP head / body / keep-alive) are counted too.

  gateway_connections_open{listener}               gauge
  gateway_connections_refused_total{listener}      connections refused at the cap
  gateway_connection_timeouts_total{listener,phase} closed by a deadline (auth, head, body, idle)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

MAX_LINGERING = 64  # refused connections waiting to close at once (`ConnectionCap.refuse`)


class ConnectionCap:
    """Open connections per listener against one `limit` (a listener calls `admit` on accept and `release`
    once an admitted connection is lost)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self.open: Counter = Counter()
        self.refused: Counter = Counter()
        self.timed_out: Counter = Counter()  # (listener, phase)
        self.lingering = 0  # refused connections answered and not closed yet (`refuse`)

    def admit(self, listener: str) -> bool:
        """Count a new connection of `listener` in; False (and the refusal counted) when the cap is reached."""
        if self.total >= self.limit:
            self.refused[listener] += 1
            return False
        self.total += 1
        self.open[listener] += 1
        return True

    def release(self, listener: str) -> None:
        self.total -= 1
        self.open[listener] -= 1

    def refuse(self, loop: asyncio.AbstractEventLoop, transport: Any, answer: bytes, after_s: float = 1.0) -> None:
        """Answer a connection refused at the cap: write `answer`, end our side and close `after_s` later, so a
        request the client sent meanwhile is read and dropped rather than answered by a reset (a close with unread
        bytes sends RST, and the client may never read the answer). At most `MAX_LINGERING` wait so at once: past
        that (a flood) the connection closes at once."""
        transport.write(answer)
        if self.lingering >= MAX_LINGERING or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self.lingering += 1

        def close() -> None:
            self.lingering -= 1
            transport.close()

        loop.call_later(after_s, close)

    def refusal_reason(self) -> str:
        return f"the server holds its maximum of {self.limit} connections (server.max_connections); retry later"

    def health(self) -> dict[str, Any]:
        return {"open": dict(self.open), "max": self.limit, "refused": dict(self.refused)}


class ConnectionCollector:
    """The cap's counters at scrape time (Prometheus)."""

    def __init__(self, cap: ConnectionCap) -> None:
        self.cap = cap

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        cap = self.cap
        g = GaugeMetricFamily("gateway_connections_open", "open client connections", labels=["listener"])
        c = CounterMetricFamily("gateway_connections_refused", "connections refused at server.max_connections",
                                labels=["listener"])
        for listener in ("http", "tcp"):
            g.add_metric([listener], cap.open[listener])
            c.add_metric([listener], cap.refused[listener])
        yield g
        yield c
        yield GaugeMetricFamily("gateway_connections_max", "server.max_connections", value=cap.limit)
        t = CounterMetricFamily("gateway_connection_timeouts", "connections closed by a deadline",
                                labels=["listener", "phase"])
        for (listener, phase), n in sorted(cap.timed_out.items()):
            t.add_metric([listener, phase], n)
        yield t

