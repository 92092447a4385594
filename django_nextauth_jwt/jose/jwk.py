"""Asymmetric keys with no Django in sight: PEM and JWK loading, signatures, JWK Sets.

Three algorithms, each pinned by its key's type, never by a token:

* ``EdDSA``: an Ed25519 key (``kty`` ``OKP``, ``crv`` ``Ed25519``), Better Auth's default;
* ``ES256``: a P-256 key (``kty`` ``EC``), signatures as JOSE's raw ``r || s``;
* ``RS256``: an RSA key of 2048 to 8192 bits, PKCS#1 v1.5 with SHA-256.

A :class:`SigningKey` (private) signs and publishes its :class:`PublicKey`; a public key only
verifies, and only for its one algorithm. :func:`parse_jwks` reads a JWK Set strictly: a
document carrying any private or symmetric key material is refused whole (its publisher is
compromised or misconfigured), keys for other uses or algorithms are skipped, and sizes are
bounded. The base64url helpers the codec shares live here, below it.

This module imports neither Django nor DRF (an import-linter contract says so) and does no
I/O: fetching a JWK Set is :mod:`~django_nextauth_jwt.jose.jwks`'s job.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from django_nextauth_jwt.exceptions import TokenMalformed

__all__ = [
    "MAX_JWKS_KEYS",
    "MAX_KID_LENGTH",
    "KeySet",
    "KeySource",
    "PublicKey",
    "SigningKey",
    "b64url_decode",
    "b64url_encode",
    "jwks_document",
    "load_public_key",
    "load_signing_key",
    "parse_jwks",
    "thumbprint",
]

#: The most keys a JWK Set may hold; a longer one is refused (each key costs a parse).
MAX_JWKS_KEYS = 32
#: The longest ``kid`` accepted, in characters.
MAX_KID_LENGTH = 256
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192

# Members that only private or symmetric keys have (RFC 7518 6.2.2, 6.3.2, 6.4.1, RFC 8037).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

PublicKeyType = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKeyType = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


# --------------------------------------------------------------------------- #
# Strict base64url (shared with the codec)
# --------------------------------------------------------------------------- #

# bytes.translate is an order of magnitude faster than str.translate. Decoding maps base64url
# onto base64, and base64's own "+", "/" and "=" onto "*", which the strict decoder refuses
# like every other byte outside the alphabet: the decoder checks the alphabet itself.
_B64_TRANSLATE = bytes.maketrans(b"-_+/=", b"+/***")
_B64_TRANSLATE_BACK = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")
# Characters whose unused low bits are zero, for the last character of an
# unpadded group of 2 (4 spare bits) or 3 (2 spare bits): the canonical forms.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as JOSE requires."""
    encoded = binascii.b2a_base64(data, newline=False).translate(_B64_TRANSLATE_BACK)
    return encoded.rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """Decode unpadded, canonical base64url; anything else is ``TokenMalformed``."""
    return unb64(value)


def unb64(value: str) -> bytes:
    """Decode unpadded, canonical base64url; anything else is ``TokenMalformed``.

    Refused: a length of 4n+1, a last character with non-zero unused bits (a non-canonical
    twin of the same bytes), padding, whitespace, the standard alphabet's ``+`` and ``/``,
    and any other character outside ``A-Z a-z 0-9 - _``.
    """
    rem = len(value) % 4
    if rem == 1:
        raise TokenMalformed()
    if rem and value[-1] not in _CANONICAL_LAST[rem]:
        raise TokenMalformed()
    try:
        raw = value.encode("ascii").translate(_B64_TRANSLATE) + _PADDING[rem]
        return binascii.a2b_base64(raw, strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise TokenMalformed() from exc


# --------------------------------------------------------------------------- #
# Keys
# --------------------------------------------------------------------------- #


def _member(jwk: Mapping[str, Any], name: str, *, length: int | None = None) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"JWK member {name!r} is missing or not a string")
    try:
        raw = b64url_decode(value)
    except TokenMalformed:
        raise ValueError(f"JWK member {name!r} is not canonical base64url") from None
    if length is not None and len(raw) != length:
        raise ValueError(f"JWK member {name!r} has the wrong length")
    return raw


