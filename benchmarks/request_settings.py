"""Settings of the whole-request benchmark (``benchmarks/request.py``): a production-shaped site.

DEBUG off, Django's default middleware (as ``startproject`` writes it), DRF, and three
views that differ only in their authentication class (``request_urls.py``). The same
module serves the in-process run and the gunicorn processes of the HTTP run; the
environment picks the deny-list store of the latter (``BENCH_REDIS_STATE``).
"""

from __future__ import annotations

import os

SECRET = "bench-request-secret-0123456789-abcdefghijklmnop"  # noqa: S105 - loopback only

SECRET_KEY = "bench-only-not-secret-" + "x" * 40
DEBUG = False
USE_TZ = True
ROOT_URLCONF = "benchmarks.request_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "django_nextauth_jwt",
]

#: Django's default middleware (django-admin startproject).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Every key this benchmark may write starts with it; the run deletes them at the end.
REDIS_PREFIX = os.environ.get("BENCH_REDIS_PREFIX", "bench-request")

# Django's cache plays no part in authentication: the deny-list is in the state store.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
}

NEXTAUTH_SECRET = SECRET
NEXTAUTH_JWT_FORMAT = "jws"
NEXTAUTH_ACCEPTED_FORMATS = ["jws", "nextauth-v4", "authjs-v5"]
NEXTAUTH_REVOCATION = os.environ.get("BENCH_REVOCATION", "1") == "1"
# The state store (deny-list, counters): embedded by default, Redis for the "redis" case.
NEXTAUTH_REDIS_URL = REDIS_URL if os.environ.get("BENCH_REDIS_STATE") == "1" else None
NEXTAUTH_REDIS_KEY_PREFIX = REDIS_PREFIX + ":"

SIMPLE_JWT = {
    "SIGNING_KEY": SECRET,
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": __import__("datetime").timedelta(hours=2),
}
