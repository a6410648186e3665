"""The loopback venue keeps its resting orders across a restart of the service, as an exchange's book would: an
order resting before a SIGKILL is cancelled after the restart (canceled at the venue and at the gateway), not
refused CANCEL_REJECTED by a venue that forgot it while the gateway keeps it working forever."""

from __future__ import annotations

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
