"""The browser's address, asserted by the Next.js server with the shared secret.

NextAuth's ``authorize()`` calls custom-login server to server: every person signing in shared
the Next.js server's per-client bucket, so twenty bad attempts from anyone locked everyone out.
The Next.js server now signs the browser's address (``X-NextAuth-Client-Address``); a browser
calling Django directly cannot.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from django_nextauth_jwt.state.throttle import (
    ClientAddressInvalid,
    client_address,
    client_address_signature,
)
from tests.forge import OTHER_SECRET, SECRET

LOGIN = "/api/auth/custom-login"
PASSWORD = "correct horse battery staple"
NEXTJS_SERVER = "10.0.0.5"

pytestmark = pytest.mark.django_db


def assertion(address: str, *, secret: str = SECRET, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    return f"{address};{stamp};{client_address_signature(address, stamp, secret)}"


def login(email: str, password: str, header: str | None, remote: str = NEXTJS_SERVER) -> Any:
    extra: dict[str, Any] = {}
    if header is not None:
        extra["HTTP_X_NEXTAUTH_CLIENT_ADDRESS"] = header
    return Client().post(
        LOGIN,
        data=json.dumps({"email": email, "password": password}),
        content_type="application/json",
        REMOTE_ADDR=remote,
        **extra,
    )


@pytest.fixture
def ada() -> Any:
    return get_user_model().objects.create_user("ada", email="ada@example.com", password=PASSWORD)


def test_anonymous_failures_through_nextjs_no_longer_lock_out_other_people(ada: Any) -> None:
    attacker = assertion("198.51.100.66")
    for i in range(20):
        assert login(f"nobody{i}@example.com", "guess", attacker).status_code == 401
    assert login("nobody@example.com", "guess", attacker).status_code == 429
    # Ada signs in through the same Next.js server, from her own address.
    assert login("ada@example.com", PASSWORD, assertion("203.0.113.7")).status_code == 200


def test_forged_client_address_header_from_a_browser_is_refused(ada: Any) -> None:
    # A browser calling Django directly, hoping for a fresh per-client budget per request.
    forged = "203.0.113.7;" + str(int(time.time())) + ";" + "ab" * 32
    response = login("ada@example.com", PASSWORD, forged, remote="198.51.100.66")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_client_address")
    assert "token" not in response.json()


@pytest.mark.parametrize(
    "header",
    [
        "",
        "203.0.113.7",
        "203.0.113.7;123",
        "not-an-ip;{now};{sig}",
        "203.0.113.7;-5;{sig}",
        "203.0.113.7;{now};{sig};extra",
        "203.0.113.7;{now};" + "AB" * 32,
        "203.0.113.7;{now};zz",
        "203.0.113.7;99999999999999999999;{sig}",
        "\u0661\u0662\u0663.0.0.1;{now};{sig}",
    ],
    ids=[
        "empty",
        "no-stamp",
        "no-sig",
        "bad-ip",
        "negative",
        "extra",
        "upper-hex",
        "short-sig",
        "huge-stamp",
        "unicode-digits",
    ],
)
def test_malformed_client_address_assertions_are_400_never_500(ada: Any, header: str) -> None:
    now = int(time.time())
    header = header.format(now=now, sig=client_address_signature("203.0.113.7", now, SECRET))
    response = login("ada@example.com", PASSWORD, header)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_client_address")


def test_stale_or_foreign_assertions_are_refused(settings: Any) -> None:
    settings.NEXTAUTH_CLIENT_ADDRESS_MAX_AGE = 30
    factory = RequestFactory()
    for header in (
        assertion("203.0.113.7", at=int(time.time()) - 31),  # replayed later
        assertion("203.0.113.7", at=int(time.time()) + 31),  # from the future
        assertion("203.0.113.7", secret=OTHER_SECRET),  # not our secret
        assertion("203.0.113.7").replace("203.0.113.7", "203.0.113.8", 1),  # address swapped
    ):
        request = factory.post(LOGIN, HTTP_X_NEXTAUTH_CLIENT_ADDRESS=header)
        with pytest.raises(ClientAddressInvalid):
            client_address(request)


def test_any_configured_secret_signs_during_a_rotation(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = [SECRET, OTHER_SECRET]
    request = RequestFactory().post(
        LOGIN, HTTP_X_NEXTAUTH_CLIENT_ADDRESS=assertion("2001:db8::1", secret=OTHER_SECRET)
    )
    assert client_address(request) == "2001:db8::1"


def test_asserted_address_wins_over_forwarded_for(settings: Any) -> None:
    settings.NEXTAUTH_TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().post(
        LOGIN,
        REMOTE_ADDR=NEXTJS_SERVER,
        HTTP_X_FORWARDED_FOR="6.6.6.6",
        HTTP_X_NEXTAUTH_CLIENT_ADDRESS=assertion("203.0.113.7"),
    )
    assert client_address(request) == "203.0.113.7"


def test_without_an_assertion_the_socket_address_counts() -> None:
    request = RequestFactory().post(LOGIN, REMOTE_ADDR=NEXTJS_SERVER)
    assert client_address(request) == NEXTJS_SERVER


def test_the_signature_is_domain_separated_from_token_signatures() -> None:
    import hashlib
    import hmac

    plain = hmac.new(SECRET.encode(), b"203.0.113.7|1", hashlib.sha256).hexdigest()
    assert client_address_signature("203.0.113.7", 1, SECRET) != plain


def test_forged_client_address_on_google_sign_in_start_is_400(settings: Any) -> None:
    forged = "203.0.113.7;" + str(int(time.time())) + ";" + "ab" * 32
    response = Client().post("/api/auth/signin/google", HTTP_X_NEXTAUTH_CLIENT_ADDRESS=forged)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_client_address")
