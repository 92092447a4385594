"""End to end, the mesh's asymmetric mode: Django signs, nobody holds a secret.

The Django example signs with Ed25519 (and publishes an ES256 and an RS256 key besides) at
``/.well-known/jwks.json``; Express (jose), FastAPI (PyJWT) and Go (golang-jwt) get only that URL,
no ``NEXTAUTH_SECRET``. A token from Django's ``custom-login`` must be accepted by all four;
forgeries (a public key used as an HMAC secret, a key that is not published, a stolen kid, the
old shared secret) refused by all four with the same code.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from django_nextauth_jwt.jose import jwk
from tests import forge
from tests.forge import b64, claims, js
from tests.servers import example_server, free_port, neighbour_server, start_all
from tests.test_mesh import (
    SERVICES,
    Mesh,
    codes,
    everywhere,
    get,
    go_binary,  # noqa: F401 - the session fixture building the Go service
    statuses,
    subjects,
    tamper,
)

ISSUER = "https://auth.mesh.test"
OLD_SHARED_SECRET = "mesh-test-secret-old-0123456789-abcdefghij"
ALGS = forge.ASYMMETRIC_ALGS
PATHS = {"django": "/api/me/", "express": "/whoami", "fastapi": "/whoami", "go": "/whoami"}


@contextlib.contextmanager
def start_asymmetric_mesh(
    tmp_path: Path,
    go_binary: Path,  # noqa: F811
    *,
    dead_jwks_url: str | None = None,
) -> Iterator[Mesh]:
    """Django with three key files first, then the neighbours with its JWKS URL and no secret.

    With ``dead_jwks_url``, every service (Django too) trusts that URL instead, where nothing
    answers: the issuer is unreachable.
    """
    files = []
    for alg in ALGS:
        path = tmp_path / f"{alg}.pem"
        path.write_text(forge.private_pem(alg))
        files.append(str(path))
    django_env = {
        "NEXTAUTH_JWT_FORMAT": "jws-asymmetric",
        "NEXTAUTH_SIGNING_KEY_FILE": ",".join(files),
        "NEXTAUTH_SECRET": "",
        "NEXTAUTH_SECRET_PREVIOUS": "",
        "NEXTAUTH_SECRET_FILE": "",
        "NEXTAUTH_ISSUER": ISSUER,
        "NEXTAUTH_AUDIENCE": "",
        "NEXTAUTH_JWKS_URL": dead_jwks_url or "",
    }
    with contextlib.ExitStack() as stack:
        django = stack.enter_context(example_server(tmp_path, django_env))
        neighbour_env = {
            "NEXTAUTH_JWKS_URL": dead_jwks_url or f"{django}/.well-known/jwks.json",
            "NEXTAUTH_SECRET": "",
            "NEXTAUTH_SECRET_PREVIOUS": "",
            "NEXTAUTH_ISSUER": ISSUER,
            "NEXTAUTH_AUDIENCE": "",
        }
        servers = {
            "express": neighbour_server("express", neighbour_env),
            "fastapi": neighbour_server("fastapi", neighbour_env),
            "go": neighbour_server("go", neighbour_env, go_binary=go_binary),
        }
        bases = {"django": django, **start_all(stack, servers)}
        yield Mesh({name: bases[name] + PATHS[name] for name in SERVICES})


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory, go_binary: Path) -> Iterator[Mesh]:  # noqa: F811
    with start_asymmetric_mesh(tmp_path_factory.mktemp("asymmetric"), go_binary) as started:
        yield started


@pytest.fixture(scope="module")
def token(mesh: Mesh) -> str:
    return mesh.sign_in()


def published(mesh: Mesh) -> dict[str, Any]:
    base = mesh.urls["django"].removesuffix("/api/me/")
    status, headers, body = get(f"{base}/.well-known/jwks.json", None)
    assert status == 200
    assert headers["cache-control"].startswith("public, max-age=")
    return body


def signed(alg: str, n: int = 0, *, kid: str | None = None, **extra: Any) -> str:
    kid = kid if kid is not None else jwk.load_public_key(forge.public_pem(alg)).kid
    payload = claims(iss=ISSUER, **extra)
    return forge.asym_jws(payload, alg, n=n, header={"alg": alg, "typ": "JWT", "kid": kid})


def hs256(key: bytes, kid: str) -> str:
    head, body = js({"alg": "HS256", "typ": "JWT", "kid": kid}), js(claims(iss=ISSUER))
    signature = hmac.digest(key, f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64(signature)}"


def test_the_sign_in_token_is_ed25519_signed_and_accepted_by_all_four(
    mesh: Mesh, token: str
) -> None:
    header = json.loads(forge.unb64(token.split(".", maxsplit=1)[0]))
    assert header["alg"] == "EdDSA"
    assert header["kid"] == published(mesh)["keys"][0]["kid"]
    responses = mesh.call(token)
    assert statuses(responses) == everywhere(200)
    sub = subjects(responses)["django"]
    assert sub
    assert subjects(responses) == everywhere(sub)


def test_the_jwks_publishes_three_public_keys_and_nothing_private(mesh: Mesh) -> None:
    keys = published(mesh)["keys"]
    assert [k["alg"] for k in keys] == list(ALGS)
    assert all(not jwk.PRIVATE_MEMBERS & k.keys() for k in keys)


@pytest.mark.parametrize("alg", ALGS)
def test_tokens_of_every_published_key_are_accepted_by_all_four(mesh: Mesh, alg: str) -> None:
    assert statuses(mesh.call(signed(alg))) == everywhere(200)


def _public_pem_hmac(_: str) -> str:
    return hs256(
        forge.public_pem("EdDSA").encode(), jwk.load_public_key(forge.public_pem("EdDSA")).kid
    )


FORGERIES: dict[str, tuple[Callable[[str], str], str | None]] = {
    "tampered_signature": (tamper, "token_invalid"),
    "unpublished_key_with_a_published_kid": (lambda _: signed("EdDSA", n=5), "token_invalid"),
    "unknown_kid": (lambda _: signed("EdDSA", n=5, kid="not-a-published-kid"), "token_invalid"),
    "hs256_with_the_public_key_as_secret": (_public_pem_hmac, "token_unsupported"),
    "hs256_with_the_old_shared_secret": (
        lambda _: hs256(OLD_SHARED_SECRET.encode(), "any"),
        "token_unsupported",
    ),
    "es256_signature_under_eddsa": (
        lambda _: signed("ES256", kid=jwk.load_public_key(forge.public_pem("EdDSA")).kid),
        "token_invalid",
    ),
    "expired": (lambda _: signed("EdDSA", exp=int(time.time()) - 60), "token_expired"),
    "without_exp": (lambda _: signed("EdDSA", exp=...), "token_claims_invalid"),
    "other_issuer": (
        lambda _: forge.asym_jws(
            claims(iss="https://evil.test"),
            header={
                "alg": "EdDSA",
                "typ": "JWT",
                "kid": jwk.load_public_key(forge.public_pem("EdDSA")).kid,
            },
        ),
        "token_claims_invalid",
    ),
    "alg_none": (lambda _: f"{js({'alg': 'none', 'typ': 'JWT'})}.{js(claims(iss=ISSUER))}.", None),
}


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_forgeries_are_refused_by_all_four_with_the_same_code(
    mesh: Mesh, token: str, forgery: str
) -> None:
    make, code = FORGERIES[forgery]
    responses = mesh.call(make(token))
    assert statuses(responses) == everywhere(401)
    if code is not None:
        assert codes(responses) == everywhere(code)


def test_an_unreachable_issuer_fails_closed_everywhere_with_keys_unavailable(
    tmp_path_factory: pytest.TempPathFactory,
    go_binary: Path,  # noqa: F811
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"  # nothing listens there
    tmp = tmp_path_factory.mktemp("unreachable")
    with start_asymmetric_mesh(tmp, go_binary, dead_jwks_url=dead) as unreachable:
        # A token of the issuer's key (not one of Django's own): nobody can check it, so all refuse.
        foreign = signed("EdDSA", n=6, kid=jwk.load_public_key(forge.public_pem("EdDSA", 6)).kid)
        for _ in range(2):  # the second time without asking the issuer again, still refused
            responses = unreachable.call(foreign)
            assert statuses(responses) == everywhere(401)
            assert codes(responses) == everywhere("keys_unavailable")
