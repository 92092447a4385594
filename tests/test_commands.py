"""The management commands, through call_command as a user would run them."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from django_nextauth_jwt import JWTAuth
from tests import forge


def run(*args: str, stdin: str | None = None, monkeypatch: Any = None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(*args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["email", "id"])
def test_nextauth_token_mints_for_a_user(how: str) -> None:
    user = get_user_model().objects.create_user(
        "ada", email="Ada@Example.com", password="x", first_name="Ada", last_name="Lovelace"
    )
    arg = ["--email", "ada@example.com"] if how == "email" else ["--id", str(user.pk)]
    claims = JWTAuth.verify(run("nextauth_token", *arg))
    assert claims["id"] == str(user.pk)
    assert claims["email"] == "Ada@example.com"  # create_user normalises the domain
    assert claims["name"] == "Ada Lovelace"


@pytest.mark.django_db
def test_nextauth_token_unknown_user_is_an_error() -> None:
    with pytest.raises(CommandError, match="No such user"):
        run("nextauth_token", "--email", "nobody@example.com")


@pytest.mark.django_db
def test_nextauth_token_on_an_empty_database_says_how_to_get_a_user() -> None:
    with pytest.raises(CommandError) as caught:
        run("nextauth_token", "--email", "nobody@example.com")
    assert "The database has no users yet" in str(caught.value)
    assert "createsuperuser" in str(caught.value)
    assert "--claims" in str(caught.value)


@pytest.mark.django_db
def test_nextauth_token_unknown_email_among_users_names_the_miss(django_user_model: Any) -> None:
    django_user_model.objects.create_user("grace", "grace@example.com", "pw")
    with pytest.raises(CommandError) as caught:
        run("nextauth_token", "--email", "nobody@example.com")
    assert "No user has that email" in str(caught.value)
    assert "no users yet" not in str(caught.value)


def test_nextauth_token_mints_for_claims_in_a_chosen_format(settings: Any) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "authjs-v5"]
    token = run(
        "nextauth_token",
        "--claims",
        '{"id": "svc", "role": "service"}',
        "--format",
        "authjs-v5",
        "--max-age",
        "60",
    )
    assert token.count(".") == 4
    claims = JWTAuth.verify(token)
    assert (claims["id"], claims["role"], claims["exp"] - claims["iat"]) == ("svc", "service", 60)


@pytest.mark.parametrize(
    ("claims", "message"),
    [("{", "not valid JSON"), ("[1]", "JSON object"), ("{}", "id")],
)
def test_nextauth_token_bad_claims_are_errors(claims: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("nextauth_token", "--claims", claims)


def test_nextauth_decode_prints_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    token = JWTAuth.create({"id": "7", "email": "x@example.com"})
    printed = json.loads(run("nextauth_decode", stdin=token + "\n", monkeypatch=monkeypatch))
    assert (printed["id"], printed["email"]) == ("7", "x@example.com")
    assert json.loads(run("nextauth_decode", token))["sub"] == "7"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (forge.jws(forge.claims(exp=1)), "token_expired"),
        (forge.jws(forge.claims(), forge.OTHER_SECRET), "token_invalid"),
        ("not-a-token", "token_malformed"),
        ("", "token_missing"),
    ],
)
def test_nextauth_decode_refusal_exits_non_zero_with_the_code(token: str, code: str) -> None:
    with pytest.raises(CommandError, match=rf"refused \({code}\)") as info:
        run("nextauth_decode", token)
    assert info.value.returncode == 1
    assert forge.SECRET not in str(info.value)
