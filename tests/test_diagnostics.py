"""Diagnostics that name the fix: each common integration fault is logged once, in words.

The client still sees only the stable code; the operator's log says which format, cookie,
secret or salt differs, and never carries the token or the secret.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from django_nextauth_jwt import diagnostics
from django_nextauth_jwt.jose import codec
from tests import forge, request_helpers

ME = "/api/me/"
PLAIN = "/api/plain/"  # a plain Django view the middleware protects
LOGGER = "django_nextauth_jwt.diagnostics"


@pytest.fixture(autouse=True)
def fresh(settings: Any) -> Iterator[None]:
    # The documented deployment: DRF's exception handler, the middleware protecting PLAIN.
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler"
    }
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, request_helpers.MIDDLEWARE]
    settings.NEXTAUTH_PROTECTED_PATHS = [PLAIN]
    diagnostics.reset()
    yield
    diagnostics.reset()


def warnings_for(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def refused(
    caplog: pytest.LogCaptureFixture, code: str, path: str = ME, **kwargs: Any
) -> list[str]:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = Client().get(path, **kwargs)
    assert response.status_code == 401
    assert response.json()["code"] == code
    return warnings_for(caplog)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_v4_token_at_a_v5_service_names_both_formats_once(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    token = forge.v4(forge.claims())
    [line] = refused(caplog, "token_unsupported", **bearer(token))
    assert "a next-auth v4 token (JWE dir/A256GCM) arrived" in line
    assert "this service reads authjs-v5" in line
    assert "NEXTAUTH_JWT_FORMAT" in line
    # Once per cause per process: the same fault again logs nothing new.
    assert len(refused(caplog, "token_unsupported", **bearer(forge.v4(forge.claims())))) == 1


def test_the_other_familys_cookie_is_named_when_the_configured_one_is_absent(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    client_cookie = {"HTTP_COOKIE": f"next-auth.session-token.0={forge.v4(forge.claims())}"}
    [line] = refused(caplog, "token_missing", PLAIN, **client_cookie)
    assert "a session cookie named 'next-auth.session-token' arrived" in line
    assert "'authjs.session-token'" in line


def test_no_cookie_at_all_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    cookies = "csrftoken=abc; theme=dark; authjs.session-token.x=1"
    assert refused(caplog, "token_missing", PLAIN, HTTP_COOKIE=cookies) == []


def test_a_v5_token_for_the_secure_cookie_name_is_a_salt_mismatch(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    token = forge.v5(forge.claims(), salt="__Secure-authjs.session-token")
    [line] = refused(caplog, "token_invalid", **bearer(token))
    assert "encrypted for the cookie name '__Secure-authjs.session-token'" in line
    assert "derives its key for 'authjs.session-token'" in line
    assert "NEXTAUTH_SECURE_COOKIE" in line


def test_a_session_cookie_of_another_deployment_is_named_in_the_warning(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A next-auth 4 service sent Auth.js 5's cookie (or the reverse, or __Secure- over http):
    # the client gets token_missing, the operator the setting to fix.
    settings.NEXTAUTH_JWT_FORMAT = "jws"
    cookie = "authjs.session-token=" + forge.jws(forge.claims())
    [line] = refused(caplog, "token_missing", HTTP_COOKIE=cookie)
    assert "a session cookie named 'authjs.session-token' arrived" in line
    assert "'next-auth.session-token'" in line


@pytest.mark.parametrize(
    ("fmt", "make", "what"),
    [
        ("jws", forge.jws, "its signature"),
        ("nextauth-v4", forge.v4, "its authentication tag"),
        ("authjs-v5", forge.v5, "its kid"),
    ],
)
def test_a_token_under_another_secret_is_a_secret_mismatch(
    settings: Any, caplog: pytest.LogCaptureFixture, fmt: str, make: Any, what: str
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = fmt
    token = make(forge.claims(), forge.OTHER_SECRET)
    [line] = refused(caplog, "token_invalid", **bearer(token))
    assert f"{what} does not match the configured secret:" in line
    assert "NEXTAUTH_SECRET differs" in line


def test_a_secret_mismatch_counts_several_secrets_in_the_plural(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NEXTAUTH_SECRET = [forge.SECRET, "another-secret-of-32-bytes-or-more!"]
    [line] = refused(caplog, "token_invalid", **bearer(forge.jws(forge.claims(), "x" * 32)))
    assert "its signature matches none of the 2 configured secrets:" in line


def test_an_expired_token_says_how_long_ago(caplog: pytest.LogCaptureFixture) -> None:
    now = int(time.time())
    token = forge.jws(forge.claims(iat=now - 4 * 3600, exp=now - 2 * 3600 - 30))
    [line] = refused(caplog, "token_expired", **bearer(token))
    assert "expired 2 hours ago" in line


def test_a_jws_of_another_algorithm_is_named_only_from_a_known_list(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rs = forge.hmac_jws({"alg": "RS256", "typ": "JWT"}, forge.claims(), b"k" * 32)
    [line] = refused(caplog, "token_unsupported", **bearer(rs))
    assert "a JWS signed with RS256 arrived; this service verifies HS256 only" in line
    diagnostics.reset()
    odd = forge.hmac_jws({"alg": "<script>x</script>"}, forge.claims(), b"k" * 32)
    [line] = refused(caplog, "token_unsupported", **bearer(odd))[-1:]
    assert "signed with another algorithm" in line
    assert "script" not in line


def test_logs_never_carry_the_token_or_the_secret(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    tokens = [
        forge.v4(forge.claims()),
        forge.v5(forge.claims(), forge.OTHER_SECRET),
        forge.v5(forge.claims(), salt="__Secure-authjs.session-token"),
    ]
    for token in tokens:
        refused(
            caplog,
            "token_unsupported"
            if token.count(".") == 4
            and "A256GCM" in codec.b64url_decode(token.split(".")[0]).decode()
            else "token_invalid",
            **bearer(token),
        )
    text = "\n".join(warnings_for(caplog))
    assert len(warnings_for(caplog)) == 3
    for token in tokens:
        for part in token.split("."):
            assert not part or part not in text
    assert forge.SECRET not in text
    assert forge.OTHER_SECRET not in text


def test_a_flood_of_made_up_kids_derives_no_key_per_token(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    refused(caplog, "token_invalid", **bearer(forge.v5(forge.claims(), forge.OTHER_SECRET)))
    before = codec.derivation_count()
    for i in range(30):
        header = {"alg": "dir", "enc": "A256CBC-HS512", "kid": f"made-up-{i}"}
        refused(caplog, "token_invalid", **bearer(forge.v5(forge.claims(), header=header)))
    assert codec.derivation_count() == before


def test_nextauth_decode_explain_prints_the_fix(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    with pytest.raises(CommandError) as caught:
        call_command("nextauth_decode", forge.v4(forge.claims()), "--explain", stdout=io.StringIO())
    assert "refused (token_unsupported)" in str(caught.value)
    assert "a next-auth v4 token (JWE dir/A256GCM) arrived" in str(caught.value)
    with pytest.raises(CommandError) as plain:
        call_command("nextauth_decode", forge.v4(forge.claims()), stdout=io.StringIO())
    assert "arrived" not in str(plain.value)


def test_every_known_session_cookie_passes_the_cheap_name_filter() -> None:
    # diagnose_cookies skips names without the mark before any other work, and a request
    # without a token whose Cookie header lacks it is not diagnosed at all.
    assert diagnostics.SESSION_COOKIE_MARK == "session-token"
    assert all(
        diagnostics.SESSION_COOKIE_MARK in name for name in diagnostics.KNOWN_SESSION_COOKIES
    )


def test_a_cookie_header_without_a_session_cookie_is_not_diagnosed(
    settings: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    original = diagnostics.report

    def recording(*args: Any) -> None:
        calls.append(args)
        original(*args)

    monkeypatch.setattr(diagnostics, "report", recording)
    assert refused(caplog, "token_missing", PLAIN, HTTP_COOKIE="csrftoken=abc; theme=dark") == []
    assert calls == []  # the gate, not diagnose_cookies, said no
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    cookie = f"next-auth.session-token={forge.v4(forge.claims())}"
    [line] = refused(caplog, "token_missing", PLAIN, HTTP_COOKIE=cookie)
    assert "a session cookie named 'next-auth.session-token' arrived" in line
    assert len(calls) == 1


# --------------------------------------------------------------------------- #
# What was pasted, when it is not a whole token
# --------------------------------------------------------------------------- #

#: A claim value that must never be repeated by a diagnosis.
MARK = "ZqMarkValue"


def explain(text: str) -> str:
    with mock.patch("sys.stdin", io.StringIO(text)), pytest.raises(CommandError) as caught:
        call_command("nextauth_decode", "--explain", stdout=io.StringIO())
    return str(caught.value)


def a_token() -> str:
    return forge.jws(forge.claims(name=MARK))


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        (lambda t: f"Bearer {t}", "an Authorization header arrived, not a token: pass only"),
        (lambda t: f"Authorization: Bearer {t}", "pass only what follows 'Bearer '"),
        (lambda t: f"bearer {t}", "an Authorization header arrived"),
        (
            lambda t: f"Cookie: csrftoken=abc; next-auth.session-token={t}; theme=dark",
            "pass the value of 'next-auth.session-token' alone, without its name",
        ),
        (
            lambda t: (
                f"__Secure-authjs.session-token.0={t[:20]}; "
                f"__Secure-authjs.session-token.1={t[20:]}"
            ),
            "'__Secure-authjs.session-token.0', '__Secure-authjs.session-token.1', ...: their "
            "values joined in order",
        ),
        (
            lambda t: "Cookie: csrftoken=abc; sessionid=def",
            "none of its 2 cookies is a NextAuth session cookie",
        ),
        (lambda t: f'"{t}"', "a token in quotes arrived"),
        (lambda t: f"'{t}'", "pass it without them"),
        (lambda t: f"{t[:30]}\n{t[30:60]}\n{t[60:]}", "holding 2 spaces or line breaks"),
        (lambda t: f"{t[:30]} {t[30:]}", "holding 1 space or line break arrived"),
        (lambda t: t[:-10], "cut short arrived: its last part (33 characters) is shorter"),
        (lambda t: t.rsplit(".", 1)[0], "a token of 2 parts arrived: a JWS has 3 and a JWE 5"),
        (lambda t: t[:40], "a token of 2 parts arrived"),
        (lambda t: t[:50] + "...", "shortened with an ellipsis"),
        (lambda t: t[:50] + "\u2026", "shortened with an ellipsis"),
        (lambda t: f"{t}.{t}", "6 parts under a JWS header arrived: more than one token"),
        (lambda t: f"{t}{t}", "5 parts under a JWS header arrived"),
        (lambda t: "123e4567-e89b-12d3-a456-426614174000", "NextAuth database session id"),
        (lambda t: "hello world!"[:5], "not a token arrived (1 part)"),
        (lambda t: "c2Vzc2lvbg.c2Vzc2lvbg.c2Vzc2lvbg", "begins with 'eyJ'"),
        (lambda t: t.replace("-", "+").replace("_", "/") + "+/", "standard base64's + or /"),
        (lambda t: t.replace("e", "\u00e9"), "characters outside base64url"),
        (lambda t: "eyJub3QganNvbg.e30.c2ln", "first part is not a JSON header"),
    ],
)
def test_explain_says_what_was_pasted_and_what_to_pass(pasted: Any, says: str) -> None:
    message = explain(pasted(a_token()))
    assert says in message
    assert MARK not in message
    assert a_token().split(".")[1] not in message


def test_explain_of_a_token_cut_short_is_not_a_secret_mismatch(settings: Any) -> None:
    # The slip this guards: a JWS cut inside its signature fails the HMAC, and before the
    # shape was looked at it read as "matches none of the configured secrets".
    message = explain(a_token()[:-3])  # 40 characters: canonical base64url, 30 bytes
    assert "refused (token_invalid)" in message
    assert "cut short" in message
    assert "NEXTAUTH_SECRET differs" not in message
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    assert "shorter than its header's authentication tag" in explain(forge.v4(forge.claims())[:-3])
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    assert "cut short" in explain(forge.v5(forge.claims())[:-7])


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_whole_tokens_of_every_format_have_a_whole_token_shape(alg: str) -> None:
    tokens = [
        forge.jws(forge.claims()),
        forge.jws(forge.claims(), alg="HS384"),
        forge.jws(forge.claims(), alg="HS512"),
        forge.v4(forge.claims()),
        forge.v5(forge.claims()),
        forge.asym_jws(forge.claims(), alg),
    ]
    for token in tokens:
        assert diagnostics.diagnose_input(token) is None, token[:20]
        assert diagnostics.diagnose_input(f"  {token}\n") is None


def test_explain_of_a_whole_token_under_another_secret_still_names_the_secret() -> None:
    message = explain(forge.jws(forge.claims(), forge.OTHER_SECRET))
    assert "does not match the configured secret" in message


def test_a_quoted_bearer_token_is_logged_once_as_quoted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A client that sends `Authorization: Bearer "<token>"` (a JSON string pasted as is).
    header = {"HTTP_AUTHORIZATION": f'Bearer "{a_token()}"'}
    [line] = refused(caplog, "token_malformed", **header)
    assert line.startswith("token refused: a token in quotes arrived")
    assert refused(caplog, "token_malformed", **header) == [line]  # once per cause
    assert MARK not in caplog.text


def test_explain_without_a_known_cause_says_the_shape_is_whole() -> None:
    token = forge.jws(forge.claims(sub=""))
    message = explain(token)
    assert "refused (token_claims_invalid)" in message
    assert "It has the shape of a whole token" in message
