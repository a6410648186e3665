"""The WAL manifest: ``manifest.json`` in a WAL directory.

It records the segments (written by the writer on open, rotation and close), what has been loaded into the
store (written by the loader after each batch), the batch in flight (so a killed loader redoes exactly that
batch, with the same insert dedup tokens) and the torn tails that were truncated. Updates are read-modify-write
under an ``flock`` on ``manifest.lock`` and land with an atomic rename, so a kill at any instant leaves either
the old or the new manifest.

Layout::

    {"format": 1, "wal_uid": "…", "writer_sessions": 3,
     "segments": {"1": {"sealed": true, "bytes": 123, "records": 10, "frames": 2}, …},
     "loaded": {"segment": 2, "offset": 4096, "records": 10, "bytes": 123},
     "pending": null | {"segment": 2, "start": 4096, "end": 9000, "records": 5},
     "torn_tails": [{"segment": 2, "offset": 9000, "bytes": 17, "reason": "…", "at": 1.7e9}]}
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hft.core.errors import StoreError

MANIFEST = "manifest.json"
FORMAT = 1
_MAX_TORN_KEPT = 100


def new_manifest() -> dict[str, Any]:
    return {"format": FORMAT, "wal_uid": uuid.uuid4().hex, "writer_sessions": 0, "segments": {},
            "loaded": {"segment": 0, "offset": 0, "records": 0, "bytes": 0}, "pending": None,
            "torn_tails": []}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StoreError(f"{path}: expected a JSON WAL manifest, was unreadable ({exc})", file=str(path)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoreError(f"{path}: expected a WAL manifest of format {FORMAT}, was {data.get('format')!r}"
                         if isinstance(data, dict) else f"{path}: expected a JSON object", file=str(path))
    return data


@contextlib.contextmanager
def _locked(wal_dir: Path) -> Iterator[None]:
    fd = os.open(wal_dir / "manifest.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_manifest(wal_dir: Path) -> dict[str, Any]:
    """The manifest of `wal_dir` (a fresh one, not saved, when none exists yet)."""
    return _read(Path(wal_dir) / MANIFEST) or new_manifest()


def update_manifest(wal_dir: Path, fn: Callable[[dict[str, Any]], None], *, durable: bool = True) -> dict[str, Any]:
    """Apply `fn` to the manifest under the lock and save it atomically; returns the new manifest."""
    wal_dir = Path(wal_dir)
    path = wal_dir / MANIFEST
    with _locked(wal_dir):
        data = _read(path) or new_manifest()
        fn(data)
        torn = data.get("torn_tails") or []
        data["torn_tails"] = torn[-_MAX_TORN_KEPT:]
        tmp = wal_dir / f".{MANIFEST}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, sort_keys=True)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if durable:
            _fsync_dir(wal_dir)
    return data


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
