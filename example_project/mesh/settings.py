"""A Django service in the NextAuth mesh, configured from the environment.

Production by default: DEBUG is off unless ``DJANGO_DEBUG=1``, and then ``DJANGO_SECRET_KEY``
and ``NEXTAUTH_SECRET`` must come from the environment (see ``docker-compose.yml`` and
``k8s/``). The development fallbacks for both apply only with ``DJANGO_DEBUG=1``, which
``make run``, ``make mesh`` and the tests set explicitly.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt.pipeline import PIPELINE

BASE_DIR = Path(__file__).resolve().parent.parent


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless explicitly on: a deployment that forgets DJANGO_DEBUG gets production behaviour.
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (openssl rand -base64 48) for a deployment, "
            "or DJANGO_DEBUG=1 for local development with a built-in key."
        )
    SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdef"  # DEBUG only
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://localhost:3000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "rest_framework",
    "social_django",
    "django_nextauth_jwt",
    "mesh",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After AuthenticationMiddleware: the token decides request.user.
    "django_nextauth_jwt.middleware.NextAuthJWTMiddleware",
]

ROOT_URLCONF = "mesh.urls"
WSGI_APPLICATION = "mesh.wsgi.application"
# Under an ASGI server (uvicorn mesh.asgi:application): the dashboard's WebSocket too.
ASGI_APPLICATION = "mesh.asgi.application"
# Django Ninja's endpoint and Swagger UI (/api/ninja/docs, from its own static files), when the
# [ninja] extra is installed (make run installs it).
if importlib.util.find_spec("ninja") is not None:
    INSTALLED_APPS.append("ninja")
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
STATIC_URL = "static/"
USE_TZ = True
TIME_ZONE = "UTC"  # the pages show times in UTC, and say so
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Embedded defaults: SQLite and the local-memory cache. Production: DATABASE_URL-style
# settings of your choice, and REDIS_URL so that sign-outs reach every instance.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}
if os.environ.get("POSTGRES_HOST"):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ["POSTGRES_HOST"],
        "PORT": os.environ.get("POSTGRES_PORT", "5432"),
        "NAME": os.environ.get("POSTGRES_DB", "mesh"),
        "USER": os.environ.get("POSTGRES_USER", "postgres"),
        "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
    }
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("REDIS_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
    }
# Revocations, session cut-offs and login counters: their own store, shared through Redis by
# every process and instance (the embedded per-process store without it).
NEXTAUTH_REDIS_URL = os.environ.get("NEXTAUTH_REDIS_URL") or os.environ.get("REDIS_URL") or None
NEXTAUTH_REDIS_KEY_PREFIX = os.environ.get("NEXTAUTH_REDIS_KEY_PREFIX", "nextauth_jwt:")
NEXTAUTH_LOGIN_RATE_PER_CLIENT = (int(os.environ.get("LOGIN_ATTEMPTS_PER_CLIENT", "20")), 300)
# Every browser whose address the Next.js server cannot know shares this budget (its failures).
NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT = (
    int(os.environ.get("LOGIN_ATTEMPTS_UNKNOWN_CLIENT", "1000")),
    300,
)

# -- the mesh ------------------------------------------------------------------------------
# The secret comes from NEXTAUTH_SECRET in the environment. Without one, DEBUG uses a public
# development secret and anything else stops at start-up (system check nextauth_jwt.E001, run
# by `migrate`, `check` and `runserver`): a public secret would let anyone forge tokens.
# NEXTAUTH_SECRET_PREVIOUS keeps tokens signed with the old secret valid during a rotation.
# Or NEXTAUTH_SECRET_FILE: one secret per line, the first signs (a mounted Kubernetes Secret;
# rotate by rewriting the file and reloading the workers, e.g. gunicorn's HUP).
# The asymmetric mode (NEXTAUTH_JWT_FORMAT=jws-asymmetric): this service signs with the private
# keys of NEXTAUTH_SIGNING_KEY_FILE (comma-separated paths to PEM or JWK files; the first signs,
# all are published at /.well-known/jwks.json and /api/auth/jwks), and nobody holds a secret:
# no development secret is filled in. NEXTAUTH_JWKS_URL (comma-separated) trusts other issuers.
_DEV_SECRET = "dev-only-mesh-secret-change-me-0123456789abcdef"  # DEBUG only
NEXTAUTH_JWT_FORMAT = os.environ.get("NEXTAUTH_JWT_FORMAT", "jws")
_ASYMMETRIC = NEXTAUTH_JWT_FORMAT == "jws-asymmetric"
_secret = os.environ.get("NEXTAUTH_SECRET") or (_DEV_SECRET if DEBUG and not _ASYMMETRIC else "")
NEXTAUTH_SECRET = [s for s in (_secret, os.environ.get("NEXTAUTH_SECRET_PREVIOUS")) if s]
if os.environ.get("NEXTAUTH_SECRET_FILE"):
    _lines = Path(os.environ["NEXTAUTH_SECRET_FILE"]).read_text().splitlines()
    NEXTAUTH_SECRET = [line.strip() for line in _lines if line.strip()]
NEXTAUTH_SIGNING_KEYS = [Path(p) for p in env_list("NEXTAUTH_SIGNING_KEY_FILE")]
NEXTAUTH_JWKS_URL = env_list("NEXTAUTH_JWKS_URL")
NEXTAUTH_MAX_AGE = int(os.environ.get("NEXTAUTH_MAX_AGE", str(30 * 24 * 3600)))
# A session ends this long after sign-in however often it is refreshed: the Next.js app reads
# the same variable (example_project/nextjs/django.mjs), so both sides end it together.
NEXTAUTH_SESSION_MAX_LIFETIME = int(
    os.environ.get("NEXTAUTH_SESSION_MAX_LIFETIME", str(30 * 24 * 3600))
)
NEXTAUTH_LEEWAY = int(os.environ.get("NEXTAUTH_LEEWAY", "15"))
NEXTAUTH_ISSUER = os.environ.get("NEXTAUTH_ISSUER") or None
NEXTAUTH_AUDIENCE = os.environ.get("NEXTAUTH_AUDIENCE") or None
NEXTAUTH_SECURE_COOKIE = os.environ.get("NEXTAUTH_SECURE_COOKIE", "0") == "1"
NEXTAUTH_COOKIE_NAME = os.environ.get("NEXTAUTH_COOKIE_NAME") or None
# Better Auth's session cookie cache (MESH_MODE=better-auth): its strategy (compact, jwt, jwe),
# verified with Better Auth's secret, which the app reads from BETTER_AUTH_SECRET (or
# BETTER_AUTH_SECRETS) in the environment as Better Auth does.
NEXTAUTH_BETTER_AUTH_STRATEGY = os.environ.get("NEXTAUTH_BETTER_AUTH_STRATEGY") or None
NEXTAUTH_PROTECTED_PATHS = ["/dashboard/", "/api/"]
# The schema page (Swagger UI) and the schema itself are public: "Authorize" takes a token there.
NEXTAUTH_PUBLIC_PATHS = ["/api/auth/", "/api/ninja/docs", "/api/ninja/openapi.json"]
NEXTAUTH_SIGNIN_URL = "/signin/"
NEXTAUTH_LOGIN_REDIRECT_URL = "/dashboard/"
NEXTAUTH_ALLOWED_REDIRECT_ORIGINS = env_list("NEXTAUTH_ALLOWED_REDIRECT_ORIGINS")
# Pages of these origins may open the WebSocket with the session cookie (besides Django's own).
NEXTAUTH_WEBSOCKET_ORIGINS = env_list("NEXTAUTH_WEBSOCKET_ORIGINS", "http://localhost:3000")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "django_nextauth_jwt.authentication.NextAuthJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler",
}

# -- Google sign-in (optional: the button works once these are set) -------------------------
AUTHENTICATION_BACKENDS = [
    "social_core.backends.google.GoogleOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]
SOCIAL_AUTH_GOOGLE_OAUTH2_KEY = os.environ.get("GOOGLE_CLIENT_ID", "")
SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET = os.environ.get("GOOGLE_CLIENT_SECRET", "")
SOCIAL_AUTH_GOOGLE_OAUTH2_USE_UNIQUE_USER_ID = True
SOCIAL_AUTH_PIPELINE = PIPELINE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_nextauth_jwt": {"handlers": ["console"], "level": "INFO"}},
}
