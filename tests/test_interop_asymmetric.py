"""jws-asymmetric against the real packages, from committed lockfiles.

* Better Auth 1.7 (``tests/interop/betterauth``: its ``jwt()`` plugin, the memory adapter): a real
  server signs a user up and hands out ``/api/auth/token``; Django verifies it through the
  server's own ``/api/auth/jwks``, ``iss`` and ``aud`` included, for EdDSA, ES256 and RS256.
* NextAuth with the documented ``jose`` ``SignJWT`` hooks (``example_project/nextjs/
  jwt-asymmetric.mjs``): their tokens verify in Django through their JWK Set, served over HTTP;
  Django's sign-in cookie is read by next-auth 4's ``getToken`` with the hooks' decode, and
  Django's tokens by plain ``jose`` over Django's JWKS endpoint.

PyJWT and golang-jwt read Django's JWKS in ``tests/test_asymmetric.py`` and ``tests/test_mesh.py``.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.exceptions import InvalidToken, TokenClaimsInvalid
from django_nextauth_jwt.jose import jwk
from tests import forge
from tests.conftest import require
from tests.jwks_server import jwks_server
from tests.node_bridge import NodeBridge, NodeError
from tests.servers import example_server, free_port, running

pytestmark = pytest.mark.node

BETTER_AUTH = Path(__file__).parent / "interop" / "betterauth"
ALGS = forge.ASYMMETRIC_ALGS
PASSWORD = "correct horse battery staple"


def better_auth_installed() -> bool:
    return (
        shutil.which("node") is not None and (BETTER_AUTH / "node_modules" / "better-auth").is_dir()
    )


class BetterAuth:
    """A running Better Auth server: sign a user up, get its JWT."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jwks_url = f"{base}/api/auth/jwks"

    def _request(self, path: str, body: Any = None, cookie: str = "") -> tuple[Any, Any]:
        headers = {"Origin": self.base, "Cookie": cookie}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.base}{path}", data=data, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read()), response.headers

    def sign_up_and_get_token(self) -> tuple[str, dict[str, Any]]:
        """A new user signs up (and is signed in); their JWT and the user Better Auth made."""
        email = f"u-{uuid.uuid4().hex[:12]}@example.com"
        body, headers = self._request(
            "/api/auth/sign-up/email", {"email": email, "password": PASSWORD, "name": "Ada"}
        )
        jar = SimpleCookie()
        for value in headers.get_all("Set-Cookie") or []:
            jar.load(value)
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
        token, _ = self._request("/api/auth/token", cookie=cookie)
        return str(token["token"]), body["user"]


