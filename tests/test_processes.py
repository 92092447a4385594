"""Two real server processes sharing one Redis: a sign-out on one is seen by the other."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django_nextauth_jwt import JWTAuth
from tests.servers import django_server


def call(method: str, url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_signout_on_one_process_revokes_on_another(redis_cache: str, redis_prefix: str) -> None:
    env = {"TEST_CACHE_PREFIX": redis_prefix, "TEST_REDIS_URL": redis_cache}
    token, other = JWTAuth.create({"id": "ada"}), JWTAuth.create({"id": "ada"})
    with (
        django_server("tests.settings_redis", env) as first,
        django_server("tests.settings_redis", env) as second,
    ):
        assert call("GET", f"{second}/api/me/", token)[0] == 200
        assert call("POST", f"{first}/api/auth/signout", token)[0] == 200
        status, body = call("GET", f"{second}/api/me/", token)
        assert (status, body["code"]) == (401, "token_revoked")
        assert call("GET", f"{first}/api/me/", token)[0] == 401
        # Only that token: the same user's other session lives on.
        assert call("GET", f"{second}/api/me/", other)[0] == 200
