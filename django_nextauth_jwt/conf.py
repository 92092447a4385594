"""Settings, read live from ``django.conf.settings`` on every access.

Nothing here runs at import time: every property looks the value up when it is
asked for, so ``override_settings`` and the pytest-django ``settings`` fixture
just work. A value *derived* from settings (the policy and its keyring, the
cookie names) is cached with :class:`derived` in the module that owns it; the
``setting_changed`` receiver at the bottom of this module drops every such value.
This module imports nothing of the package above it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from django_nextauth_jwt.jose.formats import (
    FORMAT_AUTHJS_V5,
    FORMAT_JWS,
    FORMAT_JWS_ASYMMETRIC,
    FORMAT_NEXTAUTH_V4,
    FORMATS,
    JWS_ALGORITHMS,
    SYMMETRIC_FORMATS,
)

__all__ = [
    "FORMATS",
    "FORMAT_AUTHJS_V5",
    "FORMAT_JWS",
    "FORMAT_JWS_ASYMMETRIC",
    "FORMAT_NEXTAUTH_V4",
    "JWS_ALGORITHMS",
    "MIN_SECRET_BYTES",
    "SYMMETRIC_FORMATS",
    "Settings",
    "app_settings",
    "derived",
]

#: The shortest secret accepted, in UTF-8 bytes: HS256 and the HKDF-derived keys are 256-bit.
MIN_SECRET_BYTES = 32
#: The longest ``NEXTAUTH_SESSION_MAX_LIFETIME`` (ten years): every deny-list entry lasts it, and
#: Redis refuses an expiry past what its millisecond clock holds.
MAX_SESSION_LIFETIME = 10 * 365 * 24 * 3600

#: Environment variables consulted, in order, when ``NEXTAUTH_SECRET`` is not set.
SECRET_ENV_VARS = ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET")

#: Session cookie names NextAuth uses by default, per format (without ``__Secure-``).
DEFAULT_COOKIE_NAMES = {
    FORMAT_JWS: "next-auth.session-token",
    FORMAT_NEXTAUTH_V4: "next-auth.session-token",
    FORMAT_AUTHJS_V5: "authjs.session-token",
    FORMAT_JWS_ASYMMETRIC: "next-auth.session-token",
}
SECURE_PREFIX = "__Secure-"

#: NextAuth's double-submit CSRF cookie names, per format (without ``__Host-``).
DEFAULT_CSRF_COOKIE_NAMES = {
    FORMAT_JWS: "next-auth.csrf-token",
    FORMAT_NEXTAUTH_V4: "next-auth.csrf-token",
    FORMAT_AUTHJS_V5: "authjs.csrf-token",
    FORMAT_JWS_ASYMMETRIC: "next-auth.csrf-token",
}
HOST_PREFIX = "__Host-"

#: Largest value NextAuth puts in one cookie before chunking (4096 minus its estimate of the
#: attributes: 163 in next-auth 4, 160 in @auth/core).
COOKIE_CHUNK_SIZES = {
    FORMAT_JWS: 3933,
    FORMAT_NEXTAUTH_V4: 3933,
    FORMAT_AUTHJS_V5: 3936,
    FORMAT_JWS_ASYMMETRIC: 3933,
}

USER_MODE_STATELESS = "stateless"
USER_MODE_DATABASE = "database"
USER_MODES = (USER_MODE_STATELESS, USER_MODE_DATABASE)

THIRTY_DAYS = 30 * 24 * 60 * 60


class Settings:
    """Typed, uncached access to every ``NEXTAUTH_*`` setting.

    Values are returned as configured; their validity is the job of
    :mod:`django_nextauth_jwt.checks` (at start-up) and of the token code
    (``ImproperlyConfigured`` at first use).
    """

    @property
    def SECRET(self) -> Any:
        """The raw ``NEXTAUTH_SECRET`` value, or the first non-empty env var."""
        value = getattr(settings, "NEXTAUTH_SECRET", None)
        if value is not None:
            return value
        for name in SECRET_ENV_VARS:
            env = os.environ.get(name)
            if env:
                return env
        return None

    @property
    def SECRETS(self) -> tuple[str, ...]:
        """The secrets as a tuple: the first signs and encrypts, all verify.

        Anything that is not a non-empty string (or a list of them) yields an
        empty tuple, which the token code treats as "not configured".
        """
        value = self.SECRET
        if isinstance(value, str):
            return (value,) if value else ()
        if (
            isinstance(value, Sequence)
            and not isinstance(value, bytes | bytearray)
            and value
            and all(isinstance(s, str) and s for s in value)
        ):
            return tuple(value)
        return ()

    @property
    def JWT_FORMAT(self) -> str:
        """The format new tokens are minted in (``jws``, ``nextauth-v4``, ``authjs-v5``)."""
        return str(getattr(settings, "NEXTAUTH_JWT_FORMAT", FORMAT_JWS))

    @property
    def ACCEPTED_FORMATS(self) -> tuple[str, ...]:
        """The formats verification accepts; defaults to ``JWT_FORMAT`` alone."""
        value = getattr(settings, "NEXTAUTH_ACCEPTED_FORMATS", None)
        if value is None:
            return (self.JWT_FORMAT,)
        if isinstance(value, str):
            return (value,)
        return tuple(value)

    @property
    def JWS_ALGORITHM(self) -> str:
        """The HMAC algorithm of ``jws`` tokens: the only one accepted, and the one signing."""
        return str(getattr(settings, "NEXTAUTH_JWS_ALGORITHM", "HS256"))

    @property
    def MAX_AGE(self) -> int:
        """Lifetime in seconds of minted tokens (NextAuth's ``session.maxAge``)."""
        value: int = getattr(settings, "NEXTAUTH_MAX_AGE", THIRTY_DAYS)
        return value

    @property
    def SESSION_MAX_LIFETIME(self) -> int:
        """Seconds a session lasts from its sign-in (``auth_time``), however often refreshed."""
        value: int = getattr(settings, "NEXTAUTH_SESSION_MAX_LIFETIME", THIRTY_DAYS)
        return value

    @property
    def LEEWAY(self) -> int:
        """Clock tolerance in seconds for ``exp``, ``nbf`` and ``iat``."""
        value: int = getattr(settings, "NEXTAUTH_LEEWAY", 15)
        return value

    @property
    def ISSUER(self) -> str | None:
        """When set, tokens must carry exactly this ``iss``; minted tokens carry it."""
        value: str | None = getattr(settings, "NEXTAUTH_ISSUER", None)
        return value

    @property
    def AUDIENCE(self) -> str | None:
        """When set, tokens' ``aud`` must be or contain this value; minted tokens carry it."""
        value: str | None = getattr(settings, "NEXTAUTH_AUDIENCE", None)
        return value

    @property
    def SECURE_COOKIE(self) -> bool:
        """Use the ``__Secure-`` cookie names (NextAuth does so when its URL is https)."""
        return bool(getattr(settings, "NEXTAUTH_SECURE_COOKIE", False))

    @property
    def COOKIE_NAME(self) -> str | None:
        """An explicit session cookie name, overriding the per-format default."""
        value: str | None = getattr(settings, "NEXTAUTH_COOKIE_NAME", None)
        return value

    @property
    def SALT(self) -> str | None:
        """An explicit Auth.js v5 salt; by default the v5 salt is the session cookie name."""
        value: str | None = getattr(settings, "NEXTAUTH_SALT", None)
        return value

    @property
    def MAX_TOKEN_LENGTH(self) -> int:
        """Tokens longer than this many characters are refused before any decoding."""
        value: int = getattr(settings, "NEXTAUTH_MAX_TOKEN_LENGTH", 32768)
        return value

    # -- asymmetric keys and JWKS (jws-asymmetric) ------------------------------------------ #

    @property
    def SIGNING_KEYS(self) -> tuple[Any, ...]:
        """Private keys (PEM or JWK, or a ``Path`` to a file of either): the first signs."""
        value = getattr(settings, "NEXTAUTH_SIGNING_KEYS", ())
        return _entries(value)

    @property
    def PUBLIC_KEYS(self) -> tuple[Any, ...]:
        """Public keys verifying ``jws-asymmetric`` tokens (PEM, JWK, JWK Set, or a ``Path``)."""
        value = getattr(settings, "NEXTAUTH_PUBLIC_KEYS", ())
        if isinstance(value, dict) and "keys" in value:
            return _entries(value["keys"])
        return _entries(value)

    @property
    def JWKS_URLS(self) -> tuple[str, ...]:
        """The JWKS URLs whose keys verify ``jws-asymmetric`` tokens."""
        value = getattr(settings, "NEXTAUTH_JWKS_URL", ())
        return _entries(value)

    @property
    def JWKS_CACHE_TTL(self) -> int:
        """Seconds a fetched JWK Set is used before it is fetched again."""
        value: int = getattr(settings, "NEXTAUTH_JWKS_CACHE_TTL", 300)
        return value

    @property
    def JWKS_REFRESH_INTERVAL(self) -> int:
        """The fewest seconds between two fetches of one JWKS URL (unknown ``kid``, failures)."""
        value: int = getattr(settings, "NEXTAUTH_JWKS_REFRESH_INTERVAL", 30)
        return value

    @property
    def JWKS_MAX_STALE(self) -> int:
        """Seconds past its TTL a JWK Set stays in use while its URL cannot be reached."""
        value: int = getattr(settings, "NEXTAUTH_JWKS_MAX_STALE", 3600)
        return value

    @property
    def JWKS_TIMEOUT(self) -> float:
        """Seconds a JWKS fetch may take, the whole response included."""
        value: float = getattr(settings, "NEXTAUTH_JWKS_TIMEOUT", 5)
        return value

    @property
    def JWKS_MAX_BYTES(self) -> int:
        """The largest JWK Set accepted, in bytes."""
        value: int = getattr(settings, "NEXTAUTH_JWKS_MAX_BYTES", 65536)
        return value

    @property
    def JWKS_MAX_AGE(self) -> int:
        """``Cache-Control: max-age`` of this service's own JWKS endpoint, in seconds."""
        value: int = getattr(settings, "NEXTAUTH_JWKS_MAX_AGE", 300)
        return value

    # -- sign-in (views, revocation, throttling, redirects) --------------------------------- #

    @property
    def REVOCATION(self) -> bool:
        """Check every token's ``jti`` against the deny-list that sign-out writes."""
        return bool(getattr(settings, "NEXTAUTH_REVOCATION", True))

    @property
    def REDIS_URL(self) -> str | None:
        """The Redis holding revocations and login counters; ``None``: the embedded store."""
        value: str | None = getattr(settings, "NEXTAUTH_REDIS_URL", None)
        return value

    @property
    def REDIS_KEY_PREFIX(self) -> str:
        """The prefix of every key this app writes in ``NEXTAUTH_REDIS_URL``."""
        return str(getattr(settings, "NEXTAUTH_REDIS_KEY_PREFIX", "nextauth_jwt:"))

    @property
    def REDIS_LOCAL_VIEW(self) -> bool:
        """Answer deny-list checks from a pub/sub-fed copy in each process (with Redis)."""
        return bool(getattr(settings, "NEXTAUTH_REDIS_LOCAL_VIEW", True))

    @property
    def REDIS_TIMEOUT(self) -> float:
        """The longest one Redis command waits on its socket, in seconds."""
        value: float = getattr(settings, "NEXTAUTH_REDIS_TIMEOUT", 0.05)
        return value

    @property
    def REDIS_REPLICAS(self) -> int | None:
        """Replicas a deny-list write waits for; ``None``: 0 on one node, 1 on Sentinel/Cluster."""
        value: int | None = getattr(settings, "NEXTAUTH_REDIS_REPLICAS", None)
        return value

    @property
    def REVOCATION_GRACE(self) -> float:
        """Seconds a local view that lost Redis keeps answering from what it holds."""
        value: float = getattr(settings, "NEXTAUTH_REVOCATION_GRACE", 10)
        return value

    @property
    def REVOCATION_FAIL_OPEN(self) -> bool:
        """When the deny-list cannot be read: accept the token (True) or refuse it (False)."""
        return bool(getattr(settings, "NEXTAUTH_REVOCATION_FAIL_OPEN", False))

    @property
    def LOGIN_REDIRECT_URL(self) -> str:
        """Where sign-in lands when no safe ``callbackUrl`` was given."""
        return str(getattr(settings, "NEXTAUTH_LOGIN_REDIRECT_URL", "/"))

    @property
    def ALLOWED_REDIRECT_ORIGINS(self) -> tuple[str, ...]:
        """Absolute ``callbackUrl`` origins allowed (e.g. ``https://app.example.com``)."""
        return tuple(getattr(settings, "NEXTAUTH_ALLOWED_REDIRECT_ORIGINS", ()))

    @property
    def WEBSOCKET_ORIGINS(self) -> tuple[str, ...]:
        """Origins besides the socket's own whose pages may open cookie-authenticated sockets."""
        return tuple(getattr(settings, "NEXTAUTH_WEBSOCKET_ORIGINS", ()))

    @property
    def WEBSOCKET_QUERY_TOKEN(self) -> bool:
        """Whether a WebSocket may offer its token as ``?access_token=`` (it lands in logs)."""
        return bool(getattr(settings, "NEXTAUTH_WEBSOCKET_QUERY_TOKEN", False))

    @property
    def LOGIN_RATE_PER_CLIENT(self) -> tuple[int, int]:
        """Login attempts per client address: ``(count, seconds)``; Google starts count apart."""
        count, seconds = getattr(settings, "NEXTAUTH_LOGIN_RATE_PER_CLIENT", (20, 300))
        return int(count), int(seconds)

    @property
    def LOGIN_RATE_PER_ACCOUNT(self) -> tuple[int, int]:
        """Failed-or-not login attempts allowed per account identifier: ``(count, seconds)``."""
        count, seconds = getattr(settings, "NEXTAUTH_LOGIN_RATE_PER_ACCOUNT", (5, 300))
        return int(count), int(seconds)

    @property
    def LOGIN_RATE_UNKNOWN_CLIENT(self) -> tuple[int, int]:
        """The budget all clients of unknown address share: ``(count, seconds)``."""
        count, seconds = getattr(settings, "NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT", (1000, 300))
        return int(count), int(seconds)

    @property
    def TRUSTED_PROXY_COUNT(self) -> int:
        """Reverse proxies in front of Django that append to ``X-Forwarded-For`` (0: none)."""
        value: int = getattr(settings, "NEXTAUTH_TRUSTED_PROXY_COUNT", 0)
        return value

    @property
    def CLIENT_ADDRESS_MAX_AGE(self) -> int:
        """Seconds a signed client address from the Next.js server stays acceptable."""
        value: int = getattr(settings, "NEXTAUTH_CLIENT_ADDRESS_MAX_AGE", 60)
        return value

    @property
    def MAX_PASSWORD_LENGTH(self) -> int:
        """Longer passwords are refused before hashing (a slow hash is a DoS lever)."""
        value: int = getattr(settings, "NEXTAUTH_MAX_PASSWORD_LENGTH", 1024)
        return value

    @property
    def MAX_BODY_SIZE(self) -> int:
        """Sign-in request bodies larger than this many bytes are refused unread (413)."""
        value: int = getattr(settings, "NEXTAUTH_MAX_BODY_SIZE", 8192)
        return value

    @property
    def STAFF_ROLES(self) -> tuple[str, ...]:
        """Token roles that make a user ``is_staff``."""
        return tuple(getattr(settings, "NEXTAUTH_STAFF_ROLES", ("admin",)))

    @property
    def SUPERUSER_ROLES(self) -> tuple[str, ...]:
        """Token roles that make a user ``is_superuser`` (and staff)."""
        return tuple(getattr(settings, "NEXTAUTH_SUPERUSER_ROLES", ()))

    # -- request authentication (transport, CSRF, middleware, users) ------------------------- #

    @property
    def MAX_COOKIE_CHUNKS(self) -> int:
        """The most session-cookie chunks (``name.0`` ... ``name.n-1``) read; more is malformed."""
        value: int = getattr(settings, "NEXTAUTH_MAX_COOKIE_CHUNKS", 8)
        return value

    @property
    def COOKIE_DOMAIN(self) -> str | None:
        """The ``Domain`` the session cookie is written with (``None``: host-only, as NextAuth)."""
        value: str | None = getattr(settings, "NEXTAUTH_COOKIE_DOMAIN", None)
        return value

    @property
    def DELETE_COOKIE_DOMAIN(self) -> str | None:
        """The parent domain sign-out also expires the cookie for: ``COOKIE_DOMAIN``, else Django's
        ``SESSION_COOKIE_DOMAIN``."""
        value = self.COOKIE_DOMAIN or getattr(settings, "SESSION_COOKIE_DOMAIN", None)
        return str(value) if value else None

    @property
    def CSRF_HEADER_NAME(self) -> str:
        """The request header that carries NextAuth's double-submit CSRF token back."""
        return str(getattr(settings, "NEXTAUTH_CSRF_HEADER_NAME", "X-CSRF-Token"))

    @property
    def CSRF_COOKIE_NAME(self) -> str | None:
        """An explicit NextAuth CSRF cookie name, overriding the per-format default."""
        value: str | None = getattr(settings, "NEXTAUTH_CSRF_COOKIE_NAME", None)
        return value

    @property
    def PROTECTED_PATHS(self) -> tuple[str, ...]:
        """Path prefixes the middleware refuses without a valid token."""
        return tuple(getattr(settings, "NEXTAUTH_PROTECTED_PATHS", ()))

    @property
    def PUBLIC_PATHS(self) -> tuple[str, ...]:
        """Path prefixes never protected by the middleware, even inside a protected prefix."""
        return tuple(getattr(settings, "NEXTAUTH_PUBLIC_PATHS", ()))

    @property
    def API_PATHS(self) -> tuple[str, ...]:
        """Path prefixes answered with a 401 JSON body instead of a sign-in redirect."""
        return tuple(getattr(settings, "NEXTAUTH_API_PATHS", ("/api/",)))

    @property
    def SIGNIN_URL(self) -> str:
        """Where the middleware sends people on protected pages; ``callbackUrl`` is appended."""
        return str(getattr(settings, "NEXTAUTH_SIGNIN_URL", "/api/auth/signin"))

    @property
    def USER_MODE(self) -> str:
        """``stateless`` (a ``TokenUser``, no query) or ``database`` (a row of the user model)."""
        return str(getattr(settings, "NEXTAUTH_USER_MODE", "stateless"))

    @property
    def USER_LOOKUP_CLAIM(self) -> str:
        """Database mode: the claim that identifies the user (``id`` or ``email``, or any claim)."""
        return str(getattr(settings, "NEXTAUTH_USER_LOOKUP_CLAIM", "id"))

    @property
    def USER_LOOKUP_FIELD(self) -> str | None:
        """Database mode: the model field matched (default ``pk``, or the email field for email)."""
        value: str | None = getattr(settings, "NEXTAUTH_USER_LOOKUP_FIELD", None)
        return value

    @property
    def PROVISION_USERS(self) -> bool:
        """Database mode: create the user on first sight of a valid token (just in time)."""
        return bool(getattr(settings, "NEXTAUTH_PROVISION_USERS", False))

    @property
    def SYNC_ROLES(self) -> bool:
        """Database mode: re-apply the role mapping (staff, superuser, groups) on every request."""
        return bool(getattr(settings, "NEXTAUTH_SYNC_ROLES", False))

    @property
    def ROLE_GROUPS(self) -> dict[str, tuple[str, ...]]:
        """Database mode: token role -> names of the Django groups a user with that role is in."""
        value = getattr(settings, "NEXTAUTH_ROLE_GROUPS", {})
        return {role: tuple(groups) for role, groups in dict(value).items()}

    # -- Better Auth's session cookie cache (docs/better-auth.md) ---------------------------- #

    @property
    def BETTER_AUTH_STRATEGY(self) -> str | None:
        """Better Auth's ``session.cookieCache.strategy`` read (compact, jwt, jwe); None: off."""
        value: str | None = getattr(settings, "NEXTAUTH_BETTER_AUTH_STRATEGY", None)
        return value

    @property
    def BETTER_AUTH_SECRET(self) -> Any:
        """Better Auth's secret; default the ``BETTER_AUTH_SECRET``, then ``AUTH_SECRET`` env."""
        value = getattr(settings, "NEXTAUTH_BETTER_AUTH_SECRET", None)
        if value is not None:
            return value
        for name in ("BETTER_AUTH_SECRET", "AUTH_SECRET"):
            env = os.environ.get(name)
            if env:
                return env
        return None

    @property
    def BETTER_AUTH_SECRETS(self) -> Any:
        """Better Auth's secret versions (``"2:new,1:old"`` or pairs); default the env var."""
        value = getattr(settings, "NEXTAUTH_BETTER_AUTH_SECRETS", None)
        if value is not None:
            return value
        return os.environ.get("BETTER_AUTH_SECRETS") or None

    @property
    def BETTER_AUTH_COOKIE_PREFIX(self) -> str:
        """Better Auth's ``advanced.cookiePrefix``: the cookie is ``<prefix>.session_data``."""
        return str(getattr(settings, "NEXTAUTH_BETTER_AUTH_COOKIE_PREFIX", "better-auth"))

    @property
    def BETTER_AUTH_VERSION(self) -> str:
        """Better Auth's ``session.cookieCache.version``: cookies of another version are refused."""
        return str(getattr(settings, "NEXTAUTH_BETTER_AUTH_VERSION", "1"))

    def csrf_cookie_name(self, fmt: str | None = None) -> str:
        """NextAuth's CSRF cookie name for ``fmt``: ``__Host-`` prefixed when cookies are secure."""
        explicit = self.CSRF_COOKIE_NAME
        if explicit:
            return explicit
        base = DEFAULT_CSRF_COOKIE_NAMES.get(
            fmt or self.JWT_FORMAT, DEFAULT_CSRF_COOKIE_NAMES[FORMAT_JWS]
        )
        return HOST_PREFIX + base if self.SECURE_COOKIE else base

    def session_cookie_name(self, fmt: str | None = None) -> str:
        """The session cookie name for ``fmt`` (default: ``JWT_FORMAT``)."""
        explicit = self.COOKIE_NAME
        if explicit:
            return explicit
        base = DEFAULT_COOKIE_NAMES.get(fmt or self.JWT_FORMAT, DEFAULT_COOKIE_NAMES[FORMAT_JWS])
        return SECURE_PREFIX + base if self.SECURE_COOKIE else base

    @property
    def V5_SALT(self) -> str:
        """The salt Auth.js v5 keys are derived with: ``SALT``, else the v5 cookie name."""
        return self.SALT or self.session_cookie_name(FORMAT_AUTHJS_V5)


def _entries(value: Any) -> tuple[Any, ...]:
    # One value or a list of them; a mapping is one JWK, not a list of its keys.
    if value is None:
        return ()
    if isinstance(value, str | bytes | dict | os.PathLike):
        return (value,)
    return tuple(value)


app_settings = Settings()

T = TypeVar("T")

_get_attribute = object.__getattribute__


class derived(Generic[T]):  # noqa: N801 - used as a decorator
    """Cache a value computed from settings, per settings object.

    Reading a dozen settings on every request costs more than verifying an HMAC
    (each missing setting is a caught ``AttributeError``). ``override_settings``
    swaps the settings object, so the value is recomputed even for a deletion
    that sends no ``setting_changed`` (pytest-django's ``del settings.X``), and
    the ``setting_changed`` receiver below clears it for every other change.
    Environment variables are read when the value is computed.
    """

    instances: ClassVar[list[derived[Any]]] = []

    def __init__(self, compute: Callable[[], T]) -> None:
        functools.update_wrapper(self, compute)
        self.compute = compute
        self.held: tuple[object, T] | None = None  # replaced whole: no torn reads
        derived.instances.append(self)

    def __call__(self) -> T:
        """The cached value, recomputed when the settings object changed."""
        # Past LazyObject.__getattribute__ (Python code): this runs several times a request.
        wrapped = _get_attribute(settings, "_wrapped")
        held = self.held
        if held is not None and held[0] is wrapped:
            return held[1]
        value = self.compute()
        self.held = (wrapped, value)
        return value

    def cache_clear(self) -> None:
        """Forget the value."""
        self.held = None


@receiver(setting_changed)
def _clear_derived_caches(*, setting: str, **kwargs: Any) -> None:
    # Every derived value registered itself here: nothing needs importing.
    if setting.startswith("NEXTAUTH_"):
        for value in derived.instances:
            value.cache_clear()
