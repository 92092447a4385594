"""Settings for ``benchmarks/sockets.py``: Channels, sessions in the database, this app."""

from __future__ import annotations

import os

SECRET_KEY = "benchmark-only-not-secret"  # noqa: S105 - a benchmark's
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels",
    "django_nextauth_jwt",
]
ROOT_URLCONF = "channels_settings"
urlpatterns: list[object] = []
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB", "/tmp/nextauth-channels-bench.sqlite3"),  # noqa: S108
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ASGI_APPLICATION = "channels_asgi.application"
NEXTAUTH_SECRET = "benchmark-secret-0123456789-abcdefghijkl"  # noqa: S105
NEXTAUTH_USER_MODE = os.environ.get("BENCH_USER_MODE", "stateless")
LOGGING = {"version": 1, "root": {"level": "WARNING"}}
