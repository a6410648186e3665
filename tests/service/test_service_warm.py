"""The single `hft gateway serve` compiles its order path before its ready line (`hft.live.server.warm`: two orders
through a throwaway copy of itself, under a temporary directory). As a user sees it: the ready line says so, the
real WAL and venue journal hold no trace of the warm-up (the first real order gets the first order id, the WAL's
records are the real order's alone), the temporary directory is gone and the first order is answered. A SIGTERM
during the warm-up stops it and deletes its directory; one a process could not delete (a second signal while a
kernel compiles) goes at the next start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from svckit import CONFIG, SECRET, free_port, order, token

from hft.core.fileio import temp_prefix
from hft.live.order_ids import BLOCK
from hft.recorder.reader import iter_records

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

# `hft gateway serve` whose warm-up holds at its first order (the file $WARM_MARK says it got there), as a cold
# numba cache holds it for seconds: at an await ($WARM_HOLD=await, where a warm-up step ends) or in a blocking
# call (=compile: a kernel compiling, which nothing interrupts). The service is the real one, the hold aside.
HELD_WARM_UP = textwrap.dedent("""
    import asyncio, os, sys, time
    import hft.live.warm as warm

    post = warm._post

    async def held(*args):
        open(os.environ["WARM_MARK"], "w").close()
        if os.environ["WARM_HOLD"] == "compile":
            time.sleep(60)
        else:
            await asyncio.sleep(600)
        return await post(*args)

    warm._post = held
    from hft.cli.app import main
    sys.argv = ["hft", *sys.argv[1:]]
    main()
""")


def test_the_warm_up_leaves_no_trace_and_the_first_order_is_answered(server_factory, tmp_path):
    scratch = tmp_path / "tmp"  # the server's TMPDIR: where the throwaway service lived
    scratch.mkdir()
    srv = server_factory(env={"TMPDIR": str(scratch)}).start()
    assert "order path warmed in" in srv.ready_line, srv.ready_line
    assert list(scratch.iterdir()) == []
    assert srv.journal() == []  # the venue heard nothing yet

    status, body = srv.request("POST", "/orders", order("real-1"), token(), headers={"Idempotency-Key": "k1"})
    assert status == 201 and body["accepted"] and body["order_id"] == 1, body
    assert srv.stop() == 0

    journal = srv.journal()  # the real order's command and its two reports (accepted, filled)
    assert [(ln["ev"], ln["order_id"]) for ln in journal] == [("cmd", 1), ("report", 1), ("report", 1)], journal
    records = list(iter_records(srv.home / "wal" / "gateway-live"))
    decisions = [rec for topic, rec in records if topic == "audit.gateway_decisions"]
    assert [(d["order_id"], json.loads(d["details"])["client_order_id"]) for d in decisions] == [(1, "real-1")]
    # the order ids' reservation (hft.live.order_ids): a block ahead of the first order, lowered to it at the stop
    ids = [(rec["source"], rec["order_id"]) for _, rec in records if rec.get("source", "").startswith("ids:")]
    assert ids == [("ids:reserve", 1 + BLOCK), ("ids:reserve", 1)], ids
    # every other record (the reports' sim.orders rows, the fill) is the real order's
    assert {rec.get("order_id") for _, rec in records if not rec.get("source", "").startswith("ids:")} == {1}, records
    assert all("warm" not in json.dumps(rec, default=str) for _, rec in records)  # the warm-up's ids are warm-*


def test_a_port_in_use_is_one_line_and_leaves_the_wal_free(server_factory):
    # the port is bound before the warm-up (the error comes at once, not after it) and the WAL's lock released
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        srv = server_factory()
        srv.port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="server did not start"):
            srv.start()
        assert srv.proc.returncode not in (0, None)
        err = srv.log.read_text().strip().splitlines()
        assert err == [f"error: server: cannot listen on 127.0.0.1:{srv.port}: Address already in use"], err
    again = server_factory(home=srv.home).start()  # the same WAL directory: its lock was released
    assert again.stop() == 0


def _held_server(tmp_path, hold: str) -> tuple[subprocess.Popen, os.PathLike]:
    """The held service of HELD_WARM_UP, started and held in its warm-up (its TMPDIR: tmp_path / "tmp")."""
    mark = tmp_path / "warming"
    env = {**os.environ, "HFT_HOME": str(tmp_path / "home"), "HFT_JWT_SECRET": SECRET, "TMPDIR": str(tmp_path / "tmp"),
           "HFT_GATEWAY_PORT": str(free_port()), "WARM_MARK": str(mark), "WARM_HOLD": hold}
    env.pop("HFT_DEBUG", None)
    p = subprocess.Popen([sys.executable, "-c", HELD_WARM_UP, "gateway", "serve", "--config", str(CONFIG)],
                         stdout=subprocess.DEVNULL, stderr=open(tmp_path / "err.txt", "wb"), env=env)  # noqa: SIM115
    end = time.monotonic() + 120
    while not mark.exists() and p.poll() is None and time.monotonic() < end:
        time.sleep(0.02)
    assert mark.exists(), (tmp_path / "err.txt").read_text()
    return p, tmp_path / "err.txt"


def test_sigterm_during_the_warm_up_stops_it_and_deletes_its_directory(tmp_path):
    (tmp_path / "tmp").mkdir()
    p, err = _held_server(tmp_path, "await")
    try:
        warming = [x.name for x in (tmp_path / "tmp").iterdir()]
        assert len(warming) == 1 and warming[0].startswith(f"hft-warm-{p.pid}-"), warming
        p.send_signal(signal.SIGTERM)
        code = p.wait(30)  # the warm-up stops at its next step: not after its orders (here held for 600 s)
    finally:
        p.kill()
        p.wait(10)
    assert code == 128 + signal.SIGTERM, err.read_text()
    assert err.read_text().strip().splitlines() == ["error: interrupted by SIGTERM"]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_warm_up_directory_a_dead_process_left_goes_at_the_next_start(server_factory, tmp_path):
    # held in a "compile" (no step ends), SIGTERM waits for it; SIGTERM again a while later exits at once,
    # leaving the warm-up's directory, which the next start removes (a live process's stays)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    p, err = _held_server(tmp_path, "compile")
    try:
        p.send_signal(signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(1.5)
        p.send_signal(signal.SIGTERM)
        code = p.wait(10)
    finally:
        p.kill()
        p.wait(10)
    assert code == 128 + signal.SIGTERM, err.read_text()
    assert "error: interrupted by SIGTERM, then SIGTERM again: exited at once, cleanup skipped" in err.read_text()
    left = [x.name for x in scratch.iterdir()]
    assert len(left) == 1 and left[0].startswith(f"hft-warm-{p.pid}-"), left
    live = scratch / (temp_prefix("hft-warm-") + "x")  # this process's: alive
    live.mkdir()
    srv = server_factory(env={"TMPDIR": str(scratch)}).start()
    assert srv.stop() == 0
    assert [x.name for x in scratch.iterdir()] == [live.name]
