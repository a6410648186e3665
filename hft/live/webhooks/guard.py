"""The webhook's checks that are not about the payload: signature, replay, rate.

* `verify_signature`: ``X-Signature`` is HMAC-SHA256, under one of the source's keys valid now, of
  ``v2.<source>.<X-Timestamp>.<X-Nonce>.<raw body>`` (``v2=<hex>``), or of the first form
  ``<X-Timestamp>.<X-Nonce>.<raw body>`` (``sha256=<hex>``, which does not sign the source). The timestamp and
  nonce are signed with the body, else a captured request could be replayed under a fresh nonce; the source is
  signed so that a request cannot be replayed to another source sharing the key: the first form is accepted only
  under a key no other source holds (`SignalKey.shared`). Every valid key is compared in constant time
  (`hmac.compare_digest`), so two keys work during a rotation's overlap.
* `NonceStore`: nonces seen within the replay window, per source, persisted as an append-only file (one
  ``write(2)`` per accepted nonce, before the answer) and reloaded on start, so a replay is refused across a
  restart. A nonce is kept until max(receipt, X-Timestamp) + window: the timestamp check accepts a request
  until X-Timestamp + window, so a sender whose clock runs ahead must not outlive its nonce. A nonce is reserved while its webhook is being published and released if publication fails (the
  client may retry with the same nonce; the bus's duplicate window stores it once).
* `TokenBucket`: per-source rate with burst.
"""

from __future__ import annotations

import heapq
import hmac
import os
import re
from pathlib import Path

from hft.config.signals import SignalKey

NONCE_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


def _signed(timestamp: str, nonce: str, body: bytes, source: str | None) -> bytes:
    """The signed string: the first form without `source`, ``v2.<source>.`` ahead of it with one."""
    head = b"" if source is None else b"v2." + source.encode() + b"."
    return head + timestamp.encode() + b"." + nonce.encode() + b"." + body


def sign(secret: bytes, timestamp: str, nonce: str, body: bytes, source: str | None = None) -> str:
    """The ``X-Signature`` header value of a request (what a sender computes): ``v2=<hex>`` signing `source` when
    given (use it), else the first form ``sha256=<hex>``."""
    mac = hmac.digest(secret, _signed(timestamp, nonce, body, source), "sha256").hex()
    return f"v2={mac}" if source is not None else f"sha256={mac}"


def verify_signature(keys: tuple[SignalKey, ...], now_ns: int, header: str, timestamp: str, nonce: str,
                     body: bytes, source: str) -> str | None:
    """The id of the key that signed for `source`, or None (no valid key matches). Constant-time per key; a
    first-form signature (``sha256=``) counts only under a key that is not shared with another source."""
    sig = header.strip()
    v2 = sig.startswith("v2=")
    if v2:
        sig = sig[3:]
    elif sig.startswith("sha256="):
        sig = sig[7:]
    got = sig.lower().encode()
    signed = _signed(timestamp, nonce, body, source if v2 else None)
    found = None
    for k in keys:
        if not k.valid_at(now_ns) or (k.shared and not v2):
            continue
        want = hmac.digest(k.secret, signed, "sha256").hex().encode()  # one-shot: no HMAC object per key
        if hmac.compare_digest(want, got) and found is None:
            found = k.key_id
    return found


class NonceStore:
    """Nonces accepted within `window_ns`, per source; persisted at `path` (see the module docstring)."""

    def __init__(self, path: str | Path, window_ns: int, now_ns: int) -> None:
        self.path = Path(path)
        self.window = window_ns
        self.seen: dict[tuple[str, str], int] = {}
        self.order: list[tuple[int, str, str]] = []  # heap of (kept from, source, nonce)
        self.pending: set[tuple[str, str]] = set()
        self.loaded = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            with open(self.path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break  # cut by a crash: that webhook was never answered
                    parts = line.decode("utf-8", "replace").rstrip("\n").split(" ", 2)
                    if len(parts) == 3 and parts[0].isdigit() and int(parts[0]) >= now_ns - window_ns:
                        self._remember(int(parts[0]), parts[1], parts[2])
                        self.loaded += 1
        self._compact()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._lines = len(self.seen)

    def _remember(self, ts: int, source: str, nonce: str) -> None:
        self.seen[(source, nonce)] = ts
        heapq.heappush(self.order, (ts, source, nonce))

    def _expire(self, now_ns: int) -> None:
        cut = now_ns - self.window
        while self.order and self.order[0][0] < cut:
            ts, s, n = heapq.heappop(self.order)
            if self.seen.get((s, n)) == ts:
                del self.seen[(s, n)]

    def _compact(self) -> None:
        """Rewrite the file with the live entries only (temp file + rename)."""
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with open(tmp, "wb") as f:
            f.write("".join(f"{ts} {s} {n}\n" for ts, s, n in sorted(self.order) if self.seen.get((s, n)) == ts).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def reserve(self, source: str, nonce: str, now_ns: int) -> bool:
        """False when the nonce was seen within the window or is in flight."""
        self._expire(now_ns)
        k = (source, nonce)
        if k in self.seen or k in self.pending:
            return False
        self.pending.add(k)
        return True

    def release(self, source: str, nonce: str) -> None:
        self.pending.discard((source, nonce))

    def commit(self, source: str, nonce: str, now_ns: int, ts_ns: int = 0) -> None:
        """Remember the nonce for good (written before the webhook is answered) until max(`now_ns`, `ts_ns`, the
        request's X-Timestamp) + window."""
        self.pending.discard((source, nonce))
        keep_from = max(now_ns, ts_ns)
        os.write(self._fd, f"{keep_from} {source} {nonce}\n".encode())
        self._remember(keep_from, source, nonce)
        self._lines += 1
        if self._lines > 4 * len(self.seen) + 100_000:
            os.close(self._fd)
            self._compact()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._lines = len(self.seen)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class TokenBucket:
    """`rate_per_s` tokens per second up to `burst`; `take(now_ns)` spends one or says no."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s / 1e9
        self.burst = float(burst)
        self.tokens = float(burst)
        self.t = 0

    def take(self, now_ns: int) -> bool:
        if self.t:
            self.tokens = min(self.burst, self.tokens + (now_ns - self.t) * self.rate)
        self.t = now_ns
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def retry_after_s(self) -> float:
        return max(0.0, (1.0 - self.tokens) / (self.rate * 1e9))
