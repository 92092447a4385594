"""System checks: misconfiguration fails at start-up, with an id and a hint.

Every id is listed in the README and tested in ``tests/test_checks.py``.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.urls import Resolver404, resolve

from django_nextauth_jwt.conf import (
    FORMAT_JWS_ASYMMETRIC,
    FORMATS,
    JWS_ALGORITHMS,
    MAX_SESSION_LIFETIME,
    MIN_SECRET_BYTES,
    SYMMETRIC_FORMATS,
    USER_MODE_DATABASE,
    USER_MODE_STATELESS,
    USER_MODES,
    app_settings,
)
from django_nextauth_jwt.jose.betterauth import STRATEGIES as BETTER_AUTH_STRATEGIES
from django_nextauth_jwt.policy import (
    better_auth_secrets,
    load_public_keys,
    load_signing_keys,
    valid_better_auth_text,
    valid_jwks_url,
)
from django_nextauth_jwt.state import topology
from django_nextauth_jwt.users import lookup_field


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole_number(name: str, default: int, low: int, high: int | None = None) -> bool:
    """True when setting ``name`` (``default`` when unset) is a whole number from low to high."""
    value = getattr(settings, name, default)
    return _is_int(value) and low <= value and (high is None or value <= high)


def _optional_text(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == value and value != "")


def _str_list(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str | bytes)
        and all(isinstance(v, str) and v for v in value)
    )


def _check_secret() -> list[CheckMessage]:
    value = app_settings.SECRET
    in_use = {app_settings.JWT_FORMAT, *app_settings.ACCEPTED_FORMATS}
    if (value is None or value in ("", [], ())) and not in_use & set(SYMMETRIC_FORMATS):
        return []  # key pairs only: no shared secret is needed, and none should be set
    if value is None or value in ("", [], ()):
        return [
            Error(
                "No NextAuth secret is configured.",
                hint="Set NEXTAUTH_SECRET (the same value as the Next.js app's) or the "
                "NEXTAUTH_SECRET / AUTH_SECRET / JWT_SECRET environment variable. "
                "Generate one with: openssl rand -base64 32",
                id="nextauth_jwt.E001",
            )
        ]
    if not app_settings.SECRETS:
        return [
            Error(
                "NEXTAUTH_SECRET must be a non-empty string or a list of non-empty strings.",
                hint="Use a list to rotate: the first secret signs, every one verifies.",
                id="nextauth_jwt.E002",
            )
        ]
    if any(len(s.encode()) < MIN_SECRET_BYTES for s in app_settings.SECRETS):
        return [
            Error(
                f"A NextAuth secret is shorter than {MIN_SECRET_BYTES} bytes.",
                # Changing only this side would refuse every token: say that both change.
                hint="Generate one with: openssl rand -base64 32, and set it on both sides: "
                "here and as the Next.js app's NEXTAUTH_SECRET (AUTH_SECRET for Auth.js 5). "
                "The two must hold the same value, or every token is refused.",
                id="nextauth_jwt.E003",
            )
        ]
    return []


def _check_formats() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    fmt = getattr(settings, "NEXTAUTH_JWT_FORMAT", None)
    if fmt is not None and fmt not in FORMATS:
        errors.append(
            Error(
                "NEXTAUTH_JWT_FORMAT is not a known format.",
                hint=f"Use one of: {', '.join(FORMATS)}.",
                id="nextauth_jwt.E004",
            )
        )
    accepted = getattr(settings, "NEXTAUTH_ACCEPTED_FORMATS", None)
    if accepted is not None:
        formats = [accepted] if isinstance(accepted, str) else accepted
        if (
            not _str_list(formats)
            or not formats
            or any(f not in FORMATS for f in formats)
            or app_settings.JWT_FORMAT not in formats
        ):
            errors.append(
                Error(
                    "NEXTAUTH_ACCEPTED_FORMATS must list known formats, including "
                    "NEXTAUTH_JWT_FORMAT.",
                    hint=f"Known formats: {', '.join(FORMATS)}.",
                    id="nextauth_jwt.E005",
                )
            )
    if app_settings.JWS_ALGORITHM not in JWS_ALGORITHMS:
        errors.append(
            Error(
                "NEXTAUTH_JWS_ALGORITHM is not an allowed HMAC algorithm.",
                hint=f"Use one of: {', '.join(JWS_ALGORITHMS)}.",
                id="nextauth_jwt.E006",
            )
        )
    return errors


def _check_values() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    text_settings = [
        ("NEXTAUTH_ISSUER", app_settings.ISSUER, "nextauth_jwt.E007"),
        ("NEXTAUTH_AUDIENCE", app_settings.AUDIENCE, "nextauth_jwt.E008"),
        ("NEXTAUTH_COOKIE_NAME", app_settings.COOKIE_NAME, "nextauth_jwt.E011"),
        ("NEXTAUTH_SALT", app_settings.SALT, "nextauth_jwt.E012"),
    ]
    for name, value, check_id in text_settings:
        if not _optional_text(value):
            errors.append(
                Error(
                    f"{name} must be a non-empty string without surrounding spaces, or None.",
                    hint="It is compared exactly; leave it unset to skip it.",
                    id=check_id,
                )
            )
    leeway = app_settings.LEEWAY
    if not _is_int(leeway) or leeway < 0:
        errors.append(
            Error(
                "NEXTAUTH_LEEWAY must be a whole number of seconds, zero or more.",
                hint="NextAuth uses 15.",
                id="nextauth_jwt.E009",
            )
        )
    max_age = app_settings.MAX_AGE
    if not _is_int(max_age) or max_age <= 0:
        errors.append(
            Error(
                "NEXTAUTH_MAX_AGE must be a positive whole number of seconds.",
                hint="NextAuth's default is 2592000 (30 days).",
                id="nextauth_jwt.E010",
            )
        )
    lifetime = app_settings.SESSION_MAX_LIFETIME
    if not _is_int(lifetime) or not 0 < lifetime <= MAX_SESSION_LIFETIME:
        errors.append(
            Error(
                "NEXTAUTH_SESSION_MAX_LIFETIME must be a whole number of seconds, from 1 to "
                f"{MAX_SESSION_LIFETIME} (ten years).",
                hint="A session ends this long after sign-in however often it is refreshed; "
                "the default is 2592000 (30 days). Give the Next.js app the same value.",
                id="nextauth_jwt.E043",
            )
        )
    max_length = app_settings.MAX_TOKEN_LENGTH
    if not _is_int(max_length) or max_length < 1024:
        errors.append(
            Error(
                "NEXTAUTH_MAX_TOKEN_LENGTH must be a whole number, at least 1024.",
                hint="The default, 32768, fits NextAuth's chunked cookies.",
                id="nextauth_jwt.E013",
            )
        )
    roles = {
        "NEXTAUTH_STAFF_ROLES": getattr(settings, "NEXTAUTH_STAFF_ROLES", ()),
        "NEXTAUTH_SUPERUSER_ROLES": getattr(settings, "NEXTAUTH_SUPERUSER_ROLES", ()),
    }
    for name, role_list in roles.items():
        if not _str_list(role_list):
            errors.append(
                Error(
                    f"{name} must be a list of role names.",
                    hint='For example ["admin"].',
                    id="nextauth_jwt.E014",
                )
            )
    return errors


# -- request authentication (transport, CSRF, middleware, users): E020 onwards -------------- #

_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
_MIDDLEWARE = "django_nextauth_jwt.middleware.NextAuthJWTMiddleware"
_AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _check_request_settings() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if not _whole_number("NEXTAUTH_MAX_COOKIE_CHUNKS", 8, 1, 64):
        errors.append(
            Error(
                "NEXTAUTH_MAX_COOKIE_CHUNKS must be a whole number from 1 to 64.",
                hint="The default, 8, allows about 31 kB of cookie.",
                id="nextauth_jwt.E020",
            )
        )
    header = getattr(settings, "NEXTAUTH_CSRF_HEADER_NAME", "X-CSRF-Token")
    if not isinstance(header, str) or not _HEADER_NAME.fullmatch(header):
        errors.append(
            Error(
                "NEXTAUTH_CSRF_HEADER_NAME must be an HTTP header name (letters, digits, dashes).",
                hint='For example "X-CSRF-Token".',
                id="nextauth_jwt.E021",
            )
        )
    if not _optional_text(getattr(settings, "NEXTAUTH_CSRF_COOKIE_NAME", None)):
        errors.append(
            Error(
                "NEXTAUTH_CSRF_COOKIE_NAME must be a non-empty string without spaces, or None.",
                hint="Leave it unset to use NextAuth's default for the configured format.",
                id="nextauth_jwt.E022",
            )
        )
    for name, default in (
        ("NEXTAUTH_PROTECTED_PATHS", ()),
        ("NEXTAUTH_PUBLIC_PATHS", ()),
        ("NEXTAUTH_API_PATHS", ("/api/",)),
    ):
        value = getattr(settings, name, default)
        if not _str_list(value) or not all(p.startswith("/") for p in value):
            errors.append(
                Error(
                    f"{name} must be a list of path prefixes starting with '/'.",
                    hint='End prefixes with "/" so that "/api/" does not match "/apiary".',
                    id="nextauth_jwt.E023",
                )
            )
    signin = getattr(settings, "NEXTAUTH_SIGNIN_URL", "/api/auth/signin")
    if not isinstance(signin, str) or not signin.strip() or signin != signin.strip():
        errors.append(
            Error(
                "NEXTAUTH_SIGNIN_URL must be a non-empty URL or path.",
                hint='NextAuth\'s own page is "/api/auth/signin" on the Next.js app.',
                id="nextauth_jwt.E024",
            )
        )
    errors += _check_user_settings()
    errors += _check_middleware_order()
    return errors


def _check_user_settings() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    mode = getattr(settings, "NEXTAUTH_USER_MODE", USER_MODE_STATELESS)
    if mode not in USER_MODES:
        errors.append(
            Error(
                "NEXTAUTH_USER_MODE is not a known mode.",
                hint=f"Use one of: {', '.join(USER_MODES)}.",
                id="nextauth_jwt.E025",
            )
        )
    claim = getattr(settings, "NEXTAUTH_USER_LOOKUP_CLAIM", "id")
    field = getattr(settings, "NEXTAUTH_USER_LOOKUP_FIELD", None)
    if not _optional_text(claim) or claim is None or not _optional_text(field):
        errors.append(
            Error(
                "NEXTAUTH_USER_LOOKUP_CLAIM must be a claim name and NEXTAUTH_USER_LOOKUP_FIELD "
                "a field name or None.",
                hint='Usually "id" (matched to the primary key) or "email".',
                id="nextauth_jwt.E026",
            )
        )
    elif mode == USER_MODE_DATABASE:
        from django.contrib.auth import get_user_model
        from django.core.exceptions import FieldDoesNotExist

        name = lookup_field()
        if name != "pk":
            try:
                get_user_model()._meta.get_field(name)
            except FieldDoesNotExist:
                errors.append(
                    Error(
                        f"The user model has no field {name!r} to look users up by.",
                        hint="Set NEXTAUTH_USER_LOOKUP_FIELD to a field of AUTH_USER_MODEL.",
                        id="nextauth_jwt.E026",
                    )
                )
    for name in ("NEXTAUTH_PROVISION_USERS", "NEXTAUTH_SYNC_ROLES"):
        if not isinstance(getattr(settings, name, False), bool):
            errors.append(
                Error(
                    f"{name} must be True or False.",
                    hint='It only has an effect when NEXTAUTH_USER_MODE is "database".',
                    id="nextauth_jwt.E027",
                )
            )
    groups = getattr(settings, "NEXTAUTH_ROLE_GROUPS", {})
    if not isinstance(groups, dict) or not all(
        isinstance(role, str) and role and _str_list(names) for role, names in groups.items()
    ):
        errors.append(
            Error(
                "NEXTAUTH_ROLE_GROUPS must map role names to lists of group names.",
                hint='For example {"admin": ["Administrators"], "editor": ["Editors"]}.',
                id="nextauth_jwt.E028",
            )
        )
    return errors


def _check_middleware_order() -> list[CheckMessage]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if (
        _MIDDLEWARE in middleware
        and _AUTH_MIDDLEWARE in middleware
        and middleware.index(_MIDDLEWARE) < middleware.index(_AUTH_MIDDLEWARE)
    ):
        return [
            Error(
                "NextAuthJWTMiddleware comes before AuthenticationMiddleware.",
                hint="Move it after AuthenticationMiddleware, which would otherwise replace "
                "the token's user with the session's.",
                id="nextauth_jwt.E029",
            )
        ]
    return []


def _rate(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(_is_int(v) and v > 0 for v in value)
    )


def _is_origin(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment or parts.username or parts.password)
    )


def _check_signin_settings() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    flags = ("NEXTAUTH_REVOCATION", "NEXTAUTH_REVOCATION_FAIL_OPEN", "NEXTAUTH_REDIS_LOCAL_VIEW")
    if any(not isinstance(getattr(settings, name, False), bool) for name in flags):
        errors.append(
            Error(
                "NEXTAUTH_REVOCATION, NEXTAUTH_REVOCATION_FAIL_OPEN and NEXTAUTH_REDIS_LOCAL_VIEW "
                "must be booleans.",
                hint="A string such as 'False' is true in Python.",
                id="nextauth_jwt.E030",
            )
        )
    for name in ("NEXTAUTH_REVOCATION_CACHE", "NEXTAUTH_THROTTLE_CACHE"):
        if hasattr(settings, name):
            errors.append(
                Error(
                    f"{name} is no longer read: revocations and login counters live in a "
                    "store of their own, never in Django's cache.",
                    hint="Remove it; set NEXTAUTH_REDIS_URL to the Redis your processes share.",
                    id="nextauth_jwt.E031",
                )
            )
    errors += _check_state_store()
    landing = getattr(settings, "NEXTAUTH_LOGIN_REDIRECT_URL", "/")
    if not isinstance(landing, str) or not landing.startswith("/") or landing.startswith("//"):
        errors.append(
            Error(
                "NEXTAUTH_LOGIN_REDIRECT_URL must be a path on this site, starting with one '/'.",
                hint='For example "/".',
                id="nextauth_jwt.E032",
            )
        )
    origins = getattr(settings, "NEXTAUTH_ALLOWED_REDIRECT_ORIGINS", ())
    if not _str_list(origins) or not all(_is_origin(o) for o in origins):
        errors.append(
            Error(
                "NEXTAUTH_ALLOWED_REDIRECT_ORIGINS must list origins like https://app.example.com.",
                hint="Scheme and host (and port) only: no path, query or credentials.",
                id="nextauth_jwt.E033",
            )
        )
    errors += _check_websockets()
    for name in (
        "NEXTAUTH_LOGIN_RATE_PER_CLIENT",
        "NEXTAUTH_LOGIN_RATE_PER_ACCOUNT",
        "NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT",
    ):
        if not _rate(getattr(settings, name, (1, 1))):
            errors.append(
                Error(
                    f"{name} must be (attempts, seconds), two positive whole numbers.",
                    hint="For example (5, 300): five attempts per five minutes.",
                    id="nextauth_jwt.E034",
                )
            )
    if not _whole_number("NEXTAUTH_TRUSTED_PROXY_COUNT", 0, 0):
        errors.append(
            Error(
                "NEXTAUTH_TRUSTED_PROXY_COUNT must be a whole number, zero or more.",
                hint="Count only proxies you run; each appends one X-Forwarded-For entry.",
                id="nextauth_jwt.E035",
            )
        )
    if not _whole_number("NEXTAUTH_MAX_PASSWORD_LENGTH", 1024, 64, 65536):
        errors.append(
            Error(
                "NEXTAUTH_MAX_PASSWORD_LENGTH must be a whole number from 64 to 65536.",
                hint="The default, 1024, is far above any real password.",
                id="nextauth_jwt.E036",
            )
        )
    if not _whole_number("NEXTAUTH_MAX_BODY_SIZE", 8192, 1024, 1_048_576):
        errors.append(
            Error(
                "NEXTAUTH_MAX_BODY_SIZE must be a whole number of bytes from 1024 to 1048576.",
                hint="The default, 8192, holds an email, a long password and a callbackUrl.",
                id="nextauth_jwt.E042",
            )
        )
    if "social_django" in settings.INSTALLED_APPS:
        pipeline = getattr(settings, "SOCIAL_AUTH_PIPELINE", ())
        if "django_nextauth_jwt.pipeline.issue_token" not in pipeline:
            errors.append(
                Error(
                    "SOCIAL_AUTH_PIPELINE does not end Google sign-in with issue_token.",
                    hint="Set SOCIAL_AUTH_PIPELINE = django_nextauth_jwt.pipeline.PIPELINE.",
                    id="nextauth_jwt.E037",
                )
            )
    return errors


def _redis_url_error(url: Any) -> str | None:
    """What is wrong with ``NEXTAUTH_REDIS_URL`` (None when unset or good)."""
    if url is None:
        return None
    try:
        topology.parse(url)
    except ValueError as exc:
        return f"is not a Redis, Sentinel or Cluster URL: {exc}"
    return None


def _redis_numbers() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    timeout = getattr(settings, "NEXTAUTH_REDIS_TIMEOUT", 0.05)
    if not _number(timeout) or not 0.001 <= timeout <= 5:
        errors.append(
            Error(
                "NEXTAUTH_REDIS_TIMEOUT must be a number of seconds from 0.001 to 5.",
                hint="The default, 0.05, bounds what a dead or frozen Redis adds to a request.",
                id="nextauth_jwt.E070",
            )
        )
    replicas = getattr(settings, "NEXTAUTH_REDIS_REPLICAS", None)
    if replicas is not None and not (_is_int(replicas) and 0 <= replicas <= 16):
        errors.append(
            Error(
                "NEXTAUTH_REDIS_REPLICAS must be None or a whole number from 0 to 16.",
                hint="None waits for one replica with Sentinel or Cluster and none on one node.",
                id="nextauth_jwt.E071",
            )
        )
    grace = getattr(settings, "NEXTAUTH_REVOCATION_GRACE", 10)
    if not _number(grace) or not 0 <= grace <= 300:
        errors.append(
            Error(
                "NEXTAUTH_REVOCATION_GRACE must be a number of seconds from 0 to 300.",
                hint="The default, 10, covers a Sentinel failover; 0 fails closed at once.",
                id="nextauth_jwt.E072",
            )
        )
    return errors


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_websockets() -> list[CheckMessage]:
    """The Channels integration's settings (read whether or not Channels is installed)."""
    found: list[CheckMessage] = []
    origins = getattr(settings, "NEXTAUTH_WEBSOCKET_ORIGINS", ())
    if not _str_list(origins) or not all(_is_origin(o) for o in origins):
        found.append(
            Error(
                "NEXTAUTH_WEBSOCKET_ORIGINS must list origins like https://app.example.com.",
                hint="Scheme and host (and port) only, exactly as browsers send Origin.",
                id="nextauth_jwt.E090",
            )
        )
    query = getattr(settings, "NEXTAUTH_WEBSOCKET_QUERY_TOKEN", False)
    if not isinstance(query, bool):
        found.append(
            Error("NEXTAUTH_WEBSOCKET_QUERY_TOKEN must be True or False.", id="nextauth_jwt.E091")
        )
    elif query:
        found.append(
            Warning(
                "NEXTAUTH_WEBSOCKET_QUERY_TOKEN is on: WebSocket tokens in query strings are "
                "written to access logs, proxies' logs and browser history.",
                hint="Offer the token as a Sec-WebSocket-Protocol entry (docs/integrations.md).",
                id="nextauth_jwt.W090",
            )
        )
    asgi = getattr(settings, "ASGI_APPLICATION", None)
    view = getattr(settings, "NEXTAUTH_REDIS_LOCAL_VIEW", True)
    if asgi and getattr(settings, "NEXTAUTH_REDIS_URL", None) and view is False:
        found.append(
            Warning(
                "NEXTAUTH_REDIS_LOCAL_VIEW is off: open WebSockets close at sign-out only on the "
                "process that wrote the revocation; on the others, at their token's expiry.",
                hint="Keep the local view on where NextAuthChannelsMiddleware serves sockets.",
                id="nextauth_jwt.W091",
            )
        )
    return found


