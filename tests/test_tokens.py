"""The token core: every format, every verification rule, without HTTP."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt import AuthResult, JWTAuth, tokens
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.jose import codec
from django_nextauth_jwt.policy import policy
from django_nextauth_jwt.tokens import b64url_decode, b64url_encode, decode, jwk_thumbprint
from django_nextauth_jwt.users import TokenUser
from tests import forge

FORMATS = ["jws", "nextauth-v4", "authjs-v5"]
Forge = Callable[..., str]
FORGERS: dict[str, Forge] = {"jws": forge.jws, "nextauth-v4": forge.v4, "authjs-v5": forge.v5}
SEED = {"id": 42, "email": "ada@example.com", "name": "Ada", "role": "admin"}


@pytest.fixture(params=FORMATS)
def fmt(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.NEXTAUTH_JWT_FORMAT = request.param
    return str(request.param)


@pytest.fixture
def mint(fmt: str) -> Forge:
    return FORGERS[fmt]


# --------------------------------------------------------------------------- #
# Round trips and the seed's API shape
# --------------------------------------------------------------------------- #


def test_create_then_verify_returns_seed_shape(fmt: str) -> None:
    token = JWTAuth.create(SEED)
    claims = JWTAuth.verify(token)
    assert claims["id"] == claims["sub"] == "42"
    assert (claims["email"], claims["name"], claims["role"]) == ("ada@example.com", "Ada", "admin")
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    assert len(claims["jti"]) == 36


def test_create_shape_matches_format(fmt: str) -> None:
    token = JWTAuth.create(SEED)
    parts = token.split(".")
    assert len(parts) == (3 if fmt == "jws" else 5)
    header = b64url_decode(parts[0])
    expected = {
        "jws": b'{"alg":"HS256","typ":"JWT"}',
        "nextauth-v4": b'{"alg":"dir","enc":"A256GCM"}',
    }.get(fmt)
    if expected is not None:
        assert header == expected
    else:
        assert header.startswith(b'{"alg":"dir","enc":"A256CBC-HS512","kid":"')


def test_create_respects_max_age_and_format_argument(settings: Any) -> None:
    token = JWTAuth.create(SEED, format="nextauth-v4", max_age=60)
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "nextauth-v4"]
    claims = JWTAuth.verify(token)
    assert claims["exp"] - claims["iat"] == 60


def test_create_takes_sub_instead_of_id(fmt: str) -> None:
    assert JWTAuth.verify(JWTAuth.create({"sub": "abc"}))["id"] == "abc"


@pytest.mark.parametrize("bad", [{}, {"id": ""}, {"id": True}, {"id": 1, "sub": "2"}])
def test_create_refuses_claims_without_a_usable_id(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="id"):
        JWTAuth.create(bad)


def test_create_overrides_reserved_time_claims() -> None:
    claims = JWTAuth.verify(JWTAuth.create({**SEED, "exp": 1, "iat": 1, "jti": "x"}))
    assert claims["exp"] > time.time()
    assert claims["jti"] != "x"


def test_authenticate_token_success_gives_token_user(fmt: str) -> None:
    result = JWTAuth.authenticate_token(JWTAuth.create(SEED))
    assert result.success
    assert isinstance(result.user, TokenUser)
    assert (result.user.id, result.user.email, result.user.is_staff) == ("42", SEED["email"], True)
    assert result.error is None


@pytest.mark.parametrize(
    ("token", "code"),
    [(None, "token_missing"), ("", "token_missing"), ("a.b", "token_malformed")],
)
def test_authenticate_token_never_raises(token: str | None, code: str) -> None:
    result = JWTAuth.authenticate_token(token)
    assert result == AuthResult(success=False, error=code, message=result.message)
    assert result.user is None


def test_an_auth_result_is_a_frozen_dataclass_by_position_or_keyword() -> None:
    # Its __init__ is written out (for speed): the dataclass's contract must hold all the same.
    failure = exc.TokenExpired()
    by_position = AuthResult(False, None, None, "token_expired", "expired", failure)
    by_keyword = AuthResult(
        success=False, error="token_expired", message="expired", exception=failure
    )
    assert by_position == by_keyword
    assert [getattr(by_keyword, f.name) for f in dataclasses.fields(AuthResult)] == [
        False,
        None,
        None,
        "token_expired",
        "expired",
        failure,
    ]
    assert AuthResult(True) == AuthResult(True, None, None, None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_keyword.user = "someone"  # type: ignore[misc]
    assert dataclasses.replace(by_keyword, user="u").user == "u"
    assert by_keyword.user is None
    assert "exception" not in repr(by_keyword)
    with pytest.raises(TypeError):
        AuthResult(True, nobody=1)  # type: ignore[call-arg]


def test_authenticate_token_reports_expiry_code(mint: Forge) -> None:
    result = JWTAuth.authenticate_token(mint(forge.claims(exp=int(time.time()) - 3600)))
    assert (result.success, result.error) == (False, "token_expired")
    assert isinstance(result.exception, exc.TokenExpired)


def test_verify_accepts_forged_peer_token_in_each_format(mint: Forge) -> None:
    assert JWTAuth.verify(mint(forge.claims()))["email"] == "ada@example.com"


# --------------------------------------------------------------------------- #
# Secrets and rotation
# --------------------------------------------------------------------------- #


def test_wrong_secret_is_invalid(mint: Forge) -> None:
    with pytest.raises(exc.InvalidToken) as info:
        JWTAuth.verify(mint(forge.claims(), forge.OTHER_SECRET))
    assert info.value.code == "token_invalid"


def test_rotation_old_tokens_verify_new_tokens_sign_with_first(
    fmt: str, mint: Forge, settings: Any
) -> None:
    old = mint(forge.claims(), forge.OTHER_SECRET)
    settings.NEXTAUTH_SECRET = [forge.SECRET, forge.OTHER_SECRET]
    assert JWTAuth.verify(old)["sub"] == "42"
    new = JWTAuth.create(SEED)
    settings.NEXTAUTH_SECRET = forge.SECRET
    assert JWTAuth.verify(new)["sub"] == "42"
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(old)


def test_v5_selects_secret_by_kid(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECRET = [forge.SECRET, forge.OTHER_SECRET]
    assert JWTAuth.verify(forge.v5(forge.claims(), forge.OTHER_SECRET))["sub"] == "42"


def test_v5_without_kid_uses_first_secret_only(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECRET = [forge.SECRET, forge.OTHER_SECRET]
    no_kid = {"alg": "dir", "enc": "A256CBC-HS512"}
    assert JWTAuth.verify(forge.v5(forge.claims(), forge.SECRET, header=no_kid))
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(forge.v5(forge.claims(), forge.OTHER_SECRET, header=no_kid))


def test_v5_unknown_kid_is_refused_without_trying_secrets(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    header = {"alg": "dir", "enc": "A256CBC-HS512", "kid": "nope"}
    with pytest.raises(exc.InvalidToken, match="No matching decryption secret"):
        JWTAuth.verify(forge.v5(forge.claims(), header=header))


def test_v5_salt_follows_secure_cookie_setting(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    secure = forge.v5(forge.claims(), salt="__Secure-authjs.session-token")
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(secure)
    settings.NEXTAUTH_SECURE_COOKIE = True
    assert JWTAuth.verify(secure)["sub"] == "42"
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(forge.v5(forge.claims()))


def test_v5_salt_follows_explicit_cookie_name_and_salt(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_COOKIE_NAME = "my.session"
    assert JWTAuth.verify(forge.v5(forge.claims(), salt="my.session"))
    settings.NEXTAUTH_SALT = "explicit-salt"
    assert JWTAuth.verify(forge.v5(forge.claims(), salt="explicit-salt"))


def test_secret_falls_back_to_environment_in_order(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    del settings.NEXTAUTH_SECRET
    for name in ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JWT_SECRET", forge.OTHER_SECRET)
    tokens.clear_caches()  # the environment is read at first use, like settings.py reads it
    assert JWTAuth.verify(forge.jws(forge.claims(), forge.OTHER_SECRET))
    monkeypatch.setenv("AUTH_SECRET", forge.SECRET)
    tokens.clear_caches()
    assert JWTAuth.verify(forge.jws(forge.claims(), forge.SECRET))
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(forge.jws(forge.claims(), forge.OTHER_SECRET))


def test_missing_secret_is_improperly_configured(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    del settings.NEXTAUTH_SECRET
    for name in ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ImproperlyConfigured, match="NEXTAUTH_SECRET"):
        JWTAuth.create(SEED)
    with pytest.raises(ImproperlyConfigured):
        JWTAuth.authenticate_token(forge.jws(forge.claims()))


@pytest.mark.parametrize(
    ("name", "value"),
    [("NEXTAUTH_JWT_FORMAT", "jwe"), ("NEXTAUTH_JWS_ALGORITHM", "RS256")],
)
def test_unknown_format_or_algorithm_fails_closed(settings: Any, name: str, value: str) -> None:
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured):
        JWTAuth.authenticate_token(forge.jws(forge.claims()))


def test_derived_keys_are_cached_and_cleared_on_setting_change(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    tokens.clear_caches()
    before = codec.derivation_count()
    for _ in range(3):
        JWTAuth.verify(forge.v5(forge.claims()))
    assert codec.derivation_count() - before == 1
    settings.NEXTAUTH_LEEWAY = 10
    # A new policy brings a new keyring: the key is derived again, once.
    for _ in range(2):
        JWTAuth.verify(forge.v5(forge.claims()))
    assert codec.derivation_count() - before == 2


# --------------------------------------------------------------------------- #
# Format allow-list and dispatch
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("configured", FORMATS)
@pytest.mark.parametrize("offered", FORMATS)
def test_only_accepted_formats_verify(settings: Any, configured: str, offered: str) -> None:
    settings.NEXTAUTH_JWT_FORMAT = configured
    token = FORGERS[offered](forge.claims())
    if configured == offered:
        assert JWTAuth.verify(token)["sub"] == "42"
    else:
        with pytest.raises(exc.TokenUnsupported):
            JWTAuth.verify(token)


def test_accepted_formats_allow_a_migration(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "nextauth-v4"]
    assert JWTAuth.verify(forge.v4(forge.claims()))
    assert JWTAuth.verify(forge.jws(forge.claims()))
    with pytest.raises(exc.TokenUnsupported):
        JWTAuth.verify(forge.v5(forge.claims()))


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "typ": "JWT"},
        {"alg": "None"},
        {"alg": "NONE"},
        {"alg": "HS512", "typ": "JWT"},
        {"alg": "RS256"},
        {"alg": "hs256"},
        {"alg": "HS256", "crit": ["exp"]},
        {"alg": "HS256", "b64": False, "crit": ["b64"]},
        {"alg": "HS256", "jku": "https://evil.example/jwks"},
        {"alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}},
        {"alg": "HS256", "x5u": "https://evil.example/cert"},
        {"alg": "HS256", "x5c": ["MIIB"]},
        {"alg": "HS256", "cty": "JWT"},
        {"alg": "HS256", "typ": "at+jwt"},
        {"alg": "HS256", "typ": 1},
        {"alg": "HS256", "kid": {"$ne": 1}},
        {"typ": "JWT"},
    ],
)
def test_jws_header_outside_allow_list_is_unsupported(header: dict[str, Any]) -> None:
    token = forge.jws(forge.claims(), header=header)
    with pytest.raises(exc.TokenUnsupported):
        JWTAuth.verify(token)


def test_jws_other_hmac_algorithm_when_configured(settings: Any) -> None:
    settings.NEXTAUTH_JWS_ALGORITHM = "HS512"
    assert JWTAuth.verify(forge.jws(forge.claims(), alg="HS512"))
    with pytest.raises(exc.TokenUnsupported):
        JWTAuth.verify(forge.jws(forge.claims(), alg="HS256"))
    assert JWTAuth.verify(JWTAuth.create(SEED))["sub"] == "42"


def test_jws_typ_and_kid_are_allowed(settings: Any) -> None:
    header = {"alg": "HS256", "typ": "jwt", "kid": "2026-11"}
    assert JWTAuth.verify(forge.jws(forge.claims(), header=header))


def test_jws_truncated_signature_is_invalid() -> None:
    token = forge.jws(forge.claims())
    head, body, sig = token.split(".")
    short = b64url_encode(b64url_decode(sig)[:16])
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(f"{head}.{body}.{short}")


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "dir", "enc": "A256GCM", "kid": "x"},
        {"alg": "dir", "enc": "A256GCM", "zip": "DEF"},
        {"alg": "dir", "enc": "A256GCM", "cty": "JWT"},
        {"alg": "A256KW", "enc": "A256GCM"},
        {"alg": "PBES2-HS256+A128KW", "enc": "A256GCM", "p2c": 10**9, "p2s": "AAAA"},
        {"alg": "dir", "enc": "A128GCM"},
        {"alg": "dir", "enc": "A256CBC-HS512", "zip": "DEF"},
        {"alg": "RSA-OAEP", "enc": "A256CBC-HS512"},
        {"alg": "dir", "enc": "A256CBC-HS512", "crit": ["exp"]},
        {"alg": "dir", "enc": "A256CBC-HS512", "jwk": {}},
    ],
)
def test_jwe_header_outside_allow_list_is_unsupported(
    settings: Any, header: dict[str, Any]
) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["nextauth-v4", "authjs-v5"]
    forger = forge.v5 if header.get("enc") == "A256CBC-HS512" else forge.v4
    with pytest.raises(exc.TokenUnsupported):
        JWTAuth.verify(forger(forge.claims(), header=header))


def test_v5_enc_downgrade_to_gcm_is_refused(settings: Any) -> None:
    # @auth/core would accept A256GCM with the MAC half of the key; we do not.
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    key = forge.v5_key()[:32]
    header = {"alg": "dir", "enc": "A256GCM", "kid": forge.thumbprint(forge.v5_key())}
    with pytest.raises(exc.TokenUnsupported):
        JWTAuth.verify(forge.v4(forge.claims(), header=header, key=key))


@pytest.mark.parametrize("fmt", ["nextauth-v4", "authjs-v5"])
def test_jwe_with_non_empty_encrypted_key_is_unsupported(settings: Any, fmt: str) -> None:
    settings.NEXTAUTH_JWT_FORMAT = fmt
    parts = FORGERS[fmt](forge.claims()).split(".")
    parts[1] = b64url_encode(b"\x00" * 32)
    with pytest.raises(exc.TokenUnsupported):
        JWTAuth.verify(".".join(parts))


@pytest.mark.parametrize(
    ("fmt_name", "index", "size"),
    [
        ("nextauth-v4", 2, 16),
        ("nextauth-v4", 4, 12),
        ("nextauth-v4", 4, 20),
        ("authjs-v5", 2, 12),
        ("authjs-v5", 4, 16),
        ("authjs-v5", 4, 64),
    ],
)
def test_jwe_wrong_iv_or_tag_length_is_malformed(
    settings: Any, fmt_name: str, index: int, size: int
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = fmt_name
    parts = FORGERS[fmt_name](forge.claims()).split(".")
    parts[index] = b64url_encode(b"\x01" * size)
    with pytest.raises(exc.TokenMalformed):
        JWTAuth.verify(".".join(parts))


@pytest.mark.parametrize("index", [0, 2, 3, 4])
def test_jwe_any_tampered_segment_is_refused(fmt: str, mint: Forge, index: int) -> None:
    if fmt == "jws":
        index = min(index, 2)
    parts = mint(forge.claims()).split(".")
    raw = bytearray(b64url_decode(parts[index]))
    raw[len(raw) // 2] ^= 0x01
    parts[index] = b64url_encode(bytes(raw))
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(".".join(parts))


def test_v5_bad_padding_under_valid_mac_is_invalid_not_a_crash(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    token = forge.v5(None, plaintext=b"x" * 32, pad=False)
    with pytest.raises(exc.InvalidToken) as info:
        JWTAuth.verify(token)
    assert info.value.code == "token_invalid"


@pytest.mark.parametrize("plaintext", [b"[]", b'"a string"', b"42", b"null", b"{", b"\xff\xfe"])
def test_payload_that_is_not_a_json_object_is_malformed(
    fmt: str, mint: Forge, plaintext: bytes
) -> None:
    if fmt == "jws":
        token = forge.jws(None, raw_payload=b64url_encode(plaintext))
    else:
        token = mint(None, plaintext=plaintext)
    with pytest.raises(exc.TokenMalformed):
        JWTAuth.verify(token)


def test_nested_token_as_payload_is_malformed(fmt: str, mint: Forge) -> None:
    inner = forge.jws(forge.claims()).encode()
    token = (
        forge.jws(None, raw_payload=b64url_encode(inner))
        if fmt == "jws"
        else mint(None, plaintext=inner)
    )
    with pytest.raises(exc.TokenMalformed):
        JWTAuth.verify(token)


# --------------------------------------------------------------------------- #
# Shape, size and encoding
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e.f",
        "....",
        "eyJhbGciOiJIUzI1NiJ9..",
        "!!!.e30.AAAA",
        "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA",
        "eyJhbGciOiJIUzI1NiJ9+.e30.AAAA",
        " eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        "eyJhbGciOiJIUzI1NiJ9.e30.AAAA\n",
        "eyJhbGciOiJIUzI1NiJ9.e30.A",
    ],
)
def test_not_a_compact_token_is_malformed(token: str) -> None:
    with pytest.raises(exc.TokenMalformed):
        JWTAuth.verify(token)


def test_non_canonical_base64url_is_malformed() -> None:
    token = forge.jws(forge.claims())
    head, body, sig = token.split(".")
    assert len(sig) % 4 == 3  # 32 bytes -> 43 chars, 2 spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(sig[-1]) | 1]
    with pytest.raises(exc.TokenMalformed):
        JWTAuth.verify(f"{head}.{body}.{sig[:-1]}{last}")


def test_oversized_token_is_refused_before_decoding(settings: Any) -> None:
    settings.NEXTAUTH_MAX_TOKEN_LENGTH = 2048
    token = forge.jws(forge.claims(pad="x" * 2048))
    with pytest.raises(exc.TokenMalformed, match="too large"):
        JWTAuth.verify(token)


@pytest.mark.parametrize(
    "header_json",
    [
        b'{"alg":"HS256","alg":"none"}',
        b'{"alg":"HS256","typ":NaN}',
        b'["alg"]',
        b"\xef\xbb\xbf{}",
        '{"alg":"HS256"}'.encode("utf-16"),
        b"[" * 100_000,
    ],
)
def test_hostile_header_json_is_malformed(header_json: bytes) -> None:
    token = f"{b64url_encode(header_json)}.e30.AAAA"
    with pytest.raises(exc.TokenMalformed):
        JWTAuth.verify(token)


def test_deeply_nested_payload_is_malformed_not_a_crash(settings: Any) -> None:
    settings.NEXTAUTH_MAX_TOKEN_LENGTH = 10**6
    token = forge.jws(None, raw_payload=b64url_encode(b'{"a":' + b"[" * 100_000 + b"}"))
    with pytest.raises(exc.TokenMalformed):
        JWTAuth.verify(token)


def test_b64url_round_trip_and_thumbprint_length() -> None:
    for n in range(70):
        data = bytes(range(n))
        assert b64url_decode(b64url_encode(data)) == data
    assert len(jwk_thumbprint(b"k" * 64)) == 86


# --------------------------------------------------------------------------- #
# Claims
# --------------------------------------------------------------------------- #


def test_expiry_honours_leeway(mint: Forge, settings: Any) -> None:
    now = int(time.time())
    assert JWTAuth.verify(mint(forge.claims(exp=now - 5)))
    settings.NEXTAUTH_LEEWAY = 0
    with pytest.raises(exc.TokenExpired):
        JWTAuth.verify(mint(forge.claims(exp=now - 5)))


def test_expired_beyond_leeway_is_token_expired(mint: Forge) -> None:
    with pytest.raises(exc.TokenExpired) as info:
        JWTAuth.verify(mint(forge.claims(exp=int(time.time()) - 16)))
    assert info.value.code == "token_expired"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_future_nbf_or_iat_is_not_yet_valid(mint: Forge, claim: str) -> None:
    now = int(time.time())
    assert JWTAuth.verify(mint(forge.claims(**{claim: now + 10})))
    with pytest.raises(exc.TokenNotYetValid):
        JWTAuth.verify(mint(forge.claims(**{claim: now + 60})))


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value", [2_000_000_000.0, "2000000000", True, None, [2_000_000_000], {"$gt": 0}]
)
def test_time_claims_must_be_integers(mint: Forge, claim: str, value: Any) -> None:
    with pytest.raises(exc.TokenClaimsInvalid):
        JWTAuth.verify(mint(forge.claims(**{claim: value})))


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_number_constants_are_malformed(fmt: str, mint: Forge, constant: bytes) -> None:
    raw = b'{"sub":"1","exp":' + constant + b"}"
    token = (
        forge.jws(None, raw_payload=b64url_encode(raw))
        if fmt == "jws"
        else mint(None, plaintext=raw)
    )
    with pytest.raises(exc.TokenMalformed):
        JWTAuth.verify(token)


def test_missing_exp_is_refused(mint: Forge) -> None:
    with pytest.raises(exc.TokenClaimsInvalid):
        JWTAuth.verify(mint(forge.claims(exp=...)))


@pytest.mark.parametrize("sub", [..., "", None, 42, ["42"], {"id": "42"}])
def test_sub_must_be_a_non_empty_string(mint: Forge, sub: Any) -> None:
    with pytest.raises(exc.TokenClaimsInvalid):
        JWTAuth.verify(mint(forge.claims(sub=sub)))


def test_old_nextauth_oauth_check_cookie_is_not_a_session(settings: Any) -> None:
    # Before next-auth 4.24.5 the state/PKCE cookies were encrypted with the session key.
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    now = int(time.time())
    state = {"value": "random-state", "provider": "google", "iat": now, "exp": now + 900}
    with pytest.raises(exc.TokenClaimsInvalid):
        JWTAuth.verify(forge.v4(state))


@pytest.mark.parametrize(
    ("iss", "ok"),
    [
        ("https://auth.example.com", True),
        ("https://auth.example.co", False),
        ("https://auth.example.com/", False),
        ("https://auth.example.com.evil", False),
        (["https://auth.example.com"], False),
        (None, False),
        (..., False),
    ],
)
def test_issuer_is_matched_exactly(mint: Forge, settings: Any, iss: Any, ok: bool) -> None:
    settings.NEXTAUTH_ISSUER = "https://auth.example.com"
    token = mint(forge.claims(iss=iss))
    if ok:
        assert JWTAuth.verify(token)["iss"] == iss
    else:
        with pytest.raises(exc.TokenClaimsInvalid):
            JWTAuth.verify(token)


@pytest.mark.parametrize(
    ("aud", "ok"),
    [
        ("api", True),
        (["web", "api"], True),
        ("ap", False),
        ("api2", False),
        (["apix"], False),
        (["api", 1], False),
        ({"api": 1}, False),
        (None, False),
        (..., False),
    ],
)
def test_audience_is_matched_exactly(mint: Forge, settings: Any, aud: Any, ok: bool) -> None:
    settings.NEXTAUTH_AUDIENCE = "api"
    token = mint(forge.claims(aud=aud))
    if ok:
        assert JWTAuth.verify(token)["aud"] == aud
    else:
        with pytest.raises(exc.TokenClaimsInvalid):
            JWTAuth.verify(token)


def test_issuer_and_audience_go_into_minted_tokens(fmt: str, settings: Any) -> None:
    settings.NEXTAUTH_ISSUER = "https://auth.example.com"
    settings.NEXTAUTH_AUDIENCE = "api"
    claims = JWTAuth.verify(JWTAuth.create(SEED))
    assert (claims["iss"], claims["aud"]) == ("https://auth.example.com", "api")


def test_unset_issuer_ignores_iss(mint: Forge) -> None:
    assert JWTAuth.verify(mint(forge.claims(iss="anyone")))


# --------------------------------------------------------------------------- #
# Errors never carry secrets or tokens
# --------------------------------------------------------------------------- #


def test_error_messages_never_contain_token_or_secret(mint: Forge) -> None:
    bad = [
        mint(forge.claims(), forge.OTHER_SECRET),
        mint(forge.claims(exp=1)),
        mint(forge.claims(sub="")),
        "x" * 40,
    ]
    for token in bad:
        with pytest.raises(exc.InvalidToken) as info:
            decode(token) if token.startswith("x") else JWTAuth.verify(token)
        text = f"{info.value} {info.value!r} {info.value.message}"
        for fragment in (token[:20], token[-20:], forge.SECRET, forge.OTHER_SECRET):
            assert fragment not in text


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", [10**12, 2**63, -(10**12)])
def test_time_claims_beyond_any_date_are_refused(mint: Forge, claim: str, value: int) -> None:
    if claim != "exp" and value < 0:
        value = -value  # a far-past nbf/iat is harmless but a far-future one is not
    with pytest.raises(exc.TokenClaimsInvalid):
        JWTAuth.verify(mint(forge.claims(**{claim: value})))


# --------------------------------------------------------------------------- #
# Repeated tokens
# --------------------------------------------------------------------------- #


def count_codec_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens the codec decodes from now on (the cryptography a remembered token skips)."""
    calls: list[str] = []
    real = codec.decode

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(codec, "decode", counting)
    return calls