def _uint(jwk: Mapping[str, Any], name: str) -> int:
    return int.from_bytes(_member(jwk, name), "big")


def _uint_b64(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(size, "big"))


def _alg_of(key: PublicKeyType | PrivateKeyType) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("only P-256 EC keys (ES256) are supported")
        return "ES256"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
            raise ValueError(f"RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")
        return "RS256"
    raise ValueError("only Ed25519, P-256 and RSA keys are supported")


def _public_members(key: PublicKeyType) -> dict[str, str]:
    """The RFC 7638 required members of ``key``'s JWK (the thumbprint's input)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": _uint_b64(numbers.x, 32),
            "y": _uint_b64(numbers.y, 32),
        }
    numbers_rsa = key.public_numbers()
    return {"e": _uint_b64(numbers_rsa.e), "kty": "RSA", "n": _uint_b64(numbers_rsa.n)}


def thumbprint(key: PublicKeyType) -> str:
    """The RFC 7638 SHA-256 JWK thumbprint of ``key``, base64url: the default ``kid``."""
    members = _public_members(key)
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


class PublicKey:
    """A verification key: its ``kid``, the one ``alg`` it verifies, the key itself."""

    __slots__ = ("_verify", "alg", "key", "kid")

    def __init__(self, key: PublicKeyType, *, kid: str | None = None) -> None:
        self.alg = _alg_of(key)
        self.key = key
        self.kid = kid if kid is not None else thumbprint(key)
        if not isinstance(self.kid, str) or not 0 < len(self.kid) <= MAX_KID_LENGTH:
            raise ValueError("a kid must be a non-empty string of at most 256 characters")
        if isinstance(key, ed25519.Ed25519PublicKey):
            self._verify = self._verify_eddsa
        elif isinstance(key, ec.EllipticCurvePublicKey):
            self._verify = self._verify_es256
        else:
            self._verify = self._verify_rs256

    def __repr__(self) -> str:
        return f"<PublicKey alg={self.alg} kid={self.kid!r}>"

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` over ``data`` is this key's, under its own algorithm."""
        try:
            return self._verify(signature, data)
        except InvalidSignature:
            return False

    def _verify_eddsa(self, signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:
            return False
        self.key.verify(signature, data)  # type: ignore[call-arg]
        return True

    def _verify_es256(self, signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        key: ec.EllipticCurvePublicKey = self.key  # type: ignore[assignment]
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        return True

    def _verify_rs256(self, signature: bytes, data: bytes) -> bool:
        key: rsa.RSAPublicKey = self.key  # type: ignore[assignment]
        if len(signature) != (key.key_size + 7) // 8:
            return False
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        return True

    def to_jwk(self) -> dict[str, str]:
        """The public JWK, with ``kid``, ``alg`` and ``use``: never a private member."""
        return {**_public_members(self.key), "kid": self.kid, "alg": self.alg, "use": "sig"}


class SigningKey:
    """A private key that signs with its one algorithm; its :attr:`public` half is published."""

    __slots__ = ("alg", "header", "kid", "private", "public")

    def __init__(self, private: PrivateKeyType, *, kid: str | None = None) -> None:
        self.alg = _alg_of(private)
        self.private = private
        self.public = PublicKey(private.public_key(), kid=kid)
        self.kid = self.public.kid
        #: The protected header of every token this key signs, encoded once.
        self.header = b64url_encode(
            json.dumps(
                {"alg": self.alg, "typ": "JWT", "kid": self.kid}, separators=(",", ":")
            ).encode()
        )

    def __repr__(self) -> str:
        # Never let key material reach a log line through a repr.
        return f"<SigningKey alg={self.alg} kid={self.kid!r}>"

    def sign(self, data: bytes) -> bytes:
        """The JOSE signature of ``data``."""
        key = self.private
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _check_jwk_use(jwk: Mapping[str, Any], alg: str) -> None:
    declared = jwk.get("alg")
    if declared is not None and declared != alg:
        raise ValueError("the JWK's alg does not match its key type")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise ValueError("the JWK is not for signatures")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or not ({"verify", "sign"} & set(ops))):
        raise ValueError("the JWK's key_ops allow no signature operation")


def _public_from_jwk(jwk: Mapping[str, Any]) -> PublicKeyType:
    kty = jwk.get("kty")
    if kty == "OKP" and jwk.get("crv") == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(_member(jwk, "x", length=32))
    if kty == "EC" and jwk.get("crv") == "P-256":
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_member(jwk, "x", length=32), "big"),
            int.from_bytes(_member(jwk, "y", length=32), "big"),
            ec.SECP256R1(),
        )
        return numbers.public_key()  # raises ValueError for a point off the curve
    if kty == "RSA":
        n, e = _uint(jwk, "n"), _uint(jwk, "e")
        # A huge public exponent would make every verification a long modexp.
        if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS or not 3 <= e < 2**32 or e % 2 == 0:
            raise ValueError("unacceptable RSA key")
        return rsa.RSAPublicNumbers(e, n).public_key()
    raise ValueError("unsupported JWK key type (use OKP Ed25519, EC P-256 or RSA)")


