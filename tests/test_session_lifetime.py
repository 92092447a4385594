"""The absolute session lifetime, and revocations that outlive every refresh (issue 21).

NextAuth's JWT session slides: each refresh re-encodes the token with ``exp`` a
``NEXTAUTH_MAX_AGE`` ahead, keeping ``sid`` and ``auth_time``. Before this issue a sign-out
or a cut-off lasted ``NEXTAUTH_MAX_AGE`` + leeway from its write, and a stolen copy refreshed
past that was accepted again. Now a session ends at ``auth_time`` +
``NEXTAUTH_SESSION_MAX_LIFETIME`` whatever its ``exp``, and every deny-list entry lasts until
then: tested in one process with the embedded store over a real 30-day lifetime (a clock moved
by hand), and in two processes sharing the real Redis with the clocks scaled down.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt import JWTAuth, lifetime
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.policy import policy
from django_nextauth_jwt.state.store import memory_store
from django_nextauth_jwt.tokens import decode
from tests import forge
from tests.conftest import REDIS_URL, delete_prefix, require
from tests.fake_clock import Clock
from tests.servers import django_server, redis_up

DAY = 86400
ADA = {"id": "7", "email": "ada@example.com", "name": "Ada"}
BOB = {"id": "8", "email": "bob@example.com", "name": "Bob"}


def refused(token: str) -> str | None:
    try:
        JWTAuth.verify(token)
    except exc.InvalidToken as error:
        return error.code
    return None


def nextauth_refresh(token: str, max_age: int) -> str:
    """NextAuth's refresh: every claim kept (sid, auth_time), a new jti, iat and exp."""
    claims = dict(decode(token))
    now = int(time.time())
    claims.update({"iat": now, "exp": now + max_age, "jti": str(uuid.uuid4())})
    return forge.jws(claims)


# --------------------------------------------------------------------------- #
# The lifetime on its own
# --------------------------------------------------------------------------- #


def test_a_session_past_its_lifetime_is_refused_whatever_its_exp(settings: Any) -> None:
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = DAY
    now = int(time.time())
    old = forge.jws(forge.claims(auth_time=now - DAY - 16, iat=now, exp=now + 3600))
    assert refused(old) == "session_too_old"
    with pytest.raises(exc.TokenExpired):  # code that catches expiry catches this too
        JWTAuth.verify(old)
    within_leeway = forge.jws(forge.claims(auth_time=now - DAY - 14, iat=now, exp=now + 3600))
    assert refused(within_leeway) is None


def test_the_lifetime_runs_from_iat_without_auth_time(settings: Any) -> None:
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = 3600
    now = int(time.time())
    assert refused(forge.jws(forge.claims(iat=now - 3600 - 16, exp=now + 60))) == "session_too_old"
    assert refused(forge.jws(forge.claims(iat=now - 60, exp=now + 60))) is None


def test_a_session_past_its_lifetime_tells_the_operator_since_when_and_what_to_match(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django.test import Client

    from django_nextauth_jwt import diagnostics

    diagnostics.reset()
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = DAY
    now = int(time.time())
    token = forge.jws(forge.claims(auth_time=now - 2 * DAY, iat=now, exp=now + 60))
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.diagnostics"):
        answer = Client().get("/api/me/", headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()["code"]) == (401, "session_too_old")
    (line,) = [r.getMessage() for r in caplog.records if "session signed into" in r.getMessage()]
    assert "a session signed into 2 days ago arrived; NEXTAUTH_SESSION_MAX_LIFETIME=86400 s" in line
    assert "give the Next.js app the same NEXTAUTH_SESSION_MAX_LIFETIME" in line
    assert token not in line


def test_the_default_lifetime_is_thirty_days() -> None:
    assert policy().max_lifetime == 30 * DAY
    assert lifetime.deny_ttl(policy()) == 30 * DAY + 2 * 15


def test_a_token_without_a_start_lives_until_its_exp_and_is_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifetime, "_unbounded_seen", False)
    token = forge.jws(forge.claims(iat=..., exp=int(time.time()) + 60))
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.lifetime"):
        assert refused(token) is None
        assert refused(forge.jws(forge.claims(iat=..., jti="another"))) is None
    # The whole line, word for word: it names the setting and what the issuer must do.
    assert [r.getMessage() for r in caplog.records] == [
        "accepted a token with neither auth_time nor iat: NEXTAUTH_SESSION_MAX_LIFETIME "
        "cannot bound it (it lives until its exp, and a sign-out-everywhere refuses it only "
        "while the cut-off lasts); have its issuer set iat"
    ]
    assert "eyJ" not in caplog.text  # never the token


