"""CSRF proof for cookie-authenticated unsafe requests: Django's token or NextAuth's double-submit.

A browser attaches the session cookie to cross-site requests too, so a request
authenticated by cookie must also prove it came from our own pages. Two proofs
are accepted, whichever the front end finds easier:

* Django's CSRF token, checked exactly as ``CsrfViewMiddleware`` would (origin,
  referer, ``csrftoken`` cookie against the header or form field), the way DRF's
  ``SessionAuthentication`` enforces it;
* NextAuth's own double-submit token: its CSRF cookie holds
  ``<token>|<hex sha256(token + secret)>``; the page reads the token from
  NextAuth's ``/api/auth/csrf`` and sends it back in ``NEXTAUTH_CSRF_HEADER_NAME``.
  An attacker can neither read the cookie nor mint a hash without the secret.

Requests authenticated by an ``Authorization`` header need neither: browsers
never attach that header on their own.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from django_nextauth_jwt.conf import app_settings, derived
from django_nextauth_jwt.exceptions import TokenMalformed
from django_nextauth_jwt.transport import raw_cookie_names, strict_url_decode

__all__ = ["SAFE_METHODS", "csrf_failure_reason", "django_csrf_failure", "nextauth_csrf_valid"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_HEX = frozenset("0123456789abcdef")


def _header_meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _hash_secrets() -> tuple[str, ...]:
    secrets = app_settings.SECRETS
    if len(secrets) > 1:
        # @auth/core hashes `${token}${options.secret}`: with a list of secrets
        # JavaScript joins it with commas. Accept that too, besides each secret.
        return (*secrets, ",".join(secrets))
    return secrets


@derived
def _double_submit() -> tuple[str, str, tuple[str, ...]]:
    """(the header's META key, the CSRF cookie name, the secrets hashed), per settings object."""
    return (
        _header_meta_key(app_settings.CSRF_HEADER_NAME),
        app_settings.csrf_cookie_name(),
        _hash_secrets(),
    )


def nextauth_csrf_valid(request: HttpRequest) -> bool:
    """True when NextAuth's CSRF cookie is genuine and the header echoes its token.

    Every comparison is in constant time, on bytes (``hmac.compare_digest``
    refuses non-ASCII text, and that must be a 403, not a 500).
    """
    header_key, cookie_name, secrets = _double_submit()
    sent = request.META.get(header_key)
    cookie = request.COOKIES.get(cookie_name)
    if not sent or not cookie:
        return False
    if raw_cookie_names(request).count(cookie_name) > 1:
        # Sent twice (one planted for a parent domain): which one is genuine is unknowable.
        return False
    try:
        value = strict_url_decode(cookie)
    except TokenMalformed:
        return False
    token, sep, digest = value.partition("|")
    if not sep or not token or len(digest) != 64 or not set(digest) <= _HEX:
        return False
    expected = digest.encode("ascii")
    token_bytes = token.encode("utf-8", "surrogatepass")
    # Check every secret (no early exit) so timing says nothing about which one matched.
    genuine = False
    for secret in secrets:
        computed = hashlib.sha256(token_bytes + secret.encode()).hexdigest().encode("ascii")
        genuine |= hmac.compare_digest(computed, expected)
    echoed = hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), token_bytes)
    return genuine and echoed


class _CSRFCheck(CsrfViewMiddleware):
    # Report the reason instead of rendering Django's 403 page.
    def _reject(self, request: HttpRequest, reason: str) -> str:
        return reason


def _no_response(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("CSRF check must not call the view")


def django_csrf_failure(request: HttpRequest) -> str | None:
    """Why Django's CSRF protection would refuse ``request``, or ``None`` when it passes."""
    check = _CSRFCheck(_no_response)
    # process_request puts the CSRF cookie on the request; process_view compares.
    check.process_request(request)
    view: Callable[..., HttpResponse] = _no_response
    reason = check.process_view(request, view, (), {})
    return str(reason) if reason else None


def csrf_failure_reason(request: HttpRequest) -> str | None:
    """``None`` when ``request`` is safe or proves CSRF either way; else Django's refusal reason."""
    if request.method in SAFE_METHODS:
        return None
    if nextauth_csrf_valid(request):
        return None
    return django_csrf_failure(request)
