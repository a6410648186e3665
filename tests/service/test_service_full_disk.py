"""A real full disk under `hft gateway serve`: the server runs in its own mount namespace (`unshare -Urm`, no root
needed where unprivileged user namespaces are allowed) on a small tmpfs holding its WAL and snapshots, which the
test fills through ``/proc/<pid>/root``. A snapshot that meets ENOSPC is counted, logged and retried while
orders go on; a WAL that cannot write fails closed with 503; SIGTERM still stops cleanly."""

from __future__ import annotations

import errno
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from svckit import CONFIG, Server, order, token

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

MOUNT = 'mount -t tmpfs -o size=96m tmpfs "$0" && exec "$@"'


def _userns_tmpfs_works(d: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    d.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["unshare", "-Urm", "sh", "-c", MOUNT, str(d), "true"], capture_output=True, timeout=30)
    return p.returncode == 0


def _fill(path: Path, leave: int) -> None:
    """Grow `path` until the filesystem is full, then give back `leave` bytes."""
    chunk = b"\0" * (1 << 20)
    with open(path, "ab") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        size = f.tell()
        while True:  # the buffered tail that did not fit
            try:
                f.flush()
                break
            except OSError:
                size -= 1 << 20
                f.truncate(max(0, size))
                f.seek(0, 2)
        f.truncate(max(0, f.tell() - leave))


def _place(srv, tok, tag, n):
    codes = []
    for i in range(n):
        code, d = srv.request("POST", "/orders", order(f"{tag}{i}", price=800 + i, symbol="MSFT"), tok,
                              {"Idempotency-Key": f"{tag}{i}"})
        codes.append((code, d.get("error")))
    return codes


def test_a_full_disk_fails_snapshots_not_orders_and_the_wal_fails_closed(tmp_path):
    home = tmp_path / "home"
    wal = home / "wal"
    if not _userns_tmpfs_works(tmp_path / "probe"):
        pytest.skip("no unprivileged user + mount namespace here (unshare -Urm): no small tmpfs to fill")
    cfg = tmp_path / "gateway_snap20.yaml"
    text = CONFIG.read_text()
    assert "snapshot_every: 1500" in text
    cfg.write_text(text.replace("snapshot_every: 1500", "snapshot_every: 20"))
    wal.mkdir(parents=True)
    srv = Server(home, "--loopback", "rest", config=cfg, wrap=("unshare", "-Urm", "sh", "-c", MOUNT, str(wal)))
    srv.start()
    try:
        tok = token()
        inside = Path(f"/proc/{srv.proc.pid}/root") / str(wal).lstrip("/")
        snap = inside / "gateway-live-snapshot.pkl"
        assert snap.exists() and not (wal / "gateway-live-snapshot.pkl").exists()  # on the server's tmpfs
        _, h = srv.request("GET", "/health")
        taken = h["snapshot"]["taken"]
        filler = inside / "filler"
        _fill(filler, leave=min(4 << 20, snap.stat().st_size // 2))  # room for the WAL, not for a snapshot

        codes = _place(srv, tok, "a", 60)  # snapshot_every 20: snapshots fall due and meet ENOSPC
        assert all(c == 201 for c, _ in codes), codes
        m = srv.metrics()
        assert m["gateway_snapshot_failures_total"] >= 1
        _, h = srv.request("GET", "/health")
        assert h["ready"] and h["snapshot"]["failures"] >= 1, h["snapshot"]
        assert "No space left on device" in h["snapshot"]["failing"]["error"], h["snapshot"]
        assert h["snapshot"]["taken"] == taken
        assert "snapshot failed" in srv.log.read_text()

        filler.unlink()  # space again: the next due snapshot, after the back-off, is written
        end = time.time() + 20
        i = 0
        while time.time() < end and srv.request("GET", "/health")[1]["snapshot"]["failing"] is not None:
            assert _place(srv, tok, f"b{i}-", 5) == [(201, None)] * 5
            i += 1
            time.sleep(0.5)
        _, h = srv.request("GET", "/health")
        assert h["snapshot"]["failing"] is None and h["snapshot"]["taken"] > taken, h["snapshot"]

        _fill(filler, leave=0)  # nothing left for the WAL either: fail closed
        codes = _place(srv, tok, "c", 20)  # the tail of a page may still hold a record or two
        first = next(i for i, (c, _) in enumerate(codes) if c != 201)
        assert all(c == 503 for c, _ in codes[first:]), codes
        _, h = srv.request("GET", "/health")
        assert h["ingress"]["killed"] and h["ingress"]["cause"] == "wal_refused", h
        assert "WAL refused records" in srv.log.read_text()
    finally:
        rc = srv.stop()
    assert rc == 0, srv.log.read_text()[-3000:]
    assert "Traceback" not in srv.log.read_text()
