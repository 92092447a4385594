"""One cut-off per person: sign-out-everywhere in database mode reaches every ``sub`` of the user.

With ``NEXTAUTH_USER_LOOKUP_CLAIM = "email"`` one person holds tokens whose ``sub`` differ and
that resolve to the same row: custom-login's ``sub`` is the primary key, NextAuth's Google
provider puts the Google account id there, a JWKS issuer its own id. Before issue 21 the
cut-off named one ``sub`` and the stolen Google session stayed 200 as the same Django user,
from the endpoint and from ``manage.py nextauth_signout_everywhere --email``, whose
``email__iexact`` also let a look-alike address (the dotless i on PostgreSQL, an accent on
MariaDB) sign out the real account. Marked ``db``: SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.state import revocation, store
from tests import forge
from tests.request_helpers import bearer

pytestmark = [pytest.mark.django_db, pytest.mark.db]

EVERYWHERE = "/api/auth/signout-everywhere"
ME = "/api/me/"
GOOGLE_SUB = "104729384756102938475"  # NextAuth's Google provider: the Google account id
ISSUER_SUB = "5f0c8a9e-3b1d-4c2e-9a7f-issuer-id"  # another issuer's own id for the person


@pytest.fixture
def by_email(settings: Any) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"


def user(email: str, username: str) -> Any:
    return get_user_model().objects.create_user(username, email=email)


def token(sub: str, email: str, **extra: Any) -> str:
    return forge.jws(
        forge.claims(sub=sub, email=email, sid=f"sid-{sub}", jti=f"jti-{sub}", **extra)
    )


def sessions_of(person: Any) -> list[str]:
    """The person's sessions under three subs: custom-login's, Google's, another issuer's."""
    email = person.email
    return [token(str(person.pk), email), token(GOOGLE_SUB, email), token(ISSUER_SUB, email)]


def outcome(value: str) -> str | None:
    result = JWTAuth.authenticate_token(value)
    return None if result.success else result.error


def test_every_sub_of_one_person_resolves_to_that_user(by_email: None) -> None:
    ada = user("ada@example.com", "ada")
    assert {JWTAuth.authenticate_token(t).user.pk for t in sessions_of(ada)} == {ada.pk}


def test_sign_out_everywhere_endpoint_cuts_off_every_sub_of_the_person(by_email: None) -> None:
    ada, bob = user("ada@example.com", "ada"), user("bob@example.com", "bob")
    phone, google, elsewhere = sessions_of(ada)
    bobs = token(str(bob.pk), bob.email)
    response = Client().post(EVERYWHERE, headers=bearer(phone))
    assert response.status_code == 200
    assert [outcome(t) for t in (phone, google, elsewhere)] == ["token_revoked"] * 3
    assert outcome(bobs) is None
    # Over HTTP too: the DRF view, the stolen Google session included.
    answer = Client().get(ME, headers=bearer(google))
    assert (answer.status_code, answer.json()["code"]) == (401, "token_revoked")


def test_sign_out_everywhere_endpoint_from_a_google_session_cuts_off_custom_login(
    by_email: None,
) -> None:
    ada = user("ada@example.com", "ada")
    phone, google, _ = sessions_of(ada)
    assert Client().post(EVERYWHERE, headers=bearer(google)).status_code == 200
    assert outcome(phone) == "token_revoked"


def test_sign_out_everywhere_command_by_email_cuts_off_every_sub_of_the_person(
    by_email: None,
) -> None:
    ada, bob = user("Ada@Example.com", "ada"), user("bob@example.com", "bob")
    bobs = token(str(bob.pk), bob.email)
    out = io.StringIO()
    call_command("nextauth_signout_everywhere", "--email", "ada@EXAMPLE.com", stdout=out)
    assert f"user {ada.pk}" in out.getvalue()
    assert [outcome(t) for t in sessions_of(ada)] == ["token_revoked"] * 3
    assert outcome(bobs) is None


def test_sign_out_everywhere_command_by_id_cuts_off_every_sub_of_the_person(
    by_email: None,
) -> None:
    ada = user("ada@example.com", "ada")
    call_command("nextauth_signout_everywhere", "--id", str(ada.pk), stdout=io.StringIO())
    assert [outcome(t) for t in sessions_of(ada)] == ["token_revoked"] * 3
    with pytest.raises(CommandError, match="No such user"):
        call_command("nextauth_signout_everywhere", "--id", GOOGLE_SUB)


@pytest.mark.parametrize("given", ["user", "pk"])
def test_revoke_user_cuts_off_every_sub_of_the_person(by_email: None, given: str) -> None:
    ada, bob = user("ada@example.com", "ada"), user("bob@example.com", "bob")
    cutoff = JWTAuth.revoke_user(ada if given == "user" else str(ada.pk))
    assert abs(cutoff - time.time()) <= 2
    assert [outcome(t) for t in sessions_of(ada)] == ["token_revoked"] * 3
    assert outcome(token(str(bob.pk), bob.email)) is None


@pytest.mark.parametrize("who", [None, 5, "", object()])
def test_revoke_user_needs_a_sub_or_a_saved_user(by_email: None, who: Any) -> None:
    with pytest.raises((ValueError, exc.InvalidToken)):
        JWTAuth.revoke_user(who)


def test_a_session_signed_into_after_the_person_was_cut_off_is_accepted(by_email: None) -> None:
    ada = user("ada@example.com", "ada")
    cutoff = JWTAuth.revoke_user(ada)
    later = token(GOOGLE_SUB, ada.email, auth_time=cutoff + 1, iat=cutoff + 1)
    assert outcome(later) is None
    same_second = token(GOOGLE_SUB, ada.email, auth_time=cutoff, iat=cutoff + 1)
    assert outcome(same_second) == "token_revoked"


def test_a_cut_off_person_is_anonymous_where_the_user_is_resolved_lazily(by_email: None) -> None:
    # The middleware resolves users lazily off its protected paths: the cut-off applies there.
    from django.test import RequestFactory

    from django_nextauth_jwt.request import authenticate_request, lazy_user

    ada = user("ada@example.com", "ada")
    _, google, _ = sessions_of(ada)
    JWTAuth.revoke_user(ada)
    request = RequestFactory().get("/", headers=bearer(google))
    result = authenticate_request(request, resolve_user=False)
    assert lazy_user(result).is_anonymous
    assert authenticate_request(request).error == "token_revoked"


def test_the_person_cut_off_costs_no_query_beyond_the_lookup(
    by_email: None, django_assert_num_queries: Any
) -> None:
    ada = user("ada@example.com", "ada")
    _, google, _ = sessions_of(ada)
    JWTAuth.revoke_user(ada)
    with django_assert_num_queries(1):  # the lookup by email, nothing more
        assert outcome(google) == "token_revoked"


def test_a_full_embedded_store_still_takes_a_persons_cut_off(
    by_email: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One cut-off per real user at most: it may go past the cap sessions are held to.
    small = store.MemoryStore(max_revocations=1)
    monkeypatch.setattr(store, "_memory", small)
    store.current.cache_clear()
    try:
        ada, bob = user("ada@example.com", "ada"), user("bob@example.com", "bob")
        JWTAuth.revoke(token(str(bob.pk), bob.email))  # the store is full
        JWTAuth.revoke_user(ada)
        assert [outcome(t) for t in sessions_of(ada)] == ["token_revoked"] * 3
    finally:
        store.current.cache_clear()


class Unreadable:
    """A store that cannot be read, as Redis down."""

    in_process = False

    def get_many(self, keys: Any) -> list[int | None]:
        raise ConnectionError("down")


@pytest.mark.parametrize("fail_open", [False, True])
def test_the_persons_cut_off_unreadable_fails_closed_unless_told_otherwise(
    by_email: None, settings: Any, monkeypatch: pytest.MonkeyPatch, fail_open: bool
) -> None:
    from django_nextauth_jwt.policy import policy

    settings.NEXTAUTH_REVOCATION_FAIL_OPEN = fail_open
    ada = user("ada@example.com", "ada")
    claims = {"sub": GOOGLE_SUB, "email": ada.email, "auth_time": int(time.time())}
    monkeypatch.setattr(store, "current", Unreadable)
    if fail_open:
        revocation.check_account(ada.pk, claims, policy())  # no error: the token passes
    else:
        with pytest.raises(exc.RevocationUnavailable):
            revocation.check_account(ada.pk, claims, policy())


def test_stateless_mode_keeps_the_cut_off_of_the_sub(settings: Any) -> None:
    ada = user("ada@example.com", "ada")
    custom, google, _ = sessions_of(ada)
    JWTAuth.revoke_user(ada)  # a row in stateless mode: the id its tokens are minted with
    assert outcome(custom) == "token_revoked"
    assert outcome(google) is None  # another sub is another subject without a database
    assert store.current().get_many([revocation.account_key(ada.pk)]) == [None]


@pytest.mark.parametrize(
    ("real", "lookalike"),
    [
        ("admin@example.com", "adm\u0131n@example.com"),  # PostgreSQL: dotless i upper-cases to I
        ("ada@example.com", "ad\u00e1@example.com"),  # MariaDB: the collation ignores accents
        ("ada@example.com", "ADA@example.com\u0301"),  # a combining mark after the address
    ],
    ids=["dotless_i", "accent", "combining_mark"],
)
@pytest.mark.parametrize("mode", ["stateless", "database"])
def test_sign_out_everywhere_command_refuses_a_lookalike_email(
    settings: Any, real: str, lookalike: str, mode: str
) -> None:
    settings.NEXTAUTH_USER_MODE = mode
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    person = user(real, "person")
    session = token(str(person.pk), real)
    with pytest.raises(CommandError, match="No such user"):
        call_command("nextauth_signout_everywhere", "--email", lookalike)
    assert outcome(session) is None  # the real account was not signed out


def test_sign_out_everywhere_command_refuses_an_email_two_accounts_share(by_email: None) -> None:
    user("ada@example.com", "ada")
    user("ADA@example.com", "ada2")
    with pytest.raises(CommandError, match="Several users"):
        call_command("nextauth_signout_everywhere", "--email", "ada@example.com")
