"""The token formats, with no Django in sight: parse, derive keys, encode, decode.

* ``jws``: compact JWS signed with HMAC (HS256 by default), the form stock JWT
  libraries in every language verify with the shared secret;
* ``nextauth-v4``: next-auth 4's JWE, ``dir`` + ``A256GCM``, key from HKDF;
* ``authjs-v5``: @auth/core's JWE, ``dir`` + ``A256CBC-HS512``, key from HKDF
  salted with the session cookie name, ``kid`` = the key's JWK thumbprint;
* ``jws-asymmetric``: compact JWS signed with a private key (EdDSA, ES256, RS256,
  see :mod:`~django_nextauth_jwt.jose.jwk`), verified with public keys chosen by
  ``kid``, each key verifying only under the algorithm its type gives.

Every input is explicit: a :class:`Keyring` (the secrets, the v5 salt, the
signing keys and where verification keys come from), the
allowed formats, the HMAC algorithm, the size limit. A token's shape and
protected header pick exactly one decoder, and that decoder's format must be
allowed; header parameters are an allow-list per format and ``alg``/``enc`` are
pinned, all checked before any cryptographic work. Claims are not validated
here (see :mod:`~django_nextauth_jwt.claims`).

This module imports neither Django nor DRF (an import-linter contract says so):
it can be used, tested and benchmarked bare.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from django_nextauth_jwt.exceptions import (
    InvalidToken,
    TokenClaimsInvalid,
    TokenMalformed,
    TokenMissing,
    TokenUnsupported,
)
from django_nextauth_jwt.jose.formats import (
    ASYMMETRIC_ALGORITHMS,
    FORMAT_AUTHJS_V5,
    FORMAT_JWS,
    FORMAT_JWS_ASYMMETRIC,
    FORMAT_NEXTAUTH_V4,
    FORMATS,
    JWS_ALGORITHMS,
)
from django_nextauth_jwt.jose.jwk import (
    MAX_KID_LENGTH,
    KeySource,
    SigningKey,
    b64url_decode,
    b64url_encode,
)
from django_nextauth_jwt.jose.jwk import unb64 as _unb64

__all__ = [
    "DEFAULT_MAX_TOKEN_LENGTH",
    "MAX_PAYLOAD_DEPTH",
    "Keyring",
    "b64url_decode",
    "b64url_encode",
    "decode",
    "derivation_count",
    "encode",
    "format_of",
    "jwk_thumbprint",
    "v5_info",
]

Payload = dict[str, Any]

DEFAULT_MAX_TOKEN_LENGTH = 32768

#: The deepest nesting of objects and arrays a payload may have (the top object is depth 1).
MAX_PAYLOAD_DEPTH = 16

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
_V5_HEADER_KEYS = frozenset({"alg", "enc", "kid"})


# --------------------------------------------------------------------------- #
# Strict compact-serialization helpers
# --------------------------------------------------------------------------- #


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
# Their scanners: decode() is one of these calls plus two whitespace matches.
_SCANNERS: dict[bool, Callable[[str, int], tuple[Any, int]]] = {
    False: _JSON.scan_once,  # type: ignore[attr-defined]
    True: _JSON_UNIQUE.scan_once,  # type: ignore[attr-defined]
}


def _json_object(data: bytes, *, unique: bool = False) -> dict[str, Any]:
    decoder = _JSON_UNIQUE if unique else _JSON
    try:
        # Strict UTF-8 first: json.loads(bytes) would also take UTF-16/32 and a BOM.
        text = data.decode("utf-8")
        # The scanner alone, when it reads the whole text from its first character, is
        # what decode() returns, without decode()'s two whitespace matches; anything else
        # (surrounding whitespace, trailing data, no JSON value at 0) goes through decode().
        try:
            value, end = _SCANNERS[unique](text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            value = decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        # ValueError covers UnicodeDecodeError and JSONDecodeError.
        raise TokenMalformed() from exc
    if not isinstance(value, dict):
        raise TokenMalformed()
    return value


def _renderable(value: Any, depth: int) -> bool:
    """No lone surrogate in any string or key, and no nesting deeper than the limit."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return depth < MAX_PAYLOAD_DEPTH and all(
            _renderable(k, depth) and _renderable(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list):
        return depth < MAX_PAYLOAD_DEPTH and all(_renderable(v, depth + 1) for v in value)
    return True


