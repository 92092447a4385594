"""Pins on ``state.throttle`` that no test held (issue 27).

The Redis fill that decides how wide a new client's bucket is, the counter keys (the same
across releases: a rolling deploy shares Redis counters between old and new processes), the
widest bucket, and the client address read behind trusted proxies. Each test was shown to
fail with a reviewer's plausible slip applied by hand, or with ``make mutate``'s mutant.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from django.test import RequestFactory

from django_nextauth_jwt.state import store, throttle
from tests.fake_clock import Clock


class Info:
    """A Redis client stand-in that answers ``INFO memory`` as told, and counts the asks."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.sections: list[Any] = []

    def info(self, section: Any = None) -> dict[str, Any]:
        self.sections.append(section)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Networked:
    """A networked store as ``store_fill`` sees one: not the embedded store, with a client."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.client = Info(answer)


class Unreferenceable:
    """A store that cannot be weakly referenced (no ``__weakref__`` slot)."""

    __slots__ = ("client",)

    def __init__(self, answer: dict[str, Any]) -> None:
        self.client = Info(answer)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """``time.monotonic`` as the throttle reads it, set by hand."""
    clock = Clock()
    monkeypatch.setattr("django_nextauth_jwt.state.throttle.time.monotonic", clock)
    return clock


# --------------------------------------------------------------------------- #
# store_fill: Redis's used_memory over maxmemory
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("answer", "fill"),
    [
        ({"used_memory": 300, "maxmemory": 1000}, 0.3),
        ({"used_memory": "750", "maxmemory": "1000"}, 0.75),  # redis-py may hand back text
        ({"used_memory": 1, "maxmemory": 1}, 1.0),  # a maxmemory of one byte is a limit
        ({"used_memory": 5000, "maxmemory": 1000}, 1.0),  # over its limit: full, no more
        ({"used_memory": 5000, "maxmemory": 0}, 0.0),  # no maxmemory: nothing to fill
        ({"maxmemory": 1000}, 0.0),  # Redis did not say how much it uses
        ({"used_memory": 500}, 0.0),  # nor what its limit is
        ({}, 0.0),
    ],
)
def test_redis_fill_is_used_memory_over_maxmemory_exactly(
    clock: Clock, answer: dict[str, Any], fill: float
) -> None:
    redis = Networked(answer)
    assert throttle.store_fill(redis) == fill
    assert redis.client.sections == ["memory"]  # the one section it needs, not all of INFO


def test_a_redis_that_cannot_say_how_full_it_is_widens_nothing(clock: Clock) -> None:
    assert throttle.store_fill(Networked(ConnectionError("down"))) == 0.0
    assert throttle.store_fill(Networked({"used_memory": "n/a", "maxmemory": 10})) == 0.0


def test_redis_is_asked_at_most_every_few_seconds(clock: Clock) -> None:
    redis = Networked({"used_memory": 200, "maxmemory": 1000})
    assert throttle.store_fill(redis) == 0.2
    redis.client.answer = {"used_memory": 900, "maxmemory": 1000}
    clock.now += 4.99  # seconds: Redis is asked at most every five (docs/deployment.md)
    assert throttle.store_fill(redis) == 0.2  # the last answer, not a new question
    assert len(redis.client.sections) == 1
    clock.now += 0.01  # five seconds after the question: asked again
    assert throttle.store_fill(redis) == 0.9
    assert len(redis.client.sections) == 2


def test_a_failed_question_is_remembered_too(clock: Clock) -> None:
    redis = Networked(ConnectionError("down"))
    assert throttle.store_fill(redis) == 0.0
    redis.client.answer = {"used_memory": 900, "maxmemory": 1000}
    # A Redis that fails to answer is not asked on every request meanwhile.
    assert throttle.store_fill(redis) == 0.0
    assert len(redis.client.sections) == 1


def test_each_store_has_its_own_remembered_fill(clock: Clock) -> None:
    one = Networked({"used_memory": 100, "maxmemory": 1000})
    other = Networked({"used_memory": 800, "maxmemory": 1000})
    assert (throttle.store_fill(one), throttle.store_fill(other)) == (0.1, 0.8)


def test_a_store_that_cannot_be_weakly_referenced_is_asked_every_time(
    clock: Clock,
) -> None:
    redis = Unreferenceable({"used_memory": 400, "maxmemory": 1000})
    assert throttle.store_fill(redis) == 0.4
    redis.client.answer = {"used_memory": 600, "maxmemory": 1000}
    assert throttle.store_fill(redis) == 0.6


def test_the_embedded_store_is_its_counters_over_their_cap() -> None:
    small = store.MemoryStore(max_counters=8)
    for n in range(6):
        small.incr(f"k{n}", 60)
    assert throttle.store_fill(small) == 0.75


# --------------------------------------------------------------------------- #
# The counters' keys: the same in every release
# --------------------------------------------------------------------------- #


def test_a_counter_key_is_scope_window_and_a_digest_of_the_value() -> None:
    digest = hashlib.sha256(b"ada@example.com").hexdigest()[:32]
    assert throttle._key("account", "ada@example.com", 300) == f"account:300:{digest}"


def test_a_counter_key_takes_any_text_even_a_lone_surrogate() -> None:
    digest = hashlib.sha256("\ud800".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    assert throttle._key("account", "\ud800", 60) == f"account:60:{digest}"


def test_sign_in_attempts_are_counted_under_client_and_account_keys(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (20, 300)
    settings.NEXTAUTH_LOGIN_RATE_PER_ACCOUNT = (5, 600)
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.7")
    assert throttle.check_login(request, "Ada@Example.com") is None
    counters = store.memory_store()._counters.entries
    assert set(counters) == {
        throttle._key("client", "203.0.113.7", 300),
        throttle._key("account", "ada@example.com", 600),
    }
    throttle.forgive(request, "ada@example.com")
    assert [count for count, _ in counters.values()] == [0, 0]


def test_a_sign_in_start_is_counted_under_its_own_scope(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (2, 300)
    request = RequestFactory().post("/", REMOTE_ADDR="2001:db8:1:2::7")
    assert throttle.check_client(request, "google-start") is None
    counters = store.memory_store()._counters.entries
    assert set(counters) == {throttle._key("client:google-start", "2001:db8:1:2::/64", 300)}
    assert throttle.check_client(request, "google-start") is None
    assert throttle.check_client(request, "google-start") is not None  # third of two


# --------------------------------------------------------------------------- #
# Buckets and the client address
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("level", [2, 3, 10])
def test_no_level_is_wider_than_the_widest_bucket(level: int) -> None:
    assert throttle.client_bucket("203.0.113.7", level) == "203.0.0.0/16"
    assert throttle.client_bucket("2001:db8:1:2::7", level) == "2001:db8::/32"


def test_without_forwarded_for_a_trusted_proxy_count_keeps_the_socket_address(
    settings: Any,
) -> None:
    settings.NEXTAUTH_TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.7")
    assert throttle.client_address(request) == "203.0.113.7"


@pytest.mark.parametrize(
    ("xff", "expected"),
    [
        ("198.51.100.9", "198.51.100.9"),  # exactly as many hops as configured
        ("  198.51.100.9  ", "198.51.100.9"),
        ("6.6.6.6,198.51.100.9", "198.51.100.9"),
        ("6.6.6.6, 198.51.100.9, ", "198.51.100.9"),  # an empty hop is no hop
        ("6.6.6.6, 198.51.100.9,,", "198.51.100.9"),
    ],
)
def test_the_forwarded_address_is_read_hop_by_hop(settings: Any, xff: str, expected: str) -> None:
    settings.NEXTAUTH_TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=xff)
    assert throttle.client_address(request) == expected


def test_without_a_socket_address_the_client_is_unknown() -> None:
    request = RequestFactory().post("/")
    del request.META["REMOTE_ADDR"]
    assert throttle.client_address(request) == throttle.UNKNOWN_CLIENT


def test_an_address_is_counted_in_its_normal_form() -> None:
    request = RequestFactory().post("/", REMOTE_ADDR="2001:DB8:0:0::7")
    assert throttle.client_address(request) == "2001:db8::7"


@pytest.mark.parametrize(
    ("stamp", "signature"),
    [("12a", "0" * 64), ("1" * 13, "0" * 64), ("123", "0" * 63), ("123", "G" * 64)],
)
def test_an_assertion_with_a_malformed_stamp_or_signature_is_refused(
    stamp: str, signature: str
) -> None:
    header = f"203.0.113.7;{stamp};{signature}"
    request = RequestFactory().post("/", HTTP_X_NEXTAUTH_CLIENT_ADDRESS=header)
    with pytest.raises(throttle.ClientAddressInvalid):
        throttle.asserted_address(request)


def test_the_client_address_header_is_the_one_the_nextjs_server_sends() -> None:
    assert throttle.CLIENT_ADDRESS_HEADER == "X-NextAuth-Client-Address"
    request = RequestFactory().post("/", headers={throttle.CLIENT_ADDRESS_HEADER: "x;1;2"})
    with pytest.raises(throttle.ClientAddressInvalid):
        throttle.asserted_address(request)


def test_the_client_address_signature_is_the_documented_hmac() -> None:
    # What the Next.js server computes (docs/sign-in.md): HMAC-SHA256 over this exact text.
    message = b"nextauth-client-address:v1|203.0.113.7|1800000000"
    expected = hmac.new(b"s3cret", message, hashlib.sha256).hexdigest()
    assert throttle.client_address_signature("203.0.113.7", 1_800_000_000, "s3cret") == expected
