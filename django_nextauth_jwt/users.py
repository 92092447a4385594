"""From verified claims to a user: a stateless ``TokenUser`` (the default) or a database user.

Database mode (``NEXTAUTH_USER_MODE = "database"``) finds the row by one claim,
optionally creates it on first sight, refuses inactive users, and maps the
token's ``role`` onto ``is_staff``, ``is_superuser`` and groups. Django models
are imported inside functions: this module loads before the app registry.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from django_nextauth_jwt import identity
from django_nextauth_jwt.conf import USER_MODE_DATABASE, app_settings, derived
from django_nextauth_jwt.exceptions import InvalidToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "TokenUser",
    "UserInactive",
    "UserNotFound",
    "apply_role",
    "claims_for_user",
    "database_mode",
    "database_user",
    "lookup_field",
    "user_for_subject",
    "user_from_claims",
]


class UserNotFound(InvalidToken):
    """Database mode: no user matches the token (and provisioning is off or failed)."""

    code = "user_not_found"
    default_message = "No user matches this token."


class UserInactive(InvalidToken):
    """Database mode: the token's user exists but is inactive."""

    code = "user_inactive"
    default_message = "User account is disabled."


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

    # The rest is read from the claims when first asked for: most requests only ask
    # is_authenticated (DRF's IsAuthenticated) and pk.

    @cached_property
    def email(self) -> str | None:
        """The ``email`` claim, when it is a string."""
        return _str_or_none(self.claims.get("email"))

    @cached_property
    def name(self) -> str | None:
        """The ``name`` claim, when it is a string."""
        return _str_or_none(self.claims.get("name"))

    @cached_property
    def role(self) -> str | None:
        """The ``role`` claim, when it is a string."""
        return _str_or_none(self.claims.get("role"))

    @cached_property
    def image(self) -> str | None:
        """The ``picture`` claim (NextAuth's), else ``image``, when it is a string."""
        return _str_or_none(self.claims.get("picture", self.claims.get("image")))

    @cached_property
    def is_staff(self) -> bool:
        """The role is one of ``NEXTAUTH_STAFF_ROLES`` or ``NEXTAUTH_SUPERUSER_ROLES``."""
        return _role_flags(self.role)[0]

    @cached_property
    def is_superuser(self) -> bool:
        """The role is one of ``NEXTAUTH_SUPERUSER_ROLES``."""
        return _role_flags(self.role)[1]

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


@derived
def _database_mode() -> bool:
    # Read once per settings object: this runs on every authenticated request.
    return app_settings.USER_MODE == USER_MODE_DATABASE


