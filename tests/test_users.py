"""Database mode: lookup by claim, provisioning, inactive users, role mapping."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import AsyncClient, Client
from rest_framework.test import APIClient

from django_nextauth_jwt.users import (
    TokenUser,
    UserInactive,
    UserNotFound,
    apply_role,
    claims_for_user,
    user_from_claims,
)
from tests.request_helpers import MIDDLEWARE, bearer, make_token

pytestmark = [pytest.mark.django_db, pytest.mark.db]
User = get_user_model()
ME = "/api/me/"


@pytest.fixture(autouse=True)
def _database_mode(settings):
    settings.NEXTAUTH_USER_MODE = "database"
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler"
    }


def create_user(pk: int = 42, **fields):
    defaults = {"username": f"user{pk}", "email": "ada@example.com"}
    return User.objects.create_user(pk=pk, **{**defaults, **fields})


def get_me(token: str):
    return APIClient().get(ME, headers=bearer(token))


def test_stateless_mode_builds_a_token_user_without_queries(settings, django_assert_num_queries):
    settings.NEXTAUTH_USER_MODE = "stateless"
    with django_assert_num_queries(0):
        assert isinstance(user_from_claims({"id": "42"}), TokenUser)


def test_user_is_found_by_id_claim_as_primary_key():
    create_user(42)
    response = get_me(make_token())
    assert response.status_code == 200
    assert response.json()["user_class"] == "User"
    assert response.json()["id"] == "42"


def test_user_is_found_by_email_case_insensitively(settings):
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    create_user(7, email="Ada@Example.com")
    response = get_me(make_token(email="ada@example.COM"))
    assert response.status_code == 200
    assert response.json()["id"] == "7"


def test_lookup_field_is_a_setting(settings):
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "username"
    create_user(3, username="42")
    assert get_me(make_token()).json()["id"] == "3"


def test_unknown_user_is_401_user_not_found():
    response = get_me(make_token())
    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_non_integer_id_for_integer_pk_is_user_not_found_not_500():
    response = get_me(make_token(id="c0ffee00-uuid"))
    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


def test_duplicate_emails_are_refused_rather_than_guessed(settings):
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    create_user(1, email="ada@example.com")
    create_user(2, email="ADA@example.com")
    assert get_me(make_token()).json()["code"] == "user_not_found"


def test_missing_lookup_claim_is_user_not_found(settings):
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    with pytest.raises(UserNotFound):
        user_from_claims({"id": "42"})


def test_inactive_user_is_401_user_inactive():
    create_user(42, is_active=False)
    response = get_me(make_token())
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"
    with pytest.raises(UserInactive):
        user_from_claims({"id": "42"})


def test_provisioning_creates_the_user_on_first_sight(settings):
    settings.NEXTAUTH_PROVISION_USERS = True
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    response = get_me(make_token(email="new@example.com"))
    assert response.status_code == 200
    user = User.objects.get(email="new@example.com")
    assert user.username == "new@example.com"
    assert not user.has_usable_password()
    assert get_me(make_token(email="new@example.com")).json()["id"] == str(user.pk)
    assert User.objects.count() == 1


def test_provisioning_by_id_uses_the_id_as_primary_key(settings):
    settings.NEXTAUTH_PROVISION_USERS = True
    assert get_me(make_token(id="99")).status_code == 200
    assert User.objects.get(pk=99).email == "ada@example.com"


def test_provisioning_applies_the_role_mapping(settings):
    settings.NEXTAUTH_PROVISION_USERS = True
    settings.NEXTAUTH_SUPERUSER_ROLES = ["owner"]
    settings.NEXTAUTH_ROLE_GROUPS = {"owner": ["Owners", "Staff"], "user": ["Users"]}
    assert get_me(make_token(role="owner")).status_code == 200
    user = User.objects.get(pk=42)
    assert (user.is_staff, user.is_superuser) == (True, True)
    assert sorted(user.groups.values_list("name", flat=True)) == ["Owners", "Staff"]


def test_provisioning_conflict_is_401_not_500(settings):
    settings.NEXTAUTH_PROVISION_USERS = True
    create_user(5, username="ada@example.com")
    response = get_me(make_token(id="6"))
    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


def test_without_provisioning_no_user_is_created():
    get_me(make_token())
    assert not User.objects.exists()


def test_sync_roles_updates_flags_and_managed_groups_only(settings):
    settings.NEXTAUTH_SYNC_ROLES = True
    settings.NEXTAUTH_ROLE_GROUPS = {"admin": ["Admins"], "user": ["Users"]}
    user = create_user(42, is_superuser=True)
    user.groups.add(Group.objects.create(name="Admins"), Group.objects.create(name="Unmanaged"))
    assert get_me(make_token(role="user")).status_code == 200
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert sorted(user.groups.values_list("name", flat=True)) == ["Unmanaged", "Users"]
    assert get_me(make_token(role="admin")).status_code == 200
    user.refresh_from_db()
    assert user.is_staff is True
    assert sorted(user.groups.values_list("name", flat=True)) == ["Admins", "Unmanaged"]


def test_without_sync_roles_existing_users_keep_their_flags():
    create_user(42, is_staff=True)
    get_me(make_token(role="user"))
    assert User.objects.get(pk=42).is_staff is True


def test_apply_role_writes_nothing_when_already_in_step(django_assert_num_queries):
    user = create_user(42, is_staff=True)
    with django_assert_num_queries(0):
        apply_role(user, "admin")


# --------------------------------------------------------------------------- #
# Through the middleware
# --------------------------------------------------------------------------- #


@pytest.fixture
def with_middleware(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    settings.NEXTAUTH_PROTECTED_PATHS = ["/private/", "/api/plain/"]


@pytest.mark.usefixtures("with_middleware")
def test_middleware_resolves_database_user_lazily(django_assert_num_queries):
    create_user(42)
    with django_assert_num_queries(1):
        body = Client().get("/page/", headers=bearer(make_token())).json()
    assert body["user_class"] == "User"


@pytest.mark.usefixtures("with_middleware")
def test_middleware_makes_inactive_user_anonymous_on_open_pages():
    create_user(42, is_active=False)
    assert Client().get("/page/", headers=bearer(make_token())).json()["authenticated"] is False


@pytest.mark.usefixtures("with_middleware")
def test_middleware_refuses_inactive_user_on_protected_paths():
    create_user(42, is_active=False)
    response = Client().get("/api/plain/", headers=bearer(make_token()))
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


@pytest.mark.usefixtures("with_middleware")
@pytest.mark.django_db(transaction=True)
def test_async_stack_finds_database_user():
    create_user(42)

    async def run():
        client = AsyncClient()
        headers = {"Authorization": f"Bearer {token}"}
        return (
            await client.get("/async/page/", headers=headers),
            await client.get("/private/async/", headers=headers),
        )

    token = make_token()
    open_page, protected = async_to_sync(run)()
    assert open_page.json()["user_class"] == "User"
    assert protected.json()["id"] == "42"


def test_claims_for_user_round_trip_to_the_same_database_user(settings):
    settings.NEXTAUTH_SUPERUSER_ROLES = ["owner"]
    user = create_user(8, first_name="Ada", last_name="L", is_staff=True)
    claims = claims_for_user(user)
    assert claims == {"id": "8", "email": "ada@example.com", "name": "Ada L", "role": "admin"}
    assert get_me(make_token(**claims)).json()["id"] == "8"
    user.is_superuser = True
    assert claims_for_user(user)["role"] == "owner"


def test_claims_for_user_uses_the_lookup_field_as_id(settings):
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "username"
    claims = claims_for_user(create_user(9, username="ext-9"))
    assert claims["id"] == "ext-9"
    assert "role" not in claims


@pytest.mark.django_db
def test_unicode_digits_do_not_name_an_integer_pk(settings):
    from django_nextauth_jwt.users import UserNotFound, database_user

    settings.NEXTAUTH_USER_MODE = "database"
    user = get_user_model().objects.create_user("u42", email="u42@example.com")
    arabic = "".join(chr(0x0660 + int(d)) for d in str(user.pk))
    assert database_user({"id": str(user.pk)}) == user
    with pytest.raises(UserNotFound):
        database_user({"id": arabic})


@pytest.mark.django_db
def test_provisioning_failure_in_the_database_is_user_not_found(settings, monkeypatch):
    from django.db import DataError

    from django_nextauth_jwt import users

    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_PROVISION_USERS = True

    def too_long(*args, **kwargs):
        raise DataError("value too long for type character varying(254)")

    monkeypatch.setattr(users, "_provision", too_long)
    with pytest.raises(users.UserNotFound):
        users.database_user({"id": "999999", "email": "x" * 300 + "@example.com"})


@pytest.mark.django_db
def test_session_endpoint_in_database_mode_is_empty_for_an_inactive_user(settings):
    from django.test import Client

    from django_nextauth_jwt import JWTAuth

    settings.NEXTAUTH_USER_MODE = "database"
    user = get_user_model().objects.create_user("gone", email="gone@example.com")
    token = JWTAuth.create({"id": user.pk})
    client = Client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/session", headers=bearer).json()["user"]["id"] == str(user.pk)
    user.is_active = False
    user.save()
    assert client.get("/api/auth/session", headers=bearer).json() == {}


@pytest.mark.parametrize("lookup", ["email", "custom-field"])
def test_an_address_its_issuer_has_not_verified_names_no_row_and_provisions_none(settings, lookup):
    # email_verified false (Better Auth signs people up unverified): signing up with someone's
    # address must not make you them, nor create a row for an address nobody proved.
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    settings.NEXTAUTH_PROVISION_USERS = True
    if lookup == "custom-field":
        settings.NEXTAUTH_USER_LOOKUP_FIELD = "username"
    ada = create_user(email="ada@example.com", username="ada@example.com")
    claims = {"sub": "ba-1", "email": "ada@example.com", "email_verified": False}
    with pytest.raises(UserNotFound):
        user_from_claims(claims)
    with pytest.raises(UserNotFound):
        user_from_claims({**claims, "email": "new@example.com"})
    assert not User.objects.filter(email="new@example.com").exists()
    # Verified, or no word on it (NextAuth's tokens): the lookup as it was.
    assert user_from_claims({**claims, "email_verified": True}) == ada
    del claims["email_verified"]
    assert user_from_claims(claims) == ada
