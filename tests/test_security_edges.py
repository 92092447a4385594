"""The security modules' edges above the codec, each pinned exactly.

Claims, the deny-list, NextAuth's CSRF proof, redirects and the policy: what mutation
testing (``make mutate``) showed no test observed. Each test names the behaviour it pins.
The codec's own edges are in ``tests/codec/test_codec_edges.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.claims import build_payload, validate_claims
from django_nextauth_jwt.csrf import (
    SAFE_METHODS,
    csrf_failure_reason,
    django_csrf_failure,
    nextauth_csrf_valid,
)
from django_nextauth_jwt.jose import codec
from django_nextauth_jwt.policy import policy
from django_nextauth_jwt.state import revocation, store
from tests import forge
from tests.request_helpers import OTHER_SECRET, SECRET, nextauth_csrf_cookie

rf = RequestFactory()
NOW = 1_700_000_000
LEEWAY = 15  # NEXTAUTH_LEEWAY's default


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    caches["default"].clear()


# --------------------------------------------------------------------------- #
# Claims: the caller's clock and the exact boundaries
# --------------------------------------------------------------------------- #


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "42", "exp": NOW + 60, **extra}


def test_the_callers_now_is_the_clock_claims_are_checked_against() -> None:
    # A token that expired long ago in real time is valid at the caller's `now`, and one
    # valid now is expired at a `now` far in the future.
    assert validate_claims(claims(), now=NOW)["id"] == "42"
    with pytest.raises(exc.TokenExpired):
        validate_claims({"sub": "42", "exp": int(time.time()) + 60}, now=4_000_000_000)


def test_exp_is_expired_from_now_minus_leeway_on() -> None:
    assert validate_claims(claims(exp=NOW - LEEWAY + 1), now=NOW)["sub"] == "42"
    with pytest.raises(exc.TokenExpired):
        validate_claims(claims(exp=NOW - LEEWAY), now=NOW)


@pytest.mark.parametrize("name", ["nbf", "iat"])
def test_nbf_and_iat_are_valid_up_to_now_plus_leeway(name: str) -> None:
    assert validate_claims(claims(**{name: NOW + LEEWAY}), now=NOW)["sub"] == "42"
    with pytest.raises(exc.TokenNotYetValid):
        validate_claims(claims(**{name: NOW + LEEWAY + 1}), now=NOW)


def test_the_leeway_comes_from_the_policy(settings: Any) -> None:
    settings.NEXTAUTH_LEEWAY = 0
    with pytest.raises(exc.TokenExpired):
        validate_claims(claims(exp=NOW), now=NOW)
    with pytest.raises(exc.TokenNotYetValid):
        validate_claims(claims(nbf=NOW + 1), now=NOW)
    assert validate_claims(claims(exp=NOW + 1, nbf=NOW, iat=NOW), now=NOW)["sub"] == "42"


def test_validate_claims_returns_a_copy_with_id_and_leaves_its_input_alone() -> None:
    given = claims(email="ada@example.com")
    result = validate_claims(given, now=NOW)
    assert result == {**given, "id": "42"}
    assert "id" not in given


@pytest.mark.parametrize(
    "payload",
    [
        {"sub": "42"},
        {"sub": "42", "exp": None},
        {"sub": "42", "exp": NOW + 60, "nbf": None},
        {"sub": "42", "exp": NOW + 60, "iat": None},
        {"sub": "42", "exp": True},
        {"sub": "42", "exp": float(NOW + 60)},
        {"sub": "42", "exp": str(NOW + 60)},
        {"sub": "42", "exp": 253_402_300_800},
        {"sub": "42", "exp": NOW + 60, "nbf": -253_402_300_800},
        {"exp": NOW + 60},
        {"sub": "", "exp": NOW + 60},
        {"sub": 42, "exp": NOW + 60},
    ],
)
def test_claims_of_the_wrong_type_or_range_are_invalid(payload: dict[str, Any]) -> None:
    with pytest.raises(exc.TokenClaimsInvalid):
        validate_claims(payload, now=NOW)


def test_times_up_to_the_end_of_year_9999_are_numbers_a_token_may_carry() -> None:
    last = 253_402_300_799
    assert validate_claims(claims(exp=last), now=NOW)["exp"] == last
    assert validate_claims(claims(nbf=-last, iat=-last), now=NOW)["nbf"] == -last


def test_the_earliest_time_a_token_may_carry_is_an_expired_exp_not_a_bad_claim() -> None:
    # Kills `exp <= -_MAX_TIMESTAMP`: the range is inclusive at both ends.
    with pytest.raises(exc.TokenExpired):
        validate_claims(claims(exp=-253_402_300_799), now=NOW)


def test_build_payload_keeps_the_sid_and_auth_time_of_the_session_it_re_encodes() -> None:
    # Kills every mutation of the sid and auth_time lines: a refresh keeps the session (the
    # deny-list's key) and the sign-in time (sign out everywhere compares it).
    kept = build_payload({"id": "7", "sid": "session-1", "auth_time": 1_700_000_000})
    assert (kept["sid"], kept["auth_time"]) == ("session-1", 1_700_000_000)
    before = int(time.time())
    for fresh_claims in ({"id": "7"}, {"id": "7", "sid": "", "auth_time": "1700000000"}):
        fresh = build_payload(fresh_claims)
        assert len(fresh["sid"]) == 36
        assert fresh["auth_time"] == fresh["iat"]
        assert before <= fresh["auth_time"] <= int(time.time())
    for bad_sid in (7, None, ["s"]):
        assert len(build_payload({"id": "7", "sid": bad_sid})["sid"]) == 36


def test_issuer_and_audience_are_matched_when_configured(settings: Any) -> None:
    settings.NEXTAUTH_ISSUER = "https://app.example.com"
    settings.NEXTAUTH_AUDIENCE = "api"
    good = claims(iss="https://app.example.com", aud="api")
    assert validate_claims(good, now=NOW)["sub"] == "42"
    assert validate_claims({**good, "aud": ["other", "api"]}, now=NOW)["sub"] == "42"
    for bad in (
        {**good, "iss": "https://evil.example"},
        {k: v for k, v in good.items() if k != "iss"},
        {**good, "aud": "other"},
        {**good, "aud": ["other"]},
        {**good, "aud": ["api", 7]},
        {k: v for k, v in good.items() if k != "aud"},
    ):
        with pytest.raises(exc.TokenClaimsInvalid):
            validate_claims(bad, now=NOW)


def test_build_payload_sets_sub_iat_exp_jti_and_the_configured_iss_and_aud(
    settings: Any,
) -> None:
    settings.NEXTAUTH_ISSUER = "https://app.example.com"
    settings.NEXTAUTH_AUDIENCE = "api"
    before = int(time.time())
    payload = build_payload({"id": 7, "email": "ada@example.com"}, max_age=100)
    after = int(time.time())
    assert payload["sub"] == "7"
    assert "id" not in payload
    assert before <= payload["iat"] <= after
    assert payload["exp"] == payload["iat"] + 100
    assert (payload["iss"], payload["aud"]) == ("https://app.example.com", "api")
    assert len(payload["jti"]) == 36
    assert build_payload({"id": 7})["jti"] != payload["jti"]
    default = build_payload({"sub": "7"})
    assert default["exp"] - default["iat"] == 30 * 24 * 3600
    assert build_payload({"id": "7", "sub": "7"})["sub"] == "7"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, r"^claims need an 'id' \(or 'sub'\)$"),
        ({"id": None}, r"^claims need an 'id' \(or 'sub'\)$"),
        ({"id": ""}, r"^claims need an 'id' \(or 'sub'\)$"),
        ({"id": True}, r"^claims need an 'id' \(or 'sub'\)$"),
        ({"id": 1, "sub": "2"}, r"^claims 'id' and 'sub' disagree$"),
    ],
)
def test_build_payload_needs_one_subject(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_payload(given)


# --------------------------------------------------------------------------- #
# The deny-list
# --------------------------------------------------------------------------- #


def sha(name: str) -> str:
    """The digest a networked store's key carries: 128 bits of SHA-256 in hex."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def expected_key(name: str) -> str:
    """The embedded store's key of a token revoked by ``name`` (``jti:<jti>``, ``signed:<JWS
    header.payload>`` or ``token:<JWE text>``):
    a jti of up to ``RAW_KEY_MAX`` characters as it is, a longer one and a token by digest."""
    if name.startswith("jti:") and len(name) <= revocation.RAW_KEY_MAX:
        return "jti=" + name
    return "jti:" + sha(name)


