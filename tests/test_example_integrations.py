"""The example under an ASGI server: the dashboard's WebSocket, the Ninja endpoint, its schema.

``uvicorn mesh.asgi:application`` with the example's settings and demo users (as
``tests/servers.example_server`` prepares them), signed into through the real custom-login.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_nextauth_jwt.integrations.channels import CLOSE_ORIGIN, CLOSE_UNAUTHORIZED
from tests.servers import EXAMPLE, _migrated_example_db, free_port, stop, wait_until_up
from tests.test_channels import Server, _until_closed, handshake
from tests.test_example import http, sign_in


@pytest.fixture(scope="module")
def example_asgi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("example-asgi")
    database = folder / "example.sqlite3"
    shutil.copyfile(_migrated_example_db(), database)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = folder / "uvicorn.log"
    env = {
        "DJANGO_SETTINGS_MODULE": "mesh.settings",
        "DJANGO_DEBUG": "1",
        "SQLITE_PATH": str(database),
        "MESH_URL": base,
    }
    command = [
        sys.executable, "-m", "uvicorn", "mesh.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "info",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=EXAMPLE,
            env={**os.environ, **env},
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        try:
            wait_until_up(f"{base}/healthz", proc)
            yield Server(base, log)
        finally:
            stop(proc)


def test_the_dashboards_websocket_pushes_and_closes_at_sign_out(example_asgi: Server) -> None:
    token, cookie = sign_in(example_asgi.base, "demo@example.com", "demo-password")
    headers = {"Cookie": cookie, "Origin": example_asgi.base}

    def sign_out() -> None:
        status, _, _ = http(
            "POST",
            f"{example_asgi.base}/api/auth/signout",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert status == 200

    code, reason, _ = asyncio.run(_until_closed(example_asgi.ws + "/ws/live/", headers, sign_out))
    assert (code, reason) == (CLOSE_UNAUTHORIZED, "token_revoked")
    assert token not in example_asgi.output()


def test_the_dashboards_live_line_in_chromium_closes_when_the_session_signs_out(
    example_asgi: Server, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    from tests.chromium import headless_chromium

    token, cookie = sign_in(example_asgi.base, "demo@example.com", "demo-password")
    name, _, value = cookie.partition("=")
    with headless_chromium(tmp_path / "profile") as browser:
        browser.get(f"{example_asgi.base}/healthz")
        browser.add_cookie({"name": name, "value": value, "path": "/", "httpOnly": True})
        browser.get(f"{example_asgi.base}/dashboard/")

        def live_text(_: Any) -> str:
            return str(browser.find_element(By.ID, "live").text)

        # The page's own WebSocket: the browser sends the cookie and its Origin by itself.
        WebDriverWait(browser, 15).until(lambda d: live_text(d).startswith("Live: "))
        assert "as " in live_text(browser)
        status, _, _ = http(
            "POST",
            f"{example_asgi.base}/api/auth/signout",
            headers={"Authorization": f"Bearer {token}"},
        )  # signed out elsewhere: another device, the same session
        assert status == 200
        WebDriverWait(browser, 15).until(lambda d: "signed out" in live_text(d))
        assert live_text(browser) == "Live line closed: signed out (token_revoked)."


def test_the_dashboards_websocket_refuses_another_sites_page(example_asgi: Server) -> None:
    _, cookie = sign_in(example_asgi.base, "demo@example.com", "demo-password")
    seen = handshake(
        example_asgi, "/ws/live/", headers={"Cookie": cookie, "Origin": "https://evil.example"}
    )
    assert seen.code == CLOSE_ORIGIN


def test_the_ninja_endpoint_answers_as_the_drf_one(example_asgi: Server) -> None:
    demo, _ = sign_in(example_asgi.base, "demo@example.com", "demo-password")
    bearer = {"Authorization": f"Bearer {demo}"}
    status, _, body = http("GET", f"{example_asgi.base}/api/ninja/me", headers=bearer)
    assert status == 200
    assert json.loads(body)["claims"]["email"] == "demo@example.com"
    status, _, body = http("GET", f"{example_asgi.base}/api/ninja/admin", headers=bearer)
    assert (status, json.loads(body)["code"]) == (403, "role_required")
    status, headers, body = http("GET", f"{example_asgi.base}/api/ninja/me")
    assert (status, json.loads(body)["code"]) == (401, "token_missing")
    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_the_ninja_schema_page_offers_bearer(example_asgi: Server) -> None:
    status, _, body = http("GET", f"{example_asgi.base}/api/ninja/openapi.json")
    assert status == 200
    schemes = json.loads(body)["components"]["securitySchemes"]
    assert schemes["NextAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["NextAuth"]["description"],
    }
    assert schemes["NextAuthCookie"]["in"] == "cookie"
    status, _, page = http("GET", f"{example_asgi.base}/api/ninja/docs")
    assert status == 200
    # Swagger UI from Ninja's own static files (no CDN), served in development under uvicorn.
    scripts = re.findall(rb'src="(/static/[^"]+\.js)"', page)
    assert scripts
    for script in scripts:
        assert http("GET", f"{example_asgi.base}{script.decode()}")[0] == 200
