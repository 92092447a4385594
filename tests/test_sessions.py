"""Sessions end when people sign out: every copy of a session, and everywhere on request.

NextAuth re-encodes the session token on every refresh (new ``jti``, ``iat``, ``exp``) and
keeps custom claims: a ``sid`` names the session across its copies, ``auth_time`` the moment
it was signed into. Each test named after an attack fails on the code before ``sid``.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.state import store
from django_nextauth_jwt.tokens import decode
from tests import forge
from tests.request_helpers import bearer

ADA = {"id": "7", "email": "ada@example.com", "name": "Ada"}
SIGNOUT = "/api/auth/signout"
EVERYWHERE = "/api/auth/signout-everywhere"
COOKIE = "next-auth.session-token"


def nextauth_refresh(token: str, **changes: Any) -> str:
    """NextAuth's refresh: decode, keep every claim, re-encode with a new jti, iat and exp."""
    claims = decode(token)  # NextAuth knows nothing of Django's deny-list
    now = int(time.time())
    claims.update({"iat": now, "exp": now + 3600, "jti": f"refreshed-{time.monotonic_ns()}"})
    claims.update(changes)
    return forge.jws(claims)


def refused(token: str) -> str | None:
    try:
        JWTAuth.verify(token)
    except exc.InvalidToken as error:
        return error.code
    return None


# --------------------------------------------------------------------------- #
# sid: minted, kept, revoked as a whole
# --------------------------------------------------------------------------- #


def test_every_minted_token_carries_a_sid_and_an_auth_time() -> None:
    first, second = JWTAuth.verify(JWTAuth.create(ADA)), JWTAuth.verify(JWTAuth.create(ADA))
    assert isinstance(first["sid"], str)
    assert len(first["sid"]) >= 32
    assert first["sid"] != second["sid"]  # two sign-ins, two sessions
    assert first["auth_time"] == first["iat"]


def test_create_keeps_the_sid_and_auth_time_a_session_already_carries() -> None:
    signed_in = int(time.time()) - 3600
    claims = {**ADA, "sid": "session-1", "auth_time": signed_in}
    again = JWTAuth.verify(JWTAuth.create(claims))
    assert (again["sid"], again["auth_time"]) == ("session-1", signed_in)


@pytest.mark.parametrize("bad", ["", 5, None, ["s"]])
def test_create_replaces_a_sid_that_is_not_a_string(bad: Any) -> None:
    sid = JWTAuth.verify(JWTAuth.create({**ADA, "sid": bad}))["sid"]
    assert isinstance(sid, str)
    assert sid


def test_signing_out_one_copy_refuses_every_nextauth_refreshed_copy() -> None:
    original = JWTAuth.create(ADA)
    refreshed = nextauth_refresh(original)
    refreshed_again = nextauth_refresh(refreshed)
    other_session = JWTAuth.create(ADA)
    JWTAuth.revoke(refreshed)
    assert refused(original) == refused(refreshed_again) == "token_revoked"
    # The same user's other session (another device) lives on.
    assert refused(other_session) is None


def test_custom_login_reissued_for_the_same_session_is_refused_after_sign_out() -> None:
    # JWTAuth.create with the claims of a session is a refresh of that session.
    token = JWTAuth.create(ADA)
    reissued = JWTAuth.create(JWTAuth.verify(token))
    JWTAuth.revoke(token)
    assert refused(reissued) == "token_revoked"


def test_sid_of_another_subject_cannot_name_this_session() -> None:
    mine = forge.jws(forge.claims(sub="1", sid="shared", jti="a"))
    theirs = forge.jws(forge.claims(sub="2", sid="shared", jti="b"))
    JWTAuth.revoke(theirs)
    assert refused(mine) is None


def test_tokens_without_sid_keep_revocation_by_jti() -> None:
    token = forge.jws(forge.claims(jti="one"))
    same_session_unknowable = forge.jws(forge.claims(jti="two"))
    JWTAuth.revoke(token)
    assert refused(token) == "token_revoked"
    assert refused(same_session_unknowable) is None


# --------------------------------------------------------------------------- #
# Sign out everywhere: a per-user cut-off
# --------------------------------------------------------------------------- #


def test_sign_out_everywhere_refuses_every_session_of_the_user_and_no_one_elses() -> None:
    phone, laptop = JWTAuth.create(ADA), JWTAuth.create(ADA)
    bob = JWTAuth.create({"id": "8"})
    cutoff = JWTAuth.revoke_user("7")
    assert abs(cutoff - time.time()) <= 2
    assert refused(phone) == refused(laptop) == "token_revoked"
    assert refused(bob) is None


def test_nextauth_refresh_after_sign_out_everywhere_is_still_refused() -> None:
    # A stolen cookie refreshed by the Next.js server gets a new iat, not a new auth_time.
    token = JWTAuth.create(ADA)
    JWTAuth.revoke_user("7")
    later = nextauth_refresh(token, iat=int(time.time()) + 10)
    assert refused(later) == "token_revoked"


def test_a_session_signed_into_after_the_cut_off_is_accepted() -> None:
    cutoff = JWTAuth.revoke_user("42")
    fresh = forge.jws(forge.claims(auth_time=cutoff + 1, iat=cutoff + 1))
    assert refused(fresh) is None
    stale = forge.jws(forge.claims(auth_time=cutoff, iat=cutoff + 1))
    assert refused(stale) == "token_revoked"  # the same second counts as before


