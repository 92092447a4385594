"""Sign-out's deny-list: in the local-memory cache by default, in Redis when configured."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.state.store import memory_store
from tests import forge
from tests.test_session_person import Unreadable

SEED = {"id": "7", "email": "ada@example.com"}
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_revoked_token_is_refused_and_others_are_not() -> None:
    token, other = JWTAuth.create(SEED), JWTAuth.create(SEED)
    JWTAuth.revoke(token)
    with pytest.raises(exc.TokenRevoked) as info:
        JWTAuth.verify(token)
    assert info.value.code == "token_revoked"
    assert JWTAuth.verify(other)["id"] == "7"
    assert JWTAuth.authenticate_token(token).error == "token_revoked"


def test_token_revocation_lasts_until_expiry_plus_leeway() -> None:
    token = forge.jws(forge.claims(exp=int(time.time()) + 100))  # no sid: the token itself
    JWTAuth.revoke(token)
    table = memory_store()._revocations
    ((_, expires),) = table.entries.values()
    assert 100 < expires - time.monotonic() <= 115


def test_session_revocation_lasts_a_whole_session_lifetime(settings: Any) -> None:
    # Other copies of the session may be refreshed again and again (each a full
    # NEXTAUTH_MAX_AGE ahead): the session entry lasts until the session's absolute end.
    settings.NEXTAUTH_MAX_AGE = 100
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = 1000
    JWTAuth.revoke(JWTAuth.create(SEED, max_age=100))
    ((_, expires),) = memory_store()._revocations.entries.values()
    assert 1000 + 15 < expires - time.monotonic() <= 1000 + 2 * 15


def test_token_without_jti_is_revoked_by_the_token_itself() -> None:
    # NextAuth's HS256 hooks or another service may mint tokens without a jti.
    token = forge.jws(forge.claims(jti=...))
    other = forge.jws(forge.claims(jti=..., name="Other"))
    JWTAuth.revoke(token)
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)
    assert JWTAuth.verify(other)["id"] == "42"


def test_revoking_twice_is_harmless() -> None:
    token = JWTAuth.create(SEED)
    JWTAuth.revoke(token)
    JWTAuth.revoke(token)
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)


def test_revoking_an_invalid_token_raises() -> None:
    with pytest.raises(exc.TokenExpired):
        JWTAuth.revoke(forge.jws(forge.claims(exp=1)))


def test_disabled_revocation_is_not_checked(settings: Any) -> None:
    token = JWTAuth.create(SEED)
    JWTAuth.revoke(token)
    settings.NEXTAUTH_REVOCATION = False
    assert JWTAuth.verify(token)["id"] == "7"


def test_unreachable_store_fails_closed_by_default(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = JWTAuth.create(SEED)
    settings.NEXTAUTH_REDIS_URL = DEAD_REDIS
    # A store of its own: one shared with a test that failed on it a moment ago would answer
    # from its open breaker (StoreUnavailable), whichever test ran before.
    settings.NEXTAUTH_REDIS_KEY_PREFIX = f"dead-{uuid.uuid4().hex}:"
    with caplog.at_level(logging.WARNING), pytest.raises(exc.RevocationUnavailable) as info:
        JWTAuth.verify(token)
    assert info.value.code == "revocation_unavailable"
    assert "revocation store unavailable: ConnectionError" in caplog.text
    assert token not in caplog.text
    assert forge.SECRET not in caplog.text


def test_unreachable_store_fails_open_when_configured(settings: Any) -> None:
    token = JWTAuth.create(SEED)
    settings.NEXTAUTH_REDIS_URL = DEAD_REDIS
    settings.NEXTAUTH_REVOCATION_FAIL_OPEN = True
    assert JWTAuth.verify(token)["id"] == "7"


def test_redis_deny_list_is_shared_between_store_connections(redis_store: str) -> None:
    token = JWTAuth.create(SEED)
    JWTAuth.revoke(token)
    # A second client of the same Redis (another process would have one) sees it.
    from django_nextauth_jwt.state.store import RedisStore

    other = RedisStore(redis_store, settings_prefix())
    assert any(v is not None for v in other.get_many(["x", *_keys_of(token)]))
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)
    assert JWTAuth.verify(JWTAuth.create(SEED))["id"] == "7"


def settings_prefix() -> str:
    from django_nextauth_jwt.conf import app_settings

    return app_settings.REDIS_KEY_PREFIX


def _keys_of(token: str) -> list[str]:
    from django_nextauth_jwt.state import revocation

    claims = _claims(token)
    return [k for k in (revocation.session_key(claims), revocation.token_key(claims, token)) if k]


def _claims(token: str) -> dict[str, Any]:
    from django_nextauth_jwt.claims import validated
    from django_nextauth_jwt.policy import policy
    from django_nextauth_jwt.tokens import decode

    return validated(decode(token), now=None, pol=policy())


def test_redis_tests_leave_nothing_behind_in_the_shared_redis(redis_prefix: str) -> None:
    from django.core.cache.backends.redis import RedisCache

    from tests.conftest import REDIS_URL, delete_prefixed

    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": redis_prefix})
    for i in range(3):
        cache.set(f"nextauth_jwt:rv:{i}", 1, timeout=30 * 24 * 3600)
    assert cache.get("nextauth_jwt:rv:1") == 1
    assert delete_prefixed(redis_prefix) == 3
    assert cache.get("nextauth_jwt:rv:1") is None
    assert delete_prefixed(redis_prefix) == 0


def test_a_check_reads_exactly_the_keys_sign_out_writes_in_one_store_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A token with a sid is revoked (and checked) by its session, one without by its jti (or
    # itself), and every token by its user's cut-off: two keys, one read per check.
    from django_nextauth_jwt.state import revocation

    reads: list[tuple[str, ...]] = []
    store = memory_store()
    original = store.get_many

    def recording(keys: Any) -> list[int | None]:
        reads.append(tuple(keys))
        return original(keys)

    monkeypatch.setattr(store, "get_many", recording)
    with_sid = JWTAuth.create(SEED)
    JWTAuth.verify(with_sid)
    claims = _claims(with_sid)
    assert reads == [(revocation.session_key(claims), revocation.user_key("7"))]
    without_sid = forge.jws(forge.claims())
    reads.clear()
    JWTAuth.verify(without_sid)
    claims = _claims(without_sid)
    assert "sid" not in claims
    assert reads == [(revocation.token_key(claims, without_sid), revocation.user_key("42"))]
    # And those are the keys sign-out writes.
    for token in (with_sid, without_sid):
        JWTAuth.revoke(token)
        with pytest.raises(exc.TokenRevoked):
            JWTAuth.verify(token)
    assert set(store._revocations.entries) == {
        revocation.session_key(_claims_unchecked(with_sid)),
        revocation.token_key(_claims_unchecked(without_sid), without_sid),
    }


def _claims_unchecked(token: str) -> dict[str, Any]:
    from django_nextauth_jwt.tokens import decode

    return decode(token)


# --------------------------------------------------------------------------- #
# A networked store that cannot be read: what this process knows still refuses
# --------------------------------------------------------------------------- #


class _View:
    """A local view of Redis's deny-list that knows ``known``, whatever its freshness."""

    def __init__(self) -> None:
        self.known: dict[str, int] = {}

    def peek(self, keys: Any) -> list[int | None]:
        return [self.known.get(key) for key in keys]


