"""Both directions against the real npm packages: next-auth 4, @auth/core and jose.

Tokens minted by the packages verify here with equal claims; tokens minted here
decode there; a wrong secret or salt is refused on both sides.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from tests.forge import OTHER_SECRET, SECRET
from tests.node_bridge import NodeBridge, NodeError

pytestmark = pytest.mark.node

SEED = {"id": "user-1", "email": "ada@example.com", "name": "Ada Lovelace", "role": "admin"}
NEXTAUTH_SHAPE = {"sub": "user-1", "email": "ada@example.com", "name": "Ada", "picture": None}
V5_SALTS = [("authjs.session-token", False), ("__Secure-authjs.session-token", True)]


def without_id(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != "id"}


def test_bridge_runs_the_pinned_packages(node: NodeBridge) -> None:
    versions = node.call("versions")
    assert versions["next-auth"].startswith("4.24.")
    assert versions["@auth/core"].startswith("0.41.")
    assert versions["jose"].startswith("6.")


# --------------------------------------------------------------------------- #
# nextauth-v4
# --------------------------------------------------------------------------- #


def test_v4_token_from_next_auth_verifies_with_equal_claims(
    node: NodeBridge, settings: Any
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    token = node.call("v4.encode", token=NEXTAUTH_SHAPE, secret=SECRET, maxAge=600)
    claims = JWTAuth.verify(token)
    expected = node.call("v4.decode", token=token, secret=SECRET)
    assert without_id(claims) == expected
    assert claims["id"] == "user-1"
    assert expected["exp"] - expected["iat"] == 600


def test_v4_token_from_here_decodes_in_next_auth(node: NodeBridge, settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    token = JWTAuth.create(SEED)
    assert node.call("v4.decode", token=token, secret=SECRET) == without_id(JWTAuth.verify(token))


def test_v4_wrong_secret_is_refused_on_both_sides(node: NodeBridge, settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    theirs = node.call("v4.encode", token=NEXTAUTH_SHAPE, secret=OTHER_SECRET)
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(theirs)
    with pytest.raises(NodeError, match="JWEDecryptionFailed"):
        node.call("v4.decode", token=JWTAuth.create(SEED), secret=OTHER_SECRET)


def test_v4_rotation_verifies_tokens_from_the_old_secret(node: NodeBridge, settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    settings.NEXTAUTH_SECRET = [OTHER_SECRET, SECRET]
    old = node.call("v4.encode", token=NEXTAUTH_SHAPE, secret=SECRET)
    assert JWTAuth.verify(old)["sub"] == "user-1"
    new = JWTAuth.create(SEED)
    assert node.call("v4.decode", token=new, secret=OTHER_SECRET)["sub"] == "user-1"


# --------------------------------------------------------------------------- #
# authjs-v5
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("salt", "secure"), V5_SALTS)
def test_v5_token_from_auth_core_verifies_with_equal_claims(
    node: NodeBridge, settings: Any, salt: str, secure: bool
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECURE_COOKIE = secure
    token = node.call("v5.encode", token=NEXTAUTH_SHAPE, secret=SECRET, salt=salt, maxAge=600)
    expected = node.call("v5.decode", token=token, secret=SECRET, salt=salt)
    assert without_id(JWTAuth.verify(token)) == expected


@pytest.mark.parametrize(("salt", "secure"), V5_SALTS)
def test_v5_token_from_here_decodes_in_auth_core(
    node: NodeBridge, settings: Any, salt: str, secure: bool
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECURE_COOKIE = secure
    token = JWTAuth.create(SEED)
    decoded = node.call("v5.decode", token=token, secret=SECRET, salt=salt)
    assert decoded == without_id(JWTAuth.verify(token))


@pytest.mark.parametrize(("salt", "secure"), V5_SALTS)
def test_v5_salt_mismatch_is_refused_on_both_sides(
    node: NodeBridge, settings: Any, salt: str, secure: bool
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECURE_COOKIE = not secure
    theirs = node.call("v5.encode", token=NEXTAUTH_SHAPE, secret=SECRET, salt=salt)
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(theirs)
    with pytest.raises(NodeError, match="no matching decryption secret"):
        node.call("v5.decode", token=JWTAuth.create(SEED), secret=SECRET, salt=salt)


def test_v5_wrong_secret_is_refused_on_both_sides(node: NodeBridge, settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    salt = "authjs.session-token"
    theirs = node.call("v5.encode", token=NEXTAUTH_SHAPE, secret=OTHER_SECRET, salt=salt)
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(theirs)
    with pytest.raises(NodeError):
        node.call("v5.decode", token=JWTAuth.create(SEED), secret=OTHER_SECRET, salt=salt)


def test_v5_secret_list_rotation_in_both_directions(node: NodeBridge, settings: Any) -> None:
    salt = "authjs.session-token"
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECRET = [OTHER_SECRET, SECRET]  # new first, old still accepted
    # Theirs, minted before the rotation with the old secret, and after it with the list.
    before = node.call("v5.encode", token=NEXTAUTH_SHAPE, secret=SECRET, salt=salt)
    after = node.call("v5.encode", token=NEXTAUTH_SHAPE, secret=[OTHER_SECRET, SECRET], salt=salt)
    assert JWTAuth.verify(before)["sub"] == JWTAuth.verify(after)["sub"] == "user-1"
    # Ours, minted with the new secret: @auth/core with the list, or the new secret alone.
    ours = JWTAuth.create(SEED)
    for secret in ([OTHER_SECRET, SECRET], OTHER_SECRET):
        assert node.call("v5.decode", token=ours, secret=secret, salt=salt)["sub"] == "user-1"
    with pytest.raises(NodeError):
        node.call("v5.decode", token=ours, secret=SECRET, salt=salt)
    # Once the old secret is dropped, tokens minted with it are refused.
    settings.NEXTAUTH_SECRET = OTHER_SECRET
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(before)
    assert JWTAuth.verify(after)["sub"] == "user-1"


def test_v5_kid_is_the_same_thumbprint_auth_core_writes(node: NodeBridge, settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    salt = "authjs.session-token"
    theirs = node.call("v5.encode", token=NEXTAUTH_SHAPE, secret=SECRET, salt=salt)
    header_theirs = node.call("jose.decodeProtectedHeader", token=theirs)
    header_ours = node.call("jose.decodeProtectedHeader", token=JWTAuth.create(SEED))
    assert header_ours == header_theirs
    assert len(header_ours["kid"]) == 86


# --------------------------------------------------------------------------- #
# jws (HS256 hooks, stock libraries)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_jws_from_here_verifies_in_jose(node: NodeBridge, settings: Any, alg: str) -> None:
    settings.NEXTAUTH_JWS_ALGORITHM = alg
    settings.NEXTAUTH_ISSUER = "https://auth.example.com"
    settings.NEXTAUTH_AUDIENCE = "mesh"
    token = JWTAuth.create(SEED)
    payload = node.call(
        "jose.verify",
        token=token,
        secret=SECRET,
        alg=alg,
        issuer="https://auth.example.com",
        audience="mesh",
    )
    assert payload == without_id(JWTAuth.verify(token))


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_jws_from_jose_verifies_here(node: NodeBridge, settings: Any, alg: str) -> None:
    settings.NEXTAUTH_JWS_ALGORITHM = alg
    # A session begun a minute ago (a fixed past iat would pass NEXTAUTH_SESSION_MAX_LIFETIME).
    iat = int(time.time()) - 60
    claims = {**NEXTAUTH_SHAPE, "role": "admin", "exp": 4_000_000_000, "iat": iat}
    token = node.call("jose.sign", claims=claims, secret=SECRET, alg=alg)
    assert without_id(JWTAuth.verify(token)) == claims


def test_jws_wrong_secret_is_refused_on_both_sides(node: NodeBridge) -> None:
    claims = {**NEXTAUTH_SHAPE, "exp": 4_000_000_000}
    theirs = node.call("jose.sign", claims=claims, secret=OTHER_SECRET)
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(theirs)
    with pytest.raises(NodeError, match="JWSSignatureVerificationFailed"):
        node.call("jose.verify", token=JWTAuth.create(SEED), secret=OTHER_SECRET)


def test_jws_rotation_verifies_tokens_from_either_secret(node: NodeBridge, settings: Any) -> None:
    settings.NEXTAUTH_SECRET = [OTHER_SECRET, SECRET]
    claims = {**NEXTAUTH_SHAPE, "exp": 4_000_000_000}
    for secret in (SECRET, OTHER_SECRET):
        assert JWTAuth.verify(node.call("jose.sign", claims=claims, secret=secret))
    assert node.call("jose.verify", token=JWTAuth.create(SEED), secret=OTHER_SECRET)