def test_a_token_with_no_time_claim_is_refused_under_a_cut_off() -> None:
    token = forge.jws(forge.claims(iat=...))
    assert refused(token) is None
    JWTAuth.revoke_user("42")
    assert refused(token) == "token_revoked"


def test_a_cut_off_never_moves_back() -> None:
    now = int(time.time())
    JWTAuth.revoke_user("42", at=now)
    JWTAuth.revoke_user("42", at=now - 1000)
    assert refused(forge.jws(forge.claims(auth_time=now - 10))) == "token_revoked"


@pytest.mark.parametrize("sub", ["", None, 5])
def test_revoke_user_needs_a_subject(sub: Any) -> None:
    with pytest.raises(ValueError, match="sub"):
        JWTAuth.revoke_user(sub)


def test_full_embedded_store_turns_a_sign_out_into_sign_out_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = store.MemoryStore(max_revocations=2)
    monkeypatch.setattr(store, "_memory", small)
    store.current.cache_clear()
    try:
        filler = [JWTAuth.create({"id": f"u{i}"}) for i in range(2)]
        for token in filler:
            JWTAuth.revoke(token)
        victim_phone, victim_laptop = JWTAuth.create(ADA), JWTAuth.create(ADA)
        JWTAuth.revoke(victim_phone)  # no room for the session: the user's cut-off instead
        assert refused(victim_phone) == refused(victim_laptop) == "token_revoked"
        assert all(refused(token) == "token_revoked" for token in filler)
    finally:
        store.current.cache_clear()


def test_redis_store_shares_sessions_and_cut_offs(redis_store: str) -> None:
    token, bob = JWTAuth.create(ADA), JWTAuth.create({"id": "8"})
    JWTAuth.revoke(nextauth_refresh(token))
    assert refused(token) == "token_revoked"
    JWTAuth.revoke_user("8")
    assert refused(bob) == "token_revoked"
    assert store.memory_store().get_many(["anything"]) == [None]
    assert len(store.memory_store()) == 0  # nothing went to the embedded store


# --------------------------------------------------------------------------- #
# Over HTTP: sign-out, sign-out-everywhere, the management command
# --------------------------------------------------------------------------- #


def test_signout_over_http_refuses_every_copy_of_the_session() -> None:
    token = JWTAuth.create(ADA)
    copy = nextauth_refresh(token)
    response = Client().post(SIGNOUT, headers=bearer(copy))
    assert response.status_code == 200
    assert refused(token) == "token_revoked"


def test_signout_everywhere_endpoint_cuts_off_the_tokens_user() -> None:
    phone, laptop, bob = JWTAuth.create(ADA), JWTAuth.create(ADA), JWTAuth.create({"id": "8"})
    response = Client().post(EVERYWHERE, headers=bearer(laptop))
    assert response.status_code == 200
    assert response.json() == {"url": "/api/auth/signin"}
    assert response.cookies[COOKIE]["max-age"] == 0
    assert refused(phone) == refused(laptop) == "token_revoked"
    assert refused(bob) is None


def test_signout_everywhere_needs_a_valid_token() -> None:
    response = Client().post(EVERYWHERE)
    assert (response.status_code, response.json()["code"]) == (401, "token_missing")
    assert response["WWW-Authenticate"].startswith("Bearer")
    expired = JWTAuth.create(ADA, max_age=-3600)
    response = Client().post(EVERYWHERE, headers=bearer(expired))
    assert (response.status_code, response.json()["code"]) == (401, "token_expired")


def test_forged_cross_site_signout_everywhere_is_403() -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies[COOKIE] = phone = JWTAuth.create(ADA)
    response = client.post(EVERYWHERE, headers={"Origin": "https://evil.example"})
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    assert refused(phone) is None


def test_signout_everywhere_when_the_store_is_down_is_503_and_clears_the_cookie(
    settings: Any,
) -> None:
    token = JWTAuth.create(ADA)
    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.NEXTAUTH_REVOCATION_FAIL_OPEN = True  # so the token still authenticates
    response = Client().post(EVERYWHERE, headers=bearer(token))
    assert (response.status_code, response.json()["code"]) == (503, "revocation_unavailable")
    assert response.cookies[COOKIE]["max-age"] == 0


@pytest.mark.django_db
def test_signout_everywhere_command_by_id_and_by_email() -> None:
    out = io.StringIO()
    token = JWTAuth.create(ADA)
    call_command("nextauth_signout_everywhere", "--id", "7", stdout=out)
    assert "Signed out everywhere" in out.getvalue()
    assert refused(token) == "token_revoked"
    user = get_user_model().objects.create_user("bob", email="Bob@example.com")
    bob = JWTAuth.create({"id": user.pk})
    call_command("nextauth_signout_everywhere", "--email", "bob@EXAMPLE.com", stdout=out)
    assert refused(bob) == "token_revoked"
    with pytest.raises(CommandError, match="No such user"):
        call_command("nextauth_signout_everywhere", "--email", "nobody@example.com")


def test_signout_everywhere_command_fails_loudly_when_the_store_is_down(settings: Any) -> None:
    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(CommandError, match="state store failed"):
        call_command("nextauth_signout_everywhere", "--id", "7")


def test_custom_login_answers_the_sid_of_the_session_it_minted(db: Any) -> None:
    get_user_model().objects.create_user("ada", email="ada@example.com", password="pw-123456")
    response = Client().post(
        "/api/auth/custom-login",
        data=json.dumps({"email": "ada@example.com", "password": "pw-123456"}),
        content_type="application/json",
    )
    body = response.json()
    assert JWTAuth.verify(body["token"])["sid"] == body["sid"]
