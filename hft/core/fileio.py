"""Atomic file writes: nothing half-written is ever left behind.

A temporary name beside an output carries its writer's pid (`temp_prefix`): ``.NAME.<pid>-<tag>.XXXX[.tmp]``. A
writer that could not clean up (SIGKILL, a power cut, a second Ctrl-C that skipped the cleanup) leaves one
behind; the next process that writes into that folder removes it (`remove_dead_temps`: the names whose pid no
live process has). One rule for `atomic_path`, the run folders (`hft.sim.run_folder.atomic_folder`), the
snapshot's and the gateway warm-up's temporary directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import shutil
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


def _tag() -> str:
    """8 hex digits naming this host and pid namespace: a pid in a temporary name means this machine's process
    only where the tag is the same (a folder shared with another host or container holds its names, left
    alone)."""
    try:
        ns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux: the host alone
        ns = 0
    node = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")
    return hashlib.blake2b(f"{node}/{ns}".encode(), digest_size=4).hexdigest()


_TAG = _tag()
_DEAD_TEMP = re.compile(r"[.-](\d+)-" + _TAG + r"\.")
_swept: set[str] = set()


def temp_prefix(stem: str) -> str:
    """The start of a temporary name this process makes: `stem` then ``<pid>-<tag>.`` (``.day.parquet.`` →
    ``.day.parquet.4242-1a2b3c4d.``), so `remove_dead_temps` can tell a dead writer's from a live one's."""
    return f"{stem}{os.getpid()}-{_TAG}."


def _alive(pid: int) -> bool:
    """Whether a process `pid` exists (another user's too; a zombie not yet reaped counts). True where that
    cannot be asked without harm (not POSIX: ``os.kill`` would end the process)."""
    if os.name != "posix" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: another user's process
        return True
    return True


def remove_dead_temps(directory: str | Path) -> list[Path]:
    """Remove the temporary files and folders in `directory` that writers now dead left (named by `temp_prefix`
    on this host, with a pid no live process has: a SIGKILL, a power cut, a cleanup skipped). Never a live
    process's, another host's or container's (another tag), nor any other name. Once per directory per process
    (the first write there; a folder of many outputs is not listed again per write); best effort: an entry that
    cannot be removed stays, nothing raises. Returns what was removed."""
    key = os.path.abspath(directory)
    if key in _swept:
        return []
    _swept.add(key)
    removed = []
    try:
        with os.scandir(key) as entries:
            found = [(e.path, e.is_dir(follow_symlinks=False), int(m.group(1))) for e in entries
                     if (m := _DEAD_TEMP.search(e.name)) is not None]
    except OSError:
        return []
    for path, is_dir, pid in found:
        if _alive(pid):
            continue
        try:
            if is_dir:
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError:
            continue
        removed.append(Path(path))
    return removed


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` (`temp_prefix`; dead writers' temporaries there are removed
    first: `remove_dead_temps`); on success rename it onto `target`, else delete it.

    Raises:
        DataError: when the target directory does not exist or is not writable.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"{target}: expected an existing output directory, {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise DataError(f"{target}: output directory {parent} is not writable")
    remove_dead_temps(parent)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(f".{target.name}."), suffix=".tmp", dir=parent)
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
    measured). The old file is first linked to ``.<dst name>.<pid>-<tag>.<n>.old.tmp`` beside it (a kill may
    leave that name behind: `remove_dead_temps` removes it, as the caller's own stray cleanup may)."""
    dst = Path(dst)
    old = dst.with_name(f"{temp_prefix(f'.{dst.name}.')}{next(_OLD)}.old.tmp")
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
