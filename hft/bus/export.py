"""Read a subject of the signals stream back (``hft gateway signals-export``): the recorded signals a replay of
`signal_follow` runs on. An ephemeral consumer from the stream's first message; nothing is acknowledged on
behalf of the live consumers. The signal follower's aggregate rebuilds its views with the same scan
(`scan_subject`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from hft.core.errors import DataError


def read_subject(url: str, stream: str, subject: str, timeout_s: float = 3.0,
                 read_timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Every message of `subject` in `stream` (JSON), in stream order, up to the subject's last message when the
    read starts; `DataError` when NATS is unreachable or the read stalls for `read_timeout_s`."""

    async def go() -> list[dict[str, Any]]:
        import nats

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
                await js.stream_info(stream)
            except Exception as exc:
                raise DataError(f"{url}: no stream {stream!r} ({exc.__class__.__name__})",
                                key="signals.bus.stream") from None
            out: list[dict[str, Any]] = []
            await scan_subject(js, stream, subject, out.append, read_timeout_s, url)
            return out
        finally:
            await nc.close()

    return asyncio.run(go())


async def scan_subject(js: Any, stream: str, subject: str, each: Callable[[dict[str, Any]], Any],
                       read_timeout_s: float = 60.0, url: str = "nats") -> int:
    """Call `each` on every message of `subject` in `stream` (JSON), in stream order, up to the subject's last
    message when the scan starts, through an ephemeral consumer on the JetStream context `js` (nothing acked);
    the number of messages. `DataError` when the read stalls for `read_timeout_s`."""
    from nats.errors import TimeoutError as FetchTimeoutError
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError

    try:  # the subject's own last message: the stream's last may belong to another subject
        last = (await js.get_last_msg(stream, subject)).seq
    except NotFoundError:
        return 0
    sub = await js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(
        ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30))
    n = seq = 0
    deadline = time.monotonic() + read_timeout_s
    try:
        while seq < last:  # a quiet fetch is a slow server, not the end: read on until the deadline
            try:
                msgs = await sub.fetch(batch=512, timeout=0.5)
            except FetchTimeoutError:
                msgs = []
            for m in msgs:
                each(json.loads(m.data))
                n += 1
                seq = m.metadata.sequence.stream
            if msgs:
                deadline = time.monotonic() + read_timeout_s
            elif time.monotonic() > deadline:
                raise DataError(f"{url}: read {n} messages of {subject!r}, then none within "
                                f"{read_timeout_s:g}s (its last is sequence {last}, read up to {seq})",
                                key="signals.bus.url")
    finally:
        with contextlib.suppress(Exception):  # the consumer is ephemeral: it goes away by itself
            await sub.unsubscribe()
    return n