def _check_state_store() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    url = getattr(settings, "NEXTAUTH_REDIS_URL", None)
    prefix = getattr(settings, "NEXTAUTH_REDIS_KEY_PREFIX", "nextauth_jwt:")
    url_error = _redis_url_error(url)
    if url_error is not None:
        errors.append(
            Error(
                f"NEXTAUTH_REDIS_URL {url_error}.",
                hint='For example "redis://redis:6379/2", '
                '"redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster/2" or '
                '"redis+cluster://n1:6379,n2:6379,n3:6379"; None keeps the embedded store.',
                id="nextauth_jwt.E038",
            )
        )
    elif url is not None and importlib.util.find_spec("redis") is None:
        errors.append(
            Error(
                "NEXTAUTH_REDIS_URL is set but redis-py is not installed.",
                hint="pip install django-nextauth-jwt[redis]",
                id="nextauth_jwt.E038",
            )
        )
    if not isinstance(prefix, str) or not prefix or prefix != prefix.strip():
        errors.append(
            Error(
                "NEXTAUTH_REDIS_KEY_PREFIX must be a non-empty string without spaces.",
                hint='The default is "nextauth_jwt:".',
                id="nextauth_jwt.E038",
            )
        )
    errors.extend(_redis_numbers())
    if not _whole_number("NEXTAUTH_CLIENT_ADDRESS_MAX_AGE", 60, 1, 600):
        errors.append(
            Error(
                "NEXTAUTH_CLIENT_ADDRESS_MAX_AGE must be a whole number of seconds from 1 to 600.",
                hint="The default, 60, allows for the clock skew between the Next.js server "
                "and Django.",
                id="nextauth_jwt.E039",
            )
        )
    domain = getattr(settings, "NEXTAUTH_COOKIE_DOMAIN", None)
    host_only = str(getattr(settings, "NEXTAUTH_COOKIE_NAME", None) or "").startswith("__Host-")
    if (
        not _optional_text(domain)
        or (isinstance(domain, str) and (" " in domain or ";" in domain))
        or (domain is not None and host_only)
    ):
        errors.append(
            Error(
                "NEXTAUTH_COOKIE_DOMAIN must be a domain name, or None (and None for a "
                "__Host- cookie, which browsers refuse with a Domain).",
                hint='For example ".example.com", as in NextAuth\'s cookies.sessionToken.options.',
                id="nextauth_jwt.E040",
            )
        )
    return errors + _check_redis_shared_with_cache(url)


