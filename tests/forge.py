"""Build tokens with arbitrary headers and payloads, independently of the app's encoder.

The app's own encoder never produces a hostile token; these helpers do, with
the ``cryptography`` primitives directly, so tests can craft what an attacker
(or a buggy peer) would send.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET = "test-secret-0123456789-abcdefghijklmnop"
OTHER_SECRET = "other-secret-9876543210-zyxwvutsrqponm"
V5_SALT = "authjs.session-token"


def b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def js(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")))


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "42",
        "email": "ada@example.com",
        "name": "Ada",
        "role": "admin",
        "iat": now,
        "exp": now + 3600,
        "jti": "00000000-0000-4000-8000-000000000000",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not ...}


def jws(
    payload: Any,
    secret: str = SECRET,
    *,
    alg: str = "HS256",
    header: dict[str, Any] | None = None,
    raw_payload: str | None = None,
) -> str:
    head = js(header if header is not None else {"alg": alg, "typ": "JWT"})
    body = raw_payload if raw_payload is not None else js(payload)
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    sig = hmac.digest(secret.encode(), f"{head}.{body}".encode(), digest)
    return f"{head}.{body}.{b64(sig)}"


def v4_key(secret: str = SECRET) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"", info=b"NextAuth.js Generated Encryption Key"
    ).derive(secret.encode())


def v4(
    payload: Any,
    secret: str = SECRET,
    *,
    header: dict[str, Any] | None = None,
    plaintext: bytes | None = None,
    key: bytes | None = None,
) -> str:
    head = js(header if header is not None else {"alg": "dir", "enc": "A256GCM"})
    iv = os.urandom(12)
    data = plaintext if plaintext is not None else json.dumps(payload).encode()
    sealed = AESGCM(key or v4_key(secret)).encrypt(iv, data, head.encode())
    return ".".join((head, "", b64(iv), b64(sealed[:-16]), b64(sealed[-16:])))


def v5_key(secret: str = SECRET, salt: str = V5_SALT) -> bytes:
    info = f"Auth.js Generated Encryption Key ({salt})".encode()
    return HKDF(algorithm=hashes.SHA256(), length=64, salt=salt.encode(), info=info).derive(
        secret.encode()
    )


def thumbprint(key: bytes) -> str:
    jwk = json.dumps({"k": b64(key), "kty": "oct"}, separators=(",", ":"))
    return b64(hashlib.sha512(jwk.encode()).digest())


def v5(
    payload: Any,
    secret: str = SECRET,
    *,
    salt: str = V5_SALT,
    header: dict[str, Any] | None = None,
    plaintext: bytes | None = None,
    pad: bool = True,
) -> str:
    key = v5_key(secret, salt)
    if header is None:
        header = {"alg": "dir", "enc": "A256CBC-HS512", "kid": thumbprint(key)}
    head = js(header)
    iv = os.urandom(16)
    data = plaintext if plaintext is not None else json.dumps(payload).encode()
    if pad:
        padder = padding.PKCS7(128).padder()
        data = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(key[32:]), modes.CBC(iv)).encryptor()
    ct = enc.update(data) + enc.finalize()
    aad = head.encode()
    tag = hmac.digest(key[:32], aad + iv + ct + (len(aad) * 8).to_bytes(8, "big"), "sha512")[:32]
    return ".".join((head, "", b64(iv), b64(ct), b64(tag)))


# --------------------------------------------------------------------------- #
# Added for the attack suite (tests/security): more hostile shapes.
# --------------------------------------------------------------------------- #


def unb64(segment: str) -> bytes:
    """Decode an unpadded base64url segment (lenient: for taking tokens apart in tests)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def unsigned(header: dict[str, Any], payload: Any) -> str:
    """A JWS with an empty signature segment, as ``alg: none`` sends it."""
    return f"{js(header)}.{js(payload)}."


def hmac_jws(header: dict[str, Any], payload: Any, key: bytes, digest: str = "sha256") -> str:
    """A JWS with any header, HMAC-signed with raw ``key`` bytes under ``digest``."""
    signing_input = f"{js(header)}.{js(payload)}"
    sig = hmac.digest(key, signing_input.encode(), digest)
    return f"{signing_input}.{b64(sig)}"


def compact(*segments: bytes | str) -> str:
    """Join raw segments (bytes are base64url-encoded, text is taken as is) with dots."""
    return ".".join(s if isinstance(s, str) else b64(s) for s in segments)


def jwe_parts(token: str) -> tuple[str, bytes, bytes, bytes, bytes]:
    """``(protected header segment, encrypted key, iv, ciphertext, tag)`` of a compact JWE."""
    head, key, iv, ct, tag = token.split(".")
    return head, unb64(key), unb64(iv), unb64(ct), unb64(tag)


