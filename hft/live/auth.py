"""JWT HS256 bearer tokens for the order API.

A token names what it may trade as: ``accounts`` and ``strategies`` (lists of names; ``"*"`` = any), plus
``sub`` (who), ``iat``, ``exp`` and ``jti`` (the token's id: `mint` gives each a random one). A request for an
account / strategy the token does not list is 403; a missing, malformed, expired or badly signed token is 401,
and so is one whose ``jti`` is on the deny-list (``POST /admin/tokens/revoke``, kept by the WAL: `revoked`) or,
with ``server.jwt_max_lifetime``, one without ``iat`` or whose ``exp - iat`` is longer. ``exp``, ``iat`` and
``nbf`` are checked with ``server.jwt_leeway`` seconds of clock skew either way; the lifetime cap has none.

The connections that outlive a request (order streams, TCP intake connections) are held by `OpenConnections`
(``Verifier.connections``): a revocation ends those of its ``jti`` at once, and each ends by itself when its
token expires (``exp`` + ``server.jwt_leeway``).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"


class AuthError(Exception):
    """`status` 401 (who are you?) or 403 (not allowed); `reason` for the JSON body."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Grant:
    """What a verified token allows."""

    subject: str
    accounts: frozenset[str]
    strategies: frozenset[str]
    admin: bool = False  # may use the /admin routes (kill, reset, cancel, strategy modes)
    jti: str | None = None  # the token's id: what a revocation names
    exp: float | None = None  # the token's ``exp`` (seconds since the epoch)

    def allows(self, account: str, strategy: str | None = None) -> bool:
        ok_a = "*" in self.accounts or account in self.accounts
        return ok_a and (strategy is None or "*" in self.strategies or strategy in self.strategies)


