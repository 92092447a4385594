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
import os
import re
import threading
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

from django_nextauth_jwt import revocation
from django_nextauth_jwt.conf import (
    FORMAT_AUTHJS_V5,
    FORMAT_JWS,
    FORMAT_NEXTAUTH_V4,
    FORMATS,
    JWS_ALGORITHMS,
    app_settings,
    derived,
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
_COMPACT = re.compile(r"[A-Za-z0-9_.-]*")
# bytes.translate is an order of magnitude faster than str.translate.
_B64_TRANSLATE = bytes.maketrans(b"-_", b"+/")
_B64_TRANSLATE_BACK = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")
# Characters whose unused low bits are zero, for the last character of an
# unpadded group of 2 (4 spare bits) or 3 (2 spare bits): the canonical forms.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


# --------------------------------------------------------------------------- #
# Strict compact-serialization helpers
# --------------------------------------------------------------------------- #


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as JOSE requires."""
    encoded = binascii.b2a_base64(data, newline=False).translate(_B64_TRANSLATE_BACK)
    return encoded.rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """Decode unpadded, canonical base64url; anything else is ``TokenMalformed``."""
    if not _B64URL.fullmatch(value):
        raise TokenMalformed()
    return _unb64(value)


def _unb64(value: str) -> bytes:
    # The caller has checked the alphabet (for a whole token, once, in _split).
    rem = len(value) % 4
    if rem == 1:
        raise TokenMalformed()
    if rem and value[-1] not in _CANONICAL_LAST[rem]:
        raise TokenMalformed()
    try:
        raw = value.encode("ascii").translate(_B64_TRANSLATE) + _PADDING[rem]
        return binascii.a2b_base64(raw, strict_mode=True)
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


# Built once: json.loads with keyword arguments builds a new decoder per call.
_JSON = json.JSONDecoder(parse_constant=_reject_constant)
_JSON_UNIQUE = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_object)


def _json_object(data: bytes, *, unique: bool = False) -> dict[str, Any]:
    try:
        # Strict UTF-8 first: json.loads(bytes) would also take UTF-16/32 and a BOM.
        value = (_JSON_UNIQUE if unique else _JSON).decode(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # ValueError covers UnicodeDecodeError and JSONDecodeError.
        raise TokenMalformed() from exc
    if not isinstance(value, dict):
        raise TokenMalformed()
    return value


@functools.lru_cache(maxsize=64)
def _parse_header(segment: str) -> dict[str, Any]:
    # Every token from one issuer carries the same protected header, so parsing
    # it once is worth a cache; a flood of distinct headers only cycles 64 slots.
    # Callers must not mutate the result.
    return _json_object(_unb64(segment), unique=True)


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _split(token: object, max_length: int) -> list[str]:
    if not isinstance(token, str) or not token:
        raise TokenMissing() if not token else TokenMalformed()
    if len(token) > max_length:
        raise TokenMalformed("Token is too large.")
    if not _COMPACT.fullmatch(token):
        raise TokenMalformed()
    parts = token.split(".")
    count = len(parts)
    # Only a JWE's encrypted-key segment may be empty (and must be, for "dir").
    if count == 3:
        if "" in parts:
            raise TokenMalformed()
    elif count != 5 or not (parts[0] and parts[2] and parts[3] and parts[4]):
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
    jwk = f'{{"k":"{b64url_encode(key)}","kty":"oct"}}'
    return b64url_encode(hashlib.sha512(jwk.encode()).digest())


@functools.lru_cache(maxsize=32)
def _v5_keyring(secrets: tuple[str, ...], salt: str) -> dict[str, bytes]:
    # kid -> key, in secret order (dicts keep insertion order).
    ring: dict[str, bytes] = {}
    for secret in secrets:
        key = _v5_key(secret, salt)
        ring.setdefault(jwk_thumbprint(key), key)
    return ring


@dataclass(frozen=True, slots=True)
class Policy:
    """Every setting verification and minting need, validated and frozen.

    Built at first use and rebuilt after any ``NEXTAUTH_*`` ``setting_changed``
    (``override_settings``, the pytest-django ``settings`` fixture): reading a
    dozen settings per request costs more than verifying an HMAC.
    """

    secrets: tuple[str, ...]
    mint_format: str
    accepted_formats: frozenset[str]
    jws_algorithm: str
    max_age: int
    leeway: int
    issuer: str | None
    audience: str | None
    max_token_length: int
    v5_salt: str
    revocation: bool
    revocation_cache: str
    revocation_fail_open: bool


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ImproperlyConfigured(message)


@derived
def policy() -> Policy:
    """The current :class:`Policy`; ``ImproperlyConfigured`` if the settings cannot work.

    Cached per settings object (see :class:`~django_nextauth_jwt.conf.derived`).
    """
    s = app_settings
    secrets = s.SECRETS
    _require(
        bool(secrets),
        "NEXTAUTH_SECRET is not set: set it (a string or a list of strings) or the "
        "NEXTAUTH_SECRET / AUTH_SECRET / JWT_SECRET environment variable.",
    )
    known = ", ".join(FORMATS)
    _require(s.JWT_FORMAT in FORMATS, f"NEXTAUTH_JWT_FORMAT must be one of {known}.")
    accepted = s.ACCEPTED_FORMATS
    _require(
        all(f in FORMATS for f in accepted), f"NEXTAUTH_ACCEPTED_FORMATS may list only {known}."
    )
    _require(
        s.JWS_ALGORITHM in JWS_ALGORITHMS,
        f"NEXTAUTH_JWS_ALGORITHM must be one of {', '.join(JWS_ALGORITHMS)}.",
    )
    return Policy(
        secrets=secrets,
        mint_format=s.JWT_FORMAT,
        accepted_formats=frozenset(accepted),
        jws_algorithm=s.JWS_ALGORITHM,
        max_age=s.MAX_AGE,
        leeway=s.LEEWAY,
        issuer=s.ISSUER,
        audience=s.AUDIENCE,
        max_token_length=s.MAX_TOKEN_LENGTH,
        v5_salt=s.V5_SALT,
        revocation=s.REVOCATION,
        revocation_cache=s.REVOCATION_CACHE,
        revocation_fail_open=s.REVOCATION_FAIL_OPEN,
    )


def clear_caches() -> None:
    """Forget the policy and every derived key (on any ``NEXTAUTH_*`` setting change)."""
    policy.cache_clear()
    _parse_header.cache_clear()
    _v4_cipher.cache_clear()
    _v5_key.cache_clear()
    _v5_keyring.cache_clear()


# --------------------------------------------------------------------------- #
# Decoding
# --------------------------------------------------------------------------- #


def _decode_jws(parts: list[str], header: dict[str, Any], pol: Policy) -> dict[str, Any]:
    alg = pol.jws_algorithm
    if header.get("alg") != alg or not header.keys() <= _JWS_HEADER_KEYS:
        raise TokenUnsupported()
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise TokenUnsupported()
    if "kid" in header and not isinstance(header["kid"], str):
        raise TokenUnsupported()
    signature = _unb64(parts[2])
    if len(signature) != _JWS_SIG_LENGTHS[alg]:
        raise InvalidToken()
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    digest = _JWS_DIGESTS[alg]
    for secret in pol.secrets:
        if hmac.compare_digest(hmac.digest(secret.encode(), signing_input, digest), signature):
            return _json_object(_unb64(parts[1]))
    raise InvalidToken()


def _jwe_segments(parts: list[str], iv_len: int, tag_len: int) -> tuple[bytes, bytes, bytes]:
    if parts[1]:
        # "dir" has no encrypted key: a non-empty one is a different algorithm in disguise.
        raise TokenUnsupported()
    iv = _unb64(parts[2])
    ciphertext = _unb64(parts[3])
    tag = _unb64(parts[4])
    if len(iv) != iv_len or len(tag) != tag_len:
        raise TokenMalformed()
    return iv, ciphertext, tag


def _decode_v4(parts: list[str], header: dict[str, Any], pol: Policy) -> dict[str, Any]:
    if header != V4_HEADER:
        raise TokenUnsupported()
    iv, ciphertext, tag = _jwe_segments(parts, 12, 16)
    aad = parts[0].encode("ascii")
    for secret in pol.secrets:
        try:
            plaintext = _v4_cipher(secret).decrypt(iv, ciphertext + tag, aad)
        except InvalidTag:
            continue
        return _json_object(plaintext)
    raise InvalidToken()


_contexts = threading.local()


def _cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """AES-256-CBC decryption, by its definition: P_i = D_K(C_i) XOR C_(i-1), C_0 = IV.

    Building a cipher context per call costs more than the decryption itself,
    and a CBC context cannot be reused across IVs; the block decryption (ECB,
    stateless across whole blocks) can, one context per thread and key.
    """
    cache: dict[bytes, Any] = _contexts.__dict__.setdefault("ecb", {})
    ecb = cache.get(key)
    if ecb is None:
        if len(cache) >= 8:
            cache.clear()
        ecb = cache[key] = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305
    blocks = ecb.update(ciphertext)
    chained = iv + ciphertext[:-16]
    plain = int.from_bytes(blocks, "big") ^ int.from_bytes(chained, "big")
    return plain.to_bytes(len(ciphertext), "big")


def _decode_v5(parts: list[str], header: dict[str, Any], pol: Policy) -> dict[str, Any]:
    if header.get("alg") != "dir" or header.get("enc") != V5_ENC:
        raise TokenUnsupported()
    if not header.keys() <= _V5_HEADER_KEYS:
        raise TokenUnsupported()
    iv, ciphertext, tag = _jwe_segments(parts, 16, 32)
    if not ciphertext or len(ciphertext) % 16:
        raise TokenMalformed()
    ring = _v5_keyring(pol.secrets, pol.v5_salt)
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
    padded = _cbc_decrypt(key[32:], iv, ciphertext)
    # PKCS#7. The MAC already passed, so this is no oracle: only a buggy encoder
    # gets here with bad padding.
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes((pad,)) * pad:
        raise InvalidToken()
    return _json_object(padded[:-pad])


_DECODERS: dict[str, Callable[[list[str], dict[str, Any], Policy], dict[str, Any]]] = {
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


def decode(token: str, *, pol: Policy | None = None) -> dict[str, Any]:
    """Verify or decrypt ``token`` and return its raw payload, claims not yet validated.

    Raises a subclass of :class:`~django_nextauth_jwt.exceptions.InvalidToken`.
    """
    pol = pol or policy()
    parts = _split(token, pol.max_token_length)
    header = _parse_header(parts[0])
    fmt = _format_of(parts, header)
    if fmt not in pol.accepted_formats:
        raise TokenUnsupported()
    return _DECODERS[fmt](parts, header, pol)


# --------------------------------------------------------------------------- #
# Claims
# --------------------------------------------------------------------------- #


_MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


def _int_claim(payload: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    value = payload.get(name)
    if value is None:
        if required or name in payload:
            raise TokenClaimsInvalid()
        return None
    # bool is an int in Python; floats, strings, NaN and Infinity are refused, and
    # so are times past year 9999, which no date type can show.
    if type(value) is not int or abs(value) > _MAX_TIMESTAMP:
        raise TokenClaimsInvalid()
    return value


def validate_claims(
    payload: Mapping[str, Any], *, now: int | None = None, pol: Policy | None = None
) -> Claims:
    """Check ``exp`` (required), ``nbf``, ``iat``, ``sub``, ``iss`` and ``aud``.

    Returns a copy of the claims with ``id`` set to ``sub``, the shape the
    seed's ``JWTAuth.verify`` returned.
    """
    return _validated(dict(payload), now=now, pol=pol or policy())


def _validated(payload: dict[str, Any], *, now: int | None, pol: Policy) -> Claims:
    # Works in place: the payload is a dict decode() has just built.
    now = int(time.time()) if now is None else now
    leeway = pol.leeway
    exp = _int_claim(payload, "exp", required=True)
    if exp is None or exp <= now - leeway:
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
    issuer = pol.issuer
    if issuer is not None and payload.get("iss") != issuer:
        raise TokenClaimsInvalid()
    audience = pol.audience
    if audience is not None:
        aud = payload.get("aud")
        if isinstance(aud, list):
            if audience not in aud or not all(isinstance(a, str) for a in aud):
                raise TokenClaimsInvalid()
        elif aud != audience:
            raise TokenClaimsInvalid()
    payload["id"] = sub
    return payload


# --------------------------------------------------------------------------- #
# Encoding
# --------------------------------------------------------------------------- #


def _encode_jws(payload: Mapping[str, Any], pol: Policy) -> str:
    alg, secret = pol.jws_algorithm, pol.secrets[0]
    header = b64url_encode(_json_bytes({"alg": alg, "typ": "JWT"}))
    body = b64url_encode(_json_bytes(payload))
    signing_input = f"{header}.{body}"
    signature = hmac.digest(secret.encode(), signing_input.encode("ascii"), _JWS_DIGESTS[alg])
    return f"{signing_input}.{b64url_encode(signature)}"


def _encode_v4(payload: Mapping[str, Any], pol: Policy) -> str:
    header = b64url_encode(_json_bytes(V4_HEADER))
    iv = os.urandom(12)
    sealed = _v4_cipher(pol.secrets[0]).encrypt(iv, _json_bytes(payload), header.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join((header, "", b64url_encode(iv), b64url_encode(ciphertext), b64url_encode(tag)))


def _encode_v5(payload: Mapping[str, Any], pol: Policy) -> str:
    key = _v5_key(pol.secrets[0], pol.v5_salt)
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


_ENCODERS: dict[str, Callable[[Mapping[str, Any], Policy], str]] = {
    FORMAT_JWS: _encode_jws,
    FORMAT_NEXTAUTH_V4: _encode_v4,
    FORMAT_AUTHJS_V5: _encode_v5,
}


def build_payload(claims: Mapping[str, Any], *, max_age: int | None = None) -> Claims:
    """The payload ``create`` signs: ``sub`` from ``id``, then ``iat``, ``exp``, ``jti``.

    ``iss`` and ``aud`` are set from settings when configured.
    """
    payload = {k: v for k, v in claims.items() if k != "id"}
    user_id = claims.get("id", claims.get("sub"))
    if "id" in claims and "sub" in claims and str(claims["sub"]) != str(claims["id"]):
        raise ValueError("claims 'id' and 'sub' disagree")
    if user_id is None or user_id == "" or isinstance(user_id, bool):
        raise ValueError("claims need an 'id' (or 'sub')")
    payload["sub"] = str(user_id)
    pol = policy()
    now = int(time.time())
    lifetime = pol.max_age if max_age is None else max_age
    # Like NextAuth's encode: iat, exp and jti are always set here.
    payload["iat"] = now
    payload["exp"] = now + int(lifetime)
    payload["jti"] = str(uuid.uuid4())
    if pol.issuer is not None:
        payload["iss"] = pol.issuer
    if pol.audience is not None:
        payload["aud"] = pol.audience
    return payload


def encode(payload: Mapping[str, Any], *, format: str | None = None) -> str:
    """Sign or encrypt ``payload`` as it is, with the first configured secret."""
    pol = policy()
    fmt = format or pol.mint_format
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    return _ENCODERS[fmt](payload, pol)


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
        """Return the verified claims, with ``id`` = ``sub``, or raise ``InvalidToken``.

        With ``NEXTAUTH_REVOCATION`` (the default) a token signed out of is
        ``TokenRevoked``.
        """
        pol = policy()
        claims = _validated(decode(token, pol=pol), now=None, pol=pol)
        revocation.check(claims, token, pol)
        return claims

    @staticmethod
    def revoke(token: str) -> None:
        """Verify ``token`` and deny it until it expires (sign-out), wherever the cache is shared.

        A token that is already revoked is accepted here (revoking twice is
        harmless). Raises ``InvalidToken`` for a token that does not verify, and
        the cache backend's error when the deny-list cannot be written.
        """
        pol = policy()
        claims = _validated(decode(token, pol=pol), now=None, pol=pol)
        revocation.revoke(claims, token, pol=pol)

    @staticmethod
    def authenticate_token(token: str | None) -> AuthResult:
        """Verify ``token`` and resolve its user; failures come back as a result, not raised.

        Every refused token is a result. What escapes is what is no token's
        fault: ``ImproperlyConfigured`` (a missing secret is a deployment bug)
        and, in database mode, the database's own errors.
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
