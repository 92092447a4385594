"""Why a token was refused, in words that name the fix.

The error codes a client sees stay terse and stable (``token_unsupported``,
``token_invalid``...). The operator deserves more: which format arrived and which
one this service reads, which cookie the browser sent and which one is expected,
whether a secret or a salt differs, how long ago a token expired. The middleware
(and so the DRF class) logs each cause once per process at WARNING on the
``django_nextauth_jwt.diagnostics`` logger; ``manage.py nextauth_decode --explain``
prints the same sentence. Before any of that, :func:`diagnose_input` says what was sent
when it is not a whole token: a pasted ``Authorization`` or ``Cookie`` header, quotes,
whitespace, a copy cut short, a database session id or no token at all.

Never a token, a claim value or a secret: only format names, algorithm names
from a fixed list, cookie names this package knows, counts and durations.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from django_nextauth_jwt import lifetime
from django_nextauth_jwt.conf import (
    DEFAULT_COOKIE_NAMES,
    FORMAT_AUTHJS_V5,
    FORMAT_JWS,
    FORMAT_JWS_ASYMMETRIC,
    FORMAT_NEXTAUTH_V4,
    SECURE_PREFIX,
)
from django_nextauth_jwt.exceptions import (
    InvalidToken,
    NextAuthJWTError,
    SessionTooOld,
    TokenExpired,
    TokenMalformed,
    TokenMissing,
    TokenUnsupported,
)
from django_nextauth_jwt.jose import codec
from django_nextauth_jwt.policy import Policy, policy

__all__ = [
    "Diagnosis",
    "diagnose_cookies",
    "diagnose_input",
    "diagnose_token",
    "report",
    "reset",
]

logger = logging.getLogger(__name__)

DESCRIPTIONS = {
    FORMAT_JWS: "a signed JWS (3 parts)",
    FORMAT_NEXTAUTH_V4: "a next-auth v4 token (JWE dir/A256GCM)",
    FORMAT_AUTHJS_V5: "an Auth.js v5 token (JWE dir/A256CBC-HS512)",
    FORMAT_JWS_ASYMMETRIC: "a JWS signed with a key pair (EdDSA, ES256 or RS256)",
}
# Algorithm names worth repeating in a log line; anything else is "another algorithm".
_KNOWN_ALGORITHMS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    | {"ES256", "ES384", "ES512", "ES256K", "EdDSA", "Ed25519", "none"}
)
# Every session cookie name NextAuth and Auth.js write by default, with and without __Secure-.
KNOWN_SESSION_COOKIES = tuple(
    prefix + name
    for name in dict.fromkeys(DEFAULT_COOKIE_NAMES.values())
    for prefix in ("", SECURE_PREFIX)
)


#: What every name in ``KNOWN_SESSION_COOKIES`` contains: a ``Cookie`` header without it holds
#: no session cookie under a wrong name, so a request without a token needs no diagnosis.
SESSION_COOKIE_MARK = "session-token"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One cause (a stable key such as ``format_mismatch``) and the sentence naming the fix."""

    cause: str
    message: str


def _accepted(pol: Policy) -> str:
    return ", ".join(sorted(pol.accepted_formats))