def mint(secret: str, subject: str, accounts: list[str], strategies: list[str], ttl_s: float = 86400.0,
         admin: bool = False, jti: str | None = None) -> str:
    """A signed token for `subject` trading as `accounts` x `strategies` for `ttl_s` seconds; `jti`: its id (a
    random one by default)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "accounts": list(accounts), "strategies": list(strategies),
                              "iat": now, "exp": now + int(ttl_s), "jti": jti or secrets.token_hex(8)}
    if admin:
        claims["admin"] = True
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


#: what ends a connection before its client does: the token was revoked, or its ``exp`` (+ leeway) has passed
TOKEN_REVOKED, TOKEN_EXPIRED = "TOKEN_REVOKED", "TOKEN_EXPIRED"


class OpenConnections:
    """The connections open under each token that outlive a request (order streams, TCP intake): `end` ends those
    of a revoked token at once, and each ends by itself ``leeway_s`` after its token's ``exp``. A connection's
    ``end(error, reason)`` callback (`TOKEN_REVOKED` / `TOKEN_EXPIRED`, a sentence) says why; it is called on the
    event loop, at most once."""

    def __init__(self, leeway_s: float = 5.0) -> None:
        self.leeway_s = leeway_s
        self._by_jti: dict[str, set[Callable[[str, str], None]]] = {}

    def open(self, grant: Grant, end: Callable[[str, str], None]) -> Callable[[], None]:
        """Hold a connection of `grant` (on the event loop); returns what to call once it is closed."""
        timer = None
        if grant.exp is not None:
            at = grant.exp + self.leeway_s
            timer = asyncio.get_running_loop().call_later(
                max(0.0, at - time.time()), end, TOKEN_EXPIRED,
                f"token expired (exp {grant.exp:.0f} + server.jwt_leeway {self.leeway_s:g} s)")
        held = self._by_jti.setdefault(grant.jti, set()) if grant.jti is not None else None
        if held is not None:
            held.add(end)

        def closed() -> None:
            if timer is not None:
                timer.cancel()
            if held is not None:
                held.discard(end)
                if not held and self._by_jti.get(grant.jti) is held:  # type: ignore[arg-type]
                    del self._by_jti[grant.jti]  # type: ignore[arg-type]

        return closed

    def end(self, jti: str) -> int:
        """End every connection open under token `jti` (revoked); how many there were."""
        held = self._by_jti.pop(jti, set())
        for end in list(held):
            end(TOKEN_REVOKED, f"token revoked (jti {jti!r})")
        return len(held)

    def count(self) -> int:
        """Connections held (those of tokens with a ``jti``)."""
        return sum(len(s) for s in self._by_jti.values())


_NUMERIC_DATES = ("exp", "iat", "nbf")  # RFC 7519's NumericDate claims: JSON numbers


class Verifier:
    """Verifies bearer tokens; caches verified tokens until they expire (a token's signature is checked once; its
    ``jti`` against `revoked` on every use). `revoked`: the deny-list of token ids, read live (the service's
    `LiveGateway.revoked`); `max_lifetime_s`: the longest ``exp - iat`` accepted (None: any); `connections`: the
    long-lived connections of the tokens it verified (`OpenConnections`)."""

    def __init__(self, secret: str, leeway_s: float = 5.0, cache_size: int = 4096,
                 max_lifetime_s: float | None = None, revoked: Container[str] = frozenset()) -> None:
        self._secret = secret
        self._leeway = leeway_s
        self._cache: dict[str, tuple[Grant, float]] = {}
        self._cache_size = cache_size
        self.max_lifetime_s = max_lifetime_s
        self.revoked = revoked
        self.connections = OpenConnections(leeway_s)

    def check_revoked(self, grant: Grant) -> None:
        """`AuthError` 401 when `grant`'s token was revoked (also for a connection that verified it before)."""
        if grant.jti is not None and grant.jti in self.revoked:
            raise AuthError(401, f"token revoked (jti {grant.jti!r})")

    def exp_of(self, jti: str) -> float | None:
        """The ``exp`` of a token with id `jti` this verifier has verified and still caches (None: none seen)."""
        return max((g.exp for g, _ in self._cache.values() if g.jti == jti and g.exp is not None), default=None)

    def verify(self, authorization: str | None) -> Grant:
        if not authorization:
            raise AuthError(401, "missing bearer token (Authorization: Bearer <jwt>)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError(401, "expected 'Authorization: Bearer <jwt>'")
        hit = self._cache.get(token)
        if hit is not None and hit[1] > time.time():
            g = hit[0]
            if g.jti in self.revoked:  # inline `check_revoked` (every request of a cached token passes here)
                self.check_revoked(g)
            return g
        try:
            claims: dict[str, Any] = jwt.decode(token, self._secret, algorithms=[ALGORITHM], leeway=self._leeway,
                                                options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "token expired") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError(401, f"invalid token: {exc}") from None
        for name in _NUMERIC_DATES:  # PyJWT reads a numeric string ("exp": "1795844724") as the number
            if name in claims and type(claims[name]) not in (int, float):
                raise AuthError(401, f"invalid token: expected a number (seconds since the epoch) for '{name}', "
                                     f"was {type(claims[name]).__name__}")
        acc, strat = claims.get("accounts"), claims.get("strategies")
        if not (isinstance(acc, list) and isinstance(strat, list) and all(isinstance(x, str) for x in acc + strat)):
            raise AuthError(401, "invalid token: expected 'accounts' and 'strategies' lists of names")
        jti = claims.get("jti")
        if jti is not None and not isinstance(jti, str):
            raise AuthError(401, f"invalid token: expected a string for 'jti', was {type(jti).__name__}")
        if self.max_lifetime_s is not None:
            if "iat" not in claims:
                raise AuthError(401, "invalid token: expected 'iat' (the server caps a token's lifetime)")
            life = claims["exp"] - claims["iat"]
            if life > self.max_lifetime_s:
                raise AuthError(401, f"token lifetime (exp - iat) of {life:g} s is above the server's "
                                     f"{self.max_lifetime_s:g} s (server.jwt_max_lifetime): ask for a shorter one")
        grant = Grant(str(claims["sub"]), frozenset(acc), frozenset(strat), claims.get("admin") is True, jti,
                      float(claims["exp"]))
        self.check_revoked(grant)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = (grant, float(claims["exp"]))
        return grant
