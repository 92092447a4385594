"""From verified claims to a user: a stateless ``TokenUser`` (the default) or a database user."""

from __future__ import annotations

from typing import Any

from django_nextauth_jwt.conf import app_settings


class TokenUser:
    """A user built from token claims alone: no database row, no query.

    It quacks enough like ``django.contrib.auth.models.User`` for DRF's
    ``IsAuthenticated``, ``request.user.is_staff`` checks and templates.
    """

    is_active = True
    is_anonymous = False
    is_authenticated = True

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims
        self.id: str = claims["id"]
        self.pk: str = self.id
        self.email: str | None = _str_or_none(claims.get("email"))
        self.name: str | None = _str_or_none(claims.get("name"))
        self.role: str | None = _str_or_none(claims.get("role"))
        self.image: str | None = _str_or_none(claims.get("picture", claims.get("image")))
        self.is_superuser = self.role is not None and self.role in app_settings.SUPERUSER_ROLES
        self.is_staff = self.is_superuser or (
            self.role is not None and self.role in app_settings.STAFF_ROLES
        )

    def __str__(self) -> str:
        return self.email or self.id

    def __repr__(self) -> str:
        return f"<TokenUser id={self.id!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def username(self) -> str:
        """Email when present, else the id: what a template would show."""
        return self.email or self.id

    def get_username(self) -> str:
        """Mirror ``AbstractBaseUser.get_username``."""
        return self.username

    def has_role(self, *roles: str) -> bool:
        """True when the token's ``role`` is one of ``roles``."""
        return self.role is not None and self.role in roles

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Token users have no model permissions except as superusers."""
        return self.is_superuser

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        """All of ``perm_list``; see :meth:`has_perm`."""
        return all(self.has_perm(p, obj) for p in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        """See :meth:`has_perm`."""
        return self.is_superuser


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def user_from_claims(claims: dict[str, Any]) -> Any:
    """The user for verified ``claims``: a ``TokenUser`` in the default stateless mode."""
    return TokenUser(claims)
