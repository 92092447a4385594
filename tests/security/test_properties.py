"""Property-based attacks: random and mutated tokens, headers and cookies.

Two layers, one promise: nothing that was not minted with the secret is ever accepted,
and nothing raises (no 500).

* the decoder: ``JWTAuth.authenticate_token`` never raises and succeeds only for a
  genuine token (or, for headers re-signed with the secret, only for a header the
  allow-list admits);
* the HTTP layer: random ``Authorization`` headers and cookies through the test client,
  to the DRF view, the middleware and the session endpoint: never a 500, and a 200 only
  when a genuine token was embedded.

Bounded in the main suite (profile ``security``); ``make fuzz`` runs the same properties
with the ``fuzz`` profile (see ``helpers.py``) and reports the number of inputs tried.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import pytest
from django.core.cache import caches
from django.http import parse_cookie
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from django_nextauth_jwt import JWTAuth
from tests import forge
from tests.security.helpers import (
    INPUTS,
    ME,
    PLAIN,
    SESSION,
    V4_COOKIE,
    V5_COOKIE,
    V5_ENC,
    property_settings,
    v5_header,
)

CLAIMS = forge.claims(exp=forge.claims()["exp"] + 6 * 3600)  # outlives a long fuzz run
GENUINE = {
    "jws": forge.jws(CLAIMS),
    "nextauth-v4": forge.v4(CLAIMS),
    "authjs-v5": forge.v5(CLAIMS),
}
GENUINE_SET = frozenset(GENUINE.values())
KNOWN_CODES = {
    "token_missing",
    "token_ambiguous",
    "token_malformed",
    "token_unsupported",
    "token_invalid",
    "token_expired",
    "token_not_yet_valid",
    "token_claims_invalid",
}
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
LATIN1 = st.characters(max_codepoint=0xFF)


@pytest.fixture(autouse=True)
def _all_formats(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "nextauth-v4", "authjs-v5"]


def count(name: str) -> None:
    INPUTS[name] += 1


# --------------------------------------------------------------------------- #
# Strategies
# --------------------------------------------------------------------------- #

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
header_keys = st.sampled_from(
    [
        "alg",
        "enc",
        "typ",
        "kid",
        "zip",
        "crit",
        "jwk",
        "jku",
        "x5u",
        "cty",
        "b64",
        "p2c",
        "epk",
        "iv",
    ]
) | st.text(max_size=6)
header_values = (
    st.sampled_from(
        ["HS256", "HS384", "HS512", "none", "None", "dir", "RS256", "A256GCM", V5_ENC, "JWT", "DEF"]
    )
    | json_values
)
random_headers = st.dictionaries(header_keys, header_values, max_size=5) | st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "dir", "none"])},
    optional={
        "enc": st.sampled_from(["A256GCM", V5_ENC, "A128GCM"]),
        "typ": st.sampled_from(["JWT", "jwt", "at+jwt"]) | json_values,
        "kid": st.just(v5_header()["kid"]) | json_values,
        "zip": st.just("DEF"),
        "crit": st.just(["b64"]),
    },
)
random_segments = st.lists(st.text(B64URL, max_size=120), min_size=1, max_size=7).map(".".join)
random_tokens = st.one_of(
    st.text(max_size=300),
    st.text(LATIN1, max_size=300),
    random_segments,
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)


@st.composite
def mutated_tokens(draw: st.DrawFn) -> str:
    """A genuine token with one or a few hostile edits."""
    token = draw(st.sampled_from(sorted(GENUINE_SET)))
    for _ in range(draw(st.integers(1, 3))):
        token = draw(_mutation(token))
    return token


def _mutation(token: str) -> st.SearchStrategy[str]:
    parts = token.split(".")
    n = len(token)

    @st.composite
    def bit_flip(draw: st.DrawFn) -> str:
        i = draw(st.integers(0, len(parts) - 1))
        try:
            raw = bytearray(forge.unb64(parts[i]))
        except ValueError:  # an earlier edit broke this segment's base64
            return token
        if not raw:
            return token
        pos = draw(st.integers(0, len(raw) - 1))
        raw[pos] ^= 1 << draw(st.integers(0, 7))
        return ".".join([*parts[:i], forge.b64(bytes(raw)), *parts[i + 1 :]])

    @st.composite
    def substitute(draw: st.DrawFn) -> str:
        pos = draw(st.integers(0, max(n - 1, 0)))
        char = draw(st.sampled_from(B64URL + ".=+/% \t\x00\u00e9"))
        return token[:pos] + char + token[pos + 1 :]

    @st.composite
    def truncate(draw: st.DrawFn) -> str:
        start = draw(st.integers(0, n))
        end = draw(st.integers(start, n))
        return token[:start] + token[end:]

    @st.composite
    def insert(draw: st.DrawFn) -> str:
        pos = draw(st.integers(0, n))
        return token[:pos] + draw(st.text(B64URL + ".", max_size=20)) + token[pos:]

    @st.composite
    def shuffle_segments(draw: st.DrawFn) -> str:
        segments = draw(st.permutations(parts))
        extra = draw(st.lists(st.sampled_from(parts), max_size=2))
        return ".".join([*segments, *extra])

    @st.composite
    def splice_other(draw: st.DrawFn) -> str:
        other = draw(st.sampled_from(sorted(GENUINE_SET))).split(".")
        i = draw(st.integers(0, min(len(parts), len(other)) - 1))
        return ".".join([*parts[:i], other[i], *parts[i + 1 :]])

    return st.one_of(
        bit_flip(), substitute(), truncate(), insert(), shuffle_segments(), splice_other()
    )


# --------------------------------------------------------------------------- #
# The decoder
# --------------------------------------------------------------------------- #


def assert_decoder_refuses_unless_genuine(token: str) -> None:
    result = JWTAuth.authenticate_token(token)
    if result.success:
        assert token in GENUINE_SET
    else:
        assert result.error in KNOWN_CODES, result.error


@property_settings(fuzz_examples=40_000)
@given(random_tokens)
def test_decoder_refuses_random_strings(token: str) -> None:
    count("decoder: random strings")
    assert_decoder_refuses_unless_genuine(token)


@property_settings(fuzz_examples=10_000)
@given(mutated_tokens())
def test_decoder_refuses_mutated_genuine_tokens(token: str) -> None:
    count("decoder: mutated genuine tokens")
    assert_decoder_refuses_unless_genuine(token)


def _jws_header_admitted(header: dict[str, Any]) -> bool:
    typ, kid = header.get("typ"), header.get("kid")
    return (
        header.get("alg") == "HS256"
        and header.keys() <= {"alg", "typ", "kid"}
        and (typ is None or (isinstance(typ, str) and typ.upper() == "JWT"))
        and ("kid" not in header or isinstance(kid, str))
    )


def _jwe_header_admitted(header: dict[str, Any]) -> bool:
    if header == {"alg": "dir", "enc": "A256GCM"}:
        return True
    return (
        header.get("alg") == "dir"
        and header.get("enc") == V5_ENC
        and header.keys() <= {"alg", "enc", "kid"}
        and header.get("kid", v5_header()["kid"]) == v5_header()["kid"]
    )


@property_settings(fuzz_examples=25_000)
@given(random_headers, st.sampled_from(["jws", "nextauth-v4", "authjs-v5"]))
def test_random_headers_sealed_with_the_real_secret_pass_only_the_allow_list(
    header: dict[str, Any], fmt: str
) -> None:
    # The strongest attacker: knows the secret's work is done right, controls the header.
    count("decoder: random headers, real secret")
    if fmt == "jws":
        token = forge.jws(CLAIMS, header=header)
    elif fmt == "nextauth-v4":
        token = forge.v4(CLAIMS, header=header)
    else:
        token = forge.v5(CLAIMS, header=header)
    result = JWTAuth.authenticate_token(token)
    if result.success:
        admitted = _jws_header_admitted if fmt == "jws" else _jwe_header_admitted
        assert admitted(header), header
        if fmt == "nextauth-v4":
            assert header == {"alg": "dir", "enc": "A256GCM"}
    else:
        assert result.error in KNOWN_CODES, result.error


# --------------------------------------------------------------------------- #
# The HTTP layer
# --------------------------------------------------------------------------- #

SCHEMES = st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Token", "", "Bearer\t"])


@st.composite
def authorization_headers(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.text(LATIN1, max_size=300))
    token = draw(st.one_of(mutated_tokens(), random_tokens, st.sampled_from(sorted(GENUINE_SET))))
    if kind == 1:
        token = "".join(
            f"%{ord(c):02X}" if draw(st.booleans()) and c in "._-" else c for c in token
        )
    sep = draw(st.sampled_from([" ", "  ", "\t", "", " , "]))
    tail = draw(st.sampled_from(["", " ", " x", ", Bearer " + GENUINE["jws"]]))
    return f"{draw(SCHEMES)}{sep}{token}{tail}"


def _latin1(value: str) -> str:
    return value.encode("latin-1", "replace").decode("latin-1")


def assert_http_refuses_unless_genuine(response: Any, genuine_offered: bool) -> None:
    assert response.status_code in (200, 401), (response.status_code, response.content[:200])
    if response.status_code == 200:
        assert genuine_offered, response.content[:200]
        assert response.json()["id"] == "42"
    else:
        assert response.json()["code"] in KNOWN_CODES


@property_settings(fuzz_examples=6_000)
@given(authorization_headers())
def test_random_authorization_headers_never_500_and_never_authenticate(header: str) -> None:
    count("http: random Authorization headers")
    header = _latin1(header)
    words = header.split()
    offered = any(unquote(w) in GENUINE_SET for w in words)
    for path in (ME, PLAIN):
        response = Client().get(path, HTTP_AUTHORIZATION=header)
        assert_http_refuses_unless_genuine(response, offered)


COOKIE_NAMES = st.sampled_from(
    [
        V4_COOKIE,
        V5_COOKIE,
        *(f"{V4_COOKIE}.{i}" for i in range(4)),
        *(f"{V5_COOKIE}.{i}" for i in range(3)),
        f"{V4_COOKIE}.01",
        f"{V4_COOKIE}.-1",
        "__Secure-authjs.session-token",
        "next-auth.csrf-token",
    ]
) | st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=";="),
    min_size=1,
    max_size=12,
)


@st.composite
def cookie_values(draw: st.DrawFn) -> str:
    genuine = draw(st.sampled_from(sorted(GENUINE_SET)))
    pieces = draw(st.integers(1, 4))
    size = -(-len(genuine) // pieces)
    return draw(
        st.one_of(
            st.just(genuine),
            st.sampled_from([genuine[i : i + size] for i in range(0, len(genuine), size)]),
            mutated_tokens(),
            st.text(st.characters(max_codepoint=0xFF, exclude_characters=";"), max_size=200),
        )
    )


def genuine_cookie_offered(cookie_header: str) -> bool:
    """A reference model of what a cookie header can carry: exact values and chunk runs."""
    parsed = parse_cookie(cookie_header)
    candidates = set(parsed.values())
    for name in (V4_COOKIE, V5_COOKIE):
        pieces: list[str] = []
        while f"{name}.{len(pieces)}" in parsed:
            pieces.append(parsed[f"{name}.{len(pieces)}"])
        candidates.add("".join(pieces))
    return bool(candidates & GENUINE_SET)


@property_settings(fuzz_examples=6_000)
@given(st.lists(st.tuples(COOKIE_NAMES, cookie_values()), max_size=6))
def test_random_cookies_never_500_and_never_authenticate(pairs: list[tuple[str, str]]) -> None:
    count("http: random session cookies")
    cookie = _latin1("; ".join(f"{name}={value}" for name, value in pairs))
    offered = genuine_cookie_offered(cookie)
    for path in (ME, PLAIN):
        assert_http_refuses_unless_genuine(Client().get(path, HTTP_COOKIE=cookie), offered)
    session = Client().get(SESSION, HTTP_COOKIE=cookie)
    assert session.status_code == 200
    assert session.json() == {} or offered


def assert_login_refuses(body: dict[str, str]) -> None:
    """custom-login answers a clean refusal: never a 500, never a session."""
    response = Client().post(
        "/api/auth/custom-login", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (400, 401, 429), response.status_code
    assert response.json()["code"] in (
        "invalid_request",
        "invalid_credentials",
        "too_many_attempts",
    )


@pytest.mark.django_db
@pytest.mark.db
@property_settings(fuzz_examples=15_000)
@given(
    st.dictionaries(
        st.text(LATIN1, min_size=1, max_size=8), st.text(LATIN1, max_size=80), max_size=5
    )
)
def test_random_json_bodies_on_custom_login_never_500(body: dict[str, str]) -> None:
    count("http: random login bodies")
    assert_login_refuses(body)


# Any code point, lone surrogates (JSON's "\ud800" escapes) made common on purpose.
ANY_TEXT = st.text(
    st.sampled_from(["a", "@", "\u00e9", "\ud800", "\udfff", "\x00", "\u202e", "\U0001f600"])
    | st.characters(exclude_categories=()),
    max_size=60,
)


@pytest.mark.django_db
@pytest.mark.db
@property_settings(fuzz_examples=10_000)
@given(
    st.fixed_dictionaries(
        {"email": ANY_TEXT.filter(bool), "password": ANY_TEXT},
        optional={"callbackUrl": ANY_TEXT},
    )
)
def test_login_bodies_with_any_unicode_never_500(body: dict[str, str]) -> None:
    count("http: unicode login bodies")
    caches["default"].clear()  # reach the password check, not the throttle
    assert_login_refuses(body)