def revocations() -> dict[str, tuple[int, float]]:
    """The embedded store's live revocation entries: key -> (value, expiry)."""
    return store.memory_store()._revocations.entries


def test_revocation_of_one_copy_does_not_need_the_token_text(settings: Any) -> None:
    # The same claims (same jti) encrypted twice: two texts, one session. Signing out of
    # one copy signs out of the other, which a deny-list keyed by the text would miss.
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "authjs-v5"]
    payload = build_payload({"id": "7"})
    pol = policy()
    first, second = (codec.encode(payload, pol.keys, format="authjs-v5") for _ in range(2))
    assert first != second
    assert "authjs-v5" in pol.accepted_formats
    JWTAuth.revoke(first)
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(second)
    resigned = forge.jws(payload, header={"alg": "HS256", "typ": "JWT", "kid": "another"})
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(resigned)


def test_redis_deny_list_keys_are_stable_across_releases(redis_store: str, settings: Any) -> None:
    # Processes of two releases share one Redis during a rolling deploy: both must name a
    # revoked token the same way, by digests of the jti, what was signed (a JWS's header and
    # payload; a JWE's whole text), the session and the user.
    import redis

    revocation.revoke({"sub": "7", "jti": "abc", "exp": int(time.time()) + 60}, "a.b.c")
    revocation.revoke({"sub": "7", "exp": int(time.time()) + 60}, "x.y.z")
    revocation.revoke({"sub": "7", "jti": "", "exp": int(time.time()) + 60}, "e.m.pty")
    revocation.revoke({"sub": "7", "jti": 12, "exp": int(time.time()) + 60}, "n.u.m")
    revocation.revoke({"sub": "7", "exp": int(time.time()) + 60}, "h..i.c.t")
    revocation.revoke({"sub": "7", "sid": "s1", "exp": int(time.time()) + 60}, "s.i.d")
    revocation.revoke_user("7")
    revocation.revoke_account(7)
    # Literals, computed once: a change of prefix, hash, length or naming breaks these.
    written = {
        "jti:" + hashlib.sha256(b"jti:abc").hexdigest()[:32],
        "jti:" + hashlib.sha256(b"signed:x.y").hexdigest()[:32],
        "jti:" + hashlib.sha256(b"signed:e.m").hexdigest()[:32],
        "jti:" + hashlib.sha256(b"signed:n.u").hexdigest()[:32],
        "jti:" + hashlib.sha256(b"token:h..i.c.t").hexdigest()[:32],
        "sid:" + hashlib.sha256(b"7\x00s1").hexdigest()[:32],
        "user:" + hashlib.sha256(b"7").hexdigest()[:32],
        "account:" + hashlib.sha256(b"7").hexdigest()[:32],
    }
    prefix = settings.NEXTAUTH_REDIS_KEY_PREFIX + "rv:"
    client = redis.Redis.from_url(redis_store)
    try:
        held = {k.decode()[len(prefix) :] for k in client.scan_iter(match=prefix + "*")}
    finally:
        client.close()
    assert held == written
    assert revocation.session_key({"sub": "7", "sid": "s1"}) in written
    assert revocation.user_key("7") in written
    assert revocation.account_key(7) in written
    assert revocation.token_key({"jti": "abc"}, "a.b.c") in written


