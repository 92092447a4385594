"""Pins on policy building that no test held (issue 27).

The system checks report a bad configuration at ``manage.py check``; gunicorn and scripts
never run it, so ``policy()`` refuses the same settings on first use. The rule pinned here:
a service that accepts ``jws-asymmetric`` tokens with no key at all to verify them (no
signing key pair, no public key, no JWKS URL) is refused, whether it mints that format or
only accepts it. A verifier with only the issuer's public keys or JWKS URL is valid.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt.policy import policy
from tests import forge


@pytest.fixture
def keyless(settings: Any) -> Any:
    """The test settings without their signing key pair: no asymmetric key of any kind."""
    del settings.NEXTAUTH_SIGNING_KEYS
    return settings


def test_policy_refuses_jws_asymmetric_only_accepted_with_no_key_at_all(keyless: Any) -> None:
    keyless.NEXTAUTH_JWT_FORMAT = "jws"
    keyless.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
    with pytest.raises(ImproperlyConfigured, match=r"nextauth_jwt\.E054"):
        policy()


def test_policy_refuses_jws_asymmetric_minted_with_no_key_at_all(keyless: Any) -> None:
    keyless.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    with pytest.raises(ImproperlyConfigured, match=r"nextauth_jwt\.E05[34]"):
        policy()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEXTAUTH_PUBLIC_KEYS", [forge.public_pem("EdDSA", 3)]),
        ("NEXTAUTH_JWKS_URL", "https://auth.example.com/api/auth/jwks"),
    ],
    ids=["public-keys", "jwks-url"],
)
def test_policy_accepts_jws_asymmetric_with_only_a_verification_key(
    keyless: Any, name: str, value: Any
) -> None:
    keyless.NEXTAUTH_JWT_FORMAT = "jws"
    keyless.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
    setattr(keyless, name, value)
    built = policy()
    assert "jws-asymmetric" in built.accepted_formats
    assert built.key_sources is not None


def test_a_shared_secret_service_issues_without_any_signing_key(keyless: Any) -> None:
    keyless.NEXTAUTH_JWT_FORMAT = "jws"
    assert policy().issues is True


def test_a_key_pair_service_issues_only_with_a_signing_key(keyless: Any) -> None:
    keyless.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    keyless.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("EdDSA", 3)]
    assert policy().issues is False  # a verifier: sign-in answers 404
    keyless.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("EdDSA", 3)]
    assert policy().issues is True


def test_a_thread_that_waited_for_the_build_takes_the_policy_built_first(settings: Any) -> None:
    # Threads of a fresh process that miss the cache at once queue on the build's lock; each
    # one after the first finds the policy just published (and one JWKS client is made).
    first = policy()
    assert policy.compute() is first
    settings.NEXTAUTH_JWT_FORMAT = "jws"  # another settings object: built again
    assert policy.compute() is not first


# --------------------------------------------------------------------------- #
# What policy() says when it refuses: the words an operator reads at first use
# --------------------------------------------------------------------------- #


def refusal() -> str:
    with pytest.raises(ImproperlyConfigured) as info:
        policy()
    return str(info.value)


def test_no_secret_for_a_symmetric_format_is_refused_in_these_words(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings.NEXTAUTH_SECRET = None
    assert refusal() == (
        "NEXTAUTH_SECRET is not set: set it (a string or a list of strings) or the "
        "NEXTAUTH_SECRET / AUTH_SECRET / JWT_SECRET environment variable."
    )


def test_a_short_secret_is_refused_in_these_words(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = "s" * 31
    assert refusal() == (
        "A NextAuth secret is shorter than 32 bytes: generate one with "
        "`openssl rand -base64 32` and set it on both sides, here and as the Next.js app's "
        "NEXTAUTH_SECRET (AUTH_SECRET for Auth.js 5): the two must hold the same value, or "
        "every token is refused (nextauth_jwt.E003)."
    )


def test_minting_jws_asymmetric_with_no_key_is_refused_in_these_words(keyless: Any) -> None:
    keyless.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    assert refusal() == (
        "NEXTAUTH_JWT_FORMAT is jws-asymmetric but this service has no key: an issuer needs "
        "NEXTAUTH_SIGNING_KEYS, a verifier NEXTAUTH_JWKS_URL or NEXTAUTH_PUBLIC_KEYS "
        "(nextauth_jwt.E053)."
    )


def test_accepting_jws_asymmetric_with_no_key_is_refused_in_these_words(keyless: Any) -> None:
    keyless.NEXTAUTH_JWT_FORMAT = "jws"
    keyless.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "jws-asymmetric"]
    assert refusal() == (
        "jws-asymmetric tokens are accepted but no key verifies them: set "
        "NEXTAUTH_JWKS_URL or NEXTAUTH_PUBLIC_KEYS (the issuer's keys), or "
        "NEXTAUTH_SIGNING_KEYS to issue them here (nextauth_jwt.E054)."
    )


TEN_YEARS = 10 * 365 * 24 * 3600  # conf.MAX_SESSION_LIFETIME, as the docs state it


@pytest.mark.parametrize("lifetime", [1, TEN_YEARS])
def test_a_session_lifetime_from_one_second_to_ten_years_is_taken(
    settings: Any, lifetime: int
) -> None:
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = lifetime
    assert policy().max_lifetime == lifetime


@pytest.mark.parametrize("lifetime", [0, TEN_YEARS + 1, 3600.0, True])
def test_any_other_session_lifetime_is_refused_in_these_words(settings: Any, lifetime: Any) -> None:
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = lifetime
    assert refusal() == (
        "NEXTAUTH_SESSION_MAX_LIFETIME must be a whole number of seconds, from 1 to "
        f"{TEN_YEARS} (nextauth_jwt.E043)."
    )