def _private_from_jwk(jwk: Mapping[str, Any]) -> PrivateKeyType:
    public = _public_from_jwk(jwk)
    if isinstance(public, ed25519.Ed25519PublicKey):
        private_ed = ed25519.Ed25519PrivateKey.from_private_bytes(_member(jwk, "d", length=32))
        if private_ed.public_key() != public:
            raise ValueError("the JWK's d and x do not belong together")
        return private_ed
    if isinstance(public, ec.EllipticCurvePublicKey):
        return ec.EllipticCurvePrivateNumbers(
            int.from_bytes(_member(jwk, "d", length=32), "big"), public.public_numbers()
        ).private_key()
    pub = public.public_numbers()
    d = _uint(jwk, "d")
    if all(name in jwk for name in ("p", "q", "dp", "dq", "qi")):
        p, q = _uint(jwk, "p"), _uint(jwk, "q")
        dmp1, dmq1, iqmp = _uint(jwk, "dp"), _uint(jwk, "dq"), _uint(jwk, "qi")
    else:
        p, q = rsa.rsa_recover_prime_factors(pub.n, pub.e, d)
        dmp1, dmq1, iqmp = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
    return rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, pub).private_key()


def _as_jwk(value: str | bytes | Mapping[str, Any]) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    text = value.decode() if isinstance(value, bytes) else value
    if text.lstrip().startswith("{"):
        # JSON that starts with "{" is an object, or not JSON at all (ValueError).
        parsed: dict[str, Any] = json.loads(text)
        return parsed
    return None


def _kid_of(jwk: Mapping[str, Any]) -> str | None:
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ValueError("a JWK's kid must be a string")
    return kid


def load_signing_key(value: str | bytes | Mapping[str, Any]) -> SigningKey:
    """A private key from a PEM (PKCS#8 or traditional) or a JWK (a mapping or its JSON).

    Raises ``ValueError`` for anything else: a public key, an encrypted PEM, a key type or
    size not supported. A PEM's ``kid`` is its RFC 7638 thumbprint; a JWK's is its own.
    """
    jwk = _as_jwk(value)
    if jwk is not None:
        if "d" not in jwk:
            raise ValueError("a signing key needs its private part (the JWK has no 'd')")
        _check_jwk_use(jwk, _alg_of(_public_from_jwk(jwk)))
        return SigningKey(_private_from_jwk(jwk), kid=_kid_of(jwk))
    data = value.encode() if isinstance(value, str) else value
    try:
        private = serialization.load_pem_private_key(data, password=None)  # type: ignore[arg-type]
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("the PEM is encrypted or of an unsupported type") from exc
    if not isinstance(private, PrivateKeyType):
        raise ValueError("only Ed25519, P-256 and RSA keys are supported")
    return SigningKey(private)


