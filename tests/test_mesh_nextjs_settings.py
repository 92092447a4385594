"""The example's Next.js app honours a rotation, the issuer and the audience, as every service does.

``next start`` (the built app) in front of the Django example, both with ``NEXTAUTH_SECRET``
(new), ``NEXTAUTH_SECRET_PREVIOUS`` (old), ``NEXTAUTH_ISSUER`` and ``NEXTAUTH_AUDIENCE``:

* a session token of the old secret still passes the app's middleware (``/mesh/django``
  forwards it, and Django accepts it too), and signs nobody out during a rotation;
* a token without the issuer and audience is refused by the middleware, as by Django;
* a sign-in through NextAuth's own credentials flow mints a token that carries them, so that
  Django, which requires them, accepts it.

Before, the app read neither setting: the old token and the token without ``iss``/``aud`` got
the opposite answers from the app and from Django, and NextAuth minted tokens Django refused.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import forge
from tests.conftest import require
from tests.nextjs_app import build_nextjs, nextjs_installed, nextjs_server, nextjs_start_failure
from tests.servers import example_server, free_port

OLD = "nextjs-rotation-old-secret-0123456789-abcdef"
NEW = "nextjs-rotation-new-secret-0123456789-abcdef"
ISSUER = "https://auth.mesh.test"
AUDIENCE = "mesh-services"
#: (NextAuth version, token format, the session cookie, a token of ``secret`` in that format)
VARIANTS = {
    "v4-jws": ("4", "jws", "next-auth.session-token", forge.jws),
    "v4-jwe": ("4", "nextauth-v4", "next-auth.session-token", forge.v4),
    "v5-jwe": ("5", "authjs-v5", "authjs.session-token", forge.v5),
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require(nextjs_installed(), "node and example_project/nextjs/node_modules are needed")
    build_nextjs()
    version, fmt, cookie, make = VARIANTS[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    shared = {
        "NEXTAUTH_SECRET": NEW,
        "NEXTAUTH_SECRET_PREVIOUS": OLD,
        "NEXTAUTH_ISSUER": ISSUER,
        "NEXTAUTH_AUDIENCE": AUDIENCE,
        "NEXTAUTH_JWT_FORMAT": fmt,
    }
    django_env = {**shared, "NEXTAUTH_COOKIE_NAME": cookie, "NEXTAUTH_SECRET_FILE": ""}
    with contextlib.ExitStack() as stack:
        django = stack.enter_context(example_server(tmp, django_env))
        app_env = {**shared, "NEXTAUTH_VERSION": version, "DJANGO_URL": django}
        if version == "4":
            app_env["NEXTAUTH_URL"] = origin
        base = stack.enter_context(nextjs_server(port, app_env, tmp / "nextjs.log"))
        yield base, django, cookie, make


def claims(**extra: Any) -> dict[str, Any]:
    return forge.claims(sub="1", email="demo@example.com", **extra)


def through_the_app(base: str, cookie: str, token: str) -> tuple[int, dict[str, Any]]:
    """GET /mesh/django with ``token`` as the session cookie: the middleware, then Django."""
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{base}/mesh/django", headers={"Cookie": f"{cookie}={token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_token_of_the_previous_secret_passes_the_app_and_django(app: Any) -> None:
    base, _, cookie, make = app
    status, answer = through_the_app(base, cookie, make(claims(iss=ISSUER, aud=AUDIENCE), OLD))
    assert status == 200, answer  # the middleware let it through, and forwarded it
    assert answer["status"] == 200, answer  # Django: the previous secret still verifies
    status, answer = through_the_app(base, cookie, make(claims(iss=ISSUER, aud=AUDIENCE), NEW))
    assert (status, answer["status"]) == (200, 200)


@pytest.mark.parametrize(
    "missing",
    [
        {},
        {"iss": ISSUER},
        {"aud": AUDIENCE},
        {"iss": "https://other.test", "aud": AUDIENCE},
        {"iss": ISSUER, "aud": ["billing"]},
    ],
    ids=["neither", "no_audience", "no_issuer", "other_issuer", "other_audience"],
)
def test_a_token_without_the_issuer_and_audience_is_refused_by_the_middleware(
    app: Any, missing: dict[str, Any]
) -> None:
    base, _, cookie, make = app
    status, answer = through_the_app(base, cookie, make(claims(**missing), NEW))
    assert status == 401, answer
    assert answer["code"] == "token_invalid"


def test_an_audience_list_holding_ours_passes(app: Any) -> None:
    base, _, cookie, make = app
    token = make(claims(iss=ISSUER, aud=["billing", AUDIENCE]), OLD)
    assert through_the_app(base, cookie, token)[0] == 200


def test_a_token_of_neither_secret_is_refused(app: Any) -> None:
    base, _, cookie, make = app
    other = "nextjs-rotation-other-secret-0123456789-xyz"
    token = make(claims(iss=ISSUER, aud=AUDIENCE), other)
    assert through_the_app(base, cookie, token)[0] == 401


def test_nextauth_sign_in_mints_a_token_with_the_issuer_and_audience(app: Any) -> None:
    base, django, cookie, _ = app
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/api/auth/csrf", timeout=30) as response:
        csrf = json.loads(response.read())["csrfToken"]
    form = urllib.parse.urlencode(
        {
            "csrfToken": csrf,
            "email": "demo@example.com",
            "password": "demo-password",
            "callbackUrl": f"{base}/protected",
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{base}/api/auth/callback/credentials",
        data=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Auth-Return-Redirect": "1",
        },
    )
    with contextlib.suppress(urllib.error.HTTPError), opener.open(request, timeout=30):
        pass  # a redirect or JSON: the cookie is what counts
    session = {c.name: c.value for c in jar}.get(cookie)
    assert session, f"no session cookie after sign-in: {sorted(c.name for c in jar)}"
    me = urllib.request.Request(  # noqa: S310
        f"{django}/api/me/", headers={"Authorization": f"Bearer {session}"}
    )
    with urllib.request.urlopen(me, timeout=10) as response:  # noqa: S310
        body = json.loads(response.read())
    # Django requires the issuer and audience: the token NextAuth wrote carries both.
    assert body["claims"]["iss"] == ISSUER
    assert body["claims"]["aud"] == AUDIENCE


def test_a_short_previous_secret_stops_next_start(tmp_path: Path) -> None:
    require(nextjs_installed(), "node and example_project/nextjs/node_modules are needed")
    build_nextjs()
    started = time.monotonic()
    result = nextjs_start_failure(
        {
            "NEXTAUTH_SECRET": NEW,
            "NEXTAUTH_SECRET_PREVIOUS": "short",
            "NEXTAUTH_URL": "http://127.0.0.1:3000",
        }
    )
    assert result.returncode != 0
    assert "NEXTAUTH_SECRET_PREVIOUS, when set, must be 32 bytes or more" in (
        result.stdout + result.stderr
    )
    assert time.monotonic() - started < 120
