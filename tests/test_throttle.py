"""Login throttle counters and the client address they are keyed on."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from django_nextauth_jwt.state.throttle import check_login, client_address


def request(remote: str = "203.0.113.7", xff: str | None = None) -> Any:
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().post("/api/auth/custom-login", **extra)


def test_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    assert client_address(request(xff="1.2.3.4")) == "203.0.113.7"


@pytest.mark.parametrize(
    ("hops", "xff", "expected"),
    [
        (1, "1.1.1.1, 198.51.100.9", "198.51.100.9"),
        (2, "6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
        (2, "10.0.0.2", "203.0.113.7"),  # fewer hops than configured: the socket address
        (1, "not-an-ip", "unknown"),
    ],
)
def test_trusted_proxy_count_picks_the_address_a_proxy_saw(
    settings: Any, hops: int, xff: str, expected: str
) -> None:
    settings.NEXTAUTH_TRUSTED_PROXY_COUNT = hops
    assert client_address(request(xff=xff)) == expected


def test_per_account_limit_applies_across_addresses(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_ACCOUNT = (3, 60)
    results = [check_login(request(remote=f"198.51.100.{i}"), "Ada@Example.com") for i in range(4)]
    assert results[:3] == [None, None, None]
    assert results[3] is not None
    assert 1 <= results[3] <= 60


def test_per_client_limit_cannot_be_dodged_by_rotating_forwarded_for(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (3, 60)
    waits = [check_login(request(xff=f"10.9.9.{i}"), f"user{i}@example.com") for i in range(5)]
    assert waits[:3] == [None, None, None]
    assert all(w is not None for w in waits[3:])


def test_counters_live_in_redis_when_configured(redis_store: str, settings: Any) -> None:
    from django_nextauth_jwt.state.store import RedisStore, current, memory_store

    settings.NEXTAUTH_LOGIN_RATE_PER_ACCOUNT = (2, 60)
    assert check_login(request(), "a@example.com") is None
    current().client.close()  # type: ignore[attr-defined]  # a new connection, as another process
    assert isinstance(current(), RedisStore)
    assert check_login(request(), "a@example.com") is None
    assert check_login(request(), "a@example.com") is not None
    assert len(memory_store()) == 0


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", "unknown"),
    ],
)
def test_ipv6_clients_share_their_64_bucket(address: str, bucket: str) -> None:
    from django_nextauth_jwt.state.throttle import client_bucket

    assert client_bucket(address) == bucket


def test_rotating_addresses_inside_one_ipv6_64_does_not_reset_the_budget(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (3, 60)
    waits = [
        check_login(request(remote=f"2001:db8:1:2::{i:x}"), f"user{i}@example.com")
        for i in range(5)
    ]
    assert waits[:3] == [None, None, None]
    assert all(w is not None for w in waits[3:])
