"""Session cookies that cannot be told apart are refused; sign-out reaches every copy.

A sibling subdomain can set a cookie of the same name for the parent domain (cookie tossing).
Django's parser keeps the last of two same-named cookies, NextAuth's the first: the request
ran as the attacker, and sign-out revoked the attacker's token instead of the victim's.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.csrf import nextauth_csrf_valid
from django_nextauth_jwt.transport import delete_session_cookie, get_credentials
from tests.request_helpers import MIDDLEWARE, chunk, nextauth_csrf_cookie

COOKIE = "next-auth.session-token"
rf = RequestFactory()
VICTIM = {"id": "1", "email": "victim@example.com"}
ATTACKER = {"id": "666", "email": "attacker@example.com"}


@pytest.fixture(autouse=True)
def _middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]


def raw(header: str, **extra: Any) -> Any:
    return RequestFactory().get("/", HTTP_COOKIE=header, **extra)


def refused(token: str) -> str | None:
    try:
        JWTAuth.verify(token)
    except exc.InvalidToken as error:
        return error.code
    return None


def test_duplicate_session_cookie_from_a_sibling_subdomain_is_refused_as_ambiguous() -> None:
    victim, attacker = JWTAuth.create(VICTIM), JWTAuth.create(ATTACKER)
    header = f"{COOKIE}={victim}; {COOKIE}={attacker}"
    drf = Client().get("/api/me/", HTTP_COOKIE=header)
    assert (drf.status_code, drf.json()["code"]) == (401, "token_ambiguous")
    plain = Client().get("/page/", HTTP_COOKIE=header).json()
    assert (plain["authenticated"], plain["error"]) == (False, "token_ambiguous")
    assert Client().get("/api/auth/session", HTTP_COOKIE=header).json() == {}


def test_duplicate_chunk_is_refused_as_ambiguous() -> None:
    pieces = chunk(JWTAuth.create({**VICTIM, "padding": "p" * 6000}), 3933)
    planted = chunk(JWTAuth.create({**ATTACKER, "padding": "p" * 6000}), 3933)
    header = f"{COOKIE}.0={pieces[0]}; {COOKIE}.1={pieces[1]}; {COOKIE}.0={planted[0]}"
    with pytest.raises(exc.TokenAmbiguous):
        get_credentials(raw(header))


def test_whole_cookie_beside_chunks_is_refused_as_ambiguous() -> None:
    whole = JWTAuth.create(ATTACKER)
    pieces = chunk(JWTAuth.create({**VICTIM, "padding": "p" * 6000}), 3933)
    header = f"{COOKIE}.0={pieces[0]}; {COOKIE}.1={pieces[1]}; {COOKIE}={whole}"
    response = Client().get("/api/me/", HTTP_COOKIE=header)
    assert (response.status_code, response.json()["code"]) == (401, "token_ambiguous")


def test_one_cookie_and_one_chunk_set_still_work() -> None:
    token = JWTAuth.create(VICTIM)
    assert get_credentials(raw(f"{COOKIE}={token}; other={token}")).token == token  # type: ignore[union-attr]
    pieces = chunk(JWTAuth.create({**VICTIM, "padding": "p" * 6000}), 3933)
    header = "; ".join(f"{COOKIE}.{i}={piece}" for i, piece in enumerate(pieces))
    assert get_credentials(raw(header)).token == "".join(pieces)  # type: ignore[union-attr]


def test_bearer_header_still_wins_over_ambiguous_cookies() -> None:
    victim, attacker = JWTAuth.create(VICTIM), JWTAuth.create(ATTACKER)
    response = Client().get(
        "/api/me/",
        HTTP_COOKIE=f"{COOKIE}={victim}; {COOKIE}={attacker}",
        HTTP_AUTHORIZATION=f"Bearer {victim}",
    )
    assert response.status_code == 200


def test_signout_with_a_planted_cookie_revokes_the_victims_session_too() -> None:
    victim, attacker = JWTAuth.create(VICTIM), JWTAuth.create(ATTACKER)
    response = Client().post(
        "/api/auth/signout", HTTP_COOKIE=f"{COOKIE}={victim}; {COOKIE}={attacker}"
    )
    assert response.status_code == 200
    assert refused(victim) == "token_revoked"
    assert refused(attacker) == "token_revoked"


def test_duplicate_nextauth_csrf_cookie_proves_nothing() -> None:
    genuine = nextauth_csrf_cookie("f00d")
    ok = raw(f"next-auth.csrf-token={genuine}", HTTP_X_CSRF_TOKEN="f00d")
    assert nextauth_csrf_valid(ok)
    planted = nextauth_csrf_cookie("beef")
    tossed = raw(
        f"next-auth.csrf-token={genuine}; next-auth.csrf-token={planted}",
        HTTP_X_CSRF_TOKEN="beef",
    )
    assert not nextauth_csrf_valid(tossed)


# --------------------------------------------------------------------------- #
# Deleting: the parent domain too, and never more chunks than are read
# --------------------------------------------------------------------------- #


def set_cookie_lines(response: Any) -> list[str]:
    # What the WSGI and ASGI handlers write: one line per morsel of response.cookies.
    return [morsel.output(header="").strip() for morsel in response.cookies.values()]


def test_signout_cannot_be_escaped_by_a_cookie_set_for_the_parent_domain(settings: Any) -> None:
    settings.SESSION_COOKIE_DOMAIN = ".example.com"
    response = Client().post("/api/auth/signout")
    lines = [line for line in set_cookie_lines(response) if line.startswith(f"{COOKIE}=")]
    assert len(lines) == 2
    assert sum("Domain=.example.com" in line for line in lines) == 1
    assert all("Max-Age=0" in line and "Path=/" in line for line in lines)


def test_cookie_domain_setting_writes_and_deletes_for_that_domain(settings: Any) -> None:
    settings.NEXTAUTH_COOKIE_DOMAIN = ".example.com"
    token = JWTAuth.create(VICTIM)
    from django_nextauth_jwt.transport import set_session_cookie

    written = HttpResponse()
    set_session_cookie(written, token)
    assert written.cookies[COOKIE]["domain"] == ".example.com"
    deleted = HttpResponse()
    delete_session_cookie(deleted)
    lines = set_cookie_lines(deleted)
    assert sum("Domain=.example.com" in line for line in lines) == 1
    assert len(lines) == 2  # and host-only, for a copy written before the setting


def test_signout_answers_at_most_the_configured_number_of_chunks(settings: Any) -> None:
    settings.NEXTAUTH_MAX_COOKIE_CHUNKS = 4
    header = "; ".join(f"{COOKIE}.{i}=x" for i in range(300))
    response = Client().post("/api/auth/signout", HTTP_COOKIE=header)
    names = {line.split("=", 1)[0] for line in set_cookie_lines(response)}
    assert names == {COOKIE, *(f"{COOKIE}.{i}" for i in range(4))}


def test_host_prefixed_cookie_is_never_given_a_domain(settings: Any) -> None:
    settings.NEXTAUTH_COOKIE_NAME = "__Host-session"
    settings.SESSION_COOKIE_DOMAIN = ".example.com"
    response = HttpResponse()
    delete_session_cookie(response)
    lines = set_cookie_lines(response)
    assert len(lines) == 1
    assert lines[0].startswith("__Host-session=")
    assert "Domain" not in lines[0]


GONE = "expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; Path=/; SameSite=Lax"


@pytest.mark.parametrize(
    ("cookie_domain", "name", "expected"),
    [
        (
            None,
            COOKIE,
            [f'{COOKIE}=""; {GONE}', f"{COOKIE}=; Domain=.example.com; {GONE}"],
        ),
        (
            ".example.com",
            COOKIE,
            [f'{COOKIE}=""; Domain=.example.com; {GONE}', f"{COOKIE}=; {GONE}"],
        ),
        (
            None,
            f"__Secure-{COOKIE}",
            [
                f'__Secure-{COOKIE}=""; {GONE}; Secure',
                f"__Secure-{COOKIE}=; Domain=.example.com; {GONE}; Secure",
            ],
        ),
    ],
    ids=["host-only-then-parent", "domain-then-host-only", "secure-prefix"],
)
def test_both_deletions_carry_the_attributes_the_cookie_was_set_with(
    settings: Any, cookie_domain: str | None, name: str, expected: list[str]
) -> None:
    # A deletion that differs from the cookie in Path, Secure or SameSite is ignored by
    # browsers: the second line (the other domain) must match the first in everything else.
    settings.SESSION_COOKIE_DOMAIN = ".example.com"
    settings.NEXTAUTH_COOKIE_DOMAIN = cookie_domain
    settings.NEXTAUTH_COOKIE_NAME = name
    response = Client().post("/api/auth/signout")
    lines = sorted(line for line in set_cookie_lines(response) if line.startswith(f"{name}="))
    assert lines == expected


def test_sign_out_expires_every_chunk_on_both_domains(settings: Any) -> None:
    # One deletion line per name and domain: each name's second line is its own, not shared.
    settings.SESSION_COOKIE_DOMAIN = ".example.com"
    settings.NEXTAUTH_COOKIE_NAME = COOKIE
    client = Client()
    client.cookies[f"{COOKIE}.0"] = "first-half"
    client.cookies[f"{COOKIE}.1"] = "second-half"
    lines = set_cookie_lines(client.post("/api/auth/signout"))
    for name in (COOKIE, f"{COOKIE}.0", f"{COOKIE}.1"):
        # Path=/ only: the lines for the request path's prefixes are test_planted_cookies'.
        mine = sorted(line for line in lines if line.startswith(f"{name}=") and GONE in line)
        assert mine == [f'{name}=""; {GONE}', f"{name}=; Domain=.example.com; {GONE}"], name


def test_sign_out_candidates_are_every_whole_session_cookie_value_once() -> None:
    from django_nextauth_jwt.transport import ambiguous_candidates

    header = (
        f'{COOKIE}=a.b.c; other=x; {COOKIE}="d.e.f"; junk; {COOKIE}=a.b.c; {COOKIE}=%zz; '
        f"{COOKIE}=; {COOKIE}.0=chunk; {COOKIE}=g=h;  {COOKIE} = i.j.k "
    )
    assert ambiguous_candidates(raw(header)) == ["a.b.c", "d.e.f", "g=h", "i.j.k"]
    assert ambiguous_candidates(rf.get("/")) == []
    many = "; ".join(f"{COOKIE}=t{i}" for i in range(20))
    assert ambiguous_candidates(raw(many)) == [f"t{i}" for i in range(8)]
    # Only quotes are taken off: an HS384 signature (64 base64url characters, all of them
    # significant) may end in any letter, and a value may begin with one.
    edges = f'{COOKIE}="Xa.b.cX"; {COOKIE}=Xd.e.fX'
    assert ambiguous_candidates(raw(edges)) == ["Xa.b.cX", "Xd.e.fX"]


def test_a_cookie_named_like_a_chunk_but_not_one_is_no_duplicate() -> None:
    # "name.x" is some other cookie: sent twice, it makes the session cookie no less certain.
    header = f"{COOKIE}=a.b.c; {COOKIE}.x=1; {COOKIE}.x=2"
    credentials = get_credentials(raw(header))
    assert credentials is not None
    assert credentials.token == "a.b.c"


def test_a_whole_cookie_sent_twice_is_ambiguous_beside_other_candidates() -> None:
    # Not the one-cookie fast path (a second name is a candidate): the same refusal.
    header = f"{COOKIE}=a.b.c; {COOKIE}=d.e.f; {COOKIE}.x=1"
    with pytest.raises(exc.TokenAmbiguous):
        get_credentials(raw(header))
