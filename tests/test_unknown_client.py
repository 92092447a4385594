"""A client whose address cannot be known: one bucket sized for a site, never the server's own.

The Next.js server signs ``unknown`` when no header its operator named tells it the browser's
address (``example_project/nextjs/django.mjs``). Before, it signed whatever entry of
``X-Forwarded-For`` its count chose, which the browser writes when nothing in front rewrites it;
with a count of 0 it sent nothing, and every browser shared the Next.js server's own budget.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from django_nextauth_jwt.state.throttle import (
    UNKNOWN_CLIENT,
    client_address,
    client_address_signature,
)

pytestmark = [pytest.mark.django_db, pytest.mark.db]

SECRET = "unknown-client-test-secret-0123456789-abcdef"
PASSWORD = "correct horse battery staple"
LOGIN = "/api/auth/custom-login"
NEXTJS_SERVER = "10.0.0.5"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = SECRET
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (2, 300)
    settings.NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT = (6, 300)


@pytest.fixture
def ada(db: None) -> Any:
    return get_user_model().objects.create_user("ada", email="ada@example.com", password=PASSWORD)


def assertion(address: str, secret: str = SECRET) -> str:
    stamp = int(time.time())
    return f"{address};{stamp};{client_address_signature(address, stamp, secret)}"


def sign_in(email: str, password: str, address: str = UNKNOWN_CLIENT, **extra: Any) -> int:
    response = Client().post(
        LOGIN,
        data=json.dumps({"email": email, "password": password}),
        content_type="application/json",
        REMOTE_ADDR=NEXTJS_SERVER,
        HTTP_X_NEXTAUTH_CLIENT_ADDRESS=assertion(address),
        **extra,
    )
    return int(response.status_code)


def test_unknown_client_assertion_is_the_unknown_client(rf: Any) -> None:
    request = rf.post(
        "/", REMOTE_ADDR=NEXTJS_SERVER, HTTP_X_NEXTAUTH_CLIENT_ADDRESS=assertion("unknown")
    )
    assert client_address(request) == UNKNOWN_CLIENT


def test_unknown_client_assertion_must_be_signed(rf: Any) -> None:
    from django_nextauth_jwt.state.throttle import ClientAddressInvalid

    forged = assertion(UNKNOWN_CLIENT, secret="not-the-secret-0123456789-abcdefghij")
    request = rf.post("/", HTTP_X_NEXTAUTH_CLIENT_ADDRESS=forged)
    with pytest.raises(ClientAddressInvalid):
        client_address(request)


def test_failures_of_unknown_clients_past_one_persons_budget_lock_out_no_one(ada: Any) -> None:
    # Three failures: over one client's budget (2), within the shared one (6).
    assert [sign_in("nobody@example.com", "guess") for _ in range(3)] == [401, 401, 401]
    assert sign_in("ada@example.com", PASSWORD) == 200  # and successes are taken back
    assert sign_in("ada@example.com", PASSWORD) == 200


def test_unknown_clients_share_one_budget_that_no_forged_header_renews(ada: Any) -> None:
    answers = [
        sign_in(f"nobody{i}@example.com", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        for i in range(8)
    ]
    assert answers == [401] * 6 + [429] * 2


def test_a_socket_address_that_is_no_ip_is_an_unknown_client(ada: Any) -> None:
    response = Client().post(
        LOGIN,
        data=json.dumps({"email": "nobody@example.com", "password": "guess"}),
        content_type="application/json",
        REMOTE_ADDR="",  # a Unix socket, as gunicorn --bind unix:... reports it
    )
    assert response.status_code == 401
    answers = [
        Client()
        .post(
            LOGIN,
            data=json.dumps({"email": f"n{i}@example.com", "password": "guess"}),
            content_type="application/json",
            REMOTE_ADDR="",
        )
        .status_code
        for i in range(6)
    ]
    assert answers == [401] * 5 + [429]  # the shared budget (6), not one person's (2)


def test_google_starts_of_unknown_clients_share_the_same_sized_budget(settings: Any) -> None:
    answers = [
        Client()
        .post(
            "/api/auth/signin/google",
            REMOTE_ADDR=NEXTJS_SERVER,
            HTTP_X_NEXTAUTH_CLIENT_ADDRESS=assertion(UNKNOWN_CLIENT),
        )
        .status_code
        for _ in range(7)
    ]
    assert answers[-1] == 429
    assert answers.count(429) == 1


def test_without_a_shared_secret_an_assertion_is_not_trusted_and_the_socket_counts(
    rf: Any, settings: Any
) -> None:
    # An asymmetric issuer holds no shared secret: what the Next.js server signed cannot be
    # checked, so it decides nothing (a browser could send one), and it is no 400 either (the
    # Next.js server's sign-ins would all fail).
    settings.NEXTAUTH_SECRET = ""
    for address in ("203.0.113.9", UNKNOWN_CLIENT, "garbage;1;zz"):
        request = rf.post("/", REMOTE_ADDR=NEXTJS_SERVER, HTTP_X_NEXTAUTH_CLIENT_ADDRESS=address)
        assert client_address(request) == NEXTJS_SERVER
