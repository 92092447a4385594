"""System checks for the request-authentication settings: every id from E020 on."""

from __future__ import annotations

import pytest

from django_nextauth_jwt.checks import check_settings
from tests.request_helpers import MIDDLEWARE


def ids() -> set[str]:
    return {message.id for message in check_settings() if message.id}


def test_default_settings_pass_the_request_checks():
    assert not {i for i in ids() if i >= "nextauth_jwt.E020"}


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("NEXTAUTH_MAX_COOKIE_CHUNKS", 0, "nextauth_jwt.E020"),
        ("NEXTAUTH_MAX_COOKIE_CHUNKS", "8", "nextauth_jwt.E020"),
        ("NEXTAUTH_MAX_COOKIE_CHUNKS", True, "nextauth_jwt.E020"),
        ("NEXTAUTH_CSRF_HEADER_NAME", "X CSRF", "nextauth_jwt.E021"),
        ("NEXTAUTH_CSRF_HEADER_NAME", "", "nextauth_jwt.E021"),
        ("NEXTAUTH_CSRF_COOKIE_NAME", " csrf", "nextauth_jwt.E022"),
        ("NEXTAUTH_PROTECTED_PATHS", "/api/", "nextauth_jwt.E023"),
        ("NEXTAUTH_PUBLIC_PATHS", ["login/"], "nextauth_jwt.E023"),
        ("NEXTAUTH_API_PATHS", [1], "nextauth_jwt.E023"),
        ("NEXTAUTH_SIGNIN_URL", "", "nextauth_jwt.E024"),
        ("NEXTAUTH_SIGNIN_URL", None, "nextauth_jwt.E024"),
        ("NEXTAUTH_USER_MODE", "db", "nextauth_jwt.E025"),
        ("NEXTAUTH_USER_LOOKUP_CLAIM", "", "nextauth_jwt.E026"),
        ("NEXTAUTH_USER_LOOKUP_FIELD", 3, "nextauth_jwt.E026"),
        ("NEXTAUTH_PROVISION_USERS", "yes", "nextauth_jwt.E027"),
        ("NEXTAUTH_SYNC_ROLES", 1, "nextauth_jwt.E027"),
        ("NEXTAUTH_ROLE_GROUPS", ["admin"], "nextauth_jwt.E028"),
        ("NEXTAUTH_ROLE_GROUPS", {"admin": "Admins"}, "nextauth_jwt.E028"),
    ],
)
def test_bad_request_setting_is_reported_with_its_id(settings, setting, value, check_id):
    setattr(settings, setting, value)
    assert check_id in ids()


def test_database_mode_with_unknown_lookup_field_is_e026(settings):
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "no_such_field"
    assert "nextauth_jwt.E026" in ids()
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "username"
    assert "nextauth_jwt.E026" not in ids()


def test_database_mode_with_email_lookup_passes(settings):
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    assert "nextauth_jwt.E026" not in ids()


def test_middleware_before_authentication_middleware_is_e029(settings):
    settings.MIDDLEWARE = [MIDDLEWARE, *settings.MIDDLEWARE]
    assert "nextauth_jwt.E029" in ids()


def test_middleware_after_authentication_middleware_passes(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    assert "nextauth_jwt.E029" not in ids()
