"""Shared helpers for the request-authentication tests (tokens, cookies, headers)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import override_settings

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.conf import FORMATS, Settings

SECRET = "test-secret-0123456789-abcdefghijklmnop"
OTHER_SECRET = "other-secret-9876543210-zyxwvutsrqponm"
MIDDLEWARE = "django_nextauth_jwt.middleware.NextAuthJWTMiddleware"
ALL_FORMATS = FORMATS
ADA = {"id": "42", "email": "ada@example.com", "name": "Ada", "role": "user"}


def make_token(fmt: str | None = None, **claims: Any) -> str:
    """A valid token for Ada (claims overridable) in ``fmt``."""
    return JWTAuth.create({**ADA, **claims}, format=fmt)


def big_token(fmt: str | None = None, size: int = 9000) -> str:
    """A token long enough to need several cookie chunks."""
    return make_token(fmt, padding="x" * size)


def expired_token(fmt: str | None = None) -> str:
    """A token whose ``exp`` is an hour past (well beyond the leeway)."""
    return JWTAuth.create(ADA, format=fmt, max_age=-3600)


def foreign_token(fmt: str | None = None) -> str:
    """A well-formed token minted with a secret (or key pair) this service does not hold."""
    from tests.forge import private_pem

    with override_settings(
        NEXTAUTH_SECRET=OTHER_SECRET, NEXTAUTH_SIGNING_KEYS=[private_pem("EdDSA", 1)]
    ):
        return make_token(fmt)


def tamper(token: str) -> str:
    """Flip one character in the middle of the last segment (signature or tag)."""
    head, _, last = token.rpartition(".")
    i = len(last) // 2
    flipped = "B" if last[i] == "A" else "A"
    return f"{head}.{last[:i]}{flipped}{last[i + 1 :]}"


def bearer(token: str) -> dict[str, str]:
    """Test-client ``headers=`` for an ``Authorization: Bearer`` header."""
    return {"Authorization": f"Bearer {token}"}


#: Headers that claim an identity; none of them may ever change who the user is.
IDENTITY_HEADERS = {
    "X-User-Id": "1",
    "X-User-Email": "root@example.com",
    "X-Middleware-Subrequest": "middleware:middleware:middleware:middleware:middleware",
    "X-Forwarded-User": "root",
    "X-Remote-User": "root",
    "X-Auth-Request-Email": "root@example.com",
}


def chunk(token: str, size: int) -> list[str]:
    """``token`` split the way NextAuth chunks cookies."""
    return [token[i : i + size] for i in range(0, len(token), size)]


def nextauth_csrf_cookie(token: str, secret: str = SECRET, *, encode: bool = True) -> str:
    """NextAuth's CSRF cookie value for ``token``: ``token|sha256(token+secret)``."""
    digest = hashlib.sha256((token + secret).encode()).hexdigest()
    return f"{token}%7C{digest}" if encode else f"{token}|{digest}"


def count_setting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the name of each app setting read (a ``conf.Settings`` attribute), in order."""
    reads: list[str] = []
    original = Settings.__getattribute__

    def counting(self: Settings, name: str) -> Any:
        reads.append(name)
        return original(self, name)

    monkeypatch.setattr(Settings, "__getattribute__", counting)
    return reads
