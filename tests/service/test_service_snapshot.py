"""State snapshots: a restart restores the newest snapshot and replays only the WAL written after it (after a
SIGKILL as after a clean stop), with the same orders, positions and dedup window as before."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from svckit import HFT, AsyncClient, Server, order, token

from hft.gateway import kernels as K
from hft.live import snapshot
from hft.recorder import wal_format as wf
from hft.recorder.manifest import read_manifest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


async def _orders(port: int, tok: str, keys: list[str]) -> dict[str, dict]:
    c = AsyncClient(port)
    out = {}
    try:
        for i, k in enumerate(keys):
            side, px = ("buy", 9990) if i % 2 else ("sell", 10010)
            code, d = await c.post("/orders", order(k, side=side, price=px, qty=1), tok, key=k)
            assert code == 201, d
            out[k] = d
    finally:
        await c.close()
    return out


def _cfg(tmp_path: Path, every: int) -> Path:
    base = Path(__file__).with_name("gateway_service.yaml").read_text()
    p = tmp_path / "gateway.yaml"
    p.write_text(base.replace("snapshot_every: 1500", f"snapshot_every: {every}"))
    return p


def test_restart_replays_only_the_wal_after_the_newest_snapshot(tmp_path):
    home = tmp_path / "home"
    cfg = _cfg(tmp_path, 200)
    tok = token()
    srv = Server(home, config=cfg).start()
    try:
        sent = asyncio.run(_orders(srv.port, tok, [f"s-{i}" for i in range(300)]))
        _, h = srv.request("GET", "/health")
        assert h["snapshot"]["taken"] >= 3  # at start, then every 200 WAL records
        _, pos_before = srv.request("GET", "/positions", token=tok)
    finally:
        srv.kill9()
    snap = home / "wal" / "gateway-live-snapshot.pkl"
    assert snap.exists()

    srv = Server(home, config=cfg).start()
    try:
        _, h = srv.request("GET", "/health")
        rec = h["recovery"]
        assert rec["snapshot"] is not None and rec["mismatches"] == 0
        assert rec["decisions"] <= 60  # only what followed the newest snapshot (~50 orders per 200 records)
        for k in ("s-0", "s-150", "s-299"):  # order views from the snapshot and from the replayed tail
            code, v = srv.request("GET", f"/orders/client/{k}", token=tok)
            assert code == 200 and v["order_id"] == sent[k]["order_id"] and v["status"] == "filled"
        _, pos = srv.request("GET", "/positions", token=tok)
        assert pos == pos_before
        # the dedup window survived: a retry of an early key is a duplicate of the original
        code, d = srv.request("POST", "/orders", order("s-3", side="buy", price=9990, qty=1), tok,
                              {"Idempotency-Key": "s-3"})
        assert code == 200 and d["duplicate"] and d["order_id"] == sent["s-3"]["order_id"]
    finally:
        assert srv.stop() == 0  # a clean stop snapshots last

    srv = Server(home, config=cfg).start()
    try:
        _, h = srv.request("GET", "/health")
        assert h["recovery"]["decisions"] == 0 and h["recovery"]["reports"] == 0  # nothing after the last one
        code, v = srv.request("GET", "/orders/client/s-299", token=tok)
        assert code == 200 and v["status"] == "filled"
        code, d = srv.request("POST", "/orders", order("s-300", qty=1), tok, {"Idempotency-Key": "s-300"})
        assert code == 201 and d["order_id"] > sent["s-299"]["order_id"]
    finally:
        srv.stop()


def test_a_snapshot_that_does_not_fit_the_config_means_a_full_replay(tmp_path):
    home = tmp_path / "home"
    tok = token()
    srv = Server(home, config=_cfg(tmp_path, 100)).start()
    try:
        asyncio.run(_orders(srv.port, tok, [f"f-{i}" for i in range(40)]))
    finally:
        srv.stop()
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text((tmp_path / "gateway.yaml").read_text().replace("max_working_orders: 4096",
                                                                       "max_working_orders: 8192"))
    srv = Server(home, config=bigger).start()
    try:
        _, h = srv.request("GET", "/health")
        assert h["recovery"]["snapshot"] is None and h["recovery"]["decisions"] == 40
        assert h["recovery"]["mismatches"] == 0
        code, v = srv.request("GET", "/orders/client/f-39", token=tok)
        assert code == 200 and v["status"] == "filled"
    finally:
        srv.stop()


def test_a_snapshot_that_cannot_be_used_after_the_loader_deleted_segments_refuses_to_start(tmp_path):
    """A snapshot the service cannot use (here: table sizes changed) means replaying the WAL from its first record;
    once `hft audit load` has deleted the segments the snapshot covered, that replay would start from a partial
    state (positions, order ids, the dedup window missing). The service refuses to start instead: exit 13, one line
    naming the snapshot, why and what to do; the WAL and the snapshot stay as they were."""
    home = tmp_path / "home"
    cfg = tmp_path / "gateway.yaml"
    cfg.write_text(_cfg(tmp_path, 100).read_text().replace("snapshot_every: 100", "snapshot_every: 100\n"
                                                           "  wal_segment_bytes: 16KiB"))
    wal_dir = home / "wal" / "gateway-live"
    tok = token()
    srv = Server(home, config=cfg).start()
    try:
        asyncio.run(_orders(srv.port, tok, [f"p-{i}" for i in range(300)]))
    finally:
        assert srv.stop() == 0
    p = subprocess.run([str(HFT), "audit", "load", "--json"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HFT_HOME": str(home)})
    assert p.returncode == 0, p.stderr
    segs = [no for no, _ in wf.list_segments(wal_dir)]
    assert segs[0] > 1, segs  # the loader deleted the segments the snapshot covers
    snap = home / "wal" / "gateway-live-snapshot.pkl"
    before = snap.read_bytes()
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(cfg.read_text().replace("max_working_orders: 4096", "max_working_orders: 8192"))
    srv = Server(home, config=bigger)
    with pytest.raises(RuntimeError, match="server did not start"):
        srv.start()
    assert srv.proc.returncode == 13
    err = [ln for ln in srv.log.read_text().splitlines() if "the snapshot cannot be used" in ln]
    assert len(err) == 1 and "table sizes changed" in err[0] and f"segments before {segs[0]}" in err[0], err
    assert "Traceback" not in srv.log.read_text()
    assert snap.read_bytes() == before and [no for no, _ in wf.list_segments(wal_dir)] == segs


#: the last commit whose gateway arena is of layout version 2 (the next, 56b679f, made it 3)
ARENA_V2_REV = "797d705"


def _exported(rev: str) -> Path:
    """The ``hft`` package of commit `rev`, exported with ``git archive`` (no worktree) to a directory kept across
    runs (so its kernels' numba cache is reused); skips when this checkout lacks git or the commit."""
    root = Path(__file__).resolve().parents[2]
    out = Path(tempfile.gettempdir()) / f"hft-export-{rev}"
    if (out / "hft" / "__init__.py").exists():
        return out
    try:
        tar = subprocess.run(["git", "-C", str(root), "archive", rev, "hft"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"commit {rev} not available: {exc}")
    tmp = Path(tempfile.mkdtemp(prefix=f"hft-export-{rev}.", dir=out.parent))
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=tar, check=True)
    if not out.exists():  # (another run may have exported it meanwhile)
        os.replace(tmp, out)
    return out


def test_a_snapshot_of_an_older_arena_layout_is_migrated_in_place_over_a_pruned_wal(tmp_path):
    """A real arena layout 2 snapshot: written by hft at commit `ARENA_V2_REV` (its ``hft`` package exported with
    ``git archive``, run as ``hft gateway serve`` with PYTHONPATH on it: orders, fills, an admin limit change, a
    clean stop). `hft audit load` then deletes the WAL segments the snapshot covers, so only the snapshot holds
    that state. This hft migrates the arena (`hft.gateway.arena_migration`) instead of refusing to start (exit 13):
    positions, order ids, the dedup window and the limits come back; the old file is kept aside."""
    home = tmp_path / "home"
    cfg = tmp_path / "gateway.yaml"
    cfg.write_text(_cfg(tmp_path, 100).read_text().replace("snapshot_every: 100", "snapshot_every: 100\n"
                                                           "  wal_segment_bytes: 16KiB"))
    wal_dir = home / "wal" / "gateway-live"
    admin = token(accounts=("*",), strategies=("*",), admin=True)
    tok = token()
    exported = _exported(ARENA_V2_REV)
    # the old kernels' numba cache beside the export, kept with it: CI's NUMBA_CACHE_DIR (a cold cache for this
    # tree's kernels) would otherwise compile the fixed old commit's kernels again on every run (~24 CPU s)
    old = Server(home, config=cfg, env={"PYTHONPATH": str(exported), "NUMBA_CACHE_DIR": str(exported / "numba")})
    old.start(timeout=900)  # a first run compiles the old kernels
    try:
        sent = asyncio.run(_orders(old.port, tok, [f"m-{i}" for i in range(300)]))
        code, d = old.request("POST", "/admin/limits", {"scope": {"account": "ACC1"}, "limits": {
            "max_order_qty": 7}}, admin)
        assert code == 200 and d["applied"], d
        _, pos_before = old.request("GET", "/positions", token=tok)
    finally:
        assert old.stop() == 0
    snap = home / "wal" / "gateway-live-snapshot.pkl"
    _, state = snapshot._read(snap)
    assert int(state["arena"][K.H_VERSION]) == 2  # what the old hft wrote
    written = snap.read_bytes()
    p = subprocess.run([str(HFT), "audit", "load", "--json"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HFT_HOME": str(home)})
    assert p.returncode == 0, p.stderr
    segs = [no for no, _ in wf.list_segments(wal_dir)]
    assert segs[0] > 1, segs  # only the snapshot holds the state before them

    srv = Server(home, config=cfg).start()
    try:
        log = srv.log.read_text()
        assert "migrated to version 3" in log and "the snapshot cannot be used" not in log, log[-2000:]
        assert snap.with_name(snap.name + ".arena-v2").read_bytes() == written  # the old file, kept aside
        _, h = srv.request("GET", "/health")
        assert h["recovery"]["snapshot"] is not None and h["recovery"]["mismatches"] == 0, h["recovery"]
        _, pos = srv.request("GET", "/positions", token=tok)
        assert pos == pos_before
        for k in ("m-0", "m-150", "m-299"):
            code, v = srv.request("GET", f"/orders/client/{k}", token=tok)
            assert code == 200 and v["order_id"] == sent[k]["order_id"], v
        # the dedup window came back: a retry of an early key is a duplicate of the original
        code, d = srv.request("POST", "/orders", order("m-3", side="buy", price=9990, qty=1), tok,
                              {"Idempotency-Key": "m-3"})
        assert code == 200 and d["duplicate"] and d["order_id"] == sent["m-3"]["order_id"], d
        _, lim = srv.request("GET", "/admin/limits", token=admin)
        assert lim["accounts"]["ACC1"]["max_order_qty"] == 7, lim
        code, d = srv.request("POST", "/orders", order("n-1", qty=8), tok, {"Idempotency-Key": "n-1"})
        assert code == 422 and d["reason"] == "MAX_ORDER_QTY", d
        code, d = srv.request("POST", "/orders", order("n-2", qty=1), tok, {"Idempotency-Key": "n-2"})
        assert code == 201 and d["order_id"] > max(v["order_id"] for v in sent.values()), d  # ids go on
    finally:
        assert srv.stop() == 0
    _, state = snapshot._read(snap)
    assert int(state["arena"][K.H_VERSION]) == K.VERSION


def test_a_snapshot_of_another_version_or_damaged_is_named_in_the_log_and_the_whole_wal_replayed(tmp_path):
    home = tmp_path / "home"
    cfg = _cfg(tmp_path, 100)
    tok = token()
    srv = Server(home, config=cfg).start()
    try:
        asyncio.run(_orders(srv.port, tok, [f"v-{i}" for i in range(30)]))
    finally:
        assert srv.stop() == 0
    snap = home / "wal" / "gateway-live-snapshot.pkl"
    written = snap.read_bytes()
    assert pickle.loads(written) == snapshot.VERSION  # the header comes first
    cases = {
        f"is version 2, this hft reads version {snapshot.VERSION}": pickle.dumps(2) + pickle.dumps({"arena": None}),
        "without a version header (written by an older hft)": pickle.dumps({"version": 1}),
        "unreadable (": written[: len(written) // 2],  # cut short: a damaged file
    }
    for says, content in cases.items():
        snap.write_bytes(content)
        srv = Server(home, config=cfg).start()
        try:
            _, h = srv.request("GET", "/health")
            assert h["recovery"]["snapshot"] is None and h["recovery"]["decisions"] == 30
            assert h["recovery"]["mismatches"] == 0
            code, v = srv.request("GET", "/orders/client/v-29", token=tok)
            assert code == 200 and v["status"] == "filled"
        finally:
            srv.kill9()  # no clean-stop snapshot: the next case starts from the content written above
        assert says in srv.log.read_text(), says


def test_snapshots_of_a_large_state_are_written_by_a_forked_child(tmp_path):
    """With `snapshot_fork_orders` reached, periodic snapshots come from a forked child (the writer does not
    pause); the writer installs each one; SIGKILL then restart replays from the newest installed one with the
    same orders and dedup window, and the stray file of a child that outlived the writer is removed."""
    home = tmp_path / "home"
    cfg = tmp_path / "gateway.yaml"
    cfg.write_text(_cfg(tmp_path, 200).read_text().replace("snapshot_every: 200",
                                                            "snapshot_every: 200\n  snapshot_fork_orders: 1"))
    tok = token()
    srv = Server(home, config=cfg).start()
    try:
        sent = asyncio.run(_orders(srv.port, tok, [f"f-{i}" for i in range(300)]))
        # a child's snapshot is installed at the end of a later commit, once the child has exited: on a loaded
        # machine it may still be writing after the 300th order, so more orders follow until one is installed
        _, h = srv.request("GET", "/health")
        n_sent = 300
        for i in range(300, 600):
            if h["snapshot"]["taken"] >= 2 and h["snapshot"]["last"].get("background"):
                break
            time.sleep(0.05)
            code, _ = srv.request("POST", "/orders", order(f"f-{i}", qty=1), tok, {"Idempotency-Key": f"f-{i}"})
            assert code == 201
            n_sent += 1
            _, h = srv.request("GET", "/health")
        assert h["snapshot"]["taken"] >= 2 and h["snapshot"]["last"].get("background"), h["snapshot"]
        _, pos_before = srv.request("GET", "/positions", token=tok)
    finally:
        srv.kill9()
    (home / "wal" / ".gateway-live-snapshot.pkl.stray.tmp").write_bytes(b"left by a child")
    srv = Server(home, config=cfg).start()
    try:
        _, h = srv.request("GET", "/health")
        rec = h["recovery"]
        assert rec["snapshot"] is not None and rec["mismatches"] == 0
        # not a full replay: only what followed the newest installed snapshot (more orders follow on a loaded
        # machine, where the child's snapshot is installed later)
        assert rec["decisions"] < n_sent, (rec, n_sent)
        assert not list((home / "wal").glob(".gateway-live-snapshot.pkl.*.tmp"))
        for k in ("f-0", "f-150", "f-299"):
            code, v = srv.request("GET", f"/orders/client/{k}", token=tok)
            assert code == 200 and v["order_id"] == sent[k]["order_id"] and v["status"] == "filled"
        _, pos = srv.request("GET", "/positions", token=tok)
        assert pos == pos_before
        code, d = srv.request("POST", "/orders", order("f-3", side="buy", price=9990, qty=1), tok,
                              {"Idempotency-Key": "f-3"})
        assert code == 200 and d["duplicate"] and d["order_id"] == sent["f-3"]["order_id"]
    finally:
        assert srv.stop() == 0


def test_order_views_past_the_retention_are_dropped_and_stay_dropped_after_a_restart(tmp_path):
    """`server.order_view_retention`: GET of an old terminal order is a 404 that says why; the newest orders keep
    their views; after a SIGKILL (snapshot + WAL tail) the same, and reconciliation re-applies nothing to the
    dropped orders (positions unchanged)."""
    home = tmp_path / "home"
    cfg = tmp_path / "retention.yaml"
    cfg.write_text(_cfg(tmp_path, 200).read_text().replace("  snapshot_every: 200", "  snapshot_every: 200\n"
                                                           "  order_view_retention: 50"))
    tok = token()

    def check(sent: dict[str, dict]) -> None:
        code, v = srv.request("GET", f"/orders/{sent['r-0']['order_id']}", token=tok)
        assert code == 404 and "order_view_retention" in v["reason"] and "no longer open" in v["reason"]
        code, _ = srv.request("GET", "/orders/client/r-0", token=tok)
        assert code == 404  # its client id was forgotten with it
        for k in ("r-250", "r-299"):
            code, v = srv.request("GET", f"/orders/client/{k}", token=tok)
            assert code == 200 and v["order_id"] == sent[k]["order_id"] and v["status"] == "filled"
            assert v["fills"] == [{"price": v["price"], "qty": 1, "ts": v["fills"][0]["ts"], "fee": 0, "fee_frac": 0,
                                   "liquidity": ""}]  # (the loopback venue says neither fee nor liquidity)
        code, v = srv.request("GET", "/orders/999999", token=tok)
        assert code == 404 and v["reason"] == "no order 999999"

    srv = Server(home, config=cfg).start()
    try:
        sent = asyncio.run(_orders(srv.port, tok, [f"r-{i}" for i in range(300)]))
        check(sent)
        _, pos_before = srv.request("GET", "/positions", token=tok)
    finally:
        srv.kill9()
    srv = Server(home, config=cfg).start()
    try:
        _, h = srv.request("GET", "/health")
        assert h["recovery"]["snapshot"] is not None and h["recovery"]["mismatches"] == 0
        assert h["recovery"]["reports_applied"] == 0
        check(sent)
        _, pos = srv.request("GET", "/positions", token=tok)
        assert pos == pos_before
    finally:
        srv.stop()


def test_the_segments_the_newest_snapshot_needs_survive_a_loader_run_and_the_restart_recovers(tmp_path):
    """The crash a loader run used to make unrecoverable: snapshots coalesced (one forked snapshot, then a long
    rest) while the WAL starts segment after segment; SIGKILL; `hft audit load` drains every record and deletes
    loaded segments, but only those below the one the newest snapshot needs (`needed_from` in the manifest); the
    restart restores that snapshot and replays the segments after it: every order, position and the dedup window."""
    home = tmp_path / "home"
    cfg = tmp_path / "gateway.yaml"
    cfg.write_text(_cfg(tmp_path, 1_000_000).read_text().replace(
        "snapshot_every: 1000000", "snapshot_every: 1000000\n  snapshot_fork_orders: 1\n  snapshot_rest: 1000000\n"
                                   "  wal_segment_bytes: 16KiB"))
    wal_dir = home / "wal" / "gateway-live"
    tok = token()
    srv = Server(home, config=cfg).start()
    try:
        sent = asyncio.run(_orders(srv.port, tok, [f"n-{i}" for i in range(100)]))
        _, h = srv.request("GET", "/health")
        for i in range(100, 400):  # until the child's snapshot is installed (at the end of a later commit)
            if h["snapshot"]["last"].get("background"):
                break
            time.sleep(0.05)
            sent |= asyncio.run(_orders(srv.port, tok, [f"n-{i}"]))
            _, h = srv.request("GET", "/health")
        snap = h["snapshot"]["last"]
        assert snap.get("background"), h["snapshot"]
        sent |= asyncio.run(_orders(srv.port, tok, [f"m-{i}" for i in range(300)]))
        _, h = srv.request("GET", "/health")
        assert h["snapshot"]["last"] == snap  # resting: the segments started since are not snapshotted
        assert h["wal"]["segment"] >= snap["segment"] + 3
        _, pos_before = srv.request("GET", "/positions", token=tok)
    finally:
        srv.kill9()
    assert read_manifest(wal_dir)["needed_from"] == snap["segment"]
    before = [no for no, _ in wf.list_segments(wal_dir)]
    assert before[0] < snap["segment"]

    p = subprocess.run([str(HFT), "audit", "load", "--json"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HFT_HOME": str(home)})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["segments_pruned"] >= 1
    assert [no for no, _ in wf.list_segments(wal_dir)] == [no for no in before if no >= snap["segment"]]

    srv = Server(home, config=cfg).start()
    try:
        _, h = srv.request("GET", "/health")
        rec = h["recovery"]
        assert rec["snapshot"] == {"segment": snap["segment"], "offset": snap["offset"]}, rec
        assert rec["mismatches"] == 0 and rec["decisions"] >= 300  # the orders after the snapshot, replayed
        for k in ("n-0", "n-99", "m-0", "m-299"):
            code, v = srv.request("GET", f"/orders/client/{k}", token=tok)
            assert code == 200 and v["order_id"] == sent[k]["order_id"] and v["status"] == "filled"
        _, pos = srv.request("GET", "/positions", token=tok)
        assert pos == pos_before
        code, d = srv.request("POST", "/orders", order("m-7", side="buy", price=9990, qty=1), tok,
                              {"Idempotency-Key": "m-7"})  # m-7's own request again (`_orders`: odd i buys at 9990)
        assert code == 200 and d["duplicate"] and d["order_id"] == sent["m-7"]["order_id"]
    finally:
        assert srv.stop() == 0
