"""Outage drills of the WAL-first recorder and the store: real files, real processes, real chDB, real SIGKILL.

Every store access runs in a subprocess (chDB admits one data directory per process), through the real CLI
entry point where the issue names a command.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from hft.recorder import wal_format as wf
from hft.recorder.disk_monitor import DiskLevel, DiskPressureMonitor, DiskThresholds, disk_usage
from hft.recorder.loader import backlog, wal_dirs
from hft.recorder.manifest import read_manifest
from hft.recorder.wal_first import WALConfig, WALFirstWriter, open_writer

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

ROOT = Path(__file__).resolve().parents[2]
HFT = Path(sys.executable).with_name("hft")  # the real console script
GIB = 1 << 30


def env_for(home: Path, url: str | None = None) -> dict[str, str]:
    env = {**os.environ, "HFT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("HFT_DEBUG", None)
    env.pop("HFT_CLICKHOUSE_URL", None)
    if url:
        env["HFT_CLICKHOUSE_URL"] = url
    return env


def hft(home: Path, *args: str, url: str | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([str(HFT), *args], capture_output=True, text=True,
                          env=env_for(home, url), timeout=timeout, cwd=home)


def ids_and_counts(home: Path, tables: list[str], *, load_first: bool = False, url: str | None = None) -> dict:
    """Per table: rows visible to queries, raw rows (no FINAL), distinct ids, and the sorted id list.

    With `load_first`, the same process drains the WAL before (one chDB start-up instead of two); with `url`, of
    the store at that server.
    """
    code = textwrap.dedent("""
        import json, sys
        from hft.recorder.loader import load
        from hft.store.store import open_store
        out = {}
        with open_store(wait_s=30) as s:
            if sys.argv[1] == "1":
                load(s)
            for t in sys.argv[2:]:
                out[t] = {
                    "count": s.count(t),
                    "raw": s.query(f"SELECT count() FROM {t} SETTINGS final = 0").scalar(),
                    "uniq": s.query(f"SELECT uniqExact(record_id) FROM {t}").scalar(),
                    "ids": s.query_raw(f"SELECT lower(leftPad(hex(record_id), 32, '0')) FROM {t} "
                                       "ORDER BY record_id", "TSV").decode().split(),
                }
        print(json.dumps(out))
    """)
    p = subprocess.run([sys.executable, "-c", code, str(int(load_first)), *tables], capture_output=True, text=True,
                       env=env_for(home, url), timeout=180)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def fill(i: int) -> dict:
    return {"ts": 1_700_000_000_000_000_000 + i, "run_id": "drill", "fill_id": i, "symbol_name": "BTCUSDT",
            "side": 1, "price": 10_000 + i % 100, "qty": 1 + i % 7}


def decision(i: int) -> dict:
    return {"ts": 1_700_000_000_000_000_000 + i, "run_id": "drill", "seq": i, "accepted": bool(i % 2),
            "reason": 0 if i % 2 else 30, "details": {"i": i}}


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- 1. store unavailable ----------------------------------------------------------------------------------
def test_store_unavailable_writers_go_on_backlog_grows_then_embedded_load_drains(tmp_path):
    home = tmp_path
    url = f"http://127.0.0.1:{closed_port()}"
    w = open_writer("gw", home=home, config=WALConfig(fsync="batch"))
    try:
        for i in range(50):
            assert w.write("audit.gateway_decisions", decision(i))
        p = hft(home, "audit", "load", url=url)
        assert p.returncode == 15
        assert "cannot reach the ClickHouse server at http://127.0.0.1" in p.stderr
        assert backlog(home=home)["records"] == 50
        t0 = time.perf_counter()
        for i in range(50, 120):  # writers keep going, never waiting on the store
            assert w.write("audit.gateway_decisions", decision(i))
        assert time.perf_counter() - t0 < 5
        p = hft(home, "store", "status", "--json", url=url)
        st = json.loads(p.stdout)
        assert st["backend"] == "server" and "cannot reach" in st["store_error"]
        assert st["backlog"]["records"] == 120
    finally:
        w.close()
    p = hft(home, "audit", "load", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["records_loaded"] == 120
    got = ids_and_counts(home, ["audit.gateway_decisions"])["audit.gateway_decisions"]
    assert got["count"] == got["raw"] == got["uniq"] == 120
    assert backlog(home=home)["records"] == 0


# --- 2. loader SIGKILL mid-batch ---------------------------------------------------------------------------
LOADER = textwrap.dedent("""
    import os, signal, sys, time
    from hft.recorder.loader import WALLoader
    from hft.store.store import open_store
    kill_after, delay = int(sys.argv[1]), float(sys.argv[2])
    n = 0
    def hook(table):
        global n
        n += 1
        if n == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(delay)
    with open_store() as s:
        loader = WALLoader(s, batch_rows=4000)
        loader._after_insert_hook = hook
        print("loading", flush=True)
        loader.load()
