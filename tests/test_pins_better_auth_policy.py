"""Pins on the Better Auth part of policy building, without Node (issue 27).

``tests/test_better_auth.py`` proves the cookie cache against the real better-auth package, and
so needs Node; the mutation re-check runs the fast suite without it. What the policy makes of
the settings (which cookie cache, under which secrets, refusing what with which words) is pinned
here, in process: a slip in a check would otherwise let a misconfigured service start, or
refuse a good one.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.jose import betterauth
from django_nextauth_jwt.policy import (
    better_auth_cookie_name,
    better_auth_secrets,
    policy,
    valid_better_auth_text,
)
from tests.codec import test_betterauth as vectors
from tests.test_pins_policy import refusal

SECRET = "pins-better-auth-secret-0123456789-abcdefghij"
OLDER = "pins-better-auth-older-secret-0123456789-abcdef"


@pytest.fixture
def reads(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A service that reads Better Auth's compact cookie cache, no secret from the environment."""
    for name in ("BETTER_AUTH_SECRET", "BETTER_AUTH_SECRETS", "AUTH_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings.NEXTAUTH_BETTER_AUTH_STRATEGY = "compact"
    settings.NEXTAUTH_BETTER_AUTH_SECRET = SECRET
    return settings


def test_without_a_strategy_there_is_no_cookie_cache_and_no_cookie_name(settings: Any) -> None:
    assert policy().better_auth is None
    assert better_auth_cookie_name(SimpleNamespace(BETTER_AUTH_STRATEGY=None)) is None


@pytest.mark.parametrize("strategy", betterauth.STRATEGIES)
def test_each_strategy_is_built_with_the_settings_it_names(reads: Any, strategy: str) -> None:
    reads.NEXTAUTH_BETTER_AUTH_STRATEGY = strategy
    reads.NEXTAUTH_BETTER_AUTH_VERSION = "7"
    reads.NEXTAUTH_MAX_TOKEN_LENGTH = 9000
    cache = policy().better_auth
    assert cache is not None
    assert (cache.strategy, cache.version, cache.max_length) == (strategy, "7", 9000)


@pytest.mark.parametrize(
    ("formats", "shared"),
    [(["jws"], False), (["jws", "authjs-v5"], True)],
)
def test_a_jwe_is_shared_exactly_when_auth_js_v5_is_accepted_too(
    reads: Any, formats: list[str], shared: bool
) -> None:
    reads.NEXTAUTH_JWT_FORMAT = "jws"
    reads.NEXTAUTH_ACCEPTED_FORMATS = formats
    cache = policy().better_auth
    assert cache is not None
    assert cache.shared_jwe is shared


def test_minting_auth_js_v5_shares_the_jwe_too(reads: Any) -> None:
    reads.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    reads.NEXTAUTH_ACCEPTED_FORMATS = ["authjs-v5"]
    cache = policy().better_auth
    assert cache is not None
    assert cache.shared_jwe is True


def test_an_unknown_strategy_is_refused_in_these_words(reads: Any) -> None:
    reads.NEXTAUTH_BETTER_AUTH_STRATEGY = "cookie"
    assert refusal() == (
        "NEXTAUTH_BETTER_AUTH_STRATEGY must be one of compact, jwt, jwe (nextauth_jwt.E060)."
    )


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"NEXTAUTH_BETTER_AUTH_SECRET": b"bytes"}, "NEXTAUTH_BETTER_AUTH_SECRET must be a string"),
        (
            {"NEXTAUTH_BETTER_AUTH_SECRETS": {"2": SECRET}},
            "NEXTAUTH_BETTER_AUTH_SECRETS must be a string or a list of pairs",
        ),
        ({"NEXTAUTH_BETTER_AUTH_SECRETS": "2-new"}, "BETTER_AUTH_SECRETS entry 1 is not "),
        ({"NEXTAUTH_BETTER_AUTH_SECRETS": [(2, "")]}, "each secret version is (a whole number"),
        ({"NEXTAUTH_BETTER_AUTH_SECRETS": [(2, SECRET, 3)]}, "too many values to unpack"),
        ({"NEXTAUTH_BETTER_AUTH_SECRET": None}, "no Better Auth secret is set"),
        (
            {"NEXTAUTH_BETTER_AUTH_SECRET": "s" * 31},
            "the current Better Auth secret is shorter than 32 bytes",
        ),
    ],
)
def test_an_unusable_secret_is_refused_in_words_that_show_no_secret(
    reads: Any, overrides: dict[str, Any], words: str
) -> None:
    for name, value in overrides.items():
        setattr(reads, name, value)
    message = refusal()
    assert message.startswith(f"Better Auth's secret: {words}")
    assert message.endswith(" (nextauth_jwt.E061).")
    assert SECRET not in message


