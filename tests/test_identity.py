"""The identity rule on its own (no database): what is folded, and nothing more."""

from __future__ import annotations

import uuid

import pytest
from django.db import models

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
