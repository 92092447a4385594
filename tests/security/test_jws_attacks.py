"""Attacks on the signed (JWS) path: algorithm games, keys in the header, header tampering.

Each case sends the hostile token as ``Authorization: Bearer`` to the DRF view and to a
middleware-protected view, and expects the same 401 code from both.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests import forge
from tests.security.helpers import accepted_everywhere, refused_everywhere

JWT_HEADER = {"alg": "HS256", "typ": "JWT"}
NONE_SPELLINGS = sorted(
    {"".join(c) for c in itertools.product(*((ch.lower(), ch.upper()) for ch in "none"))}
)


def signed(header: dict[str, Any], payload: Any = None, secret: str = forge.SECRET) -> str:
    """HS256 with the real secret over a hostile header: only the header is wrong."""
    return forge.jws(payload if payload is not None else forge.claims(), secret, header=header)


def test_genuine_jws_is_accepted_as_the_control() -> None:
    accepted_everywhere(token=forge.jws(forge.claims()))


# --------------------------------------------------------------------------- #
# alg: none, in every capitalisation
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("alg", NONE_SPELLINGS, ids=[f"alg_{a}" for a in NONE_SPELLINGS])
def test_alg_none_unsigned_token_is_refused(alg: str) -> None:
    token = forge.unsigned({"alg": alg, "typ": "JWT"}, forge.claims())
    refused_everywhere("token_malformed", token=token)


@pytest.mark.parametrize("alg", NONE_SPELLINGS, ids=[f"alg_{a}" for a in NONE_SPELLINGS])
def test_alg_none_with_a_valid_hmac_signature_is_refused(alg: str) -> None:
    refused_everywhere("token_unsupported", token=signed({"alg": alg, "typ": "JWT"}))


def test_alg_missing_from_header_is_refused() -> None:
    refused_everywhere("token_unsupported", token=signed({"typ": "JWT"}))


@pytest.mark.parametrize(
    "alg",
    [None, ["HS256"], {"HS256": True}, 256, ""],
    ids=["null", "list", "object", "int", "empty"],
)
def test_alg_of_wrong_type_is_refused(alg: Any) -> None:
    refused_everywhere("token_unsupported", token=signed({"alg": alg, "typ": "JWT"}))


def test_alg_hs256_in_lowercase_is_refused() -> None:
    refused_everywhere("token_unsupported", token=signed({"alg": "hs256", "typ": "JWT"}))


# --------------------------------------------------------------------------- #
# HMAC family swaps
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithm_signed_with_the_secret_is_refused(alg: str) -> None:
    token = forge.jws(forge.claims(), alg=alg, header={"alg": alg, "typ": "JWT"})
    refused_everywhere("token_unsupported", token=token)


def test_hs256_header_over_an_hs512_signature_is_refused() -> None:
    token = forge.jws(forge.claims(), alg="HS512", header=JWT_HEADER)
    refused_everywhere("token_invalid", token=token)


def test_hs256_token_on_an_hs512_deployment_is_refused(settings: Any) -> None:
    settings.NEXTAUTH_JWS_ALGORITHM = "HS512"
    refused_everywhere("token_unsupported", token=forge.jws(forge.claims()))


def test_truncated_hmac_signature_is_refused() -> None:
    head, body, sig = forge.jws(forge.claims()).split(".")
    truncated = forge.b64(forge.unb64(sig)[:16])
    refused_everywhere("token_invalid", token=f"{head}.{body}.{truncated}")


def test_signature_of_another_token_is_refused() -> None:
    head, body, _ = forge.jws(forge.claims(sub="1", role="admin")).split(".")
    _, _, sig = forge.jws(forge.claims()).split(".")
    refused_everywhere("token_invalid", token=f"{head}.{body}.{sig}")


def test_token_signed_with_another_secret_is_refused() -> None:
    refused_everywhere("token_invalid", token=forge.jws(forge.claims(), forge.OTHER_SECRET))


def test_token_signed_with_an_empty_secret_is_refused() -> None:
    refused_everywhere("token_invalid", token=forge.hmac_jws(JWT_HEADER, forge.claims(), b""))


# --------------------------------------------------------------------------- #
# Public-key / HMAC confusion
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "EdDSA", "ES256K"])
def test_asymmetric_alg_header_signed_with_the_secret_as_hmac_key_is_refused(alg: str) -> None:
    refused_everywhere("token_unsupported", token=signed({"alg": alg, "typ": "JWT"}))


def test_hs256_signed_with_a_public_key_pem_as_hmac_secret_is_refused(leak_guard: Any) -> None:
    pem = forge.rsa_public_pem()
    leak_guard.watch_secret(pem)
    refused_everywhere("token_invalid", token=forge.jws(forge.claims(), pem))


def test_rs256_header_signed_with_a_public_key_pem_as_hmac_secret_is_refused(
    leak_guard: Any,
) -> None:
    pem = forge.rsa_public_pem()
    leak_guard.watch_secret(pem)
    token = forge.jws(forge.claims(), pem, header={"alg": "RS256", "typ": "JWT"})
    refused_everywhere("token_unsupported", token=token)


# --------------------------------------------------------------------------- #
# Keys and key pointers in the header
# --------------------------------------------------------------------------- #

ATTACKER_KEY = b"attacker-chosen-hmac-key-0123456789"
ATTACKER_JWK = {"kty": "oct", "k": forge.b64(ATTACKER_KEY)}


@pytest.mark.parametrize(
    "extra",
    [
        {"jwk": ATTACKER_JWK},
        {"jku": "https://evil.example/jwks.json"},
        {"x5u": "https://evil.example/cert.pem"},
        {"x5c": ["MIIBszCCAVmgAwIBAgIUY2VydA=="]},
        {"x5t": "dGh1bWI"},
        {"x5t#S256": "dGh1bWI"},
    ],
    ids=["jwk", "jku", "x5u", "x5c", "x5t", "x5t_s256"],
)
def test_key_or_key_pointer_in_header_signed_with_the_attacker_key_is_refused(
    extra: dict[str, Any],
) -> None:
    token = forge.hmac_jws({**JWT_HEADER, **extra}, forge.claims(), ATTACKER_KEY)
    refused_everywhere("token_unsupported", token=token)


@pytest.mark.parametrize("extra", [{"jwk": ATTACKER_JWK}, {"jku": "https://evil.example/jwks"}])
def test_key_in_header_is_refused_even_when_signed_with_the_real_secret(
    extra: dict[str, Any],
) -> None:
    refused_everywhere("token_unsupported", token=signed({**JWT_HEADER, **extra}))


@pytest.mark.parametrize(
    ("kid", "key"),
    [
        ("../../../../../../dev/null", b""),
        ("/proc/self/environ", b"NEXTAUTH_SECRET="),
        ("' UNION SELECT 'attacker-key' --", b"attacker-key"),
        ("$(curl evil.example)", b""),
    ],
    ids=["path_traversal_dev_null", "proc_environ", "sql_injection", "command_injection"],
)
def test_kid_injection_signed_with_the_key_it_points_to_is_refused(kid: str, key: bytes) -> None:
    token = forge.hmac_jws({**JWT_HEADER, "kid": kid}, forge.claims(), key)
    refused_everywhere("token_invalid", token=token)


@pytest.mark.parametrize("kid", [1, None, ["a"], {"k": "v"}], ids=["int", "null", "list", "obj"])
def test_kid_of_wrong_type_is_refused(kid: Any) -> None:
    refused_everywhere("token_unsupported", token=signed({**JWT_HEADER, "kid": kid}))


# --------------------------------------------------------------------------- #
# crit, b64, typ, cty
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"], "exp": 1},
        {"crit": ["urn:example:unknown"], "urn:example:unknown": True},
        {"crit": []},
    ],
    ids=["crit_exp", "crit_unknown_extension", "crit_empty"],
)
def test_crit_header_is_refused(extra: dict[str, Any]) -> None:
    refused_everywhere("token_unsupported", token=signed({**JWT_HEADER, **extra}))


def test_b64_false_unencoded_payload_is_refused() -> None:
    # RFC 7797: the signature covers the raw payload; a verifier that ignored b64 would
    # read attacker-controlled bytes as claims.
    header = forge.js({**JWT_HEADER, "b64": False, "crit": ["b64"]})
    refused_everywhere("token_unsupported", token=forge.hs256_over(header, "eyJzdWIiOiIxIn0"))


@pytest.mark.parametrize(
    "typ",
    ["at+jwt", "id_token", "logout+jwt", "dpop+jwt", "JWE", "secevent+jwt", 1, ["JWT"]],
    ids=[
        "access_token_typ",
        "id_token_typ",
        "logout_token_typ",
        "dpop_proof_typ",
        "jwe_typ",
        "security_event_typ",
        "int_typ",
        "list_typ",
    ],
)
def test_cross_token_typ_is_refused(typ: Any) -> None:
    refused_everywhere("token_unsupported", token=signed({"alg": "HS256", "typ": typ}))


def test_cty_jwt_nested_jws_is_refused() -> None:
    inner = forge.jws(forge.claims(), forge.OTHER_SECRET)
    header = {**JWT_HEADER, "cty": "JWT"}
    refused_everywhere(
        "token_unsupported", token=forge.jws(None, header=header, raw_payload=forge.b64(inner))
    )


def test_jws_whose_payload_is_itself_a_token_is_refused() -> None:
    inner = forge.jws(forge.claims())
    refused_everywhere("token_malformed", token=forge.jws(inner))


# --------------------------------------------------------------------------- #
# Tampered protected header
# --------------------------------------------------------------------------- #


def test_header_reencoded_with_different_key_order_is_refused() -> None:
    _, body, sig = forge.jws(forge.claims()).split(".")
    head = forge.b64('{"typ":"JWT","alg":"HS256"}')
    refused_everywhere("token_invalid", token=f"{head}.{body}.{sig}")


def test_duplicate_alg_keys_in_header_are_refused() -> None:
    head = forge.b64('{"alg":"none","alg":"HS256","typ":"JWT"}')
    token = forge.hs256_over(head, forge.js(forge.claims()))
    refused_everywhere("token_malformed", token=token)


def test_header_that_is_a_json_array_is_refused() -> None:
    refused_everywhere("token_malformed", token=forge.jws(forge.claims(), header=["HS256"]))  # type: ignore[arg-type]


def test_header_with_utf16_bom_is_refused() -> None:
    head = forge.b64('{"alg":"HS256","typ":"JWT"}'.encode("utf-16"))
    token = forge.hs256_over(head, forge.js(forge.claims()))
    refused_everywhere("token_malformed", token=token)
