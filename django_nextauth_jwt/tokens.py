"""The ``JWTAuth`` facade: codec, then claims, then revocation, then the user.

The Python counterpart of the seed's TypeScript utility. Every entry point (the
DRF class, the middleware, the views, the management commands) goes through
here; nothing below this module imports it. See ``ARCHITECTURE.md``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django_nextauth_jwt import lifetime, users
from django_nextauth_jwt.claims import Claims, build_payload, validate_claims, validated
from django_nextauth_jwt.exceptions import InvalidToken, NextAuthJWTError, TokenMissing
from django_nextauth_jwt.jose import codec
from django_nextauth_jwt.jose.codec import b64url_decode, b64url_encode, jwk_thumbprint
from django_nextauth_jwt.jose.formats import FORMATS
from django_nextauth_jwt.jose.jwk import jwks_document
from django_nextauth_jwt.policy import Policy, policy
from django_nextauth_jwt.state import revocation

__all__ = [
    "AuthResult",
    "JWTAuth",
    "b64url_decode",
    "b64url_encode",
    "build_payload",
    "clear_caches",
    "decode",
    "encode",
    "jwk_thumbprint",
    "published_jwks",
    "resolve_user",
    "validate_claims",
]


#: How many decoded tokens a policy remembers, and the longest token it remembers. Small on
#: purpose: measured in whole requests (benchmarks/request.py), 512 remembered tokens made every
#: new token about 3 us dearer (a working set that pushes the request's own out of the CPU
#: caches); 64 cost about 1 us, for the 25 us a repeated token saves.
RECENT_TOKENS = 64
RECENT_MAX_LENGTH = 4096
#: How many first sightings a policy keeps (a hash each): a token is remembered when it comes
#: back, so a token seen once (a service's per-call token) costs a set insertion, not a copy.
#: Small for the same reason as RECENT_TOKENS (1024 measured about 1 us dearer per request).
SEEN_TOKENS = 256
_NESTED = (dict, list)


def decode(token: str, *, pol: Policy | None = None) -> dict[str, Any]:
    """Verify or decrypt ``token`` under the settings; its raw payload, claims not validated.

    Raises a subclass of :class:`~django_nextauth_jwt.exceptions.InvalidToken`.

    A browser sends the same session token with every request: the policy remembers
    the payloads of the last 64 tokens it decoded twice (only ones that verified,
    only up to 4 KB; the whole memory is dropped when full), so a repeated token costs
    a dictionary lookup and a copy instead of its cryptography. Claims (``exp``) and the
    deny-list are still checked on every request by the callers. Not with keys from a
    JWKS URL: an issuer may withdraw a key, and a remembered token would outlive it.
    """
    pol = pol or policy()
    if pol.key_sources is not None and pol.key_sources.clients:
        # Keys fetched from a JWKS can be withdrawn by their issuer while this policy
        # lives: every token is verified against the keys held now, never remembered.
        return pol.decode(token)
    recent = pol.recent
    if type(token) is str:
        known = recent.get(token)
        # Callers own what they get (validation adds "id", views may change claims): a
        # shallow copy suffices when every claim is a scalar, as a session's are. A payload
        # with objects or lists may share them with its first caller: decoded afresh.
        if known is not None and not any(type(v) in _NESTED for v in known.values()):
            return dict(known)
    payload = pol.decode(token)
    if len(token) <= RECENT_MAX_LENGTH:
        seen, sighting = pol.seen, hash(token)  # the str caches its hash: computed above
        if sighting in seen:
            if len(recent) >= RECENT_TOKENS:
                recent.clear()
            recent[token] = dict(payload)
        else:
            if len(seen) >= SEEN_TOKENS:
                seen.clear()
            seen.add(sighting)
    return payload


def encode(payload: Mapping[str, Any], *, format: str | None = None) -> str:
    """Sign or encrypt ``payload`` as it is, in ``format`` (default: the configured one)."""
    pol = policy()
    fmt = format or pol.mint_format
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    pol.require_issuer(fmt)  # a verifier-only service mints nothing
    return codec.encode(payload, pol.keys, format=fmt, jws_algorithm=pol.jws_algorithm)


def published_jwks() -> dict[str, Any] | None:
    """The JWK Set of ``NEXTAUTH_SIGNING_KEYS``' public halves, or ``None`` without any.

    Every signing key is published (the first signs, the others still verify during a
    rotation); configured public keys and fetched ones are someone else's to publish.
    """
    signing = policy().signing_keys
    if not signing:
        return None
    return jwks_document(key.public for key in signing)


def resolve_user(claims: Claims, *, pol: Policy | None = None) -> Any:
    """The user of verified ``claims``; in database mode, refused when that person is cut off.

    A database user's cut-off (sign-out-everywhere) is the row's, whichever ``sub`` named it:
    read here, after the lookup, with no query beyond the lookup's own. Raises ``InvalidToken``
    (``user_not_found``, ``user_inactive``, ``token_revoked``).
    """
    user = users.user_from_claims(claims)
    if type(user) is not users.TokenUser:
        revocation.check_account(user.pk, claims, pol or policy())
    return user


def _subject(who: Any) -> Any:
    """The ``sub`` of a stateless cut-off: ``who`` itself, or the id a user's tokens carry."""
    if isinstance(who, users.TokenUser):
        return who.id
    if isinstance(who, str) or getattr(who, "pk", None) is None:
        return who  # revocation.revoke_user refuses what is not a subject
    return str(users.claims_for_user(who)["id"])