def _redis_place(location: Any) -> tuple[str, str, int] | None:
    """A Redis URL's server and database number (``redis://h:p/2``, ``?db=2``), or None."""
    if not isinstance(location, str) or "://" not in location:
        return None
    try:
        parts = urlsplit(location)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme == "unix":
        server = parts.path
        number = re.search(r"(?:^|&)db=([0-9]+)", parts.query)
        return server, "", int(number.group(1)) if number else 0
    if parts.scheme not in ("redis", "rediss"):
        return None
    number = re.fullmatch(r"/?([0-9]*)", parts.path or "")
    query = re.search(r"(?:^|&)db=([0-9]+)", parts.query)
    database = int(query.group(1)) if query else int(number.group(1) or 0) if number else 0
    return (parts.hostname or "localhost").lower(), str(port or 6379), database


def _check_redis_shared_with_cache(url: Any) -> list[CheckMessage]:
    # The deny-list and the login locks live in NEXTAUTH_REDIS_URL: a cache in the same
    # database loses them to cache.clear() (FLUSHDB), whatever key prefixes say.
    place = _redis_place(url)
    if place is None:
        return []
    caches = getattr(settings, "CACHES", {})
    shared = []
    for alias, config in caches.items() if isinstance(caches, dict) else ():
        location = config.get("LOCATION") if isinstance(config, dict) else None
        locations = location if isinstance(location, list | tuple) else [location]
        if any(_redis_place(each) == place for each in locations):
            shared.append(str(alias))
    if not shared:
        return []
    return [
        Warning(
            f"NEXTAUTH_REDIS_URL is the Redis database of the cache {', '.join(shared)!s}: "
            "cache.clear() (FLUSHDB) there wipes the deny-list and every sign-in lock, and the "
            "cache's eviction policy applies to them.",
            hint="Give the state store a database of its own (another number, e.g. "
            '"redis://redis:6379/1") on a Redis with persistence (appendonly yes) and '
            "maxmemory-policy noeviction; see docs/deployment.md.",
            id="nextauth_jwt.W030",
        )
    ]


_CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"


def _check_csrf_middleware() -> list[CheckMessage]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if _MIDDLEWARE in middleware and _CSRF_MIDDLEWARE not in middleware:
        return [
            Error(
                "NextAuthJWTMiddleware authenticates by session cookie, but "
                "CsrfViewMiddleware is not installed.",
                hint="Add django.middleware.csrf.CsrfViewMiddleware: without it any site can "
                "make a signed-in browser POST to plain Django views (the DRF class checks "
                "CSRF itself; plain views rely on the middleware).",
                id="nextauth_jwt.E041",
            )
        ]
    return []


def _check_lookup_is_chosen() -> list[CheckMessage]:
    if getattr(settings, "NEXTAUTH_USER_MODE", "stateless") != "database":
        return []
    if hasattr(settings, "NEXTAUTH_USER_LOOKUP_CLAIM"):
        return []
    return [
        Warning(
            "Database mode looks users up by the token's id (sub) as the primary key, "
            "but NEXTAUTH_USER_LOOKUP_CLAIM was not chosen.",
            hint="NextAuth without an adapter puts the provider's account id in sub, which "
            "may equal an unrelated user's primary key. Set NEXTAUTH_USER_LOOKUP_CLAIM = "
            '"email" for such tokens, or "id" when this service mints them.',
            id="nextauth_jwt.W002",
        )
    ]


