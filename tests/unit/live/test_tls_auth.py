"""The security settings read from the config (`hft.live.tls`, the ``server.tls_*`` keys, ``jwt_max_lifetime``), the
token checks of `hft.live.auth.Verifier` (lifetime cap, deny-list on every use), the connections a revocation or an
expiry ends (`hft.live.auth.OpenConnections`) and what a reload of the TLS files leaves to a restart."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from hft.core.errors import ConfigError
from hft.gateway.config import parse_config
from hft.live.auth import AuthError, Verifier, mint
from hft.live.limits_admin import restart_only
from hft.live.tls import server_context
from tests.tlskit import make_pki

SECRET = "unit-secret-0123456789abcdef-0123456789"


def _server(**kw):
    return parse_config({"server": kw}, "gw.yaml").server


@pytest.mark.parametrize("kw,key", [
    ({"tls_cert": "a.pem"}, "server.tls_key"),
    ({"tls_key": "a.key"}, "server.tls_cert"),
    ({"tls_client_ca": "ca.pem"}, "server.tls_cert"),
    ({"tls_cert": 5, "tls_key": "a.key"}, "server.tls_cert"),
    ({"jwt_max_lifetime": "0s"}, "server.jwt_max_lifetime"),
])
def test_bad_tls_and_lifetime_keys_are_one_line_naming_the_key(kw, key):
    with pytest.raises(ConfigError) as e:
        _server(**kw)
    assert f"key '{key}'" in e.value.message and "\n" not in e.value.message


def test_certificate_files_are_checked_when_the_context_is_made(tmp_path):
    pki = make_pki(tmp_path / "pki")
    assert server_context(_server()) is None  # no tls_*: plain
    ctx = server_context(_server(tls_cert=str(pki.server_cert), tls_key=str(pki.server_key),
                                 tls_client_ca=str(pki.ca)), "gw.yaml")
    assert ctx is not None and ctx.verify_mode.name == "CERT_REQUIRED"
    with pytest.raises(ConfigError, match=r"gw.yaml: key 'server.tls_client_ca': expected a readable PEM file"):
        server_context(_server(tls_cert=str(pki.server_cert), tls_key=str(pki.server_key),
                               tls_client_ca=str(tmp_path / "none.pem")), "gw.yaml")
    with pytest.raises(ConfigError, match=r"key 'server.tls_key': expected the private key of server.tls_cert"):
        server_context(_server(tls_cert=str(pki.server_cert), tls_key=str(pki.client_key)), "gw.yaml")


def test_the_lifetime_cap_and_the_deny_list():
    revoked: set[str] = set()
    v = Verifier(SECRET, max_lifetime_s=900, revoked=revoked)
    ok = mint(SECRET, "a", ["ACC1"], ["mm1"], 900, jti="t-1")
    assert v.verify(f"Bearer {ok}").jti == "t-1"
    with pytest.raises(AuthError, match="above the server's 900 s"):
        v.verify(f"Bearer {mint(SECRET, 'a', ['ACC1'], ['mm1'], 901)}")
    no_iat = jwt.encode({"sub": "a", "accounts": [], "strategies": [], "exp": int(time.time()) + 60}, SECRET,
                        algorithm="HS256")
    with pytest.raises(AuthError, match="expected 'iat'"):
        v.verify(f"Bearer {no_iat}")
    revoked.add("t-1")  # a token verified (and cached) before is refused at its next use
    with pytest.raises(AuthError, match="token revoked") as e:
        v.verify(f"Bearer {ok}")
    assert e.value.status == 401
    revoked.discard("t-1")
    assert v.verify(f"Bearer {ok}").subject == "a"
    assert mint(SECRET, "a", [], [], 60) != mint(SECRET, "a", [], [], 60)  # a fresh jti each


def test_open_connections_end_on_revocation_and_at_expiry():
    v = Verifier(SECRET, leeway_s=0.0)
    long_lived = v.verify(f"Bearer {mint(SECRET, 'a', ['ACC1'], ['mm1'], 3600, jti='t-1')}")
    brief = v.verify(f"Bearer {mint(SECRET, 'b', ['ACC1'], ['mm1'], 1, jti='t-2')}")
    assert v.exp_of("t-1") == long_lived.exp and v.exp_of("nope") is None
    ended: list[tuple[str, str, str]] = []

    async def main() -> None:
        conns = v.connections
        first = conns.open(long_lived, lambda e, r: ended.append(("first", e, r)))
        gone = conns.open(long_lived, lambda e, r: ended.append(("gone", e, r)))
        conns.open(brief, lambda e, r: ended.append(("brief", e, r)))
        gone()  # closed by its client: not ended again
        assert conns.end("t-1") == 1 and conns.end("t-1") == 0
        first()
        await asyncio.sleep(brief.exp - time.time() + 0.2)

    asyncio.run(main())
    assert [(w, e) for w, e, _ in ended] == [("first", "TOKEN_REVOKED"), ("brief", "TOKEN_EXPIRED")]
    assert ended[0][2] == "token revoked (jti 't-1')"


def test_a_reload_needs_a_restart_only_to_turn_tls_on_or_off(tmp_path):
    base = parse_config({"server": {"tls_cert": "a.pem", "tls_key": "a.key"}}, "gw.yaml")
    moved = parse_config({"server": {"tls_cert": "b.pem", "tls_key": "b.key"}}, "gw.yaml")
    off = parse_config({}, "gw.yaml")
    mutual = parse_config({"server": {"tls_cert": "a.pem", "tls_key": "a.key", "tls_client_ca": "ca.pem"}}, "gw.yaml")
    port = parse_config({"server": {"tls_cert": "b.pem", "tls_key": "b.key", "port": 9999}}, "gw.yaml")
    assert restart_only(base, moved) == []  # other files: read by the reload
    assert [restart_only(base, c) for c in (off, mutual, port)] == [["server"]] * 3
