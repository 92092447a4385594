"""Attacks on the claims of a correctly signed token: issuer and audience partial matches and
wrong types, time claims of the wrong type, a missing or empty subject.

The tokens are signed with the real secret: only the claims are hostile, so any acceptance
would be a claim-validation bug, not a cryptographic one.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests import forge
from tests.security.helpers import accepted_everywhere, refused_everywhere

ISS = "https://auth.example.com"
AUD = "api.example.com"


def raw_claims_token(text: str) -> str:
    """A JWS over claims JSON written by hand (for constants json.dumps would not write)."""
    return forge.jws(None, raw_payload=forge.b64(text))


# --------------------------------------------------------------------------- #
# Issuer and audience
# --------------------------------------------------------------------------- #


@pytest.fixture
def iss_aud(settings: Any) -> None:
    settings.NEXTAUTH_ISSUER = ISS
    settings.NEXTAUTH_AUDIENCE = AUD


@pytest.mark.usefixtures("iss_aud")
def test_exact_issuer_and_audience_are_accepted_as_the_control() -> None:
    accepted_everywhere(token=forge.jws(forge.claims(iss=ISS, aud=AUD)))
    accepted_everywhere(token=forge.jws(forge.claims(iss=ISS, aud=["other", AUD])))


@pytest.mark.usefixtures("iss_aud")
@pytest.mark.parametrize(
    "iss",
    [
        ISS + ".evil.example",
        ISS + "/",
        ISS[:-4],
        ISS.upper(),
        " " + ISS,
        ISS + "\x00",
        "https://evil.example/?" + ISS,
        [ISS],
        {"iss": ISS},
        None,
        ...,
    ],
    ids=[
        "suffix_extended_host",
        "trailing_slash",
        "prefix_of_issuer",
        "uppercase",
        "leading_space",
        "trailing_nul",
        "issuer_inside_query",
        "issuer_in_a_list",
        "issuer_in_an_object",
        "null_issuer",
        "missing_issuer",
    ],
)
def test_issuer_partial_match_or_wrong_type_is_refused(iss: Any) -> None:
    refused_everywhere("token_claims_invalid", token=forge.jws(forge.claims(iss=iss, aud=AUD)))


@pytest.mark.usefixtures("iss_aud")
@pytest.mark.parametrize(
    "aud",
    [
        AUD + ".evil.example",
        "evil." + AUD,
        AUD[:-4],
        AUD.upper(),
        [AUD + "x"],
        [AUD, 1],
        [AUD, None],
        [],
        {AUD: True},
        "",
        None,
        ...,
    ],
    ids=[
        "suffix_extended",
        "subdomain_prefixed",
        "prefix_of_audience",
        "uppercase",
        "list_with_lookalike",
        "list_with_an_int",
        "list_with_null",
        "empty_list",
        "object_keyed_by_audience",
        "empty_string",
        "null_audience",
        "missing_audience",
    ],
)
def test_audience_partial_match_or_wrong_type_is_refused(aud: Any) -> None:
    refused_everywhere("token_claims_invalid", token=forge.jws(forge.claims(iss=ISS, aud=aud)))


# --------------------------------------------------------------------------- #
# Time claims
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "exp",
    [
        time.time() + 3600.5,
        float(int(time.time()) + 3600),
        str(int(time.time()) + 3600),
        True,
        None,
        [int(time.time()) + 3600],
        {"$date": int(time.time()) + 3600},
        ...,
    ],
    ids=[
        "float_exp",
        "integral_float_exp",
        "string_exp",
        "boolean_exp",
        "null_exp",
        "list_exp",
        "object_exp",
        "missing_exp",
    ],
)
def test_exp_of_the_wrong_type_is_refused(exp: Any) -> None:
    refused_everywhere("token_claims_invalid", token=forge.jws(forge.claims(exp=exp)))


def test_exp_that_overflows_to_infinity_is_refused() -> None:
    refused_everywhere("token_claims_invalid", token=raw_claims_token('{"sub":"42","exp":1e999}'))


@pytest.mark.parametrize(
    "constant", ["NaN", "Infinity", "-Infinity"], ids=["nan", "infinity", "minus_infinity"]
)
def test_exp_as_a_non_json_constant_is_refused(constant: str) -> None:
    refused_everywhere(
        "token_malformed", token=raw_claims_token(f'{{"sub":"42","exp":{constant}}}')
    )


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("nbf", "0"),
        ("nbf", 1.5),
        ("nbf", False),
        ("iat", "now"),
        ("iat", 0.0),
        ("iat", True),
        ("iat", None),
    ],
    ids=[
        "string_nbf",
        "float_nbf",
        "boolean_nbf",
        "string_iat",
        "float_iat",
        "boolean_iat",
        "null_iat",
    ],
)
def test_nbf_or_iat_of_the_wrong_type_is_refused(claim: str, value: Any) -> None:
    refused_everywhere("token_claims_invalid", token=forge.jws(forge.claims(**{claim: value})))


def test_expired_token_is_refused() -> None:
    refused_everywhere("token_expired", token=forge.jws(forge.claims(exp=int(time.time()) - 60)))


@pytest.mark.parametrize("claim", ["nbf", "iat"], ids=["future_nbf", "future_iat"])
def test_token_from_the_future_is_refused(claim: str) -> None:
    future = int(time.time()) + 3600
    refused_everywhere("token_not_yet_valid", token=forge.jws(forge.claims(**{claim: future})))


# --------------------------------------------------------------------------- #
# Subject
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "sub",
    [..., "", None, 42, ["42"], {"id": "42"}, True],
    ids=["missing_sub", "empty_sub", "null_sub", "int_sub", "list_sub", "object_sub", "bool_sub"],
)
def test_missing_empty_or_non_string_sub_is_refused(sub: Any) -> None:
    refused_everywhere("token_claims_invalid", token=forge.jws(forge.claims(sub=sub)))


def test_id_claim_cannot_stand_in_for_a_missing_sub() -> None:
    payload = forge.claims(sub=..., id="1")
    refused_everywhere("token_claims_invalid", token=forge.jws(payload))


def test_claims_with_duplicate_sub_keys_take_one_subject_only() -> None:
    # JSON.parse (every JavaScript peer) keeps the last duplicate: so must we, or two
    # services would disagree on who the user is.
    exp = int(time.time()) + 3600
    text = json.dumps({"sub": "1", "exp": exp})[:-1] + ', "sub": "42"}'
    accepted_everywhere(token=raw_claims_token(text), user_id="42")


# --------------------------------------------------------------------------- #
# Claims no encoder can render: lone surrogates, deep nesting
# --------------------------------------------------------------------------- #


def _claims_json(**extra: str) -> str:
    """The control claims as JSON, with ``extra`` members spliced in as raw JSON text."""
    base = json.dumps(forge.claims(), separators=(",", ":"))[:-1]
    return base + "".join(f',"{name}":{raw}' for name, raw in extra.items()) + "}"


@pytest.mark.parametrize(
    "member",
    [
        {"name": '"\\ud800"'},
        {"name": '"Ada \\udfff Lovelace"'},
        {"jti": '"\\ud83d"'},
        {"profile": '{"\\udc00":"x"}'},
        {"groups": '["ok", ["\\ud800"]]'},
    ],
    ids=["lone_high", "lone_low_inside_text", "half_an_emoji_jti", "in_a_key", "nested_in_a_list"],
)
def test_lone_surrogate_in_a_claim_is_refused_at_verification(member: dict[str, str]) -> None:
    refused_everywhere("token_claims_invalid", token=raw_claims_token(_claims_json(**member)))


def test_an_escaped_surrogate_pair_is_a_character_and_accepted() -> None:
    accepted_everywhere(token=raw_claims_token(_claims_json(name='"Ada \\ud83d\\ude00"')))


def test_nesting_past_the_documented_depth_is_refused() -> None:
    nested = '{"x":' * 16 + "1" + "}" * 16  # the claims object plus 16 levels: 17 deep
    refused_everywhere("token_claims_invalid", token=raw_claims_token(_claims_json(deep=nested)))
    as_lists = "[" * 16 + "]" * 16
    refused_everywhere("token_claims_invalid", token=raw_claims_token(_claims_json(deep=as_lists)))


def test_nesting_at_the_documented_depth_is_accepted() -> None:
    nested = '{"x":' * 15 + "1" + "}" * 15  # 16 deep with the claims object
    accepted_everywhere(token=raw_claims_token(_claims_json(deep=nested)))
    wide = "[" + ",".join(["{}"] * 40) + "]"  # many brackets, shallow
    accepted_everywhere(token=raw_claims_token(_claims_json(wide=wide, note='"{{{{[[[["')))