def _payload(data: bytes) -> dict[str, Any]:
    """A payload object whose every string is valid Unicode, nested at most 16 deep.

    JSON's ``\\ud800`` escapes give lone surrogates that no database, log or
    response encoder takes; deep nesting costs every consumer. Both are refused
    here, at verification, rather than as a 500 later. The text tells cheaply
    when the walk can be skipped: no escape, few brackets.
    """
    payload = _json_object(data)
    brackets = data.count(b"{") + data.count(b"[")
    if (b"\\u" in data or brackets > MAX_PAYLOAD_DEPTH) and not _renderable(payload, 0):
        raise TokenClaimsInvalid()
    return payload


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
    if not token.isascii():
        # The alphabet of every segment is checked as it is decoded (jwk.unb64); ASCII here
        # keeps the signing input and the AAD, taken from the text, exactly the bytes sent.
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
# Keys
# --------------------------------------------------------------------------- #

_derivations = 0


def derivation_count() -> int:
    """How many HKDF derivations this process has run (the benchmark shows it stays flat)."""
    return _derivations


def _hkdf(secret: str, *, salt: bytes, info: bytes, length: int) -> bytes:
    global _derivations  # noqa: PLW0603 - a statistic, not state
    _derivations += 1
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(
        secret.encode()
    )


def v5_info(salt: str) -> bytes:
    """The HKDF ``info`` of Auth.js v5 keys for ``salt`` (the session cookie name)."""
    return (V5_INFO_PREFIX + salt + ")").encode()


def jwk_thumbprint(key: bytes) -> str:
    """RFC 7638 SHA-512 thumbprint of an ``oct`` key, as @auth/core puts in ``kid``."""
    jwk = f'{{"k":"{b64url_encode(key)}","kty":"oct"}}'
    return b64url_encode(hashlib.sha512(jwk.encode()).digest())


class Keyring:
    """The keys of one configuration: the first secret signs and encrypts, every one verifies.

    Each format's keys are derived on first use and kept for the keyring's
    life; a new list of secrets is a new keyring. ``v5_salt`` is Auth.js v5's
    salt, the session cookie name (``authjs.session-token`` by default).

    For ``jws-asymmetric``: ``signing_keys`` (the first signs) and
    ``public_keys``, where verification keys are looked up (a static
    :class:`~django_nextauth_jwt.jose.jwk.KeySet` or a JWKS client). A keyring with
    only asymmetric keys has no secrets, and the symmetric formats refuse
    every token under it.
    """

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        v5_salt: str = "authjs.session-token",
        signing_keys: Sequence[SigningKey] = (),
        public_keys: KeySource | None = None,
    ) -> None:
        if isinstance(secrets, str):
            raise ValueError("secrets must be a sequence of strings")
        if not secrets and not (signing_keys or public_keys is not None):
            raise ValueError("secrets must be a non-empty sequence of strings")
        if not all(isinstance(s, str) and s for s in secrets):
            raise ValueError("every secret must be a non-empty string")
        self.secrets: tuple[str, ...] = tuple(secrets)
        self.v5_salt = v5_salt
        self.hmac_keys: tuple[bytes, ...] = tuple(s.encode() for s in self.secrets)
        self._jws_macs: dict[str, tuple[_MacKey, ...]] = {}
        self.signing_keys: tuple[SigningKey, ...] = tuple(signing_keys)
        self.public_keys = public_keys

    def __repr__(self) -> str:
        # Never let a secret reach a log line through a repr.
        return (
            f"<Keyring secrets={len(self.secrets)} v5_salt={self.v5_salt!r} "
            f"signing_keys={len(self.signing_keys)}>"
        )

    def _first_secret(self) -> str:
        if not self.secrets:
            raise ValueError("this format needs a secret, and the keyring has none")
        return self.secrets[0]

    def jws_macs(self, alg: str) -> tuple[_MacKey, ...]:
        """The HMAC keys that verify ``jws`` tokens under ``alg``, one per secret, in order."""
        found = self._jws_macs.get(alg)
        if found is None:
            digest = _JWS_DIGESTS[alg]
            found = self._jws_macs[alg] = tuple(_MacKey(key, digest) for key in self.hmac_keys)
        return found

    @functools.cached_property
    def v4_ciphers(self) -> tuple[AESGCM, ...]:
        """next-auth 4's AES-256-GCM ciphers, one per secret (HKDF, empty salt)."""
        return tuple(
            AESGCM(_hkdf(secret, salt=b"", info=V4_INFO, length=32)) for secret in self.secrets
        )

    @functools.cached_property
    def v5_keys(self) -> dict[str, bytes]:
        """Auth.js v5's 64-byte keys by ``kid`` (their thumbprint), in secret order."""
        ring: dict[str, bytes] = {}
        info = v5_info(self.v5_salt)
        for secret in self.secrets:
            key = _hkdf(secret, salt=self.v5_salt.encode(), info=info, length=64)
            ring.setdefault(jwk_thumbprint(key), key)
        return ring

    @functools.cached_property
    def v5_signing_key(self) -> tuple[str, bytes]:
        """The ``kid`` and key that encrypt new v5 tokens: the first secret's."""
        self._first_secret()
        return next(iter(self.v5_keys.items()))

    @functools.cached_property
    def v5_decryption_keys(self) -> dict[str | None, tuple[_MacKey, bytes]]:
        """The MAC key and AES key of each v5 key by ``kid``; ``None``: the first secret's."""
        ring: dict[str | None, tuple[_MacKey, bytes]] = {
            kid: (_MacKey(key[:32]), key[32:]) for kid, key in self.v5_keys.items()
        }
        ring[None] = ring[self.v5_signing_key[0]]
        return ring