def test_the_embedded_store_keys_short_names_as_they_are_and_long_ones_by_digest() -> None:
    # Its keys never leave the process: no hash per new session, and an entry stays small.
    # Literal lengths: "jti:" and 124 characters is the longest raw name (128).
    longest = "j" * 124
    too_long = longest + "j"
    assert revocation.user_key("u" * 128) == "user=" + "u" * 128
    assert revocation.user_key("u" * 129) == "user:" + sha("u" * 129)
    assert revocation.session_key({"sub": "7", "sid": "s1"}) == "sid=7\x00s1"
    assert revocation.user_key("7") == "user=7"
    assert revocation.account_key(7) == "account=7"
    assert revocation.token_key({"jti": "abc"}, "a.b.c") == "jti=jti:abc"
    assert revocation.token_key({"jti": longest}, "t") == f"jti=jti:{longest}"
    assert revocation.token_key({"jti": too_long}, "t") == "jti:" + sha(f"jti:{too_long}")
    assert revocation.token_key({}, "a.b.c") == "jti:" + sha("signed:a.b")
    assert revocation.token_key({}, "h..i.c.t") == "jti:" + sha("token:h..i.c.t")
    sub = "u" * (revocation.RAW_KEY_MAX + 1)
    assert revocation.user_key(sub) == "user:" + sha(sub)
    assert revocation.session_key({"sub": sub, "sid": "s"}) == "sid:" + sha(f"{sub}\x00s")
    for claims in ({"sub": "7", "sid": "s1"}, {"sub": sub, "sid": "s"}):
        revocation.revoke({**claims, "exp": int(time.time()) + 60}, "t")
        assert revocation.session_key(claims) in revocations()
        assert revocation.is_revoked(claims, "t")
    assert not revocation.is_revoked({"sub": "7", "sid": "s2"}, "t")
    assert not revocation.is_revoked({"sub": "8", "sid": "s1"}, "t")


