"""The DRF class through real requests (``APIClient``): formats, failures, CSRF, roles."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from django_nextauth_jwt.authentication import NextAuthAuthenticationFailed
from django_nextauth_jwt.conf import COOKIE_CHUNK_SIZES
from tests.request_helpers import (
    ALL_FORMATS,
    IDENTITY_HEADERS,
    bearer,
    big_token,
    chunk,
    expired_token,
    foreign_token,
    make_token,
    nextauth_csrf_cookie,
    tamper,
)

ME = "/api/me/"


@pytest.fixture(autouse=True)
def _drf_settings(settings):
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler"
    }


@pytest.fixture(params=ALL_FORMATS)
def fmt(request, settings):
    settings.NEXTAUTH_JWT_FORMAT = request.param
    return request.param


def cookie_name(fmt: str) -> str:
    return "authjs.session-token" if fmt == "authjs-v5" else "next-auth.session-token"


def assert_401(response, code: str, *, offered: bool = True):
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api"')
    assert ('error="invalid_token"' in challenge) is offered
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)


# --------------------------------------------------------------------------- #
# Success in every format and transport
# --------------------------------------------------------------------------- #


def test_valid_bearer_token_in_each_format_is_200_with_claims(fmt):
    response = APIClient().get(ME, headers=bearer(make_token()))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "42"
    assert body["user_class"] == "TokenUser"
    assert body["claims"]["email"] == "ada@example.com"
    assert body["claims"]["sub"] == "42"


def test_valid_cookie_in_each_format_is_200_with_claims(fmt):
    client = APIClient()
    client.cookies[cookie_name(fmt)] = make_token()
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["claims"]["id"] == "42"


def test_chunked_cookie_in_each_format_is_200(fmt):
    token = big_token()
    client = APIClient()
    pieces = chunk(token, COOKIE_CHUNK_SIZES[fmt])
    assert len(pieces) >= 2
    for i, piece in enumerate(pieces):
        client.cookies[f"{cookie_name(fmt)}.{i}"] = piece
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["claims"]["padding"].startswith("xxx")


def test_url_encoded_bearer_token_is_accepted():
    token = make_token().replace(".", "%2E")
    assert APIClient().get(ME, headers=bearer(token)).status_code == 200


# --------------------------------------------------------------------------- #
# Failures: 401 with a challenge and a stable code, never a 500
# --------------------------------------------------------------------------- #


def test_no_token_is_401_token_missing_with_challenge():
    assert_401(APIClient().get(ME), "token_missing", offered=False)


def test_expired_token_is_401_token_expired(fmt):
    assert_401(APIClient().get(ME, headers=bearer(expired_token())), "token_expired")


def test_tampered_token_is_401_token_invalid(fmt):
    assert_401(APIClient().get(ME, headers=bearer(tamper(make_token()))), "token_invalid")


def test_token_signed_with_another_secret_is_401(fmt):
    assert_401(APIClient().get(ME, headers=bearer(foreign_token())), "token_invalid")


@pytest.mark.parametrize(
    ("minted", "accepted"), [("nextauth-v4", "jws"), ("jws", "authjs-v5"), ("authjs-v5", "jws")]
)
def test_token_of_a_format_not_accepted_is_401_token_unsupported(settings, minted, accepted):
    token = make_token(minted)
    settings.NEXTAUTH_JWT_FORMAT = accepted
    assert_401(APIClient().get(ME, headers=bearer(token)), "token_unsupported")


def test_expired_cookie_is_401_not_anonymous():
    client = APIClient()
    client.cookies["next-auth.session-token"] = expired_token()
    assert_401(client.get(ME), "token_expired")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer %zz", "bearer not-a-token"])
def test_malformed_bearer_header_is_401_token_malformed(header):
    assert_401(APIClient().get(ME, HTTP_AUTHORIZATION=header), "token_malformed")


def test_bad_header_never_falls_back_to_a_valid_cookie():
    client = APIClient()
    client.cookies["next-auth.session-token"] = make_token()
    response = client.get(ME, headers=bearer(tamper(make_token())))
    assert_401(response, "token_invalid")


def test_broken_chunks_are_401_token_malformed():
    client = APIClient()
    client.cookies["next-auth.session-token.1"] = make_token()
    assert_401(client.get(ME), "token_malformed")


def test_token_in_query_string_is_ignored():
    assert_401(APIClient().get(ME, {"token": make_token()}), "token_missing", offered=False)


def test_other_authorization_scheme_is_left_to_others_and_refused_here():
    client = APIClient()
    client.cookies["next-auth.session-token"] = make_token()
    response = client.get(ME, HTTP_AUTHORIZATION="Basic dXNlcjpwdw==")
    assert_401(response, "token_missing", offered=False)


def test_failure_body_is_detail_and_code_without_custom_handler(settings):
    settings.REST_FRAMEWORK = {}
    response = APIClient().get(ME, headers=bearer(expired_token()))
    assert response.status_code == 401
    assert response.json() == {"detail": "Token has expired.", "code": "token_expired"}


def test_failed_exception_carries_a_stable_code():
    exc = NextAuthAuthenticationFailed("Token has expired.", "token_expired")
    assert exc.get_codes() == {"detail": "token_expired", "code": "token_expired"}
    assert NextAuthAuthenticationFailed.default_code == "token_invalid"


def test_token_never_appears_in_the_error_body():
    token = tamper(make_token())
    response = APIClient().get(ME, headers=bearer(token))
    assert token not in response.content.decode()
    assert token.split(".")[1] not in response.content.decode()


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.text(st.characters(codec="latin-1", exclude_categories=["Cs", "Cc"]), max_size=60),
    cookie=st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=60),
)
def test_fuzzed_credentials_through_drf_are_401_never_500(header, cookie):
    client = APIClient()
    client.cookies["next-auth.session-token"] = cookie
    response = client.get(ME, HTTP_AUTHORIZATION="Bearer " + header)
    assert response.status_code == 401
    assert response.json()["code"].startswith("token_")


# --------------------------------------------------------------------------- #
# Identity comes from the token alone
# --------------------------------------------------------------------------- #


def test_identity_headers_do_not_change_the_token_identity():
    headers = {**bearer(make_token()), **IDENTITY_HEADERS}
    response = APIClient().get(ME, headers=headers, REMOTE_USER="root")
    assert response.status_code == 200
    assert response.json()["id"] == "42"
    assert response.json()["email"] == "ada@example.com"


def test_identity_headers_alone_do_not_authenticate():
    response = APIClient().get(ME, headers=IDENTITY_HEADERS, REMOTE_USER="root")
    assert_401(response, "token_missing", offered=False)


# --------------------------------------------------------------------------- #
# Stateless mode: no database
# --------------------------------------------------------------------------- #


@pytest.mark.django_db
def test_stateless_mode_issues_zero_queries_per_request(django_assert_num_queries):
    client = APIClient()
    token = make_token()
    with django_assert_num_queries(0):
        assert client.get(ME, headers=bearer(token)).status_code == 200
        client.cookies["next-auth.session-token"] = make_token()
        assert client.get(ME).status_code == 200


# --------------------------------------------------------------------------- #
# CSRF for cookie-authenticated unsafe requests
# --------------------------------------------------------------------------- #


@pytest.fixture
def cookie_client():
    client = APIClient(enforce_csrf_checks=True)
    client.cookies["next-auth.session-token"] = make_token()
    return client


def test_cookie_post_without_csrf_proof_is_403(cookie_client):
    response = cookie_client.post(ME)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_cookie_post_with_django_csrf_token_is_200(cookie_client):
    cookie_client.cookies["csrftoken"] = "a" * 32
    response = cookie_client.post(ME, HTTP_X_CSRFTOKEN="a" * 32)
    assert response.status_code == 200


def test_cookie_post_with_nextauth_double_submit_token_is_200(cookie_client):
    cookie_client.cookies["next-auth.csrf-token"] = nextauth_csrf_cookie("f00d")
    response = cookie_client.post(ME, HTTP_X_CSRF_TOKEN="f00d")
    assert response.status_code == 200


def test_cookie_post_with_forged_double_submit_hash_is_403(cookie_client):
    cookie_client.cookies["next-auth.csrf-token"] = "f00d%7C" + "ab" * 32
    assert cookie_client.post(ME, HTTP_X_CSRF_TOKEN="f00d").status_code == 403


def test_v5_cookie_post_uses_the_authjs_csrf_cookie(settings):
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    client = APIClient(enforce_csrf_checks=True)
    client.cookies["authjs.session-token"] = make_token()
    client.cookies["authjs.csrf-token"] = nextauth_csrf_cookie("beef")
    assert client.post(ME, HTTP_X_CSRF_TOKEN="beef").status_code == 200


def test_bearer_post_needs_no_csrf_proof():
    response = APIClient(enforce_csrf_checks=True).post(ME, headers=bearer(make_token()))
    assert response.status_code == 200


def test_cookie_get_needs_no_csrf_proof(cookie_client):
    assert cookie_client.get(ME).status_code == 200


# --------------------------------------------------------------------------- #
# Roles
# --------------------------------------------------------------------------- #


def test_has_role_allows_the_role():
    assert (
        APIClient().get("/api/admin/", headers=bearer(make_token(role="admin"))).status_code == 200
    )


def test_has_role_refuses_other_roles_with_403():
    response = APIClient().get("/api/admin/", headers=bearer(make_token(role="user")))
    assert response.status_code == 403


def test_has_role_refusal_carries_code_role_required():
    response = APIClient().get("/api/editor/", headers=bearer(make_token(role="user")))
    assert response.status_code == 403
    assert response.json()["code"] == "role_required"


def test_has_role_instance_accepts_any_listed_role():
    assert (
        APIClient().get("/api/editor/", headers=bearer(make_token(role="editor"))).status_code
        == 200
    )
    assert (
        APIClient().get("/api/editor/", headers=bearer(make_token(role="viewer"))).status_code
        == 403
    )


def test_has_role_without_token_is_401():
    assert_401(APIClient().get("/api/editor/"), "token_missing", offered=False)


def test_plain_django_views_see_no_token_user_without_the_middleware():
    response = APIClient().get("/api/plain/", headers=bearer(make_token(role="admin")))
    assert response.json()["authenticated"] is False


# --------------------------------------------------------------------------- #
# AllowAny views and other authenticators
# --------------------------------------------------------------------------- #


def test_allow_any_view_is_open_without_token():
    response = APIClient().get("/api/public/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}


def test_allow_any_view_still_refuses_a_bad_token():
    assert_401(APIClient().get("/api/public/", headers=bearer(expired_token())), "token_expired")


# --------------------------------------------------------------------------- #
# drf-spectacular
# --------------------------------------------------------------------------- #


def test_openapi_schema_lists_bearer_and_cookie_schemes(settings):
    pytest.importorskip("drf_spectacular")
    from drf_spectacular.generators import SchemaGenerator

    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    generator = SchemaGenerator()  # type: ignore[no-untyped-call]
    schema = generator.get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["nextAuthBearer"]["scheme"] == "bearer"
    assert schemes["nextAuthCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "authjs.session-token",
        "description": schemes["nextAuthCookie"]["description"],
    }
    me = schema["paths"]["/api/me/"]["get"]
    assert {"nextAuthBearer": []} in me["security"]
    assert {"nextAuthCookie": []} in me["security"]
    json.dumps(schema)
