"""jws-asymmetric in Django: minting with NEXTAUTH_SIGNING_KEYS, the JWKS endpoint, verifying
with configured public keys or a JWKS URL, the system checks and the secret-less service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_nextauth_jwt import JWTAuth, diagnostics
from django_nextauth_jwt.checks import check_deployment, check_settings
from django_nextauth_jwt.exceptions import InvalidToken, TokenUnsupported
from django_nextauth_jwt.jose import jwk
from django_nextauth_jwt.tokens import published_jwks
from tests import forge
from tests.google_server import GoogleStandIn
from tests.jwks_server import jwks_server
from tests.test_google import browser, google, google_server, google_user, sign_in  # noqa: F401

ALGS = forge.ASYMMETRIC_ALGS
JWKS = "/api/auth/jwks"
LOGIN = "/api/auth/custom-login"
PASSWORD = "correct horse battery staple"


def public(alg: str, n: int = 0) -> jwk.PublicKey:
    return jwk.load_public_key(forge.public_pem(alg, n))


@pytest.fixture
def issuing(settings: Any) -> Any:
    """This service signs with an Ed25519 key, and still publishes an ES256 and an RS256 one."""
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem(alg) for alg in ALGS]
    return settings


def header(token: str) -> dict[str, Any]:
    return dict(json.loads(forge.unb64(token.split(".", maxsplit=1)[0])))


# -- minting and verifying ---------------------------------------------------------------------


def test_create_mints_a_kid_tagged_jws_with_the_first_signing_key(issuing: Any) -> None:
    token = JWTAuth.create({"id": 7, "email": "ada@example.com"})
    assert header(token) == {"alg": "EdDSA", "typ": "JWT", "kid": public("EdDSA").kid}
    claims = JWTAuth.verify(token)
    assert (claims["sub"], claims["id"], claims["email"]) == ("7", "7", "ada@example.com")


@pytest.mark.parametrize("alg", ALGS)
def test_each_signing_key_type_mints_what_pyjwt_verifies_from_the_published_jwks(
    settings: Any, alg: str
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem(alg)]
    token = JWTAuth.create({"id": 1})
    document = published_jwks()
    assert document is not None
    key = pyjwt.PyJWKSet.from_dict(document)[header(token)["kid"]]
    assert pyjwt.decode(token, key.key, algorithms=[alg])["sub"] == "1"


def test_signing_keys_load_from_files_and_jwks(settings: Any, tmp_path: Path) -> None:
    pem_file = tmp_path / "signing.pem"
    pem_file.write_text(forge.private_pem("ES256"))
    algorithm = pyjwt.algorithms.get_default_algorithms()["EdDSA"]
    private_jwk = {**json.loads(algorithm.to_jwk(forge.private_key("EdDSA"))), "kid": "jwk-1"}
    jwk_file = tmp_path / "signing.jwk"
    jwk_file.write_text(json.dumps(private_jwk))
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_SIGNING_KEYS = [pem_file, jwk_file, private_jwk | {"kid": "jwk-2"}]
    token = JWTAuth.create({"id": 1})
    assert header(token)["kid"] == public("ES256").kid
    document = published_jwks()
    assert document is not None
    assert [k["kid"] for k in document["keys"]] == [public("ES256").kid, "jwk-1", "jwk-2"]


def test_a_rotated_out_signing_key_still_verifies_and_stays_published(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("EdDSA")]
    old = JWTAuth.create({"id": 1})
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("EdDSA", 1), forge.private_pem("EdDSA")]
    new = JWTAuth.create({"id": 1})
    assert header(new)["kid"] == public("EdDSA", 1).kid
    assert JWTAuth.verify(old)["sub"] == JWTAuth.verify(new)["sub"] == "1"
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("EdDSA", 1)]
    with pytest.raises(InvalidToken):
        JWTAuth.verify(old)


def test_configured_public_keys_verify_and_issuer_and_audience_are_checked(
    settings: Any,
) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
    settings.NEXTAUTH_PUBLIC_KEYS = {"keys": [public("RS256").to_jwk()]}
    settings.NEXTAUTH_ISSUER = "https://auth.example.com"
    settings.NEXTAUTH_AUDIENCE = "https://auth.example.com"
    good = forge.claims(iss="https://auth.example.com", aud="https://auth.example.com")
    assert JWTAuth.verify(forge.asym_jws(good, "RS256", kid=public("RS256").kid))["sub"] == "42"
    for bad in ({"iss": "https://evil.test"}, {"aud": "other"}):
        with pytest.raises(InvalidToken):
            JWTAuth.verify(forge.asym_jws({**good, **bad}, "RS256", kid=public("RS256").kid))


def test_asymmetric_tokens_are_unsupported_unless_accepted(settings: Any) -> None:
    settings.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("EdDSA")]
    with pytest.raises(TokenUnsupported):
        JWTAuth.verify(forge.asym_jws(forge.claims(), "EdDSA"))


def test_a_jwks_url_verifies_and_a_new_policy_brings_a_new_cache(settings: Any) -> None:
    with jwks_server() as issuer, jwks_server() as other:
        issuer.serve(jwk.jwks_document([public("ES256")]))
        other.serve(jwk.jwks_document([public("EdDSA", 4)]))
        settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
        settings.NEXTAUTH_JWKS_URL = [issuer.url, other.url]
        token = forge.asym_jws(forge.claims(), "ES256", kid=public("ES256").kid)
        other_token = forge.asym_jws(forge.claims(), "EdDSA", n=4, kid=public("EdDSA", 4).kid)
        for _ in range(5):
            assert JWTAuth.verify(token)["sub"] == "42"
            assert JWTAuth.verify(other_token)["sub"] == "42"
        assert (issuer.requests, other.requests) == (1, 1)
        settings.NEXTAUTH_JWKS_CACHE_TTL = 60  # any NEXTAUTH_* change: a new policy
        assert JWTAuth.verify(token)["sub"] == "42"
        assert issuer.requests == 2


# -- sign-in -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_custom_login_mints_jws_asymmetric(issuing: Any) -> None:
    user = get_user_model().objects.create_user("ada", email="ada@example.com", password=PASSWORD)
    response = Client().post(
        LOGIN,
        data=json.dumps({"email": "ada@example.com", "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert header(token)["alg"] == "EdDSA"
    assert response.cookies["next-auth.session-token"].value == token
    assert JWTAuth.verify(token)["sub"] == str(user.pk)


@pytest.mark.django_db
def test_google_sign_in_mints_jws_asymmetric(
    issuing: Any,
    browser: Client,  # noqa: F811
    google: GoogleStandIn,  # noqa: F811
) -> None:
    response = sign_in(browser, google)
    assert response.status_code == 302
    token = response.cookies["next-auth.session-token"].value
    assert header(token)["kid"] == public("EdDSA").kid
    assert JWTAuth.verify(token)["sub"] == str(google_user().pk)


# -- the JWKS endpoint -------------------------------------------------------------------------


def test_the_jwks_endpoint_publishes_every_signing_key_public_half_only(issuing: Any) -> None:
    response = Client().get(JWKS)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=300"
    keys = response.json()["keys"]
    assert [(k["kid"], k["alg"], k["use"]) for k in keys] == [
        (public(alg).kid, alg, "sig") for alg in ALGS
    ]
    for key in keys:
        assert not jwk.PRIVATE_MEMBERS & key.keys()
        assert jwk.load_public_key(key).kid == key["kid"]


def test_the_jwks_endpoint_answers_304_to_a_current_etag(issuing: Any) -> None:
    issuing.NEXTAUTH_JWKS_MAX_AGE = 60
    first = Client().get(JWKS)
    again = Client().get(JWKS, headers={"If-None-Match": first["ETag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert again["Cache-Control"] == "public, max-age=60"
    issuing.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("ES256")]
    assert Client().get(JWKS, headers={"If-None-Match": first["ETag"]}).status_code == 200


def test_the_jwks_endpoint_is_404_without_signing_keys_and_get_only(
    settings: Any, issuing: Any
) -> None:
    assert Client().post(JWKS).status_code == 405
    del settings.NEXTAUTH_SIGNING_KEYS
    settings.NEXTAUTH_JWT_FORMAT = "jws"
    response = Client().get(JWKS)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# -- a service holding no shared secret --------------------------------------------------------


def test_a_key_pair_only_service_needs_no_secret(
    issuing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    del issuing.NEXTAUTH_SECRET
    assert [m.id for m in check_settings()] == []
    token = JWTAuth.create({"id": 3})
    assert JWTAuth.verify(token)["sub"] == "3"
    # HS256 tokens are not even looked at, whatever they are signed with.
    with pytest.raises(TokenUnsupported):
        JWTAuth.verify(forge.jws(forge.claims()))
    issuing.NEXTAUTH_ACCEPTED_FORMATS = ["jws-asymmetric", "jws"]
    with pytest.raises(ImproperlyConfigured, match="NEXTAUTH_SECRET"):
        JWTAuth.verify(token)
    assert "nextauth_jwt.E001" in [m.id for m in check_settings()]


def test_minting_jws_asymmetric_without_signing_keys_fails_at_first_use(settings: Any) -> None:
    del settings.NEXTAUTH_SIGNING_KEYS  # the test settings' key pair
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    with pytest.raises(ImproperlyConfigured, match="E053"):
        JWTAuth.create({"id": 1})


def test_a_bad_key_fails_at_first_use_without_showing_it(settings: Any) -> None:
    pem = forge.private_pem("EdDSA")
    settings.NEXTAUTH_SIGNING_KEYS = [pem[:-40] + "\n-----END PRIVATE KEY-----\n"]
    with pytest.raises(ImproperlyConfigured, match="E050") as caught:
        JWTAuth.create({"id": 1})
    assert pem.splitlines()[1] not in str(caught.value)


# -- system checks -----------------------------------------------------------------------------


def ids(settings: Any, **overrides: Any) -> list[str]:
    for name, value in overrides.items():
        setattr(settings, name, value)
    return [message.id for message in check_settings() if message.id]


def test_good_asymmetric_settings_pass(issuing: Any) -> None:
    issuing.NEXTAUTH_ACCEPTED_FORMATS = ["jws-asymmetric", "jws"]
    issuing.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("ES256", 2)]
    issuing.NEXTAUTH_JWKS_URL = ["https://auth.example.com/api/auth/jwks"]
    assert ids(issuing) == []


@pytest.mark.parametrize(
    "value",
    [["not a key"], [forge.public_pem("EdDSA")], [{"kty": "oct", "k": "AAAA"}], 5, [Path("/nope")]],
    ids=["text", "public_pem", "oct_jwk", "int", "missing_file"],
)
def test_unloadable_signing_keys_are_e050(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_SIGNING_KEYS=value) == ["nextauth_jwt.E050"]


def test_duplicate_signing_kids_are_e050(settings: Any) -> None:
    twice = [forge.private_pem("EdDSA"), forge.private_pem("EdDSA")]
    assert ids(settings, NEXTAUTH_SIGNING_KEYS=twice) == ["nextauth_jwt.E050"]


@pytest.mark.parametrize(
    "value",
    [
        [{**public("EdDSA").to_jwk(), "d": forge.b64(b"1" * 32)}],
        ["junk"],
        [forge.private_pem("ES256")],
    ],
    ids=["private_jwk", "junk", "private_pem"],
)
def test_unloadable_public_keys_are_e051(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_PUBLIC_KEYS=value) == ["nextauth_jwt.E051"]


@pytest.mark.parametrize(
    "value", ["ftp://auth.example.com/jwks", "/api/auth/jwks", "", [" https://a.test/jwks"], [5]]
)
def test_bad_jwks_urls_are_e052(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_JWKS_URL=value) == ["nextauth_jwt.E052"]


def test_minting_asymmetric_without_signing_keys_is_e053(settings: Any) -> None:
    del settings.NEXTAUTH_SIGNING_KEYS  # the test settings' key pair
    assert ids(settings, NEXTAUTH_JWT_FORMAT="jws-asymmetric") == ["nextauth_jwt.E053"]


def test_accepting_asymmetric_without_any_key_is_e054(settings: Any) -> None:
    del settings.NEXTAUTH_SIGNING_KEYS  # the test settings' key pair
    accepted = ["jws", "jws-asymmetric"]
    assert ids(settings, NEXTAUTH_ACCEPTED_FORMATS=accepted) == ["nextauth_jwt.E054"]
    assert ids(settings, NEXTAUTH_JWKS_URL="https://auth.example.com/jwks") == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEXTAUTH_JWKS_CACHE_TTL", 0),
        ("NEXTAUTH_JWKS_REFRESH_INTERVAL", "30"),
        ("NEXTAUTH_JWKS_MAX_STALE", -1),
        ("NEXTAUTH_JWKS_MAX_BYTES", 100),
        ("NEXTAUTH_JWKS_MAX_AGE", 1.5),
        ("NEXTAUTH_JWKS_TIMEOUT", 0),
        ("NEXTAUTH_JWKS_TIMEOUT", 600),
        ("NEXTAUTH_JWKS_TIMEOUT", True),
    ],
)
def test_bad_jwks_numbers_are_e055(settings: Any, name: str, value: Any) -> None:
    assert ids(settings, **{name: value}) == ["nextauth_jwt.E055"]


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://auth.example.com/jwks", True),
        ("https://auth.example.com/jwks", False),
        ("http://127.0.0.1:3000/api/auth/jwks", False),
        ("http://localhost:3000/api/auth/jwks", False),
    ],
)
def test_plain_http_jwks_to_another_host_is_w050_under_deploy(
    settings: Any, url: str, warned: bool
) -> None:
    settings.NEXTAUTH_JWKS_URL = url
    found = [m.id for m in check_deployment()]
    assert ("nextauth_jwt.W050" in found) is warned


# -- diagnostics ------------------------------------------------------------------------------


def test_a_key_pair_token_at_a_shared_secret_service_is_diagnosed_with_the_fix(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.test_diagnostics import bearer, refused

    diagnostics.reset()
    [line] = refused(caplog, "token_unsupported", **bearer(forge.asym_jws(forge.claims(), "ES256")))
    assert "a JWS signed with ES256 arrived; this service verifies HS256 only" in line
    assert '"jws-asymmetric" to NEXTAUTH_ACCEPTED_FORMATS' in line
    diagnostics.reset()


def test_a_key_pair_token_no_key_verifies_is_diagnosed_without_its_kid(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.test_diagnostics import bearer, refused

    diagnostics.reset()
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
    settings.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("EdDSA")]
    kid = "attacker-chosen-kid-0123456789"
    token = forge.asym_jws(forge.claims(), "EdDSA", n=3, kid=kid)
    [line] = refused(caplog, "token_invalid", **bearer(token))
    assert "none of this service's keys verifies it" in line
    assert kid not in line
    diagnostics.reset()
