"""TLS of the live service's listeners (HTTP and the TCP intake) and of its clients.

``server.tls_cert`` / ``server.tls_key`` (PEM: the certificate chain, the private key) turn TLS on for both
listeners; ``server.tls_client_ca`` (PEM: the CA that signs the clients' certificates) makes it mutual: a client
without a certificate that CA signed is refused in the handshake, before any request or frame is read. Without
them the listeners are plain TCP (the loopback default). TLS 1.2 at least; Python's default ciphers.

A missing or unreadable file, or a key that does not match its certificate, is the one-line `ConfigError` of the
key that names it, raised when the service starts (before the WAL or the port is opened).

The files are read again on SIGHUP (`ServerContext.reload`): each handshake from then on uses the new certificate,
key and client CA (the listeners' context hands every new connection the context read last, in its SNI callback,
which OpenSSL calls for every ClientHello, with or without a server name); connections already open keep theirs.
A file missing or refused then leaves the certificate in use (one line in the log naming the key). Turning TLS or
mutual TLS on or off needs a restart.
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
from typing import Any

from hft.core.errors import ConfigError

log = logging.getLogger("hft.live")


def _check_file(source: str, key: str, path: str) -> None:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise ConfigError(f"{source}: key 'server.{key}': expected a readable PEM file, was {path!r} "
                          f"({exc.strerror})", key=f"server.{key}") from None


class ServerContext(ssl.SSLContext):
    """The listeners' context (`server_context`): a new connection's handshake takes `current`, the context of the
    certificate files read last (`reload`)."""

    current: ssl.SSLContext

    def _pick(self, conn: Any, _server_name: str | None, _ctx: ssl.SSLContext) -> None:
        if self.current is not self:
            conn.context = self.current

    def reload(self, srv: Any, source: str = "<config>") -> bool:
        """Read `srv`'s ``tls_cert`` / ``tls_key`` / ``tls_client_ca`` again (SIGHUP): the next handshakes use
        them. A file missing or refused, or a change that needs a restart (TLS off, mutual TLS on or off), keeps the
        certificate in use and logs one line naming the key; False then."""
        mutual = self.verify_mode == ssl.CERT_REQUIRED
        try:
            if srv.tls_cert is None:
                raise ConfigError(f"{source}: key 'server.tls_cert': TLS off needs a restart", key="server.tls_cert")
            if (srv.tls_client_ca is not None) != mutual:
                raise ConfigError(f"{source}: key 'server.tls_client_ca': mutual TLS {'off' if mutual else 'on'} "
                                  "needs a restart", key="server.tls_client_ca")
            new = _context(srv, source)
        except ConfigError as exc:
            log.error("SIGHUP: TLS certificate in use kept: %s", exc.message)
            return False
        self.current = new
        log.warning("SIGHUP: TLS certificate %s reloaded (%s)", srv.tls_cert, cert_fingerprint(srv.tls_cert))
        return True


def cert_fingerprint(path: str) -> str:
    """``sha256:<hex>`` of the first certificate of PEM file `path` (its DER bytes, as ``openssl x509
    -fingerprint -sha256`` hashes it)."""
    with open(path) as f:
        m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", f.read(), re.S)
    if m is None:
        raise ValueError(f"{path}: expected a PEM certificate")
    return "sha256:" + hashlib.sha256(ssl.PEM_cert_to_DER_cert(m.group())).hexdigest()


def server_context(srv: Any, source: str = "<config>") -> ServerContext | None:
    """The listeners' context of a `ServerConfig` (None: plain TCP), its files read again by
    `ServerContext.reload`. `source`: the config file, for the error."""
    if srv.tls_cert is None:
        return None
    ctx = _context(srv, source, ServerContext)
    ctx.current = ctx
    ctx.sni_callback = ctx._pick
    return ctx


def _context(srv: Any, source: str, cls: type[ssl.SSLContext] = ssl.SSLContext) -> Any:
    """A server context of `srv`'s certificate files, or the one-line `ConfigError` of the key naming the file."""
    for key in ("tls_cert", "tls_key", "tls_client_ca"):
        if getattr(srv, key) is not None:
            _check_file(source, key, getattr(srv, key))
    ctx = cls(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(srv.tls_cert, srv.tls_key)
    except ssl.SSLError as exc:
        raise ConfigError(f"{source}: key 'server.tls_key': expected the private key of server.tls_cert "
                          f"({srv.tls_cert}) in PEM, was refused ({exc.reason or exc})", key="server.tls_key") from None
    if srv.tls_client_ca is not None:
        try:
            ctx.load_verify_locations(cafile=srv.tls_client_ca)
        except ssl.SSLError as exc:
            raise ConfigError(f"{source}: key 'server.tls_client_ca': expected PEM certificates, was refused "
                              f"({exc.reason or exc})", key="server.tls_client_ca") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(ca: str | None = None, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """A client's context: the server's certificate verified against `ca` (a PEM file; None: the system's
    trust store) and its host name checked; `cert` / `key`: the client's own certificate for mutual TLS."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx
