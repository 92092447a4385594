"""The integrations' system checks: E090, E091, W090, W091 (``docs/checks.md``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_checks import ids


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com",  # a string, not a list
        ["app.example.com"],
        ["https://app.example.com/chat"],
        ["https://user:pw@app.example.com"],
        ["*"],
    ],
)
def test_websocket_origins_must_be_origins_e090(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_WEBSOCKET_ORIGINS=value) == ["nextauth_jwt.E090"]


def test_good_websocket_origins_pass(settings: Any) -> None:
    value = ["https://app.example.com", "http://localhost:3000"]
    assert ids(settings, NEXTAUTH_WEBSOCKET_ORIGINS=value) == []


def test_query_token_not_a_boolean_is_e091(settings: Any) -> None:
    assert ids(settings, NEXTAUTH_WEBSOCKET_QUERY_TOKEN="yes") == ["nextauth_jwt.E091"]


def test_query_token_on_warns_w090(settings: Any) -> None:
    assert ids(settings, NEXTAUTH_WEBSOCKET_QUERY_TOKEN=True) == ["nextauth_jwt.W090"]


def test_websockets_with_redis_and_no_local_view_warn_w091(settings: Any) -> None:
    settings.ASGI_APPLICATION = "tests.asgi_channels.application"
    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:6379/15"
    assert ids(settings, NEXTAUTH_REDIS_LOCAL_VIEW=False) == ["nextauth_jwt.W091"]
    assert ids(settings, NEXTAUTH_REDIS_LOCAL_VIEW=True) == []
    del settings.ASGI_APPLICATION
    assert ids(settings, NEXTAUTH_REDIS_LOCAL_VIEW=False) == []
