"""Settings turned into one frozen :class:`Policy`, with the keyring its secrets give.

Reading a dozen settings per request costs more than verifying an HMAC, so the
policy is built at first use and kept per settings object (see
:class:`~django_nextauth_jwt.conf.derived`, which also drops it after any
``NEXTAUTH_*`` ``setting_changed``). A new policy brings a new
:class:`~django_nextauth_jwt.jose.codec.Keyring`: keys of a retired secret go with
the old one.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt.conf import (
    FORMAT_AUTHJS_V5,
    FORMAT_JWS_ASYMMETRIC,
    FORMATS,
    JWS_ALGORITHMS,
    MAX_SESSION_LIFETIME,
    MIN_SECRET_BYTES,
    SYMMETRIC_FORMATS,
    app_settings,
    derived,
)
from django_nextauth_jwt.jose import betterauth, codec
from django_nextauth_jwt.jose.codec import Keyring
from django_nextauth_jwt.jose.jwk import PublicKey, SigningKey, load_public_key, load_signing_key
from django_nextauth_jwt.jose.jwks import JWKSClient, KeySources

__all__ = [
    "Policy",
    "better_auth_cookie_name",
    "better_auth_secrets",
    "load_public_keys",
    "load_signing_keys",
    "policy",
    "valid_better_auth_text",
    "valid_jwks_url",
]


@dataclass(frozen=True, slots=True)
class Policy:
    """Every setting verification and minting need, validated and frozen."""

    secrets: tuple[str, ...]
    keys: Keyring
    mint_format: str
    accepted_formats: frozenset[str]
    jws_algorithm: str
    max_age: int
    leeway: int
    #: ``NEXTAUTH_SESSION_MAX_LIFETIME``: a session ends this long after its sign-in.
    max_lifetime: int
    issuer: str | None
    audience: str | None
    max_token_length: int
    v5_salt: str
    revocation: bool
    revocation_fail_open: bool
    signing_keys: tuple[SigningKey, ...] = ()
    key_sources: KeySources | None = None
    #: Better Auth's session cookie cache, when ``NEXTAUTH_BETTER_AUTH_STRATEGY`` is set.
    better_auth: betterauth.CookieCache | None = None
    #: Payloads of tokens this policy decoded lately, by token (see ``tokens.decode``): they
    #: live and die with the policy, so a retired secret's keys are not kept alive by them.
    recent: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    #: Hashes of the tokens decoded once (tokens.decode remembers a token the second time).
    seen: set[int] = field(default_factory=set, compare=False)

    def decode(self, token: str) -> dict[str, Any]:
        """Verify or decrypt ``token`` with this policy's keys, formats and limits (the codec).

        A token of Better Auth's cookie-cache shape (one segment; a JWS whose header is
        exactly ``{"alg":"HS256"}``; a JWE under one of its ``kid``\\ s) is Better Auth's: its
        shape picks the decoder, and no token is tried under a second one.
        """
        cache = self.better_auth
        if cache is not None and cache.owns(token):
            return cache.decode(token)
        return codec.decode(
            token,
            self.keys,
            formats=self.accepted_formats,
            jws_algorithm=self.jws_algorithm,
            max_length=self.max_token_length,
        )

    @property
    def issues(self) -> bool:
        """Whether this service can mint tokens in its own format (``mint_format``).

        A ``jws-asymmetric`` service without signing keys is a verifier: it accepts the
        issuer's tokens (public keys, a JWKS URL) and mints none.
        """
        return self.mint_format != FORMAT_JWS_ASYMMETRIC or bool(self.signing_keys)

    def require_issuer(self, fmt: str) -> None:
        """``ImproperlyConfigured`` unless this service can mint ``fmt`` tokens."""
        if fmt == FORMAT_JWS_ASYMMETRIC and not self.signing_keys:
            raise ImproperlyConfigured(
                "This service verifies jws-asymmetric tokens but cannot mint them: an issuer "
                "needs NEXTAUTH_SIGNING_KEYS (nextauth_jwt.E053)."
            )

    def __repr__(self) -> str:
        # Never let a secret reach a log line through a repr.
        return f"<Policy mint_format={self.mint_format!r} accepted={sorted(self.accepted_formats)}>"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ImproperlyConfigured(message)


def _read(entry: Any) -> Any:
    # A Path (any os.PathLike) names a file holding a PEM or a JWK; anything else is the key.
    if isinstance(entry, os.PathLike):
        return Path(entry).read_text()
    return entry


def load_signing_keys(entries: tuple[Any, ...]) -> tuple[SigningKey, ...]:
    """``NEXTAUTH_SIGNING_KEYS`` loaded; ``ValueError`` or ``OSError`` naming no key material."""
    keys = tuple(load_signing_key(_read(entry)) for entry in entries)
    if len({key.kid for key in keys}) != len(keys):
        raise ValueError("two signing keys have the same kid")
    return keys


def load_public_keys(entries: tuple[Any, ...]) -> tuple[PublicKey, ...]:
    """``NEXTAUTH_PUBLIC_KEYS`` loaded; ``ValueError`` or ``OSError`` naming no key material."""
    return tuple(load_public_key(_read(entry)) for entry in entries)


def valid_jwks_url(url: Any) -> bool:
    """An absolute http(s) URL with a host (https is the check's business, not this one's)."""
    if not isinstance(url, str) or url.strip() != url or not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _asymmetric(s: Any) -> tuple[tuple[SigningKey, ...], KeySources | None]:
    try:
        signing = load_signing_keys(s.SIGNING_KEYS)
    except (ValueError, TypeError, OSError) as exc:
        raise ImproperlyConfigured(f"NEXTAUTH_SIGNING_KEYS: {exc} (nextauth_jwt.E050).") from None
    try:
        public = load_public_keys(s.PUBLIC_KEYS)
    except (ValueError, TypeError, OSError) as exc:
        raise ImproperlyConfigured(f"NEXTAUTH_PUBLIC_KEYS: {exc} (nextauth_jwt.E051).") from None
    urls = s.JWKS_URLS
    _require(
        all(valid_jwks_url(url) for url in urls),
        "NEXTAUTH_JWKS_URL must be an absolute http(s) URL or a list of them (nextauth_jwt.E052).",
    )
    if not (signing or public or urls):
        return (), None
    clients = [
        JWKSClient(
            url,
            cache_ttl=s.JWKS_CACHE_TTL,
            refresh_interval=s.JWKS_REFRESH_INTERVAL,
            max_stale=s.JWKS_MAX_STALE,
            timeout=s.JWKS_TIMEOUT,
            max_bytes=s.JWKS_MAX_BYTES,
        )
        for url in dict.fromkeys(urls)
    ]
    return signing, KeySources([key.public for key in signing] + list(public), clients)


def better_auth_secrets(s: Any) -> betterauth.Secrets:
    """Better Auth's secrets from the settings; ``ValueError`` naming no secret when unusable."""
    secret = s.BETTER_AUTH_SECRET
    if secret is not None and not isinstance(secret, str):
        raise ValueError("NEXTAUTH_BETTER_AUTH_SECRET must be a string")
    versions = s.BETTER_AUTH_SECRETS
    if versions is not None and not isinstance(versions, str | list | tuple):
        raise ValueError("NEXTAUTH_BETTER_AUTH_SECRETS must be a string or a list of pairs")
    try:
        found = betterauth.parse_secrets(secret, versions)
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    if len(found.current.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"the current Better Auth secret is shorter than {MIN_SECRET_BYTES} bytes")
    return found