def clear_caches() -> None:
    """Forget the policy and its keys (settings are re-read, the environment too, at next use)."""
    policy.cache_clear()


@dataclass(frozen=True, slots=True, init=False)
class AuthResult:
    """The outcome of an authentication attempt; never an exception.

    ``success`` with ``user`` and ``claims``, or not, with ``error`` (a stable
    code such as ``token_expired``) and a safe ``message``.
    """

    success: bool
    user: Any = None
    claims: Claims | None = None
    error: str | None = None
    message: str | None = None
    exception: NextAuthJWTError | None = field(default=None, repr=False, compare=False)

    def __init__(  # noqa: PLR0913, PLR0917 - the dataclass's own fields, in order
        self,
        success: bool,
        user: Any = None,
        claims: Claims | None = None,
        error: str | None = None,
        message: str | None = None,
        exception: NextAuthJWTError | None = None,
    ) -> None:
        # The frozen dataclass's own __init__, through the slots' setters: its generated one
        # goes through object.__setattr__ per field, about 0.3 us more on every request.
        _set_success(self, success)
        _set_user(self, user)
        _set_claims(self, claims)
        _set_error(self, error)
        _set_message(self, message)
        _set_exception(self, exception)

    @classmethod
    def failure(cls, exc: NextAuthJWTError) -> AuthResult:
        """A failed result carrying ``exc``'s code and message."""
        return cls(False, None, None, exc.code, exc.message, exc)


_set_success, _set_user, _set_claims, _set_error, _set_message, _set_exception = (
    AuthResult.__dict__[name].__set__
    for name in ("success", "user", "claims", "error", "message", "exception")
)


class JWTAuth:
    """The Python counterpart of the seed's TypeScript ``JWTAuth`` utility."""

    @staticmethod
    def create(
        claims: Mapping[str, Any], *, format: str | None = None, max_age: int | None = None
    ) -> str:
        """Mint a token for ``claims`` (``{"id", "email", "name", "role"}`` or with ``sub``).

        The token carries ``sub`` = id, ``iat``, ``exp`` (now + ``max_age``,
        default ``NEXTAUTH_MAX_AGE``), a random ``jti``, and ``iss``/``aud`` when
        configured, in ``format`` (default ``NEXTAUTH_JWT_FORMAT``). It carries the
        ``sid`` and ``auth_time`` of ``claims`` (re-encoding a session keeps them), or new ones.
        """
        return encode(build_payload(claims, max_age=max_age), format=format)

    @staticmethod
    def verify(token: str) -> Claims:
        """Return the verified claims, with ``id`` = ``sub``, or raise ``InvalidToken``.

        With ``NEXTAUTH_REVOCATION`` (the default) a token signed out of is
        ``TokenRevoked``.
        """
        pol = policy()
        now = int(time.time())
        claims = validated(decode(token, pol=pol), now=now, pol=pol)
        lifetime.check(claims, pol, now)
        revocation.check(claims, token, pol)
        return claims

    @staticmethod
    def revoke(token: str) -> None:
        """Verify ``token`` and deny it (sign-out): its whole session (``sid``), else the token.

        A token that is already revoked is accepted here (revoking twice is
        harmless). Raises ``InvalidToken`` for a token that does not verify, and
        the cache backend's error when the deny-list cannot be written.
        """
        pol = policy()
        claims = validated(decode(token, pol=pol), now=None, pol=pol)
        revocation.revoke(claims, token, pol=pol)

    @staticmethod
    def revoke_user(who: Any, *, at: int | None = None) -> int:
        """Sign a person out everywhere: refuse their tokens authenticated at or before ``at``.

        ``who`` is a token's ``sub`` or a user. Stateless mode cuts off that ``sub`` (a user
        gives the id tokens are minted with). Database mode cuts off the Django user (a row,
        or the one a ``sub`` names as custom-login mints it: ``UserNotFound`` when none),
        so every token resolved to that row is refused, whichever ``sub`` it carries.

        ``at`` defaults to now; the cut-off written is returned. Tokens are compared by
        ``auth_time`` (kept across NextAuth's refreshes), else ``iat``. Raises the store's
        error when the deny-list cannot be written.
        """
        if users.database_mode():
            if not isinstance(who, str) and getattr(who, "pk", None) is None:
                raise ValueError("who must be a sub or a saved user")
            user = users.user_for_subject(who) if isinstance(who, str) else who
            if user is None:
                raise users.UserNotFound()
            return revocation.revoke_account(user.pk, at=at)
        return revocation.revoke_user(_subject(who), at=at)

    @staticmethod
    def authenticate_token(token: str | None) -> AuthResult:
        """Verify ``token`` and resolve its user; failures come back as a result, not raised.

        Every refused token is a result. What escapes is what is no token's
        fault: ``ImproperlyConfigured`` (a missing secret is a deployment bug)
        and, in database mode, the database's own errors.
        """
        if not token:
            return AuthResult.failure(TokenMissing())
        try:
            claims = JWTAuth.verify(token)
            user = resolve_user(claims)
        except InvalidToken as exc:
            return AuthResult.failure(exc)
        # Positional: a frozen dataclass takes keyword arguments at twice the cost, per request.
        return AuthResult(True, user, claims)
