"""End to end: the example mesh, four real services, one token.

The Django example, the Express (jose), FastAPI (PyJWT) and Go Gin (golang-jwt) services run as
real processes on free ports with the same secret. A token from Django's ``custom-login`` must be
accepted by all four; forged, expired and wrong-secret tokens refused by all four, with the same
error code; a secret rotation, issuer and audience must behave the same everywhere.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.forge import b64, claims, js, jws, v4, v5
from tests.servers import (
    build_go_service,
    example_server,
    express_installed,
    go_toolchain,
    neighbour_server,
    start_all,
)

OLD_SECRET = "mesh-test-secret-old-0123456789-abcdefghij"
NEW_SECRET = "mesh-test-secret-new-0123456789-abcdefghij"
ISSUER = "https://auth.mesh.test"
AUDIENCE = "mesh-services"
SERVICES = ("django", "express", "fastapi", "go")

Response = tuple[int, dict[str, str], dict[str, Any]]


@dataclass(frozen=True)
class Mesh:
    """The four services' protected endpoints."""

    urls: dict[str, str]

    def call(self, token: str | None) -> dict[str, Response]:
        """The same request, with ``token`` as Bearer (or none), to every service."""
        return {name: get(url, token) for name, url in self.urls.items()}

    def sign_in(self) -> str:
        """The demo user's token from Django's ``custom-login``."""
        base = self.urls["django"].removesuffix("/api/me/")
        body = json.dumps({"email": "demo@example.com", "password": "demo-password"}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{base}/api/auth/custom-login",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return str(json.loads(response.read())["token"])


def get(url: str, token: str | None) -> Response:
    auth = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(url, headers=auth)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status, headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, error.headers, error.read()
    # Header names in lower case: uvicorn sends them so, the others capitalised.
    return status, {name.lower(): value for name, value in headers.items()}, json.loads(body)


@pytest.fixture(scope="session")
def go_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(go_toolchain(), "Go with Debian's gin and golang-jwt is needed (make system)")
    require(express_installed(), "node and services/express/node_modules are needed (make install)")
    return build_go_service(tmp_path_factory.mktemp("go"))


@contextlib.contextmanager
def start_mesh(
    tmp_path: Path,
    go_binary: Path,
    secret: str,
    *,
    previous: str = "",
    issuer: str = "",
    audience: str = "",
) -> Iterator[Mesh]:
    """All four services with the same settings, started in parallel; stopped after."""
    env = {
        "NEXTAUTH_SECRET": secret,
        "NEXTAUTH_SECRET_PREVIOUS": previous,  # "" everywhere means "not set"
        "NEXTAUTH_ISSUER": issuer,
        "NEXTAUTH_AUDIENCE": audience,
        "NEXTAUTH_JWT_FORMAT": "jws",
        "NEXTAUTH_SECRET_FILE": "",  # Django only: would override the secret above
    }
    servers: dict[str, contextlib.AbstractContextManager[str]] = {
        "django": example_server(tmp_path, env),
        "express": neighbour_server("express", env),
        "fastapi": neighbour_server("fastapi", env),
        "go": neighbour_server("go", env, go_binary=go_binary),
    }
    with contextlib.ExitStack() as stack:
        bases = start_all(stack, servers)
        paths = {"django": "/api/me/", "express": "/whoami", "fastapi": "/whoami", "go": "/whoami"}
        yield Mesh({name: bases[name] + paths[name] for name in SERVICES})


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory, go_binary: Path) -> Iterator[Mesh]:
    with start_mesh(tmp_path_factory.mktemp("mesh"), go_binary, OLD_SECRET) as started:
        yield started


@pytest.fixture(scope="module")
def token(mesh: Mesh) -> str:
    """The demo user's token, from Django's custom-login, signed with OLD_SECRET."""
    return mesh.sign_in()


def statuses(responses: dict[str, Response]) -> dict[str, int]:
    return {name: status for name, (status, _, _) in responses.items()}


def codes(responses: dict[str, Response]) -> dict[str, str | None]:
    return {name: body.get("code") for name, (_, _, body) in responses.items()}


