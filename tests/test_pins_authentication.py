"""Pins on the DRF class and its permission helpers that no test held (issue 27).

The CSRF refusal's body, the challenge DRF asks for (with or without an authentication having
run), the ``token_missing`` code added under DRF's own exception handler, and where
``HasRole`` reads the role. Each was shown to fail with its slip applied by hand.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request

from django_nextauth_jwt.authentication import (
    CSRFFailed,
    HasRole,
    NextAuthJWTAuthentication,
    RolePermission,
    exception_handler,
)
from django_nextauth_jwt.request import www_authenticate
from django_nextauth_jwt.users import TokenUser


def test_a_csrf_refusal_says_why_with_its_code() -> None:
    refused = CSRFFailed("Referer checking failed - no Referer.")
    assert refused.detail == {
        "detail": "CSRF Failed: Referer checking failed - no Referer.",
        "code": "csrf_failed",
    }
    assert refused.get_codes() == {"detail": "csrf_failed", "code": "csrf_failed"}
    assert refused.status_code == 403


def test_a_cookie_post_without_csrf_proof_is_refused_with_djangos_reason() -> None:
    request = Request(RequestFactory().post("/api/things/"))
    with pytest.raises(CSRFFailed) as info:
        NextAuthJWTAuthentication().enforce_csrf(request)
    detail: Any = info.value.detail
    assert detail["detail"] == "CSRF Failed: CSRF cookie not set."


def test_the_challenge_is_given_when_no_authentication_ran() -> None:
    # Another class first in the list, or none run: no result on the request.
    request = Request(RequestFactory().get("/api/things/"))
    assert NextAuthJWTAuthentication().authenticate_header(request) == www_authenticate(None)


def _challenged_while_handling(exc: Exception) -> Exception:
    request = Request(RequestFactory().get("/api/things/"))
    try:
        raise exc
    except Exception:  # DRF asks for the challenge inside its handler
        NextAuthJWTAuthentication().authenticate_header(request)
    return exc


def test_drfs_not_authenticated_gets_the_token_missing_code() -> None:
    handled = _challenged_while_handling(NotAuthenticated())
    assert isinstance(handled, NotAuthenticated)
    assert handled.detail == {
        "detail": "Authentication credentials were not provided.",
        "code": "token_missing",
    }
    assert handled.get_codes() == {"detail": "not_authenticated", "code": "token_missing"}


def test_another_401_keeps_its_own_body() -> None:
    handled = _challenged_while_handling(AuthenticationFailed("bad"))
    assert isinstance(handled, AuthenticationFailed)
    assert handled.detail == "bad"


# --------------------------------------------------------------------------- #
# HasRole: built right, and reading the role where it is
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("roles", [(), ("",), (5,), ("admin", None)])
def test_has_role_needs_role_names(roles: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match=r"^HasRole needs one or more role names$"):
        HasRole(*roles)


def test_has_role_is_a_class_named_after_its_roles() -> None:
    built = HasRole("admin", "editor")
    assert issubclass(built, RolePermission)
    assert built.__name__ == "HasRole('admin', 'editor')"
    assert built.roles == frozenset({"admin", "editor"})


def allowed(user: Any, auth: Any, *roles: str) -> bool:
    request = types.SimpleNamespace(user=user, auth=auth)
    return bool(HasRole(*roles)().has_permission(request, None))  # type: ignore[arg-type]


class _Unauthenticated:
    is_authenticated = False
    role = "admin"


def test_has_role_refuses_no_user_and_an_unauthenticated_one_whatever_it_carries() -> None:
    assert allowed(None, {"role": "admin"}, "admin") is False
    assert allowed(_Unauthenticated(), {"role": "admin"}, "admin") is False


def test_has_role_reads_the_tokens_role_first() -> None:
    user = TokenUser({"id": "7", "role": "editor"})
    assert allowed(user, {"role": "admin"}, "admin") is True
    assert allowed(user, {"role": "admin"}, "editor") is False


@pytest.mark.django_db
def test_has_role_reads_the_claims_for_a_database_user_without_a_role() -> None:
    user = get_user_model()(username="ada")
    assert allowed(user, {"role": "admin"}, "admin") is True
    assert allowed(user, {}, "admin") is False  # no role anywhere: refused, no error


def test_has_role_falls_back_to_the_users_role_without_claims() -> None:
    # Another class authenticated the request: its auth is not our claims.
    user = TokenUser({"id": "7", "role": "admin"})
    assert allowed(user, "an-api-key", "admin") is True
    assert allowed(user, None, "editor") is False


@pytest.mark.parametrize(("error", "status"), [(Http404(), 404), (DjangoPermissionDenied(), 403)])
def test_djangos_own_errors_are_answered_as_drf_answers_them(error: Exception, status: int) -> None:
    # DRF turns Django's Http404 and PermissionDenied into its own errors; the exception the
    # handler is given is still Django's, which has no codes to read.
    request = Request(RequestFactory().get("/api/me/"))
    response = exception_handler(error, {"request": request, "view": None})
    assert response is not None
    assert response.status_code == status
    assert "code" not in response.data


def _handled(exc: Exception) -> Any:
    request = Request(RequestFactory().get("/api/me/"))
    response = exception_handler(exc, {"request": request, "view": None})
    assert response is not None
    return response.data


def test_the_packaged_handler_adds_token_missing_where_no_challenge_did() -> None:
    # A view whose first authentication class is not ours: DRF's NotAuthenticated as it is.
    assert _handled(NotAuthenticated()) == {
        "detail": "Authentication credentials were not provided.",
        "code": "token_missing",
    }


def test_the_packaged_handler_keeps_a_code_the_error_already_has() -> None:
    data = _handled(NotAuthenticated({"detail": "Sign in first.", "code": "session_needed"}))
    assert data == {"detail": "Sign in first.", "code": "session_needed"}


def test_the_packaged_handler_gives_drfs_other_errors_their_own_code() -> None:
    assert _handled(AuthenticationFailed("bad")) == {
        "detail": "bad",
        "code": "authentication_failed",
    }