def test_a_lone_surrogate_in_jti_still_names_a_deny_list_entry() -> None:
    # The codec refuses such claims at verification; the deny-list's own functions take
    # any claims mapping (sign-out of other sessions, other callers) and must not raise.
    pol = policy()
    lone = {"sub": "7", "jti": "\ud800", "exp": int(time.time()) + 60}
    other = {"sub": "7", "jti": "\udfff", "exp": int(time.time()) + 60}
    revocation.check(lone, "t", pol)
    revocation.revoke(lone, "t", pol=pol)
    with pytest.raises(exc.TokenRevoked):
        revocation.check(lone, "t", pol)
    revocation.check(other, "t", pol)
    assert expected_key("jti:\ud800") in revocations()
    # By digest too (a long one here; every one in Redis): surrogates pass into the hash.
    long_jti = "\ud800" * revocation.RAW_KEY_MAX
    long_lone = {**lone, "jti": long_jti}
    long_other = {**other, "jti": "\udfff" * revocation.RAW_KEY_MAX}
    revocation.revoke(long_lone, "t", pol=pol)
    with pytest.raises(exc.TokenRevoked):
        revocation.check(long_lone, "t", pol)
    revocation.check(long_other, "t", pol)
    assert expected_key("jti:" + long_jti) in revocations()


def test_a_revocation_lasts_until_exp_plus_leeway_and_at_least_a_second() -> None:
    # A token's own entry: until its exp plus the leeway; one without a usable exp is accepted
    # by nobody past now plus the leeway either; one already past its exp, a second.
    now = int(time.time())
    revocation.revoke({"sub": "7", "jti": "soon", "exp": now + 100}, "t")
    revocation.revoke({"sub": "7", "jti": "past", "exp": now - 1000}, "t")
    revocation.revoke({"sub": "7", "jti": "none"}, "t")
    revocation.revoke({"sub": "7", "jti": "text", "exp": str(now + 100)}, "t")
    held = revocations()

    def ttl(jti: str) -> float:
        return held[expected_key(f"jti:{jti}")][1] - time.monotonic()  # the store's clock

    assert 100 < ttl("soon") <= 100 + LEEWAY + 1
    assert 0 < ttl("past") <= 1
    for jti in ("none", "text"):
        assert LEEWAY - 1 < ttl(jti) <= LEEWAY + 1


def ttl_of(key: str) -> float:
    return revocations()[key][1] - time.monotonic()


def test_a_session_revocation_outlives_max_age_when_the_token_does() -> None:
    pol = policy()
    now = int(time.time())
    far = {"sub": "7", "sid": "far", "exp": now + pol.max_age + 1000}
    revocation.revoke(far, "t", pol=pol)
    left = ttl_of(revocation.session_key(far) or "")
    assert pol.max_age + 1000 + LEEWAY - 2 < left <= pol.max_age + 1000 + LEEWAY + 1


@pytest.mark.parametrize("exp", [None, "4000000000", 10], ids=["none", "text", "past"])
def test_a_session_revocation_lasts_the_absolute_lifetime_plus_two_leeways_at_least(
    exp: Any,
) -> None:
    # Every copy of the session, however often refreshed, ends by its start plus the lifetime
    # (and a leeway); a start up to a leeway ahead is accepted: so long from now, at least.
    pol = policy()
    claims = {"sub": "7", "sid": f"s-{exp}", "exp": exp}
    revocation.revoke(claims, "t", pol=pol)
    left = ttl_of(revocation.session_key(claims) or "")
    assert pol.max_lifetime + 2 * LEEWAY - 1 < left <= pol.max_lifetime + 2 * LEEWAY


@pytest.mark.parametrize("sub", ["", None, 42])
def test_revoke_user_needs_a_non_empty_string(sub: Any) -> None:
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        revocation.revoke_user(sub)
    assert str(refused.value) == "sub must be a non-empty string"


def test_revoke_user_writes_the_cut_off_it_is_given() -> None:
    assert revocation.revoke_user("7", at=123) == 123
    assert revocations()[revocation.user_key("7")][0] == 123


CUTOFF = 1_700_000_000


@pytest.mark.parametrize(
    ("times", "revoked"),
    [
        ({"auth_time": CUTOFF - 10, "iat": CUTOFF + 10}, True),  # signed in before: refused
        ({"auth_time": CUTOFF + 10, "iat": CUTOFF - 10}, False),  # a sign-in after it
        ({"auth_time": CUTOFF}, True),  # the same second counts as before
        ({"iat": CUTOFF - 10}, True),
        ({"iat": CUTOFF + 10}, False),
        ({"auth_time": str(CUTOFF + 10), "iat": CUTOFF - 10}, True),  # text: iat decides
        ({"auth_time": True, "iat": CUTOFF + 10}, False),  # a boolean is not a time
        ({}, True),  # neither: refused while the cut-off stands
    ],
)
def test_a_cut_off_compares_auth_time_else_iat(times: dict[str, Any], revoked: bool) -> None:
    revocation.revoke_user("7", at=CUTOFF)
    assert revocation.is_revoked({"sub": "7", **times}, "t") is revoked
    assert revocation.is_revoked({"sub": "8", **times}, "t") is False