def challenges(responses: dict[str, Response]) -> dict[str, str | None]:
    return {name: headers.get("www-authenticate") for name, (_, headers, _) in responses.items()}


def subjects(responses: dict[str, Response]) -> dict[str, str]:
    """``sub`` as each service reports it (Django's /api/me/ puts the claims under "claims")."""
    return {name: body.get("claims", body)["sub"] for name, (_, _, body) in responses.items()}


def everywhere(value: Any) -> dict[str, Any]:
    return dict.fromkeys(SERVICES, value)


def tamper(token: str) -> str:
    """Flip one character mid-signature (not the last: its low bits are padding)."""
    head, body, signature = token.split(".")
    i = len(signature) // 2
    flipped = "A" if signature[i] != "A" else "B"
    return f"{head}.{body}.{signature[:i]}{flipped}{signature[i + 1 :]}"


# -- one secret ------------------------------------------------------------------------------


def test_token_from_django_sign_in_is_accepted_by_all_four_with_the_same_subject(
    mesh: Mesh, token: str
) -> None:
    responses = mesh.call(token)
    assert statuses(responses) == everywhere(200)
    sub = subjects(responses)["django"]
    assert sub
    assert subjects(responses) == everywhere(sub)
    neighbours = [body for name, (_, _, body) in responses.items() if name != "django"]
    assert [body["service"] for body in neighbours] == ["express", "fastapi", "go"]
    assert all(body["email"] == "demo@example.com" for body in neighbours)


def test_request_without_token_is_401_token_missing_everywhere(mesh: Mesh) -> None:
    responses = mesh.call(None)
    assert statuses(responses) == everywhere(401)
    assert codes(responses) == everywhere("token_missing")
    assert challenges(responses) == everywhere('Bearer realm="api"')


FORGERIES: dict[str, tuple[Callable[[str], str], str | None]] = {
    "tampered_signature": (tamper, "token_invalid"),
    "wrong_secret": (lambda _: jws(claims(), NEW_SECRET), "token_invalid"),
    "expired_beyond_leeway": (
        lambda _: jws(claims(exp=int(time.time()) - 60), OLD_SECRET),
        "token_expired",
    ),
    # Unsigned: Django's strict parser calls the empty signature malformed, the neighbours
    # refuse the algorithm first; refused everywhere either way (the code is not compared).
    "alg_none": (lambda _: f"{js({'alg': 'none', 'typ': 'JWT'})}.{js(claims())}.", None),
    "alg_none_with_a_signature": (
        lambda _: jws(claims(), OLD_SECRET, header={"alg": "none", "typ": "JWT"}),
        "token_unsupported",
    ),
    "alg_hs512_not_pinned": (lambda _: jws(claims(), OLD_SECRET, alg="HS512"), "token_unsupported"),
    "without_exp": (lambda _: jws(claims(exp=...), OLD_SECRET), "token_claims_invalid"),
    "empty_sub": (lambda _: jws(claims(sub=""), OLD_SECRET), "token_claims_invalid"),
    "not_yet_valid": (
        lambda _: jws(claims(nbf=int(time.time()) + 60), OLD_SECRET),
        "token_not_yet_valid",
    ),
    "not_a_jwt": (lambda _: b64("not a token"), "token_malformed"),
    # NextAuth's encrypted defaults at a jws mesh: a format none of the four accepts. The
    # neighbours called it malformed (a JWS parser's "five segments") while Django said
    # unsupported; now the same code everywhere, as the banner of `make mesh` explains.
    "nextauth_v4_jwe": (lambda _: v4(claims(), OLD_SECRET), "token_unsupported"),
    "authjs_v5_jwe": (lambda _: v5(claims(), OLD_SECRET), "token_unsupported"),
    "five_parts_without_a_json_header": (
        lambda _: ".".join([b64("not json"), "", b64("iv"), b64("ct"), b64("tag")]),
        "token_malformed",
    ),
}


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_bad_token_is_refused_by_all_four_with_the_same_code(
    mesh: Mesh, token: str, forgery: str
) -> None:
    make, code = FORGERIES[forgery]
    responses = mesh.call(make(token))
    assert statuses(responses) == everywhere(401)
    if code is not None:
        assert codes(responses) == everywhere(code)
    assert challenges(responses) == everywhere('Bearer realm="api", error="invalid_token"')


