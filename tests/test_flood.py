"""No anonymous flood refuses others: the embedded store, the Google start, over IPv4 and IPv6.

Scaled down: the embedded store gets a cap of 100 counters (the real one holds 100,000) and
the flood some thousand requests, each from a fresh address, as a holder of a /48 (or of many
IPv4 networks) sends them. Other people keep signing in while it lasts, and no request of it
writes a database row (no ``django_session``, no social-auth nonce).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from social_django.models import Nonce

from django_nextauth_jwt.state import store
from django_nextauth_jwt.state.throttle import bucket_level, client_bucket
from tests.test_google import google, google_server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.db]

CAP = 100
LOGIN = "/api/auth/custom-login"
GOOGLE_START = "/api/auth/signin/google"
PASSWORD = "correct horse battery staple"

#: A flood from one IPv6 /48 (a fresh /64 per request) and from IPv4 addresses spread over
#: 250 /24s in four /16s.
IPV6_FLOOD = [f"2001:db8:77:{n:x}::1" for n in range(1500)]
IPV4_FLOOD = [f"10.{n % 4}.{n // 4 % 250}.{n % 97 + 1}" for n in range(1500)]
#: Other people, in networks of their own.
OTHERS = ["198.51.100.23", "2001:db8:aaaa:1::23"]


@pytest.fixture
def small_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[store.MemoryStore]:
    small = store.MemoryStore(max_counters=CAP)
    monkeypatch.setattr(store, "_memory", small)
    store.current.cache_clear()
    yield small
    store.current.cache_clear()


@pytest.fixture
def ada(db: None) -> Any:
    return get_user_model().objects.create_user("ada", email="ada@example.com", password=PASSWORD)


def sign_in(address: str, email: str, password: str) -> int:
    response = Client().post(
        LOGIN,
        data=json.dumps({"email": email, "password": password}),
        content_type="application/json",
        REMOTE_ADDR=address,
    )
    return int(response.status_code)


def google_start(address: str) -> int:
    return int(Client().post(GOOGLE_START, {"callbackUrl": "/"}, REMOTE_ADDR=address).status_code)


def guess(address: str) -> int:
    return sign_in(address, f"victim-{address}@example.com", "guess")


FLOODS: dict[str, tuple[list[str], Callable[[str], int]]] = {
    "ipv6-google-start": (IPV6_FLOOD, google_start),
    "ipv4-google-start": (IPV4_FLOOD, google_start),
    "ipv6-password-guesses": (IPV6_FLOOD, guess),
    "ipv4-password-guesses": (IPV4_FLOOD, guess),
}


@pytest.mark.usefixtures("google", "ada")
@pytest.mark.parametrize("flood", list(FLOODS))
def test_anonymous_flood_filling_the_store_refuses_only_the_flood(
    small_store: store.MemoryStore, flood: str
) -> None:
    addresses, send = FLOODS[flood]
    answers = [send(address) for address in addresses]

    # The flood met its own limit (429), never the store's (503): it was counted in ever
    # wider buckets as the table filled, and the table never filled.
    assert 429 in answers
    assert 503 not in answers
    assert small_store.counters_fill() < 1.0
    # Everyone else signs in, by password and with Google, from either family.
    for address in OTHERS:
        assert sign_in(address, "ada@example.com", PASSWORD) == 200, address
        assert google_start(address) == 302, address


@pytest.mark.usefixtures("google")
@pytest.mark.parametrize("addresses", [IPV6_FLOOD, IPV4_FLOOD], ids=["ipv6", "ipv4"])
def test_anonymous_google_starts_write_no_session_row(
    small_store: store.MemoryStore, addresses: list[str]
) -> None:
    answers = [google_start(address) for address in addresses[:300]]

    assert answers.count(302) >= 20  # the flood's own budget went through to Google
    assert Session.objects.count() == 0
    assert Nonce.objects.count() == 0


@pytest.mark.usefixtures("ada")
def test_a_full_store_refuses_a_new_client_rather_than_forget_a_counter(
    small_store: store.MemoryStore,
) -> None:
    # Filled by hand, as no flood can: every counter live, the table at its cap.
    for n in range(CAP):
        small_store.incr(f"held:{n}", 300)
    assert small_store.counters_fill() == 1.0

    assert sign_in("198.51.100.99", "ada@example.com", PASSWORD) == 503


@pytest.mark.parametrize(
    ("fill", "level"), [(0.0, 0), (0.49, 0), (0.5, 1), (0.74, 1), (0.75, 2), (1.0, 2)]
)
def test_bucket_level_widens_as_the_store_fills(fill: float, level: int) -> None:
    assert bucket_level(fill) == level


@pytest.mark.parametrize(
    ("address", "buckets"),
    [
        ("203.0.113.7", ["203.0.113.7", "203.0.113.0/24", "203.0.0.0/16"]),
        ("2001:db8:1:2::7", ["2001:db8:1:2::/64", "2001:db8:1::/48", "2001:db8::/32"]),
        ("::ffff:203.0.113.7", ["203.0.113.7", "203.0.113.0/24", "203.0.0.0/16"]),
        ("unknown", ["unknown", "unknown", "unknown"]),
    ],
)
def test_client_buckets_widen_by_level(address: str, buckets: list[str]) -> None:
    assert [client_bucket(address, level) for level in range(3)] == buckets


@pytest.mark.usefixtures("google", "small_store")
def test_google_flow_state_travels_in_a_signed_cookie() -> None:
    start = Client().post(GOOGLE_START, {"callbackUrl": "/"}, REMOTE_ADDR="198.51.100.5")
    assert start.status_code == 302
    assert start.cookies["nextauth-jwt.google-flow"]["httponly"]
    assert start.cookies["nextauth-jwt.google-flow"]["samesite"] == "Lax"


# --------------------------------------------------------------------------- #
# Redis: the same widening, by how much of its maxmemory is used
# --------------------------------------------------------------------------- #


def test_redis_fill_is_used_memory_over_maxmemory(redis_store: str) -> None:
    from django_nextauth_jwt.state.throttle import store_fill

    current = store.current()
    info = current.client.info("memory")  # type: ignore[attr-defined]
    # What the real Redis says: no maxmemory (as on this machine) is nothing to fill.
    expected = info["used_memory"] / info["maxmemory"] if info["maxmemory"] else 0.0
    assert store_fill(current) == pytest.approx(expected, abs=0.02)


def test_a_flood_into_a_filling_redis_is_counted_in_wide_buckets(
    redis_store: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.test import RequestFactory

    from django_nextauth_jwt.state.throttle import check_login

    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (3, 60)
    current = store.current()
    # Four fifths of its maxmemory used, as INFO memory would say during a flood.
    monkeypatch.setattr(
        current.client,  # type: ignore[attr-defined]
        "info",
        lambda section=None: {"used_memory": 800, "maxmemory": 1000},
    )

    def attempt(address: str, n: int) -> int | None:
        request = RequestFactory().post("/", REMOTE_ADDR=address)
        return check_login(request, f"sprayed{n}@example.com")

    # Fresh addresses of one /16: one bucket, refused after its budget.
    waits = [attempt(f"10.7.{n}.1", n) for n in range(6)]
    assert waits[:3] == [None, None, None]
    assert all(wait is not None for wait in waits[3:])
    # Another network has its own.
    assert attempt("192.0.2.1", 99) is None
