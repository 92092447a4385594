"""``callbackUrl`` safety: where sign-in may send the browser, and nowhere else."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from django.utils.http import url_has_allowed_host_and_scheme

from django_nextauth_jwt.conf import app_settings

# Control characters (CR/LF included), space and backslash: none belongs in a
# redirect target, and browsers "repair" several of them into another host.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_MAX_LENGTH = 2048


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _is_safe(target: str) -> bool:
    if not target or len(target) > _MAX_LENGTH:
        return False
    # Check the target as sent and as a browser might decode it (twice).
    once = unquote(target)
    for form in (target, once, unquote(once)):
        if _UNSAFE.search(form) or form.startswith(("//", "/\\")):
            return False
    if target.startswith("/"):
        return url_has_allowed_host_and_scheme(target, allowed_hosts=None)
    origin = _origin(target)
    if origin is None or origin not in {
        o.rstrip("/").lower() for o in app_settings.ALLOWED_REDIRECT_ORIGINS
    }:
        return False
    parts = urlsplit(target)
    return url_has_allowed_host_and_scheme(
        target, allowed_hosts={parts.netloc}, require_https=parts.scheme == "https"
    )


def safe_redirect_url(target: object, default: str | None = None) -> str:
    """``target`` if it is a relative path or on an allowed origin, else the default.

    Refused: scheme-relative ``//host`` and ``/\\host`` (also percent-encoded),
    other schemes (``javascript:``, ``data:``), control characters, and any
    host not listed in ``NEXTAUTH_ALLOWED_REDIRECT_ORIGINS``. A refused target
    is never echoed back.
    """
    fallback = default if default is not None else app_settings.LOGIN_REDIRECT_URL
    if isinstance(target, str) and _is_safe(target):
        return target
    return fallback
