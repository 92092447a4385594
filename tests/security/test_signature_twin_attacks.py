"""Attacks with a second signature of a signed-out token: revocation a signature cannot dodge.

ES256 signatures come in pairs: ``(r, s)`` and ``(r, n - s)`` both verify. ``jose`` (which
Better Auth's JWT plugin signs with) writes either, half the time each, so both are accepted
(``tests/test_interop_signature_twins.py`` shows it with the real packages). What stops the twin
is the deny-list's name for a token without ``sid`` or ``jti``: what its signer signed (the
signing input), not the token's text. Tokens with a ``sid`` or a ``jti`` are named by those
claims, which a twin carries unchanged.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.exceptions import TokenRevoked
from tests import forge
from tests.security.helpers import accepted_everywhere, refused_everywhere

#: The order of P-256's base point.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def es256_twin(token: str) -> str:
    """The same header and payload under the other valid signature, ``(r, n - s)``."""
    head, body, signature = token.split(".")
    raw = forge.unb64(signature)
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    return f"{head}.{body}.{forge.b64(r + (P256_N - s).to_bytes(32, 'big'))}"


@pytest.fixture
def es256_issuer(settings: Any) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
    settings.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("ES256")]


def tokenless_session(**extra: Any) -> dict[str, Any]:
    """Claims as Better Auth's JWT plugin writes them: no ``sid``, no ``jti``."""
    return forge.claims(jti=..., **extra)


@pytest.mark.usefixtures("es256_issuer")
def test_es256_twin_of_an_unrevoked_token_is_accepted_as_the_control() -> None:
    # Both forms verify, as with every JOSE library: peers emit either.
    token = forge.asym_jws(tokenless_session(), "ES256")
    accepted_everywhere(token=token)
    accepted_everywhere(token=es256_twin(token))


@pytest.mark.usefixtures("es256_issuer")
def test_es256_twin_of_a_signed_out_token_without_sid_or_jti_is_refused() -> None:
    # The attack: sign-out named the token by its text; the twin's text differs.
    token = forge.asym_jws(tokenless_session(), "ES256")
    twin = es256_twin(token)
    assert twin != token
    JWTAuth.revoke(token)
    refused_everywhere("token_revoked", token=twin)
    refused_everywhere("token_revoked", token=token)


@pytest.mark.usefixtures("es256_issuer")
def test_signing_out_the_twin_refuses_the_original_too() -> None:
    token = forge.asym_jws(tokenless_session(), "ES256")
    JWTAuth.revoke(es256_twin(token))
    refused_everywhere("token_revoked", token=token)


@pytest.mark.usefixtures("es256_issuer")
@pytest.mark.parametrize(
    "claims",
    [forge.claims(), forge.claims(sid="s-1", jti=...)],
    ids=["with_jti", "with_sid"],
)
def test_es256_twin_of_a_signed_out_token_with_a_jti_or_sid_is_refused(
    claims: dict[str, Any],
) -> None:
    token = forge.asym_jws(claims, "ES256")
    JWTAuth.revoke(token)
    refused_everywhere("token_revoked", token=es256_twin(token))


@pytest.mark.usefixtures("es256_issuer")
def test_signing_out_one_tokenless_session_leaves_another_of_the_same_user() -> None:
    # The name is the whole signing input: another token of the same user (another iat,
    # hence another payload) is another session, not refused by this sign-out.
    now = int(time.time())
    first = forge.asym_jws(tokenless_session(iat=now - 5), "ES256")
    second = forge.asym_jws(tokenless_session(iat=now), "ES256")
    JWTAuth.revoke(first)
    with pytest.raises(TokenRevoked):
        JWTAuth.verify(es256_twin(first))
    assert JWTAuth.verify(second)["sub"] == "42"
    assert JWTAuth.verify(es256_twin(second))["sub"] == "42"


def test_a_jwe_without_jti_is_revoked_by_its_whole_text(settings: Any) -> None:
    # A JWE has no second spelling (canonical base64url, exact IV and tag, the header bound
    # as AAD): its text is what was sealed. A second encryption of the same claims needs the
    # secret, so it is a token minted separately (NextAuth sets a jti in every one anyway).
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "nextauth-v4", "authjs-v5"]
    claims = tokenless_session()
    for token, again in (
        (forge.v4(claims), forge.v4(claims)),
        (forge.v5(claims), forge.v5(claims)),
    ):
        JWTAuth.revoke(token)
        refused_everywhere("token_revoked", token=token)
        accepted_everywhere(token=again)