def test_revoking_a_token_without_a_start_lasts_until_its_exp() -> None:
    # Its exp is all that ends it: its entry is not cut to the lifetime.
    token = forge.jws(forge.claims(iat=..., exp=int(time.time()) + 40 * DAY))
    JWTAuth.revoke(token)
    ((_, expires),) = memory_store()._revocations.entries.values()
    assert 40 * DAY < expires - time.monotonic() <= 40 * DAY + 15


def test_signing_out_a_session_without_a_start_lasts_until_its_exp() -> None:
    # A sid but neither auth_time nor iat: the lifetime cannot end it, its exp does.
    token = forge.jws(forge.claims(sid="s-9", iat=..., exp=int(time.time()) + 40 * DAY))
    JWTAuth.revoke(token)
    ((_, expires),) = memory_store()._revocations.entries.values()
    assert 40 * DAY < expires - time.monotonic() <= 40 * DAY + 15


def test_a_token_entry_never_outlives_its_session(settings: Any) -> None:
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = 1000
    now = int(time.time())
    token = forge.jws(forge.claims(auth_time=now - 100, iat=now, exp=now + 40 * DAY))
    JWTAuth.revoke(token)
    ((_, expires),) = memory_store()._revocations.entries.values()
    assert 900 < expires - time.monotonic() <= 900 + 15


def test_signing_out_a_session_without_auth_time_says_what_it_cannot_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = forge.jws(forge.claims(sid="s-1"))
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.state.revocation"):
        JWTAuth.revoke(token)
    # The whole line, word for word: it names the setting and the fix.
    assert [r.getMessage() for r in caplog.records] == [
        "signed out of a session whose token has no auth_time: copies refreshed after now are "
        "not bounded by NEXTAUTH_SESSION_MAX_LIFETIME and are accepted again once this entry "
        "expires; keep auth_time in the jwt callback"
    ]
    assert refused(token) == "token_revoked"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.state.revocation"):
        JWTAuth.revoke(JWTAuth.create(ADA))  # minted here: it carries auth_time
    assert "no auth_time" not in caplog.text


@pytest.mark.parametrize("value", [0, -1, "2592000", 3600.0, None, 10**16])
def test_a_bad_lifetime_fails_closed_at_first_use(settings: Any, value: Any) -> None:
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = value
    with pytest.raises(ImproperlyConfigured, match="E043"):
        JWTAuth.verify(forge.jws(forge.claims()))


