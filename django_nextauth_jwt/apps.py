"""Django app configuration."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class NextAuthJWTConfig(AppConfig):
    """Registers the system checks; reads no setting here."""

    name = "django_nextauth_jwt"
    verbose_name = "NextAuth JWT"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_nextauth_jwt.checks import check_deployment, check_settings

        checks.register(check_settings, checks.Tags.security)
        checks.register(check_deployment, checks.Tags.security, deploy=True)
