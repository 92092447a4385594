"""Attacks on how a token travels: sizes, nesting, encodings, the Bearer grammar, cookie
chunks and duplicates, tokens in the query string, identity headers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests import forge
from tests.request_helpers import IDENTITY_HEADERS, chunk
from tests.security.helpers import (
    ME,
    PLAIN,
    V4_COOKIE,
    accepted_everywhere,
    assert_refused,
    elapsed,
    refused_everywhere,
)


def valid() -> str:
    return forge.jws(forge.claims())


def intruder() -> str:
    return forge.jws(forge.claims(sub="1", role="admin"), forge.OTHER_SECRET)


def send_raw_cookie(path: str, cookie: str, **headers: str) -> Any:
    return Client().get(path, headers={"Cookie": cookie, **headers})


# --------------------------------------------------------------------------- #
# Oversized tokens, headers and chunk counts
# --------------------------------------------------------------------------- #


def test_token_longer_than_the_limit_is_refused_before_decoding() -> None:
    token = forge.jws(forge.claims(padding="x" * 40_000))
    _, seconds = elapsed(lambda: refused_everywhere("token_malformed", token=token))
    assert seconds < 0.5


def test_one_megabyte_authorization_header_is_refused() -> None:
    refused_everywhere("token_malformed", token="A" * 1_000_000)


def test_oversized_session_cookie_is_refused() -> None:
    token = forge.jws(forge.claims(padding="x" * 40_000))
    refused_everywhere("token_malformed", cookies={V4_COOKIE: token})


def test_more_cookie_chunks_than_the_limit_are_refused() -> None:
    token = valid()
    pieces = chunk(token, -(-len(token) // 9))
    assert len(pieces) == 9
    refused_everywhere(
        "token_malformed", cookies={f"{V4_COOKIE}.{i}": p for i, p in enumerate(pieces)}
    )


def test_a_thousand_cookie_chunks_are_refused() -> None:
    cookies = {f"{V4_COOKIE}.{i}": "A" for i in range(1000)}
    refused_everywhere("token_malformed", cookies=cookies)


def test_header_with_two_thousand_parameters_is_refused() -> None:
    header = {"alg": "HS256", "typ": "JWT", **{f"k{i}": 0 for i in range(2000)}}
    refused_everywhere("token_unsupported", token=forge.jws(forge.claims(), header=header))


# --------------------------------------------------------------------------- #
# Deeply nested JSON
# --------------------------------------------------------------------------- #

DEPTH = 5000


def nested(depth: int = DEPTH) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_header_json_is_refused() -> None:
    head = forge.b64('{"alg":"HS256","x":' + nested() + "}")
    refused_everywhere("token_malformed", token=forge.hs256_over(head, forge.js(forge.claims())))


def test_deeply_nested_payload_json_is_refused() -> None:
    text = json.dumps(forge.claims())[:-1] + ', "x": ' + nested() + "}"
    refused_everywhere("token_malformed", token=forge.jws(None, raw_payload=forge.b64(text)))


def test_deeply_nested_jwe_plaintext_is_refused(settings: Any) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "authjs-v5"]
    text = json.dumps(forge.claims())[:-1] + ', "x": ' + nested() + "}"
    refused_everywhere("token_malformed", token=forge.v5(None, plaintext=text.encode()))


# --------------------------------------------------------------------------- #
# Non-canonical base64url
# --------------------------------------------------------------------------- #


def signature_with(chars: str) -> str:
    """A valid token whose signature segment contains one of ``chars``."""
    for i in range(1000):
        token = forge.jws(forge.claims(jti=str(i)))
        if any(c in token.rsplit(".", 1)[1] for c in chars):
            return token
    raise AssertionError("no such signature")  # pragma: no cover


def test_padded_base64url_segments_are_refused() -> None:
    token = valid()
    refused_everywhere("token_malformed", token=token + "=")


def test_standard_base64_alphabet_is_refused() -> None:
    token = signature_with("-_")
    head, body, sig = token.split(".")
    swapped = sig.replace("-", "+").replace("_", "/")
    refused_everywhere("token_malformed", token=f"{head}.{body}.{swapped}")


def test_non_canonical_trailing_bits_in_the_signature_are_refused() -> None:
    # 32 bytes = 43 chars: the last one carries 2 unused bits. Lenient decoders read
    # "...A" and "...B" as the same signature; a canonical decoder must refuse the second.
    head, body, sig = valid().split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(sig[-1]) + 1]
    assert forge.unb64(sig[:-1] + twin) == forge.unb64(sig)
    refused_everywhere("token_malformed", token=f"{head}.{body}.{sig[:-1]}{twin}")


def test_segment_of_impossible_base64_length_is_refused() -> None:
    refused_everywhere("token_malformed", token=valid() + "AA")  # 45 chars: 4n + 1


@pytest.mark.parametrize(
    "char", ["+", "/", "=", "~", "\u00e9"], ids=["plus", "slash", "equals", "tilde", "latin1"]
)
def test_character_outside_base64url_inside_a_cookie_token_is_refused(char: str) -> None:
    token = valid()
    middle = len(token) // 2
    forged = token[:middle] + char + token[middle + 1 :]
    for path in (ME, PLAIN):
        assert_refused(send_raw_cookie(path, f"{V4_COOKIE}={forged}"), "token_malformed")


# --------------------------------------------------------------------------- #
# Percent-encoding of the Bearer token
# --------------------------------------------------------------------------- #


def test_url_encoded_valid_token_is_accepted_as_the_control() -> None:
    accepted_everywhere(headers={"Authorization": "Bearer " + valid().replace(".", "%2E")})


@pytest.mark.parametrize(
    "encoded",
    ["%", "%2", "%ZZ", "%C3%28", "%00", "%252E", "%E2%80%AE"],
    ids=[
        "lone_percent",
        "truncated_escape",
        "non_hex_escape",
        "invalid_utf8",
        "nul_byte",
        "double_encoded_dot",
        "right_to_left_override",
    ],
)
def test_bad_percent_encoding_in_bearer_token_is_refused(encoded: str) -> None:
    head, body, sig = valid().split(".")
    refused_everywhere(
        "token_malformed", headers={"Authorization": f"Bearer {head}{encoded}.{body}.{sig}"}
    )


# --------------------------------------------------------------------------- #
# Bearer grammar
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_in_any_case_is_accepted(scheme: str) -> None:
    accepted_everywhere(headers={"Authorization": f"{scheme} {valid()}"})


def test_bearer_with_two_spaces_before_a_valid_token_is_accepted() -> None:
    # Whitespace runs separate the scheme from the token, as RFC 7235's parsers allow.
    accepted_everywhere(headers={"Authorization": f"Bearer  {valid()}"})


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer\t"], ids=["bare", "space", "tab"])
def test_bearer_without_a_token_is_refused(header: str) -> None:
    refused_everywhere("token_malformed", headers={"Authorization": header})


@pytest.mark.parametrize(
    "template",
    ["Bearer {t} {t}", "Bearer {t}, Bearer {t}", "Bearer {t} Bearer {t}"],
    ids=["space_separated", "comma_separated", "repeated_scheme"],
)
def test_bearer_with_two_tokens_is_refused(template: str) -> None:
    token = valid()
    refused_everywhere("token_malformed", headers={"Authorization": template.format(t=token)})


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNzd29yZA==", "Token {t}", "JWT {t}", "Bearer-{t}", ""],
    ids=["basic", "token_scheme", "jwt_scheme", "glued_scheme", "empty_header"],
)
def test_other_scheme_is_no_token_and_suppresses_a_valid_cookie(header: str) -> None:
    token = valid()
    refused_everywhere(
        "token_missing",
        headers={"Authorization": header.format(t=token)},
        cookies={V4_COOKIE: token},
    )


def test_invalid_bearer_never_falls_back_to_a_valid_cookie() -> None:
    refused_everywhere("token_invalid", token=intruder(), cookies={V4_COOKIE: valid()})


# --------------------------------------------------------------------------- #
# Chunk gaps and duplicate cookies
# --------------------------------------------------------------------------- #


def chunked(token: str, indexes: list[int], parts: int = 3) -> dict[str, str]:
    pieces = chunk(token, -(-len(token) // parts))
    return {f"{V4_COOKIE}.{i}": pieces[n] for n, i in enumerate(indexes)}


def test_contiguous_chunks_are_accepted_as_the_control() -> None:
    accepted_everywhere(cookies=chunked(valid(), [0, 1, 2]))


@pytest.mark.parametrize(
    "indexes",
    [[0, 2, 3], [1, 2, 3], [0, 1, 3]],
    ids=["gap_after_first", "missing_first", "gap_before_last"],
)
def test_chunk_gap_is_refused(indexes: list[int]) -> None:
    refused_everywhere("token_malformed", cookies=chunked(valid(), indexes))


def test_exact_cookie_and_chunks_together_are_refused() -> None:
    token = valid()
    cookies = {V4_COOKIE: intruder(), **chunked(token, [0, 1, 2])}
    refused_everywhere("token_ambiguous", cookies=cookies)


def test_empty_chunk_is_refused() -> None:
    cookies = chunked(valid(), [0, 1, 2])
    cookies[f"{V4_COOKIE}.1"] = ""
    refused_everywhere("token_malformed", cookies=cookies)


def test_non_canonical_chunk_index_is_not_a_chunk() -> None:
    token = valid()
    head, body, _ = token.split(".")
    first = f"{head}.{body[:10]}"
    cookies = {f"{V4_COOKIE}.0": first, f"{V4_COOKIE}.01": token[len(first) :]}
    refused_everywhere("token_malformed", cookies=cookies)


def test_duplicate_session_cookie_never_lets_the_forged_copy_in() -> None:
    cookie = f"{V4_COOKIE}={valid()}; {V4_COOKIE}={intruder()}"
    for path in (ME, PLAIN):
        # Neither copy is used, the genuine one included: which one a parser keeps is an accident.
        assert_refused(send_raw_cookie(path, cookie), "token_ambiguous")


def test_duplicate_chunk_cookie_never_lets_a_forged_piece_in() -> None:
    token = valid()
    pieces = chunk(token, -(-len(token) // 2))
    forged = chunk(intruder(), -(-len(intruder()) // 2))
    cookie = f"{V4_COOKIE}.0={pieces[0]}; {V4_COOKIE}.1={pieces[1]}; {V4_COOKIE}.1={forged[1]}"
    for path in (ME, PLAIN):
        response = send_raw_cookie(path, cookie)
        assert response.status_code == 401, response.content
        assert response.json()["code"] == "token_ambiguous"


# --------------------------------------------------------------------------- #
# Tokens in the query string; identity headers
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "access_token",
        "jwt",
        "id_token",
        V4_COOKIE,
        "authjs.session-token",
        "authorization",
    ],
)
def test_valid_token_in_the_query_string_is_ignored(name: str) -> None:
    refused_everywhere("token_missing", query={name: valid()})


@pytest.mark.parametrize(
    ("header", "value"), list(IDENTITY_HEADERS.items()), ids=list(IDENTITY_HEADERS)
)
def test_identity_header_alone_is_not_an_identity(header: str, value: str) -> None:
    refused_everywhere("token_missing", headers={header: value})


def test_remote_user_environ_is_not_an_identity() -> None:
    for path in (ME, PLAIN):
        response = Client().get(path, REMOTE_USER="root")
        assert_refused(response, "token_missing")


def test_identity_headers_never_change_the_token_user() -> None:
    accepted_everywhere(token=valid(), headers=IDENTITY_HEADERS)


def test_middleware_subrequest_header_does_not_skip_the_middleware() -> None:
    # CVE-2025-29927: Next.js trusted x-middleware-subrequest to skip its middleware.
    headers = {"X-Middleware-Subrequest": "middleware:" * 5 + "src/middleware"}
    response = Client().get("/private/page/", headers=headers)
    assert response.status_code == 302
    assert response["Location"].startswith("/api/auth/signin?")
    assert_refused(Client().get(PLAIN, headers=headers), "token_missing")


# --------------------------------------------------------------------------- #
# The async middleware stack and database user mode
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "token",
    [intruder(), forge.unsigned({"alg": "none", "typ": "JWT"}, forge.claims()), "A" * 40_000],
    ids=["foreign_secret", "alg_none", "oversized"],
)
def test_hostile_token_through_the_async_middleware_is_refused(token: str) -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    headers = {"Authorization": f"Bearer {token}"}

    async def get(path: str) -> Any:
        # Awaited in a coroutine: AsyncClient.get is not marked async before Django 5.0.
        return await AsyncClient().get(path, headers=headers)

    page = async_to_sync(get)("/private/async/")
    assert page.status_code == 302
    assert page["Location"].startswith("/api/auth/signin?")
    api = async_to_sync(get)(PLAIN)
    assert api.status_code == 401
    assert api.json()["code"] in ("token_invalid", "token_malformed")


@pytest.mark.django_db
@pytest.mark.db
@pytest.mark.parametrize(
    "sub",
    ["9" * 40, "9" * 5000, "-1", "0x2a", "NaN", "42\x00", "1 OR 1=1"],
    ids=[
        "overflowing_int",
        "int_beyond_python_digit_limit",
        "negative",
        "hex",
        "nan",
        "trailing_nul",
        "sql_injection",
    ],
)
def test_database_mode_hostile_sub_is_user_not_found(settings: Any, sub: str) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    refused_everywhere("user_not_found", token=forge.jws(forge.claims(sub=sub)), session=False)
