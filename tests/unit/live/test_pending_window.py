"""An intent with a window (the signal follower's: `hft.live.engine.Pending.window`) is decided only while the
gateway's clock is inside it, checked by the writer itself: outside, it is answered `OUTSIDE_WINDOW`, never
decided, never in the WAL, and the intents beside it in the step are decided as usual."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from hft.core.orders import BUY, INTENT_NEW, ORDER_LIMIT, TIF_GTC
from hft.gateway.intents import TypedIntentEnvelope, typed_intent_v1
from hft.live.engine import OUTSIDE_WINDOW, LiveGateway, Pending
from hft.recorder.gateway_sink import DECISIONS
from hft.recorder.reader import iter_records
from hft.recorder.wal_first import WALConfig, WALFirstWriter
from tests.unit.gateway.gwkit import Gw

NOW = 2_000_000_000


def test_outside_its_window_an_intent_is_answered_and_not_decided(tmp_path):
    g = Gw()
    wal_dir = tmp_path / "wal"
    live = LiveGateway(g.svc, WALFirstWriter(wal_dir, WALConfig(fsync="never")),
                       SimpleNamespace(send=lambda cmd: None), clock_ns=lambda: NOW)
    loop = asyncio.new_event_loop()

    def pending(key, window):
        env = TypedIntentEnvelope(typed_intent_v1(INTENT_NEW, key, "A1", "s1", "AAA", BUY, 1000, 1, ORDER_LIMIT,
                                                  TIF_GTC, 0, 0), 0)
        return Pending(env, loop.create_future(), True, f"c{key}", 0, window=window)

    try:
        batch = [pending(1, (0, NOW - 1)),  # expired just before the writer's clock
                 pending(2, None), pending(3, (NOW, NOW)),  # inside: its edges are included
                 pending(4, (NOW + 1, NOW + 10))]  # not yet
        live.decide(batch)
        answers = [p.fut.result() for p in batch]
        assert answers[0] is OUTSIDE_WINDOW and answers[3] is OUTSIDE_WINDOW
        assert answers[1].accepted and answers[2].accepted and answers[2].order_id == answers[1].order_id + 1
        live.wal.close()
        keys = [r["key"] for t, r in iter_records(wal_dir, frozenset({DECISIONS}))]
        assert keys == [2, 3]  # the refused intents left no trace a recovery would replay
    finally:
        loop.close()
