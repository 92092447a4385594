"""System checks: misconfiguration fails at start-up, with an id and a hint.

Every id is listed in the README and tested in ``tests/test_checks.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from django_nextauth_jwt.conf import FORMATS, JWS_ALGORITHMS, app_settings

MIN_SECRET_BYTES = 32


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    if value is None or value == "" or value == [] or value == ():
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
                hint="Generate a strong one with: openssl rand -base64 32",
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
    max_length = app_settings.MAX_TOKEN_LENGTH
    if not _is_int(max_length) or max_length < 1024:
        errors.append(
            Error(
                "NEXTAUTH_MAX_TOKEN_LENGTH must be a whole number, at least 1024.",
                hint="The default, 32768, fits NextAuth's chunked cookies.",
                id="nextauth_jwt.E013",
            )
        )
    for name in ("NEXTAUTH_STAFF_ROLES", "NEXTAUTH_SUPERUSER_ROLES"):
        value = getattr(settings, name, ())
        if not _str_list(value):
            errors.append(
                Error(
                    f"{name} must be a list of role names.",
                    hint='For example ["admin"].',
                    id="nextauth_jwt.E014",
                )
            )
    return errors


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Every ``NEXTAUTH_*`` setting, checked once at start-up."""
    return _check_secret() + _check_formats() + _check_values()
