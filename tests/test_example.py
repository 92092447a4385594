"""The example service, started as a user starts it (migrate, demo users, runserver)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import EXAMPLE, _migrated_example_db, example_manage, example_server


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


def test_signin_page_without_google_configured_shows_no_google_button(example: str) -> None:
    status, _, body = http("GET", f"{example}/signin/?callbackUrl=%2Fdashboard%2F")
    assert status == 200
    assert b'action="/api/auth/custom-login"' in body
    assert b'name="callbackUrl" value="/dashboard/"' in body
    # An empty client_id would only send people to an error page at Google.
    assert b"signin/google" not in body
    assert b"Sign in with Google" not in body


def test_signin_page_offers_google_once_it_is_configured(tmp_path: Path) -> None:
    env = {"GOOGLE_CLIENT_ID": "example-id.apps.googleusercontent.com"}
    with example_server(tmp_path, env=env) as base:
        status, _, body = http("GET", f"{base}/signin/?callbackUrl=%2Fdashboard%2F")
    assert status == 200
    assert b'action="/api/auth/custom-login"' in body
    assert b'action="/api/auth/signin/google"' in body


def test_signin_page_shows_the_demo_accounts_in_development_only(
    example: str, tmp_path: Path
) -> None:
    _, _, body = http("GET", f"{example}/signin/")
    assert b"<code>demo@example.com</code> / <code>demo-password</code>" in body
    assert b"Development mode" in body
    production = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 50,
        "NEXTAUTH_SECRET": "p" * 40,
    }
    with example_server(tmp_path, env=production) as base:
        _, _, body = http("GET", f"{base}/signin/")
    assert b"<form" in body
    assert b"demo-password" not in body
    assert b"Development mode" not in body


def test_dashboard_shows_times_in_utc_and_in_words(example: str) -> None:
    _, cookie = sign_in(example, "demo@example.com", "demo-password")
    status, _, body = http("GET", f"{example}/dashboard/", headers={"Cookie": cookie})
    assert status == 200
    text = body.decode()
    expires = re.search(r"expires in (.+?), on (\d+ \w+ \d{4}, \d\d:\d\d) UTC", text)
    assert expires, text[:2000]
    assert re.fullmatch(r"4\xa0weeks(, [12]\xa0days?)?", expires[1]), expires[1]
    when = dt.datetime.strptime(expires[2], "%d %B %Y, %H:%M").replace(tzinfo=dt.UTC)
    lifetime = when - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29, hours=23) < lifetime <= dt.timedelta(days=30)
    # Time claims are shown as UTC dates, the raw number only beside them.
    assert re.search(r"<th>exp</th><td>\d+ \w+ \d{4}, \d\d:\d\d:\d\d UTC", text)


def test_demo_user_creation_is_idempotent_and_prints_curl(tmp_path: Path) -> None:
    env = {"SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    example_manage("migrate", "--noinput", env=env)
    first = example_manage("ensure_demo_user", env=env)
    second = example_manage("ensure_demo_user", env=env)
    assert first == second
    assert "curl" in first
    assert "demo@example.com" in first


# -- production by default: DEBUG off unless asked for, no public secret or password ----------

#: Everything the example reads that decides DEBUG, its secrets and the demo accounts: cleared
#: from the inherited environment so that each test below states exactly what is set.
CONFIG_VARS = (
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "NEXTAUTH_SECRET",
    "NEXTAUTH_SECRET_PREVIOUS",
    "NEXTAUTH_SECRET_FILE",
    "AUTH_SECRET",
    "JWT_SECRET",
    "DEMO_USERS",
    "DEMO_PASSWORD",
    "ADMIN_PASSWORD",
)
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "test-only-production-key-" + "k" * 40,
    "NEXTAUTH_SECRET": "test-only-production-secret-0123456789abcdef",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``manage.py`` with only ``env`` deciding the configuration; the result, even a failure."""
    inherited = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "mesh.settings", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def migrated(tmp_path: Path) -> dict[str, str]:
    """A migrated database without accounts, under production settings."""
    env = {**PRODUCTION, "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    result = manage("migrate", "--noinput", "-v", "0", env=env)
    assert result.returncode == 0, result.stderr
    return env


def accounts(env: dict[str, str], password: str = "") -> list[tuple[str, bool]]:
    """Every account's (email, whether ``password`` is its password)."""
    code = (
        "import json, os; from django.contrib.auth import get_user_model; "
        "print(json.dumps([(u.email, u.check_password(os.environ['CHECK_PASSWORD'])) "
        "for u in get_user_model().objects.order_by('email')]))"
    )
    result = manage("shell", "-c", code, env={**env, "CHECK_PASSWORD": password})
    assert result.returncode == 0, result.stderr
    # The last line: Django 5.2's shell may first report its automatic imports.
    return [tuple(row) for row in json.loads(result.stdout.splitlines()[-1])]


@pytest.mark.parametrize("debug", [None, "0", "true"], ids=["unset", "0", "true"])
def test_debug_is_off_unless_set_to_1_and_then_the_secret_key_is_required(
    tmp_path: Path, debug: str | None
) -> None:
    env = {"NEXTAUTH_SECRET": PRODUCTION["NEXTAUTH_SECRET"]}
    if debug is not None:
        env["DJANGO_DEBUG"] = debug
    result = manage("check", env={**env, "SQLITE_PATH": str(tmp_path / "db.sqlite3")})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize("command", [["check"], ["migrate", "--noinput"], ["check", "--deploy"]])
def test_without_a_nextauth_secret_debug_off_stops_with_e001(
    tmp_path: Path, command: list[str]
) -> None:
    # `migrate` too: it runs first in docker-compose.yml and k8s/ (the init container).
    env = {k: v for k, v in PRODUCTION.items() if k != "NEXTAUTH_SECRET"}
    result = manage(*command, env={**env, "SQLITE_PATH": str(tmp_path / "db.sqlite3")})
    assert result.returncode != 0
    assert "nextauth_jwt.E001" in result.stderr
    # The same with a secret passes: E001 is about the secret, not the rest of the settings.
    ok = manage("check", env={**PRODUCTION, "SQLITE_PATH": str(tmp_path / "db.sqlite3")})
    assert ok.returncode == 0, ok.stderr


def test_debug_on_still_runs_on_the_development_fallbacks(tmp_path: Path) -> None:
    result = manage("check", env={"DJANGO_DEBUG": "1", "SQLITE_PATH": str(tmp_path / "db")})
    assert result.returncode == 0, result.stderr


def test_demo_users_are_refused_with_debug_off_unless_opted_in(
    migrated: dict[str, str],
) -> None:
    # Even with passwords in the environment: DEMO_USERS=1 is the opt-in.
    env = {**migrated, "DEMO_PASSWORD": "own-demo-pw-1", "ADMIN_PASSWORD": "own-admin-pw-1"}
    for demo_users in (None, "0"):
        run_env = env if demo_users is None else {**env, "DEMO_USERS": demo_users}
        result = manage("ensure_demo_user", env=run_env)
        assert result.returncode != 0
        assert "CommandError: Refusing to create the demo accounts" in result.stderr
    assert accounts(migrated) == []


@pytest.mark.parametrize(
    ("passwords", "missing"),
    [
        ({}, "DEMO_PASSWORD and ADMIN_PASSWORD"),
        ({"DEMO_PASSWORD": "own-demo-pw-1"}, "set ADMIN_PASSWORD in"),
        ({"ADMIN_PASSWORD": "own-admin-pw-1", "DEMO_PASSWORD": ""}, "set DEMO_PASSWORD in"),
        # The built-in development passwords are public: not accepted with DEBUG off.
        (
            {"DEMO_PASSWORD": "demo-password", "ADMIN_PASSWORD": "admin-password"},
            "DEMO_PASSWORD and ADMIN_PASSWORD",
        ),
    ],
    ids=["none", "no-admin", "empty-demo", "built-in"],
)
def test_opted_in_demo_users_with_debug_off_need_passwords_from_the_environment(
    migrated: dict[str, str], passwords: dict[str, str], missing: str
) -> None:
    result = manage("ensure_demo_user", env={**migrated, "DEMO_USERS": "1", **passwords})
    assert result.returncode != 0
    assert "CommandError" in result.stderr
    assert missing in result.stderr
    assert accounts(migrated) == []


def test_opted_in_demo_users_with_debug_off_get_the_given_passwords_never_printed(
    migrated: dict[str, str],
) -> None:
    passwords = {"DEMO_PASSWORD": "own-demo-pw-1", "ADMIN_PASSWORD": "own-admin-pw-1"}
    result = manage("ensure_demo_user", env={**migrated, "DEMO_USERS": "1", **passwords})
    assert result.returncode == 0, result.stderr
    assert "own-" not in result.stdout
    assert "-password" not in result.stdout
    assert "$DEMO_PASSWORD" in result.stdout
    assert accounts(migrated, "own-demo-pw-1") == [
        ("admin@example.com", False),
        ("demo@example.com", True),
    ]
    assert accounts(migrated, "own-admin-pw-1")[0] == ("admin@example.com", True)
    assert accounts(migrated, "admin-password")[0] == ("admin@example.com", False)


def test_the_tests_template_database_has_the_development_accounts(tmp_path: Path) -> None:
    # tests/servers.py builds it with DJANGO_DEBUG=1, whatever the caller's environment.
    env = {**PRODUCTION, "SQLITE_PATH": str(tmp_path / "copy.sqlite3")}
    shutil.copyfile(_migrated_example_db(), env["SQLITE_PATH"])
    assert accounts(env, "demo-password") == [
        ("admin@example.com", False),
        ("demo@example.com", True),
    ]
