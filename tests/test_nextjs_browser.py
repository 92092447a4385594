"""The example's Next.js front end in a real headless Chromium, in front of the real mesh.

``next build`` once per session (cached), then per variant (next-auth 4 with ``jws`` and
``nextauth-v4``, Auth.js 5 with ``authjs-v5`` and ``jws``): ``next start``, the Django example,
Express, FastAPI and Go on free ports of 127.0.0.1. Sign-in goes through NextAuth's own sign-in
page, whose Credentials provider calls Django's custom-login; the pages are the app's own. Each
service answers with what it verified; Express, FastAPI and Go verify HS256 JWS only, so with a
JWE format they refuse the token (401), and the page shows it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from django_nextauth_jwt.integrations.channels import CLOSE_ORIGIN
from tests.chromium import signed_out
from tests.nextjs_app import (
    SECRET,
    FrontendMesh,
    Variant,
    build_nextjs,
    frontend_mesh,
    nextjs_start_failure,
    require_frontend_mesh,
)
from tests.servers import build_go_service
from tests.test_channels import _handshake
from tests.test_example import sign_in

VARIANTS = {
    "v4-jws": Variant("4", "jws"),
    "v4-nextauth-v4": Variant("4", "nextauth-v4"),
    "v5-authjs-v5": Variant("5", "authjs-v5"),
    "v5-jws": Variant("5", "jws"),
}
SERVICES = ("django", "express", "fastapi", "go")
EMAIL, PASSWORD = "demo@example.com", "demo-password"
WAIT = 20  # seconds a page may take to reach the expected state (2 shared cores, cold servers)

# Every test of a variant on one xdist worker (with --dist loadgroup, as `make test` runs):
# one set of servers per variant per session, the variants spread over the workers.
PARAMS = [pytest.param(name, marks=pytest.mark.xdist_group(f"nextjs-{name}")) for name in VARIANTS]


@pytest.fixture(scope="session")
def nextjs_build() -> float:
    require_frontend_mesh()
    return build_nextjs()


@pytest.fixture(scope="session")
def go_service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_frontend_mesh()
    return build_go_service(tmp_path_factory.mktemp("go"))


@pytest.fixture(scope="module", params=PARAMS, ids=list(VARIANTS))
def mesh(
    request: pytest.FixtureRequest,
    nextjs_build: float,
    go_service: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FrontendMesh]:
    variant = VARIANTS[request.param]
    with frontend_mesh(variant, tmp_path_factory.mktemp(request.param), go_service) as started:
        yield started
    # Whatever the tests did (tampered cookies, refused sign-ins), the app never logged a token
    # (every JWS and JWE starts with "eyJ", a JSON header in base64url) or the secret.
    log = started.nextjs_log.read_text(errors="replace")
    assert "eyJ" not in log
    assert SECRET not in log


@pytest.fixture
def browser(chromium: webdriver.Chrome, mesh: FrontendMesh) -> webdriver.Chrome:
    """Signed out: no cookies for 127.0.0.1 (Next.js and Django alike: cookies ignore ports)."""
    return signed_out(chromium, mesh.django)


# -- helpers ---------------------------------------------------------------------------------


def wait_until(driver: webdriver.Chrome, condition: Any, message: str) -> Any:
    return WebDriverWait(driver, WAIT).until(condition, message)


def wait_for_url(driver: webdriver.Chrome, url: str) -> None:
    wait_until(driver, lambda d: d.current_url == url, f"never reached {url}")


def session_token(driver: webdriver.Chrome, mesh: FrontendMesh) -> str | None:
    """The session token as the browser holds it: the cookie, or its chunks joined."""
    name = mesh.variant.cookie
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    chunks: list[str] = []
    while f"{name}.{len(chunks)}" in cookies:
        chunks.append(cookies[f"{name}.{len(chunks)}"])
    return "".join(chunks) if chunks else cookies.get(name)


def sign_in_on_nextjs(
    driver: webdriver.Chrome, mesh: FrontendMesh, password: str = PASSWORD
) -> None:
    """Open the protected page, land on NextAuth's sign-in page, submit the credentials."""
    driver.get(f"{mesh.nextjs}/protected")
    wait_for_url(driver, f"{mesh.nextjs}/api/auth/signin?callbackUrl=%2Fprotected")
    form = driver.find_element(By.CSS_SELECTOR, "form[action$='/api/auth/callback/credentials']")
    form.find_element(By.NAME, "email").send_keys(EMAIL)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button").click()
    if password == PASSWORD:
        wait_for_url(driver, f"{mesh.nextjs}/protected")


