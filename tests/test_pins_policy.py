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
