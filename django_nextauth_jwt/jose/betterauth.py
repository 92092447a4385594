"""Better Auth's session cookie cache (``better-auth.session_data``), verified without Django.

Better Auth (1.7) keeps a copy of the session in a cookie when ``session.cookieCache`` is
enabled, re-issued every few minutes, in one of three strategies:

* ``compact`` (its default): base64url of the JSON ``{session, expiresAt, signature}``, where
  ``signature`` is an HMAC-SHA256 (base64url, unpadded) with the current secret over
  ``JSON.stringify({...session, expiresAt})`` of the *parsed* cookie. The MAC is over a
  re-serialisation, so :func:`js_stringify` reproduces JavaScript's ``JSON.parse`` and
  ``JSON.stringify`` exactly: key order (array-index keys first, ascending), numbers as
  doubles in ECMAScript's shortest form, strings with its escapes, and the ``__proto__`` key
  zod's record parsing drops;
* ``jwt``: a JWS with the protected header ``{"alg":"HS256"}`` over the same payload, signed
  with the current secret, with ``iat`` and ``exp``;
* ``jwe``: ``dir`` + ``A256CBC-HS512``, the key HKDF-SHA-256 of the secret (salt
  ``better-auth-session``, info ``BetterAuth.js Generated Encryption Key``, 64 bytes), its
  ``kid`` the RFC 7638 thumbprint of that key as an ``oct`` JWK. Every secret version of
  ``BETTER_AUTH_SECRETS`` (and the legacy ``BETTER_AUTH_SECRET``) decrypts, picked by ``kid``.

Like Better Auth, compact and jwt cookies verify with the current secret only: after a
rotation Better Auth itself refuses them and re-issues the cache. The payload's session is
checked as Better Auth's schema does (ids, the session's ISO ``expiresAt``, ``updatedAt``, the
cache ``version``) and mapped to the claims the rest of the app reads: ``sub`` (user id),
``sid`` (session id), ``email``, ``name``, ``role``, ``iat``, ``auth_time`` and ``exp`` (the
cookie's or the session's own expiry, whichever comes first).

Every input is explicit; nothing here imports Django. Refusals are the package's
:class:`~django_nextauth_jwt.exceptions.InvalidToken` subclasses with their stable codes.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from django_nextauth_jwt.exceptions import (
    InvalidToken,
    TokenClaimsInvalid,
    TokenExpired,
    TokenMalformed,
    TokenUnsupported,
)

# The codec's prepared HMAC states and its cached block decryption: the same primitives as
# Auth.js v5's JWE, at the same cost.
from django_nextauth_jwt.jose.codec import _MacKey, _open_cbc_hs512, _parse_header
from django_nextauth_jwt.jose.jwk import b64url_encode, unb64

__all__ = [
    "COMPACT",
    "JWE",
    "JWT",
    "STRATEGIES",
    "CookieCache",
    "Secrets",
    "cookie_name",
    "js_stringify",
    "parse_secrets",
]

COMPACT = "compact"
JWT = "jwt"
JWE = "jwe"
STRATEGIES = (COMPACT, JWT, JWE)

#: The salt and info of the jwe strategy's HKDF (better-auth/dist/crypto/jwt.mjs).
SESSION_SALT = b"better-auth-session"
HKDF_INFO = b"BetterAuth.js Generated Encryption Key"
#: The secret Better Auth falls back to in development; it never verifies anything here.
DEFAULT_SECRET = "better-auth-secret-12345678901234567890"  # noqa: S105 - refused, not used
#: jose's ``SignJWT().setProtectedHeader({alg: "HS256"})``: the jwt strategy's exact header.
JWT_HEADER = b64url_encode(b'{"alg":"HS256"}')
_JWE_HEADER_KEYS = frozenset({"alg", "enc", "kid"})
#: Better Auth's ISO date strings (core/utils/json.mjs ``iso8601Regex``).
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z", re.ASCII)
_MAX_SAFE = 2**53


def cookie_name(prefix: str = "better-auth", *, secure: bool = False) -> str:
    """The cookie cache's name: ``<prefix>.session_data``, ``__Secure-`` on https sites."""
    return f"{'__Secure-' if secure else ''}{prefix}.session_data"


