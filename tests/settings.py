"""Minimal settings for the test suite (local-memory cache; the database from ``TEST_DB``).

``TEST_DB`` picks the database the database-dependent tests run on: ``sqlite`` (the
default, in memory), ``postgresql`` (127.0.0.1:5432, user ``postgres``, trust) or
``mariadb`` (127.0.0.1:3306, ``root`` with no password). ``make test`` runs the tests
marked ``db`` on all three. Host, port and user can be moved with ``TEST_DB_HOST``,
``TEST_DB_PORT``, ``TEST_DB_USER`` and ``TEST_DB_PASSWORD``.
"""

from __future__ import annotations

import os
from typing import Any

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


def _database(vendor: str) -> dict[str, Any]:
    # The test database gets a name of its own per process (pytest-django adds the xdist
    # worker id too): runs in other work trees on the same server never meet.
    test_name = f"test_nextauth_jwt_{os.getpid()}"
    server = {
        "HOST": os.environ.get("TEST_DB_HOST", "127.0.0.1"),
        "PASSWORD": os.environ.get("TEST_DB_PASSWORD", ""),
    }
    if vendor == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    if vendor == "postgresql":
        return {
            **server,
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "postgres",
            "PORT": os.environ.get("TEST_DB_PORT", "5432"),
            "USER": os.environ.get("TEST_DB_USER", "postgres"),
            "TEST": {"NAME": test_name},
        }
    if vendor == "mariadb":
        import pymysql

        # PyMySQL stands in for mysqlclient: pure Python, nothing to compile.
        pymysql.install_as_MySQLdb()
        return {
            **server,
            "ENGINE": "django.db.backends.mysql",
            "NAME": "",
            "PORT": os.environ.get("TEST_DB_PORT", "3306"),
            "USER": os.environ.get("TEST_DB_USER", "root"),
            "OPTIONS": {"charset": "utf8mb4"},
            # utf8mb4 with its default collation (utf8mb4_general_ci on MariaDB 10.11):
            # case- and accent-insensitive, the collation the identity tests must survive.
            "TEST": {"NAME": test_name, "CHARSET": "utf8mb4"},
        }
    raise ValueError(f"TEST_DB must be sqlite, postgresql or mariadb, not {vendor!r}")


TEST_DB = os.environ.get("TEST_DB", "sqlite")
DATABASES = {"default": _database(TEST_DB)}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

NEXTAUTH_SECRET = "test-secret-0123456789-abcdefghijklmnop"
# The suite runs Chromium, Next.js and several servers on two busy cores: a Redis answer can
# take longer than the 50 ms default there without anything being wrong. The tests of the
# bound itself (test_redis_availability.py) set the default back.
NEXTAUTH_REDIS_TIMEOUT = 0.5
# jws-asymmetric: a key pair, so that every format the request-path tests run through
# (ALL_FORMATS) mints and verifies; only tests choosing that format sign with it.
NEXTAUTH_SIGNING_KEYS = [private_pem("EdDSA", 100)]  # a key no other test uses
