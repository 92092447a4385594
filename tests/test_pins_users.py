"""Pins on database mode's user lookup that no test held (issue 27).

The lookup's query only narrows the candidates; which row a claim names is decided in
Python. On SQLite (and PostgreSQL) the query is already exact for a plain field, so a slip
that drops the Python check is seen only where the database folds: MariaDB's default
collation folds case, accents and trailing spaces. These tests run on all three
(``TEST_DB``), and the folding ones are the ones that bite on MariaDB.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from django_nextauth_jwt.users import (
    TokenUser,
    UserNotFound,
    apply_role,
    claims_for_user,
    database_mode,
    lookup_field,
    user_for_subject,
    user_from_claims,
)
from tests.request_helpers import count_setting_reads

pytestmark = [pytest.mark.django_db, pytest.mark.db]


@pytest.fixture
def by_first_name(settings: Any) -> Any:
    """Database mode, looking the ``id`` claim up in a field that is not unique."""
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "first_name"
    return settings


def make(username: str, first_name: str) -> Any:
    return get_user_model().objects.create_user(username, first_name=first_name)


def test_several_rows_for_a_custom_lookup_field_are_refused_not_the_first(
    by_first_name: Any,
) -> None:
    make("one", "Ada")
    make("two", "Ada")
    with pytest.raises(UserNotFound):
        user_from_claims({"id": "Ada"})


def test_a_custom_lookup_value_does_not_name_a_row_the_database_folds_to_it(
    by_first_name: Any,
) -> None:
    # MariaDB finds "ada" for "Ada"; the token names no user all the same.
    make("one", "ada")
    with pytest.raises(UserNotFound):
        user_from_claims({"id": "Ada"})
    with pytest.raises(UserNotFound):
        user_from_claims({"id": "ada "})


def test_a_custom_lookup_value_names_its_exact_row_among_folded_ones(by_first_name: Any) -> None:
    # MariaDB finds all three for "Ada"; only one is spelled so.
    exact = make("one", "Ada")
    make("two", "ada")
    make("three", "ADA ")
    assert user_from_claims({"id": "Ada"}) == exact


def test_an_email_claim_does_not_name_the_account_of_an_accent_folded_address(
    settings: Any,
) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    get_user_model().objects.create_user("jose", email="jose@example.com")
    with pytest.raises(UserNotFound):
        user_from_claims({"id": "1", "email": "jos\u00e9@example.com"})


def test_lookup_claim_sub_maps_to_the_primary_key(settings: Any) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "sub"
    user = get_user_model().objects.create_user("ada", email="ada@example.com")
    assert user_from_claims({"sub": str(user.pk), "id": "someone-else"}) == user
    # And the claims minted for the user name it back by its key.
    assert claims_for_user(user)["id"] == str(user.pk)


# --------------------------------------------------------------------------- #
# The role mapping: only the flags and the managed groups, and only what changed
# --------------------------------------------------------------------------- #


@pytest.fixture
def syncing(settings: Any) -> Any:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_STAFF_ROLES = ["staff"]
    settings.NEXTAUTH_SUPERUSER_ROLES = ["owner"]
    return settings


def test_a_staff_role_takes_a_superusers_flag_away_and_keeps_staff(syncing: Any) -> None:
    user = get_user_model().objects.create_user("ada", is_staff=True, is_superuser=True)
    apply_role(user, "staff")
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, False)


def test_the_role_mapping_writes_only_the_flags_it_changes(syncing: Any) -> None:
    user = get_user_model().objects.create_user("ada", first_name="Ada")
    # Another request renames the person after this one read the row.
    get_user_model().objects.filter(pk=user.pk).update(first_name="Augusta")
    apply_role(user, "owner")
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.first_name) == (True, True, "Augusta")


def test_a_role_the_group_mapping_does_not_name_leaves_every_managed_group(syncing: Any) -> None:
    from django.contrib.auth.models import Group

    syncing.NEXTAUTH_ROLE_GROUPS = {"editor": ["Editors"]}
    user = get_user_model().objects.create_user("ada")
    user.groups.add(Group.objects.create(name="Editors"), Group.objects.create(name="Readers"))
    apply_role(user, "viewer")
    assert sorted(user.groups.values_list("name", flat=True)) == ["Readers"]


def test_without_a_group_mapping_the_groups_are_not_read(
    syncing: Any, django_assert_num_queries: Any
) -> None:
    user = get_user_model().objects.create_user("ada", is_staff=True)
    with django_assert_num_queries(0):
        apply_role(user, "staff")


class _UserWithoutGroups:
    """A custom user model without PermissionsMixin: flags, no ``groups``."""

    is_staff = False
    is_superuser = False

    def __init__(self) -> None:
        self.saved: list[Any] = []

    def save(self, update_fields: Any = None) -> None:
        self.saved.append(update_fields)


def test_a_user_model_without_groups_takes_the_flags_and_no_groups(syncing: Any) -> None:
    syncing.NEXTAUTH_ROLE_GROUPS = {"staff": ["Staff"]}
    user = _UserWithoutGroups()
    apply_role(user, "staff")  # type: ignore[arg-type]
    assert (user.is_staff, user.saved) == (True, [["is_staff"]])


# --------------------------------------------------------------------------- #
# The lookup claim's value
# --------------------------------------------------------------------------- #


@pytest.fixture
def by_email(settings: Any) -> Any:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    return settings


def test_an_empty_lookup_value_names_no_user_whose_field_is_blank(by_first_name: Any) -> None:
    get_user_model().objects.create_user("no-name")  # first_name ""
    with pytest.raises(UserNotFound):
        user_from_claims({"id": ""})


def test_an_empty_email_claim_names_no_user_without_an_address(by_email: Any) -> None:
    get_user_model().objects.create_user("no-address")  # email ""
    with pytest.raises(UserNotFound):
        user_from_claims({"id": "1", "email": ""})


def test_an_email_claim_that_is_not_a_string_names_no_user(by_email: Any) -> None:
    get_user_model().objects.create_user("ada", email="42")
    for value in (42, 4.2, ["42"]):
        with pytest.raises(UserNotFound):
            user_from_claims({"id": "1", "email": value})


def test_two_rows_for_one_email_are_refused_and_named_by_key(
    by_email: Any, caplog: pytest.LogCaptureFixture
) -> None:
    first = get_user_model().objects.create_user("one", email="ada@example.com")
    second = get_user_model().objects.create_user("two", email="ADA@example.com")
    with (
        caplog.at_level("WARNING", logger="django_nextauth_jwt.identity"),
        pytest.raises(UserNotFound),
    ):
        user_from_claims({"id": "1", "email": "ada@example.com"})
    pks = ", ".join(sorted((str(first.pk), str(second.pk))))
    assert [r.getMessage() for r in caplog.records] == [
        f"2 users match one email claim (pks {pks}): refused; give each a distinct address"
    ]


# --------------------------------------------------------------------------- #
# Provisioning that loses a race, or fails
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("lookup", ["email", "first_name"])
def test_provisioning_beaten_by_a_concurrent_request_takes_its_row(
    settings: Any, monkeypatch: pytest.MonkeyPatch, lookup: str
) -> None:
    from django.db import IntegrityError

    from django_nextauth_jwt import users

    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_PROVISION_USERS = True
    if lookup == "email":
        settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    else:
        settings.NEXTAUTH_USER_LOOKUP_FIELD = "first_name"
    made: list[Any] = []

    def raced(*args: Any, **kwargs: Any) -> Any:
        # The other request created the row first (by email: its address in another case).
        made.append(
            get_user_model().objects.create_user("ada", email="Ada@Example.com", first_name="Ada")
        )
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(users, "_provision", raced)
    assert user_from_claims({"id": "Ada", "email": "ada@example.com"}) == made[0]


@pytest.mark.parametrize("error", ["IntegrityError", "DataError"])
def test_provisioning_that_fails_says_so(
    by_email: Any, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    from django import db

    from django_nextauth_jwt import users

    by_email.NEXTAUTH_PROVISION_USERS = True

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise getattr(db, error)("the database refused")

    monkeypatch.setattr(users, "_provision", fails)
    with pytest.raises(UserNotFound) as info:
        user_from_claims({"id": "1", "email": "ada@example.com"})
    assert info.value.message == "User could not be provisioned."
    assert info.value.code == "user_not_found"


# --------------------------------------------------------------------------- #
# Which row a sub names (sign-out-everywhere by sub, in database mode)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("claim", ["id", "sub"])
def test_a_sub_names_its_row_by_the_lookup_field_when_the_lookup_claim_is_the_id(
    settings: Any, claim: str
) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = claim
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "username"
    ada = get_user_model().objects.create_user("ada")
    assert user_for_subject("ada") == ada
    assert user_for_subject(str(ada.pk)) is None


def test_a_sub_names_its_row_by_address_when_the_lookup_field_is_the_email(settings: Any) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "email"
    ada = get_user_model().objects.create_user("ada", email="ada@example.com")
    # Compared as an address (case folded in the domain and the local part alike), not as text.
    assert user_for_subject("ADA@example.com") == ada
    # One no database can store or compare names nobody, and is never sent to the database.
    assert user_for_subject("ada\ud800@example.com") is None


def test_a_sub_names_its_row_by_key_when_the_lookup_claim_is_the_email(by_email: Any) -> None:
    ada = get_user_model().objects.create_user("ada", email="ada@example.com")
    assert user_for_subject(str(ada.pk)) == ada
    assert user_for_subject("ada@example.com") is None


# --------------------------------------------------------------------------- #
# Which field a lookup claim reads
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("claim", ["id", "sub"])
def test_the_id_claims_are_looked_up_by_primary_key_whatever_its_name(
    settings: Any, claim: str
) -> None:
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = claim
    assert lookup_field() == "pk"


def test_the_email_claim_is_looked_up_in_the_models_email_field(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    monkeypatch.setattr(get_user_model(), "EMAIL_FIELD", "username")
    assert lookup_field() == "username"


def test_another_claim_is_looked_up_in_the_field_of_its_name(settings: Any) -> None:
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "username"
    assert lookup_field() == "username"


# --------------------------------------------------------------------------- #
# Minting for a user: the inverse of the lookup, on any user model
# --------------------------------------------------------------------------- #


def test_minted_claims_name_the_user_by_key_when_the_lookup_claim_is_the_email(
    by_email: Any,
) -> None:
    ada = get_user_model().objects.create_user("ada", email="ada@example.com")
    assert claims_for_user(ada)["id"] == str(ada.pk)


@pytest.mark.parametrize("claim", ["id", "sub"])
def test_minted_claims_name_the_user_by_the_lookup_field(settings: Any, claim: str) -> None:
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = claim
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "username"
    ada = get_user_model().objects.create_user("ada", email="ada@example.com")
    assert claims_for_user(ada)["id"] == "ada"


class _BareUser:
    """A user model built on AbstractBaseUser alone: no email, no full name, no flags."""

    pk = 5

    def get_email_field_name(self) -> str:
        return "email"

    def get_username(self) -> str:
        return "ada"


def test_minted_claims_for_a_bare_user_model_hold_its_key_and_username(settings: Any) -> None:
    settings.NEXTAUTH_STAFF_ROLES = ["staff"]
    settings.NEXTAUTH_SUPERUSER_ROLES = ["owner"]
    assert claims_for_user(_BareUser()) == {"id": "5", "name": "ada"}


# --------------------------------------------------------------------------- #
# Provisioning: what it writes, and what it refuses with which message
# --------------------------------------------------------------------------- #


@pytest.fixture
def provisioning(settings: Any) -> Any:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_PROVISION_USERS = True
    return settings


def test_a_user_provisioned_without_an_email_is_named_by_the_id(provisioning: Any) -> None:
    user = user_from_claims({"id": "77"})
    assert (user.pk, user.username, user.email) == (77, "77", "")


def test_provisioning_refuses_an_address_another_row_holds_and_says_so(provisioning: Any) -> None:
    get_user_model().objects.create_user("ada", email="ada@example.com")
    with pytest.raises(UserNotFound) as info:
        user_from_claims({"id": "77", "email": "ADA@example.com"})
    assert info.value.message == "User could not be provisioned."
    assert not get_user_model().objects.filter(pk=77).exists()


def test_provisioning_refuses_a_value_its_column_cannot_hold_and_says_so(
    provisioning: Any,
) -> None:
    address = "a" * 160 + "@example.com"  # fits the email column, not the username's 150
    with pytest.raises(UserNotFound) as info:
        user_from_claims({"id": "77", "email": address})
    assert info.value.message == "User could not be provisioned."
    assert not get_user_model().objects.filter(pk=77).exists()


def test_provisioning_never_overwrites_a_row_that_appeared_meanwhile(provisioning: Any) -> None:
    from django.db import IntegrityError

    from django_nextauth_jwt import users

    other = get_user_model().objects.create_user("bob", email="bob@example.com")
    claims = {"id": str(other.pk), "email": "mallory@example.com", "role": "owner"}
    with pytest.raises(IntegrityError):
        users._provision(get_user_model(), "pk", other.pk, claims)
    other.refresh_from_db()
    assert (other.username, other.email, other.is_superuser) == ("bob", "bob@example.com", False)


@pytest.mark.parametrize("mode", ["token", "database"])
def test_the_user_mode_is_read_once_per_settings_object(
    settings: Any, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """It is asked on every authenticated request: read when the settings change, not each time."""
    settings.NEXTAUTH_USER_MODE = mode
    assert database_mode() is (mode == "database")  # read here, for this settings object
    reads = count_setting_reads(monkeypatch)
    assert database_mode() is (mode == "database")
    if mode == "token":
        assert isinstance(user_from_claims({"sub": "1", "id": "1"}), TokenUser)
    assert reads == []