# --------------------------------------------------------------------------- #
# The whole lifetime, embedded store (one process, a clock moved by hand)
# --------------------------------------------------------------------------- #


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Wall and monotonic time moved by hand: the embedded store ages with the tokens."""
    moved = Clock()
    moved.now = float(int(time.time()))
    monkeypatch.setattr(time, "time", moved)
    monkeypatch.setattr(time, "monotonic", moved)
    return moved


def test_stolen_session_refreshed_daily_stays_refused_for_the_whole_lifetime_embedded(
    settings: Any, clock: Clock
) -> None:
    # A one-day sliding session, the default 30-day lifetime, the default leeway.
    settings.NEXTAUTH_MAX_AGE = DAY
    start = int(clock.now)
    stolen = JWTAuth.create(ADA)
    bobs = JWTAuth.create(BOB)
    bystander = JWTAuth.create({**ADA, "name": "Ada's other device"})
    clock.now += 3600
    JWTAuth.revoke(stolen)  # the victim signs out
    JWTAuth.revoke_user("8")  # Bob signs out everywhere
    while clock.now < start + 30 * DAY - DAY / 2:
        clock.now += DAY / 2
        stolen, bobs = nextauth_refresh(stolen, DAY), nextauth_refresh(bobs, DAY)
        bystander = nextauth_refresh(bystander, DAY)
        assert refused(stolen) == refused(bobs) == "token_revoked"
        assert refused(bystander) is None
    # Past the lifetime (and the leeway) every copy is refused, the one never signed out too.
    clock.now = start + 30 * DAY + 14
    assert refused(bystander) is None  # the leeway
    assert refused(stolen) == refused(bobs) == "token_revoked"
    clock.now = start + 30 * DAY + 15
    assert refused(bystander) == refused(stolen) == refused(bobs) == "session_too_old"
    clock.now = start + 3600 + 30 * DAY + 31
    # Nothing is kept past its use: each entry expired at the lifetime plus two leeways.
    entries = memory_store()._revocations.entries
    assert len(entries) == 2
    assert all(expires <= clock.now for _, expires in entries.values())
    assert refused(stolen) == refused(bobs) == "session_too_old"


# --------------------------------------------------------------------------- #
# The whole lifetime, two processes sharing the real Redis
# --------------------------------------------------------------------------- #

MAX_AGE, LEEWAY, LIFETIME = 2, 1, 8  # tests/settings_redis_lifetime.py


def call(method: str, url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def session(sub: str, start: int) -> str:
    """A session as NextAuth's shipped callback keeps it: sid and auth_time across refreshes."""
    return forge.jws(
        forge.claims(sub=sub, sid=f"sid-{sub}", auth_time=start, iat=start, exp=start + MAX_AGE)
    )


def refresh(token: str) -> str:
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    now = int(time.time())
    claims.update({"iat": now, "exp": now + MAX_AGE, "jti": str(uuid.uuid4())})
    return forge.jws(claims)


@pytest.fixture
def two_processes() -> Iterator[tuple[str, str]]:
    require(redis_up(), "Redis is needed at 127.0.0.1:6379")
    prefix = f"lifetime-{uuid.uuid4().hex}"
    env = {"TEST_CACHE_PREFIX": prefix, "TEST_REDIS_URL": REDIS_URL}
    try:
        with (
            django_server("tests.settings_redis_lifetime", env) as first,
            django_server("tests.settings_redis_lifetime", env) as second,
        ):
            yield first, second
    finally:
        delete_prefix(REDIS_URL, prefix)


def test_stolen_session_and_cut_off_person_stay_refused_for_the_whole_lifetime_in_redis(
    two_processes: tuple[str, str],
) -> None:
    first, second = two_processes
    start = int(time.time())
    stolen, bobs, bystander = session("ada", start), session("bob", start), session("cy", start)
    assert call("GET", f"{second}/api/me/", stolen)[0] == 200
    assert call("POST", f"{first}/api/auth/signout", stolen)[0] == 200
    assert call("POST", f"{first}/api/auth/signout-everywhere", bobs)[0] == 200
    signed_out = time.time()
    # Refreshed as the Next.js server would, well past MAX_AGE + leeway, tried on the other
    # process: still the same sessions, still refused.
    while time.time() < start + LIFETIME - 1:
        stolen, bobs, bystander = refresh(stolen), refresh(bobs), refresh(bystander)
        for token in (stolen, bobs):
            status, body = call("GET", f"{second}/api/me/", token)
            assert (status, body.get("code")) == (401, "token_revoked")
        assert call("GET", f"{second}/api/me/", bystander)[0] == 200
        time.sleep(0.4)
    assert time.time() - signed_out > MAX_AGE + LEEWAY + 2
    # The other session, refreshed just before the lifetime ends: its exp lies beyond it.
    time.sleep(max(0.0, start + LIFETIME - 0.5 - time.time()))
    bystander = refresh(bystander)
    assert call("GET", f"{first}/api/me/", bystander)[0] == 200
    # The lifetime's end: every copy is refused, the one never signed out too.
    time.sleep(max(0.0, start + LIFETIME + LEEWAY + 0.1 - time.time()))
    status, body = call("GET", f"{first}/api/me/", bystander)
    assert (status, body["code"]) == (401, "session_too_old")
    for token in (stolen, bobs):
        assert call("GET", f"{second}/api/me/", token)[0] == 401