@derived
def _role_settings() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(NEXTAUTH_SUPERUSER_ROLES, NEXTAUTH_STAFF_ROLES)``, read once per settings object."""
    return app_settings.SUPERUSER_ROLES, app_settings.STAFF_ROLES


def database_mode() -> bool:
    """Whether ``NEXTAUTH_USER_MODE`` is ``database`` (read once per settings object)."""
    return _database_mode()


def user_from_claims(claims: dict[str, Any]) -> Any:
    """The user for verified ``claims``: a ``TokenUser``, or a database user in database mode.

    Raises ``UserNotFound`` or ``UserInactive`` (both ``InvalidToken``) in database mode.
    """
    if _database_mode():
        return database_user(claims)
    return TokenUser(claims)


def _role_flags(role: str | None) -> tuple[bool, bool]:
    if role is None:
        return False, False
    superuser_roles, staff_roles = _role_settings()
    superuser = role in superuser_roles
    return superuser or role in staff_roles, superuser


def lookup_field() -> str:
    """The user-model field matched against ``NEXTAUTH_USER_LOOKUP_CLAIM``."""
    from django.contrib.auth import get_user_model

    explicit = app_settings.USER_LOOKUP_FIELD
    if explicit:
        return explicit
    claim = app_settings.USER_LOOKUP_CLAIM
    if claim in ("id", "sub"):
        return "pk"
    if claim == "email":
        return get_user_model().get_email_field_name()
    return claim


def apply_role(user: AbstractBaseUser, role: str | None) -> None:
    """Make ``user``'s staff/superuser flags and mapped groups match ``role``; write only changes.

    Only the groups named in ``NEXTAUTH_ROLE_GROUPS`` are managed: groups given
    in Django's admin for other reasons are left alone.
    """
    from django.contrib.auth.models import Group

    staff, superuser = _role_flags(role)
    changed = [
        field
        for field, wanted in (("is_staff", staff), ("is_superuser", superuser))
        if hasattr(user, field) and getattr(user, field) != wanted
    ]
    for field in changed:
        setattr(user, field, staff if field == "is_staff" else superuser)
    if changed:
        user.save(update_fields=changed)
    mapping = app_settings.ROLE_GROUPS
    groups = getattr(user, "groups", None)
    if not mapping or groups is None:
        return
    managed = {name for names in mapping.values() for name in names}
    wanted_names = set(mapping.get(role, ())) if role is not None else set()
    current = set(groups.filter(name__in=managed).values_list("name", flat=True))
    if wanted_names - current:
        missing = sorted(wanted_names - current)
        groups.add(*(Group.objects.get_or_create(name=name)[0] for name in missing))
    if current - wanted_names:
        groups.remove(*Group.objects.filter(name__in=current - wanted_names))


def database_user(claims: dict[str, Any]) -> AbstractBaseUser:
    """The user row for ``claims``, found by the lookup claim, created if provisioning is on.

    Which row a claim names is decided in Python (:mod:`django_nextauth_jwt.identity`), not
    by the database's collation: the query only narrows the candidates.
    """
    from django.contrib.auth import get_user_model
    from django.core.exceptions import FieldDoesNotExist
    from django.db import DatabaseError, IntegrityError
    from django.db.models import Field

    user_model = get_user_model()
    value = claims.get(app_settings.USER_LOOKUP_CLAIM)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise UserNotFound()
    field = lookup_field()
    try:
        model_field = user_model._meta.pk if field == "pk" else user_model._meta.get_field(field)
    except FieldDoesNotExist as exc:
        raise UserNotFound() from exc
    if not isinstance(model_field, Field):
        raise UserNotFound()
    by_email = field == user_model.get_email_field_name()
    if claims.get("email_verified") is False and (
        by_email or app_settings.USER_LOOKUP_CLAIM == "email"
    ):
        # An address its issuer says it has not verified names nobody, nor is provisioned (the
        # OIDC rule): Better Auth signs people up unverified by default, so anyone could sign
        # up with a staff member's address and become that row. An absent claim (NextAuth's
        # tokens) leaves the lookup as it was.
        raise UserNotFound()
    if by_email:
        if not isinstance(value, str) or not identity.storable(value):
            raise UserNotFound()
        cleaned: Any = value
    else:
        # A token id such as a UUID is not an integer pk, and "042" is not 42.
        cleaned = identity.canonical_value(model_field, value)
        if cleaned is None:
            raise UserNotFound()
    user: AbstractBaseUser | None = _find(
        user_model, field, model_field, cleaned, by_email=by_email
    )
    if user is None:
        if not app_settings.PROVISION_USERS:
            raise UserNotFound()
        try:
            user = _provision(user_model, field, cleaned, claims)
        except IntegrityError as exc:
            # A concurrent first request created the row, or a unique column (the
            # username) is taken by another row.
            user = _find(user_model, field, model_field, cleaned, by_email=by_email)
            if user is None:
                raise UserNotFound("User could not be provisioned.") from exc
        except DatabaseError as exc:
            raise UserNotFound("User could not be provisioned.") from exc
    if not getattr(user, "is_active", True):
        raise UserInactive()
    if app_settings.SYNC_ROLES:
        apply_role(user, _str_or_none(claims.get("role")))
    return user


def _find(user_model: Any, field: str, model_field: Any, value: Any, *, by_email: bool) -> Any:
    """The one row ``value`` names, or None; ``UserNotFound`` when several do."""
    manager = user_model._default_manager
    try:
        if by_email:
            rows = manager.filter(identity.candidates_query([field], value))
            return identity.matching(rows, [field], value, what="email claim")
        # The database may fold case, accents and trailing spaces: equal in Python too.
        attname = "pk" if field == "pk" else model_field.attname
        found = [row for row in manager.filter(**{field: value}) if getattr(row, attname) == value]
    except identity.Ambiguous as exc:
        raise UserNotFound() from exc
    if len(found) > 1:
        raise UserNotFound()
    return found[0] if found else None


def user_for_subject(sub: str) -> Any:
    """Database mode: the row a token's ``sub`` names as custom-login mints it, or ``None``.

    By the lookup field when ``NEXTAUTH_USER_LOOKUP_CLAIM`` is ``id`` (or ``sub``), else by
    primary key (the ``id`` :func:`claims_for_user` gives); in canonical form only, decided in
    Python as for a token. Never creates a user. ``UserNotFound`` when several rows match.
    """
    from django.contrib.auth import get_user_model
    from django.db.models import Field

    user_model = get_user_model()
    by_id = app_settings.USER_LOOKUP_CLAIM in ("id", "sub")
    field = lookup_field() if by_id else "pk"
    model_field = user_model._meta.pk if field == "pk" else user_model._meta.get_field(field)
    if not isinstance(model_field, Field):
        return None
    by_email = field == user_model.get_email_field_name()
    if by_email:
        cleaned: Any = sub if identity.storable(sub) else None
    else:
        cleaned = identity.canonical_value(model_field, sub)
    if cleaned is None:
        return None
    return _find(user_model, field, model_field, cleaned, by_email=by_email)


def claims_for_user(user: Any) -> dict[str, Any]:
    """The claims to mint a token for a Django ``user``: the inverse of database mode's lookup.

    ``id`` is what database mode looks the user up by when the lookup claim is
    ``id`` (the pk, or ``NEXTAUTH_USER_LOOKUP_FIELD``), else the pk; ``role`` is
    the first of ``NEXTAUTH_SUPERUSER_ROLES`` / ``NEXTAUTH_STAFF_ROLES`` that the
    user's flags earn, and absent otherwise.
    """
    field = lookup_field()
    by_id = app_settings.USER_LOOKUP_CLAIM in ("id", "sub") and field != "pk"
    claims: dict[str, Any] = {"id": str(getattr(user, field) if by_id else user.pk)}
    email = getattr(user, user.get_email_field_name(), None)
    if email:
        claims["email"] = email
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    claims["name"] = full_name or user.get_username()
    superuser_roles, staff_roles = app_settings.SUPERUSER_ROLES, app_settings.STAFF_ROLES
    if getattr(user, "is_superuser", False) and superuser_roles:
        claims["role"] = superuser_roles[0]
    elif getattr(user, "is_staff", False) and staff_roles:
        claims["role"] = staff_roles[0]
    return claims


def _provision(user_model: Any, field: str, value: Any, claims: dict[str, Any]) -> Any:
    """Create the user ``claims`` describe; ``UserNotFound`` rather than a second account for
    an address an existing user holds, or a value a column cannot store as it is."""
    from django.db import transaction

    manager = user_model._default_manager
    email = _str_or_none(claims.get("email"))
    email_field = user_model.get_email_field_name()
    values: dict[str, Any] = {field: value}
    if email and identity.has_field(user_model, email_field):
        if field != email_field:  # looked up by email: no row matches it, just checked
            taken = manager.filter(identity.candidates_query([email_field], email))
            if any(identity.same_identity(getattr(u, email_field), email) for u in taken):
                raise UserNotFound("User could not be provisioned.")
        values.setdefault(email_field, email)
    username_field = user_model.USERNAME_FIELD
    if username_field not in (field, "pk") and username_field not in values:
        values[username_field] = email or str(claims["id"])
    for name, wanted in values.items():
        model_field = user_model._meta.pk if name == "pk" else user_model._meta.get_field(name)
        if not identity.fits(model_field, wanted):
            raise UserNotFound("User could not be provisioned.")
    with transaction.atomic():
        user = user_model(**values)
        user.set_unusable_password()
        user.save(force_insert=True)
        apply_role(user, _str_or_none(claims.get("role")))
    return user