@pytest.fixture
def full_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[store.MemoryStore]:
    """An embedded store with room for two revocations, both taken."""
    small = store.MemoryStore(max_revocations=2)
    monkeypatch.setattr(store, "_memory", small)
    store.current.cache_clear()
    small.put_max("a", 1, 600)
    small.put_max("b", 1, 600)
    yield small
    store.current.cache_clear()


def test_a_full_store_turns_a_session_revocation_into_the_users_cut_off(
    full_store: store.MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    pol = dataclasses.replace(policy(), max_lifetime=1234)
    now = int(time.time())
    this = {"sub": "7", "sid": "this", "auth_time": now - 5, "exp": now + 60}
    other = {"sub": "7", "sid": "other", "auth_time": now - 50, "exp": now + 60}
    stranger = {"sub": "8", "sid": "x", "auth_time": now - 5, "exp": now + 60}
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.state.revocation"):
        revocation.revoke(this, "t", pol=pol)
    assert [r.getMessage() for r in caplog.records] == [
        "revocation store full: signing the user out everywhere instead"
    ]
    assert revocation.is_revoked(this, "t")
    assert revocation.is_revoked(other, "t")  # every session of the user
    assert not revocation.is_revoked(stranger, "t")
    assert revocation.session_key(this) not in full_store._revocations.entries
    held = full_store._revocations.entries[revocation.user_key("7")]
    # The cut-off lasts the policy's lifetime plus two leeways (the caller's, not the default).
    assert 1234 + 2 * LEEWAY - 1 < held[1] - time.monotonic() <= 1234 + 2 * LEEWAY
    with pytest.raises(exc.TokenRevoked):
        revocation.check(other, "t", pol)


def test_revoke_and_check_use_the_state_store_not_djangos_cache() -> None:
    token = JWTAuth.create({"id": "7"})
    JWTAuth.revoke(token)
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)
    # Other traffic clearing Django's cache cannot un-revoke it.
    caches["default"].clear()
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)
    store.memory_store().clear()
    assert JWTAuth.verify(token)["id"] == "7"


# --------------------------------------------------------------------------- #
# NextAuth's double-submit CSRF proof
# --------------------------------------------------------------------------- #


def csrf_request(cookie: str | None, header: str | None, method: str = "post") -> Any:
    request = getattr(rf, method)("/")
    if header is not None:
        request.META["HTTP_X_CSRF_TOKEN"] = header
    request.COOKIES = {"next-auth.csrf-token": cookie} if cookie is not None else {}
    return request


@pytest.mark.parametrize(
    "digest",
    ["\u00e9" * 64, "g" * 64, "0" * 63 + "\u00e9", "\U0001f600" * 64, "0" * 63, "0" * 65],
    ids=["non-ascii", "non-hex", "last-non-ascii", "astral", "short", "long"],
)
def test_a_csrf_cookie_whose_digest_is_not_64_hex_digits_is_refused_not_500(digest: str) -> None:
    from urllib.parse import quote

    cookie = quote(f"t0k|{digest}", safe="")
    assert nextauth_csrf_valid(csrf_request(cookie, "t0k")) is False


def test_a_csrf_cookie_sent_twice_proves_nothing() -> None:
    # One copy may be planted for a parent domain: which is genuine is unknowable. Kills
    # `count(...) >= 1`, `> 2`, `count(None)` and the refusal itself.
    cookie = nextauth_csrf_cookie("t0k")
    once = rf.post("/", HTTP_COOKIE=f"next-auth.csrf-token={cookie}", HTTP_X_CSRF_TOKEN="t0k")
    assert nextauth_csrf_valid(once) is True
    twice = rf.post(
        "/",
        HTTP_COOKIE=f"next-auth.csrf-token={cookie}; next-auth.csrf-token={cookie}",
        HTTP_X_CSRF_TOKEN="t0k",
    )
    assert nextauth_csrf_valid(twice) is False


def test_the_csrf_cookie_splits_at_its_first_bar() -> None:
    # NextAuth's token never holds "|"; the digest is everything after the first one.
    genuine = nextauth_csrf_cookie("a|b", encode=False)
    assert nextauth_csrf_valid(csrf_request(genuine.replace("|", "%7C"), "a|b")) is False
    token, _, digest = nextauth_csrf_cookie("t0k", encode=False).partition("|")
    assert nextauth_csrf_valid(csrf_request(f"{token}|{digest}", "t0k")) is True
    assert nextauth_csrf_valid(csrf_request(f"|{digest}", "")) is False