""")


def _write_drill_wal(home: Path) -> int:
    with open_writer("sim", home=home, config=WALConfig(fsync="never", segment_bytes=256 * 1024),
                     id_namespace="drill-run") as w:
        k = 0
        for _ in range(40):
            w.write_many("sim.fills", [fill(k + i) for i in range(500)])
            w.write_many("audit.gateway_decisions", [decision(k + i) for i in range(500)])
            k += 500
    return k


@pytest.mark.parametrize("how", ["self_kill_between_tables", "external_kill_at_a_random_time"])
def test_loader_sigkill_mid_batch_then_rerun_equals_a_clean_load(tmp_path, how):
    home, ref = tmp_path / "home", tmp_path / "ref"
    n = _write_drill_wal(home)
    shutil.copytree(home, ref)
    tables = ["sim.fills", "audit.gateway_decisions"]
    if how == "self_kill_between_tables":
        # insert #5 is the first table of batch 3: killed after one table of a batch went in
        p = subprocess.run([sys.executable, "-c", LOADER, "5", "0"], env=env_for(home), capture_output=True,
                           text=True, timeout=180)
        assert p.returncode == -signal.SIGKILL, p.stderr
    else:
        proc = subprocess.Popen([sys.executable, "-c", LOADER, "0", "0.05"], env=env_for(home),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "loading"
        deadline = time.monotonic() + 60
        while read_manifest(home / "wal" / "sim")["loaded"]["records"] < 3000 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.013)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
    m = read_manifest(home / "wal" / "sim")
    assert 0 < m["loaded"]["records"] < 2 * n
    p = hft(home, "audit", "load", "--json")
    assert p.returncode == 0, p.stderr
    rerun = json.loads(p.stdout)
    assert rerun["records_loaded"] == 2 * n - m["loaded"]["records"]
    got, clean = ids_and_counts(home, tables), ids_and_counts(ref, tables, load_first=True)
    for t in tables:
        assert got[t]["count"] == clean[t]["count"] == n
        assert got[t]["raw"] == n, "a re-inserted block was not dropped by insert deduplication"
        assert got[t]["uniq"] == n
        assert got[t]["ids"] == clean[t]["ids"]


# --- 3. writer SIGKILL mid-append --------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import os, signal, sys
    from hft.recorder import wal_format as wf
    from hft.recorder.wal_first import WALConfig, WALFirstWriter
    wal_dir, mode = sys.argv[1], sys.argv[2]
    w = WALFirstWriter(wal_dir, WALConfig(fsync="never", segment_bytes=4 * 1024 * 1024))
    b = 0
    while True:
        recs = [{"ts": i, "run_id": "w", "fill_id": i, "record_id": b * 2000 + i, "price": i}
                for i in range(2000)]
        assert w.write_many("sim.fills", recs)
        print(f"ACK {b}", flush=True)
        b += 1
        if mode == "torn" and b == 25:
            # the state a kill -9 in the middle of write(2) leaves: half a frame at the tail
            frame = wf.encode_frame(9, 1, 1, b"x" * 200, 0)
            os.write(w._fd, frame[:117])
            os.kill(os.getpid(), signal.SIGKILL)
""")


