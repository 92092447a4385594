"""Pins on ``tokens``, the ``JWTAuth`` facade, that ``make mutate`` found unheld.

What a remembered token may share with its first caller, how much the memory of tokens holds,
the errors ``encode`` and ``revoke_user`` raise, the cut-off ``revoke_user`` writes when given
a time, and that a stateless user costs no per-person cut-off read. Each was shown to fail
with the mutant that found it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt import tokens
from django_nextauth_jwt.jose.formats import FORMATS
from django_nextauth_jwt.policy import policy
from django_nextauth_jwt.state import revocation
from django_nextauth_jwt.tokens import JWTAuth
from tests.request_helpers import ADA, make_token

# --------------------------------------------------------------------------- #
# The memory of decoded tokens
# --------------------------------------------------------------------------- #


def test_a_remembered_payload_with_a_list_is_decoded_afresh_never_shared() -> None:
    token = JWTAuth.create({**ADA, "groups": ["readers"]})
    for _ in range(3):  # seen, remembered, then answered from the memory if it were allowed
        first = tokens.decode(token)
    first["groups"].append("admins")  # a caller that changes what it was given
    assert tokens.decode(token)["groups"] == ["readers"]


def test_a_token_of_exactly_4096_characters_is_remembered_one_longer_is_not() -> None:
    def of_length(length: int) -> str:
        token = make_token()
        pad = length - len(token)
        for _ in range(8):  # base64 rounds: adjust the claim until the token is exact
            token = make_token(name="x" * max(0, len("Ada") + pad * 3 // 4))
            pad += length - len(token)
            if len(token) == length:
                return token
        raise AssertionError(f"no token of {length} characters")

    for length, remembered in ((4096, True), (4097, False)):
        token = of_length(length)
        tokens.decode(token)
        tokens.decode(token)
        assert (token in policy().recent) is remembered, length


def test_the_memory_of_tokens_fills_to_64_then_starts_again() -> None:
    pol = policy()
    pol.recent.clear()
    for i in range(64):
        token = make_token(id=str(i))
        tokens.decode(token)
        tokens.decode(token)  # a second sighting: remembered
    assert len(pol.recent) == 64
    token = make_token(id="64")
    tokens.decode(token)
    tokens.decode(token)
    assert len(pol.recent) == 1  # full: emptied, then this one


def test_the_sightings_fill_to_256_then_start_again() -> None:
    pol = policy()
    pol.seen.clear()
    for i in range(256):
        tokens.decode(make_token(id=str(i)))  # each seen once
    assert len(pol.seen) == 256
    tokens.decode(make_token(id="256"))
    assert len(pol.seen) == 1


# --------------------------------------------------------------------------- #
# What encode and revoke_user refuse, and say
# --------------------------------------------------------------------------- #


def test_encode_names_every_format_when_given_another() -> None:
    with pytest.raises(ValueError, match=r"^format must be one of ") as caught:
        tokens.encode({"sub": "1"}, format="jws-hs256")
    assert str(caught.value) == f"format must be one of {', '.join(FORMATS)}"


def test_a_service_without_signing_keys_refuses_to_mint_jws_asymmetric(settings: Any) -> None:
    if hasattr(settings, "NEXTAUTH_SIGNING_KEYS"):
        del settings.NEXTAUTH_SIGNING_KEYS
    assert not policy().signing_keys
    with pytest.raises(ImproperlyConfigured) as caught:
        tokens.encode({"sub": "1"}, format="jws-asymmetric")
    assert str(caught.value) == (
        "This service verifies jws-asymmetric tokens but cannot mint them: an issuer "
        "needs NEXTAUTH_SIGNING_KEYS (nextauth_jwt.E053)."
    )


@pytest.mark.django_db
def test_revoke_user_in_database_mode_names_what_it_takes(settings: Any) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    with pytest.raises(ValueError, match=r"^who must be a sub or a saved user$"):
        JWTAuth.revoke_user(get_user_model()(username="unsaved"))


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["stateless", "database"])
def test_revoke_user_writes_the_cut_off_it_is_given(settings: Any, mode: str) -> None:
    settings.NEXTAUTH_USER_MODE = mode
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com")
    at = int(time.time()) - 3600  # an hour ago: later sessions stay valid
    assert JWTAuth.revoke_user(user, at=at) == at
    older = make_token(id=str(user.pk), iat=at - 60, auth_time=at - 60)
    newer = make_token(id=str(user.pk))
    assert JWTAuth.authenticate_token(older).error == "token_revoked"
    assert JWTAuth.authenticate_token(newer).success


# --------------------------------------------------------------------------- #
# The user of a token
# --------------------------------------------------------------------------- #


def test_a_stateless_user_costs_no_per_person_cut_off_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a TokenUser has no row: no per-person cut-off to read")

    monkeypatch.setattr(revocation, "check_account", read)
    claims = JWTAuth.verify(make_token())
    assert tokens.resolve_user(claims).id == ADA["id"]
