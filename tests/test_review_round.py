"""Attacks and slips found reviewing the round of issues 21-27, one test each.

Each test here failed on the code before its fix (the commit that added it says which).
"""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from django_nextauth_jwt.jose.jwk import b64url_encode

BETTER_AUTH_SECRET = "review-better-auth-secret-0123456789-abcdefghij"


def _reads_better_auth(settings: Any, strategy: str = "compact") -> None:
    settings.NEXTAUTH_BETTER_AUTH_STRATEGY = strategy
    settings.NEXTAUTH_BETTER_AUTH_SECRET = BETTER_AUTH_SECRET


def test_a_deeply_nested_forged_compact_cookie_is_a_401_not_a_500(settings: Any) -> None:
    """Nesting JSON.parse takes but the re-serialisation recursed too deep on (before the MAC)."""
    _reads_better_auth(settings)
    nested = json.loads("[" * 600 + "]" * 600)
    forged = {"session": {"a": nested}, "expiresAt": 1.5, "signature": "AA"}
    cookie = b64url_encode(json.dumps(forged).encode())
    client = Client(raise_request_exception=False)
    response = client.get("/api/me/", HTTP_COOKIE=f"better-auth.session_data={cookie}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_malformed"
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {cookie}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_malformed"
