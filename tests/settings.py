"""Minimal settings for the test suite (SQLite in memory, local-memory cache)."""

from __future__ import annotations

from django_nextauth_jwt.pipeline import PIPELINE
from tests.forge import private_pem

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
ROOT_URLCONF = "tests.urls"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "social_django",
    "django_nextauth_jwt",
]

AUTHENTICATION_BACKENDS = [
    # social-core's GoogleOAuth2 with its endpoints pointed at a local stand-in.
    "tests.google_standin.StandInGoogleOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]
SOCIAL_AUTH_GOOGLE_OAUTH2_KEY = "test-client-id.apps.googleusercontent.com"
SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET = "test-client-secret"
SOCIAL_AUTH_GOOGLE_OAUTH2_USE_UNIQUE_USER_ID = True  # Google's stable sub, not the email
SOCIAL_AUTH_PIPELINE = PIPELINE

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

NEXTAUTH_SECRET = "test-secret-0123456789-abcdefghijklmnop"
# jws-asymmetric: a key pair, so that every format the request-path tests run through
# (ALL_FORMATS) mints and verifies; only tests choosing that format sign with it.
NEXTAUTH_SIGNING_KEYS = [private_pem("EdDSA", 100)]  # a key no other test uses