@pytest.mark.parametrize("mode", ["torn", "random"])
def test_writer_sigkill_mid_append_torn_tail_truncated_acknowledged_records_kept(tmp_path, mode):
    home = tmp_path
    wal = home / "wal" / "w"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(wal), mode], env=env_for(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked: list[int] = []
    for line in proc.stdout:
        acked.append(int(line.split()[1]))
        if mode == "random" and len(acked) == 40:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    w = WALFirstWriter(wal, WALConfig(fsync="never"))  # recovery
    torn = w.stats.torn_tail_truncations
    w.close()
    if mode == "torn":
        assert torn == 1 and read_manifest(wal)["torn_tails"][0]["bytes"] == 117
    for _no, path in wf.list_segments(wal):
        base, data = wf.read_segment(path)
        assert wf.scan_buffer(data, base, base=base).status == "ok"
    got = ids_and_counts(home, ["sim.fills"], load_first=True)["sim.fills"]
    ids = {int(x, 16) for x in got["ids"]}
    want = {b * 2000 + i for b in acked for i in range(2000)}
    assert want <= ids, "an acknowledged record is missing"
    assert got["raw"] == got["uniq"] == len(ids)
    assert len(ids) % 2000 == 0  # whole frames only


# --- 4. disk HALT -----------------------------------------------------------------------------------------
def test_disk_halt_refuses_and_counts_then_resumes(tmp_path):
    free0, _total = disk_usage(tmp_path)
    if free0 < 10 * GIB:
        pytest.skip("needs 10 GiB free for the filler file")
    th = DiskThresholds.from_values(warning=free0 - GIB, critical=free0 - 3 * GIB // 2, halt=free0 - 2 * GIB)
    mon = DiskPressureMonitor(tmp_path, th, interval_s=0.02)
    changes: list[tuple[DiskLevel, DiskLevel]] = []
    halted, normal = threading.Event(), threading.Event()

    def hook(old, new, free):
        changes.append((old, new))
        (halted if new == DiskLevel.HALT else normal if new == DiskLevel.NORMAL else threading.Event()).set()

    mon.add_hook(hook)
    wal = tmp_path / "wal" / "d"
    filler = tmp_path / "filler.bin"
    with mon, WALFirstWriter(wal, WALConfig(fsync="batch"), monitor=mon) as w:
        assert mon.level == DiskLevel.NORMAL
        written = [i for i in range(100) if w.write("audit.gateway_decisions", decision(i))]
        assert len(written) == 100
        fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            os.posix_fallocate(fd, 0, 4 * GIB)
        finally:
            os.close(fd)
        try:
            assert halted.wait(10), f"no HALT: {changes}"
            refused = [i for i in range(100, 200) if not w.write("audit.gateway_decisions", decision(i))]
            assert len(refused) == 100
            assert w.stats.data_loss_events == 100 and w.stats.records_refused == 100
        finally:
            filler.unlink()
        assert normal.wait(10), f"no return to NORMAL: {changes}"
        resumed = [i for i in range(200, 250) if w.write("audit.gateway_decisions", decision(i))]
        assert len(resumed) == 50
    # The filler can be allocated progressively (overlay / shared disks), so the monitor may pass through
    # WARNING/CRITICAL on the way: levels only worsen until HALT, and the run ends back at NORMAL.
    seen = [new for _old, new in changes]
    first_halt = seen.index(DiskLevel.HALT)
    assert seen[:first_halt + 1] == sorted(seen[:first_halt + 1]), changes
    assert seen[-1] == DiskLevel.NORMAL, changes
    frames = []
    for _no, path in wf.list_segments(wal):
        base, data = wf.read_segment(path)
        res = wf.scan_buffer(data, base, base=base)
        assert res.status == "ok"
        frames += res.frames
    assert sum(f.n_records for f in frames) == 150


# --- 5. corrupt middle segment, and a SQL error ------------------------------------------------------------
def test_corrupt_middle_frame_is_quarantined_the_rest_loads_and_sql_error_one_line(tmp_path):
    home = tmp_path
    wal = home / "wal" / "c"
    with WALFirstWriter(wal, WALConfig(fsync="never", segment_bytes=32 * 1024)) as w:
        for b in range(30):
            w.write_many("sim.fills", [fill(b * 100 + i) for i in range(100)])
    segs = wf.list_segments(wal)
    assert len(segs) >= 4
    _no, path = segs[len(segs) // 2]
    base, data = wf.read_segment(path)
    fr = wf.scan_buffer(data, base, base=base).frames[1]
    buf = bytearray(path.read_bytes())
    buf[fr.payload_offset + 5] ^= 0x01
    path.write_bytes(bytes(buf))
    p = hft(home, "audit", "load", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["records_loaded"] == 3000 - fr.n_records
    [q] = out["quarantined"]
    assert (q["segment"], q["offset"]) == (path.name, fr.offset) and "CRC mismatch" in q["reason"]
    assert p.stderr.startswith(f"warning: {path.name}: {fr.end - fr.offset} bad bytes at offset {fr.offset}")
    p = hft(home, "audit", "query", "SELECT count() AS n FROM sim.fills", "--json")
    assert json.loads(p.stdout)["rows"] == [{"n": 3000 - fr.n_records}]
    p = hft(home, "audit", "load", "--json")  # nothing left, nothing quarantined twice
    assert p.returncode == 0 and json.loads(p.stdout)["records_loaded"] == 0 and "warning" not in p.stderr
    p = hft(home, "audit", "query", "SELECT * FROM sim.fills WHERE")
    assert p.returncode == 15 and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and p.stderr.startswith("error: query failed:")


# --- loading while a writer appends --------------------------------------------------------------------------
def test_load_while_the_writer_appends_then_drain_loses_nothing(tmp_path):
    home = tmp_path
    stop = threading.Event()
    written = [0]

    def produce():
        with open_writer("live", home=home, config=WALConfig(fsync="never", segment_bytes=64 * 1024)) as w:
            while not stop.is_set():
                assert w.write_many("sim.fills", [fill(written[0] + i) for i in range(50)])
                written[0] += 50
                time.sleep(0.001)  # at most ~50k records/s: what is drained after stays bounded on a slow machine

    t = threading.Thread(target=produce)
    t.start()
    try:
        time.sleep(0.3)
        p = hft(home, "audit", "load", "--json")  # races with appends and rotations
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["records_loaded"] > 0
    finally:
        stop.set()
        t.join()
    got = ids_and_counts(home, ["sim.fills"], load_first=True)["sim.fills"]
    assert got["count"] == got["raw"] == got["uniq"] == written[0]


# --- several loaders sharing WAL directories through NATS KV leases; one SIGKILLed mid-batch ---------------
SHIM = ROOT / "tests" / "unit" / "store" / "_chdb_http_shim.py"


class Shim:
    """The ClickHouse HTTP protocol in front of chDB (`_chdb_http_shim.py`) as a process: several loader processes
    write one store through it, and it can be stopped (SIGSTOP) like a server that stops answering."""

    def __init__(self, data_dir: Path, delay_file: Path | None = None) -> None:
        port = closed_port()
        self.proc = subprocess.Popen([sys.executable, str(SHIM), str(data_dir), str(port),
                                      *([str(delay_file)] if delay_file else [])], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        self.url = f"http://default:@127.0.0.1:{port}"

    def close(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait()


SHARED_LOADER = textwrap.dedent("""
    import json, sys, time
    from hft.bus.lease import ShardLeases
    from hft.recorder.loader import WALLoader
    from hft.store.store import open_store
    bus, holder, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    n = 0
    def hook(table):
        global n
        n += 1
        print(json.dumps({"n": n, "key": loader._key, "t": time.time()}), flush=True)
        time.sleep(delay)
    with ShardLeases(bus, holder=holder, ttl_s=3.0, renew_s=0.6) as leases, open_store(timeout_s=30) as s:
        loader = WALLoader(s, batch_rows=2000, leases=leases, claim_poll_s=0.2)
        loader._after_insert_hook = hook
        loader.load()
""")


def _write_shards(home: Path, names: list[str], per_topic: int) -> None:
    for name in names:
        with open_writer(name, home=home, config=WALConfig(fsync="never", segment_bytes=256 * 1024),
                         id_namespace=f"drill-{name}") as w:
            for k in range(0, per_topic, 500):
                w.write_many("sim.fills", [fill(k + i) for i in range(500)])
                w.write_many("audit.gateway_decisions", [decision(k + i) for i in range(500)])


def _disjoint(intervals: list[tuple[float, float, str]]) -> bool:
    s = sorted(intervals)
    return all(a[1] <= b[0] for a, b in itertools.pairwise(s))


def test_several_loaders_share_wal_dirs_by_lease_one_sigkilled_mid_batch_every_record_once(tmp_path):
    from hft.bus.embedded import EmbeddedNats
    from hft.recorder.loader import shard_key

    home, ref = tmp_path / "home", tmp_path / "ref"
    names, per_topic = ["a", "b", "c", "d"], 12_000
    _write_shards(home, names, per_topic)
    shutil.copytree(home, ref)
    keys = {shard_key(home / "wal" / n): n for n in names}
    tables = ["sim.fills", "audit.gateway_decisions"]
    nats = EmbeddedNats(tmp_path / "nats").start()
    shim = Shim(tmp_path / "shim-db")
    env = env_for(home, shim.url)
    try:
        victim = subprocess.Popen([sys.executable, "-c", SHARED_LOADER, nats.url, "victim", "0.25"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = json.loads(victim.stdout.readline())  # it holds a directory and inserted into it
        survivors = [subprocess.Popen([str(HFT), "audit", "load", "--workers-bus", nats.url, "--lease-ttl", "3",
                                       "--batch-rows", "2000", "--store-timeout", "30", "--json"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=home)
                     for _ in range(2)]
        launched = time.time()
        events = [first]
        for line in victim.stdout:  # killed after the first table of a batch went in: mid-batch
            events.append(json.loads(line))
            # once the survivors had time to start and claim the other directories
            if events[-1]["t"] > launched + 1.5 and events[-1]["n"] % 2 == 1:
                victim.send_signal(signal.SIGKILL)
                break
        victim.wait()
        assert victim.returncode == -signal.SIGKILL
        killed_at = time.time()
        victim_key = events[0]["key"]
        assert {e["key"] for e in events} == {victim_key}
        pending = read_manifest(home / "wal" / keys[victim_key]).get("pending")
        assert pending is not None, "killed between batches, not mid-batch"
        reports = []
        for p in survivors:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
            reports.append(json.loads(out))
        got = ids_and_counts(home, tables, url=shim.url)
    finally:
        shim.close()
        nats.stop()
    # every directory loaded; the victim's taken over after its lease aged out, from its pending batch
    claims = [c for r in reports for c in r["claims"]]
    assert {c["key"] for c in claims if c["records"]} | {victim_key} == set(keys)
    takeover = [c for c in claims if c["key"] == victim_key and c["records"]]
    assert len(takeover) == 1 and takeover[0]["claimed_at"] > events[-1]["t"]
    assert takeover[0]["claimed_at"] >= killed_at - 0.5  # not before the victim died (its lease was alive)
    assert takeover[0]["claimed_at"] < killed_at + 3.0 + 5.0  # once its entry aged out (--lease-ttl 3), not later
    assert sum(r["redone_pending_batches"] for r in reports) == 1
    # no directory held by two loaders at once: the victim's inserts, then each survivor's claim, apart in time
    for key in keys:
        spans = [(c["claimed_at"], c["released_at"], c["holder"]) for c in claims if c["key"] == key]
        if key == victim_key:
            spans.append((events[0]["t"], events[-1]["t"], "victim"))
        assert _disjoint(spans), (key, spans)
    # exactly once, record by record: the ids of a clean single load of the same WAL
    clean = ids_and_counts(ref, tables, load_first=True)
    for t in tables:
        assert got[t]["count"] == got[t]["uniq"] == len(names) * per_topic
        assert got[t]["raw"] == got[t]["count"], "a re-inserted block was not dropped by insert deduplication"
        assert got[t]["ids"] == clean[t]["ids"]
    assert backlog(home=home)["records"] == 0


# --- the store slow: a server that stops answering (SIGSTOP), or answers past the timeout ----------------------
SERVICE_CONFIG = ROOT / "tests" / "service" / "gateway_service.yaml"
SERVICE_SECRET = "test-secret-0123456789abcdef-0123456789"


def _metrics(srv) -> dict[str, float]:
    _, text = srv.request("GET", "/metrics")
    return {k: float(v) for k, _, v in (ln.rpartition(" ") for ln in text.splitlines() if ln and ln[0] != "#")}


@pytest.mark.parametrize("how", ["stopped", "answers_past_the_timeout"])
def test_store_slow_loader_times_out_retries_writer_never_waits_then_every_record_once(tmp_path, how):
    from hft.live.auth import mint
    from hft.live.service_process import ServiceProcess
    from hft.recorder.topics import TOPICS_BY_ID

    home, ref = tmp_path / "home", tmp_path / "ref"
    _write_shards(home, ["bulk"], 16_000)  # a backlog the load is in the middle of when the store goes slow
    delay = tmp_path / "shim-delay"
    delay.write_text("0")
    shim = Shim(tmp_path / "shim-db", delay)
    srv = ServiceProcess(home, SERVICE_CONFIG, secret=SERVICE_SECRET, command=[str(HFT)],
                         env={"HFT_CLICKHOUSE_URL": shim.url}).start()
    tok = mint(SERVICE_SECRET, "tester", ["ACC1"], ["mm1"], 3600.0)

    def orders(first: int, n: int) -> float:
        """POST n durable orders; the slowest answer's seconds."""
        worst = 0.0
        for i in range(first, first + n):
            t0 = time.perf_counter()
            code, _ = srv.request("POST", "/orders", {"client_order_id": f"o-{i}", "account": "ACC1",
                                                      "strategy": "mm1", "symbol": "AAPL", "side": "buy",
                                                      "price": 10000, "qty": 1}, tok, {"Idempotency-Key": f"o-{i}"})
            assert code == 201
            worst = max(worst, time.perf_counter() - t0)
        return worst

    try:
        orders(0, 10)
        loader = subprocess.Popen([str(HFT), "audit", "load", "--batch-rows", "2000", "--store-timeout", "1",
                                   "--retry-for", "120", "--keep-segments", "--json"], env=env_for(home, shim.url), cwd=home,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while read_manifest(home / "wal" / "bulk")["loaded"]["records"] < 4000 and time.monotonic() < deadline:
            time.sleep(0.01)
        if how == "stopped":
            shim.proc.send_signal(signal.SIGSTOP)  # a server that stops answering, its socket still open
        else:
            delay.write_text("3")  # each answer 3 s late, past --store-timeout 1
        stalled_at = read_manifest(home / "wal" / "bulk")["loaded"]["records"]
        time.sleep(1.1)  # the service walks its backlog at most once a second
        m0 = _metrics(srv)
        worst = orders(10, 40)  # the writer goes on meanwhile
        time.sleep(1.1)
        m1 = _metrics(srv)
        assert worst < 2.0, f"an order waited {worst:.2f} s: the writer waits on the store"
        assert m1["gateway_wal_backlog_records"] > m0["gateway_wal_backlog_records"] > 0
        assert m1["gateway_wal_replay_lag_seconds"] > 0
        time.sleep(3)
        assert loader.poll() is None, loader.stderr.read()  # still retrying, not failed
        assert read_manifest(home / "wal" / "bulk")["loaded"]["records"] <= stalled_at + 2000  # no progress
        if how == "stopped":
            shim.proc.send_signal(signal.SIGCONT)
        else:
            delay.write_text("0.05")  # slow, but within the timeout
        out, err = loader.communicate(timeout=180)
        assert loader.returncode == 0, err
        first = json.loads(out)
        assert first["retries"] >= 2 and "retrying in" in err
        # what the service wrote during and after the first load's scan: a second load drains it
        p = hft(home, "audit", "load", "--keep-segments", "--json", url=shim.url)
        assert p.returncode == 0, p.stderr
        time.sleep(1.1)
        m2 = _metrics(srv)
        assert m2["gateway_wal_backlog_records"] == 0 and m2["gateway_wal_load_rows_per_second"] > 0
    finally:
        srv.stop()
        shim.proc.send_signal(signal.SIGCONT)
    tables = [t.name for t in TOPICS_BY_ID.values()]
    try:
        p = hft(home, "audit", "load", "--keep-segments", "--json", url=shim.url)  # the clean stop's last records
        assert p.returncode == 0, p.stderr
        got = ids_and_counts(home, tables, url=shim.url)
    finally:
        shim.close()
    assert backlog(home=home)["records"] == 0
    # the oracle: every segment kept, loaded afresh (no manifest: from the start) into an embedded store
    shutil.copytree(home / "wal", ref / "wal", ignore=shutil.ignore_patterns("manifest.json", "*.lock"))
    clean = ids_and_counts(ref, tables, load_first=True)
    written = sum(read_manifest(d)["loaded"]["records"] for d in wal_dirs(home))
    assert sum(got[t]["count"] for t in tables) == written > 16_000 * 2
    for t in tables:
        assert got[t]["raw"] == got[t]["uniq"] == got[t]["count"], t  # nothing twice, not even in raw rows
        assert got[t]["ids"] == clean[t]["ids"], t