def answers(driver: webdriver.Chrome, table: str) -> dict[str, tuple[int | None, dict[str, Any]]]:
    """Each service's status and JSON body, from a table of the protected page."""
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
    seen: dict[str, tuple[int | None, dict[str, Any]]] = {}
    for row in rows:
        status = row.get_attribute("data-status")
        body = json.loads(row.find_element(By.TAG_NAME, "pre").text)
        seen[str(row.get_attribute("data-service"))] = (
            int(status) if status and status.isdigit() else None,
            body,
        )
    return seen


def client_answers(driver: webdriver.Chrome) -> dict[str, tuple[int | None, dict[str, Any]]]:
    """The answers the browser got itself (the client component), once it has them all."""
    wait_until(
        driver,
        lambda d: d.find_element(By.ID, "client").get_attribute("data-state") == "done",
        "the client component never got its answers",
    )
    return answers(driver, "client-answers")


def expected_statuses(mesh: FrontendMesh) -> dict[str, int]:
    neighbours = 200 if mesh.variant.neighbours_accept else 401
    return {"django": 200, **dict.fromkeys(("express", "fastapi", "go"), neighbours)}


def subject(body: dict[str, Any]) -> str:
    """``sub`` as a service reports it (Django's /api/me/ puts the claims under "claims")."""
    return str(body.get("claims", body)["sub"])


def assert_protected_page_shows_the_mesh(driver: webdriver.Chrome, mesh: FrontendMesh) -> str:
    """The user and every service's answer, server side and from the browser; the user id."""
    who = driver.find_element(By.ID, "who")
    assert who.get_attribute("data-email") == EMAIL
    user_id = str(who.get_attribute("data-id"))
    assert user_id
    for table in (answers(driver, "server-answers"), client_answers(driver)):
        assert {name: status for name, (status, _) in table.items()} == expected_statuses(mesh)
        for name, (status, body) in table.items():
            if status == 200:
                assert subject(body) == user_id, name  # the same person everywhere
                assert body.get("claims", body)["email"] == EMAIL
            else:
                assert body["code"] == "token_unsupported", name  # a JWE, not their JWS
    return user_id


def bearer(url: str, token: str | None) -> tuple[int, dict[str, Any]]:
    """GET ``url`` with ``token`` as Bearer, from the test (not the browser)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def every_service(mesh: FrontendMesh, token: str) -> dict[str, tuple[int, dict[str, Any]]]:
    """``token`` as Bearer to each service directly."""
    seen = {"django": bearer(f"{mesh.django}/api/me/", token)}
    for name, base in mesh.neighbours.items():
        seen[name] = bearer(f"{base}/whoami", token)
    return seen


def tamper(token: str) -> str:
    """Flip one character in the middle of the signature (JWS) or the ciphertext (JWE)."""
    parts = token.split(".")
    target = 2 if len(parts) == 3 else 3
    part = parts[target]
    i = len(part) // 2
    parts[target] = f"{part[:i]}{'A' if part[i] != 'A' else 'B'}{part[i + 1 :]}"
    return ".".join(parts)


def replace_session_cookie(driver: webdriver.Chrome, mesh: FrontendMesh, token: str) -> None:
    """Put ``token`` in the browser as the (single) session cookie, chunks removed."""
    name = mesh.variant.cookie
    for cookie in driver.get_cookies():
        if cookie["name"] == name or cookie["name"].startswith(f"{name}."):
            driver.delete_cookie(cookie["name"])
    driver.add_cookie(
        {"name": name, "value": token, "path": "/", "httpOnly": True, "sameSite": "Lax"}
    )


def browser_fetch(driver: webdriver.Chrome, path: str) -> int:
    """The status of a same-origin ``fetch(path)`` made by the page (with its cookies)."""
    status = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {cache: 'no-store'}).then(r => done(r.status), () => done(-1));",
        path,
    )
    return int(status)


def django_dashboard_shows_the_user(driver: webdriver.Chrome, mesh: FrontendMesh) -> bool:
    """Open Django's own dashboard: signed in there too (True), or sent to its sign-in page."""
    driver.get(f"{mesh.django}/dashboard/")
    wait_until(
        driver,
        lambda d: (
            d.current_url
            in (f"{mesh.django}/dashboard/", f"{mesh.django}/signin/?callbackUrl=%2Fdashboard%2F")
        ),
        "Django's dashboard neither rendered nor redirected",
    )
    if driver.current_url != f"{mesh.django}/dashboard/":
        return False
    return bool(driver.find_element(By.ID, "who").text.startswith(f"Signed in as {EMAIL}"))


