"""What every attack case needs: the paths it drives, how it asserts a refusal, fuzz profiles."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hsettings

from tests import forge

#: The DRF view (``NextAuthJWTAuthentication`` + ``IsAuthenticated``).
ME = "/api/me/"
#: A plain Django view under ``NEXTAUTH_PROTECTED_PATHS`` and ``NEXTAUTH_API_PATHS``: the
#: middleware answers 401 JSON.
PLAIN = "/api/plain/"
#: A plain page under ``NEXTAUTH_PROTECTED_PATHS`` (not an API path): the middleware redirects.
PAGE = "/private/page/"
SESSION = "/api/auth/session"
LOGIN = "/api/auth/custom-login"
SIGNOUT = "/api/auth/signout"

V4_COOKIE = "next-auth.session-token"
V5_COOKIE = "authjs.session-token"
SECURE_V5_COOKIE = "__Secure-authjs.session-token"

V4_HEADER = {"alg": "dir", "enc": "A256GCM"}
V5_ENC = "A256CBC-HS512"


def v5_header(secret: str = forge.SECRET, salt: str = forge.V5_SALT) -> dict[str, Any]:
    """The protected header @auth/core writes for ``secret`` and ``salt``."""
    return {"alg": "dir", "enc": V5_ENC, "kid": forge.thumbprint(forge.v5_key(secret, salt))}


def assert_refused(response: Any, code: str, status: int = 401) -> None:
    """``status`` with JSON ``{"detail", "code": code}``; a 401 carries the Bearer challenge."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str)
    if status == 401:
        assert response["WWW-Authenticate"].startswith('Bearer realm="api"')


def _client(cookies: dict[str, str] | None) -> Client:
    client = Client()
    for name, value in (cookies or {}).items():
        client.cookies[name] = value
    return client


def _headers(token: str | None, headers: dict[str, str] | None) -> dict[str, str]:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return sent


def refused_everywhere(
    code: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    session: bool = True,
) -> None:
    """The same credentials are refused with ``code`` by the DRF view and by the middleware,
    and (unless ``session=False``: it checks the token, not the user) the sign-in views'
    ``session`` endpoint sees no session."""
    sent = _headers(token, headers)
    for path in (ME, PLAIN):
        response = _client(cookies).get(path, query or {}, headers=sent)
        assert_refused(response, code)
    if session:
        answer = _client(cookies).get(SESSION, query or {}, headers=sent)
        assert (answer.status_code, answer.json()) == (200, {})


def accepted_everywhere(
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    user_id: str = "42",
) -> None:
    """The positive control: both paths authenticate ``user_id``."""
    sent = _headers(token, headers)
    for path in (ME, PLAIN):
        response = _client(cookies).get(path, headers=sent)
        assert response.status_code == 200, (path, response.content[:300])
        assert response.json()["id"] == user_id


def elapsed(action: Callable[[], Any]) -> tuple[Any, float]:
    """``action()``'s result and how long it took, in seconds."""
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


# --------------------------------------------------------------------------- #
# Hypothesis profiles: bounded in the main suite, `make fuzz` for the long run.
# --------------------------------------------------------------------------- #

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
hsettings.register_profile("security", max_examples=200, **_COMMON)
# make fuzz: each property sets its own share (property_settings), 100,000+ in total.
hsettings.register_profile("fuzz", max_examples=10_000, **_COMMON)

FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
_PROFILE = hsettings.get_profile("fuzz" if FUZZING else "security")


def property_settings(fuzz_examples: int) -> hsettings:
    """A property's settings: the bounded profile, or ``fuzz_examples`` under ``make fuzz``.

    The fuzz budget is split by cost: cheap properties get more inputs than ones that
    make three HTTP requests per input.
    """
    if FUZZING:
        return hsettings(_PROFILE, max_examples=fuzz_examples)
    return _PROFILE


#: Inputs tried per property in this process (printed at the end of the session).
INPUTS: Counter[str] = Counter()
