"""The paper venue's write-ahead journal (`hft.live.paper.PaperVenue`): one file beside the service's WAL.

A record is one line, ``<crc32 of the JSON, 8 hex digits> <JSON object>\\n``, written with one ``write(2)`` and
flushed to disk (``fsync``) before the venue acts on it. The first record is the day's anchor (``op`` ``day``:
the wall and exchange time the day started at, its speed and the data's identity); every later one is an
operation on the venue (``new`` / ``cancel`` / ``replace`` / ``expire``) with the feed position (``pos``: the
recorded events applied before it) and the venue time (``t``) it was applied at.

Reading it back (`read`): a last record cut by a crash (no newline, or one that fails its check) was never acted
on and is cut off the file; a record that fails its check anywhere else is a one-line `ConfigError` naming the
file and the record's number. A write that fails (a full disk) is undone (the file cut back to its last whole
record) and raised: the caller must not apply what it could not journal.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hft.core.errors import ConfigError

__all__ = ["Journal"]


def _line(rec: dict[str, Any]) -> bytes:
    body = json.dumps(rec, separators=(",", ":")).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def _parse(line: bytes) -> dict[str, Any] | None:
    """The record of one line (its newline stripped), or None when it fails its check."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        rec = json.loads(body)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) and isinstance(rec.get("op"), str) else None


class Journal:
    """An append-only journal file (module docstring). `fsync` False leaves the flush to the OS (a process crash
    loses nothing; a power cut may lose the tail): for tests and measurements only."""

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.records = 0  # records in the file (read + appended)
        self.torn = 0  # bytes of a cut last record removed on open
        self.failures = 0  # appends refused (the file left as it was)
        self.writes = 0  # appends made (each one write and one fsync, of one record or several)
        self._fd = -1
        self._size = 0

    def read(self) -> list[dict[str, Any]]:
        """Every whole record of the file (none if it does not exist), a torn last one cut off; then open it for
        appending. Raises a one-line `ConfigError` for a bad record before the last."""
        recs: list[dict[str, Any]] = []
        data = self.path.read_bytes() if self.path.exists() else b""
        good = 0
        *whole, tail = data.split(b"\n")  # `tail`: what follows the last newline, a record cut by a crash
        for k, line in enumerate(whole):
            rec = _parse(line)
            if rec is None:
                if k == len(whole) - 1 and not tail:  # the last record, damaged as it was written: never acted on
                    break
                raise ConfigError(f"paper venue journal {self.path}: record {k + 1}: expected a whole record "
                                  f"(crc32, a space, a JSON object), was {line[:60]!r}: the file is damaged "
                                  "(move it away to begin a new day)", key="venue.options.journal")
            recs.append(rec)
            good += len(line) + 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        if good < len(data):
            self.torn = len(data) - good
            os.ftruncate(self._fd, good)
        if new and self.fsync:  # the file's name, durable with its directory
            d = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(d)
            finally:
                os.close(d)
        self._size = good
        self.records = len(recs)
        return recs

    def append(self, rec: dict[str, Any]) -> None:
        """Write `rec` and flush it to disk; on failure (ENOSPC, EFBIG, EIO…) cut the file back to its last whole
        record and raise the OSError."""
        self.append_many((rec,))

    def append_many(self, recs: Sequence[dict[str, Any]]) -> None:
        """Write `recs` with one ``write(2)`` and flush them with one ``fsync``: all or none (on failure the file is cut
        back to its last whole record before them and the OSError raised). A crash in the middle may leave the
        first of them whole: each is a record of its own, which the caller had not applied yet either way."""
        if not recs:
            return
        line = b"".join(map(_line, recs))
        try:
            n = os.pwrite(self._fd, line, self._size)
            if n != len(line):
                raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (wrote {n} of {len(line)} bytes)")
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            self.failures += 1
            with contextlib.suppress(OSError):  # the next open cuts a torn tail off all the same
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)
        self.records += len(recs)
        self.writes += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
