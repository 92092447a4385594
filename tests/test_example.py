"""The example service, started as a user starts it (migrate, demo users, runserver)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import example_manage, example_server


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(
    method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with example_server(tmp_path_factory.mktemp("example")) as base:
        yield base


def sign_in(base: str, email: str, password: str) -> tuple[str, str]:
    status, headers, body = http(
        "POST", f"{base}/api/auth/custom-login", body={"email": email, "password": password}
    )
    assert status == 200, body
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    return json.loads(body)["token"], cookie


def test_example_passes_its_system_checks(tmp_path: Path) -> None:
    output = example_manage("check", env={"SQLITE_PATH": str(tmp_path / "db.sqlite3")})
    assert "no issues" in output


def test_demo_user_reads_the_api_by_bearer(example: str) -> None:
    token, _ = sign_in(example, "demo@example.com", "demo-password")
    status, _, body = http(
        "GET", f"{example}/api/me/", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200
    assert json.loads(body)["claims"]["email"] == "demo@example.com"


def test_admin_endpoint_needs_the_admin_role(example: str) -> None:
    demo, _ = sign_in(example, "demo@example.com", "demo-password")
    admin, _ = sign_in(example, "admin@example.com", "admin-password")
    forbidden = http("GET", f"{example}/api/admin/", headers={"Authorization": f"Bearer {demo}"})
    allowed = http("GET", f"{example}/api/admin/", headers={"Authorization": f"Bearer {admin}"})
    assert forbidden[0] == 403
    assert json.loads(forbidden[2])["code"] == "role_required"
    assert allowed[0] == 200


def test_api_without_token_is_401_json(example: str) -> None:
    status, headers, body = http("GET", f"{example}/api/me/")
    assert (status, json.loads(body)["code"]) == (401, "token_missing")
    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_protected_page_redirects_to_signin_then_shows_the_user(example: str) -> None:
    status, headers, _ = http("GET", f"{example}/dashboard/")
    assert status == 302
    assert headers["Location"] == "/signin/?callbackUrl=%2Fdashboard%2F"
    _, cookie = sign_in(example, "demo@example.com", "demo-password")
    status, _, body = http("GET", f"{example}/dashboard/", headers={"Cookie": cookie})
    assert status == 200
    assert re.search(rb"Signed in as <strong>demo@example.com</strong>", body)


def test_signin_page_offers_both_ways_in(example: str) -> None:
    status, _, body = http("GET", f"{example}/signin/?callbackUrl=%2Fdashboard%2F")
    assert status == 200
    assert b'action="/api/auth/custom-login"' in body
    assert b'action="/api/auth/signin/google"' in body
    assert b'name="callbackUrl" value="/dashboard/"' in body


def test_demo_user_creation_is_idempotent_and_prints_curl(tmp_path: Path) -> None:
    env = {"SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    example_manage("migrate", "--noinput", env=env)
    first = example_manage("ensure_demo_user", env=env)
    second = example_manage("ensure_demo_user", env=env)
    assert first == second
    assert "curl" in first
    assert "demo@example.com" in first
