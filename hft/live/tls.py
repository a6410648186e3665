"""TLS of the live service's listeners (HTTP and the TCP intake) and of its clients.

``server.tls_cert`` / ``server.tls_key`` (PEM: the certificate chain, the private key) turn TLS on for both
listeners; ``server.tls_client_ca`` (PEM: the CA that signs the clients' certificates) makes it mutual: a client
without a certificate that CA signed is refused in the handshake, before any request or frame is read. Without
them the listeners are plain TCP (the loopback default). TLS 1.2 at least; Python's default ciphers.

A missing or unreadable file, or a key that does not match its certificate, is the one-line `ConfigError` of the
key that names it, raised when the service starts (before the WAL or the port is opened).
"""

from __future__ import annotations

import ssl
from typing import Any

from hft.core.errors import ConfigError


def _check_file(source: str, key: str, path: str) -> None:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise ConfigError(f"{source}: key 'server.{key}': expected a readable PEM file, was {path!r} "
                          f"({exc.strerror})", key=f"server.{key}") from None


def server_context(srv: Any, source: str = "<config>") -> ssl.SSLContext | None:
    """The listeners' context of a `ServerConfig` (None: plain TCP). `source`: the config file, for the error."""
    if srv.tls_cert is None:
        return None
    for key in ("tls_cert", "tls_key", "tls_client_ca"):
        if getattr(srv, key) is not None:
            _check_file(source, key, getattr(srv, key))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
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