_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


class _MacKey:
    """HMAC (RFC 2104) over a SHA-2 hash, the key's two padded blocks hashed once, not per token.

    ``hmac.digest`` derives them on every call, and that is half of its cost on a
    session-sized message; copying the two prepared hash states is not.
    """

    __slots__ = ("inner", "outer")

    def __init__(self, key: bytes, hash: Callable[..., Any] = hashlib.sha512) -> None:
        block_size = hash().block_size  # 64 for SHA-256, 128 for SHA-384 and SHA-512
        if len(key) > block_size:
            key = hash(key).digest()  # RFC 2104: a key longer than a block is hashed first
        block = key.ljust(block_size, b"\0")
        self.inner = hash(block.translate(_IPAD))
        self.outer = hash(block.translate(_OPAD))

    def __repr__(self) -> str:
        return "<_MacKey>"

    def digest(self, data: bytes) -> bytes:
        inner = self.inner.copy()
        inner.update(data)
        outer = self.outer.copy()
        outer.update(inner.digest())
        mac: bytes = outer.digest()
        return mac


# --------------------------------------------------------------------------- #
# Decoding
# --------------------------------------------------------------------------- #


def _decode_jws(
    parts: list[str], header: dict[str, Any], keys: Keyring, alg: str
) -> dict[str, Any]:
    if header.get("alg") != alg or not header.keys() <= _JWS_HEADER_KEYS:
        raise TokenUnsupported()
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise TokenUnsupported()
    if "kid" in header and not isinstance(header["kid"], str):
        raise TokenUnsupported()
    # Both segments decoded (their alphabet checked) before any key is tried: a segment that
    # is not base64url is malformed whatever the signature.
    body = _unb64(parts[1])
    signature = _unb64(parts[2])
    if len(signature) != _JWS_SIG_LENGTHS[alg]:
        raise InvalidToken()
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    for key in keys.jws_macs(alg):
        if hmac.compare_digest(key.digest(signing_input), signature):
            return _payload(body)
    raise InvalidToken()


def _decode_jws_asymmetric(
    parts: list[str], header: dict[str, Any], keys: Keyring, alg: str
) -> dict[str, Any]:
    # The header's alg only narrows the search: a key verifies under the one
    # algorithm its type gives, so no token picks how its signature is checked.
    token_alg = header["alg"]
    if not header.keys() <= _JWS_HEADER_KEYS:
        raise TokenUnsupported()
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise TokenUnsupported()
    kid = header.get("kid")
    if "kid" in header and (not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH):
        raise TokenUnsupported()
    source = keys.public_keys
    if source is None:
        raise TokenUnsupported()
    body = _unb64(parts[1])
    signature = _unb64(parts[2])
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    candidates = source.candidates(kid, token_alg)
    if not candidates:
        raise InvalidToken("No matching verification key.")
    for key in candidates:
        if key.alg == token_alg and key.verify(signature, signing_input):
            return _payload(body)
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