# --------------------------------------------------------------------------- #
# Secrets and their versions
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class Secrets:
    """Better Auth's secrets: ``current`` signs (compact, jwt); every one decrypts (jwe)."""

    current: str
    #: Every secret that may decrypt a jwe cookie, current first, then older versions and the
    #: legacy single secret (Better Auth's ``getAllSecrets``).
    all: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return f"<Secrets versions={len(self.all)}>"


def parse_secrets(secret: str | None, versions: str | Sequence[tuple[int, str]] | None) -> Secrets:
    """Better Auth's own choice of secrets (``create-context``): ``ValueError`` when unusable.

    ``versions`` is ``BETTER_AUTH_SECRETS`` (``"2:new,1:old"``, the current first) or its list
    of ``(version, secret)`` pairs; ``secret`` is ``BETTER_AUTH_SECRET`` (with versions, the
    legacy secret that still decrypts). Messages never show a secret.
    """
    pairs: list[tuple[int, str]] = []
    if isinstance(versions, str):
        for position, entry in enumerate(versions.split(","), start=1):
            number, colon, value = entry.strip().partition(":")
            if not colon or not re.fullmatch(r"[0-9]+", number.strip()) or not value.strip():
                raise ValueError(f"BETTER_AUTH_SECRETS entry {position} is not <version>:<secret>")
            pairs.append((int(number), value.strip()))
    elif versions is not None:
        for pair in versions:
            version, value = pair
            if type(version) is not int or version < 0 or not isinstance(value, str) or not value:
                raise ValueError("each secret version is (a whole number, a non-empty string)")
            pairs.append((version, value))
    if versions is not None and not pairs:
        raise ValueError("the secret versions are empty")
    if len({version for version, _ in pairs}) != len(pairs):
        raise ValueError("two secrets have the same version")
    legacy = secret if isinstance(secret, str) and secret and secret != DEFAULT_SECRET else None
    if pairs:
        every = [value for _, value in pairs]
        if legacy is not None and legacy not in every:
            every.append(legacy)
        return Secrets(pairs[0][1], tuple(every))
    if legacy is None:
        raise ValueError("no Better Auth secret is set")
    return Secrets(legacy, (legacy,))


def jwe_key(secret: str) -> bytes:
    """The jwe strategy's 64-byte key for ``secret`` (HKDF-SHA-256, Better Auth's salt and info)."""
    return HKDF(hashes.SHA256(), 64, SESSION_SALT, HKDF_INFO).derive(secret.encode())


def jwe_kid(key: bytes) -> str:
    """The RFC 7638 SHA-256 thumbprint of ``key`` as an ``oct`` JWK: the jwe header's ``kid``."""
    members = '{"k":"' + b64url_encode(key) + '","kty":"oct"}'
    return b64url_encode(hashlib.sha256(members.encode("ascii")).digest())


# --------------------------------------------------------------------------- #
# JavaScript's JSON, exactly
# --------------------------------------------------------------------------- #


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def js_parse(text: str) -> Any:
    """``JSON.parse``: numbers are doubles (ints too), ``NaN``/``Infinity`` are not JSON.

    Duplicate keys keep the first position and the last value, as in JavaScript.
    """
    return json.loads(text, parse_int=float, parse_constant=_reject_constant)


def _is_array_index(key: str) -> bool:
    # ECMAScript's array index: a canonical uint32 below 2**32 - 1. Objects list these first.
    return (
        key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and (int(key) < 2**32 - 1)
    )


def js_number(value: float) -> str:
    """``Number.prototype.toString`` (what ``JSON.stringify`` writes); non-finite is ``null``."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"  # -0 too
    if value < 0:
        return "-" + js_number(-value)
    # repr() is the shortest round-tripping form (the same digits ECMAScript picks).
    _, digits_tuple, exponent = Decimal(repr(value)).as_tuple()
    every = "".join(map(str, digits_tuple))
    digits = every.rstrip("0")
    exponent = int(exponent) + len(every) - len(digits)  # a finite value: always an int
    k = len(digits)
    n = exponent + k  # the decimal point sits after n digits
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def js_string(value: str) -> str:
    """A string as ``JSON.stringify`` writes it (well-formed: lone surrogates escaped)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


