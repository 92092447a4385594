"""The roles of a jws-asymmetric service, run from the blocks docs/asymmetric.md shows.

An issuer signs with its private keys; a verifier holds neither a secret nor a private key and
verifies with the issuer's JWKS; a member of a shared-secret mesh may accept both. Each block of
the page is executed as it is (only the JWKS URL and the key file point at local stand-ins), the
system checks run over it, and real requests go through the DRF class, the middleware and every
auth endpoint. A fresh process's first burst of requests fetches the JWKS once.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.checks import check_settings
from django_nextauth_jwt.jose import jwk
from django_nextauth_jwt.policy import policy
from tests import forge
from tests.jwks_server import Issuer, jwks_server

DOC = Path(__file__).resolve().parent.parent / "docs" / "asymmetric.md"
DOC_URL = "https://app.example.com/api/auth/jwks"
ISSUER = "https://app.example.com"  # the verifier block's NEXTAUTH_ISSUER and NEXTAUTH_AUDIENCE
#: Settings the test settings module sets that a block may leave out on purpose.
BASELINE = ("NEXTAUTH_SECRET", "NEXTAUTH_SIGNING_KEYS")


def doc_block(opening: str) -> str:
    """The python block of docs/asymmetric.md whose first line starts with ``opening``."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    found = [block for block in blocks if block.startswith(opening)]
    assert len(found) == 1, f"docs/asymmetric.md has no single block opening {opening!r}"
    return str(found[0])


def run_block(
    settings: Any, block: str, *, url: str | None = None, key_file: Path | None = None
) -> dict[str, Any]:
    """Execute ``block`` and make its NEXTAUTH_* names the settings, nothing else of ours."""
    if url is not None:
        assert DOC_URL in block
        block = block.replace(DOC_URL, url)
    namespace: dict[str, Any] = {"os": os, "Path": lambda _path: key_file}
    exec(block, namespace)  # noqa: S102 - the documentation's own text, under test
    configured = {k: v for k, v in namespace.items() if k.startswith("NEXTAUTH_")}
    for name in BASELINE:
        if name not in configured and hasattr(settings, name):
            delattr(settings, name)
    for name, value in configured.items():
        setattr(settings, name, value)
    return configured


@pytest.fixture
def no_secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def issuer_keys() -> Iterator[Issuer]:
    """A JWKS server publishing the public halves of test keys 0 of each algorithm."""
    with jwks_server() as issuer:
        keys = [jwk.load_public_key(forge.public_pem(a)) for a in forge.ASYMMETRIC_ALGS]
        issuer.serve(jwk.jwks_document(keys))
        yield issuer


def issued(alg: str = "EdDSA", **extra: Any) -> str:
    """A token of the issuer the verifier block names (its ``iss`` and ``aud``)."""
    kid = jwk.load_public_key(forge.public_pem(alg)).kid
    return forge.asym_jws(forge.claims(iss=ISSUER, aud=ISSUER, **extra), alg, kid=kid)


@pytest.fixture
def verifier(settings: Any, no_secret_env: None, issuer_keys: Issuer) -> Issuer:
    """This service run as the documentation's verifier block, against the local issuer."""
    configured = run_block(settings, doc_block("# A verifier"), url=issuer_keys.url)
    assert "NEXTAUTH_SECRET" not in configured
    assert "NEXTAUTH_SIGNING_KEYS" not in configured
    return issuer_keys


# -- the verifier ------------------------------------------------------------------------------


def test_the_documented_verifier_starts_clean_with_no_secret_and_no_private_key(
    verifier: Issuer, settings: Any
) -> None:
    assert not hasattr(settings, "NEXTAUTH_SECRET")
    assert not hasattr(settings, "NEXTAUTH_SIGNING_KEYS")
    assert [message.id for message in check_settings()] == []
    assert policy().issues is False


