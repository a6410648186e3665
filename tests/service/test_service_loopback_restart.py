"""The loopback venue keeps its resting orders across a restart of the service, as an exchange's book would: an
order resting before a SIGKILL is cancelled after the restart (canceled at the venue and at the gateway), not
refused CANCEL_REJECTED by a venue that forgot it while the gateway keeps it working forever."""

from __future__ import annotations

import shutil

from sigkit import wait_for
from svckit import Server, order, token


def test_an_order_resting_before_a_crash_is_cancelled_after_it(tmp_path):
    home = tmp_path / "home"
    srv = Server(home, "--loopback", "rest").start()
    tok = token()
    try:
        code, out = srv.request("POST", "/orders", order("rest-1", qty=2), tok, headers={"Idempotency-Key": "rest-1"})
        assert code == 201 and out["accepted"], out
        oid = out["order_id"]
        assert wait_for(lambda: srv.request("GET", f"/orders/{oid}", token=tok)[1]["status"] == "working")
    finally:
        srv.kill9()
    srv = Server(home, "--loopback", "rest").start()
    try:
        code, out = srv.request("POST", f"/orders/{oid}/cancel", {}, tok)
        assert code in (200, 201, 202) and out["accepted"], out
        assert wait_for(lambda: srv.request("GET", f"/orders/{oid}", token=tok)[1]["status"] == "canceled"), \
            srv.request("GET", f"/orders/{oid}", token=tok)[1]
        kinds = [e["kind"] for e in srv.journal() if e["ev"] == "report" and e["order_id"] == oid]
        assert kinds[-1] == 4  # REPORT_CANCELED, not 9 (CANCEL_REJECTED)
    finally:
        srv.stop()


def test_a_venue_position_the_gateway_lacks_is_reported_on_start(tmp_path):
    # the venue's journal kept, the gateway's WAL lost: reconciliation says the positions differ (and changes nothing)
    home = tmp_path / "home"
    srv = Server(home).start()
    tok = token()
    try:
        code, out = srv.request("POST", "/orders", order("pos-1", qty=3), tok, headers={"Idempotency-Key": "pos-1"})
        assert code == 201 and out["accepted"], out
        assert wait_for(lambda: srv.request("GET", f"/orders/{out['order_id']}", token=tok)[1]["status"] == "filled")
        assert srv.request("GET", "/health")[1]["recovery"]["positions_differ"] == 0
    finally:
        srv.stop()
    shutil.rmtree(home / "wal" / "gateway-live")
    (home / "wal" / "gateway-live-snapshot.pkl").unlink()
    srv = Server(home).start()
    try:
        assert srv.request("GET", "/health")[1]["recovery"]["positions_differ"] == 1
        assert "1 positions differ between the venue and the gateway, e.g. ACC1/mm1/AAPL: venue 3, gateway 0" in \
            srv.log.read_text()
    finally:
        srv.stop()