class _Unreadable(Unreadable):
    """Redis down under a process whose view still holds what it heard."""

    def __init__(self) -> None:
        self.view = _View()


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> _Unreadable:
    from django_nextauth_jwt.state import store

    held = _Unreadable()
    monkeypatch.setattr(store, "current", lambda: held)
    return held


def test_failing_open_still_refuses_what_the_view_knows(
    settings: Any, unreadable: _Unreadable, caplog: pytest.LogCaptureFixture
) -> None:
    from django_nextauth_jwt.policy import policy
    from django_nextauth_jwt.state import revocation

    settings.NEXTAUTH_REVOCATION_FAIL_OPEN = True
    now = int(time.time())
    # Neither sid nor jti: the token is known by what was signed.
    claims = {"sub": "7", "iat": now - 60, "exp": now + 60}
    unreadable.view.known = {
        revocation.token_key(claims, "h.p.s"): 1,
        revocation.account_key(42): now,
    }
    pol = policy()
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.state.revocation"):
        with pytest.raises(exc.TokenRevoked):
            revocation.check(claims, "h.p.s", pol)
        revocation.check(claims, "h.q.s", pol)  # unknown here: accepted, failing open
        with pytest.raises(exc.TokenRevoked):
            revocation.check_account(42, claims, pol)
        revocation.check_account(43, claims, pol)
    assert [r.getMessage() for r in caplog.records] == [
        "revocation store unavailable: ConnectionError"
    ] * 4


def test_failing_closed_on_a_persons_cut_off_names_the_stores_error(
    unreadable: _Unreadable, caplog: pytest.LogCaptureFixture
) -> None:
    from django_nextauth_jwt.policy import policy
    from django_nextauth_jwt.state import revocation

    claims = {"sub": "7", "iat": int(time.time())}
    with (
        caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.state.revocation"),
        pytest.raises(exc.RevocationUnavailable) as info,
    ):
        revocation.check_account(43, claims, policy())
    assert isinstance(info.value.__cause__, ConnectionError)
    assert [r.getMessage() for r in caplog.records] == [
        "revocation store unavailable: ConnectionError"
    ]


@pytest.mark.parametrize("pk", [None, True, False, ""])
def test_an_account_cut_off_needs_a_saved_users_key(pk: Any) -> None:
    from django_nextauth_jwt.state import revocation

    with pytest.raises(ValueError, match=r"^pk must name a saved user$"):
        revocation.revoke_account(pk)
    assert memory_store()._revocations.entries == {}
    assert revocation.revoke_account(0, at=5) == 5  # a key of 0 is a key
