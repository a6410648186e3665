"""Read a subject of the signals stream back (``hft gateway signals-export``): the recorded signals a replay of
`signal_follow` runs on. An ephemeral consumer from the stream's first message; nothing is acknowledged on
behalf of the live consumers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hft.core.errors import DataError


def read_subject(url: str, stream: str, subject: str, timeout_s: float = 3.0) -> list[dict[str, Any]]:
    """Every message of `subject` in `stream` (JSON), in stream order; `DataError` when NATS is unreachable."""

    async def go() -> list[dict[str, Any]]:
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        async def quiet(exc: Exception) -> None:  # nats-py would print each failed attempt's traceback
            return None

        try:
            nc = await asyncio.wait_for(nats.connect(url, connect_timeout=1, allow_reconnect=False,
                                                     max_reconnect_attempts=0, error_cb=quiet), timeout_s)
        except Exception as exc:
            why = str(exc) or f"no connection within {timeout_s:g}s"
            raise DataError(f"{url}: cannot connect to NATS ({why})", key="signals.bus.url") from None
        try:
            js = nc.jetstream(timeout=timeout_s)
            try:
                info = await js.stream_info(stream)
            except Exception as exc:
                raise DataError(f"{url}: no stream {stream!r} ({exc.__class__.__name__})",
                                key="signals.bus.stream") from None
            last = info.state.last_seq
            sub = await js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(
                ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30))
            out: list[dict[str, Any]] = []
            while True:
                try:
                    msgs = await sub.fetch(batch=512, timeout=0.5)
                except Exception:
                    break
                for m in msgs:
                    out.append(json.loads(m.data))
                if msgs and msgs[-1].metadata.sequence.stream >= last:
                    break
            return out
        finally:
            await nc.close()

    return asyncio.run(go())