def load_public_key(value: str | bytes | Mapping[str, Any]) -> PublicKey:
    """A verification key from a public PEM or a public JWK (a mapping or its JSON).

    A JWK with private members is refused: a verifier has no business holding one.
    """
    jwk = _as_jwk(value)
    if jwk is not None:
        if PRIVATE_MEMBERS & jwk.keys():
            raise ValueError("a public key was expected, but the JWK has private members")
        key = _public_from_jwk(jwk)
        _check_jwk_use(jwk, _alg_of(key))
        return PublicKey(key, kid=_kid_of(jwk))
    data = value.encode() if isinstance(value, str) else value
    try:
        public = serialization.load_pem_public_key(data)  # type: ignore[arg-type]
    except UnsupportedAlgorithm as exc:
        raise ValueError("unsupported public key type") from exc
    if not isinstance(public, PublicKeyType):
        raise ValueError("only Ed25519, P-256 and RSA keys are supported")
    return PublicKey(public)


# --------------------------------------------------------------------------- #
# JWK Sets
# --------------------------------------------------------------------------- #


def _reject_constant(name: str) -> None:
    raise ValueError("non-standard JSON constant")


def parse_jwks(data: bytes, *, max_keys: int = MAX_JWKS_KEYS) -> tuple[PublicKey, ...]:
    """The usable verification keys of a JWK Set document; ``ValueError`` if it is unsafe.

    Refused whole: anything but a UTF-8 JSON object with a ``keys`` array, more than
    ``max_keys`` keys, a key that is not an object, and any key with private or symmetric
    material (``d``, ``p``, ``q``, ``k``, ...). Skipped: keys for encryption, of other
    types or curves, with an ``alg`` their type does not give, or otherwise unusable.
    """
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError("the JWK Set is not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the JWK Set has no 'keys' array")
    entries = document["keys"]
    if len(entries) > max_keys:
        raise ValueError(f"the JWK Set has more than {max_keys} keys")
    keys: list[PublicKey] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("a JWK Set entry is not an object")
        if PRIVATE_MEMBERS & entry.keys():
            raise ValueError("the JWK Set publishes private or symmetric key material")
        try:  # an alg its key type does not give is refused here too (_check_jwk_use)
            keys.append(load_public_key(entry))
        except (ValueError, TypeError):
            continue
    return tuple(keys)


def jwks_document(keys: Iterable[PublicKey]) -> dict[str, list[dict[str, str]]]:
    """The JWK Set publishing ``keys``: public members only, by construction."""
    return {"keys": [key.to_jwk() for key in keys]}


class KeySource(Protocol):
    """Where the codec finds verification keys (static, or a JWKS client that fetches)."""

    def candidates(self, kid: str | None, alg: str) -> Sequence[PublicKey]:
        """The keys to try for a token with ``kid`` (or none) and header ``alg``.

        Only keys whose own algorithm is ``alg`` may be returned. May raise an
        ``InvalidToken`` subclass (keys unavailable).
        """
        ...


class KeySet:
    """A fixed set of verification keys, looked up by ``kid`` and algorithm."""

    __slots__ = ("by_kid", "keys")

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self.keys: tuple[PublicKey, ...] = tuple(keys)
        by_kid: dict[str, list[PublicKey]] = {}
        for key in self.keys:
            by_kid.setdefault(key.kid, []).append(key)
        self.by_kid = {kid: tuple(group) for kid, group in by_kid.items()}

    def __repr__(self) -> str:
        return f"<KeySet keys={len(self.keys)}>"

    def __contains__(self, kid: object) -> bool:
        return kid in self.by_kid

    def candidates(self, kid: str | None, alg: str) -> Sequence[PublicKey]:
        """Keys with ``kid`` (every key without one) whose own algorithm is ``alg``."""
        group = self.keys if kid is None else self.by_kid.get(kid, ())
        return [key for key in group if key.alg == alg]
