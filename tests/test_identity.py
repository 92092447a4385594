"""The identity rule on its own (no database): what is folded, and nothing more."""

from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, models
from django.db.models import Q

from django_nextauth_jwt import identity


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("jos\u00e9@example.com", "jose\u0301@example.com"),  # NFC == NFD
        ("JOSe\u0301@EXAMPLE.com", "jos\u00e9@example.com"),
        # The Kelvin sign's canonical decomposition is K: NFC makes it one.
        ("\u212aate@example.com", "kate@example.com"),
    ],
    ids=["ascii_case", "nfc_nfd", "ascii_case_and_nfd", "kelvin_sign_is_canonically_k"],
)
def test_spellings_the_rule_folds_share_one_canonical_form(a: str, b: str) -> None:
    assert identity.canonical(a) == identity.canonical(b)
    assert identity.same_identity(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("stra\u00dfe@example.com", "strasse@example.com"),  # sharp s is not ss
        ("adm\u0131n@example.com", "admin@example.com"),  # dotless i is not i
        ("\u017ftaff@example.com", "staff@example.com"),  # long s is not s
        ("ad\u00e1@example.com", "ada@example.com"),  # accents are not stripped
        ("\uff41da@example.com", "ada@example.com"),  # full-width a: no NFKC
        ("\ufb01le@example.com", "file@example.com"),  # the fi ligature: no NFKC
        ("\u00c4DA@example.com", "\u00e4da@example.com"),  # non-ASCII case is not folded
        ("ada@example.com ", "ada@example.com"),  # whitespace is not trimmed here
    ],
    ids=[
        "sharp_s",
        "dotless_i",
        "long_s",
        "accent",
        "fullwidth",
        "ligature",
        "non_ascii_case",
        "trailing_space",
    ],
)
def test_lookalike_spellings_are_other_identities(a: str, b: str) -> None:
    assert identity.canonical(a) != identity.canonical(b)
    assert not identity.same_identity(a, b)


def test_only_non_empty_strings_have_an_identity() -> None:
    assert not identity.same_identity("", "")
    assert not identity.same_identity(None, None)
    assert not identity.same_identity(42, "42")


@pytest.mark.parametrize(
    ("value", "ok"),
    [("ada@example.com", True), ("ada\x00", False), ("ada\ud800", False), ("\U0001f600", True)],
    ids=["plain", "nul", "lone_surrogate", "astral"],
)
def test_storable_refuses_what_a_database_cannot_store(value: str, ok: bool) -> None:
    assert identity.storable(value) is ok


def test_fits_refuses_a_value_longer_than_the_column() -> None:
    field = models.CharField(max_length=5)
    assert identity.fits(field, "abcde")
    assert not identity.fits(field, "abcdef")
    assert identity.fits(models.TextField(), "x" * 10_000)


def test_fits_refuses_an_integer_outside_the_column_range() -> None:
    field = models.BigIntegerField()
    assert identity.fits(field, 2**63 - 1)
    assert not identity.fits(field, 2**63)
    assert not identity.fits(field, -(2**63) - 1)
    assert identity.fits(models.CharField(max_length=5), 10**40)  # not an integer column


@pytest.mark.parametrize(
    "value",
    [
        "042",
        "+42",
        "-042",
        "-0",
        " 42",
        "42 ",
        "42\n",
        "4_2",
        "42.0",
        "\u0664\u0662",
        "\uff14\uff12",
        "",
    ],
)
def test_integer_key_is_named_only_by_its_canonical_string(value: str) -> None:
    field = models.BigAutoField(primary_key=True)
    assert identity.canonical_value(field, "42") == 42
    assert identity.canonical_value(field, 42) == 42
    assert identity.canonical_value(field, value) is None
    # "-42" is str(-42): it names only a key of -42, never 42.
    assert identity.canonical_value(field, "-42") == -42


def test_uuid_key_is_named_only_by_str_of_the_uuid() -> None:
    field = models.UUIDField(primary_key=True)
    key = uuid.uuid4()
    assert identity.canonical_value(field, str(key)) == key
    for other in (str(key).upper(), key.hex, f"{{{key}}}", f"urn:uuid:{key}"):
        assert identity.canonical_value(field, other) is None


def test_booleans_and_other_types_name_nothing() -> None:
    field = models.BigAutoField(primary_key=True)
    for value in (True, False, 4.2, None, ["42"]):
        assert identity.canonical_value(field, value) is None


def test_text_key_with_nul_names_nothing() -> None:
    assert identity.canonical_value(models.CharField(max_length=20), "ada\x00") is None
    assert identity.canonical_value(models.CharField(max_length=20), "ada") == "ada"