def test_token_expired_within_the_15s_leeway_is_still_accepted_everywhere(mesh: Mesh) -> None:
    responses = mesh.call(jws(claims(exp=int(time.time()) - 5), OLD_SECRET))
    assert statuses(responses) == everywhere(200)


# -- secret rotation -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rotation(
    tmp_path_factory: pytest.TempPathFactory, go_binary: Path, token: str
) -> dict[str, dict[str, int]]:
    """Restart the mesh twice: NEW signs with OLD still verifying, then NEW alone.

    ``token`` was minted before, with OLD. The statuses every service gave to the old and the
    new token at each stage; each stage's services are stopped before the next starts.
    """
    seen: dict[str, dict[str, int]] = {}
    with start_mesh(
        tmp_path_factory.mktemp("rotating"), go_binary, NEW_SECRET, previous=OLD_SECRET
    ) as m:
        new_token = m.sign_in()
        seen["rotating/old"] = statuses(m.call(token))
        seen["rotating/new"] = statuses(m.call(new_token))
    with start_mesh(tmp_path_factory.mktemp("rotated"), go_binary, NEW_SECRET) as m:
        seen["rotated/old"] = statuses(m.call(token))
        seen["rotated/new"] = statuses(m.call(new_token))
    return seen


def test_during_rotation_old_and_new_tokens_are_accepted_by_all_four(
    rotation: dict[str, dict[str, int]],
) -> None:
    assert rotation["rotating/old"] == everywhere(200)
    assert rotation["rotating/new"] == everywhere(200)


def test_after_rotation_the_old_token_is_refused_by_all_four_and_the_new_one_accepted(
    rotation: dict[str, dict[str, int]],
) -> None:
    assert rotation["rotated/old"] == everywhere(401)
    assert rotation["rotated/new"] == everywhere(200)


# -- issuer and audience ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_mesh(tmp_path_factory: pytest.TempPathFactory, go_binary: Path) -> Iterator[Mesh]:
    """The mesh with NEXTAUTH_ISSUER and NEXTAUTH_AUDIENCE set on all four."""
    tmp = tmp_path_factory.mktemp("strict")
    with start_mesh(tmp, go_binary, OLD_SECRET, issuer=ISSUER, audience=AUDIENCE) as started:
        yield started


def test_with_issuer_and_audience_set_a_signed_in_token_is_accepted_by_all_four(
    strict_mesh: Mesh,
) -> None:
    assert statuses(strict_mesh.call(strict_mesh.sign_in())) == everywhere(200)


def test_with_issuer_and_audience_set_an_audience_list_containing_ours_is_accepted(
    strict_mesh: Mesh,
) -> None:
    forged = jws(claims(iss=ISSUER, aud=["billing", AUDIENCE]), OLD_SECRET)
    assert statuses(strict_mesh.call(forged)) == everywhere(200)


STRICT_FORGERIES = {
    "lacking_both": {},
    "lacking_audience": {"iss": ISSUER},
    "lacking_issuer": {"aud": AUDIENCE},
    "other_issuer": {"iss": "https://evil.test", "aud": AUDIENCE},
    "other_audience": {"iss": ISSUER, "aud": "billing"},
}


@pytest.mark.parametrize("case", STRICT_FORGERIES, ids=list(STRICT_FORGERIES))
def test_with_issuer_and_audience_set_a_token_not_carrying_them_is_refused_by_all_four(
    strict_mesh: Mesh, case: str
) -> None:
    forged = jws(claims(**STRICT_FORGERIES[case]), OLD_SECRET)
    responses = strict_mesh.call(forged)
    assert statuses(responses) == everywhere(401)
    assert codes(responses) == everywhere("token_claims_invalid")


def test_with_issuer_and_audience_set_the_token_from_sign_in_without_them_is_refused(
    strict_mesh: Mesh, token: str
) -> None:
    assert statuses(strict_mesh.call(token)) == everywhere(401)
