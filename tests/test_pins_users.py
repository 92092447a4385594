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

from django_nextauth_jwt.users import UserNotFound, claims_for_user, user_from_claims

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