def _decode_v4(parts: list[str], header: dict[str, Any], keys: Keyring, alg: str) -> dict[str, Any]:
    if header != V4_HEADER:
        raise TokenUnsupported()
    if parts[1]:
        raise TokenUnsupported()  # "dir" has no encrypted key (see _jwe_segments)
    # A 12-byte IV is exactly 16 characters, whole base64 groups: IV and ciphertext decode
    # as one segment (the same bytes, the same checks, one call fewer).
    if len(parts[2]) != 16:
        raise TokenMalformed()
    sealed = _unb64(parts[2] + parts[3])
    tag = _unb64(parts[4])
    if len(tag) != 16:
        raise TokenMalformed()
    iv, ciphertext = sealed[:12], sealed[12:]
    aad = parts[0].encode("ascii")
    for cipher in keys.v4_ciphers:
        try:
            plaintext = cipher.decrypt(iv, ciphertext + tag, aad)
        except InvalidTag:
            continue
        return _payload(plaintext)
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


def _v5_mac(key: bytes, aad: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    mac_input = aad + iv + ciphertext + (len(aad) * 8).to_bytes(8, "big")
    return hmac.digest(key[:32], mac_input, hashlib.sha512)[:32]


def _decode_v5(parts: list[str], header: dict[str, Any], keys: Keyring, alg: str) -> dict[str, Any]:
    if header.get("alg") != "dir" or header.get("enc") != V5_ENC:
        raise TokenUnsupported()
    if not header.keys() <= _V5_HEADER_KEYS:
        raise TokenUnsupported()
    iv, ciphertext, tag = _jwe_segments(parts, 16, 32)
    if not ciphertext or len(ciphertext) % 16:
        raise TokenMalformed()
    if not keys.secrets:
        raise InvalidToken()
    kid = header.get("kid")
    # @auth/core: a token without kid is tried with the first secret only (the None entry).
    entry = keys.v5_decryption_keys.get(kid) if kid is None or isinstance(kid, str) else None
    if entry is None:
        raise InvalidToken("No matching decryption secret.")
    return _payload(_open_cbc_hs512(entry, parts[0], iv, ciphertext, tag))


def _open_cbc_hs512(
    keys: tuple[_MacKey, bytes], head: str, iv: bytes, ciphertext: bytes, tag: bytes
) -> bytes:
    """The plaintext of an ``A256CBC-HS512`` JWE (``dir``): the tag checked, then decrypted.

    ``keys`` is the MAC key and the AES key; ``head`` the protected header as it came (the
    additional authenticated data). Raises ``InvalidToken`` for a wrong tag or padding. Auth.js
    v5 and Better Auth's cookie cache both write this.
    """
    mac_key, aes_key = keys
    aad = head.encode("ascii")
    mac = mac_key.digest(aad + iv + ciphertext + (len(aad) * 8).to_bytes(8, "big"))
    # Authenticate before decrypting: no padding oracle, no work on forged data.
    if not hmac.compare_digest(mac[:32], tag):
        raise InvalidToken()
    padded = _cbc_decrypt(aes_key, iv, ciphertext)
    # PKCS#7. The MAC already passed, so this is no oracle: only a buggy encoder
    # gets here with bad padding.
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes((pad,)) * pad:
        raise InvalidToken()
    return padded[:-pad]


_DECODERS: dict[str, Callable[[list[str], dict[str, Any], Keyring, str], dict[str, Any]]] = {
    FORMAT_JWS: _decode_jws,
    FORMAT_NEXTAUTH_V4: _decode_v4,
    FORMAT_AUTHJS_V5: _decode_v5,
    FORMAT_JWS_ASYMMETRIC: _decode_jws_asymmetric,
}


def _format_of(parts: list[str], header: dict[str, Any]) -> str:
    if len(parts) == 3:
        return FORMAT_JWS_ASYMMETRIC if header.get("alg") in ASYMMETRIC_ALGORITHMS else FORMAT_JWS
    enc = header.get("enc")
    if enc == "A256GCM":
        return FORMAT_NEXTAUTH_V4
    if enc == V5_ENC:
        return FORMAT_AUTHJS_V5
    raise TokenUnsupported()


def format_of(token: str, *, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> str:
    """The format ``token``'s shape and protected header say it is; nothing is verified.

    Raises ``TokenMalformed`` or ``TokenUnsupported`` when it is none of the four.
    """
    parts = _split(token, max_length)
    return _format_of(parts, _parse_header(parts[0]))


def decode(
    token: str,
    keys: Keyring,
    *,
    formats: Collection[str] = FORMATS,
    jws_algorithm: str = "HS256",
    max_length: int = DEFAULT_MAX_TOKEN_LENGTH,
) -> Payload:
    """Verify or decrypt ``token`` with ``keys`` and return its payload, claims not validated.

    Only ``formats`` are accepted, ``jws`` tokens only with ``jws_algorithm``, and
    ``jws-asymmetric`` tokens only with a key from ``keys.public_keys`` that verifies
    under its own algorithm.
    Raises a subclass of :class:`~django_nextauth_jwt.exceptions.InvalidToken`.
    """
    if jws_algorithm not in _JWS_DIGESTS:
        raise ValueError(f"jws_algorithm must be one of {', '.join(JWS_ALGORITHMS)}")
    parts = _split(token, max_length)
    header = _parse_header(parts[0])
    fmt = _format_of(parts, header)
    if fmt not in formats:
        raise TokenUnsupported()
    return _DECODERS[fmt](parts, header, keys, jws_algorithm)


# --------------------------------------------------------------------------- #
# Encoding
# --------------------------------------------------------------------------- #


def _encode_jws(payload: Mapping[str, Any], keys: Keyring, alg: str) -> str:
    header = b64url_encode(_json_bytes({"alg": alg, "typ": "JWT"}))
    body = b64url_encode(_json_bytes(payload))
    signing_input = f"{header}.{body}"
    key = keys._first_secret().encode()
    signature = hmac.digest(key, signing_input.encode("ascii"), _JWS_DIGESTS[alg])
    return f"{signing_input}.{b64url_encode(signature)}"


def _encode_jws_asymmetric(payload: Mapping[str, Any], keys: Keyring, alg: str) -> str:
    if not keys.signing_keys:
        raise ValueError("jws-asymmetric needs a signing key, and the keyring has none")
    key = keys.signing_keys[0]
    signing_input = f"{key.header}.{b64url_encode(_json_bytes(payload))}"
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode('ascii')))}"


