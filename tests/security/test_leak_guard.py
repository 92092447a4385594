"""The leak guard itself: it must be able to fail, or its silence proves nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from django_nextauth_jwt.exceptions import TokenMalformed, TokenUnsupported
from tests import forge
from tests.security.conftest import LeakGuard
from tests.security.helpers import ME, assert_refused


def test_leak_guard_flags_a_secret_planted_in_a_log_line(leak_guard: LeakGuard) -> None:
    logging.getLogger("django_nextauth_jwt.tokens").debug("verifying with %s", forge.SECRET)
    findings = leak_guard.scan()
    leak_guard.forget()
    assert findings
    assert all(forge.SECRET not in f for f in findings), findings  # named, never printed


def test_leak_guard_flags_a_configured_secret_planted_in_an_error_body(
    leak_guard: LeakGuard, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.NEXTAUTH_SECRET = "a-secret-only-this-test-configures-0123"
    monkeypatch.setattr(TokenMalformed, "default_message", f"bad: {settings.NEXTAUTH_SECRET}")
    response = Client().get(ME, headers={"Authorization": "Bearer a.b.c"})
    assert response.status_code == 401
    findings = leak_guard.scan()
    leak_guard.forget()
    assert any("secret in the response" in f for f in findings)


def test_leak_guard_flags_a_token_echoed_in_an_error_body(
    leak_guard: LeakGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = forge.jws(forge.claims(), header={"alg": "none", "typ": "JWT"})
    monkeypatch.setattr(TokenUnsupported, "default_message", f"refused {token}")
    assert_refused(
        Client().get(ME, headers={"Authorization": f"Bearer {token}"}), "token_unsupported"
    )
    findings = leak_guard.scan()
    leak_guard.forget()
    assert any("echoed" in f for f in findings)
    assert any("error body leaks" in f for f in findings)


def test_leak_guard_flags_a_token_segment_in_a_log_line(leak_guard: LeakGuard) -> None:
    token = forge.jws(forge.claims())
    Client().get(ME, headers={"Authorization": f"Bearer {token}"})
    payload = token.split(".")[1]
    logging.getLogger("django_nextauth_jwt").warning("claims segment %s", payload)
    findings = leak_guard.scan()
    leak_guard.forget()
    assert any("log line leaks" in f for f in findings)


def test_leak_guard_stays_quiet_on_the_documented_refusals(leak_guard: LeakGuard) -> None:
    token = forge.jws(forge.claims(), forge.OTHER_SECRET)
    assert_refused(Client().get(ME, headers={"Authorization": f"Bearer {token}"}), "token_invalid")
    assert leak_guard.scan() == []
    assert leak_guard.log_lines  # django.request logged the 401: the guard saw it