def js_stringify(value: Any) -> str:
    """``JSON.stringify`` of what :func:`js_parse` returned."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return js_string(value)
    if isinstance(value, float | int):
        return js_number(float(value))
    if isinstance(value, list):
        return "[" + ",".join(js_stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = list(value)
        indexes = sorted((k for k in keys if _is_array_index(k)), key=int)
        ordered = indexes + [k for k in keys if not _is_array_index(k)] if indexes else keys
        return "{" + ",".join(f"{js_string(k)}:{js_stringify(value[k])}" for k in ordered) + "}"
    raise TypeError(f"{type(value).__name__} is not JSON")


def compact_signing_input(session: Mapping[str, Any], expires_at: float) -> bytes:
    """What the compact strategy's HMAC covers: ``JSON.stringify({...session, expiresAt})``.

    ``session`` as zod's ``z.record`` parse leaves it: its own ``__proto__`` key dropped
    (an assignment to ``__proto__`` sets a prototype, not a property).
    """
    spread = {k: v for k, v in session.items() if k != "__proto__"}
    spread["expiresAt"] = expires_at  # keeps an own expiresAt's position, as a spread does
    return js_stringify(spread).encode("utf-8")


# --------------------------------------------------------------------------- #
# The payload: Better Auth's schema, then our claims
# --------------------------------------------------------------------------- #


def iso_millis(value: Any) -> int:
    """Milliseconds since the epoch of Better Auth's ISO date string; ``ValueError`` otherwise."""
    match = _ISO_DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("not an ISO date")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        raise ValueError("not a date")
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("not a time")
    fraction = (match.group(7) or "")[:3].ljust(3, "0")
    seconds = calendar.timegm((year, month, day, hour, minute, second))
    return seconds * 1000 + int(fraction)


def _text(mapping: Mapping[str, Any], name: str) -> str:
    value = mapping.get(name)
    if not isinstance(value, str) or not value:
        raise TokenClaimsInvalid()
    return value


