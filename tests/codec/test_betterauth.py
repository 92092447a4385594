"""jose/betterauth.py bare (no Django): vectors taken from better-auth 1.7 and Node itself.

The end-to-end tests against a running Better Auth server are in tests/test_better_auth.py.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from django_nextauth_jwt.exceptions import (
    InvalidToken,
    TokenClaimsInvalid,
    TokenExpired,
    TokenMalformed,
)
from django_nextauth_jwt.jose import betterauth

SECRET = "better-auth-test-secret-0123456789-abcdefghij"
# symmetricEncodeJWT(payload, SECRET, "better-auth-session", 10**9) from better-auth 1.7.25's
# dist/crypto/jwt.mjs (the jwe strategy's own encoder), exp far in the future.
JWE = (
    "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIiwia2lkIjoiM2M1bnhtSXNJV0lpMEloUUFCQ19XV3hiN0lR"
    "SS1tMVVQd2tCam9Ec1hMOCJ9..PgrZM2FHfeYSEdvgRujwsQ.4gTe4KmOpSh3xGpVII1Wyi8usi7qlwES_ur1JUwHQgv-P"
    "Tq5_BZRoPk8-bHylN4ZBz6DBs8mL9WsmmR_C74tJD2UpFKyrKUeR35XUn9i_BCf15HRbX70guVQMV_wHo5SPnGTRW6CTa"
    "hs2ifSs2cZk0e2XLonmF8oQ0zYJwqHM8dojf7J5IkQKxZ2jwAa6Z30tP0ngBliA6IA8zGjvLlJXGtRd7fd3qTO12oDezz"
    "bjTJxiyq_eYj_c8s6m6G2CAZx93MhuQ0U4gwzqQt6jZ9MQz76G5_BW2EwXdurUdzG-x-DI2XIUrpHtgX2tCgG5ASLzk-4"
    "VZ4kzh8G9zEjJVTYhjB5D1U8DFLMVT58m6EEv1ARBv3uy6RsXVw1ASHsZTybmDtvuIesSBobJAmzIYbUxzVwt36rabghP"
    "J8uEmZ90Mk.ra_6a6aPl2UufD1azYLpFUen7Y7fA1UT4Dhf_SF59zw"
)
JWE_KID = "3c5nxmIsIWIi0IhQABC_WWxb7IQI-m1UPwkBjoDsXL8"


def cache(strategy: str = "jwe", secret: str = SECRET, **kwargs: Any) -> betterauth.CookieCache:
    return betterauth.CookieCache(strategy, betterauth.parse_secrets(secret, None), **kwargs)


# (value, Number.prototype.toString in Node 20+)
NUMBERS = [
    (1.0, "1"),
    (1.5, "1.5"),
    (-0.0, "0"),
    (1e21, "1e+21"),
    (1e-7, "1e-7"),
    (123e-20, "1.23e-18"),
    (0.000001, "0.000001"),
    (1e301, "1e+301"),
    (2.0**53 + 2, "9007199254740994"),
    (5e-324, "5e-324"),
    (100.0, "100"),
    (1234.5678, "1234.5678"),
    (0.1 + 0.2, "0.30000000000000004"),
    (math.inf, "null"),
]


@pytest.mark.parametrize(("value", "expected"), NUMBERS)
def test_numbers_are_written_as_javascript_writes_them(value: float, expected: str) -> None:
    assert betterauth.js_number(value) == expected


def test_strings_are_escaped_as_json_stringify_escapes_them() -> None:
    text = '"\\u00e9\\ud800\\u2028\\u007f\\u0000\\"\\\\\\/\\b\\f\\n\\r\\t\\u001f😀"'
    assert betterauth.js_stringify(betterauth.js_parse(text)) == (
        '"é\\ud800\u2028\x7f\\u0000\\"\\\\/\\b\\f\\n\\r\\t\\u001f😀"'
    )


def test_array_index_keys_come_first_in_ascending_order() -> None:
    value = betterauth.js_parse('{"b":1,"10":2,"2":3,"01":4,"4294967295":5,"4294967294":6}')
    assert betterauth.js_stringify(value) == (
        '{"2":3,"10":2,"4294967294":6,"b":1,"01":4,"4294967295":5}'
    )


def test_the_jwe_kid_is_better_auths_thumbprint_of_the_derived_key() -> None:
    assert betterauth.jwe_kid(betterauth.jwe_key(SECRET)) == JWE_KID
    assert cache().kids == {JWE_KID}


def test_better_auths_own_jwe_decrypts_to_the_mapped_claims() -> None:
    claims = cache().verify(JWE)
    assert claims == {
        "sub": "u1",
        "sid": "s1",
        "email": "ada@example.com",
        "email_verified": False,  # the vector's user has no emailVerified: not verified
        "name": "Ada",
        "role": "admin",
        "iat": 1767225600,
        "auth_time": 1767225600,
        # The cookie's expiry (10**9 s from signing, 2058) comes before its session's (2099).
        "exp": 2796519199,
    }


def test_the_jwe_is_refused_past_its_expiry() -> None:
    assert cache().verify(JWE, now=2796519199 - 1)["sub"] == "u1"
    with pytest.raises(TokenExpired):
        cache().verify(JWE, now=2796519199 + 1)


def test_the_jwe_of_another_secret_or_version_is_refused() -> None:
    with pytest.raises(InvalidToken):
        cache(secret="another-better-auth-secret-0123456789-xyz").decode(JWE)
    rotated = betterauth.CookieCache(
        "jwe",
        betterauth.parse_secrets(
            None, "2:a-new-better-auth-secret-0123456789-xyz," + f"1:{SECRET}"
        ),
    )
    assert rotated.decode(JWE)["sub"] == "u1"


def test_another_cache_version_is_refused() -> None:
    with pytest.raises(TokenClaimsInvalid):
        cache(version="2").decode(JWE)


@pytest.mark.parametrize("token", ["", "%%%", "e30", "x" * 40000, "bnVsbA"])
def test_garbage_compact_cookies_are_malformed(token: str) -> None:
    with pytest.raises(TokenMalformed):
        cache("compact").decode(token)


@pytest.mark.parametrize(
    ("secret", "versions", "current", "count"),
    [
        (SECRET, None, SECRET, 1),
        (None, "2:b,1:a", "b", 2),
        ("legacy", "2:b,1:a", "b", 3),
        ("a", [(2, "b"), (1, "a")], "b", 2),
        ("better-auth-secret-12345678901234567890", "1:a", "a", 1),
    ],
)
def test_secrets_are_chosen_as_better_auth_chooses_them(
    secret: str | None, versions: object, current: str, count: int
) -> None:
    found = betterauth.parse_secrets(secret, versions)  # type: ignore[arg-type]
    assert (found.current, len(found.all)) == (current, count)
    assert "b" not in repr(found)


@pytest.mark.parametrize("versions", ["2-new", "x:a", "1:", "1:a,1:b", ""])
def test_bad_secret_versions_are_refused_without_showing_them(versions: str) -> None:
    with pytest.raises(ValueError, match=r"entry|version") as caught:
        betterauth.parse_secrets(None, versions)
    assert "new" not in str(caught.value)
