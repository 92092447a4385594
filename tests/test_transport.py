"""Reading tokens from requests and writing the session cookie (``transport.py``, ``csrf.py``)."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_nextauth_jwt.csrf import csrf_failure_reason, nextauth_csrf_valid
from django_nextauth_jwt.exceptions import TokenAmbiguous, TokenMalformed
from django_nextauth_jwt.transport import (
    Credentials,
    delete_session_cookie,
    get_bearer_token,
    get_credentials,
    offers_nothing,
    raw_cookie_names,
    set_session_cookie,
)
from tests.request_helpers import OTHER_SECRET, SECRET, chunk, nextauth_csrf_cookie

rf = RequestFactory()
COOKIE = "next-auth.session-token"


def request(headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None) -> Any:
    req = rf.get("/")
    req.META.update(headers or {})
    req.COOKIES = dict(cookies or {})
    return req


# --------------------------------------------------------------------------- #
# Authorization header
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(scheme):
    creds = get_credentials(request({"HTTP_AUTHORIZATION": f"{scheme} abc.def.ghi"}))
    assert creds == Credentials("abc.def.ghi", "header")


def test_bearer_token_is_url_decoded_like_get_token():
    creds = get_credentials(request({"HTTP_AUTHORIZATION": "Bearer a%2Eb.c%2Bd"}))
    assert creds is not None
    assert creds.token == "a.b.c+d"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer a b", "Bearer a%", "Bearer a%zz", "Bearer %C3%28", "Bearer %20"],
)
def test_malformed_bearer_header_is_token_malformed(header):
    with pytest.raises(TokenMalformed):
        get_credentials(request({"HTTP_AUTHORIZATION": header}, {COOKIE: "a.b.c"}))


def test_get_bearer_token_reads_only_the_authorization_header():
    assert get_bearer_token(request({"HTTP_AUTHORIZATION": "Bearer a%2Eb.c"})) == "a.b.c"
    assert get_bearer_token(request({"HTTP_AUTHORIZATION": "Basic dXNlcjpwdw=="})) is None
    assert get_bearer_token(request(cookies={COOKIE: "a.b.c"})) is None
    assert get_bearer_token(request({"HTTP_X_AUTHORIZATION": "Bearer a.b.c"})) is None
    with pytest.raises(TokenMalformed):
        get_bearer_token(request({"HTTP_AUTHORIZATION": "Bearer a b"}))


def test_raw_cookie_names_are_every_name_in_the_header_in_order_duplicates_kept():
    header = "a=1; b; c=2;  d = 3;=4; a=5; e=f=g"
    assert raw_cookie_names(rf.get("/", HTTP_COOKIE=header)) == ["a", "c", "d", "a", "e"]
    assert raw_cookie_names(rf.get("/")) == []
    # RequestFactory always sends a (possibly empty) Cookie header; a server need not.
    assert "HTTP_COOKIE" not in HttpRequest().META
    assert raw_cookie_names(HttpRequest()) == []


def test_a_request_offers_nothing_without_a_header_or_a_session_cookie_name():
    assert offers_nothing(rf.get("/"))
    assert offers_nothing(rf.get("/", HTTP_COOKIE="XXXX=1; csrftoken=c"))
    assert not offers_nothing(rf.get("/", HTTP_COOKIE=f"{COOKIE}.0=a"))
    assert not offers_nothing(rf.get("/", HTTP_AUTHORIZATION="Basic x"))
    assert not offers_nothing(rf.get("/", HTTP_COOKIE="mark=1"), unless="mark")


def test_other_scheme_offers_nothing_and_suppresses_the_cookie():
    req = request({"HTTP_AUTHORIZATION": "Basic dXNlcjpwdw=="}, {COOKIE: "a.b.c"})
    assert get_credentials(req) is None


def test_header_wins_over_cookie():
    req = request({"HTTP_AUTHORIZATION": "Bearer h.h.h"}, {COOKIE: "c.c.c"})
    assert get_credentials(req) == Credentials("h.h.h", "header")


def test_token_in_query_string_is_ignored():
    req = rf.get("/", {"token": "a.b.c", "access_token": "a.b.c", COOKIE: "a.b.c"})
    assert get_credentials(req) is None


def test_credentials_repr_never_shows_the_token():
    assert "secret-token" not in repr(Credentials("secret-token", "header"))


# --------------------------------------------------------------------------- #
# Cookies
# --------------------------------------------------------------------------- #


def test_exact_cookie_is_read():
    assert get_credentials(request(cookies={COOKIE: "a.b.c"})) == Credentials(
        "a.b.c", "cookie", COOKIE
    )


def test_empty_cookie_counts_as_absent():
    assert get_credentials(request(cookies={COOKIE: ""})) is None


def test_contiguous_chunks_are_reassembled_in_numeric_order(settings):
    settings.NEXTAUTH_MAX_COOKIE_CHUNKS = 12
    cookies = {f"{COOKIE}.{i}": str(i) for i in range(12)}
    creds = get_credentials(request(cookies=cookies))
    assert creds is not None
    assert creds.token == "01234567891011"


@pytest.mark.parametrize(
    "cookies",
    [
        {f"{COOKIE}.1": "b"},  # no .0
        {f"{COOKIE}.0": "a", f"{COOKIE}.2": "c"},  # gap
        {f"{COOKIE}.0": "a", f"{COOKIE}.1": ""},  # empty chunk
        {f"{COOKIE}.{i}": "a" for i in range(9)},  # over the default cap of 8
    ],
    ids=["missing-0", "gap", "empty-chunk", "too-many"],
)
def test_broken_chunk_sets_are_malformed(cookies):
    with pytest.raises(TokenMalformed):
        get_credentials(request(cookies=cookies))


def test_chunk_cap_is_a_setting(settings):
    settings.NEXTAUTH_MAX_COOKIE_CHUNKS = 2
    with pytest.raises(TokenMalformed):
        get_credentials(request(cookies={f"{COOKIE}.{i}": "a" for i in range(3)}))


def test_lookalike_cookies_are_not_chunks():
    cookies = {COOKIE: "a.b.c", f"{COOKIE}.x": "zz", f"{COOKIE}.01": "zz", f"{COOKIE}.-1": "z"}
    assert get_credentials(request(cookies=cookies)) == Credentials("a.b.c", "cookie", COOKIE)


@pytest.mark.parametrize(
    ("fmt", "secure", "name"),
    [
        ("jws", False, "next-auth.session-token"),
        ("nextauth-v4", True, "__Secure-next-auth.session-token"),
        ("authjs-v5", False, "authjs.session-token"),
        ("authjs-v5", True, "__Secure-authjs.session-token"),
    ],
)
def test_cookie_name_follows_format_and_secure_setting(settings, fmt, secure, name):
    settings.NEXTAUTH_JWT_FORMAT = fmt
    settings.NEXTAUTH_SECURE_COOKIE = secure
    other = "__Secure-x" if not secure else "authjs.session-token.nope"
    creds = get_credentials(request(cookies={name: "a.b.c", other: "z.z.z"}))
    assert creds == Credentials("a.b.c", "cookie", name)


def test_explicit_cookie_name_is_the_only_name(settings):
    settings.NEXTAUTH_COOKIE_NAME = "my-session"
    assert get_credentials(request(cookies={COOKIE: "a.b.c"})) is None
    assert get_credentials(request(cookies={"my-session": "m.m.m"})) == Credentials(
        "m.m.m", "cookie", "my-session"
    )


def test_accepted_formats_cookie_is_read_during_a_migration(settings):
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["authjs-v5", "nextauth-v4"]
    old = request(cookies={"next-auth.session-token": "old.o.o.o.o"})
    assert get_credentials(old) == Credentials("old.o.o.o.o", "cookie", "next-auth.session-token")
    both = request(cookies={"next-auth.session-token": "old", "authjs.session-token": "new"})
    assert get_credentials(both) == Credentials("new", "cookie", "authjs.session-token")


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def cookies_of(response: HttpResponse) -> SimpleCookie:
    return response.cookies


def test_small_token_is_one_cookie_with_nextauth_attributes():
    response = HttpResponse()
    set_session_cookie(response, "a.b.c", max_age=60)
    cookie = response.cookies[COOKIE]
    assert cookie.value == "a.b.c"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == 60
    assert not cookie["secure"]
    assert list(response.cookies) == [COOKIE]


@pytest.mark.parametrize(("fmt", "size"), [("nextauth-v4", 3933), ("authjs-v5", 3936)])
def test_large_token_is_chunked_exactly_like_nextauth(settings, fmt, size):
    settings.NEXTAUTH_JWT_FORMAT = fmt
    name = settings_name(fmt)
    token = "t" * (2 * size + 5)
    response = HttpResponse()
    set_session_cookie(response, token, max_age=60)
    assert [response.cookies[f"{name}.{i}"].value for i in range(3)] == chunk(token, size)
    # The unchunked cookie is expired so that readers never see both forms.
    assert response.cookies[name]["max-age"] == 0
    assert f"{name}.3" not in response.cookies


def settings_name(fmt: str) -> str:
    return "authjs.session-token" if fmt == "authjs-v5" else COOKIE


def test_token_of_exactly_chunk_size_is_not_chunked():
    response = HttpResponse()
    set_session_cookie(response, "t" * 3933, max_age=60)
    assert response.cookies[COOKIE].value == "t" * 3933


def test_unchunked_write_expires_stale_chunks_on_the_request():
    req = request(cookies={f"{COOKIE}.0": "a", f"{COOKIE}.1": "b", "unrelated": "keep"})
    response = HttpResponse()
    set_session_cookie(response, "a.b.c", max_age=60, request=req)
    assert response.cookies[COOKIE].value == "a.b.c"
    assert response.cookies[f"{COOKIE}.0"]["max-age"] == 0
    assert response.cookies[f"{COOKIE}.1"]["max-age"] == 0
    assert "unrelated" not in response.cookies


def test_shorter_chunked_write_expires_surplus_chunks():
    req = request(cookies={f"{COOKIE}.{i}": "x" for i in range(4)})
    response = HttpResponse()
    set_session_cookie(response, "t" * 5000, max_age=60, request=req)
    assert response.cookies[f"{COOKIE}.1"].value == "t" * (5000 - 3933)
    assert response.cookies[f"{COOKIE}.2"]["max-age"] == 0
    assert response.cookies[f"{COOKIE}.3"]["max-age"] == 0


def test_secure_names_and_setting_make_secure_cookies(settings):
    response = HttpResponse()
    set_session_cookie(response, "a.b.c", max_age=60, name="__Secure-x")
    assert response.cookies["__Secure-x"]["secure"] is True
    settings.NEXTAUTH_SECURE_COOKIE = True
    set_session_cookie(response, "a.b.c", max_age=60)
    assert response.cookies["__Secure-next-auth.session-token"]["secure"] is True


def test_max_age_defaults_to_token_lifetime(settings):
    settings.NEXTAUTH_MAX_AGE = 1234
    response = HttpResponse()
    set_session_cookie(response, "a.b.c")
    assert response.cookies[COOKIE]["max-age"] == 1234


def test_written_chunks_read_back_as_the_same_token():
    token = "a" * 4000 + "." + "b" * 5000 + "." + "c"
    response = HttpResponse()
    set_session_cookie(response, token, max_age=60)
    live = {k: m.value for k, m in response.cookies.items() if m["max-age"] != 0}
    assert get_credentials(request(cookies=live)) == Credentials(token, "cookie", COOKIE)


def test_delete_expires_cookie_and_every_chunk_present():
    req = request(cookies={f"{COOKIE}.0": "a", f"{COOKIE}.1": "b", f"{COOKIE}.7": "c"})
    response = HttpResponse()
    delete_session_cookie(response, req)
    for name in (COOKIE, f"{COOKIE}.0", f"{COOKIE}.1", f"{COOKIE}.7"):
        assert response.cookies[name]["max-age"] == 0
        assert response.cookies[name]["path"] == "/"


def test_delete_without_request_expires_the_cookie(settings):
    settings.NEXTAUTH_SECURE_COOKIE = True
    response = HttpResponse()
    delete_session_cookie(response)
    cookie = response.cookies["__Secure-next-auth.session-token"]
    assert cookie["max-age"] == 0
    assert cookie["secure"] is True


@pytest.mark.node
def test_chunked_cookie_is_read_by_real_next_auth(node, settings):
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    from django_nextauth_jwt import JWTAuth

    token = JWTAuth.create({"id": "7", "padding": "p" * 6000})
    response = HttpResponse()
    set_session_cookie(response, token)
    header = "; ".join(f"{k}={m.value}" for k, m in response.cookies.items() if m["max-age"] != 0)
    raw = node.call("v4.getToken", headers={"cookie": header}, secret=SECRET, raw=True)
    assert raw == token


# --------------------------------------------------------------------------- #
# NextAuth double-submit CSRF
# --------------------------------------------------------------------------- #


def csrf_request(cookie: str | None, header: str | None, name: str = "next-auth.csrf-token"):
    req = rf.post("/")
    if header is not None:
        req.META["HTTP_X_CSRF_TOKEN"] = header
    req.COOKIES = {name: cookie} if cookie is not None else {}
    return req


@pytest.mark.parametrize("encode", [True, False])
def test_nextauth_csrf_token_echoed_in_header_is_valid(encode):
    assert nextauth_csrf_valid(csrf_request(nextauth_csrf_cookie("t0k", encode=encode), "t0k"))


@pytest.mark.parametrize(
    ("cookie", "header"),
    [
        (None, "t0k"),
        (nextauth_csrf_cookie("t0k"), None),
        (nextauth_csrf_cookie("t0k"), "other"),
        (nextauth_csrf_cookie("t0k", OTHER_SECRET), "t0k"),
        ("t0k%7C" + "0" * 64, "t0k"),
        ("t0k", "t0k"),
        ("t0k%7", "t0k"),
        (nextauth_csrf_cookie("t0k"), "t0k\u00e9"),
    ],
    ids=[
        "no-cookie",
        "no-header",
        "wrong-echo",
        "foreign-secret",
        "forged-hash",
        "no-hash",
        "bad-escape",
        "non-ascii-echo",
    ],
)
def test_nextauth_csrf_without_proof_is_refused(cookie, header):
    assert not nextauth_csrf_valid(csrf_request(cookie, header))


def test_nextauth_csrf_accepts_any_configured_secret_and_authjs_joined_list(settings):
    settings.NEXTAUTH_SECRET = [OTHER_SECRET, SECRET]
    assert nextauth_csrf_valid(csrf_request(nextauth_csrf_cookie("t", SECRET), "t"))
    assert nextauth_csrf_valid(csrf_request(nextauth_csrf_cookie("t", OTHER_SECRET), "t"))
    joined = f"{OTHER_SECRET},{SECRET}"
    assert nextauth_csrf_valid(csrf_request(nextauth_csrf_cookie("t", joined), "t"))


@pytest.mark.parametrize(
    ("fmt", "secure", "name"),
    [
        ("nextauth-v4", False, "next-auth.csrf-token"),
        ("jws", True, "__Host-next-auth.csrf-token"),
        ("authjs-v5", False, "authjs.csrf-token"),
        ("authjs-v5", True, "__Host-authjs.csrf-token"),
    ],
)
def test_nextauth_csrf_cookie_name_follows_format(settings, fmt, secure, name):
    settings.NEXTAUTH_JWT_FORMAT = fmt
    settings.NEXTAUTH_SECURE_COOKIE = secure
    assert nextauth_csrf_valid(csrf_request(nextauth_csrf_cookie("t"), "t", name))


def test_nextauth_csrf_header_name_is_a_setting(settings):
    settings.NEXTAUTH_CSRF_HEADER_NAME = "X-NextAuth-CSRF"
    req = rf.post("/", HTTP_X_NEXTAUTH_CSRF="t")
    req.COOKIES = {"next-auth.csrf-token": nextauth_csrf_cookie("t")}
    assert nextauth_csrf_valid(req)
    assert not nextauth_csrf_valid(csrf_request(nextauth_csrf_cookie("t"), "t"))


def test_safe_methods_need_no_csrf_proof():
    req = rf.get("/")
    assert csrf_failure_reason(req) is None


def test_unsafe_method_without_any_proof_has_a_reason():
    req = rf.post("/")
    req.COOKIES = {}
    assert csrf_failure_reason(req)


# --------------------------------------------------------------------------- #
# Fuzzing: bad input is TokenMalformed or nothing, never another exception
# --------------------------------------------------------------------------- #

header_text = st.text(st.characters(codec="latin-1", exclude_categories=["Cs"]), max_size=40)
names = st.sampled_from([COOKIE, f"{COOKIE}.0", f"{COOKIE}.1", f"{COOKIE}.3", f"{COOKIE}.x"])


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.one_of(st.none(), header_text, header_text.map(lambda s: "Bearer " + s)),
    cookies=st.dictionaries(names, header_text, max_size=4),
)
def test_fuzzed_headers_and_cookies_never_raise_anything_else(header, cookies):
    req = request({"HTTP_AUTHORIZATION": header} if header is not None else {}, cookies)
    try:
        creds = get_credentials(req)
    except (TokenMalformed, TokenAmbiguous):
        return
    assert creds is None or isinstance(creds.token, str)


@hsettings(max_examples=200, deadline=None)
@given(cookie=header_text, header=header_text)
def test_fuzzed_csrf_input_never_raises(cookie, header):
    assert nextauth_csrf_valid(csrf_request(cookie, header)) in (True, False)


# --------------------------------------------------------------------------- #
# offers_nothing: the token-less fast path
# --------------------------------------------------------------------------- #


def raw(cookie: str | None = None, authorization: str | None = None) -> Any:
    req = rf.get("/")
    if cookie is not None:
        req.META["HTTP_COOKIE"] = cookie  # request.COOKIES is parsed from it when first read
    if authorization is not None:
        req.META["HTTP_AUTHORIZATION"] = authorization
    return req


@pytest.mark.parametrize(
    ("cookie", "authorization", "nothing"),
    [
        (None, None, True),
        ("", None, True),
        ("csrftoken=abc; sessionid=xyz", None, True),
        (None, "Basic dXNlcjpwYXNz", False),  # another scheme: get_credentials decides
        ("csrftoken=abc", "Bearer a.b.c", False),
        (f"csrftoken=abc; {COOKIE}=a.b.c", None, False),
        (f"{COOKIE}.0=a.b; {COOKIE}.1=c", None, False),
        (f"theme={COOKIE}", None, False),  # a name in a value: looked at, found to be none
        ("authjs.session-token=a.b.c", None, True),  # not a name read under these settings
    ],
)
def test_offers_nothing_reads_the_raw_headers_only(
    cookie: str | None, authorization: str | None, nothing: bool
) -> None:
    from django_nextauth_jwt.transport import offers_nothing

    req = raw(cookie, authorization)
    assert offers_nothing(req) is nothing
    if nothing:
        assert get_credentials(req) is None


def test_offers_nothing_unless_the_header_mentions_what_the_caller_asks() -> None:
    from django_nextauth_jwt.transport import offers_nothing

    req = raw("authjs.session-token=a.b.c")
    assert offers_nothing(req)
    assert not offers_nothing(req, unless="session-token")  # diagnostics want to see it
    assert offers_nothing(raw("theme=dark"), unless="session-token")


@hsettings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [COOKIE, f"{COOKIE}.0", f"{COOKIE}.1", "csrftoken", "x", f"a{COOKIE}", "__Secure-x"]
            ),
            st.text(alphabet="abc.=%-_", max_size=8),
        ),
        max_size=4,
    )
)
def test_a_request_said_to_offer_nothing_never_holds_a_token(pairs: list[tuple[str, str]]) -> None:
    from django_nextauth_jwt.transport import offers_nothing

    req = raw("; ".join(f"{k}={v}" for k, v in pairs))
    if offers_nothing(req):
        assert get_credentials(req) is None