def nextjs_protected_page_is_refused(driver: webdriver.Chrome, mesh: FrontendMesh) -> bool:
    """Open the protected page: sent to NextAuth's sign-in page (True), or shown (False)."""
    driver.get(f"{mesh.nextjs}/protected")
    signin = f"{mesh.nextjs}/api/auth/signin?callbackUrl=%2Fprotected"
    wait_until(
        driver,
        lambda d: d.current_url in (signin, f"{mesh.nextjs}/protected"),
        "the protected page neither rendered nor redirected",
    )
    return bool(driver.current_url == signin)


# -- the tests -------------------------------------------------------------------------------


def test_signed_out_the_protected_page_sends_to_the_nextauth_signin_page(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    assert nextjs_protected_page_is_refused(browser, mesh)
    form = browser.find_element(By.CSS_SELECTOR, "form[action$='/api/auth/callback/credentials']")
    # The form posts to the host the browser is on, where its CSRF cookie is (no MissingCSRF).
    assert form.get_attribute("action") == f"{mesh.nextjs}/api/auth/callback/credentials"
    assert browser_fetch(browser, "/mesh/django") == 401


def test_wrong_password_on_the_nextjs_page_signs_nobody_in(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    sign_in_on_nextjs(browser, mesh, password="not-the-password")
    wait_until(
        browser, lambda d: "error=CredentialsSignin" in d.current_url, "no CredentialsSignin error"
    )
    assert session_token(browser, mesh) is None


def test_sign_in_on_the_nextjs_page_shows_the_user_and_every_service(
    browser: webdriver.Chrome, mesh: FrontendMesh, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sign_in_on_nextjs(browser, mesh)
    assert_protected_page_shows_the_mesh(browser, mesh)
    token = session_token(browser, mesh)
    assert token is not None
    assert token.count(".") == (2 if mesh.variant.format == "jws" else 4)
    cookie = browser.get_cookie(mesh.variant.cookie)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert mesh.variant.cookie not in browser.execute_script("return document.cookie")
    # The same token, straight from the test, gets the same answers: nothing is made up.
    direct = every_service(mesh, token)
    assert {name: status for name, (status, _) in direct.items()} == expected_statuses(mesh)
    exp = dt.datetime.fromtimestamp(direct["django"][1]["claims"]["exp"], tz=dt.UTC)
    expires = browser.find_element(By.ID, "token-info").get_attribute("data-expires")
    assert expires == exp.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    shot = (
        tmp_path_factory.mktemp("screenshots")
        / f"nextjs-protected-{mesh.variant.version}-{mesh.variant.format}.png"
    )
    # The whole page, the browser's answers below the fold included: a window as tall as it.
    height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(1280, max(900, height + 200))  # + the window frame
    try:
        assert browser.save_screenshot(str(shot))
    finally:
        browser.set_window_size(1280, 900)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert width >= 800
    assert height >= 900
    assert len(data) > 15_000, f"{len(data)} bytes: a blank page?"
    print(f"screenshot of the Next.js protected page: {shot}")


def test_tampered_session_cookie_is_refused_everywhere(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    sign_in_on_nextjs(browser, mesh)
    token = session_token(browser, mesh)
    assert token is not None
    forged = tamper(token)
    replace_session_cookie(browser, mesh, forged)
    assert nextjs_protected_page_is_refused(browser, mesh)  # middleware.ts
    assert browser_fetch(browser, "/mesh/django") == 401
    assert browser_fetch(browser, "/api/auth/session") == 200
    session = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/auth/session').then(r => r.json()).then(done, () => done('error'));"
    )
    assert not session  # NextAuth's own handler: no session ({} or null)
    assert not django_dashboard_shows_the_user(browser, mesh)
    direct = every_service(mesh, forged)
    assert {name: status for name, (status, _) in direct.items()} == dict.fromkeys(SERVICES, 401)
    assert direct["django"][1]["code"] == "token_invalid"
    # The untampered token still works: it was the flipped character that was refused.
    assert every_service(mesh, token)["django"][0] == 200


def test_sign_in_on_djangos_page_is_seen_by_nextjs(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    back = quote(f"{mesh.nextjs}/protected", safe="")
    browser.get(f"{mesh.django}/signin/?callbackUrl={back}")
    form = browser.find_element(By.ID, "credentials")
    form.find_element(By.NAME, "email").send_keys(EMAIL)
    form.find_element(By.NAME, "password").send_keys(PASSWORD)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Django minted the token and set the cookie on 127.0.0.1; the Next.js app reads it.
    wait_for_url(browser, f"{mesh.nextjs}/protected")
    assert_protected_page_shows_the_mesh(browser, mesh)


def test_sign_in_on_nextjs_is_seen_by_djangos_dashboard(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    sign_in_on_nextjs(browser, mesh)
    assert django_dashboard_shows_the_user(browser, mesh)


def test_sign_out_on_nextjs_ends_the_session_at_django_too(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    sign_in_on_nextjs(browser, mesh)
    token = session_token(browser, mesh)
    assert token is not None
    assert bearer(f"{mesh.django}/api/me/", token)[0] == 200
    browser.find_element(By.ID, "signout").click()
    wait_for_url(browser, f"{mesh.nextjs}/api/auth/signout")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/api/auth/signout'] button").click()
    wait_until(
        browser, lambda d: session_token(d, mesh) is None, "the session cookie was not deleted"
    )
    assert nextjs_protected_page_is_refused(browser, mesh)
    assert not django_dashboard_shows_the_user(browser, mesh)
    # NextAuth's sign-out event handed the token to Django, which revoked it: a copy is refused.
    status, body = bearer(f"{mesh.django}/api/me/", token)
    assert (status, body["code"]) == (401, "token_revoked")


def test_sign_out_on_django_ends_the_nextjs_session(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    sign_in_on_nextjs(browser, mesh)
    token = session_token(browser, mesh)
    assert django_dashboard_shows_the_user(browser, mesh)
    browser.find_element(By.CSS_SELECTOR, "#signout button[type=submit]").click()
    wait_for_url(browser, f"{mesh.django}/signin/")
    assert session_token(browser, mesh) is None  # Django deleted the cookie NextAuth wrote
    assert nextjs_protected_page_is_refused(browser, mesh)
    assert browser_fetch(browser, "/mesh/django") == 401
    status, body = bearer(f"{mesh.django}/api/me/", token)
    assert (status, body["code"]) == (401, "token_revoked")


def live_line(driver: webdriver.Chrome) -> tuple[str, int, str]:
    """The protected page's live line: its state, the lines Django pushed, its text."""
    live = driver.find_element(By.ID, "live")
    count = int(live.get_attribute("data-count") or 0)
    return str(live.get_attribute("data-state")), count, str(live.text)


def test_the_protected_pages_live_line_closes_when_the_person_signs_out_in_another_tab(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    sign_in_on_nextjs(browser, mesh)
    user_id = str(browser.find_element(By.ID, "who").get_attribute("data-id"))
    # Lines keep arriving: the browser's own WebSocket to Django, with the session cookie.
    wait_until(browser, lambda d: live_line(d)[1] >= 2, "Django pushed no lines to the page")
    state, _, text = live_line(browser)
    assert state == "open"
    assert text.startswith("Django's clock: ")
    assert f"(for user {user_id})" in text
    page = browser.current_window_handle
    browser.switch_to.new_window("tab")
    try:
        # The person signs out in another tab, through NextAuth: its signOut event posts the
        # token to Django, whose deny-list write closes the first tab's socket.
        browser.get(f"{mesh.nextjs}/api/auth/signout")
        browser.find_element(By.CSS_SELECTOR, "form[action$='/api/auth/signout'] button").click()
        wait_until(
            browser, lambda d: session_token(d, mesh) is None, "the session cookie was not deleted"
        )
        browser.close()
    finally:
        browser.switch_to.window(page)
    # Closed by Django within seconds, not left open until the token expires (hours).
    WebDriverWait(browser, 5, poll_frequency=0.1).until(
        lambda d: live_line(d)[0] == "closed", "the live line stayed open after the sign-out"
    )
    assert browser.find_element(By.ID, "live-closed").text == "closed: 4401 token_revoked"


def test_the_live_lines_socket_refuses_another_sites_page_with_the_session_cookie(
    mesh: FrontendMesh,
) -> None:
    _, cookie = sign_in(mesh.django, EMAIL, PASSWORD)
    url = mesh.django.replace("http://", "ws://") + "/ws/live/"
    # The Next.js app's pages, allowed in NEXTAUTH_WEBSOCKET_ORIGINS: the session's lines.
    allowed = asyncio.run(_handshake(url, {"Cookie": cookie, "Origin": mesh.nextjs}))
    assert allowed.hello is not None
    assert allowed.hello["now"]
    # Another site's page, whose visitor's browser sends the same cookie: refused (cross-site
    # WebSocket hijacking), before the consumer runs.
    for origin in ("https://evil.example", mesh.nextjs.replace("127.0.0.1", "localhost")):
        refused = asyncio.run(_handshake(url, {"Cookie": cookie, "Origin": origin}))
        assert (refused.hello, refused.code) == (None, CLOSE_ORIGIN), origin


def test_a_session_too_large_for_one_cookie_is_chunked_and_works_everywhere(
    browser: webdriver.Chrome, mesh: FrontendMesh
) -> None:
    sign_in_on_nextjs(browser, mesh)
    # A click before React hydrates the form would submit it natively, never saving the note.
    wait_until(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, "#note-form[data-ready=true]"),
        "the note form never hydrated",
    )
    note = "A long note kept in the session token. " * 130  # 5070 characters
    browser.execute_script("document.getElementById('note').value = arguments[0];", note)
    browser.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
    wait_until(
        browser,
        lambda d: d.find_element(By.ID, "note-status").text.startswith("Saved"),
        "the note was not saved",
    )
    assert browser.find_element(By.ID, "note-status").text == f"Saved: {len(note)} characters."
    name = mesh.variant.cookie
    assert browser.get_cookie(f"{name}.0") is not None
    assert browser.get_cookie(f"{name}.1") is not None
    assert browser.get_cookie(name) is None  # NextAuth removed the unchunked cookie
    token = session_token(browser, mesh)
    assert token is not None
    assert len(token) > 3933 + 1000

    browser.get(f"{mesh.nextjs}/protected")
    info = browser.find_element(By.ID, "token-info")
    assert int(info.get_attribute("data-chunks") or 0) >= 2
    assert int(info.get_attribute("data-length") or 0) == len(token)
    assert browser.find_element(By.ID, "note-length").get_attribute("data-length") == str(len(note))
    assert_protected_page_shows_the_mesh(browser, mesh)
    assert django_dashboard_shows_the_user(browser, mesh)  # Django joins the chunks too
    direct = every_service(mesh, token)
    assert {name: status for name, (status, _) in direct.items()} == expected_statuses(mesh)


# -- a misconfigured app does not start ------------------------------------------------------

MISCONFIGURATIONS = {
    "no_secret": ({"NEXTAUTH_SECRET": ""}, "NEXTAUTH_SECRET must be set, 32 bytes or more"),
    "short_secret": (
        {"NEXTAUTH_SECRET": "x" * 31},
        "NEXTAUTH_SECRET must be set, 32 bytes or more",
    ),
    "unknown_format": (
        {"NEXTAUTH_JWT_FORMAT": "HS512"},
        "NEXTAUTH_JWT_FORMAT must be one of jws, nextauth-v4, authjs-v5",
    ),
    "authjs_v5_tokens_from_next_auth_4": (
        {"NEXTAUTH_JWT_FORMAT": "authjs-v5", "NEXTAUTH_VERSION": "4"},
        "authjs-v5 tokens need NEXTAUTH_VERSION=5",
    ),
    "nextauth_v4_tokens_from_authjs_5": (
        {"NEXTAUTH_JWT_FORMAT": "nextauth-v4", "NEXTAUTH_VERSION": "5"},
        "nextauth-v4 tokens need NEXTAUTH_VERSION=4",
    ),
    "next_auth_4_without_its_url": ({"NEXTAUTH_URL": ""}, "next-auth 4 needs NEXTAUTH_URL"),
    "django_public_url_not_http": (
        {"DJANGO_PUBLIC_URL": "ws://127.0.0.1:8000"},
        "DJANGO_PUBLIC_URL must be an http:// or https:// URL",
    ),
}


@pytest.mark.parametrize("case", MISCONFIGURATIONS, ids=list(MISCONFIGURATIONS))
def test_misconfigured_app_stops_at_start_up_with_the_reason(
    nextjs_build: float, case: str
) -> None:
    changes, reason = MISCONFIGURATIONS[case]
    env = {
        "NEXTAUTH_SECRET": SECRET,
        "NEXTAUTH_JWT_FORMAT": "jws",
        "NEXTAUTH_URL": "http://127.0.0.1:3000",
        **changes,
    }
    result = nextjs_start_failure(env)
    assert result.returncode != 0
    assert reason in result.stderr
    assert SECRET not in result.stdout + result.stderr
