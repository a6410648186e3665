"""Security of the real `hft gateway serve` on a loopback port: TLS on HTTP and the TCP intake (real handshakes,
certificates made by ``openssl``), certificates reloaded on SIGHUP, mutual TLS, token revocation (over the admin
route, kept across a SIGKILL; the deny-list pruned once its tokens expired), short-lived tokens, and /metrics and
/health behind a token."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from svckit import CONFIG, HFT, SECRET, Server, order, token

from hft.live.auth import mint
from hft.live.client import TcpIntakeError, TcpOrderClient
from hft.live.tls import cert_fingerprint, client_context
from hft.recorder.reader import iter_records
from tests.tlskit import Pki, make_pki

pytestmark = pytest.mark.slow  # starts the service as a process


def _config(tmp: Path, **server: Any) -> Path:
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["server"].update(server)
    out = tmp / "gateway.yaml"
    out.write_text(yaml.safe_dump(cfg))
    return out




def _https(port: int, method: str, path: str, ctx: ssl.SSLContext | None, tok: str | None = None,
           body: Any = None) -> tuple[int, Any]:
    conn = (http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx) if ctx is not None
            else http.client.HTTPConnection("127.0.0.1", port, timeout=10))
    try:
        h = {"Authorization": f"Bearer {tok}"} if tok else {}
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=h)
        r = conn.getresponse()
        raw = r.read()
        return r.status, json.loads(raw) if "json" in r.getheader("content-type", "") else raw.decode()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_tls_on_http_and_tcp(tmp_path, pki, server_factory):
    cfg = _config(tmp_path, tls_cert=str(pki.server_cert), tls_key=str(pki.server_key))
    srv = server_factory("--tcp-port", "0", config=cfg).start()
    assert f"https://127.0.0.1:{srv.port}" in srv.ready_line and "tls://" in srv.ready_line
    tok = token()
    good = client_context(str(pki.ca))
    code, body = _https(srv.port, "POST", "/v3/orders", good, tok, order("tls-1"))
    assert code == 201 and body["accepted"] is True
    with pytest.raises((http.client.HTTPException, OSError)):  # plain HTTP to a TLS port: no answer
        _https(srv.port, "GET", "/health", None)
    with pytest.raises(ssl.SSLCertVerificationError):  # a CA that did not sign the server's certificate
        _https(srv.port, "GET", "/health", client_context(str(pki.other_ca)))

    port = srv.tcp_port()
    with TcpOrderClient("127.0.0.1", port, tok, ca=str(pki.ca)) as c:
        assert c.order("tls-2", "ACC1", "mm1", "AAPL", "buy", 5, 10000)["status"] == 201
    with pytest.raises((TcpIntakeError, OSError)):  # a plain HELLO is no ClientHello
        TcpOrderClient("127.0.0.1", port, tok, timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):
        TcpOrderClient("127.0.0.1", port, tok, ca=str(pki.other_ca))

    # the CLI's client of the admin routes over TLS
    out = subprocess.run([str(HFT), "gateway", "limits-diff", str(cfg), "--url", f"https://127.0.0.1:{srv.port}",
                          "--ca", str(pki.ca), "--token", token(admin=True)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "no limit differs" in out.stdout, out


def test_mutual_tls_refuses_a_client_without_a_certificate(tmp_path, pki, server_factory):
    cfg = _config(tmp_path, tls_cert=str(pki.server_cert), tls_key=str(pki.server_key),
                  tls_client_ca=str(pki.ca))
    srv = server_factory("--tcp-port", "0", config=cfg).start()
    tok = token()
    with pytest.raises((ssl.SSLError, OSError, http.client.HTTPException)):  # TLS 1.3: refused at the first read
        _https(srv.port, "GET", "/positions", client_context(str(pki.ca)), tok)
    with_cert = client_context(str(pki.ca), str(pki.client_cert), str(pki.client_key))
    assert _https(srv.port, "GET", "/positions", with_cert, tok)[0] == 200

    port = srv.tcp_port()
    with pytest.raises((TcpIntakeError, ssl.SSLError, OSError)):
        TcpOrderClient("127.0.0.1", port, tok, ca=str(pki.ca), timeout=5)
    with TcpOrderClient("127.0.0.1", port, tok, ca=str(pki.ca), cert=str(pki.client_cert),
                        key=str(pki.client_key)) as c:
        assert c.grant["subject"] == "tester"


def test_a_missing_certificate_is_one_line_naming_its_key(tmp_path, pki):
    cfg = _config(tmp_path, tls_cert=str(tmp_path / "nope.pem"), tls_key=str(pki.server_key))
    srv = Server(tmp_path / "home", config=cfg)
    with pytest.raises(RuntimeError):
        srv.start(timeout=60)
    err = srv.log.read_text()
    assert "key 'server.tls_cert': expected a readable PEM file" in err and "nope.pem" in err
    assert srv.proc.returncode == 11


def test_revoked_token_is_refused_on_http_and_on_an_open_tcp_connection_and_after_a_restart(tmp_path,
                                                                                            server_factory):
    cfg = _config(tmp_path, jwt_max_lifetime="2h", metrics_auth=True)
    srv = server_factory("--tcp-port", "0", config=cfg).start()
    admin = token(admin=True)
    tok = mint(SECRET, "trader", ["ACC1"], ["mm1"], 3600, jti="trader-1")
    assert srv.request("GET", "/positions", token=tok)[0] == 200
    tcp = TcpOrderClient("127.0.0.1", srv.tcp_port(), tok)
    assert tcp.order("rv-1", "ACC1", "mm1", "AAPL", "buy", 5, 10000)["status"] == 201

    assert srv.request("POST", "/admin/tokens/revoke", {"jti": "trader-1"}, token=tok)[0] == 403
    code, body = srv.request("POST", "/admin/tokens/revoke", {"jti": "trader-1", "reason": "leaked"}, token=admin)
    assert code == 200 and body["before"] == "active" and body["after"] == "revoked"
    code, body = srv.request("GET", "/positions", token=tok)
    assert code == 401 and body["error"] == "UNAUTHORIZED" and "revoked" in body["reason"]
    ans = tcp.recv()  # at once, not at its next frame
    assert ans["type"] == "error" and ans["status"] == 401 and ans["error"] == "TOKEN_REVOKED"
    with pytest.raises((TcpIntakeError, OSError)):
        tcp.recv()
    tcp.close()
    with pytest.raises(TcpIntakeError, match="401"):
        TcpOrderClient("127.0.0.1", srv.tcp_port(), tok)
    assert "trader-1" in srv.request("GET", "/admin/tokens/revoked", token=admin)[1]

    srv.kill9()  # the revocation is in the WAL
    srv.start()
    assert srv.request("GET", "/positions", token=tok)[0] == 401
    assert srv.request("GET", "/positions", token=token())[0] == 200  # another token is not affected
    code, body = srv.request("POST", "/admin/tokens/revoke", {"jti": "trader-1", "revoked": False}, token=admin)
    assert code == 200 and body["after"] == "active"
    assert srv.request("GET", "/positions", token=tok)[0] == 200
    assert srv.request("POST", "/admin/tokens/revoke", {"jti": ""}, token=admin)[1]["field"] == "jti"

    # short-lived tokens: a lifetime (exp - iat) above server.jwt_max_lifetime is refused
    code, body = srv.request("GET", "/positions", token=token(ttl=3 * 3600))
    assert code == 401 and "jwt_max_lifetime" in body["reason"]

    # metrics_auth: /metrics needs a token; /health answers its status alone without one
    assert srv.request("GET", "/metrics")[0] == 401
    assert srv.request("GET", "/metrics", token=tok)[0] == 200
    code, body = srv.request("GET", "/health")
    assert code == 200 and body == {"status": "ok", "ready": True}
    code, body = srv.request("GET", "/health", token=tok)
    assert code == 200 and "wal" in body
    assert srv.request("GET", "/health", token="not-a-jwt")[0] == 401


def _deny_list(srv: Server) -> dict[str, Any]:
    code, body = srv.request("GET", "/admin/tokens/revoked", token=token(admin=True))
    assert code == 200, body
    return body


def test_the_deny_list_drops_an_entry_once_its_token_expired_and_a_restart_gives_the_same_list(tmp_path,
                                                                                                server_factory):
    srv = server_factory(config=_config(tmp_path, jwt_leeway=1)).start()
    admin = token(admin=True)
    seen = mint(SECRET, "trader", ["ACC1"], ["mm1"], 3600, jti="seen-1")
    assert srv.request("GET", "/positions", token=seen)[0] == 200  # the service knows its exp from here on
    exp_seen = int(jwt.decode(seen, options={"verify_signature": False})["exp"])
    short_exp = int(time.time()) + 2
    answers = [srv.request("POST", "/admin/tokens/revoke", body, token=admin)[1] for body in (
        {"jti": "seen-1"},  # exp: the verified token's
        {"jti": "short-1", "exp": short_exp},  # exp: the body's
        {"jti": "unknown-1"})]  # no exp known: kept until lifted
    assert [a["exp"] for a in answers] == [exp_seen, short_exp, None]
    assert srv.request("POST", "/admin/tokens/revoke", {"jti": "x", "exp": -5}, token=admin)[1]["field"] == "exp"
    assert sorted(_deny_list(srv)) == ["seen-1", "short-1", "unknown-1"]
    assert srv.metrics()["gateway_revoked_tokens"] == 3

    end = time.time() + 15  # short-1 goes at its exp + server.jwt_leeway (1 s)
    while "short-1" in _deny_list(srv):
        assert time.time() < end, _deny_list(srv)
        time.sleep(0.2)
    assert time.time() >= short_exp + 1
    kept = _deny_list(srv)
    assert sorted(kept) == ["seen-1", "unknown-1"] and kept["seen-1"]["exp"] == exp_seen
    assert srv.metrics()["gateway_revoked_tokens"] == 2
    assert srv.request("GET", "/positions", token=seen)[0] == 401  # still refused

    srv.kill9()  # the snapshot taken at the start + the WAL's revoke and revoke_prune controls
    srv.start()
    assert _deny_list(srv) == kept
    srv.stop()
    rows = [(r["key"], r["from_state"], r["to_state"], r["reason"]) for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == "token"]
    assert rows[-1] == ("short-1", "revoked", "expired", "token_expired") and len(rows) == 4, rows


def _served(port: int, ca: Path) -> str:
    """The SHA-256 fingerprint of the certificate a new TLS client is shown on `port`."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            client_context(str(ca)).wrap_socket(raw, server_hostname="127.0.0.1") as s:
        return "sha256:" + hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def test_sighup_reloads_the_certificates_for_new_connections_and_keeps_the_old_on_a_bad_file(tmp_path, pki,
                                                                                               server_factory):
    new = make_pki(tmp_path / "new-pki")  # another CA: a client trusting only it proves which certificate it got
    live = tmp_path / "tls"
    live.mkdir()
    cert, key = live / "server.pem", live / "server.key"
    shutil.copy(pki.server_cert, cert)
    shutil.copy(pki.server_key, key)
    cfg = _config(tmp_path, tls_cert=str(cert), tls_key=str(key))
    srv = server_factory("--tcp-port", "0", config=cfg).start()
    old_fp, new_fp = cert_fingerprint(str(pki.server_cert)), cert_fingerprint(str(new.server_cert))
    assert _served(srv.port, pki.ca) == old_fp
    tok, admin = token(), token(admin=True)
    opened = TcpOrderClient("127.0.0.1", srv.tcp_port(), tok, ca=str(pki.ca))

    shutil.copy(new.server_cert, cert)  # rotated in place
    shutil.copy(new.server_key, key)
    diff = [str(HFT), "gateway", "limits-diff", str(cfg), "--url", f"https://127.0.0.1:{srv.port}", "--ca",
            str(pki.ca), "--token", admin]
    out = subprocess.run(diff, capture_output=True, text=True, timeout=60)  # the dry run shows it, applies nothing
    assert out.returncode == 0 and f"server.tls_cert: {old_fp} -> {new_fp} (a SIGHUP loads it)" in out.stdout, out
    assert _served(srv.port, pki.ca) == old_fp

    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_log(f"TLS certificate {cert} reloaded ({new_fp})")
    assert _served(srv.port, new.ca) == new_fp  # a new connection: the new certificate
    for port in (srv.port, srv.tcp_port()):
        with pytest.raises(ssl.SSLCertVerificationError):
            _served(port, pki.ca)
    assert opened.order("rot-1", "ACC1", "mm1", "AAPL", "buy", 5, 10000)["status"] == 201  # an open one keeps its
    opened.close()
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok, ca=str(new.ca)) as c:
        assert c.order("rot-2", "ACC1", "mm1", "AAPL", "buy", 5, 10000)["status"] == 201

    shutil.copy(pki.server_key, key)  # a key that is not the certificate's: refused, the one in use kept
    out = subprocess.run([*diff[:-4], "--ca", str(new.ca), "--token", admin], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and f"server.tls_cert: a SIGHUP keeps {new_fp}:" in out.stdout, out
    srv.proc.send_signal(signal.SIGHUP)
    log = srv.wait_log("TLS certificate in use kept")
    (line,) = [ln for ln in log.splitlines() if "TLS certificate in use kept" in ln]
    assert "key 'server.tls_key'" in line and "KEY_VALUES_MISMATCH" in line, line
    assert _served(srv.port, new.ca) == new_fp
    code, body = _https(srv.port, "POST", "/v3/orders", client_context(str(new.ca)), tok, order("rot-3"))
    assert code == 201 and body["accepted"] is True


def test_sighup_reloads_the_client_ca_of_mutual_tls(tmp_path, pki, server_factory):
    new = make_pki(tmp_path / "new-pki")
    client_ca = tmp_path / "clients-ca.pem"
    shutil.copy(pki.ca, client_ca)
    cfg = _config(tmp_path, tls_cert=str(pki.server_cert), tls_key=str(pki.server_key), tls_client_ca=str(client_ca))
    srv = server_factory(config=cfg).start()
    tok = token()
    old_client = client_context(str(pki.ca), str(pki.client_cert), str(pki.client_key))
    new_client = client_context(str(pki.ca), str(new.client_cert), str(new.client_key))
    assert _https(srv.port, "GET", "/positions", old_client, tok)[0] == 200
    with pytest.raises((ssl.SSLError, OSError, http.client.HTTPException)):
        _https(srv.port, "GET", "/positions", new_client, tok)

    shutil.copy(new.ca, client_ca)  # the clients' CA rotated
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_log("TLS certificate")
    assert _https(srv.port, "GET", "/positions", new_client, tok)[0] == 200
    with pytest.raises((ssl.SSLError, OSError, http.client.HTTPException)):  # the old CA is trusted no more
        _https(srv.port, "GET", "/positions", old_client, tok)