def test_a_secret_of_exactly_32_bytes_is_enough(reads: Any) -> None:
    reads.NEXTAUTH_BETTER_AUTH_SECRET = "é" * 16  # 32 bytes, 16 characters
    found = better_auth_secrets(
        SimpleNamespace(BETTER_AUTH_SECRET="é" * 16, BETTER_AUTH_SECRETS=None)
    )
    assert found.current == "é" * 16
    assert policy().better_auth is not None


def test_versions_sign_with_the_first_and_decrypt_with_all_and_the_legacy_secret(
    reads: Any,
) -> None:
    reads.NEXTAUTH_BETTER_AUTH_SECRETS = f"2:{SECRET},1:{OLDER}"
    reads.NEXTAUTH_BETTER_AUTH_SECRET = "pins-legacy-secret-0123456789-abcdefghijklmn"
    found = better_auth_secrets(
        SimpleNamespace(
            BETTER_AUTH_SECRET=reads.NEXTAUTH_BETTER_AUTH_SECRET,
            BETTER_AUTH_SECRETS=reads.NEXTAUTH_BETTER_AUTH_SECRETS,
        )
    )
    assert found.current == SECRET
    assert found.all == (SECRET, OLDER, reads.NEXTAUTH_BETTER_AUTH_SECRET)
    assert policy().better_auth is not None


@pytest.mark.parametrize(
    "issuer", [{"NEXTAUTH_ISSUER": "https://app.example.com"}, {"NEXTAUTH_AUDIENCE": "api"}]
)
def test_an_issuer_or_an_audience_is_refused_in_these_words(
    reads: Any, issuer: dict[str, str]
) -> None:
    for name, value in issuer.items():
        setattr(reads, name, value)
    assert refusal() == (
        "Better Auth's cookie cache carries no iss or aud: with NEXTAUTH_ISSUER or "
        "NEXTAUTH_AUDIENCE set every cookie would be refused (nextauth_jwt.E062)."
    )


@pytest.mark.parametrize("name", ["COOKIE_PREFIX", "VERSION"])
@pytest.mark.parametrize("value", ["", "my app", "a;b", "a,b", "a=b", "a\tb"])
def test_a_prefix_or_version_a_cookie_header_would_split_is_refused(
    reads: Any, name: str, value: str
) -> None:
    setattr(reads, f"NEXTAUTH_BETTER_AUTH_{name}", value)
    assert refusal() == (
        "NEXTAUTH_BETTER_AUTH_COOKIE_PREFIX and NEXTAUTH_BETTER_AUTH_VERSION must be non-empty "
        "strings without spaces, ';', ',' or '=' (nextauth_jwt.E063)."
    )


def test_valid_text_is_a_non_empty_string_with_nothing_a_header_splits_on() -> None:
    assert valid_better_auth_text("My-App_X.2") is True
    assert valid_better_auth_text(2) is False
    assert valid_better_auth_text("") is False


@pytest.mark.parametrize(
    ("secure", "name"), [(False, "app.session_data"), (True, "__Secure-app.session_data")]
)
def test_the_cookie_name_is_the_prefixs_and_secure_on_https_sites(
    reads: Any, secure: bool, name: str
) -> None:
    from django_nextauth_jwt.conf import app_settings

    reads.NEXTAUTH_BETTER_AUTH_COOKIE_PREFIX = "app"
    reads.NEXTAUTH_SECURE_COOKIE = secure
    assert better_auth_cookie_name(app_settings) == name


def test_a_cookie_cache_token_goes_to_the_cookie_cache_and_a_nextauth_one_to_the_codec(
    reads: Any,
) -> None:
    # better-auth's own JWE (tests/codec/test_betterauth.py's vector), under its secret: the
    # shape sends it to the cookie cache, which the codec's keys could not decrypt.
    reads.NEXTAUTH_BETTER_AUTH_STRATEGY = "jwe"
    reads.NEXTAUTH_BETTER_AUTH_SECRET = vectors.SECRET
    pol = policy()
    claims = pol.decode(vectors.JWE)
    assert (claims["sub"], claims["sid"], claims["role"]) == ("u1", "s1", "admin")
    assert pol.decode(JWTAuth.create({"id": "7"}))["sub"] == "7"
