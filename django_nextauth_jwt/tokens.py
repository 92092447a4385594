"""Encode and decode NextAuth session tokens in the three formats, and the ``JWTAuth`` facade.

Formats (see ``docs`` and the README):

* ``jws``: compact JWS signed with HMAC (HS256 by default), the form stock JWT
  libraries in every language verify with the shared secret;
* ``nextauth-v4``: next-auth 4's JWE, ``dir`` + ``A256GCM``, key from HKDF;
* ``authjs-v5``: @auth/core's JWE, ``dir`` + ``A256CBC-HS512``, key from HKDF
  salted with the session cookie name, ``kid`` = the key's JWK thumbprint.

A token's shape and protected header pick exactly one decoder; that decoder's
format must be in ``NEXTAUTH_ACCEPTED_FORMATS``. Header parameters are an
allow-list per format and ``alg``/``enc`` are pinned, all checked before any
cryptographic work. Keys are derived once per secret and cached.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt.conf import (
    FORMAT_AUTHJS_V5,
    FORMAT_JWS,
    FORMAT_NEXTAUTH_V4,
    FORMATS,
    JWS_ALGORITHMS,
    app_settings,
)
from django_nextauth_jwt.exceptions import (
    InvalidToken,
    NextAuthJWTError,
    TokenClaimsInvalid,
    TokenExpired,
    TokenMalformed,
    TokenMissing,
    TokenNotYetValid,
    TokenUnsupported,
)

__all__ = ["AuthResult", "JWTAuth", "decode", "encode", "validate_claims"]

Claims = dict[str, Any]

V4_INFO = b"NextAuth.js Generated Encryption Key"
V5_INFO_PREFIX = "Auth.js Generated Encryption Key ("
V4_HEADER = {"alg": "dir", "enc": "A256GCM"}
V5_ENC = "A256CBC-HS512"

_JWS_DIGESTS: dict[str, Callable[..., Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}
_JWS_SIG_LENGTHS = {"HS256": 32, "HS384": 48, "HS512": 64}

# Header parameters each format may carry. Anything else (crit, zip, jku, jwk,
# x5u, x5c, cty, b64, p2c, epk, ...) is refused: none is needed by NextAuth or
# by a stock HMAC signer, and every one of them has been an attack vector.
_JWS_HEADER_KEYS = frozenset({"alg", "typ", "kid"})
_V4_HEADER_KEYS = frozenset({"alg", "enc"})
_V5_HEADER_KEYS = frozenset({"alg", "enc", "kid"})

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64_TRANSLATE = str.maketrans("-_", "+/")
_B64_TRANSLATE_BACK = str.maketrans("+/", "-_")
# Characters whose unused low bits are zero, for the last character of an
# unpadded group of 2 (4 spare bits) or 3 (2 spare bits): the canonical forms.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


# --------------------------------------------------------------------------- #
# Strict compact-serialization helpers
# --------------------------------------------------------------------------- #


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as JOSE requires."""
    encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
    return encoded.translate(_B64_TRANSLATE_BACK).rstrip("=")


def b64url_decode(value: str) -> bytes:
    """Decode unpadded, canonical base64url; anything else is ``TokenMalformed``."""
    rem = len(value) % 4
    if rem == 1 or not _B64URL.fullmatch(value):
        raise TokenMalformed()
    if rem and value[-1] not in _CANONICAL_LAST[rem]:
        raise TokenMalformed()
    try:
        return binascii.a2b_base64(
            value.translate(_B64_TRANSLATE) + "=" * (-len(value) % 4), strict_mode=True
        )
    except binascii.Error as exc:  # pragma: no cover - the checks above catch it first
        raise TokenMalformed() from exc


def _reject_constant(name: str) -> None:
    # JSON has no NaN or Infinity; Python's parser would accept them.
    raise ValueError("non-standard JSON constant")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _json_object(data: bytes, *, unique: bool = False) -> dict[str, Any]:
    try:
        value = json.loads(
            data,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_object if unique else None,
        )
    except (ValueError, RecursionError) as exc:
        # ValueError covers UnicodeDecodeError and JSONDecodeError.
        raise TokenMalformed() from exc
    if not isinstance(value, dict):
        raise TokenMalformed()
    return value


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _split(token: object) -> list[str]:
    if not isinstance(token, str) or not token:
        raise TokenMissing() if not token else TokenMalformed()
    if len(token) > app_settings.MAX_TOKEN_LENGTH:
        raise TokenMalformed("Token is too large.")
    parts = token.split(".")
    if len(parts) not in (3, 5):
        raise TokenMalformed()
    return parts


# --------------------------------------------------------------------------- #
# Keys (derived once per secret, cached; cleared on setting_changed)
# --------------------------------------------------------------------------- #