@pytest.fixture(scope="module", params=ALGS)
def better_auth(request: pytest.FixtureRequest) -> Iterator[BetterAuth]:
    require(
        better_auth_installed(), "node and tests/interop/betterauth/node_modules (make install)"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PORT": str(port), "BETTER_AUTH_URL": base, "BETTER_AUTH_JWT_ALG": request.param}
    with running(["node", "server.mjs"], f"{base}/healthz", cwd=BETTER_AUTH, env=env):
        yield BetterAuth(base)


def trust(settings: Any, jwks_url: str, issuer: str | None = None) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
    settings.NEXTAUTH_JWKS_URL = jwks_url
    settings.NEXTAUTH_ISSUER = issuer
    settings.NEXTAUTH_AUDIENCE = issuer


def header(token: str) -> dict[str, Any]:
    return dict(json.loads(forge.unb64(token.split(".", maxsplit=1)[0])))


# -- Better Auth -------------------------------------------------------------------------------


def test_better_auth_jwt_is_accepted_through_its_jwks(
    better_auth: BetterAuth, settings: Any
) -> None:
    token, user = better_auth.sign_up_and_get_token()
    trust(settings, better_auth.jwks_url, issuer=better_auth.base)
    claims = JWTAuth.verify(token)
    assert (claims["sub"], claims["email"]) == (user["id"], user["email"])
    assert claims["iss"] == claims["aud"] == better_auth.base
    assert claims["exp"] - claims["iat"] == 15 * 60  # the plugin's default lifetime
    alg = header(token)["alg"]
    published = json.loads(urllib.request.urlopen(better_auth.jwks_url, timeout=10).read())  # noqa: S310
    assert [k["alg"] for k in published["keys"]] == [alg]
    # A result for the request path too, through the DRF class and the middleware's function.
    result = JWTAuth.authenticate_token(token)
    assert result.success, result.error
    assert result.user.id == user["id"]


def test_better_auth_jwt_is_refused_for_another_issuer_or_when_tampered(
    better_auth: BetterAuth, settings: Any
) -> None:
    token, _ = better_auth.sign_up_and_get_token()
    trust(settings, better_auth.jwks_url, issuer="https://someone-else.test")
    with pytest.raises(TokenClaimsInvalid):
        JWTAuth.verify(token)
    trust(settings, better_auth.jwks_url, issuer=better_auth.base)
    head, body, signature = token.split(".")
    claims = json.loads(forge.unb64(body))
    forged_body = forge.js({**claims, "sub": "someone-else"})
    with pytest.raises(InvalidToken):
        JWTAuth.verify(f"{head}.{forged_body}.{signature}")


def test_better_auth_jwt_is_refused_by_a_service_trusting_other_keys(
    better_auth: BetterAuth, settings: Any
) -> None:
    token, _ = better_auth.sign_up_and_get_token()
    with jwks_server() as elsewhere:
        elsewhere.serve(jwk.jwks_document([jwk.load_public_key(forge.public_pem("EdDSA"))]))
        trust(settings, elsewhere.url)
        with pytest.raises(InvalidToken, match="No matching verification key"):
            JWTAuth.verify(token)


# -- NextAuth with the jose SignJWT hooks ---------------------------------------------------------


def private_jwk(alg: str, n: int = 0) -> dict[str, Any]:
    algorithm = pyjwt.algorithms.get_default_algorithms()[alg]
    return dict(json.loads(algorithm.to_jwk(forge.private_key(alg, n))))


@pytest.mark.parametrize("alg", ALGS)
def test_nextauth_hook_token_is_accepted_through_its_jwks(
    node: NodeBridge, settings: Any, alg: str
) -> None:
    signing = private_jwk(alg)
    document = node.call("asym.jwks", privateJwks=[signing])
    # The hooks' kid (jose's thumbprint) is the one Django computes for the same key.
    assert document["keys"][0]["kid"] == jwk.load_public_key(forge.public_pem(alg)).kid
    issuer = "https://app.example.com"
    token = node.call(
        "asym.encode",
        token={"sub": "42", "email": "ada@example.com", "role": "admin"},
        privateJwk=signing,
        maxAge=600,
        issuer=issuer,
        audience=issuer,
    )
    assert header(token) == {"alg": alg, "typ": "JWT", "kid": document["keys"][0]["kid"]}
    with jwks_server() as nextjs:
        nextjs.serve(document)
        trust(settings, nextjs.url, issuer=issuer)
        claims = JWTAuth.verify(token)
        assert (claims["sub"], claims["role"], claims["exp"] - claims["iat"]) == (
            "42",
            "admin",
            600,
        )
        assert nextjs.requests == 1


@pytest.mark.django_db
def test_django_sign_in_cookie_is_read_by_next_auth_get_token_with_the_hooks(
    node: NodeBridge, settings: Any
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem(alg) for alg in ALGS]
    user = get_user_model().objects.create_user("ada", email="ada@example.com", password=PASSWORD)
    response = Client().post(
        "/api/auth/custom-login",
        data=json.dumps({"email": "ada@example.com", "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200
    cookie = f"next-auth.session-token={response.cookies['next-auth.session-token'].value}"
    published = Client().get("/api/auth/jwks").json()
    token = node.call("asym.v4.getToken", headers={"cookie": cookie}, jwks=published)
    assert token["sub"] == str(user.pk)
    assert token["email"] == "ada@example.com"
    # Against other keys, NextAuth reads no session.
    others = node.call("asym.jwks", privateJwks=[private_jwk("EdDSA", 1)])
    assert node.call("asym.v4.getToken", headers={"cookie": cookie}, jwks=others) is None


@pytest.mark.parametrize("alg", ALGS)
def test_django_tokens_are_verified_by_jose_through_djangos_jwks(
    node: NodeBridge, settings: Any, alg: str
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    others = [a for a in ALGS if a != alg]
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem(a) for a in (alg, *others)]
    settings.NEXTAUTH_ISSUER = settings.NEXTAUTH_AUDIENCE = "https://django.example.com"
    published = Client().get("/api/auth/jwks").json()
    token = JWTAuth.create({"id": 9, "email": "ada@example.com"})
    verified = node.call(
        "jose.verifyJwks",
        token=token,
        jwks=published,
        issuer="https://django.example.com",
        audience="https://django.example.com",
    )
    assert verified["payload"]["sub"] == "9"
    assert verified["header"]["alg"] == alg
    # jose, pinned to another algorithm, refuses it.
    with pytest.raises(NodeError, match="JOSEAlgNotAllowed"):
        node.call("jose.verifyJwks", token=token, jwks=published, algorithms=others)


@pytest.fixture(scope="module")
def nextauth_mesh(
    node: NodeBridge, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any]]:
    """The Django example trusting the Next.js app's JWKS (its three keys), served over HTTP."""
    tmp = tmp_path_factory.mktemp("nextauth-asymmetric")
    own_key = tmp / "django.pem"
    own_key.write_text(forge.private_pem("EdDSA", 50))
    with jwks_server() as nextjs:
        nextjs.serve(node.call("asym.jwks", privateJwks=[private_jwk(alg, 1) for alg in ALGS]))
        env = {
            "NEXTAUTH_JWT_FORMAT": "jws-asymmetric",
            "NEXTAUTH_SIGNING_KEY_FILE": str(own_key),
            "NEXTAUTH_JWKS_URL": nextjs.url,
            "NEXTAUTH_SECRET": "",
            "NEXTAUTH_SECRET_FILE": "",
        }
        with example_server(tmp, env) as base:
            yield base, nextjs


@pytest.mark.parametrize("alg", ALGS)
def test_a_nextauth_sign_in_with_the_hooks_gives_a_session_django_accepts_via_the_jwks(
    node: NodeBridge, nextauth_mesh: tuple[str, Any], alg: str
) -> None:
    # The whole flow: next-auth 4's handler runs the credentials sign-in (authorize() calls the
    # Django example's custom-login), its jwt callback, then the key-pair hooks' encode; the
    # cookie it sets is verified by Django through the Next.js app's JWKS, served over HTTP.
    base, nextjs = nextauth_mesh
    result = node.call(
        "v4.signin",
        email="demo@example.com",
        password="demo-password",
        djangoUrl=base,
        secret=forge.SECRET,  # NextAuth insists on one; the hooks never use it
        format="jws-asymmetric",
        privateJwk=private_jwk(alg, 1),
    )
    token = result["cookies"]["next-auth.session-token"]
    assert header(token)["alg"] == alg
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/me/", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        me = json.loads(response.read())
    assert me["claims"]["email"] == "demo@example.com"
    assert me["claims"]["sub"]
    assert nextjs.requests == 1  # one fetch, cached for every later token
