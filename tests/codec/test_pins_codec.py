"""Pins on the bare codec that no test held (issue 27): a keyring without secrets.

A verifier of ``jws-asymmetric`` tokens holds public keys and no shared secret. A symmetric
token sent to it must be refused the way every bad token is (``InvalidToken``, a 401 with a
stable code), never with the ``ValueError`` a keyring raises when asked for a secret it has
not got (a 500 in every shell, which catch ``InvalidToken`` only).
"""

from __future__ import annotations

import pytest

from django_nextauth_jwt.exceptions import InvalidToken
from django_nextauth_jwt.jose import codec, jwk
from tests import forge

PAYLOAD = {"sub": "42", "exp": 4_000_000_000}


def keyring_without_secrets() -> codec.Keyring:
    public = jwk.load_public_key(forge.public_pem("EdDSA"))
    return codec.Keyring([], public_keys=jwk.KeySet([public]))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(forge.v5(PAYLOAD), id="authjs-v5"),
        pytest.param(
            forge.v5(PAYLOAD, header={"alg": "dir", "enc": "A256CBC-HS512"}), id="v5-no-kid"
        ),
        pytest.param(forge.v4(PAYLOAD), id="nextauth-v4"),
        pytest.param(forge.hs256_over(forge.js({"alg": "HS256"}), forge.js(PAYLOAD)), id="jws"),
    ],
)
def test_a_symmetric_token_under_a_keyring_without_secrets_is_an_invalid_token(
    token: str,
) -> None:
    with pytest.raises(InvalidToken):
        codec.decode(token, keyring_without_secrets())


def test_a_keyring_without_secrets_still_verifies_its_own_format() -> None:
    token = forge.asym_jws(PAYLOAD, "EdDSA", header={"alg": "EdDSA"})
    assert codec.decode(token, keyring_without_secrets(), formats=["jws-asymmetric"]) == PAYLOAD