def v4_salted_key(secret: str, salt: str) -> bytes:
    """next-auth >= 4.24.5's key for its OAuth check cookies: salt = the cookie's name."""
    info = f"NextAuth.js Generated Encryption Key ({salt})".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt.encode(), info=info).derive(
        secret.encode()
    )


def gcm_jwe(
    header: dict[str, Any], plaintext: bytes, key: bytes, *, encrypted_key: bytes = b""
) -> str:
    """A ``dir``-style AES-GCM JWE with any header, plaintext and 16/24/32-byte key."""
    head = js(header)
    iv = os.urandom(12)
    sealed = AESGCM(key).encrypt(iv, plaintext, head.encode())
    return ".".join((head, b64(encrypted_key), b64(iv), b64(sealed[:-16]), b64(sealed[-16:])))


def cbc_hs512_tag(key: bytes, head: str, iv: bytes, ct: bytes) -> bytes:
    """The A256CBC-HS512 tag for (header segment, iv, ciphertext) under the 64-byte ``key``."""
    aad = head.encode()
    mac_input = aad + iv + ct + (len(aad) * 8).to_bytes(8, "big")
    return hmac.digest(key[:32], mac_input, "sha512")[:32]


def cbc_padding_variant(token: str, key: bytes, *, valid_padding: bool) -> str:
    """``token`` (v5) with its IV or next-to-last block changed so that the last plaintext byte
    decrypts to ``0x01`` (valid padding) or ``0x00`` (invalid), leaving the tag as it was.

    Without the key an attacker cannot tell the two apart unless the server leaks it: the
    padding oracle. With the key, the test builds both on purpose.
    """
    head, _, iv, ct, tag = jwe_parts(token)
    dec = Cipher(algorithms.AES(key[32:]), modes.CBC(iv)).decryptor()
    plain = dec.update(ct) + dec.finalize()
    want = 0x01 if valid_padding else 0x00
    delta = plain[-1] ^ want
    prev = bytearray(iv if len(ct) == 16 else ct[-32:-16])
    prev[-1] ^= delta
    if len(ct) == 16:
        iv = bytes(prev)
    else:
        ct = ct[:-32] + bytes(prev) + ct[-16:]
    return ".".join((head, "", b64(iv), b64(ct), b64(tag)))


def raw_deflate(data: bytes) -> bytes:
    """``data`` compressed as JWE ``zip: DEF`` (raw DEFLATE, RFC 1951)."""
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def rsa_public_pem() -> str:
    """A fresh RSA public key in PEM, the classic 'public key as HMAC secret' ingredient."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def hs256_over(head: str, body: str, secret: str = SECRET) -> str:
    """A JWS from raw header and payload segments (any bytes inside), HS256 with ``secret``."""
    sig = hmac.digest(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64(sig)}"


# -- key pairs (jws-asymmetric) -------------------------------------------------------------- #

ASYMMETRIC_ALGS = ("EdDSA", "ES256", "RS256")


@functools.cache
def private_key(alg: str, n: int = 0) -> Any:
    """Test key number ``n`` for ``alg`` (the same within a process; RSA keys are made once)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    seed = hashlib.sha256(f"forge-{alg}-{n}".encode()).digest()
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    if alg == "ES256":
        return ec.derive_private_key(int.from_bytes(seed, "big") % (2**255), ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(alg: str, n: int = 0) -> str:
    """Test key ``n`` for ``alg`` as an unencrypted PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization

    return str(
        private_key(alg, n)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_pem(alg: str, n: int = 0) -> str:
    """Test key ``n`` for ``alg``'s public half as SubjectPublicKeyInfo PEM."""
    from cryptography.hazmat.primitives import serialization

    return str(
        private_key(alg, n)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def asym_sign(alg: str, data: bytes, key: Any) -> bytes:
    """A JOSE signature with ``cryptography`` directly (raw r||s for ES256)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if alg == "EdDSA":
        return bytes(key.sign(data))
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return bytes(key.sign(data, asym_padding.PKCS1v15(), hashes.SHA256()))


def asym_jws(
    payload: Any,
    alg: str = "EdDSA",
    *,
    n: int = 0,
    kid: str | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    """A JWS signed by test key ``n`` of ``alg`` (``header`` replaces the default one)."""
    head = js(header if header is not None else {"alg": alg, "typ": "JWT", "kid": kid})
    if header is None and kid is None:
        head = js({"alg": alg, "typ": "JWT"})
    body = js(payload)
    signature = asym_sign(alg, f"{head}.{body}".encode(), private_key(alg, n))
    return f"{head}.{body}.{b64(signature)}"
