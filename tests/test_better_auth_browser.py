"""The Better Auth example front end in a real headless Chromium, in front of the real Django.

``next build`` of example_project/nextjs-better-auth once per session (cached), then per
cookie-cache strategy (compact, jwt, jwe): the Django example told to read Better Auth's cookie
cache in that strategy, and ``next start`` of the app, on free ports of 127.0.0.1. People sign up
and sign in on the app's own forms (Better Auth's email and password); the protected page shows
Django's answer for the cookie the browser holds, the browser takes the same cookie to Django's
own pages, and sign-out and sign-out-everywhere reach Django through the app's database hook
(tests/interop/betterauth/django-signout.mjs): Django then refuses the old cookies.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.better_auth_app import (
    CACHE_COOKIE,
    SECRET,
    SESSION_COOKIE,
    BetterAuthMesh,
    app_start_failure,
    better_auth_mesh,
    build_better_auth_app,
    require_better_auth_app,
)
from tests.chromium import signed_out
from tests.test_mesh_script import banner_line, make_mesh
from tests.test_mesh_script import sign_in as django_sign_in

STRATEGIES = ("compact", "jwt", "jwe")
PASSWORD = "a-long-password-1234"
WAIT = 20  # seconds a page may take to reach the expected state (2 shared cores, cold servers)
#: Dots in each strategy's cookie: base64url JSON, a JWS, a JWE.
DOTS = {"compact": 0, "jwt": 2, "jwe": 4}

# Every test of a strategy on one xdist worker (with --dist loadgroup, as `make test` runs):
# one Django and one app per strategy per session, the strategies spread over the workers.
PARAMS = [pytest.param(s, marks=pytest.mark.xdist_group(f"better-auth-{s}")) for s in STRATEGIES]
_people = itertools.count()


@pytest.fixture(scope="session")
def app_build() -> float:
    require_better_auth_app()
    return build_better_auth_app()


@pytest.fixture(scope="module", params=PARAMS, ids=list(STRATEGIES))
def mesh(
    request: pytest.FixtureRequest, app_build: float, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BetterAuthMesh]:
    strategy = request.param
    with better_auth_mesh(strategy, tmp_path_factory.mktemp(f"better-auth-{strategy}")) as up:
        yield up
    # Whatever the tests did, the app never logged a cookie (a JWS or JWE starts with "eyJ",
    # the compact cache with the base64url of '{"session"') or the secret.
    log = up.app_log.read_text(errors="replace")
    assert "eyJ" not in log
    assert SECRET not in log


@pytest.fixture
def browser(chromium: webdriver.Chrome, mesh: BetterAuthMesh) -> webdriver.Chrome:
    """Signed out: no cookies for 127.0.0.1 (the app and Django alike: cookies ignore ports)."""
    return signed_out(chromium, mesh.django)


# -- helpers ---------------------------------------------------------------------------------


def wait_until(driver: webdriver.Chrome, condition: Any, message: str) -> Any:
    return WebDriverWait(driver, WAIT).until(condition, message)


def wait_for_url(driver: webdriver.Chrome, url: str) -> None:
    wait_until(driver, lambda d: d.current_url == url, f"never reached {url}")


def new_email(mesh: BetterAuthMesh) -> str:
    return f"person{next(_people)}-{mesh.strategy}@example.com"


def fill(form: Any, **fields: str) -> None:
    for name, value in fields.items():
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def sign_up(driver: webdriver.Chrome, mesh: BetterAuthMesh, email: str) -> None:
    """The home page's sign-up form: a new account, signed in, on the protected page."""
    driver.get(f"{mesh.app}/")
    fill(driver.find_element(By.ID, "signup"), name="Ada Lovelace", email=email, password=PASSWORD)
    wait_for_url(driver, f"{mesh.app}/protected")


def sign_in(driver: webdriver.Chrome, mesh: BetterAuthMesh, email: str, password: str) -> None:
    driver.get(f"{mesh.app}/")
    fill(driver.find_element(By.ID, "signin"), email=email, password=password)


def cookie_cache(driver: webdriver.Chrome) -> str | None:
    """Better Auth's cookie cache as the browser holds it: the cookie, or its chunks joined."""
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    chunks: list[str] = []
    while f"{CACHE_COOKIE}.{len(chunks)}" in cookies:
        chunks.append(cookies[f"{CACHE_COOKIE}.{len(chunks)}"])
    return "".join(chunks) if chunks else cookies.get(CACHE_COOKIE)