def _finite(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise TokenClaimsInvalid()
    return float(value)


def session_claims(payload: Any, *, cache_expires_ms: float, version: str) -> dict[str, Any]:
    """Better Auth's cached session ``payload`` as our claims; ``InvalidToken`` when unfit.

    ``exp`` is the earlier of the cookie's expiry and the session's own; ``iat`` when the
    cache was written (``updatedAt``); ``auth_time`` when the session began.
    """
    if not isinstance(payload, dict):
        raise TokenClaimsInvalid()
    session, user = payload.get("session"), payload.get("user")
    if not isinstance(session, dict) or not isinstance(user, dict):
        raise TokenClaimsInvalid()
    updated_at = _finite(payload.get("updatedAt"))
    cached_version = payload.get("version")
    if cached_version is not None and not isinstance(cached_version, str):
        raise TokenClaimsInvalid()
    # Better Auth compares (payload.version || "1") with its configured version.
    if (cached_version or "1") != version:
        raise TokenClaimsInvalid()
    sid, sub = _text(session, "id"), _text(user, "id")
    _text(session, "token")
    if session.get("userId") != sub:
        raise TokenClaimsInvalid()
    try:
        session_expires = iso_millis(session.get("expiresAt"))
        created = iso_millis(session["createdAt"]) if "createdAt" in session else None
    except ValueError:
        raise TokenClaimsInvalid() from None
    email = user.get("email")
    if not isinstance(email, str) or not isinstance(user.get("name"), str):
        raise TokenClaimsInvalid()
    expires = min(_finite(cache_expires_ms), float(session_expires))
    if abs(expires) >= _MAX_SAFE or abs(updated_at) >= _MAX_SAFE:
        raise TokenClaimsInvalid()
    claims: dict[str, Any] = {
        "sub": sub,
        "sid": sid,
        "email": email.lower(),  # Better Auth's user schema lower-cases it
        # OIDC's claim: Better Auth signs people up unverified by default (see users.py).
        "email_verified": user.get("emailVerified") is True,
        "name": user["name"],
        "iat": math.floor(updated_at / 1000),
        "exp": math.floor(expires / 1000),
    }
    if created is not None and created <= updated_at:
        claims["auth_time"] = created // 1000
    role = user.get("role")
    if isinstance(role, str) and role:
        claims["role"] = role
    # A JavaScript string may hold a lone surrogate (a name typed at sign-up), which no
    # database, log or UTF-8 renderer takes: refused here, as the codec refuses it in a token.
    for value in claims.values():
        if type(value) is str and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise TokenClaimsInvalid() from None
    return claims


# --------------------------------------------------------------------------- #
# The verifier
# --------------------------------------------------------------------------- #


class CookieCache:
    """Verifies one strategy's cookie cache under ``secrets``; thread-safe, immutable.

    :meth:`decode` returns the claims without looking at the clock (as the codec does: the
    caller validates ``exp``); :meth:`verify` also refuses an expired cookie.
    """

    def __init__(
        self,
        strategy: str,
        secrets: Secrets,
        *,
        version: str = "1",
        max_length: int = 32768,
        shared_jwe: bool = False,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}")
        self.strategy = strategy
        self.version = version
        self.max_length = max_length
        # Whether another accepted format (Auth.js v5) writes JWEs of the same algorithms: then
        # only a kid of ours makes a JWE ours; otherwise every such JWE is, and an unknown kid
        # is refused here (another secret's, or a retired version's) rather than elsewhere.
        self.shared_jwe = shared_jwe
        self._mac_key = _MacKey(secrets.current.encode(), hashlib.sha256)
        # kid -> (MAC key, AES key), for every secret version that may decrypt; and the exact
        # protected header jose's EncryptJWT writes for each, so that the usual cookie's header
        # is recognised without being decoded.
        self._jwe_keys: dict[str, tuple[_MacKey, bytes]] = {}
        self._jwe_heads: dict[str, str] = {}
        if strategy == JWE:
            for secret in secrets.all:
                key = jwe_key(secret)
                kid = jwe_kid(key)
                self._jwe_keys.setdefault(kid, (_MacKey(key[:32]), key[32:]))
                header = f'{{"alg":"dir","enc":"A256CBC-HS512","kid":"{kid}"}}'
                self._jwe_heads[b64url_encode(header.encode("ascii"))] = kid

    def __repr__(self) -> str:
        return f"<CookieCache strategy={self.strategy!r}>"

    @property
    def kids(self) -> frozenset[str]:
        """The ``kid`` of every jwe key (empty for the other strategies)."""
        return frozenset(self._jwe_keys)

    def owns(self, token: str) -> bool:
        """Whether ``token`` has this strategy's shape (a cheap test: no cryptography).

        compact: one segment; jwt: three, under the exact header ``{"alg":"HS256"}`` (a
        NextAuth ``jws`` token carries ``typ``); jwe: five, ``dir`` and ``A256CBC-HS512``, and
        with ``shared_jwe`` a ``kid`` of ours.
        """
        if self.strategy == COMPACT:
            return "." not in token
        if self.strategy == JWT:
            return token.count(".") == 2 and token.startswith(JWT_HEADER + ".")
        if token.count(".") != 4:
            return False
        if token[: token.index(".")] in self._jwe_heads:
            return True
        try:
            # The codec's parse, cached: every NextAuth JWE (v4, v5) asks here first, per request.
            header = _parse_header(token[: token.index(".")])
        except InvalidToken:
            return False
        if header.get("alg") != "dir" or header.get("enc") != "A256CBC-HS512":
            return False
        return not self.shared_jwe or header.get("kid") in self._jwe_keys

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of a genuine cookie; ``InvalidToken`` (its stable code) otherwise."""
        if not isinstance(token, str) or not token or len(token) > self.max_length:
            raise TokenMalformed()
        if self.strategy == COMPACT:
            return self._compact(token)
        if self.strategy == JWT:
            return self._jwt(token)
        return self._jwe(token)

    def verify(self, token: str, *, now: float | None = None, leeway: int = 0) -> dict[str, Any]:
        """:meth:`decode`, and ``TokenExpired`` once the cookie or its session has expired."""
        claims = self.decode(token)
        now = time.time() if now is None else now
        if claims["exp"] <= now - leeway:
            raise TokenExpired()
        return claims

    # -- compact ---------------------------------------------------------------------------

    def _compact(self, token: str) -> dict[str, Any]:
        try:
            outer = js_parse(unb64(token).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise TokenMalformed() from None
        # Better Auth's compactCookieCacheSchema: exactly these types (extra keys ignored).
        if not isinstance(outer, dict):
            raise TokenMalformed()
        session, expires_at, signature = (
            outer.get("session"),
            outer.get("expiresAt"),
            outer.get("signature"),
        )
        if not isinstance(session, dict) or not isinstance(signature, str):
            raise TokenMalformed()
        if not isinstance(expires_at, float) or not math.isfinite(expires_at):
            raise TokenMalformed()
        try:
            mac = unb64(signature)
        except InvalidToken:
            raise TokenMalformed() from None
        try:
            signed = compact_signing_input(session, expires_at)
        except RecursionError:
            # Nesting JSON.parse took but this recursion cannot rewrite: refused, not a 500.
            raise TokenMalformed() from None
        if not hmac.compare_digest(self._mac_key.digest(signed), mac):
            raise InvalidToken()
        inner = {k: v for k, v in session.items() if k != "__proto__"}
        return session_claims(inner, cache_expires_ms=expires_at, version=self.version)

    # -- jwt -------------------------------------------------------------------------------

    def _jwt(self, token: str) -> dict[str, Any]:
        head, _, rest = token.partition(".")
        body, _, signature = rest.partition(".")
        if head != JWT_HEADER or not body or "." in signature:
            raise TokenUnsupported()
        mac = unb64(signature)
        expected = self._mac_key.digest(f"{head}.{body}".encode("ascii"))
        if not hmac.compare_digest(expected, mac):
            raise InvalidToken()
        payload = self._json_object(unb64(body))
        exp = payload.get("exp")
        if type(exp) is not float or not math.isfinite(exp):
            raise TokenClaimsInvalid()
        return session_claims(payload, cache_expires_ms=exp * 1000, version=self.version)

    # -- jwe -------------------------------------------------------------------------------

    def _jwe(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 5:
            raise TokenMalformed()
        head, encrypted_key, iv_b64, ciphertext_b64, tag_b64 = parts
        kid: Any = self._jwe_heads.get(head)
        if kid is None:  # a header not as jose writes it: decoded and checked in full
            header = self._json_object(unb64(head))
            if (
                set(header) != _JWE_HEADER_KEYS
                or header["alg"] != "dir"
                or header["enc"] != "A256CBC-HS512"
            ):
                raise TokenUnsupported()
            kid = header["kid"]
        keys = self._jwe_keys.get(kid) if isinstance(kid, str) else None
        if keys is None:
            raise InvalidToken()  # another secret's, or a rotated-out version's
        if encrypted_key:
            raise TokenMalformed()
        iv, ciphertext, tag = unb64(iv_b64), unb64(ciphertext_b64), unb64(tag_b64)
        if len(iv) != 16 or len(tag) != 32 or not ciphertext or len(ciphertext) % 16:
            raise TokenMalformed()
        payload = self._json_object(_open_cbc_hs512(keys, head, iv, ciphertext, tag))
        exp = payload.get("exp")
        if type(exp) is not float or not math.isfinite(exp):
            raise TokenClaimsInvalid()
        return session_claims(payload, cache_expires_ms=exp * 1000, version=self.version)

    @staticmethod
    def _json_object(raw: bytes) -> dict[str, Any]:
        try:
            value = js_parse(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise TokenMalformed() from None
        if not isinstance(value, dict):
            raise TokenMalformed()
        return value
