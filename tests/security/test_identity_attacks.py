"""Attacks on identity matching, where the database and not the app would decide who you are.

PostgreSQL compares ``UPPER(a) = UPPER(b)`` for ``__iexact`` (``UPPER`` of the dotless i
is ``I``, of the long s ``S``); MariaDB's ``utf8mb4_general_ci`` is case- and accent-insensitive
and ignores trailing spaces in ``=``. Every case here runs on SQLite, PostgreSQL and
MariaDB (``make test``); the app must give the same, Python-decided answer on all three:
an email matches only when both are equal after NFC and lower-casing of ASCII letters.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from tests import forge
from tests.security.helpers import LOGIN, ME, PLAIN, SESSION, assert_refused, refused_everywhere

pytestmark = [pytest.mark.django_db, pytest.mark.db]

User = get_user_model()
PASSWORD = "correct horse battery staple"

#: Addresses that are other mailboxes than the victim's but that a database folds onto it:
#: (the victim's address, the attacker's spelling).
LOOKALIKE_EMAILS = [
    ("admin@example.com", "adm\u0131n@example.com"),  # dotless i: UPPER() is I on PostgreSQL
    ("staff@example.com", "\u017ftaff@example.com"),  # long s: UPPER() is S on PostgreSQL
    ("ada@example.com", "ad\u00e1@example.com"),  # accent: equal under general_ci
    ("ada@example.com", "\u00e4d\u00e4@example.com"),
    ("ada@gmail.com", "ada@gm\u00e1il.com"),  # an IDN domain folding onto a well-known one
    ("ada@gmail.com", "ada@gma\u0131l.com"),
]
LOOKALIKE_IDS = ["dotless_i", "long_s", "acute", "umlauts", "idn_acute_domain", "idn_dotless_i"]


def token_for(**claims: Any) -> str:
    return forge.jws(forge.claims(**claims))


def get_me(token: str) -> Any:
    return Client().get(ME, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def email_lookup(settings: Any) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"


def login(**body: Any) -> Any:
    extra = body.pop("extra", {})
    return Client().post(LOGIN, data=json.dumps(body), content_type="application/json", **extra)


# --------------------------------------------------------------------------- #
# The backend under test is the one TEST_DB names, with its folding
# --------------------------------------------------------------------------- #


def test_the_database_under_test_is_the_one_test_db_names_and_folds_as_attacked() -> None:
    import os

    expected = {"sqlite": "sqlite", "postgresql": "postgresql", "mariadb": "mysql"}
    assert connection.vendor == expected[os.environ.get("TEST_DB", "sqlite")]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT UPPER(%s) = UPPER(%s)", ["adm\u0131n", "admin"])
        elif connection.vendor == "mysql":
            cursor.execute("SELECT %s = %s", ["\u00e4d\u00e1", "ADA"])
        else:
            cursor.execute("SELECT %s LIKE %s", ["ADA", "ada"])
        assert cursor.fetchone()[0] in (1, True)


# --------------------------------------------------------------------------- #
# Database mode: a token names a user
# --------------------------------------------------------------------------- #


@pytest.mark.usefixtures("email_lookup")
@pytest.mark.parametrize(("victim", "spelling"), LOOKALIKE_EMAILS, ids=LOOKALIKE_IDS)
def test_lookalike_email_claim_does_not_resolve_to_the_staff_account_it_folds_onto(
    victim: str, spelling: str
) -> None:
    User.objects.create_user("victim", email=victim, is_staff=True, is_superuser=True)
    refused_everywhere("user_not_found", token=token_for(email=spelling), session=False)
    bearer = {"Authorization": f"Bearer {token_for(email=spelling)}"}
    assert Client().get(SESSION, headers=bearer).json() == {}


@pytest.mark.usefixtures("email_lookup")
@pytest.mark.parametrize(("victim", "spelling"), LOOKALIKE_EMAILS, ids=LOOKALIKE_IDS)
def test_lookalike_email_claim_with_provisioning_gets_no_access_to_the_account_it_folds_onto(
    settings: Any, victim: str, spelling: str
) -> None:
    settings.NEXTAUTH_PROVISION_USERS = True
    staff = User.objects.create_user(victim, email=victim, is_staff=True)
    response = get_me(token_for(email=spelling))
    # A new account for the new address, or a refusal (MariaDB's unique username index
    # folds too): never the staff account.
    assert response.status_code in (200, 401), response.content
    if response.status_code == 200:
        assert response.json()["id"] != str(staff.pk)
        assert User.objects.get(pk=response.json()["id"]).email == spelling
    else:
        assert response.json()["code"] == "user_not_found"
    staff.refresh_from_db()
    assert staff.email == victim


@pytest.mark.usefixtures("email_lookup")
def test_email_claim_in_other_ascii_case_or_decomposed_form_finds_the_one_account() -> None:
    # The control: what the rule folds (ASCII case, NFC) is folded on every backend.
    user = User.objects.create_user("jose", email="Jos\u00e9@Example.com")
    for spelling in ("jos\u00e9@example.com", "JOSe\u0301@EXAMPLE.COM"):
        response = get_me(token_for(email=spelling))
        assert (response.status_code, response.json().get("id")) == (200, str(user.pk))


@pytest.mark.usefixtures("email_lookup")
def test_two_accounts_matching_one_email_claim_is_a_logged_refusal_not_a_guess(
    caplog: pytest.LogCaptureFixture,
) -> None:
    User.objects.create_user("one", email="ada@example.com")
    User.objects.create_user("two", email="ADA@example.com")
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt"):
        refused_everywhere("user_not_found", token=token_for(email="ada@example.com"))
    assert any("match one" in r.getMessage() for r in caplog.records), caplog.records
    assert not any("ada@example.com" in r.getMessage().lower() for r in caplog.records)


def test_username_claim_in_another_case_or_with_a_trailing_space_is_not_that_user(
    settings: Any,
) -> None:
    # MariaDB: 'ADA' = 'ada' and 'ada ' = 'ada' (PAD SPACE) in an exact lookup.
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "id"
    settings.NEXTAUTH_USER_LOOKUP_FIELD = "username"
    User.objects.create_user("ada", email="ada@example.com", is_staff=True)
    for spelling in ("ADA", "ada ", "\u00e1d\u00e1"):
        refused_everywhere("user_not_found", token=token_for(sub=spelling), session=False)
    assert get_me(token_for(sub="ada")).status_code == 200


@pytest.mark.parametrize(
    "spelling",
    ["0{pk}", "+{pk}", " {pk}", "{pk} ", "{pk}\n", "{pk_underscored}", "{pk}.0", "{pk_fullwidth}"],
    ids=[
        "leading_zero",
        "plus_sign",
        "leading_space",
        "trailing_space",
        "trailing_newline",
        "underscore",
        "decimal",
        "fullwidth_digits",
    ],
)
def test_non_canonical_spelling_of_a_user_id_does_not_name_that_user(
    settings: Any, spelling: str
) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    user = User.objects.create_user("ada", email="ada@example.com", pk=1042, is_staff=True)
    pk = str(user.pk)
    sub = spelling.format(
        pk=pk,
        pk_underscored=f"{pk[:1]}_{pk[1:]}",
        pk_fullwidth="".join(chr(0xFF10 + int(d)) for d in pk),
    )
    refused_everywhere("user_not_found", token=token_for(sub=sub), session=False)
    assert get_me(token_for(sub=pk)).json()["id"] == pk


def test_provisioning_by_id_with_the_email_of_an_existing_account_makes_no_second_account(
    settings: Any,
) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_PROVISION_USERS = True
    User.objects.create_user("ada", email="ada@example.com", pk=1)
    response = get_me(token_for(sub="99", email="ADA@example.com"))
    assert_refused(response, "user_not_found")
    assert list(User.objects.values_list("pk", flat=True)) == [1]


# --------------------------------------------------------------------------- #
# Input the database rejects or truncates
# --------------------------------------------------------------------------- #

HOSTILE_VALUES = [
    "ada\x00@example.com",
    "ada\ud800@example.com",
    "a" * 300 + "@example.com",
]
HOSTILE_IDS = ["nul", "lone_surrogate", "over_long"]


@pytest.mark.usefixtures("email_lookup")
@pytest.mark.parametrize("provision", [False, True], ids=["lookup", "provisioning"])
@pytest.mark.parametrize("email", HOSTILE_VALUES, ids=HOSTILE_IDS)
def test_email_claim_the_database_rejects_is_401_not_500_and_stores_nothing(
    settings: Any, email: str, provision: bool
) -> None:
    settings.NEXTAUTH_PROVISION_USERS = provision
    User.objects.create_user("ada", email="ada@example.com")
    token = token_for(email=email)
    for path in (ME, PLAIN):
        response = Client().get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (path, response.status_code)
        # The claim may also be refused at verification (lone surrogates).
        refusals = ("user_not_found", "token_malformed", "token_claims_invalid")
        assert response.json()["code"] in refusals
    assert User.objects.count() == 1


@pytest.mark.parametrize("email", HOSTILE_VALUES[:1] + HOSTILE_VALUES[2:], ids=["nul", "over_long"])
def test_provisioning_by_id_with_an_email_the_database_rejects_stores_nothing(
    settings: Any, email: str
) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_PROVISION_USERS = True
    assert_refused(get_me(token_for(sub="77", email=email)), "user_not_found")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "sub",
    ["9" * 40, "9223372036854775808", "-9223372036854775809"],
    ids=["huge", "max_plus_one", "min_minus_one"],
)
def test_provisioning_an_id_beyond_the_key_column_range_is_401_not_500(
    settings: Any, sub: str
) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_PROVISION_USERS = True
    refused_everywhere("user_not_found", token=token_for(sub=sub), session=False)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada\x00@example.com"},
        {"username": "ada\x00"},
        {"email": "a" * 250 + "@x.io"},
    ],
    ids=["nul_in_email", "nul_in_username", "over_long_email"],
)
def test_login_with_an_identifier_the_database_rejects_is_400_not_500(body: dict[str, str]) -> None:
    User.objects.create_user("ada", email="ada@example.com", password=PASSWORD)
    assert_refused(login(password=PASSWORD, **body), "invalid_request", 400)


# --------------------------------------------------------------------------- #
# custom-login: lookup and the per-account throttle
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("victim", "spelling"), LOOKALIKE_EMAILS, ids=LOOKALIKE_IDS)
def test_brute_force_past_the_account_budget_with_a_lookalike_spelling_does_not_sign_in(
    victim: str, spelling: str
) -> None:
    User.objects.create_user("victim", email=victim, password=PASSWORD, is_staff=True)
    codes = [
        login(email=victim, password=f"guess{i}", extra={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
        for i in range(5)
    ]
    assert codes == [401] * 5
    # The budget is spent; a spelling the database folds onto the account must not be a
    # fresh budget that reaches its password.
    dodge = login(email=spelling, password=PASSWORD, extra={"REMOTE_ADDR": "10.0.1.1"})
    assert dodge.status_code in (401, 429)
    assert "token" not in dodge.json()


@pytest.mark.parametrize(
    ("account", "spelling"),
    [
        ("ada", "\u00e1d\u00e1"),
        ("\u00e1d\u00e1", "ADA"),
        ("ada", "ada\u0301"),
        ("ada", "ada\u00a0"),
    ],
    ids=["accented", "upper_case_of_an_accented_name", "combining_accent", "trailing_nbsp"],
)
def test_login_with_a_folded_spelling_of_a_username_does_not_sign_in_to_that_account(
    account: str, spelling: str
) -> None:
    # MariaDB's ModelBackend lookup (username = %s) folds case and accents.
    User.objects.create_user(account, password=PASSWORD)
    assert_refused(login(username=spelling, password=PASSWORD), "invalid_credentials")


def test_login_by_username_folds_ascii_case_like_the_email_rule() -> None:
    # The control: ASCII case is folded on every backend, as it is for emails.
    user = User.objects.create_user("Ada", email="ada@example.com", password=PASSWORD)
    response = login(username="aDA", password=PASSWORD)
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(user.pk)


def test_login_with_an_email_two_accounts_share_is_refused_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    User.objects.create_user("one", email="ada@example.com", password=PASSWORD)
    User.objects.create_user("two", email="ADA@EXAMPLE.COM", password=PASSWORD)
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt"):
        assert_refused(login(email="Ada@Example.com", password=PASSWORD), "invalid_credentials")
    assert any("match one" in r.getMessage() for r in caplog.records)


def test_brute_force_with_nfc_nfd_and_ascii_case_spellings_of_one_account_shares_one_budget() -> (
    None
):
    User.objects.create_user("jose", email="jos\u00e9@example.com", password=PASSWORD)
    spellings = ["jos\u00e9@example.com", "jose\u0301@example.com", "JOSe\u0301@Example.COM"]
    codes = [
        login(
            email=spellings[i % 3], password=f"guess{i}", extra={"REMOTE_ADDR": f"10.0.0.{i}"}
        ).status_code
        for i in range(5)
    ]
    assert codes == [401] * 5
    for spelling in spellings:
        assert_refused(login(email=spelling, password=PASSWORD), "too_many_attempts", 429)


@pytest.mark.parametrize(("victim", "spelling"), LOOKALIKE_EMAILS, ids=LOOKALIKE_IDS)
def test_nextauth_token_for_a_lookalike_email_mints_for_no_one(victim: str, spelling: str) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    User.objects.create_user("victim", email=victim, is_staff=True)
    with pytest.raises(CommandError, match="No such user"):
        call_command("nextauth_token", "--email", spelling)