# --------------------------------------------------------------------------- #
# Edges mutation testing (make mutate) showed no test observed
# --------------------------------------------------------------------------- #


def test_fits_takes_an_integer_at_either_end_of_the_column_range() -> None:
    field = models.BigIntegerField()
    assert identity.fits(field, -(2**63))
    assert identity.fits(field, 2**63 - 1)


def test_fits_asks_the_range_of_the_columns_own_type() -> None:
    # SQLite reports 0 and up for the positive types only.
    assert not identity.fits(models.PositiveIntegerField(), -1)
    assert identity.fits(models.IntegerField(), -1)


@pytest.fixture
def no_backend_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database reports no integer ranges, as SQLite did before Django 5.0."""
    monkeypatch.setattr(connections["default"].ops, "integer_field_range", lambda _: (None, None))


@pytest.mark.usefixtures("no_backend_ranges")
def test_without_a_range_from_the_backend_the_types_standard_range_applies() -> None:
    assert identity.fits(models.SmallIntegerField(), 32767)
    assert not identity.fits(models.SmallIntegerField(), 32768)
    assert not identity.fits(models.BigIntegerField(), 2**63)
    assert not identity.fits(models.PositiveIntegerField(), -1)


class OddIntegerField(models.IntegerField):  # type: ignore[type-arg]
    def get_internal_type(self) -> str:
        return "OddIntegerField"


@pytest.mark.usefixtures("no_backend_ranges")
def test_without_any_known_range_an_integer_fits() -> None:
    assert identity.fits(OddIntegerField(), 2**70)


class RecordingRouter:
    """Sends nothing anywhere special; remembers which models it was asked about."""

    asked: ClassVar[list[Any]] = []

    def db_for_write(self, model: Any, **hints: Any) -> None:
        RecordingRouter.asked.append(model)


def test_fits_takes_the_range_of_the_database_the_model_is_written_to(settings: Any) -> None:
    settings.DATABASE_ROUTERS = [f"{__name__}.RecordingRouter"]
    RecordingRouter.asked = []
    user_model = get_user_model()
    assert identity.fits(user_model._meta.get_field("id"), 42)
    assert identity.fits(models.BigIntegerField(), 42)  # a field of no model: the default
    assert RecordingRouter.asked == [user_model]


def test_an_integer_beyond_the_key_column_names_no_user() -> None:
    field = models.BigAutoField(primary_key=True)
    assert identity.canonical_value(field, str(2**63 - 1)) == 2**63 - 1
    assert identity.canonical_value(field, str(2**63)) is None
    assert identity.canonical_value(field, 2**63) is None


def test_an_integer_claim_names_a_text_key_as_its_string_and_never_a_uuid() -> None:
    assert identity.canonical_value(models.CharField(max_length=20), 42) == "42"
    assert identity.canonical_value(models.UUIDField(primary_key=True), 42) is None
    key = uuid.UUID(int=42)
    assert identity.canonical_value(models.UUIDField(primary_key=True), str(key)) == key


def test_candidates_query_asks_every_field_in_both_normal_forms() -> None:
    query = identity.candidates_query(["email", "username"], "Jos\u00e9")
    expected = (
        Q(email__iexact="Jos\u00e9")
        | Q(email__iexact="Jose\u0301")
        | Q(username__iexact="Jos\u00e9")
        | Q(username__iexact="Jose\u0301")
    )
    assert query == expected


def rows(*pairs: tuple[int, str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(pk=pk, email=email) for pk, email in pairs]


def test_matching_finds_the_one_row_and_refuses_two(caplog: pytest.LogCaptureFixture) -> None:
    found = identity.matching(
        rows((9, "ADA@example.com"), (3, "bob@example.com")),
        ["email"],
        "ada@example.com",
        what="email claim",
    )
    assert found.pk == 9
    assert (
        identity.matching(rows((3, "bob@example.com")), ["email"], "ada@example.com", what="x")
        is None
    )
    with (
        caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.identity"),
        pytest.raises(identity.Ambiguous) as refused,
    ):
        identity.matching(
            rows((9, "ada@example.com"), (10, "ADA@example.com"), (11, "bob@example.com")),
            ["email"],
            "Ada@Example.com",
            what="email claim",
        )
    assert refused.value.count == 2
    assert str(refused.value) == "2 rows match one identity"
    # The rows' keys in text order, never the value.
    assert [r.getMessage() for r in caplog.records] == [
        "2 users match one email claim (pks 10, 9): refused; give each a distinct address"
    ]


def test_has_field_tells_a_field_from_a_missing_one() -> None:
    user_model = get_user_model()
    assert identity.has_field(user_model, "email")
    assert not identity.has_field(user_model, "no_such_field")