def test_a_single_secret_is_hashed_alone_not_as_a_joined_list(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = SECRET
    assert nextauth_csrf_valid(csrf_request(nextauth_csrf_cookie("t", SECRET), "t"))
    settings.NEXTAUTH_SECRET = [SECRET, OTHER_SECRET]
    joined = f"{SECRET},{OTHER_SECRET}"
    assert nextauth_csrf_valid(csrf_request(nextauth_csrf_cookie("t", joined), "t"))
    assert not nextauth_csrf_valid(
        csrf_request(nextauth_csrf_cookie("t", f"{OTHER_SECRET},{SECRET}"), "t")
    )


def test_a_token_with_a_lone_surrogate_is_compared_not_crashed_on() -> None:
    # The header and cookie are text Django decoded; a lone surrogate must give an
    # answer, not a 500.
    digest = hashlib.sha256("t\ud800".encode("utf-8", "surrogatepass") + SECRET.encode())
    cookie = f"t\ud800|{digest.hexdigest()}"
    assert nextauth_csrf_valid(csrf_request(cookie, "t\ud800")) is True
    assert nextauth_csrf_valid(csrf_request(cookie, "t\udfff")) is False


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE"])
def test_safe_methods_need_no_csrf_proof(method: str) -> None:
    assert method in SAFE_METHODS
    assert csrf_failure_reason(csrf_request(None, None, method.lower())) is None


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "CONNECT"])
def test_every_other_method_needs_csrf_proof(method: str) -> None:
    request = rf.generic(method, "/")
    request.COOKIES = {}
    assert csrf_failure_reason(request) == "CSRF cookie not set."
    assert method not in SAFE_METHODS


def test_django_csrf_failure_reports_djangos_own_reason() -> None:
    request = rf.post("/", headers={"Origin": "https://evil.example"})
    request.COOKIES = {}
    reason = django_csrf_failure(request)
    assert reason is not None
    assert "evil.example" in reason
    token_request = rf.get("/")
    assert django_csrf_failure(token_request) is None


# --------------------------------------------------------------------------- #
# The policy
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "NEXTAUTH_JWT_FORMAT",
            "jwe",
            r"^NEXTAUTH_JWT_FORMAT must be one of jws, nextauth-v4, authjs-v5, jws-asymmetric\.$",
        ),
        (
            "NEXTAUTH_ACCEPTED_FORMATS",
            ["jws", "jwe"],
            r"^NEXTAUTH_ACCEPTED_FORMATS may list only jws, nextauth-v4, authjs-v5, "
            r"jws-asymmetric\.$",
        ),
        (
            "NEXTAUTH_JWS_ALGORITHM",
            "RS256",
            r"^NEXTAUTH_JWS_ALGORITHM must be one of HS256, HS384, HS512\.$",
        ),
        ("NEXTAUTH_SECRET", "x" * 31, r"^A NextAuth secret is shorter than 32 bytes: "),
        ("NEXTAUTH_SECRET", [SECRET, "y" * 31], r"^A NextAuth secret is shorter than 32 bytes: "),
        # Unusable key settings name the setting and its check.
        (
            "NEXTAUTH_SIGNING_KEYS",
            ["not a key"],
            r"^NEXTAUTH_SIGNING_KEYS: .+ \(nextauth_jwt\.E050\)\.$",
        ),
        (
            "NEXTAUTH_PUBLIC_KEYS",
            ["not a key"],
            r"^NEXTAUTH_PUBLIC_KEYS: .+ \(nextauth_jwt\.E051\)\.$",
        ),
        (
            "NEXTAUTH_JWKS_URL",
            "/relative",
            r"^NEXTAUTH_JWKS_URL must be an absolute http\(s\) URL or a list of them "
            r"\(nextauth_jwt\.E052\)\.$",
        ),
    ],
)
def test_a_policy_that_cannot_work_is_improperly_configured(
    settings: Any, name: str, value: Any, message: str
) -> None:
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        policy()


