"""Pins on the request path that no test held (issue 27).

``TokenUser``'s permissions, the middleware's public paths inside protected ones (with a bad
cookie too, where a slip redirects the sign-in page to itself), and ``no-store`` on the
answers that depend on credentials or on this service's keys. Each was shown to fail with
the slip it guards against applied by hand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from django_nextauth_jwt.exceptions import TokenAmbiguous, TokenExpired, TokenMissing
from django_nextauth_jwt.middleware import NextAuthJWTMiddleware, path_is_protected
from django_nextauth_jwt.request import (
    authenticate_request,
    clear_if_ambiguous,
    may_block,
    signin_url,
    unauthorized_response,
)
from django_nextauth_jwt.tokens import AuthResult
from django_nextauth_jwt.users import TokenUser
from tests.request_helpers import ADA, MIDDLEWARE, bearer, expired_token, make_token, tamper

COOKIE = "next-auth.session-token"

# --------------------------------------------------------------------------- #
# TokenUser's permissions
# --------------------------------------------------------------------------- #


@pytest.fixture
def roles(settings: Any) -> Any:
    settings.NEXTAUTH_STAFF_ROLES = ["staff"]
    settings.NEXTAUTH_SUPERUSER_ROLES = ["owner"]
    return settings


@pytest.mark.parametrize("role", ["staff", "user", None])
def test_token_user_below_superuser_has_no_model_permission(roles: Any, role: str | None) -> None:
    user = TokenUser({**ADA, "role": role})
    assert user.is_staff is (role == "staff")
    assert user.has_perm("auth.delete_user") is False
    assert user.has_perm("auth.view_user", obj=object()) is False
    assert user.has_perms(["auth.view_user"]) is False
    assert user.has_module_perms("auth") is False


def test_token_superuser_has_every_model_permission(roles: Any) -> None:
    user = TokenUser({**ADA, "role": "owner"})
    assert user.has_perm("auth.delete_user") is True
    assert user.has_perms(["auth.view_user", "auth.delete_user"]) is True
    assert user.has_module_perms("auth") is True


def test_token_user_needs_every_permission_of_a_list(roles: Any, monkeypatch: Any) -> None:
    # has_perms is "all of them": one permission refused refuses the list.
    user = TokenUser({**ADA, "role": "owner"})
    monkeypatch.setattr(user, "has_perm", lambda perm, obj=None: perm == "auth.view_user")
    assert TokenUser.has_perms(user, ["auth.view_user", "auth.delete_user"]) is False
    assert TokenUser.has_perms(user, ["auth.view_user"]) is True


def test_token_user_reads_its_profile_from_the_claims() -> None:
    claims = {"id": "42", "email": "ada@example.com", "name": "Ada", "picture": "p.png"}
    user = TokenUser({**claims, "image": "i.png"})
    assert (user.email, user.name, user.image) == ("ada@example.com", "Ada", "p.png")
    assert (user.username, user.get_username(), str(user)) == ("ada@example.com",) * 3
    assert TokenUser({"id": "42", "image": "i.png"}).image == "i.png"


def test_token_user_without_an_email_is_named_by_its_id() -> None:
    user = TokenUser({"id": "42", "email": 7, "name": ["Ada"], "picture": None})
    assert (user.email, user.name, user.image) == (None, None, None)
    assert (user.username, str(user)) == ("42", "42")


def test_token_users_are_equal_by_id_and_only_to_token_users() -> None:
    ada, again, bob = TokenUser(ADA), TokenUser({**ADA, "name": "A."}), TokenUser({"id": "8"})
    assert ada == again
    assert ada != bob
    assert ada != ADA["id"]  # a string with the same id is not a user
    assert {ada, again, bob} == {ada, bob}


def test_token_users_hash_apart_by_id() -> None:
    # A constant hash keeps equality, but every set or dict of users degrades to a list.
    users = [TokenUser({"id": str(n)}) for n in range(50)]
    assert len({hash(user) for user in users}) == 50
    assert hash(TokenUser({"id": "7"})) == hash(TokenUser({"id": "7", "role": "x"}))


def test_has_role_is_the_tokens_role_among_those_named() -> None:
    user = TokenUser({**ADA, "role": "editor"})
    assert user.has_role("editor") is True
    assert user.has_role("admin", "editor") is True
    assert user.has_role("admin") is False
    assert user.has_role() is False
    nobody = TokenUser(ADA)  # no role claim
    assert nobody.has_role("editor") is False
    assert nobody.has_role(None) is False  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Public paths inside protected ones
# --------------------------------------------------------------------------- #


@pytest.fixture
def paths(settings: Any) -> Any:
    settings.NEXTAUTH_PROTECTED_PATHS = ["/private/"]
    settings.NEXTAUTH_PUBLIC_PATHS = ["/private/public/"]
    return settings


def test_path_is_protected_leaves_out_public_paths(paths: Any) -> None:
    assert path_is_protected("/private/page/") is True
    assert path_is_protected("/private/public/page/") is False
    assert path_is_protected("/page/") is False


def _page(request: Any) -> HttpResponse:
    return HttpResponse("the page")


@pytest.mark.parametrize(
    "token",
    [expired_token, lambda: tamper(make_token()), lambda: "junk"],
    ids=["expired", "bad", "junk"],
)
def test_public_page_under_a_protected_prefix_is_served_despite_a_bad_cookie(
    paths: Any, token: Any
) -> None:
    # The sign-in page itself is public inside the protected prefix: redirecting a browser
    # whose cookie expired to it from itself would be a loop.
    paths.NEXTAUTH_SIGNIN_URL = "/private/public/page/"
    factory = RequestFactory()
    factory.cookies[COOKIE] = token()
    request = factory.get("/private/public/page/")
    response = NextAuthJWTMiddleware(_page)(request)
    assert (response.status_code, response.content) == (200, b"the page")


def test_public_page_under_a_protected_prefix_is_served_despite_a_bad_header(paths: Any) -> None:
    request = RequestFactory().get("/private/public/page/", headers=bearer(expired_token()))
    response = NextAuthJWTMiddleware(_page)(request)
    assert (response.status_code, response.content) == (200, b"the page")


# --------------------------------------------------------------------------- #
# no-store
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("token", [None, expired_token], ids=["missing", "expired"])
def test_middleware_401_is_never_stored_by_a_cache(settings: Any, token: Any) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    settings.NEXTAUTH_PROTECTED_PATHS = ["/api/plain/"]
    headers = bearer(token()) if token is not None else {}
    response = Client().get("/api/plain/", headers=headers)
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"


def test_key_set_404_is_never_stored_by_a_cache(settings: Any) -> None:
    # A shared cache keeping "no keys here" would hide the keys once they are configured.
    del settings.NEXTAUTH_SIGNING_KEYS
    response = Client().get("/api/auth/jwks")
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"


# --------------------------------------------------------------------------- #
# The async stack: database work off the event loop
# --------------------------------------------------------------------------- #


@pytest.mark.django_db
@pytest.mark.db
def test_async_protected_path_in_database_mode_looks_the_user_up_off_the_event_loop(
    settings: Any,
) -> None:
    # The lookup is blocking database I/O: on the event loop Django refuses it
    # (SynchronousOnlyOperation), so the middleware must take it to a thread.
    from asgiref.sync import async_to_sync
    from django.contrib.auth import get_user_model
    from django.test import AsyncClient

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    settings.NEXTAUTH_PROTECTED_PATHS = ["/private/"]
    settings.NEXTAUTH_USER_MODE = "database"
    get_user_model().objects.create_user("ada", pk=42, email="ada@example.com")
    token = make_token()

    async def fetch() -> Any:
        return await AsyncClient().get("/private/async/", headers=bearer(token))

    response = async_to_sync(fetch)()
    assert response.status_code == 200
    assert response.json()["id"] == "42"


# --------------------------------------------------------------------------- #
# request.py: found unheld by make mutate (each test fails with its mutant)
# --------------------------------------------------------------------------- #


def test_a_lazy_result_resolved_later_is_the_one_the_request_keeps() -> None:
    request = RequestFactory().get("/", headers=bearer(make_token()))
    lazy = authenticate_request(request, resolve_user=False)
    assert lazy.success
    assert lazy.user is None
    resolved = authenticate_request(request)
    assert resolved.user is not None
    assert resolved.user.id == ADA["id"]
    assert request.nextauth is resolved  # type: ignore[attr-defined]
    assert authenticate_request(request) is resolved  # not resolved a second time


def test_unauthorized_response_body_is_the_detail_and_the_code() -> None:
    refused = AuthResult.failure(TokenExpired())
    response = unauthorized_response(refused)
    assert json.loads(response.content) == {
        "detail": TokenExpired.default_message,
        "code": "token_expired",
    }
    assert TokenExpired.default_message != TokenMissing.default_message
    bare = AuthResult(False)  # no code, no message: a missing token's
    assert json.loads(unauthorized_response(bare).content) == {
        "detail": TokenMissing.default_message,
        "code": "token_missing",
    }


def ambiguous_request() -> Any:
    request = RequestFactory().get("/api/me/", HTTP_HOST="app.example.com")
    request.COOKIES = {COOKIE: "x", f"{COOKIE}.0": "y"}
    return request


def test_an_ambiguous_401_expires_the_cookies_only_given_the_request() -> None:
    refused = AuthResult.failure(TokenAmbiguous())
    with_request = unauthorized_response(refused, ambiguous_request())
    # Every name read, the chunk the request carried, and the copies a sibling could plant.
    assert {COOKIE, f"{COOKIE}.0"} <= set(with_request.cookies)
    assert all(c["max-age"] == 0 for c in with_request.cookies.values())
    bare = clear_if_ambiguous(HttpResponse(), RequestFactory().get("/"), "token_ambiguous")
    assert f"{COOKIE}.0" not in bare.cookies  # the chunk is the request's: read from it
    assert not unauthorized_response(refused).cookies  # no request: nothing to expire
    other = unauthorized_response(AuthResult.failure(TokenExpired()), ambiguous_request())
    assert not other.cookies


def test_may_block_only_for_database_users_or_a_redis_the_view_cannot_answer(
    settings: Any,
) -> None:
    settings.NEXTAUTH_USER_MODE = "stateless"
    assert may_block() is False  # embedded store, stateless: CPU work only
    assert may_block(resolve_user=False) is False
    settings.NEXTAUTH_USER_MODE = "database"
    assert may_block() is True
    assert may_block(resolve_user=False) is False  # verified now, the user looked up later


def test_the_sign_in_url_keeps_its_blank_parameters(settings: Any) -> None:
    settings.NEXTAUTH_SIGNIN_URL = "/login?prompt=&next=old"
    assert signin_url(next="/new") == "/login?prompt=&next=%2Fnew"