@pytest.mark.parametrize("alg", forge.ASYMMETRIC_ALGS)
def test_the_documented_verifier_accepts_the_issuers_tokens_on_drf_and_the_middleware(
    verifier: Issuer, alg: str
) -> None:
    token = issued(alg, sub="42", email="ada@example.com")
    client = Client()
    drf = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert drf.status_code == 200, drf.content
    assert drf.json()["id"] == "42"
    page = client.get("/private/page/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert page.status_code == 200, page.content
    assert verifier.requests == 1


def test_the_documented_verifier_refuses_what_its_issuer_did_not_sign(verifier: Issuer) -> None:
    other = forge.asym_jws(forge.claims(iss=ISSUER, aud=ISSUER), "EdDSA", n=1)
    hs256 = forge.jws(forge.claims(iss=ISSUER, aud=ISSUER))
    wrong_issuer = forge.asym_jws(
        forge.claims(iss="https://evil.example", aud=ISSUER),
        "EdDSA",
        kid=jwk.load_public_key(forge.public_pem("EdDSA")).kid,
    )
    codes = {}
    for name, token in {"other_key": other, "hs256": hs256, "wrong_iss": wrong_issuer}.items():
        response = Client().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401, name
        codes[name] = response.json()["code"]
    assert codes == {
        "other_key": "token_invalid",
        "hs256": "token_unsupported",
        "wrong_iss": "token_claims_invalid",
    }


def test_no_request_to_a_verifier_only_service_is_a_500(verifier: Issuer) -> None:
    """Every auth endpoint, with and without a token: answers, never a server error."""
    token = issued()
    client = Client(raise_request_exception=False)
    form = {"email": "ada@example.com", "password": "x" * 12}
    headers: list[dict[str, Any]] = [{}, {"HTTP_AUTHORIZATION": f"Bearer {token}"}]
    for auth in headers:
        answers = {
            "custom-login": client.post("/api/auth/custom-login", form, **auth),
            "session": client.get("/api/auth/session", **auth),
            "signout": client.post("/api/auth/signout", **auth),
            "signout-everywhere": client.post("/api/auth/signout-everywhere", **auth),
            "csrf": client.get("/api/auth/csrf", **auth),
            "jwks": client.get("/api/auth/jwks", **auth),
            "signin-google": client.post("/api/auth/signin/google", **auth),
            "callback-google": client.get("/api/auth/callback/google?state=x&code=y", **auth),
            "me": client.get("/api/me/", **auth),
            "page": client.get("/private/page/", **auth),
        }
        statuses = {name: response.status_code for name, response in answers.items()}
        assert all(status < 500 for status in statuses.values()), statuses
        assert statuses["custom-login"] == 404
        assert answers["custom-login"].json()["code"] == "not_found"
        assert statuses["signin-google"] == 404
        assert statuses["jwks"] == 404  # it publishes no keys: it holds none
    with pytest.raises(ImproperlyConfigured, match="E053"):
        JWTAuth.create({"id": 1})


# -- the issuer and the member of both meshes ---------------------------------------------------


def test_the_documented_issuer_signs_and_verifies_with_no_secret(
    settings: Any, no_secret_env: None, tmp_path: Path
) -> None:
    key_file = tmp_path / "jwt-ed25519.pem"
    key_file.write_text(forge.private_pem("EdDSA", 3))
    configured = run_block(settings, doc_block("# An issuer"), key_file=key_file)
    assert "NEXTAUTH_SECRET" not in configured
    assert [message.id for message in check_settings()] == []
    assert policy().issues is True
    token = JWTAuth.create({"id": 5})
    response = Client().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (response.status_code, response.json()["id"]) == (200, "5")
    assert Client().get("/api/auth/jwks").json()["keys"][0]["kid"] == (
        jwk.load_public_key(forge.public_pem("EdDSA", 3)).kid
    )


def test_the_documented_member_of_both_meshes_accepts_jws_and_the_issuers_tokens(
    settings: Any, issuer_keys: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXTAUTH_SECRET", forge.SECRET)
    run_block(settings, doc_block("# Both formats"), url=issuer_keys.url)
    assert [message.id for message in check_settings()] == []
    for token in (forge.jws(forge.claims()), issued(), JWTAuth.create({"id": 1})):
        response = Client().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content
    monkeypatch.delenv("NEXTAUTH_SECRET")  # it mints and accepts jws: the secret is its own
    del settings.NEXTAUTH_SECRET
    assert "nextauth_jwt.E001" in [message.id for message in check_settings()]


# -- the checks name each role's keys ----------------------------------------------------------


def test_jws_asymmetric_with_no_key_at_all_is_e053_naming_both_roles(
    settings: Any, no_secret_env: None
) -> None:
    del settings.NEXTAUTH_SECRET, settings.NEXTAUTH_SIGNING_KEYS
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    [error] = check_settings()
    assert error.id == "nextauth_jwt.E053"
    for name in ("NEXTAUTH_SIGNING_KEYS", "NEXTAUTH_JWKS_URL", "NEXTAUTH_PUBLIC_KEYS"):
        assert name in str(error.hint)
    with pytest.raises(ImproperlyConfigured, match="E053"):
        policy()


def test_public_keys_alone_make_a_verifier_that_passes_the_checks(
    settings: Any, no_secret_env: None
) -> None:
    del settings.NEXTAUTH_SECRET, settings.NEXTAUTH_SIGNING_KEYS
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("ES256")]
    assert list(check_settings()) == []
    token = forge.asym_jws(forge.claims(), "ES256")
    assert JWTAuth.verify(token)["sub"] == forge.claims()["sub"]


# -- one JWKS fetch for a fresh process's first burst ------------------------------------------


def test_a_concurrent_first_burst_fetches_the_jwks_once(verifier: Issuer) -> None:
    """Threads that all find no policy build one: one JWKS client, one fetch."""
    token = issued()
    threads_n = 12
    barrier = threading.Barrier(threads_n)
    statuses: list[int] = []

    def request() -> None:
        barrier.wait()
        response = Client().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
        statuses.append(response.status_code)

    policy.cache_clear()  # a fresh process: nothing built yet
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, inside the policy's construction too
    try:
        threads = [threading.Thread(target=request) for _ in range(threads_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        sys.setswitchinterval(interval)
    assert statuses == [200] * threads_n
    time.sleep(0.05)  # let a late fetch (if any) reach the server's counter
    assert verifier.requests == 1