def valid_better_auth_text(value: Any) -> bool:
    """A cookie prefix or cache version: non-empty, nothing a Cookie header would split on."""
    return isinstance(value, str) and bool(value) and not any(c in value for c in " ;,=\t")


def better_auth_cookie_name(s: Any) -> str | None:
    """The cookie cache's name when a strategy is set (``__Secure-`` with secure cookies)."""
    if s.BETTER_AUTH_STRATEGY is None:
        return None
    return betterauth.cookie_name(s.BETTER_AUTH_COOKIE_PREFIX, secure=s.SECURE_COOKIE)


def _better_auth(s: Any) -> betterauth.CookieCache | None:
    strategy = s.BETTER_AUTH_STRATEGY
    if strategy is None:
        return None
    _require(
        strategy in betterauth.STRATEGIES,
        f"NEXTAUTH_BETTER_AUTH_STRATEGY must be one of {', '.join(betterauth.STRATEGIES)} "
        "(nextauth_jwt.E060).",
    )
    try:
        secrets = better_auth_secrets(s)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Better Auth's secret: {exc} (nextauth_jwt.E061).") from None
    _require(
        valid_better_auth_text(s.BETTER_AUTH_COOKIE_PREFIX)
        and valid_better_auth_text(s.BETTER_AUTH_VERSION),
        "NEXTAUTH_BETTER_AUTH_COOKIE_PREFIX and NEXTAUTH_BETTER_AUTH_VERSION must be non-empty "
        "strings without spaces, ';', ',' or '=' (nextauth_jwt.E063).",
    )
    _require(
        s.ISSUER is None and s.AUDIENCE is None,
        "Better Auth's cookie cache carries no iss or aud: with NEXTAUTH_ISSUER or "
        "NEXTAUTH_AUDIENCE set every cookie would be refused (nextauth_jwt.E062).",
    )
    return betterauth.CookieCache(
        strategy,
        secrets,
        version=s.BETTER_AUTH_VERSION,
        max_length=s.MAX_TOKEN_LENGTH,
        shared_jwe=FORMAT_AUTHJS_V5 in {s.JWT_FORMAT, *s.ACCEPTED_FORMATS},
    )