# -- asymmetric keys and JWKS: E050 onwards ---------------------------------------------------- #


def _check_asymmetric() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    signing: tuple[Any, ...] = ()
    public: tuple[Any, ...] = ()
    try:
        signing = load_signing_keys(app_settings.SIGNING_KEYS)
    except (ValueError, TypeError, OSError) as exc:
        # The loaders' messages name the problem, never the key material.
        errors.append(
            Error(
                f"NEXTAUTH_SIGNING_KEYS cannot be loaded: {exc}.",
                hint="Give private keys as PEM (unencrypted PKCS#8) or JWK, or a Path to a "
                "file holding one: Ed25519, P-256 or RSA of 2048 bits or more.",
                id="nextauth_jwt.E050",
            )
        )
    try:
        public = load_public_keys(app_settings.PUBLIC_KEYS)
    except (ValueError, TypeError, OSError) as exc:
        errors.append(
            Error(
                f"NEXTAUTH_PUBLIC_KEYS cannot be loaded: {exc}.",
                hint="Give public keys as PEM or JWK (no private members), a JWK Set, or a "
                "Path to a file holding one.",
                id="nextauth_jwt.E051",
            )
        )
    urls = app_settings.JWKS_URLS
    if not all(valid_jwks_url(url) for url in urls):
        errors.append(
            Error(
                "NEXTAUTH_JWKS_URL must be an absolute http(s) URL or a list of them.",
                hint='For example "https://auth.example.com/api/auth/jwks".',
                id="nextauth_jwt.E052",
            )
        )
    # Two roles: an issuer signs with NEXTAUTH_SIGNING_KEYS; a verifier needs only keys to
    # verify with (the issuer's JWKS URL or public keys). A service may be both.
    fmt = app_settings.JWT_FORMAT
    verifies = bool(signing or public or urls)
    if fmt == FORMAT_JWS_ASYMMETRIC and not verifies and not errors:
        errors.append(
            Error(
                "NEXTAUTH_JWT_FORMAT is jws-asymmetric, but this service has no key to sign "
                "or verify with.",
                hint="An issuer signs with NEXTAUTH_SIGNING_KEYS (openssl genpkey -algorithm "
                "ed25519); a verifier only needs the issuer's NEXTAUTH_JWKS_URL or "
                "NEXTAUTH_PUBLIC_KEYS, and mints nothing.",
                id="nextauth_jwt.E053",
            )
        )
    accepted = {*app_settings.ACCEPTED_FORMATS}
    unverifiable = fmt != FORMAT_JWS_ASYMMETRIC and FORMAT_JWS_ASYMMETRIC in accepted
    if unverifiable and not verifies and not errors:
        errors.append(
            Error(
                "jws-asymmetric tokens are accepted, but no key can verify them.",
                hint="Set NEXTAUTH_JWKS_URL or NEXTAUTH_PUBLIC_KEYS (the issuer's keys), or "
                "NEXTAUTH_SIGNING_KEYS to issue them here.",
                id="nextauth_jwt.E054",
            )
        )
    numbers = {
        "NEXTAUTH_JWKS_CACHE_TTL": (app_settings.JWKS_CACHE_TTL, 1),
        "NEXTAUTH_JWKS_REFRESH_INTERVAL": (app_settings.JWKS_REFRESH_INTERVAL, 1),
        "NEXTAUTH_JWKS_MAX_STALE": (app_settings.JWKS_MAX_STALE, 0),
        "NEXTAUTH_JWKS_MAX_BYTES": (app_settings.JWKS_MAX_BYTES, 1024),
        "NEXTAUTH_JWKS_MAX_AGE": (app_settings.JWKS_MAX_AGE, 0),
    }
    timeout = app_settings.JWKS_TIMEOUT
    bad = [name for name, (value, low) in numbers.items() if not _is_int(value) or value < low]
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 60:
        bad.append("NEXTAUTH_JWKS_TIMEOUT")
    if bad:
        errors.append(
            Error(
                f"{', '.join(bad)}: not an acceptable number.",
                hint="Whole seconds (TTL and refresh interval at least 1), NEXTAUTH_JWKS_TIMEOUT "
                "from 0 to 60 seconds, NEXTAUTH_JWKS_MAX_BYTES at least 1024.",
                id="nextauth_jwt.E055",
            )
        )
    return errors