def test_a_repeated_token_is_remembered_and_each_caller_owns_its_claims(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = JWTAuth.create(SEED)
    calls = count_codec_decodes(monkeypatch)
    JWTAuth.verify(token)  # a first sighting: decoded, not remembered
    first = JWTAuth.verify(token)  # decoded again, and remembered
    first["role"] = "changed"
    first["extra"] = 1
    second = JWTAuth.verify(token)
    second["role"] = "again"
    third = JWTAuth.verify(token)
    assert len(calls) == 2
    for later in (second, third):
        assert "extra" not in later
        assert later is not first
    assert third["role"] == "admin"


def test_a_repeated_token_with_nested_claims_is_decoded_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = JWTAuth.create({**SEED, "groups": ["a"]})
    first = JWTAuth.verify(token)
    first["groups"].append("b")
    assert JWTAuth.verify(token)["groups"] == ["a"]


def test_a_remembered_token_is_refused_once_its_secret_is_retired(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = [forge.OTHER_SECRET, forge.SECRET]
    token = forge.jws({"sub": "1", "exp": int(time.time()) + 60}, forge.SECRET)
    assert JWTAuth.verify(token)["id"] == "1"
    settings.NEXTAUTH_SECRET = forge.OTHER_SECRET
    with pytest.raises(exc.InvalidToken):
        JWTAuth.verify(token)


def test_a_remembered_token_still_expires(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    token = JWTAuth.create(SEED, max_age=60)
    JWTAuth.verify(token)
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(exc.TokenExpired):
        JWTAuth.verify(token)


def test_the_memory_of_tokens_is_bounded() -> None:
    pol = policy()
    for _ in range(tokens.RECENT_TOKENS + 5):
        token = JWTAuth.create(SEED)
        decode(token, pol=pol)
        decode(token, pol=pol)
    assert 0 < len(pol.recent) <= tokens.RECENT_TOKENS
    for _ in range(tokens.SEEN_TOKENS + 5):
        decode(JWTAuth.create(SEED), pol=pol)
    assert 0 < len(pol.seen) <= tokens.SEEN_TOKENS
    long_token = forge.jws({"sub": "1", "exp": 4_000_000_000, "pad": "x" * 5000}, forge.SECRET)
    for _ in range(2):
        decode(long_token, pol=pol)
    assert long_token not in pol.recent


def test_a_token_is_remembered_the_second_time_it_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A token seen once (a per-call service token) is not copied into the memory; one that
    # comes back (a browser's session) is, and the third decode costs no cryptography.
    pol = policy()
    token = JWTAuth.create(SEED)
    calls = count_codec_decodes(monkeypatch)
    decode(token, pol=pol)
    assert token not in pol.recent
    assert hash(token) in pol.seen
    decode(token, pol=pol)
    assert token in pol.recent
    assert decode(token, pol=pol)["sub"] == str(SEED["id"])
    assert len(calls) == 2


def test_a_repeated_token_is_remembered_by_the_policy(settings: Any) -> None:
    from django_nextauth_jwt.policy import policy

    token = forge.jws(forge.claims())
    assert JWTAuth.verify(token)["id"] == "42"
    assert JWTAuth.verify(token)["id"] == "42"
    assert token in policy().recent
    assert JWTAuth.verify(token)["id"] == "42"


def test_no_token_is_remembered_while_keys_come_from_a_jwks_url(settings: Any) -> None:
    # An issuer may withdraw a key at any time: what verified once must verify again.
    from django_nextauth_jwt.policy import policy

    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
    settings.NEXTAUTH_JWKS_URL = "http://127.0.0.1:9/.well-known/jwks.json"
    token = forge.jws(forge.claims())
    for _ in range(2):
        assert JWTAuth.verify(token)["id"] == "42"
    assert policy().recent == {}
