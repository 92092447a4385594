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


def decode_to(token: str, stream: Any) -> Any:
    call_command("nextauth_decode", token, stdout=stream)
    stream.flush()
    return stream


def test_decode_prints_bidi_overrides_zero_width_and_escape_sequences_escaped() -> None:
    hostile = {
        "name": "\u202eevil\u2066txt.exe\u2069",
        "note": "zero\u200bwidth\u2028line",
        "ansi": "\x1b[31mred\x1b]8;;http://evil/\x07",
        "tag": "a\U000e0041b",
    }
    token = forge.jws(forge.claims(**hostile))
    printed = run("nextauth_decode", token)
    for raw in ("\u202e", "\u2066", "\u2069", "\u200b", "\u2028", "\x1b", "\x07", "\U000e0041"):
        assert raw not in printed
    assert "\\u202e" in printed
    assert "\\udb40\\udc41" in printed  # a non-BMP format character as a JSON surrogate pair
    decoded = json.loads(printed)
    assert {k: decoded[k] for k in hostile} == hostile


def test_decode_of_a_lone_surrogate_claim_does_not_crash_a_utf8_terminal() -> None:
    token = forge.jws(forge.claims(name="a\ud800b"))
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    refusal = None
    try:
        decode_to(token, stream)
    except CommandError as exc:  # refusing such a claim at verification is fine too
        refusal = str(exc)
    if refusal is not None:
        assert refusal.startswith("refused")
        return
    printed = stream.buffer.getvalue().decode("utf-8")
    assert "a\\ud800b" in printed


def test_decode_on_an_ascii_terminal_prints_non_ascii_claims_escaped_not_a_crash() -> None:
    token = forge.jws(forge.claims(name="Ad\u00e1 \U0001f600"))
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    printed = decode_to(token, stream).buffer.getvalue().decode("ascii")
    assert json.loads(printed)["name"] == "Ad\u00e1 \U0001f600"