# -- Better Auth's session cookie cache: E060 onwards ----------------------------------------- #


def _check_better_auth() -> list[CheckMessage]:
    strategy = app_settings.BETTER_AUTH_STRATEGY
    if strategy is None:
        return []
    if strategy not in BETTER_AUTH_STRATEGIES:
        return [
            Error(
                "NEXTAUTH_BETTER_AUTH_STRATEGY is not a strategy of Better Auth's cookie cache.",
                hint=f"Use Better Auth's session.cookieCache.strategy: one of "
                f"{', '.join(BETTER_AUTH_STRATEGIES)} (or None to read no Better Auth cookie).",
                id="nextauth_jwt.E060",
            )
        ]
    errors: list[CheckMessage] = []
    try:
        better_auth_secrets(app_settings)
    except ValueError as exc:
        # The parser's messages name the problem, never a secret.
        errors.append(
            Error(
                f"Better Auth's secret cannot be used: {exc}.",
                hint="Set NEXTAUTH_BETTER_AUTH_SECRET (or BETTER_AUTH_SECRET) to Better Auth's "
                "secret, or NEXTAUTH_BETTER_AUTH_SECRETS (or BETTER_AUTH_SECRETS) to its "
                'versions, "2:new,1:old", the current first; at least 32 bytes.',
                id="nextauth_jwt.E061",
            )
        )
    if app_settings.ISSUER is not None or app_settings.AUDIENCE is not None:
        errors.append(
            Error(
                "Better Auth's cookie cache carries no iss or aud, and NEXTAUTH_ISSUER or "
                "NEXTAUTH_AUDIENCE is set: every cookie would be refused.",
                hint="Leave NEXTAUTH_ISSUER and NEXTAUTH_AUDIENCE unset on a service reading "
                "Better Auth's session cookie (Better Auth's secret already names its issuer).",
                id="nextauth_jwt.E062",
            )
        )
    texts = {
        "NEXTAUTH_BETTER_AUTH_COOKIE_PREFIX": getattr(
            settings, "NEXTAUTH_BETTER_AUTH_COOKIE_PREFIX", "better-auth"
        ),
        "NEXTAUTH_BETTER_AUTH_VERSION": getattr(settings, "NEXTAUTH_BETTER_AUTH_VERSION", "1"),
    }
    bad = [name for name, value in texts.items() if not valid_better_auth_text(value)]
    if bad:
        errors.append(
            Error(
                f"{', '.join(bad)} must be a non-empty string without spaces, ';', ',' or '='.",
                hint='Better Auth\'s advanced.cookiePrefix (default "better-auth") and '
                'session.cookieCache.version (default "1").',
                id="nextauth_jwt.E063",
            )
        )
    return errors


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Every ``NEXTAUTH_*`` setting, checked once at start-up."""
    return (
        _check_secret()
        + _check_asymmetric()
        + _check_formats()
        + _check_values()
        + _check_request_settings()
        + _check_signin_settings()
        + _check_lookup_is_chosen()
        + _check_csrf_middleware()
        + _check_signin_url_served()
        + _check_better_auth()
    )


def _check_signin_url_served() -> list[CheckMessage]:
    # Protected pages redirect to NEXTAUTH_SIGNIN_URL. Its default is NextAuth's own page,
    # served by the Next.js app: in a project without one in front, a 404 for every visitor.
    signin = getattr(settings, "NEXTAUTH_SIGNIN_URL", "/api/auth/signin")
    protected = getattr(settings, "NEXTAUTH_PROTECTED_PATHS", [])
    api = getattr(settings, "NEXTAUTH_API_PATHS", ["/api/"])
    if not (isinstance(signin, str) and signin.startswith("/") and not signin.startswith("//")):
        return []  # an absolute URL (the Next.js app's page) or E024's to report
    if not (_str_list(protected) and _str_list(api)):
        return []  # E023's to report
    if not any(not prefix.startswith(tuple(api)) for prefix in protected):
        return []  # only API paths are protected: they answer 401, never redirect
    try:
        resolve(urlsplit(signin).path)
    except Resolver404:
        return [
            Warning(
                f"Protected pages redirect to NEXTAUTH_SIGNIN_URL ({signin!r}), and no URL of "
                "this project serves it: every visitor without a session lands on a 404.",
                hint="Set NEXTAUTH_SIGNIN_URL to your sign-in page: a view of this project, or "
                "the Next.js app's absolute URL (https://app.example.com/api/auth/signin). The "
                "default is NextAuth's page on the Next.js app; if a proxy serves it on this "
                "origin, silence nextauth_jwt.W003.",
                id="nextauth_jwt.W003",
            )
        ]
    except Exception:  # a URLconf that does not load is Django's own check to report
        return []
    return []


def _check_jwks_transport() -> list[CheckMessage]:
    plain = [
        url
        for url in app_settings.JWKS_URLS
        if valid_jwks_url(url)
        and urlsplit(url).scheme == "http"
        and urlsplit(url).hostname not in ("localhost", "127.0.0.1", "::1")
    ]
    if not plain:
        return []
    return [
        Warning(
            "NEXTAUTH_JWKS_URL is plain http to another host: whoever sits on the path can "
            "swap in their own keys and mint tokens this service accepts.",
            hint="Use https (or a loopback address).",
            id="nextauth_jwt.W050",
        )
    ]


def check_deployment(**kwargs: Any) -> list[CheckMessage]:
    """``manage.py check --deploy``: what works on one laptop but not across instances."""
    return _check_jwks_transport() + _check_revocation_cache() + _check_host_prefix()


def _check_host_prefix() -> list[CheckMessage]:
    # Where the cookie is Secure and host-only already, __Host- costs nothing and takes away
    # what a sibling subdomain can do with it: plant one of the same name for the parent
    # domain (or a narrower path), which refuses the person's requests as token_ambiguous.
    name = app_settings.session_cookie_name()
    secure = app_settings.SECURE_COOKIE or name.startswith("__Secure-")
    if name.startswith("__Host-") or not secure or app_settings.COOKIE_DOMAIN:
        return []
    return [
        Warning(
            f"The session cookie {name!r} is Secure and host-only, but not __Host- prefixed: "
            "a sibling subdomain can set a cookie of that name for the parent domain, and "
            "every request that carries both is refused (token_ambiguous).",
            hint='Name it "__Host-" + its name, here in NEXTAUTH_COOKIE_NAME and in '
            "NextAuth's cookies.sessionToken (and every service that reads it); "
            "browsers refuse a __Host- cookie with a Domain or a Path other than /.",
            id="nextauth_jwt.W040",
        )
    ]


def _check_revocation_cache() -> list[CheckMessage]:
    if not app_settings.REVOCATION:
        return []
    if not getattr(settings, "NEXTAUTH_REDIS_URL", None):
        return [
            Warning(
                "Sign-out revocation and login counters use the embedded, per-process store: "
                "other processes and instances will still accept a signed-out token, and "
                "count sign-in attempts apart.",
                hint="Set NEXTAUTH_REDIS_URL to the Redis every process and instance shares "
                "(with maxmemory-policy noeviction).",
                id="nextauth_jwt.W001",
            )
        ]
    return []