def django_me(django: str, token: str) -> tuple[int, dict[str, Any]]:
    """Django's /api/me/ for ``token`` as Bearer, from the test (not the browser)."""
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{django}/api/me/", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def second_session(mesh: BetterAuthMesh, email: str) -> str:
    """Sign ``email`` in again from elsewhere (Better Auth's API, no browser): its cookie cache."""
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{mesh.app}/api/auth/sign-in/email",
        data=json.dumps({"email": email, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json", "Origin": mesh.app},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        jar: SimpleCookie = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    return jar[CACHE_COOKIE].value


def protected_page_answer(driver: webdriver.Chrome) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of Django's answer, as the protected page shows it."""
    table = driver.find_element(By.ID, "django-answer")
    status = str(table.get_attribute("data-status"))
    return int(status), json.loads(table.find_element(By.TAG_NAME, "pre").text)


def browser_json(driver: webdriver.Chrome, url: str) -> dict[str, Any]:
    """Open ``url`` (a Django API, as JSON) in the browser, with its cookies; the body."""
    driver.get(f"{url}?format=json")
    return dict(json.loads(driver.find_element(By.TAG_NAME, "body").text))


def django_dashboard_shows(driver: webdriver.Chrome, mesh: BetterAuthMesh, email: str) -> bool:
    """Open Django's own dashboard: signed in there as ``email`` (True), or sent to sign in."""
    driver.get(f"{mesh.django}/dashboard/")
    wait_until(
        driver,
        lambda d: d.current_url.startswith((f"{mesh.django}/dashboard/", f"{mesh.django}/signin/")),
        "Django's dashboard neither rendered nor redirected",
    )
    if driver.current_url != f"{mesh.django}/dashboard/":
        return False
    return bool(driver.find_element(By.ID, "who").text.startswith(f"Signed in as {email}"))


def protected_page_is_refused(driver: webdriver.Chrome, mesh: BetterAuthMesh) -> bool:
    """Open the protected page: sent home (True), or shown (False)."""
    driver.get(f"{mesh.app}/protected")
    wait_until(
        driver,
        lambda d: d.current_url in (f"{mesh.app}/", f"{mesh.app}/protected"),
        "the protected page neither rendered nor redirected",
    )
    return bool(driver.current_url == f"{mesh.app}/")


# -- the tests -------------------------------------------------------------------------------


def test_signed_out_the_protected_page_sends_home_and_django_refuses(
    browser: webdriver.Chrome, mesh: BetterAuthMesh
) -> None:
    assert protected_page_is_refused(browser, mesh)
    assert browser.find_element(By.ID, "signin").is_displayed()
    assert browser_json(browser, f"{mesh.django}/api/me/")["code"] == "token_missing"


def test_sign_up_shows_djangos_answer_for_that_person(
    browser: webdriver.Chrome, mesh: BetterAuthMesh
) -> None:
    email = new_email(mesh)
    sign_up(browser, mesh, email)
    who = browser.find_element(By.ID, "who")
    user_id, session_id = who.get_attribute("data-id"), who.get_attribute("data-session")
    assert who.get_attribute("data-email") == email
    assert user_id
    assert session_id
    # Server to server: the app sent the browser's cookie cache to Django as Bearer.
    status, body = protected_page_answer(browser)
    assert status == 200, body
    claims = body["claims"]
    assert (claims["sub"], claims["sid"], claims["email"]) == (user_id, session_id, email)
    assert claims["name"] == "Ada Lovelace"
    token = cookie_cache(browser)
    assert token is not None
    assert token.count(".") == DOTS[mesh.strategy]
    info = browser.find_element(By.ID, "cache-info")
    assert info.get_attribute("data-strategy") == mesh.strategy
    assert info.get_attribute("data-length") == str(len(token))
    cookie = browser.get_cookie(CACHE_COOKIE)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    # The same cookie from the test gets the same answer: nothing on the page is made up.
    assert django_me(mesh.django, token) == (200, body)
    # The browser itself, on Django's pages (same host name): the same person.
    browser.find_element(By.ID, "django-me")  # the page links Django's API ...
    me = browser_json(browser, f"{mesh.django}/api/me/")
    assert (me["claims"]["sub"], me["claims"]["sid"]) == (user_id, session_id)
    assert django_dashboard_shows(browser, mesh, email)  # ... and its dashboard


def test_an_expired_cookie_cache_is_reissued_before_the_page_asks_django(
    browser: webdriver.Chrome, mesh: BetterAuthMesh
) -> None:
    email = new_email(mesh)
    sign_up(browser, mesh, email)
    first = cookie_cache(browser)
    # The browser drops the cache when its Max-Age is over: the session cookie stays.
    browser.delete_cookie(CACHE_COOKIE)
    assert browser.get_cookie(SESSION_COOKIE) is not None
    browser.get(f"{mesh.app}/protected")
    status, body = protected_page_answer(browser)
    assert (status, body["claims"]["email"]) == (200, email)
    again = cookie_cache(browser)  # re-issued from Better Auth's database, to the browser too
    assert again is not None
    assert again != first
    assert django_me(mesh.django, again)[0] == 200


def test_sign_in_as_the_demo_account(browser: webdriver.Chrome, mesh: BetterAuthMesh) -> None:
    sign_in(browser, mesh, "demo@example.com", "demo-password")
    wait_for_url(browser, f"{mesh.app}/protected")
    status, body = protected_page_answer(browser)
    assert (status, body["claims"]["email"]) == (200, "demo@example.com")


def test_a_wrong_password_signs_nobody_in(browser: webdriver.Chrome, mesh: BetterAuthMesh) -> None:
    email = new_email(mesh)
    sign_up(browser, mesh, email)
    browser.delete_all_cookies()
    sign_in(browser, mesh, email, "not-the-password")
    wait_until(browser, lambda d: "error=" in d.current_url, "no error shown")
    assert browser.find_element(By.ID, "error").get_attribute("data-code") == (
        "INVALID_EMAIL_OR_PASSWORD"
    )
    assert cookie_cache(browser) is None
    assert browser.get_cookie(SESSION_COOKIE) is None


def test_a_tampered_cookie_cache_is_refused_by_django(
    browser: webdriver.Chrome, mesh: BetterAuthMesh
) -> None:
    sign_up(browser, mesh, new_email(mesh))
    token = cookie_cache(browser)
    assert token is not None
    i = len(token) // 2
    forged = f"{token[:i]}{'A' if token[i] != 'A' else 'B'}{token[i + 1 :]}"
    browser.delete_cookie(CACHE_COOKIE)
    browser.add_cookie({"name": CACHE_COOKIE, "value": forged, "path": "/", "httpOnly": True})
    code = browser_json(browser, f"{mesh.django}/api/me/")["code"]
    assert code in ("token_invalid", "token_malformed")
    assert django_me(mesh.django, token)[0] == 200  # the flipped character was what Django refused


def test_sign_out_ends_this_session_at_django_and_keeps_the_others(
    browser: webdriver.Chrome, mesh: BetterAuthMesh
) -> None:
    email = new_email(mesh)
    sign_up(browser, mesh, email)
    token = cookie_cache(browser)
    assert token is not None
    elsewhere = second_session(mesh, email)
    assert django_me(mesh.django, elsewhere)[0] == 200
    browser.find_element(By.CSS_SELECTOR, "#signout button").click()
    wait_for_url(browser, f"{mesh.app}/")
    wait_until(browser, lambda d: cookie_cache(d) is None, "the cookie cache was not deleted")
    assert protected_page_is_refused(browser, mesh)
    # Better Auth deleted the session; its hook had Django revoke it: a kept copy is refused.
    status, body = django_me(mesh.django, token)
    assert (status, body["code"]) == (401, "token_revoked")
    assert django_me(mesh.django, elsewhere)[0] == 200  # the person's other session goes on


def test_sign_out_everywhere_ends_every_session_at_django(
    browser: webdriver.Chrome, mesh: BetterAuthMesh
) -> None:
    email = new_email(mesh)
    sign_up(browser, mesh, email)
    token = cookie_cache(browser)
    assert token is not None
    elsewhere = second_session(mesh, email)
    assert django_me(mesh.django, elsewhere)[0] == 200
    browser.get(f"{mesh.app}/protected")
    browser.find_element(By.CSS_SELECTOR, "#signout-everywhere button").click()
    wait_for_url(browser, f"{mesh.app}/")
    wait_until(browser, lambda d: cookie_cache(d) is None, "the cookie cache was not deleted")
    assert protected_page_is_refused(browser, mesh)
    assert not django_dashboard_shows(browser, mesh, email)
    for kept in (token, elsewhere):  # this browser's and the other device's
        status, body = django_me(mesh.django, kept)
        assert (status, body["code"]) == (401, "token_revoked")
    # A new sign-in is a new session: Django accepts it.
    sign_in(browser, mesh, email, PASSWORD)
    wait_for_url(browser, f"{mesh.app}/protected")
    assert protected_page_answer(browser)[0] == 200


# -- a misconfigured app does not start ------------------------------------------------------

MISCONFIGURATIONS = {
    "no_secret": ({"BETTER_AUTH_SECRET": ""}, "BETTER_AUTH_SECRET must be set, 32 bytes or more"),
    "short_secret": (
        {"BETTER_AUTH_SECRET": "x" * 31},
        "BETTER_AUTH_SECRET must be set, 32 bytes or more",
    ),
    "unknown_strategy": (
        {"BETTER_AUTH_COOKIE_CACHE": "HS512"},
        "BETTER_AUTH_COOKIE_CACHE must be one of compact, jwt, jwe",
    ),
    "no_url": ({"BETTER_AUTH_URL": ""}, "BETTER_AUTH_URL must be this app's origin"),
}


@pytest.mark.xdist_group("better-auth-compact")
@pytest.mark.parametrize("case", MISCONFIGURATIONS, ids=list(MISCONFIGURATIONS))
def test_a_misconfigured_app_stops_at_start_up_with_the_reason(app_build: float, case: str) -> None:
    changes, reason = MISCONFIGURATIONS[case]
    env = {
        "BETTER_AUTH_SECRET": SECRET,
        "BETTER_AUTH_URL": "http://127.0.0.1:3000",
        "BETTER_AUTH_COOKIE_CACHE": "compact",
        **changes,
    }
    result = app_start_failure(env)
    assert result.returncode != 0
    assert reason in result.stderr
    assert SECRET not in result.stdout + result.stderr


# -- make mesh -------------------------------------------------------------------------------


def better_auth_call(app: str, path: str, body: dict[str, str], cookie: str = "") -> SimpleCookie:
    """POST to Better Auth's API as a browser of ``app`` would; the cookies it sets."""
    headers = {"Content-Type": "application/json", "Origin": app}
    if cookie:
        headers["Cookie"] = cookie
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{app}{path}", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    jar: SimpleCookie = SimpleCookie()
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    return jar


@pytest.mark.xdist_group("better-auth-mesh")
def test_make_mesh_better_auth_mode_starts_the_app_with_django_reading_its_cookie(
    app_build: float, tmp_path: Path
) -> None:
    with make_mesh(tmp_path, MESH_MODE="better-auth", BETTER_AUTH_COOKIE_CACHE="jwt") as (
        output,
        urls,
    ):
        assert output.count("The mesh is up.") == 1
        assert "Better Auth (email and password) with its session cookie cache in the jwt" in output
        assert f"{urls['nextjs']}   open this one: sign up, or sign in as demo@example.com" in (
            output
        )
        assert banner_line(output, "Django").endswith(
            "reads Better Auth's better-auth.session_data (jwt) and its own jws: 200"
        )
        app = urls["nextjs"]
        signed_in = better_auth_call(
            app,
            "/api/auth/sign-in/email",
            {"email": "demo@example.com", "password": "demo-password"},
        )
        cache = signed_in[CACHE_COOKIE].value
        assert cache.count(".") == DOTS["jwt"]
        status, body = django_me(urls["django"], cache)
        assert (status, body["claims"]["email"]) == (200, "demo@example.com")
        # The neighbours read Django's own token, as the banner says.
        token = django_sign_in(urls["django"])
        for name in ("express", "fastapi", "go"):
            request = urllib.request.Request(  # noqa: S310 - loopback only
                f"{urls[name]}/whoami", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                assert response.status == 200, name
        # A Better Auth sign-out reaches this Django (the hook has its URL): the cache is refused.
        cookies = "; ".join(f"{k}={m.value}" for k, m in signed_in.items())
        better_auth_call(app, "/api/auth/sign-out", {}, cookie=cookies)
        status, body = django_me(urls["django"], cache)
        assert (status, body["code"]) == (401, "token_revoked")
