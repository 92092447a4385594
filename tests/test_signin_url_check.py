"""Check W003: protected pages must not redirect to a sign-in URL this project does not serve.

The default ``NEXTAUTH_SIGNIN_URL`` is NextAuth's own page, ``/api/auth/signin``, on the
Next.js app. A Django-only project that protects a page kept redirecting there: a 404.
"""

from __future__ import annotations

from typing import Any

import pytest

from django_nextauth_jwt.checks import check_settings


def w003(settings: Any, **overrides: Any) -> list[str]:
    for name, value in overrides.items():
        setattr(settings, name, value)
    return [str(m.msg) for m in check_settings() if m.id == "nextauth_jwt.W003"]


def test_a_protected_page_with_the_default_sign_in_url_is_w003(settings: Any) -> None:
    # tests/urls.py mounts the package under api/auth/, which has no "signin" page of its own.
    [message] = w003(settings, NEXTAUTH_PROTECTED_PATHS=["/private/"])
    assert "'/api/auth/signin'" in message
    assert "404" in message


@pytest.mark.parametrize(
    "overrides",
    [
        {"NEXTAUTH_PROTECTED_PATHS": []},  # nothing protected
        {"NEXTAUTH_PROTECTED_PATHS": ["/api/"]},  # API paths answer 401, never redirect
        {"NEXTAUTH_PROTECTED_PATHS": ["/api/plain/"], "NEXTAUTH_API_PATHS": ["/api/"]},
        {
            "NEXTAUTH_PROTECTED_PATHS": ["/private/"],
            "NEXTAUTH_SIGNIN_URL": "https://app.example.com/api/auth/signin",
        },
        # a page this project serves, with a query string
        {"NEXTAUTH_PROTECTED_PATHS": ["/private/"], "NEXTAUTH_SIGNIN_URL": "/api/me/?x=1"},
        # malformed values are E023 / E024, not this
        {"NEXTAUTH_PROTECTED_PATHS": "/private/"},
        {"NEXTAUTH_PROTECTED_PATHS": ["/private/"], "NEXTAUTH_SIGNIN_URL": None},
    ],
)
def test_no_w003_when_no_visitor_is_sent_to_a_404(settings: Any, overrides: Any) -> None:
    assert w003(settings, **overrides) == []


def test_a_protected_root_is_a_page_even_beside_api_paths(settings: Any) -> None:
    assert len(w003(settings, NEXTAUTH_PROTECTED_PATHS=["/api/", "/"])) == 1
