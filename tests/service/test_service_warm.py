"""The single `hft gateway serve` compiles its order path before its ready line (`hft.live.server.warm`: two orders
through a throwaway copy of itself, under a temporary directory). As a user sees it: the ready line says so, the
real WAL and venue journal hold no trace of the warm-up (the first real order gets the first order id, the WAL's
records are the real order's alone), the temporary directory is gone and the first order is answered."""

from __future__ import annotations

import json
import socket

import pytest
from svckit import order, token

from hft.recorder.reader import iter_records


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
    # every other record (the reports' sim.orders rows, the fill) is the real order's
    assert {rec.get("order_id") for _, rec in records} == {1}, records
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