#: Held while a policy is built: the threads of a fresh process that all miss the cache at
#: once take the one built first, so each JWKS URL has one client (and one first fetch).
_building = threading.Lock()


@derived
def policy() -> Policy:
    """The current :class:`Policy`; ``ImproperlyConfigured`` if the settings cannot work."""
    with _building:
        wrapped = object.__getattribute__(settings, "_wrapped")
        held = policy.held
        if held is not None and held[0] is wrapped:
            return held[1]
        built = _build()
        # Published before the lock is released: a thread waiting on it must find this one.
        policy.held = (wrapped, built)
        return built


def _build() -> Policy:
    s = app_settings
    secrets = s.SECRETS
    signing, sources = _asymmetric(s)
    in_use = {s.JWT_FORMAT, *s.ACCEPTED_FORMATS}
    # A service that only signs and verifies with key pairs holds no shared secret at all.
    _require(
        bool(secrets) or not (in_use & set(SYMMETRIC_FORMATS)),
        "NEXTAUTH_SECRET is not set: set it (a string or a list of strings) or the "
        "NEXTAUTH_SECRET / AUTH_SECRET / JWT_SECRET environment variable.",
    )
    # The same floor as check E003, enforced here too: gunicorn and scripts never run
    # manage.py check, and a short HMAC secret can be brute-forced from one token.
    _require(
        all(len(secret.encode()) >= MIN_SECRET_BYTES for secret in secrets),
        f"A NextAuth secret is shorter than {MIN_SECRET_BYTES} bytes: generate one with "
        "`openssl rand -base64 32` and set it on both sides, here and as the Next.js app's "
        "NEXTAUTH_SECRET (AUTH_SECRET for Auth.js 5): the two must hold the same value, or "
        "every token is refused (nextauth_jwt.E003).",
    )
    known = ", ".join(FORMATS)
    _require(s.JWT_FORMAT in FORMATS, f"NEXTAUTH_JWT_FORMAT must be one of {known}.")
    accepted = s.ACCEPTED_FORMATS
    _require(
        all(f in FORMATS for f in accepted), f"NEXTAUTH_ACCEPTED_FORMATS may list only {known}."
    )
    _require(
        s.JWS_ALGORITHM in JWS_ALGORITHMS,
        f"NEXTAUTH_JWS_ALGORITHM must be one of {', '.join(JWS_ALGORITHMS)}.",
    )
    # Roles: an issuer of jws-asymmetric signs with NEXTAUTH_SIGNING_KEYS; a verifier needs
    # only keys to verify with (public keys, a JWKS URL). With none of them, it is neither.
    _require(
        s.JWT_FORMAT != FORMAT_JWS_ASYMMETRIC or sources is not None,
        "NEXTAUTH_JWT_FORMAT is jws-asymmetric but this service has no key: an issuer needs "
        "NEXTAUTH_SIGNING_KEYS, a verifier NEXTAUTH_JWKS_URL or NEXTAUTH_PUBLIC_KEYS "
        "(nextauth_jwt.E053).",
    )
    _require(
        FORMAT_JWS_ASYMMETRIC not in in_use or sources is not None,
        "jws-asymmetric tokens are accepted but no key verifies them: set "
        "NEXTAUTH_JWKS_URL or NEXTAUTH_PUBLIC_KEYS (the issuer's keys), or "
        "NEXTAUTH_SIGNING_KEYS to issue them here (nextauth_jwt.E054).",
    )
    lifetime = s.SESSION_MAX_LIFETIME
    # As check E043: every deny-list entry's life is measured by it, so no default stands in.
    _require(
        type(lifetime) is int and 0 < lifetime <= MAX_SESSION_LIFETIME,
        "NEXTAUTH_SESSION_MAX_LIFETIME must be a whole number of seconds, from 1 to "
        f"{MAX_SESSION_LIFETIME} (nextauth_jwt.E043).",
    )
    v5_salt = s.V5_SALT
    return Policy(
        secrets=secrets,
        keys=Keyring(secrets, v5_salt=v5_salt, signing_keys=signing, public_keys=sources),
        mint_format=s.JWT_FORMAT,
        accepted_formats=frozenset(accepted),
        jws_algorithm=s.JWS_ALGORITHM,
        max_age=s.MAX_AGE,
        leeway=s.LEEWAY,
        max_lifetime=lifetime,
        issuer=s.ISSUER,
        audience=s.AUDIENCE,
        max_token_length=s.MAX_TOKEN_LENGTH,
        v5_salt=v5_salt,
        revocation=s.REVOCATION,
        revocation_fail_open=s.REVOCATION_FAIL_OPEN,
        signing_keys=signing,
        key_sources=sources,
        better_auth=_better_auth(s),
    )
