"""ES256 twins with the real Better Auth (``tests/interop/betterauth``, its ``jwt()`` plugin).

Better Auth's JWT plugin signs with ``jose``, whose ES256 signatures are high-S (``s > n/2``)
about half the time: refusing high-S would refuse its tokens, so both forms are accepted. Its
tokens carry neither ``sid`` nor ``jti``: sign-out names one by its signing input, so the twin
``(r, n - s)`` of a signed-out token is refused with it.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.test import Client

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.exceptions import TokenRevoked
from tests import forge
from tests.conftest import require
from tests.servers import free_port, running
from tests.test_interop_asymmetric import BETTER_AUTH, PASSWORD, better_auth_installed, trust

pytestmark = pytest.mark.node

#: The order of P-256's base point.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class Issuer:
    """A running Better Auth server with ES256 keys and one signed-in user."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jwks_url = f"{base}/api/auth/jwks"
        email = f"u-{uuid.uuid4().hex[:12]}@example.com"
        _, headers = self._request(
            "/api/auth/sign-up/email", {"email": email, "password": PASSWORD, "name": "Ada"}
        )
        jar = SimpleCookie()
        for value in headers.get_all("Set-Cookie") or []:
            jar.load(value)
        self.cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())

    def _request(self, path: str, body: Any = None) -> tuple[Any, Any]:
        headers = {"Origin": self.base, "Cookie": getattr(self, "cookie", "")}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.base}{path}", data=data, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read()), response.headers

    def token(self) -> str:
        """A fresh JWT of the plugin for the signed-in user (a new signature each call)."""
        body, _ = self._request("/api/auth/token")
        return str(body["token"])


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    require(
        better_auth_installed(), "node and tests/interop/betterauth/node_modules (make install)"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PORT": str(port), "BETTER_AUTH_URL": base, "BETTER_AUTH_JWT_ALG": "ES256"}
    with running(["node", "server.mjs"], f"{base}/healthz", cwd=BETTER_AUTH, env=env):
        yield Issuer(base)


def s_of(token: str) -> int:
    return int.from_bytes(forge.unb64(token.split(".")[2])[32:], "big")


def twin(token: str) -> str:
    head, body, signature = token.split(".")
    raw = forge.unb64(signature)
    return f"{head}.{body}.{forge.b64(raw[:32] + (P256_N - s_of(token)).to_bytes(32, 'big'))}"


def test_better_auth_es256_tokens_are_high_s_about_half_the_time_and_all_verify(
    issuer: Issuer, settings: Any
) -> None:
    trust(settings, issuer.jwks_url, issuer=issuer.base)
    tokens = {issuer.token() for _ in range(32)}
    high = [t for t in tokens if s_of(t) > P256_N // 2]
    # Each token is high-S with probability 1/2: none or all of 32 is a 1 in 2**31 chance.
    assert 0 < len(high) < len(tokens), len(high)
    for token in tokens:
        claims = JWTAuth.verify(token)
        assert not {"sid", "jti"} & claims.keys()  # the plugin sets neither


def test_twin_of_a_signed_out_better_auth_token_is_refused(issuer: Issuer, settings: Any) -> None:
    trust(settings, issuer.jwks_url, issuer=issuer.base)
    token = issuer.token()
    other = twin(token)
    assert JWTAuth.verify(other)["sub"] == JWTAuth.verify(token)["sub"]
    JWTAuth.revoke(token)
    for sent in (token, other):
        with pytest.raises(TokenRevoked):
            JWTAuth.verify(sent)
        response = Client().get("/api/me/", headers={"Authorization": f"Bearer {sent}"})
        assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
