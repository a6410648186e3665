"""Atomic file writes: nothing half-written is ever left behind."""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from hft.core.errors import DataError


def _umask() -> int:
    """The process umask (read by setting it, so once, at import, before any thread writes files)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def umask_mode(mode: int) -> int:
    """`mode` less the process umask: what `open` or `mkdir` would give a new file or folder (``tempfile``'s
    0600 / 0700 are not)."""
    return mode & ~_UMASK


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it onto `target`, else delete it.

    Raises:
        DataError: when the target directory does not exist or is not writable.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"{target}: expected an existing output directory, {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise DataError(f"{target}: output directory {parent} is not writable")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    os.fchmod(fd, umask_mode(0o666))  # mkstemp makes 0600; an output is readable as any file this user writes
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


_OLD = itertools.count()


def replace_freeing_later(src: str | Path, dst: str | Path) -> None:
    """`os.replace(src, dst)`, but the file `dst` held until now is freed by a background thread, not by the
    caller: the rename would drop its last link, and freeing a file's blocks can wait on the disk (synchronously
    so on a filesystem mounted with ``discard``: tens of ms of the live writer for a snapshot's 100s of MB,
    measured). The old file is first linked to ``.<dst name>.<pid>-<n>.old.tmp`` beside it (a kill may leave
    that name behind: the caller's stray cleanup removes ``.<name>.*.tmp``)."""
    dst = Path(dst)
    old = dst.with_name(f".{dst.name}.{os.getpid()}-{next(_OLD)}.old.tmp")
    try:
        os.link(dst, old)
    except OSError:  # no old file, or a filesystem without hard links: a plain replace
        os.replace(src, dst)
        return
    os.replace(src, dst)
    # not a daemon: a process that ends meanwhile waits for the unlink rather than leave the old file behind
    threading.Thread(target=_unlink_quietly, args=(old,), name="hft-free-old-file").start()


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write `text` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


#: Decompressed input may be at most this many times its compressed size (real captures: LOBSTER order books up to
#: ~30x, Binance lines ~8x), beyond a floor every input may reach: a zip or gzip bomb stops there, not at
#: the end of memory.
MAX_DECOMPRESSION_RATIO = 200
DECOMPRESSED_FLOOR = 256 * 1024 * 1024


def decompressed_limit(compressed_bytes: int) -> int:
    """The most bytes an input of `compressed_bytes` may decompress to (see MAX_DECOMPRESSION_RATIO)."""
    return max(DECOMPRESSED_FLOOR, MAX_DECOMPRESSION_RATIO * int(compressed_bytes))