def _hkdf(secret: str, *, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(
        secret.encode()
    )


@functools.lru_cache(maxsize=32)
def _v4_cipher(secret: str) -> AESGCM:
    return AESGCM(_hkdf(secret, salt=b"", info=V4_INFO, length=32))


@functools.lru_cache(maxsize=32)
def _v5_key(secret: str, salt: str) -> bytes:
    info = (V5_INFO_PREFIX + salt + ")").encode()
    return _hkdf(secret, salt=salt.encode(), info=info, length=64)


def jwk_thumbprint(key: bytes) -> str:
    """RFC 7638 SHA-512 thumbprint of an ``oct`` key, as @auth/core puts in ``kid``."""
    jwk = '{"k":"%s","kty":"oct"}' % b64url_encode(key)
    return b64url_encode(hashlib.sha512(jwk.encode()).digest())


@functools.lru_cache(maxsize=32)
def _v5_keyring(secrets: tuple[str, ...], salt: str) -> dict[str, bytes]:
    # kid -> key, in secret order (dicts keep insertion order).
    ring: dict[str, bytes] = {}
    for secret in secrets:
        key = _v5_key(secret, salt)
        ring.setdefault(jwk_thumbprint(key), key)
    return ring


def clear_key_caches() -> None:
    """Forget every derived key (called when a ``NEXTAUTH_*`` setting changes)."""
    _v4_cipher.cache_clear()
    _v5_key.cache_clear()
    _v5_keyring.cache_clear()


def _secrets() -> tuple[str, ...]:
    secrets = app_settings.SECRETS
    if not secrets:
        raise ImproperlyConfigured(
            "NEXTAUTH_SECRET is not set: set it (a string or a list of strings) or the "
            "NEXTAUTH_SECRET / AUTH_SECRET / JWT_SECRET environment variable."
        )
    return secrets


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ImproperlyConfigured(
            f"NEXTAUTH_JWT_FORMAT must be one of {', '.join(FORMATS)}."
        )
    return fmt


def _jws_algorithm() -> str:
    alg = app_settings.JWS_ALGORITHM
    if alg not in JWS_ALGORITHMS:
        raise ImproperlyConfigured(
            f"NEXTAUTH_JWS_ALGORITHM must be one of {', '.join(JWS_ALGORITHMS)}."
        )
    return alg


# --------------------------------------------------------------------------- #
# Decoding
# --------------------------------------------------------------------------- #


def _decode_jws(parts: list[str], header: dict[str, Any]) -> dict[str, Any]:
    alg = _jws_algorithm()
    if header.get("alg") != alg or not header.keys() <= _JWS_HEADER_KEYS:
        raise TokenUnsupported()
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise TokenUnsupported()
    if "kid" in header and not isinstance(header["kid"], str):
        raise TokenUnsupported()
    signature = b64url_decode(parts[2])
    if len(signature) != _JWS_SIG_LENGTHS[alg]:
        raise InvalidToken()
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    digest = _JWS_DIGESTS[alg]
    for secret in _secrets():
        if hmac.compare_digest(hmac.digest(secret.encode(), signing_input, digest), signature):
            return _json_object(b64url_decode(parts[1]))
    raise InvalidToken()


def _jwe_segments(parts: list[str], iv_len: int, tag_len: int) -> tuple[bytes, bytes, bytes]:
    if parts[1]:
        # "dir" has no encrypted key: a non-empty one is a different algorithm in disguise.
        raise TokenUnsupported()
    iv = b64url_decode(parts[2])
    ciphertext = b64url_decode(parts[3])
    tag = b64url_decode(parts[4])
    if len(iv) != iv_len or len(tag) != tag_len:
        raise TokenMalformed()
    return iv, ciphertext, tag


def _decode_v4(parts: list[str], header: dict[str, Any]) -> dict[str, Any]:
    if header != V4_HEADER:
        raise TokenUnsupported()
    iv, ciphertext, tag = _jwe_segments(parts, 12, 16)
    aad = parts[0].encode("ascii")
    for secret in _secrets():
        try:
            plaintext = _v4_cipher(secret).decrypt(iv, ciphertext + tag, aad)
        except InvalidTag:
            continue
        return _json_object(plaintext)
    raise InvalidToken()


def _decode_v5(parts: list[str], header: dict[str, Any]) -> dict[str, Any]:
    if header.get("alg") != "dir" or header.get("enc") != V5_ENC:
        raise TokenUnsupported()
    if not header.keys() <= _V5_HEADER_KEYS:
        raise TokenUnsupported()
    iv, ciphertext, tag = _jwe_segments(parts, 16, 32)
    if not ciphertext or len(ciphertext) % 16:
        raise TokenMalformed()
    ring = _v5_keyring(_secrets(), app_settings.V5_SALT)
    kid = header.get("kid")
    if kid is None:
        # @auth/core: a token without kid is tried with the first secret only.
        key = next(iter(ring.values()))
    elif isinstance(kid, str) and kid in ring:
        key = ring[kid]
    else:
        raise InvalidToken("No matching decryption secret.")
    aad = parts[0].encode("ascii")
    mac_input = aad + iv + ciphertext + (len(aad) * 8).to_bytes(8, "big")
    expected = hmac.digest(key[:32], mac_input, hashlib.sha512)[:32]
    # Authenticate before decrypting: no padding oracle, no work on forged data.
    if not hmac.compare_digest(expected, tag):
        raise InvalidToken()
    decryptor = Cipher(algorithms.AES(key[32:]), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:  # a valid MAC with bad padding: only a buggy encoder does this
        raise InvalidToken() from exc
    return _json_object(plaintext)


_DECODERS: dict[str, Callable[[list[str], dict[str, Any]], dict[str, Any]]] = {
    FORMAT_JWS: _decode_jws,
    FORMAT_NEXTAUTH_V4: _decode_v4,
    FORMAT_AUTHJS_V5: _decode_v5,
}


def _format_of(parts: list[str], header: dict[str, Any]) -> str:
    if len(parts) == 3:
        return FORMAT_JWS
    enc = header.get("enc")
    if enc == "A256GCM":
        return FORMAT_NEXTAUTH_V4
    if enc == V5_ENC:
        return FORMAT_AUTHJS_V5
    raise TokenUnsupported()


def decode(token: str) -> dict[str, Any]:
    """Verify or decrypt ``token`` and return its raw payload, claims not yet validated.

    Raises a subclass of :class:`~django_nextauth_jwt.exceptions.InvalidToken`.
    """
    parts = _split(token)
    header = _json_object(b64url_decode(parts[0]), unique=True)
    fmt = _format_of(parts, header)
    accepted = app_settings.ACCEPTED_FORMATS
    for name in accepted:
        _check_format(name)
    if fmt not in accepted:
        raise TokenUnsupported()
    return _DECODERS[fmt](parts, header)


# --------------------------------------------------------------------------- #
# Claims
# --------------------------------------------------------------------------- #


def _int_claim(payload: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    value = payload.get(name)
    if value is None:
        if required or name in payload:
            raise TokenClaimsInvalid()
        return None
    # bool is an int in Python; floats, strings, NaN and Infinity are refused.
    if type(value) is not int:
        raise TokenClaimsInvalid()
    return value


def validate_claims(payload: Mapping[str, Any], *, now: int | None = None) -> Claims:
    """Check ``exp`` (required), ``nbf``, ``iat``, ``sub``, ``iss`` and ``aud``.

    Returns the claims with ``id`` set to ``sub``, the shape the seed's
    ``JWTAuth.verify`` returned.
    """
    now = int(time.time()) if now is None else now
    leeway = app_settings.LEEWAY
    exp = _int_claim(payload, "exp", required=True)
    assert exp is not None
    if exp <= now - leeway:
        raise TokenExpired()
    nbf = _int_claim(payload, "nbf")
    if nbf is not None and nbf > now + leeway:
        raise TokenNotYetValid()
    iat = _int_claim(payload, "iat")
    if iat is not None and iat > now + leeway:
        raise TokenNotYetValid()
    sub = payload.get("sub")
    # A real session names its subject. Old NextAuth OAuth check cookies
    # ({"value", "provider"}) decrypt with the session key but carry no sub.
    if not isinstance(sub, str) or not sub:
        raise TokenClaimsInvalid()
    issuer = app_settings.ISSUER
    if issuer is not None and payload.get("iss") != issuer:
        raise TokenClaimsInvalid()
    audience = app_settings.AUDIENCE
    if audience is not None:
        aud = payload.get("aud")
        if isinstance(aud, list):
            if audience not in aud or not all(isinstance(a, str) for a in aud):
                raise TokenClaimsInvalid()
        elif aud != audience:
            raise TokenClaimsInvalid()
    claims = dict(payload)
    claims["id"] = sub
    return claims


# --------------------------------------------------------------------------- #
# Encoding
# --------------------------------------------------------------------------- #


def _encode_jws(payload: Mapping[str, Any], secret: str) -> str:
    alg = _jws_algorithm()
    header = b64url_encode(_json_bytes({"alg": alg, "typ": "JWT"}))
    body = b64url_encode(_json_bytes(payload))
    signing_input = f"{header}.{body}"
    signature = hmac.digest(secret.encode(), signing_input.encode("ascii"), _JWS_DIGESTS[alg])
    return f"{signing_input}.{b64url_encode(signature)}"


def _encode_v4(payload: Mapping[str, Any], secret: str) -> str:
    header = b64url_encode(_json_bytes(V4_HEADER))
    iv = os.urandom(12)
    sealed = _v4_cipher(secret).encrypt(iv, _json_bytes(payload), header.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join((header, "", b64url_encode(iv), b64url_encode(ciphertext), b64url_encode(tag)))


def _encode_v5(payload: Mapping[str, Any], secret: str) -> str:
    key = _v5_key(secret, app_settings.V5_SALT)
    protected = {"alg": "dir", "enc": V5_ENC, "kid": jwk_thumbprint(key)}
    header = b64url_encode(_json_bytes(protected))
    aad = header.encode("ascii")
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(_json_bytes(payload)) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key[32:]), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    mac_input = aad + iv + ciphertext + (len(aad) * 8).to_bytes(8, "big")
    tag = hmac.digest(key[:32], mac_input, hashlib.sha512)[:32]
    return ".".join((header, "", b64url_encode(iv), b64url_encode(ciphertext), b64url_encode(tag)))


_ENCODERS: dict[str, Callable[[Mapping[str, Any], str], str]] = {
    FORMAT_JWS: _encode_jws,
    FORMAT_NEXTAUTH_V4: _encode_v4,
    FORMAT_AUTHJS_V5: _encode_v5,
}


def build_payload(claims: Mapping[str, Any], *, max_age: int | None = None) -> Claims:
    """The payload ``create`` would sign: ``sub`` from ``id``, plus ``iat``/``exp``/``jti``/``iss``/``aud``."""
    payload = {k: v for k, v in claims.items() if k != "id"}
    user_id = claims.get("id", claims.get("sub"))
    if "id" in claims and "sub" in claims and str(claims["sub"]) != str(claims["id"]):
        raise ValueError("claims 'id' and 'sub' disagree")
    if user_id is None or user_id == "" or isinstance(user_id, bool):
        raise ValueError("claims need an 'id' (or 'sub')")
    payload["sub"] = str(user_id)
    now = int(time.time())
    lifetime = app_settings.MAX_AGE if max_age is None else max_age
    # Like NextAuth's encode: iat, exp and jti are always set here.
    payload["iat"] = now
    payload["exp"] = now + int(lifetime)
    payload["jti"] = str(uuid.uuid4())
    if app_settings.ISSUER is not None:
        payload["iss"] = app_settings.ISSUER
    if app_settings.AUDIENCE is not None:
        payload["aud"] = app_settings.AUDIENCE
    return payload


def encode(payload: Mapping[str, Any], *, format: str | None = None) -> str:
    """Sign or encrypt ``payload`` as it is, with the first configured secret."""
    fmt = _check_format(format or app_settings.JWT_FORMAT)
    return _ENCODERS[fmt](payload, _secrets()[0])


# --------------------------------------------------------------------------- #
# The facade
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The outcome of an authentication attempt; never an exception.

    ``success`` with ``user`` and ``claims``, or not, with ``error`` (a stable
    code such as ``token_expired``) and a safe ``message``.
    """

    success: bool
    user: Any = None
    claims: Claims | None = None
    error: str | None = None
    message: str | None = None
    exception: NextAuthJWTError | None = field(default=None, repr=False, compare=False)

    @classmethod
    def failure(cls, exc: NextAuthJWTError) -> AuthResult:
        """A failed result carrying ``exc``'s code and message."""
        return cls(success=False, error=exc.code, message=exc.message, exception=exc)


class JWTAuth:
    """The Python counterpart of the seed's TypeScript ``JWTAuth`` utility."""

    @staticmethod
    def create(
        claims: Mapping[str, Any], *, format: str | None = None, max_age: int | None = None
    ) -> str:
        """Mint a token for ``claims`` (``{"id", "email", "name", "role"}`` or with ``sub``).

        The token carries ``sub`` = id, ``iat``, ``exp`` (now + ``max_age``,
        default ``NEXTAUTH_MAX_AGE``), a random ``jti``, and ``iss``/``aud`` when
        configured, in ``format`` (default ``NEXTAUTH_JWT_FORMAT``).
        """
        return encode(build_payload(claims, max_age=max_age), format=format)

    @staticmethod
    def verify(token: str) -> Claims:
        """Return the verified claims, with ``id`` = ``sub``, or raise ``InvalidToken``."""
        return validate_claims(decode(token))

    @staticmethod
    def authenticate_token(token: str | None) -> AuthResult:
        """Verify ``token`` and resolve its user; failures come back as a result, not raised.

        ``ImproperlyConfigured`` is the one exception that escapes: a missing
        secret is a deployment bug, not a bad token.
        """
        if not token:
            return AuthResult.failure(TokenMissing())
        try:
            claims = JWTAuth.verify(token)
            from django_nextauth_jwt import users

            user = users.user_from_claims(claims)
        except InvalidToken as exc:
            return AuthResult.failure(exc)
        return AuthResult(success=True, user=user, claims=claims)
