"""Settings turned into one frozen :class:`Policy`, with the keyring its secrets give.

Reading a dozen settings per request costs more than verifying an HMAC, so the
policy is built at first use and kept per settings object (see
:class:`~django_nextauth_jwt.conf.derived`, which also drops it after any
``NEXTAUTH_*`` ``setting_changed``). A new policy brings a new
:class:`~django_nextauth_jwt.codec.Keyring`: keys of a retired secret go with
the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt.codec import Keyring
from django_nextauth_jwt.conf import (
    FORMATS,
    JWS_ALGORITHMS,
    MIN_SECRET_BYTES,
    app_settings,
    derived,
)

__all__ = ["Policy", "policy"]


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
    issuer: str | None
    audience: str | None
    max_token_length: int
    v5_salt: str
    revocation: bool
    revocation_cache: str
    revocation_fail_open: bool
    #: Payloads of tokens this policy decoded lately, by token (see ``tokens.decode``): they
    #: live and die with the policy, so a retired secret's keys are not kept alive by them.
    recent: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        # Never let a secret reach a log line through a repr.
        return f"<Policy mint_format={self.mint_format!r} accepted={sorted(self.accepted_formats)}>"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ImproperlyConfigured(message)


@derived
def policy() -> Policy:
    """The current :class:`Policy`; ``ImproperlyConfigured`` if the settings cannot work."""
    s = app_settings
    secrets = s.SECRETS
    _require(
        bool(secrets),
        "NEXTAUTH_SECRET is not set: set it (a string or a list of strings) or the "
        "NEXTAUTH_SECRET / AUTH_SECRET / JWT_SECRET environment variable.",
    )
    # The same floor as check E003, enforced here too: gunicorn and scripts never run
    # manage.py check, and a short HMAC secret can be brute-forced from one token.
    _require(
        all(len(secret.encode()) >= MIN_SECRET_BYTES for secret in secrets),
        f"A NextAuth secret is shorter than {MIN_SECRET_BYTES} bytes: generate one with "
        "`openssl rand -base64 32` (nextauth_jwt.E003).",
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
    v5_salt = s.V5_SALT
    return Policy(
        secrets=secrets,
        keys=Keyring(secrets, v5_salt=v5_salt),
        mint_format=s.JWT_FORMAT,
        accepted_formats=frozenset(accepted),
        jws_algorithm=s.JWS_ALGORITHM,
        max_age=s.MAX_AGE,
        leeway=s.LEEWAY,
        issuer=s.ISSUER,
        audience=s.AUDIENCE,
        max_token_length=s.MAX_TOKEN_LENGTH,
        v5_salt=v5_salt,
        revocation=s.REVOCATION,
        revocation_cache=s.REVOCATION_CACHE,
        revocation_fail_open=s.REVOCATION_FAIL_OPEN,
    )
