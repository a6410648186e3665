"""Signed signal ingress of `hft gateway serve`: ``POST /webhooks/{source}`` (docs/signals.md).

`guard` (HMAC signatures with key rotation, persisted nonce cache, token buckets), `schema` (payload shapes →
the canonical `hft.core.signal.SignalRecord`), `app` (the ASGI handler: checks, normalisation, publication on
the bus, metrics and log lines), `follower` (the signal-following strategy on the bus), `ha` (active/standby).
"""