def test_a_32_byte_secret_is_enough(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = "z" * 32
    assert policy().secrets == ("z" * 32,)
    assert "z" * 32 not in repr(policy())


# --------------------------------------------------------------------------- #
# Redirects
# --------------------------------------------------------------------------- #


def test_a_redirect_target_may_be_2048_characters_and_no_more() -> None:
    from django_nextauth_jwt.redirects import safe_redirect_url

    at_limit = "/" + "a" * 2047
    assert safe_redirect_url(at_limit, "/home") == at_limit
    assert safe_redirect_url(at_limit + "a", "/home") == "/home"
    assert safe_redirect_url("", "/home") == "/home"


def test_an_allowed_http_origin_is_an_allowed_redirect(settings: Any) -> None:
    # Development front ends run on http://localhost: http stays allowed when listed,
    # and is never upgraded to a requirement of https.
    from django_nextauth_jwt.redirects import safe_redirect_url

    settings.NEXTAUTH_ALLOWED_REDIRECT_ORIGINS = ["http://localhost:3000"]
    assert safe_redirect_url("http://localhost:3000/dash", "/home") == "http://localhost:3000/dash"
    assert safe_redirect_url("https://localhost:3000/dash", "/home") == "/home"
    assert safe_redirect_url("http://localhost:3001/dash", "/home") == "/home"


def test_allowed_origins_match_with_any_case_and_a_trailing_slash(settings: Any) -> None:
    from django_nextauth_jwt.redirects import safe_redirect_url

    settings.NEXTAUTH_ALLOWED_REDIRECT_ORIGINS = ["https://APPX/", "HTTPS://App.Example.com"]
    assert safe_redirect_url("https://appx/next", "/home") == "https://appx/next"
    assert safe_redirect_url("https://app.example.com/n", "/home") == "https://app.example.com/n"
    assert safe_redirect_url("https://app/next", "/home") == "/home"


# --------------------------------------------------------------------------- #
# The session cookie's deletion
# --------------------------------------------------------------------------- #


def test_a_deleted_session_cookie_is_emptied_with_the_attributes_it_was_set_with() -> None:
    # Browsers replace a cookie only when name, path and domain match; an expired, empty,
    # HttpOnly, SameSite=Lax value at Path=/ is what NextAuth itself writes on sign-out.
    from django.http import HttpResponse

    from django_nextauth_jwt.transport import delete_session_cookie

    response = HttpResponse()
    held = rf.get("/")
    held.COOKIES = {"authjs.session-token": "a.b.c", "authjs.session-token.1": "x"}
    delete_session_cookie(response, name="__Secure-authjs.session-token")
    delete_session_cookie(response, held, name="authjs.session-token")
    assert response.cookies["authjs.session-token.1"]["max-age"] == 0
    for name, secure in (("__Secure-authjs.session-token", True), ("authjs.session-token", "")):
        cookie = response.cookies[name]
        assert cookie.value == ""
        assert cookie["max-age"] == 0
        assert cookie["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
        assert cookie["path"] == "/"
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert cookie["secure"] == secure


def test_an_unknown_format_chunks_like_jws() -> None:
    from django_nextauth_jwt.transport import chunk_size

    assert chunk_size("jws") == chunk_size("something-else") == 3933
    assert chunk_size("authjs-v5") == 3936


@pytest.mark.parametrize(
    "target",
    ["/a\x7fb", "/a%7Fb", "/a%257Fb", "/a\\b", "/a%5Cb", "/a\x00b", "/a b", "/a\x1fb", "/a%20b"],
)
def test_del_backslash_space_and_controls_anywhere_in_a_target_are_refused(target: str) -> None:
    from django_nextauth_jwt.redirects import safe_redirect_url

    assert safe_redirect_url(target, "/home") == "/home"
    assert safe_redirect_url("/a!b", "/home") == "/a!b"


# --------------------------------------------------------------------------- #
# Reading the token: escapes and chunk names
# --------------------------------------------------------------------------- #


def test_percent_escapes_take_either_case_and_need_two_hex_digits() -> None:
    from django_nextauth_jwt.exceptions import TokenMalformed
    from django_nextauth_jwt.transport import strict_url_decode

    assert strict_url_decode("a%2eb%2Ec%7c%7C") == "a.b.c||"
    assert strict_url_decode("%30%39%41%46%61%66") == "09AFaf"
    for bad in ("%", "%2", "%G0", "%0G", "%g0", "a%2", "%%41"):
        with pytest.raises(TokenMalformed):
            strict_url_decode(bad)


def test_a_chunk_index_has_at_most_six_digits_and_no_leading_zero() -> None:
    from django_nextauth_jwt.exceptions import TokenMalformed
    from django_nextauth_jwt.transport import get_cookie_token

    name = "next-auth.session-token"
    # A seventh digit or a leading zero makes it some other cookie, ignored.
    for other in (f"{name}.1000000", f"{name}.01", f"{name}.x"):
        request = rf.get("/")
        request.COOKIES = {f"{name}.0": "a.b", f"{name}.1": ".c", other: "z"}
        assert get_cookie_token(request, name) == "a.b.c"
    # Six digits is a chunk: the run then has a gap and is refused.
    request = rf.get("/")
    request.COOKIES = {f"{name}.0": "a.b", f"{name}.1": ".c", f"{name}.999999": "z"}
    with pytest.raises(TokenMalformed):
        get_cookie_token(request, name)


def test_genuine_csrf_proofs_with_every_hex_digit_are_accepted() -> None:
    digests = ""
    for i in range(8):
        token = f"t{i}"
        cookie = nextauth_csrf_cookie(token)
        digests += cookie.rpartition("%7C")[2]
        assert nextauth_csrf_valid(csrf_request(cookie, token)) is True
    assert set(digests) == set("0123456789abcdef")


def test_an_unreachable_deny_list_logs_one_exact_line(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    token = JWTAuth.create({"id": "7"})
    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.NEXTAUTH_REDIS_LOCAL_VIEW = False
    # A store of its own, whose breaker no earlier test opened.
    settings.NEXTAUTH_REDIS_KEY_PREFIX = f"dead-{uuid.uuid4().hex}:"
    with caplog.at_level(logging.WARNING), pytest.raises(exc.RevocationUnavailable):
        JWTAuth.verify(token)
    lines = [r.getMessage() for r in caplog.records if r.name == revocation.__name__]
    assert lines == ["revocation store unavailable: ConnectionError"]


# --------------------------------------------------------------------------- #
# Asymmetric settings
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://issuer.example/.well-known/jwks.json", True),
        ("http://127.0.0.1:8000/api/auth/jwks", True),
        (" https://issuer.example/jwks", False),
        ("https://issuer.example/jwks ", False),
        ("", False),
        ("ftp://issuer.example/jwks", False),
        ("https:///jwks", False),
        ("/api/auth/jwks", False),
        (7, False),
        (None, False),
    ],
)
def test_a_jwks_url_is_an_absolute_http_url_with_a_host_and_no_spaces(
    url: object, valid: bool
) -> None:
    from django_nextauth_jwt.policy import valid_jwks_url

    assert valid_jwks_url(url) is valid


def test_each_jwks_url_gets_a_client_with_the_configured_cache_times(settings: Any) -> None:
    settings.NEXTAUTH_JWKS_URL = ["https://a.example/jwks", "https://b.example/jwks"]
    settings.NEXTAUTH_JWKS_CACHE_TTL = 123
    settings.NEXTAUTH_JWKS_REFRESH_INTERVAL = 7
    settings.NEXTAUTH_JWKS_MAX_STALE = 456
    sources = policy().key_sources
    assert sources is not None
    assert [c.url for c in sources.clients] == ["https://a.example/jwks", "https://b.example/jwks"]
    for client in sources.clients:
        assert (client.cache_ttl, client.refresh_interval, client.max_stale) == (123, 7, 456)


def test_key_settings_read_files_named_by_a_path(tmp_path: Any) -> None:
    from pathlib import Path

    from django_nextauth_jwt.policy import load_public_keys, load_signing_keys

    private, public = tmp_path / "signing.pem", tmp_path / "public.pem"
    private.write_text(forge.private_pem("EdDSA"))
    public.write_text(forge.public_pem("ES256"))
    (signing,) = load_signing_keys((Path(private),))
    assert signing.alg == "EdDSA"
    assert [k.alg for k in load_public_keys((Path(public), forge.public_pem("RS256")))] == [
        "ES256",
        "RS256",
    ]


def test_two_signing_keys_with_one_kid_are_refused() -> None:
    from django_nextauth_jwt.policy import load_signing_keys

    pem = forge.private_pem("EdDSA")
    with pytest.raises(ValueError, match=r"^two signing keys have the same kid$"):
        load_signing_keys((pem, pem))


def test_each_jwks_client_fetches_with_the_configured_timeout_and_size_limit(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_nextauth_jwt.jose import jwks

    settings.NEXTAUTH_JWKS_URL = "https://a.example/jwks"
    settings.NEXTAUTH_JWKS_TIMEOUT = 1.5
    settings.NEXTAUTH_JWKS_MAX_BYTES = 4096
    calls: list[tuple[str, dict[str, Any]]] = []

    def recording(url: str, **limits: Any) -> bytes:
        calls.append((url, limits))
        return b'{"keys": []}'

    monkeypatch.setattr(jwks, "fetch_url", recording)
    sources = policy().key_sources
    assert sources is not None
    sources.clients[0].keys()
    assert calls == [("https://a.example/jwks", {"timeout": 1.5, "max_bytes": 4096})]


@pytest.mark.parametrize("sid", [123, ["s"], {"s": 1}, True])
def test_a_token_whose_sid_is_not_a_string_is_revoked_as_itself(sid: Any) -> None:
    # Sign-out keys such a token by its own jti (no session to name): the check must read
    # the same key, or the signed-out token would still pass.
    claims_ = {"sub": "42", "sid": sid, "jti": f"jti-{sid!r}", "exp": int(time.time()) + 60}
    token = "not-read-when-there-is-a-jti"
    assert not revocation.is_revoked(claims_, token)
    revocation.revoke(claims_, token)
    assert revocation.is_revoked(claims_, token)


def test_public_keys_alone_make_a_verifying_service(settings: Any) -> None:
    # No signing key, no JWKS URL: a neighbour that only verifies.
    settings.NEXTAUTH_SIGNING_KEYS = []
    settings.NEXTAUTH_JWKS_URL = None
    settings.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("EdDSA")]
    sources = policy().key_sources
    assert sources is not None
    assert [key.alg for key in sources.static.keys] == ["EdDSA"]
    assert policy().signing_keys == ()
