"""The codec with explicit inputs: no settings, no Django, nothing but a Keyring.

Tokens are built by ``tests.forge`` (independent of the encoder under test) or
by the codec itself for round trips; the real NextAuth packages are in
``tests/test_interop.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import pytest

from django_nextauth_jwt.exceptions import (
    InvalidToken,
    TokenMalformed,
    TokenMissing,
    TokenUnsupported,
)
from django_nextauth_jwt.jose import codec, jwk
from django_nextauth_jwt.jose.formats import FORMATS
from tests import forge

SIGNING = jwk.load_signing_key(forge.private_pem("EdDSA"))
OTHER_SIGNING = jwk.load_signing_key(forge.private_pem("EdDSA", 1))
KEYS = codec.Keyring(
    [forge.SECRET], signing_keys=[SIGNING], public_keys=jwk.KeySet([SIGNING.public])
)
ROTATED = codec.Keyring(
    [forge.OTHER_SECRET, forge.SECRET],
    signing_keys=[OTHER_SIGNING, SIGNING],
    public_keys=jwk.KeySet([OTHER_SIGNING.public, SIGNING.public]),
)
PAYLOAD = {"sub": "42", "email": "ada@example.com", "exp": 4_000_000_000}


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_in_every_format(fmt: str) -> None:
    token = codec.encode(PAYLOAD, KEYS, format=fmt)
    assert codec.format_of(token) == fmt
    assert codec.decode(token, KEYS) == PAYLOAD


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_rotated_keyring_reads_tokens_of_its_older_secret(fmt: str) -> None:
    old = codec.encode(PAYLOAD, KEYS, format=fmt)
    assert codec.decode(old, ROTATED) == PAYLOAD


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_keyring_without_the_signing_secret_refuses(fmt: str) -> None:
    token = codec.encode(PAYLOAD, ROTATED, format=fmt)
    with pytest.raises(InvalidToken) as caught:
        codec.decode(token, KEYS)
    assert caught.type is InvalidToken


def test_forge_built_tokens_decode_in_every_format() -> None:
    payload = forge.claims()
    assert codec.decode(forge.jws(payload), KEYS) == payload
    assert codec.decode(forge.v4(payload), KEYS) == payload
    assert codec.decode(forge.v5(payload), KEYS) == payload


@pytest.mark.parametrize("fmt", FORMATS)
def test_formats_outside_the_allow_list_are_unsupported(fmt: str) -> None:
    token = codec.encode(PAYLOAD, KEYS, format=fmt)
    others = [f for f in FORMATS if f != fmt]
    with pytest.raises(TokenUnsupported):
        codec.decode(token, KEYS, formats=others)


def test_the_jws_algorithm_is_pinned_by_the_caller() -> None:
    token = codec.encode(PAYLOAD, KEYS, format="jws", jws_algorithm="HS512")
    with pytest.raises(TokenUnsupported):
        codec.decode(token, KEYS)
    assert codec.decode(token, KEYS, jws_algorithm="HS512") == PAYLOAD


def test_unknown_algorithms_and_formats_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="jws_algorithm"):
        codec.decode(forge.jws(PAYLOAD), KEYS, jws_algorithm="none")
    with pytest.raises(ValueError, match="format"):
        codec.encode(PAYLOAD, KEYS, format="jwe")
    with pytest.raises(ValueError, match="jws_algorithm"):
        codec.encode(PAYLOAD, KEYS, format="jws", jws_algorithm="RS256")


def test_v5_kid_is_the_thumbprint_of_the_derived_key() -> None:
    token = codec.encode(PAYLOAD, KEYS, format="authjs-v5")
    header = codec._parse_header(token.split(".")[0])
    assert header["kid"] == codec.jwk_thumbprint(forge.v5_key())
    assert list(KEYS.v5_keys) == [header["kid"]]


def test_v5_salt_is_part_of_the_key() -> None:
    secure = codec.Keyring([forge.SECRET], v5_salt="__Secure-authjs.session-token")
    token = codec.encode(PAYLOAD, secure, format="authjs-v5")
    with pytest.raises(InvalidToken, match="No matching decryption secret"):
        codec.decode(token, KEYS)
    assert codec.decode(token, secure) == PAYLOAD


def test_v5_token_without_kid_is_tried_with_the_first_secret_only() -> None:
    token = forge.v5(PAYLOAD, header={"alg": "dir", "enc": "A256CBC-HS512"})
    assert codec.decode(token, KEYS) == PAYLOAD
    with pytest.raises(InvalidToken):
        codec.decode(token, ROTATED)


def test_keys_are_derived_once_per_keyring() -> None:
    keys = codec.Keyring([forge.SECRET, forge.OTHER_SECRET])
    before = codec.derivation_count()
    for _ in range(3):
        codec.decode(codec.encode(PAYLOAD, keys, format="nextauth-v4"), keys)
        codec.decode(codec.encode(PAYLOAD, keys, format="authjs-v5"), keys)
    assert codec.derivation_count() - before == 4  # two secrets, two JWE formats
    codec.decode(codec.encode(PAYLOAD, keys, format="jws"), keys)
    assert codec.derivation_count() - before == 4  # HMAC keys need no derivation


@pytest.mark.parametrize("secrets", [[], "a-secret-as-a-bare-string", [""], ["ok", 1]])
def test_a_keyring_needs_non_empty_string_secrets(secrets: object) -> None:
    with pytest.raises(ValueError, match="secret"):
        codec.Keyring(secrets)  # type: ignore[arg-type]


def test_a_keyring_repr_shows_no_secret() -> None:
    text = repr(ROTATED)
    assert forge.SECRET not in text
    assert forge.OTHER_SECRET not in text
    assert "secrets=2" in text
    assert "PRIVATE" not in text


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("", TokenMissing),
        ("a.b", TokenMalformed),
        ("a..c", TokenMalformed),
        ("a.b.c.d", TokenMalformed),
        ("a b.c.d", TokenMalformed),
        ("x" * 40000, TokenMalformed),
    ],
)
def test_malformed_shapes_are_refused_before_any_key_is_used(
    token: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        codec.decode(token, KEYS)


def test_the_size_limit_is_the_callers() -> None:
    token = codec.encode(PAYLOAD, KEYS, format="jws")
    with pytest.raises(TokenMalformed, match="too large"):
        codec.decode(token, KEYS, max_length=len(token) - 1)
    assert codec.decode(token, KEYS, max_length=len(token)) == PAYLOAD


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "typ": "JWT", "jku": "https://attacker.example/keys"},
        {"alg": "HS256", "crit": ["exp"]},
        {"alg": "none"},
        {"alg": "HS256", "typ": "JOSE+JSON"},
        {"alg": "HS256", "kid": 7},
    ],
)
def test_jws_headers_outside_the_allow_list_are_unsupported(header: dict[str, object]) -> None:
    with pytest.raises(TokenUnsupported):
        codec.decode(forge.jws(PAYLOAD, header=header), KEYS)


def test_format_of_reads_the_shape_and_header_only() -> None:
    assert codec.format_of(forge.jws(PAYLOAD, forge.OTHER_SECRET)) == "jws"
    assert codec.format_of(forge.asym_jws(PAYLOAD, "ES256")) == "jws-asymmetric"
    assert codec.format_of(forge.v4(PAYLOAD, forge.OTHER_SECRET)) == "nextauth-v4"
    assert codec.format_of(forge.v5(PAYLOAD, forge.OTHER_SECRET)) == "authjs-v5"
    weird = forge.compact(forge.js({"alg": "dir", "enc": "A128GCM"}), "", "aa", "bb", "cc")
    with pytest.raises(TokenUnsupported):
        codec.format_of(weird)


def test_b64url_is_unpadded_and_canonical() -> None:
    assert codec.b64url_encode(b"\xff\xfe") == "__4"
    assert codec.b64url_decode("__4") == b"\xff\xfe"
    for bad in ("__5", "__4=", "_+4", "A"):
        with pytest.raises(TokenMalformed):
            codec.b64url_decode(bad)


@pytest.mark.parametrize("size", [0, 1, 111, 112, 127, 128, 129, 300, 5000])
def test_the_prepared_v5_mac_is_hmac_sha512(size: int) -> None:

    for key in (bytes(32), os.urandom(32), b"\xff" * 32):
        data = os.urandom(size)
        assert codec._MacKey(key).digest(data) == hmac.digest(key, data, hashlib.sha512)


@pytest.mark.parametrize("hash", [hashlib.sha256, hashlib.sha384, hashlib.sha512])
@pytest.mark.parametrize("key_size", [1, 32, 63, 64, 65, 127, 128, 129, 300])
def test_the_prepared_jws_mac_is_hmac_for_every_key_length(hash: Any, key_size: int) -> None:
    # Keys longer than the hash's block (64 bytes for SHA-256, 128 for SHA-384/512) are
    # hashed first (RFC 2104); a secret is any string of at least 32 bytes.
    key = os.urandom(key_size)
    for size in (0, 55, 56, 64, 300):
        data = os.urandom(size)
        assert codec._MacKey(key, hash).digest(data) == hmac.digest(key, data, hash)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_a_jws_under_a_long_secret_verifies_with_the_prepared_mac(alg: str) -> None:
    # A 100-character secret: longer than SHA-256's block, shorter than SHA-512's.
    secrets = ["s" * 100, "t" * 200]
    for secret in secrets:
        token = codec.encode({"sub": "1"}, codec.Keyring([secret]), format="jws", jws_algorithm=alg)
        keys = codec.Keyring(["other-secret-of-thirty-two-bytes!!", *secrets])
        assert codec.decode(token, keys, jws_algorithm=alg) == {"sub": "1"}
        with pytest.raises(InvalidToken):
            codec.decode(token, codec.Keyring([secret + "x"]), jws_algorithm=alg)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":1}',
        b' {"a":1}',
        b'{"a":1} ',
        b'\n{"a":[1,{"b":null}]}\t',
        b'{"a":1}{"b":2}',
        b'{"a":1} x',
        b"[1]",
        b'"x"',
        b"",
        b" ",
        b"{",
        b'{"a":NaN}',
        b'{"a":1,"a":2}',
    ],
)
def test_json_objects_read_as_json_decode_reads_them(text: bytes) -> None:

    for unique in (False, True):
        try:
            expected: object = json.loads(text.decode(), parse_constant=codec._reject_constant)
            if unique:
                json.loads(text.decode(), object_pairs_hook=codec._unique_object)
        except ValueError:
            expected = TokenMalformed
        if not isinstance(expected, dict):
            expected = TokenMalformed
        if expected is TokenMalformed:
            with pytest.raises(TokenMalformed):
                codec._json_object(text, unique=unique)
        else:
            assert codec._json_object(text, unique=unique) == expected