def _encode_v4(payload: Mapping[str, Any], keys: Keyring, alg: str) -> str:
    keys._first_secret()
    header = b64url_encode(_json_bytes(V4_HEADER))
    iv = os.urandom(12)
    sealed = keys.v4_ciphers[0].encrypt(iv, _json_bytes(payload), header.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join((header, "", b64url_encode(iv), b64url_encode(ciphertext), b64url_encode(tag)))


def _encode_v5(payload: Mapping[str, Any], keys: Keyring, alg: str) -> str:
    kid, key = keys.v5_signing_key
    header = b64url_encode(_json_bytes({"alg": "dir", "enc": V5_ENC, "kid": kid}))
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(_json_bytes(payload)) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key[32:]), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    tag = _v5_mac(key, header.encode("ascii"), iv, ciphertext)
    return ".".join((header, "", b64url_encode(iv), b64url_encode(ciphertext), b64url_encode(tag)))


_ENCODERS: dict[str, Callable[[Mapping[str, Any], Keyring, str], str]] = {
    FORMAT_JWS: _encode_jws,
    FORMAT_NEXTAUTH_V4: _encode_v4,
    FORMAT_AUTHJS_V5: _encode_v5,
    FORMAT_JWS_ASYMMETRIC: _encode_jws_asymmetric,
}


def encode(
    payload: Mapping[str, Any], keys: Keyring, *, format: str, jws_algorithm: str = "HS256"
) -> str:
    """Sign or encrypt ``payload`` as it is, in ``format``, with the keyring's first secret.

    ``jws-asymmetric`` signs with the keyring's first signing key, its ``kid`` in the header.
    """
    if format not in _ENCODERS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if jws_algorithm not in _JWS_DIGESTS:
        raise ValueError(f"jws_algorithm must be one of {', '.join(JWS_ALGORITHMS)}")
    return _ENCODERS[format](payload, keys, jws_algorithm)
