"""A real custom-login response's Set-Cookie, handed to the real NextAuth ``getToken``.

The same user comes back from next-auth 4, from @auth/core, and, for ``jws``,
from both with the documented HS256 hooks (tests/interop/node/nextauth-hs256.mjs).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from django_nextauth_jwt import JWTAuth
from tests.forge import SECRET
from tests.node_bridge import NodeBridge

pytestmark = [pytest.mark.node, pytest.mark.django_db]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def user() -> Any:
    return get_user_model().objects.create_user(
        "ada", email="ada@example.com", password=PASSWORD, first_name="Ada", last_name="Lovelace"
    )


def set_cookie_header(settings: Any) -> tuple[str, dict[str, Any]]:
    """Log in over the test client; return the ``Cookie`` header a browser would send back."""
    response = Client().post(
        "/api/auth/custom-login",
        data=json.dumps({"email": "ada@example.com", "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    cookie = "; ".join(
        f"{name}={morsel.value}" for name, morsel in response.cookies.items() if morsel.value
    )
    return cookie, response.json()


@pytest.mark.parametrize("secure", [False, True])
def test_v4_login_cookie_is_read_by_next_auth_get_token(
    node: NodeBridge, settings: Any, user: Any, secure: bool
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    settings.NEXTAUTH_SECURE_COOKIE = secure
    cookie, body = set_cookie_header(settings)
    token = node.call("v4.getToken", headers={"cookie": cookie}, secret=SECRET, secureCookie=secure)
    assert token["sub"] == str(user.pk) == body["user"]["id"]
    assert (token["email"], token["name"]) == ("ada@example.com", "Ada Lovelace")


@pytest.mark.parametrize("secure", [False, True])
def test_v5_login_cookie_is_read_by_auth_core_get_token(
    node: NodeBridge, settings: Any, user: Any, secure: bool
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECURE_COOKIE = secure
    cookie, _ = set_cookie_header(settings)
    token = node.call("v5.getToken", headers={"cookie": cookie}, secret=SECRET, secureCookie=secure)
    assert token["sub"] == str(user.pk)
    assert token["email"] == "ada@example.com"


@pytest.mark.parametrize("op", ["v4.getToken", "v5.getToken"])
def test_jws_login_cookie_is_read_with_the_documented_hs256_hooks(
    node: NodeBridge, settings: Any, user: Any, op: str
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws"
    if op == "v5.getToken":
        settings.NEXTAUTH_COOKIE_NAME = "authjs.session-token"
    cookie, _ = set_cookie_header(settings)
    token = node.call(op, headers={"cookie": cookie}, secret=SECRET, hooks="hs256")
    assert token["sub"] == str(user.pk)
    # Without the hooks NextAuth cannot read the signed token: the pain the README warns about.
    assert node.call(op, headers={"cookie": cookie}, secret=SECRET) is None


def test_token_from_the_hs256_hooks_verifies_here(node: NodeBridge) -> None:
    token = node.call(
        "hs256.encode", token={"sub": "42", "email": "ada@example.com"}, secret=SECRET, maxAge=60
    )
    claims = JWTAuth.verify(token)
    assert (claims["id"], claims["exp"] - claims["iat"]) == ("42", 60)
    assert node.call("hs256.decode", token=JWTAuth.create({"id": "7"}), secret=SECRET)["sub"] == "7"


def test_bearer_token_from_login_is_read_by_get_token(
    node: NodeBridge, settings: Any, user: Any
) -> None:
    # Cross-domain services get the Bearer header, not the cookie: NextAuth reads it too.
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    _, body = set_cookie_header(settings)
    token = node.call(
        "v4.getToken", headers={"authorization": f"Bearer {body['token']}"}, secret=SECRET
    )
    assert token["sub"] == str(user.pk)