def _ago(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _header(token: str) -> dict[str, Any]:
    return codec._parse_header(token.split(".", 1)[0])


def _unsupported(token: str, fmt: str, pol: Policy) -> Diagnosis | None:
    if fmt == FORMAT_JWS_ASYMMETRIC and fmt not in pol.accepted_formats:
        alg = _header(token).get("alg")  # one of the three names: the format says so
        return Diagnosis(
            "jws_algorithm",
            f"a JWS signed with {alg} arrived; this service verifies {pol.jws_algorithm} only "
            "(NEXTAUTH_JWS_ALGORITHM). For tokens signed with a key pair, add "
            '"jws-asymmetric" to NEXTAUTH_ACCEPTED_FORMATS and set NEXTAUTH_JWKS_URL or '
            "NEXTAUTH_PUBLIC_KEYS to the issuer's keys.",
        )
    if fmt not in pol.accepted_formats:
        return Diagnosis(
            "format_mismatch",
            f"{DESCRIPTIONS[fmt]} arrived; this service reads {_accepted(pol)}. Set "
            "NEXTAUTH_JWT_FORMAT (or NEXTAUTH_ACCEPTED_FORMATS) to the format the issuer writes.",
        )
    if fmt == FORMAT_JWS:
        alg = _header(token).get("alg")
        named = alg if isinstance(alg, str) and alg in _KNOWN_ALGORITHMS else "another algorithm"
        if alg != pol.jws_algorithm:
            return Diagnosis(
                "jws_algorithm",
                f"a JWS signed with {named} arrived; this service verifies "
                f"{pol.jws_algorithm} only (NEXTAUTH_JWS_ALGORITHM).",
            )
    return None


@functools.lru_cache(maxsize=16)
def _keyring(secrets: tuple[str, ...], salt: str) -> codec.Keyring:
    # Cached: a flood of tokens with made-up kids must not cost a key derivation each.
    return codec.Keyring(secrets, v5_salt=salt)


def _v5_salt_of(kid: object, pol: Policy) -> str | None:
    """The default cookie name (salt) under which a configured secret gives ``kid``."""
    if not isinstance(kid, str):
        return None
    for salt in KNOWN_SESSION_COOKIES:
        if salt != pol.v5_salt and kid in _keyring(pol.secrets, salt).v5_keys:
            return salt
    return None


def _no_secret_matches(token: str, fmt: str, pol: Policy) -> Diagnosis:
    if fmt == FORMAT_JWS_ASYMMETRIC:
        # The kid is the sender's to choose: never repeated in a log line.
        return Diagnosis(
            "key_mismatch",
            f"{DESCRIPTIONS[fmt]} arrived and none of this service's keys verifies it: "
            "NEXTAUTH_JWKS_URL or NEXTAUTH_PUBLIC_KEYS do not hold the issuer's key (its kid is "
            "unknown, or the signature is not that key's).",
        )
    count = len(pol.secrets)
    secrets = "the configured secret" if count == 1 else f"none of the {count} configured secrets"
    if fmt == FORMAT_AUTHJS_V5:
        salt = _v5_salt_of(_header(token).get("kid"), pol)
        if salt is not None:
            return Diagnosis(
                "salt_mismatch",
                f"an Auth.js v5 token encrypted for the cookie name '{salt}' arrived; this "
                f"service derives its key for '{pol.v5_salt}'. The salt is the cookie name, "
                "__Secure- prefix included: set NEXTAUTH_SECURE_COOKIE (True behind HTTPS), "
                "NEXTAUTH_COOKIE_NAME or NEXTAUTH_SALT to match the Next.js app.",
            )
        what = "its kid"
    else:
        what = "its signature" if fmt == FORMAT_JWS else "its authentication tag"
    return Diagnosis(
        "secret_mismatch",
        f"{DESCRIPTIONS[fmt]} arrived and {what} "
        f"{'does not match' if count == 1 else 'matches'} {secrets}: "
        "NEXTAUTH_SECRET differs from the secret the issuer uses (NEXTAUTH_SECRET or "
        "AUTH_SECRET in the Next.js app). During a rotation, list both.",
    )


def _expired(token: str, pol: Policy, now: int) -> Diagnosis | None:
    try:
        payload = pol.decode(token)
    except InvalidToken:
        return None
    exp = payload.get("exp")
    if type(exp) is not int:
        return None
    return Diagnosis(
        "expired",
        f"a token that expired {_ago(max(0, now - exp))} ago arrived (with "
        f"NEXTAUTH_LEEWAY={pol.leeway} s): the session ended, the person signs in again. "
        "If every token looks expired, check the clocks.",
    )


def _too_old(token: str, pol: Policy, now: int) -> Diagnosis | None:
    try:
        start = lifetime.started(pol.decode(token))
    except InvalidToken:
        return None
    if start is None:
        return None
    return Diagnosis(
        "session_too_old",
        f"a session signed into {_ago(max(0, now - start))} ago arrived; "
        f"NEXTAUTH_SESSION_MAX_LIFETIME={pol.max_lifetime} s ends every session that long after "
        "sign-in however often it was refreshed: the person signs in again. If the browser "
        "still shows them signed in, give the Next.js app the same NEXTAUTH_SESSION_MAX_LIFETIME "
        "(its jwt callback ends the session then).",
    )


def diagnose_token(
    token: str, error: InvalidToken, *, pol: Policy | None = None, now: int | None = None
) -> Diagnosis | None:
    """The cause of ``error`` for ``token``, when it is one of the common integration faults."""
    pol = pol or policy()
    cache = pol.better_auth
    if cache is not None and cache.owns(token):
        # Better Auth's cookie cache: its secret is Better Auth's, not NEXTAUTH_SECRET.
        if isinstance(error, TokenExpired):
            return _expired(token, pol, int(time.time()) if now is None else now)
        if type(error) is InvalidToken:
            return Diagnosis(
                "better_auth_secret",
                f"a Better Auth session cookie ({cache.strategy}) arrived and Better Auth's "
                "secret does not verify it: NEXTAUTH_BETTER_AUTH_SECRET (or _SECRETS) differs "
                "from Better Auth's BETTER_AUTH_SECRET (or BETTER_AUTH_SECRETS). After a "
                "rotation, compact and jwt cookies verify with the current secret only, as in "
                "Better Auth, until it re-issues them.",
            )
        return None
    try:
        fmt = codec.format_of(token, max_length=pol.max_token_length)
    except InvalidToken:
        return None
    if isinstance(error, TokenUnsupported):
        return _unsupported(token, fmt, pol)
    if isinstance(error, SessionTooOld):
        return _too_old(token, pol, int(time.time()) if now is None else now)
    if isinstance(error, TokenExpired):
        return _expired(token, pol, int(time.time()) if now is None else now)
    if type(error) is InvalidToken:
        # The bare class: a signature, tag or kid that no configured secret gives.
        return _no_secret_matches(token, fmt, pol)
    return None


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# The shortest last part each header allows, in base64url characters: a JWS's signature
# (RS256: a 2048-bit key's), a JWE's authentication tag (16 bytes for A256GCM, 32 for v5).
_SIGNATURE_CHARS = {"HS256": 43, "HS384": 64, "HS512": 86, "EdDSA": 86, "ES256": 86, "RS256": 342}
_TAG_CHARS = {"A256GCM": 22, codec.V5_ENC: 43}
_WHOLE = (
    "copy it whole (a terminal, a log or a display may have cut it; a chunked cookie's "
    "parts, name.0, name.1, ..., join in order into one token)"
)


def _cookie_base(name: str) -> str:
    head, _, tail = name.rpartition(".")
    return head if head and tail.isdigit() else name


def _cookie_line(text: str) -> Diagnosis:
    line = text.split(":", 1)[1] if text.lower().startswith(("cookie:", "set-cookie:")) else text
    names = [pair.split("=", 1)[0].strip() for pair in line.split(";") if "=" in pair]
    # Only names this package knows are repeated: the rest of the line is the sender's.
    sessions = [base for base in map(_cookie_base, names) if base in KNOWN_SESSION_COOKIES]
    if sessions:
        name = sessions[0]
        return Diagnosis(
            "pasted_cookie",
            f"a Cookie header (name=value pairs) arrived, not a token: pass the value of "
            f"'{name}' alone, without its name (chunked as '{name}.0', '{name}.1', ...: "
            "their values joined in order).",
        )
    return Diagnosis(
        "pasted_cookie",
        f"a Cookie header (name=value pairs) arrived, not a token, and none of its {len(names)} "
        f"cookie{'s' if len(names) != 1 else ''} is a NextAuth session cookie "
        f"({', '.join(dict.fromkeys(DEFAULT_COOKIE_NAMES.values()))}, or their __Secure- "
        "forms): copy the session cookie's value "
        "(the browser's developer tools list it under Cookies).",
    )


def _cut_short(parts: list[str]) -> Diagnosis | None:
    try:
        header = codec._parse_header(parts[0])
    except InvalidToken:
        return Diagnosis(
            "not_a_token",
            "a token whose first part is not a JSON header arrived: it is cut at the start, "
            f"or not a NextAuth token; {_WHOLE}.",
        )
    if len(parts) > 5 or (len(parts) == 5 and "enc" not in header):
        return Diagnosis(
            "joined",
            f"{len(parts)} parts under a JWS header arrived: more than one token, run together "
            "(a JWS has 3 parts, a JWE 5); pass one token alone.",
        )
    last = parts[-1]
    if len(parts) == 3:
        shortest, what = _SIGNATURE_CHARS.get(str(header.get("alg")), 1), "signature"
    else:
        shortest, what = _TAG_CHARS.get(str(header.get("enc")), 1), "authentication tag"
    if len(last) < shortest or len(last) % 4 == 1:
        return Diagnosis(
            "truncated",
            f"a token cut short arrived: its last part ({len(last)} characters) is shorter than "
            f"its header's {what}; {_WHOLE}.",
        )
    return None


def diagnose_input(text: str) -> Diagnosis | None:
    """What ``text`` is when it is not a whole token, and what to pass instead.

    A pasted ``Authorization: Bearer ...`` or ``Cookie:`` line, a token in quotes or with
    whitespace inside, one cut short (by a terminal, a log, a single cookie chunk), a
    NextAuth database session id, or no token at all. ``None`` when ``text`` has the shape
    of a whole token: what is wrong with it, if anything, is for :func:`diagnose_token`.
    """
    text = text.strip()
    lowered = text.lower()
    if not text:
        return None
    if lowered.startswith(("authorization:", "bearer ")) or lowered == "bearer":
        return Diagnosis(
            "pasted_header",
            "an Authorization header arrived, not a token: pass only what follows 'Bearer '.",
        )
    if lowered.startswith(("cookie:", "set-cookie:")) or "=" in text.rstrip("="):
        return _cookie_line(text)  # base64url has no '=': only padding could end a token
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'`":
        return Diagnosis(
            "quoted",
            "a token in quotes arrived (copied from JSON or a shell line?): pass it without them.",
        )
    spaces = sum(char.isspace() for char in text)
    if spaces:
        return Diagnosis(
            "whitespace",
            f"a token holding {spaces} space{'s' if spaces != 1 else ''} or line "
            f"break{'s' if spaces != 1 else ''} arrived (a copy that wrapped its lines?): a "
            "token is one line; join it without them.",
        )
    if "..." in text or "\u2026" in text:
        return Diagnosis(
            "truncated",
            f"a token shortened with an ellipsis arrived (a display cut it); {_WHOLE}.",
        )
    if _UUID.fullmatch(text):
        return Diagnosis(
            "database_session",
            "a NextAuth database session id (a UUID) arrived, not a token: with "
            "session: { strategy: 'database' } the cookie holds only an id that NextAuth "
            "looks up in its own database. Use strategy 'jwt' for a token every service verifies.",
        )
    parts = text.split(".")
    if not text.isascii() or not all(_BASE64URL.fullmatch(part) for part in parts):
        standard = any(char in text for char in "+/")
        return Diagnosis(
            "not_a_token",
            "a token with characters outside base64url arrived"
            + (" (standard base64's + or /: it was re-encoded)" if standard else "")
            + ": a NextAuth token is base64url parts (A-Z, a-z, 0-9, - and _) joined by dots; "
            "copy it as NextAuth wrote it.",
        )
    if len(parts) == 1 or not text.startswith("eyJ"):
        return Diagnosis(
            "not_a_token",
            f"something that is not a token arrived ({len(parts)} part"
            f"{'s' if len(parts) != 1 else ''}): a NextAuth token is 3 (JWS) or 5 (JWE) "
            "base64url parts joined by dots, and begins with 'eyJ' (its JSON header).",
        )
    if len(parts) < 5 and len(parts) != 3:
        return Diagnosis(
            "truncated",
            f"a token of {len(parts)} parts arrived: a JWS has 3 and a JWE 5. It is cut short; "
            f"{_WHOLE}.",
        )
    return _cut_short(parts)


def diagnose_cookies(cookie_names: Iterable[str], expected: Iterable[str]) -> Diagnosis | None:
    """A NextAuth session cookie the browser sent under a name this service does not read."""
    wanted = tuple(expected)
    for name in cookie_names:
        if SESSION_COOKIE_MARK not in name:
            continue  # every known name has it: a cheap pass over csrftoken, sessionid...
        base = name.rsplit(".", 1)[0] if name.rsplit(".", 1)[-1].isdigit() else name
        if base in KNOWN_SESSION_COOKIES and base not in wanted:
            return Diagnosis(
                "cookie_name",
                f"a session cookie named '{base}' arrived, but this service reads "
                f"{', '.join(repr(w) for w in wanted)}: set NEXTAUTH_JWT_FORMAT (next-auth.* is "
                "next-auth 4, authjs.* is Auth.js 5), NEXTAUTH_SECURE_COOKIE (__Secure- behind "
                "HTTPS) or NEXTAUTH_COOKIE_NAME.",
            )
    return None


# What each error can be diagnosed as; once all of an error's causes are logged, that
# error costs nothing more here.
_CAUSES: dict[type[NextAuthJWTError], frozenset[str]] = {
    TokenMissing: frozenset({"cookie_name"}),
    TokenMalformed: frozenset(
        {"pasted_header", "pasted_cookie", "quoted", "whitespace", "truncated"}
        | {"joined", "database_session", "not_a_token"}
    ),
    TokenUnsupported: frozenset({"format_mismatch", "jws_algorithm"}),
    TokenExpired: frozenset({"expired"}),
    SessionTooOld: frozenset({"session_too_old"}),
    InvalidToken: frozenset(
        {"salt_mismatch", "secret_mismatch", "key_mismatch", "better_auth_secret"}
    ),
}
_reported: set[str] = set()
_lock = threading.Lock()


def reset() -> None:
    """Forget which causes were logged (each is logged once per process, or per settings)."""
    with _lock:
        _reported.clear()
    _keyring.cache_clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("NEXTAUTH_"):
        reset()


def report(
    error: NextAuthJWTError, token: str | None, cookie_names: Iterable[str], expected: Iterable[str]
) -> None:
    """Log the cause of a refusal at WARNING, once per cause per process.

    Cheap once every cause it can find has been logged: each diagnosis is only
    worked out while its cause is still unreported.
    """
    causes = _CAUSES.get(type(error))
    if causes is None or causes <= _reported:
        return
    diagnosis: Diagnosis | None = None
    try:
        if isinstance(error, TokenMissing):
            diagnosis = diagnose_cookies(cookie_names, expected)
        elif isinstance(error, TokenMalformed):
            diagnosis = diagnose_input(token) if token is not None else None
        elif token is not None and isinstance(error, InvalidToken):
            diagnosis = diagnose_token(token, error)
    except Exception:  # a diagnosis must never turn a 401 into a 500
        logger.debug("diagnosis failed", exc_info=True)
        return
    if diagnosis is None:
        return
    with _lock:
        if diagnosis.cause in _reported:
            return
        _reported.add(diagnosis.cause)
    logger.warning("token refused: %s", diagnosis.message)
