"""A project without Django REST framework: the middleware alone must work.

``tests/test_nodrf.py`` runs a subprocess with these settings and with
``rest_framework`` made unimportable.
"""

from __future__ import annotations

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django_nextauth_jwt",
]
ROOT_URLCONF = "tests.urls_nodrf"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_nextauth_jwt.middleware.NextAuthJWTMiddleware",
]
NEXTAUTH_PROTECTED_PATHS = ["/private/", "/api/"]
NEXTAUTH_PUBLIC_PATHS = ["/private/public/"]
