"""One token, one spelling: every second encoding of an authentic signature, tag or segment.

A deny-list entry for a token without ``sid`` or ``jti`` names what its signer signed (see
``state/revocation.py``); that holds only if nothing else about a token can be spelled twice
and still verify. Per algorithm, what the codec (and OpenSSL under ``cryptography``) does:

* HS256/384/512: deterministic, the length exact, base64url canonical: one form.
* EdDSA: ``S`` and ``S + L`` (``L`` the group order) would verify on a lax verifier; a
  non-canonical ``S`` is refused.
* RS256: PKCS#1 v1.5 is deterministic; ``s + n`` (when it fits) and a longer or shorter
  spelling of ``s`` are refused.
* ES256: ``(r, s)`` and ``(r, n - s)`` both verify, and both are accepted (peers emit either);
  ``s + n`` is refused. The deny-list's name is the signing input, so the pair shares it.
* The JWE formats: IV and tag lengths exact, the encrypted key empty, the header bound as AAD.

No Django here, as in the rest of ``tests/codec``.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

from django_nextauth_jwt.exceptions import InvalidToken, TokenMalformed, TokenUnsupported
from django_nextauth_jwt.jose import codec, jwk
from tests import forge
from tests.codec.test_codec_edges import twins

PAYLOAD = {"sub": "42", "exp": 4_000_000_000}
#: The order of P-256's base point, and of Ed25519's prime-order subgroup.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_L = 2**252 + 27742317777372353535851937790883648493


def keyring(*public: jwk.PublicKey) -> codec.Keyring:
    return codec.Keyring([forge.SECRET], public_keys=jwk.KeySet(public))


def asymmetric(alg: str) -> tuple[str, codec.Keyring]:
    """A token signed by test key 0 of ``alg``, and the keyring that verifies it."""
    key = jwk.load_public_key(forge.public_pem(alg))
    return forge.asym_jws(PAYLOAD, alg), keyring(key)


def with_signature(token: str, signature: bytes) -> str:
    head, body, _ = token.split(".")
    return f"{head}.{body}.{forge.b64(signature)}"


# --------------------------------------------------------------------------- #
# ES256: the pair that verifies, and the scalars that must not
# --------------------------------------------------------------------------- #


def test_es256_both_signatures_of_one_signing_input_verify() -> None:
    # Refusing high-S would refuse about half of jose's (and Better Auth's) ES256 tokens.
    token, keys = asymmetric("ES256")
    raw = forge.unb64(token.split(".")[2])
    s = int.from_bytes(raw[32:], "big")
    twin = with_signature(token, raw[:32] + (P256_N - s).to_bytes(32, "big"))
    assert codec.decode(token, keys) == codec.decode(twin, keys) == PAYLOAD


def _es256_key_signing_with_s_one(signing_input: bytes) -> tuple[jwk.PublicKey, int]:
    """A P-256 key for which ``(r, 1)`` is a valid signature of ``signing_input``, and ``r``.

    ECDSA: ``s = k^-1 (z + r d) mod n``. Pick the nonce ``k``, so ``r``; solve for ``d`` with
    ``s = 1``. Then ``1 + n`` still fits 32 bytes: the spelling a verifier reducing mod ``n``
    would take.
    """
    k = 0x1234567890ABCDEF
    r = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers().x % P256_N
    z = int.from_bytes(hashlib.sha256(signing_input).digest(), "big")
    d = ((k - z) * pow(r, -1, P256_N)) % P256_N
    private = ec.derive_private_key(d, ec.SECP256R1())
    return jwk.PublicKey(private.public_key()), r


def test_es256_scalar_plus_the_order_is_refused() -> None:
    head = forge.js({"alg": "ES256", "typ": "JWT"})
    body = forge.js(PAYLOAD)
    public, r = _es256_key_signing_with_s_one(f"{head}.{body}".encode())
    keys = keyring(public)
    spelled = r.to_bytes(32, "big")
    token = f"{head}.{body}.{forge.b64(spelled + (1).to_bytes(32, 'big'))}"
    assert codec.decode(token, keys) == PAYLOAD  # the construction is right
    high = f"{head}.{body}.{forge.b64(spelled + (P256_N - 1).to_bytes(32, 'big'))}"
    assert codec.decode(high, keys) == PAYLOAD  # the one twin that verifies
    for s in (1 + P256_N, 0, P256_N):
        forged = f"{head}.{body}.{forge.b64(spelled + s.to_bytes(32, 'big'))}"
        with pytest.raises(InvalidToken):
            codec.decode(forged, keys)


# --------------------------------------------------------------------------- #
# EdDSA and RS256: one signature each
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("multiple", [1, 2, 3])
def test_ed25519_non_canonical_s_is_refused(multiple: int) -> None:
    token, keys = asymmetric("EdDSA")
    raw = forge.unb64(token.split(".")[2])
    s = int.from_bytes(raw[32:], "little")
    assert codec.decode(token, keys) == PAYLOAD
    twin = with_signature(token, raw[:32] + (s + multiple * ED25519_L).to_bytes(32, "little"))
    with pytest.raises(InvalidToken):
        codec.decode(twin, keys)


def test_rs256_signature_plus_the_modulus_is_refused() -> None:
    private = forge.private_key("RS256")
    public = jwk.PublicKey(private.public_key())
    n = private.public_key().public_numbers().n
    size = (n.bit_length() + 7) // 8
    head = forge.js({"alg": "RS256", "typ": "JWT"})
    # Find a payload whose signature s leaves room for s + n in the same number of bytes.
    for i in range(5000):
        body = forge.js({**PAYLOAD, "n": i})
        signature = private.sign(
            f"{head}.{body}".encode(), asym_padding.PKCS1v15(), hashes.SHA256()
        )
        s = int.from_bytes(signature, "big")
        if s + n < 2 ** (8 * size):
            break
    else:
        pytest.fail("no signature with room for s + n")
    keys = keyring(public)
    assert codec.decode(f"{head}.{body}.{forge.b64(signature)}", keys)["n"] == i
    forged = f"{head}.{body}.{forge.b64((s + n).to_bytes(size, 'big'))}"
    with pytest.raises(InvalidToken):
        codec.decode(forged, keys)


@pytest.mark.parametrize("alg", forge.ASYMMETRIC_ALGS)
def test_an_asymmetric_signature_spelled_longer_or_shorter_is_refused(alg: str) -> None:
    # A leading zero byte added (the same integer for RSA and ECDSA), or one byte dropped.
    token, keys = asymmetric(alg)
    raw = forge.unb64(token.split(".")[2])
    for spelled in (b"\0" + raw, raw + b"\0", raw[:-1], raw[1:]):
        with pytest.raises(InvalidToken):
            codec.decode(with_signature(token, spelled), keys)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_an_hmac_signature_spelled_longer_or_shorter_is_refused(alg: str) -> None:
    keys = codec.Keyring([forge.SECRET])
    token = forge.jws(PAYLOAD, alg=alg)
    assert codec.decode(token, keys, jws_algorithm=alg) == PAYLOAD
    raw = forge.unb64(token.split(".")[2])
    for spelled in (b"\0" + raw, raw + b"\0", raw[:-1]):
        with pytest.raises(InvalidToken):
            codec.decode(with_signature(token, spelled), keys, jws_algorithm=alg)


# --------------------------------------------------------------------------- #
# Every segment of every format: no second base64url spelling
# --------------------------------------------------------------------------- #


def _tokens() -> list[tuple[str, str, codec.Keyring, str]]:
    symmetric = codec.Keyring([forge.SECRET])
    found = [
        (f"jws-{alg}", forge.jws(PAYLOAD, alg=alg), symmetric, alg)
        for alg in ("HS256", "HS384", "HS512")
    ]
    found += [
        ("nextauth-v4", forge.v4(PAYLOAD), symmetric, "HS256"),
        ("authjs-v5", forge.v5(PAYLOAD), symmetric, "HS256"),
    ]
    for alg in forge.ASYMMETRIC_ALGS:
        token, keys = asymmetric(alg)
        found.append((f"jws-asymmetric-{alg}", token, keys, "HS256"))
    return found


@pytest.mark.parametrize(("name", "token", "keys", "alg"), _tokens(), ids=lambda v: str(v)[:24])
def test_every_segment_of_every_format_has_one_spelling(
    name: str, token: str, keys: codec.Keyring, alg: str
) -> None:
    assert codec.decode(token, keys, jws_algorithm=alg) == PAYLOAD
    parts = token.split(".")
    checked = 0
    for index, segment in enumerate(parts):
        if len(segment) % 4 == 0:
            continue  # whole base64 groups: no spare bits, no other spelling
        for twin in twins(segment):
            forged = ".".join([*parts[:index], twin, *parts[index + 1 :]])
            with pytest.raises(TokenMalformed):
                codec.decode(forged, keys, jws_algorithm=alg)
            checked += 1
    assert checked, name  # every format has a segment with spare bits


# --------------------------------------------------------------------------- #
# The JWE formats: lengths exact, no encrypted key, the header bound
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("fmt", ["nextauth-v4", "authjs-v5"])
def test_a_jwe_tag_or_iv_of_another_length_is_refused(fmt: str) -> None:
    keys = codec.Keyring([forge.SECRET])
    token = forge.v4(PAYLOAD) if fmt == "nextauth-v4" else forge.v5(PAYLOAD)
    parts = token.split(".")
    for index in (2, 4):  # the IV, the tag
        raw = forge.unb64(parts[index])
        for spelled in (raw + b"\0", raw[:-1], b"\0" + raw):
            forged = ".".join([*parts[:index], forge.b64(spelled), *parts[index + 1 :]])
            with pytest.raises((TokenMalformed, InvalidToken)):
                codec.decode(forged, keys)


@pytest.mark.parametrize("fmt", ["nextauth-v4", "authjs-v5"])
def test_a_jwe_with_an_encrypted_key_is_refused(fmt: str) -> None:
    keys = codec.Keyring([forge.SECRET])
    token = forge.v4(PAYLOAD) if fmt == "nextauth-v4" else forge.v5(PAYLOAD)
    parts = token.split(".")
    for key in ("AA", forge.b64(b"\0" * 32)):
        with pytest.raises(TokenUnsupported):
            codec.decode(".".join([parts[0], key, *parts[2:]]), keys)


@pytest.mark.parametrize("fmt", ["nextauth-v4", "authjs-v5"])
def test_a_jwe_header_spelled_otherwise_is_refused(fmt: str) -> None:
    # The same header JSON with other whitespace or key order: the same meaning, other AAD.
    keys = codec.Keyring([forge.SECRET])
    token = forge.v4(PAYLOAD) if fmt == "nextauth-v4" else forge.v5(PAYLOAD)
    parts = token.split(".")
    header = json.loads(forge.unb64(parts[0]))
    for text in (json.dumps(header), json.dumps(dict(reversed(header.items())))):
        with pytest.raises(InvalidToken):
            codec.decode(".".join([forge.b64(text), *parts[1:]]), keys)
