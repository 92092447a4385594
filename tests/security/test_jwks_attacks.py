"""Attacks on jws-asymmetric: algorithm confusion, keys in the header, hostile JWKS issuers.

The verifying service here accepts both the shared-secret ``jws`` and ``jws-asymmetric``
(the riskiest mix: HMAC is allowed, and public keys are known to everyone), with its keys
from a JWKS URL served on 127.0.0.1 by ``tests.jwks_server``, which counts every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

from django_nextauth_jwt.jose import jwk
from tests import forge
from tests.jwks_server import Issuer, jwks_server
from tests.security.conftest import LeakGuard
from tests.security.helpers import accepted_everywhere, refused_everywhere

ALGS = forge.ASYMMETRIC_ALGS


def public(alg: str, n: int = 0) -> jwk.PublicKey:
    return jwk.load_public_key(forge.public_pem(alg, n))


def genuine_document() -> dict[str, Any]:
    return jwk.jwks_document(public(alg) for alg in ALGS)


@pytest.fixture
def issuer(settings: Any) -> Iterator[Issuer]:
    """The JWKS issuer, serving the three genuine keys; the service trusts it."""
    with jwks_server() as server:
        server.serve(genuine_document())
        settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
        settings.NEXTAUTH_JWKS_URL = server.url
        settings.NEXTAUTH_JWKS_TIMEOUT = 1
        yield server


def token(alg: str = "EdDSA", n: int = 0, **header: Any) -> str:
    head = {"alg": alg, "typ": "JWT", "kid": public(alg).kid, **header}
    return forge.asym_jws(forge.claims(), alg, n=n, header=head)


@pytest.mark.parametrize("alg", ALGS)
def test_genuine_tokens_from_the_jwks_are_accepted_as_the_control(issuer: Issuer, alg: str) -> None:
    accepted_everywhere(token=token(alg))
    assert issuer.requests == 1


# -- algorithm confusion -----------------------------------------------------------------------


def hs(alg: str, key: bytes, header: dict[str, Any]) -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    head, body = forge.js(header), forge.js(forge.claims())
    signature = hmac.digest(key, f"{head}.{body}".encode(), digest)
    return f"{head}.{body}.{forge.b64(signature)}"


def public_key_forms(alg: str) -> dict[str, bytes]:
    key = public(alg)
    published = key.to_jwk()
    raw = {"EdDSA": "x", "ES256": "x", "RS256": "n"}[alg]
    return {
        "pem": forge.public_pem(alg).encode(),
        "pem_stripped": forge.public_pem(alg).strip().encode(),
        "jwk_json": json.dumps(published).encode(),
        "raw_member": forge.unb64(published[raw]),
        "thumbprint_kid": key.kid.encode(),
    }


@pytest.mark.parametrize("hs_alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("alg", ALGS)
def test_hmac_signed_with_the_public_key_is_refused(issuer: Issuer, alg: str, hs_alg: str) -> None:
    kid = public(alg).kid
    for form in public_key_forms(alg).values():
        # HS256 is "jws", checked with the shared secret only: a public key is never an HMAC key.
        code = "token_invalid" if hs_alg == "HS256" else "token_unsupported"
        refused_everywhere(code, token=hs(hs_alg, form, {"alg": hs_alg, "typ": "JWT", "kid": kid}))


def test_with_only_asymmetric_accepted_hmac_is_not_even_tried(
    settings: Any, issuer: Issuer
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws-asymmetric"]
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("ES256", 3)]
    header = {"alg": "HS256", "typ": "JWT", "kid": public("EdDSA").kid}
    refused_everywhere(
        "token_unsupported", token=hs("HS256", forge.public_pem("EdDSA").encode(), header)
    )
    # The shared secret itself no longer signs anything either.
    refused_everywhere("token_unsupported", token=forge.jws(forge.claims()))


@pytest.mark.parametrize(
    ("signed_with", "claimed"),
    [("EdDSA", "ES256"), ("ES256", "RS256"), ("RS256", "EdDSA"), ("ES256", "EdDSA")],
)
def test_a_signature_presented_under_another_keys_algorithm_is_refused(
    issuer: Issuer, signed_with: str, claimed: str
) -> None:
    genuine = token(signed_with)
    head = forge.js({"alg": claimed, "typ": "JWT", "kid": public(signed_with).kid})
    _, body, signature = genuine.split(".")
    refused_everywhere("token_invalid", token=f"{head}.{body}.{signature}")


@pytest.mark.parametrize("alg", ["PS256", "ES384", "ES512", "Ed25519", "ES256K", "none", "RS512"])
def test_algorithms_no_key_type_gives_are_unsupported(issuer: Issuer, alg: str) -> None:
    head = forge.js({"alg": alg, "typ": "JWT", "kid": public("EdDSA").kid})
    genuine = token("EdDSA")
    _, body, signature = genuine.split(".")
    refused_everywhere("token_unsupported", token=f"{head}.{body}.{signature}")


# -- keys and key URLs in the header -----------------------------------------------------------


def test_an_embedded_jwk_is_refused_and_never_used(issuer: Issuer) -> None:
    attacker = public("EdDSA", 7).to_jwk()
    refused_everywhere("token_unsupported", token=token("EdDSA", n=7, jwk=attacker))


@pytest.mark.parametrize("member", ["jku", "x5u"])
def test_key_urls_in_the_header_are_refused_and_never_fetched(issuer: Issuer, member: str) -> None:
    with jwks_server() as attacker:
        attacker.serve(jwk.jwks_document([public("EdDSA", 7)]))
        hostile = token("EdDSA", n=7, **{member: attacker.url})
        refused_everywhere("token_unsupported", token=hostile)
        assert attacker.requests == 0


@pytest.mark.parametrize(
    "extra",
    [{"x5c": ["MIIB"]}, {"x5t": "abc"}, {"crit": ["exp"]}, {"b64": False}, {"cty": "JWT"}],
    ids=["x5c", "x5t", "crit", "b64", "cty"],
)
def test_other_header_members_are_refused(issuer: Issuer, extra: dict[str, Any]) -> None:
    refused_everywhere("token_unsupported", token=token("ES256", **extra))


@pytest.mark.parametrize(
    "kid", [7, None, "", "k" * 257, ["a"]], ids=["int", "null", "empty", "long", "list"]
)
def test_a_kid_that_is_not_a_short_string_is_refused(issuer: Issuer, kid: Any) -> None:
    head = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    refused_everywhere("token_unsupported", token=forge.asym_jws(forge.claims(), header=head))


# -- unknown kids ------------------------------------------------------------------------------


def test_a_flood_of_unknown_kids_reaches_the_issuer_once(issuer: Issuer) -> None:
    accepted_everywhere(token=token("EdDSA"))
    assert issuer.requests == 1
    for i in range(100):
        hostile = forge.asym_jws(forge.claims(), header={"alg": "EdDSA", "kid": f"flood-{i}"})
        refused_everywhere("token_invalid", token=hostile, session=False)
    # Within the refresh interval (30 s) no unknown kid costs the issuer a request.
    assert issuer.requests == 1


def test_an_unknown_kid_after_the_interval_triggers_one_refresh(
    settings: Any, issuer: Issuer
) -> None:
    settings.NEXTAUTH_JWKS_REFRESH_INTERVAL = 1
    accepted_everywhere(token=token("EdDSA"))
    assert issuer.requests == 1
    # The issuer rotates in a new key; the verifier learns it on the first token using it.
    issuer.serve(jwk.jwks_document([public("EdDSA", 5), *(public(a) for a in ALGS)]))
    from django_nextauth_jwt.policy import policy

    client = policy().key_sources.clients[0]  # type: ignore[union-attr]
    client._last_attempt -= 2  # type: ignore[operator]  # the interval has passed
    rotated = forge.asym_jws(
        forge.claims(), "EdDSA", n=5, header={"alg": "EdDSA", "kid": public("EdDSA", 5).kid}
    )
    accepted_everywhere(token=rotated)
    assert issuer.requests == 2


# -- hostile JWKS responses --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["huge", "huge-chunked", "slow", "redirect", "error"])
def test_a_hostile_jwks_response_fails_closed(settings: Any, issuer: Issuer, mode: str) -> None:
    settings.NEXTAUTH_JWKS_TIMEOUT = 0.5
    issuer.mode = mode
    refused_everywhere("keys_unavailable", token=token("EdDSA"), session=False)


@pytest.mark.parametrize(
    "body",
    [b"<html>", b"{}", b'{"keys": "x"}', b"\x00" * 64, b'{"keys": [' + b"[" * 100000 + b"]}"],
    ids=["html", "no_keys", "keys_not_array", "binary", "deep_nesting"],
)
def test_a_malformed_jwks_fails_closed(issuer: Issuer, body: bytes) -> None:
    issuer.serve(body)
    refused_everywhere("keys_unavailable", token=token("EdDSA"), session=False)


def test_a_jwks_with_private_parts_is_refused_whole_and_never_logged(
    issuer: Issuer, leak_guard: LeakGuard
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    leaked = forge.b64(forge.private_key("EdDSA").private_bytes_raw())
    assert isinstance(forge.private_key("EdDSA"), ed25519.Ed25519PrivateKey)
    leak_guard.watch_secret(leaked)
    document = genuine_document()
    document["keys"][0] = {**document["keys"][0], "d": leaked}
    issuer.serve(document)
    # Even the key's own genuine tokens: a publisher leaking private keys is not trusted.
    refused_everywhere("keys_unavailable", token=token("EdDSA"), session=False)
    refused_everywhere("keys_unavailable", token=token("ES256"), session=False)


def test_a_jwks_publishing_a_symmetric_key_is_refused_and_that_key_signs_nothing(
    issuer: Issuer,
) -> None:
    secret = b"published-symmetric-key-0123456789abcdef"
    document = genuine_document()
    document["keys"].append({"kty": "oct", "k": forge.b64(secret), "kid": "sym", "alg": "HS256"})
    issuer.serve(document)
    forged = hs("HS256", secret, {"alg": "HS256", "typ": "JWT", "kid": "sym"})
    refused_everywhere("token_invalid", token=forged, session=False)
    refused_everywhere("keys_unavailable", token=token("EdDSA"), session=False)


# -- kid collisions ----------------------------------------------------------------------------


def test_keys_sharing_a_kid_each_verify_only_their_own_signatures(issuer: Issuer) -> None:
    shared = "shared"
    keys = [public("EdDSA"), public("ES256"), public("EdDSA", 1)]
    issuer.serve({"keys": [{**k.to_jwk(), "kid": shared} for k in keys]})
    for alg, n in (("EdDSA", 0), ("ES256", 0), ("EdDSA", 1)):
        head = {"alg": alg, "typ": "JWT", "kid": shared}
        accepted_everywhere(token=forge.asym_jws(forge.claims(), alg, n=n, header=head))
    head = {"alg": "EdDSA", "typ": "JWT", "kid": shared}
    refused_everywhere("token_invalid", token=forge.asym_jws(forge.claims(), n=2, header=head))


def test_a_jwks_cannot_add_a_key_under_this_services_own_kid(settings: Any, issuer: Issuer) -> None:
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("EdDSA", 9)]
    own_kid = public("EdDSA", 9).kid
    # The remote JWKS publishes its key under this service's kid: the service's own key
    # alone answers for that kid, so the neighbour's signature does not verify.
    issuer.serve({"keys": [{**public("EdDSA", 8).to_jwk(), "kid": own_kid}]})
    head = {"alg": "EdDSA", "typ": "JWT", "kid": own_kid}
    refused_everywhere("token_invalid", token=forge.asym_jws(forge.claims(), n=8, header=head))
    accepted_everywhere(token=forge.asym_jws(forge.claims(), n=9, header=head))
    assert issuer.requests == 0  # a kid of its own costs no fetch


# -- a service holding no secret ---------------------------------------------------------------


def test_without_a_secret_a_nextauth_csrf_cookie_hashed_with_an_empty_secret_is_403(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.test import Client

    from tests.security.helpers import ME, V4_COOKIE, assert_refused

    for name in ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    del settings.NEXTAUTH_SECRET
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("EdDSA")]
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[V4_COOKIE] = token("EdDSA")
    value = "f1c2e3d4c5b6a7980123456789abcdef"
    # sha256(token + "") is what a hash "with no secret" would be: anyone can compute it.
    digest = hashlib.sha256(value.encode()).hexdigest()
    browser.cookies["next-auth.csrf-token"] = f"{value}%7C{digest}"
    response = browser.post(
        ME, data="{}", content_type="application/json", headers={"X-CSRF-Token": value}
    )
    assert_refused(response, "csrf_failed", 403)
    # The same cookie session reads fine, and Bearer requests need no CSRF proof.
    assert browser.get(ME).status_code == 200
    bearer = Client(enforce_csrf_checks=True).post(
        ME, headers={"Authorization": f"Bearer {token('EdDSA')}"}
    )
    assert bearer.status_code == 200
