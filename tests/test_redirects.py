"""``callbackUrl`` safety: the open-redirect payload set falls back to the default."""

from __future__ import annotations

from typing import Any

import pytest

from django_nextauth_jwt.redirects import safe_redirect_url

OPEN_REDIRECT_PAYLOADS = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2Fevil.example",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%252F%252Fevil.example",
    "https://evil.example/",
    "http://evil.example",
    "https://app.example.com.evil.example/",
    "https://app.example.com@evil.example/",
    "https://evil.example#https://app.example.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/ok\r\nSet-Cookie: x=1",
    "/ok%0d%0aSet-Cookie:%20x=1",
    "/\tevil",
    "\x00/",
    " /",
    "/" + "a" * 3000,
    "",
    "ftp://app.example.com/",
    "http://app.example.com/",  # allowed origin is https only
]


@pytest.fixture(autouse=True)
def _origins(settings: Any) -> None:
    settings.NEXTAUTH_ALLOWED_REDIRECT_ORIGINS = ["https://app.example.com"]
    settings.NEXTAUTH_LOGIN_REDIRECT_URL = "/home"


@pytest.mark.parametrize("target", OPEN_REDIRECT_PAYLOADS)
def test_open_redirect_payload_falls_back_to_default(target: str) -> None:
    assert safe_redirect_url(target) == "/home"


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/dashboard",
        "/dashboard?tab=1&x=%2F",
        "/a/b#c",
        "https://app.example.com/after-login",
        "https://APP.example.com/x",
    ],
)
def test_relative_paths_and_allowed_origins_pass(target: str) -> None:
    assert safe_redirect_url(target) == target


@pytest.mark.parametrize("target", [None, 5, ["/"], b"/"])
def test_non_string_targets_fall_back(target: Any) -> None:
    assert safe_redirect_url(target, default="/x") == "/x"
