"""Attacks through ``auth_time``: a sign-in time that no cut-off can reach.

Sign-out-everywhere refuses every token of the user signed into at or before its cut-off, and
the time compared is ``auth_time`` (else ``iat``). A signed ``auth_time`` in the future (an
issuer whose clock runs ahead, or ``10**15``) or later than the token's own ``iat`` would stay
after every cut-off: it is refused like a future ``iat``, with the same family of codes.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.claims import validate_claims
from django_nextauth_jwt.exceptions import TokenClaimsInvalid, TokenNotYetValid
from django_nextauth_jwt.policy import policy
from tests import forge
from tests.security.helpers import accepted_everywhere, refused_everywhere

NOW = 1_800_000_000


def payload(**extra: Any) -> dict[str, Any]:
    return {"sub": "42", "exp": NOW + 3600, **extra}


def test_a_future_auth_time_cannot_outlive_a_sign_out_everywhere() -> None:
    # The attack: before, the cut-off compared 10**9-odd seconds of future and let it through.
    now = int(time.time())
    JWTAuth.revoke_user("42")
    for auth_time in (now + 3600, now + 10**6):
        refused_everywhere(
            "token_not_yet_valid", token=forge.jws(forge.claims(iat=..., auth_time=auth_time))
        )
    refused_everywhere("token_revoked", token=forge.jws(forge.claims(iat=..., auth_time=now - 60)))


@pytest.mark.parametrize("with_iat", [False, True], ids=["without_iat", "with_iat"])
def test_future_auth_time_is_refused(with_iat: bool) -> None:
    now = int(time.time())
    claims = forge.claims(auth_time=now + 3600, iat=now if with_iat else ...)
    refused_everywhere("token_not_yet_valid", token=forge.jws(claims))


@pytest.mark.parametrize(
    "auth_time",
    [10**15, -(10**15), 253_402_300_800, "0", 1.5, 1e9, True, None, [1], {"t": 1}],
    ids=[
        "huge",
        "huge_negative",
        "past_year_9999",
        "string",
        "float",
        "float_integral",
        "boolean",
        "null",
        "list",
        "object",
    ],
)
def test_huge_or_not_an_integer_auth_time_is_refused(auth_time: Any) -> None:
    refused_everywhere(
        "token_claims_invalid", token=forge.jws(forge.claims(iat=..., auth_time=auth_time))
    )


def test_auth_time_later_than_iat_is_refused() -> None:
    now = int(time.time())
    claims = forge.claims(iat=now - 100, auth_time=now - 50)
    refused_everywhere("token_claims_invalid", token=forge.jws(claims))


def test_auth_time_at_or_before_iat_is_accepted_as_the_control() -> None:
    now = int(time.time())
    for auth_time in (now, now - 60):
        accepted_everywhere(token=forge.jws(forge.claims(iat=now, auth_time=auth_time)))


# --------------------------------------------------------------------------- #
# The boundaries, at the claims layer (each comparison flipped makes one of these fail)
# --------------------------------------------------------------------------- #


def test_auth_time_up_to_the_leeway_ahead_is_accepted_and_one_second_more_is_not() -> None:
    pol = policy()
    ahead = NOW + pol.leeway
    assert validate_claims(payload(auth_time=ahead), now=NOW, pol=pol)["auth_time"] == ahead
    with pytest.raises(TokenNotYetValid):
        validate_claims(payload(auth_time=ahead + 1), now=NOW, pol=pol)


def test_auth_time_equal_to_iat_is_accepted_and_one_second_later_is_not() -> None:
    pol = policy()
    at = NOW - 10
    assert validate_claims(payload(iat=at, auth_time=at), now=NOW, pol=pol)["auth_time"] == at
    with pytest.raises(TokenClaimsInvalid):
        validate_claims(payload(iat=at, auth_time=at + 1), now=NOW, pol=pol)


def test_a_future_auth_time_is_not_yet_valid_even_with_an_earlier_iat() -> None:
    # The future check comes first: the code names the clock, not the inconsistency.
    with pytest.raises(TokenNotYetValid):
        validate_claims(payload(iat=NOW, auth_time=NOW + 3600), now=NOW, pol=policy())


def test_a_null_auth_time_is_refused_not_taken_for_absent() -> None:
    with pytest.raises(TokenClaimsInvalid):
        validate_claims(payload(auth_time=None), now=NOW, pol=policy())
    assert "auth_time" not in validate_claims(payload(), now=NOW, pol=policy())


def test_create_keeps_no_future_auth_time_so_its_own_token_verifies() -> None:
    # A caller's clock ahead of this one: the kept sign-in time would be later than iat.
    now = int(time.time())
    token = JWTAuth.create({"id": "42", "auth_time": now + 3600, "sid": "s-1"})
    claims = JWTAuth.verify(token)
    assert claims["auth_time"] <= claims["iat"]
    kept = JWTAuth.verify(JWTAuth.create({"id": "42", "auth_time": now - 3600}))
    assert kept["auth_time"] == now - 3600
