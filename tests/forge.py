"""Build tokens with arbitrary headers and payloads, independently of the app's encoder.

The app's own encoder never produces a hostile token; these helpers do, with
the ``cryptography`` primitives directly, so tests can craft what an attacker
(or a buggy peer) would send.
"""

from __future__ import annotations

import base64
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
