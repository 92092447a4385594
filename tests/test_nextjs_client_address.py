"""The browser's address through the real Next.js app: nothing the browser writes is counted.

``next start`` of the example app (next-auth 4 and Auth.js 5) in front of the Django example,
driven by a real Chromium whose requests carry a forged ``X-Forwarded-For``. ``next start``
keeps a header the browser sent, so the shipped helper (``clientAddressHeader()`` in
``example_project/nextjs/django.mjs``) no longer signs any entry of it:

* with no header named (``NEXTAUTH_CLIENT_ADDRESS_HEADER`` unset), the address cannot be known:
  the server says so at start-up and signs ``unknown``, and Django counts every such sign-in in
  one budget sized for a site (``NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT``) beside per-account limits;
* with the header the docs name for a proxy in front (``x-real-ip``, which the test sets as
  that proxy would), that header is the address, whatever ``X-Forwarded-For`` says.

Either way, failures claiming someone else's address lock that person out of nothing, and a
rotated ``X-Forwarded-For`` buys no fresh budget.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver

from tests.chromium import signed_out
from tests.conftest import require
from tests.nextjs_app import SECRET, build_nextjs, nextjs_installed, nextjs_server
from tests.servers import example_server, free_port

EMAIL, PASSWORD = "demo@example.com", "demo-password"
#: Django's budgets in these runs: one client's, and the one the unknown clients share.
PER_CLIENT, UNKNOWN = 3, 12
#: The person whose address the attacker claims: the Next.js server's socket sees every
#: browser of this test as 127.0.0.1, which is what `next start` writes when none is sent.
VICTIM = "127.0.0.1"


@dataclass(frozen=True)
class Setup:
    version: str
    header: str | None  # NEXTAUTH_CLIENT_ADDRESS_HEADER

    @property
    def name(self) -> str:
        return f"v{self.version}-{self.header or 'no-header'}"


SETUPS = [Setup(v, h) for v in ("4", "5") for h in (None, "x-real-ip")]
PARAMS = [
    pytest.param(s, id=s.name, marks=pytest.mark.xdist_group(f"nextjs-ca-{s.name}")) for s in SETUPS
]


@dataclass(frozen=True)
class Running:
    setup: Setup
    nextjs: str
    log: Path


@pytest.fixture(scope="session")
def nextjs_build() -> float:
    require(nextjs_installed(), "node and example_project/nextjs/node_modules are needed")
    return build_nextjs()


@pytest.fixture(scope="module", params=PARAMS)
def running(
    request: pytest.FixtureRequest, nextjs_build: float, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    setup: Setup = request.param
    tmp = tmp_path_factory.mktemp(setup.name)
    cookie = "authjs.session-token" if setup.version == "5" else "next-auth.session-token"
    django_env = {
        "NEXTAUTH_SECRET": SECRET,
        "NEXTAUTH_SECRET_PREVIOUS": "",
        "NEXTAUTH_SECRET_FILE": "",
        "NEXTAUTH_ISSUER": "",
        "NEXTAUTH_AUDIENCE": "",
        "NEXTAUTH_JWT_FORMAT": "jws",
        "NEXTAUTH_COOKIE_NAME": cookie,
        "LOGIN_ATTEMPTS_PER_CLIENT": str(PER_CLIENT),
        "LOGIN_ATTEMPTS_UNKNOWN_CLIENT": str(UNKNOWN),
    }
    port = free_port()
    with contextlib.ExitStack() as stack:
        django = stack.enter_context(example_server(tmp, django_env))
        app_env = {
            "NEXTAUTH_SECRET": SECRET,
            "NEXTAUTH_JWT_FORMAT": "jws",
            "NEXTAUTH_VERSION": setup.version,
            "DJANGO_URL": django,
        }
        if setup.version == "4":
            app_env["NEXTAUTH_URL"] = f"http://127.0.0.1:{port}"
        if setup.header:
            app_env["NEXTAUTH_CLIENT_ADDRESS_HEADER"] = setup.header
        log = tmp / "nextjs.log"
        base = stack.enter_context(nextjs_server(port, app_env, log))
        yield Running(setup, base, log)


@pytest.fixture
def browser(chromium: webdriver.Chrome, running: Running) -> webdriver.Chrome:
    return signed_out(chromium, running.nextjs)


SIGN_IN = """
const [email, password, headers] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const {csrfToken} = await (await fetch('/api/auth/csrf', {cache: 'no-store'})).json();
  const body = new URLSearchParams({csrfToken, email, password, json: 'true', callbackUrl: '/'});
  await fetch('/api/auth/callback/credentials', {
    method: 'POST', body, redirect: 'manual',
    headers: {'content-type': 'application/x-www-form-urlencoded', ...headers},
  });
  const session = await (await fetch('/api/auth/session', {cache: 'no-store'})).json();
  return session?.user?.email ?? null;
})().then(done, (error) => done('error: ' + error));
"""


def sign_in(driver: webdriver.Chrome, email: str, password: str, **headers: str) -> bool:
    """Sign in from the page (``fetch`` with ``headers``), signed out first; True when it took."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    who: Any = driver.execute_async_script(
        SIGN_IN, email, password, {k.replace("_", "-"): v for k, v in headers.items()}
    )
    assert who is None or who == email, who
    return bool(who == email)


def edge(running: Running, address: str) -> dict[str, str]:
    """What the proxy in front adds, when the setup names its header."""
    return {"X_Real_IP": address} if running.setup.header else {}


def test_the_server_says_at_start_up_where_the_address_comes_from(running: Running) -> None:
    log = running.log.read_text(errors="replace")
    if running.setup.header is None:
        assert "NEXTAUTH_CLIENT_ADDRESS_HEADER is not set" in log
    else:
        assert "the browser's address comes from x-real-ip" in log


def test_forged_forwarded_for_through_nextjs_locks_out_no_other_address(
    browser: webdriver.Chrome, running: Running
) -> None:
    # Twice one client's budget of failures, each claiming the victim's address.
    attacker = {"X_Forwarded_For": VICTIM, **edge(running, "198.51.100.66")}
    for i in range(2 * PER_CLIENT):
        assert not sign_in(browser, f"nobody{i}@example.com", "guess", **attacker)
    # The victim, from the address the attacker claimed, still signs in.
    assert sign_in(browser, EMAIL, PASSWORD, **edge(running, VICTIM))


def test_rotated_forwarded_for_through_nextjs_dodges_no_limit(
    browser: webdriver.Chrome, running: Running
) -> None:
    # Every attempt with a fresh X-Forwarded-For, past whichever budget applies.
    budget = UNKNOWN if running.setup.header is None else PER_CLIENT
    for i in range(budget + 1):
        forged = {"X_Forwarded_For": f"203.0.113.{i}", **edge(running, "198.51.100.77")}
        sign_in(browser, f"sprayed{i}@example.com", "guess", **forged)
    # The right password, with yet another forged address, is refused all the same.
    forged = {"X_Forwarded_For": "203.0.113.250", **edge(running, "198.51.100.77")}
    assert not sign_in(browser, EMAIL, PASSWORD, **forged)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        (
            {"NEXTAUTH_CLIENT_ADDRESS_HEADER": "x-forwarded-for"},
            "needs NEXTAUTH_TRUSTED_PROXY_COUNT",
        ),
        (
            {
                "NEXTAUTH_CLIENT_ADDRESS_HEADER": "x-forwarded-for",
                "NEXTAUTH_TRUSTED_PROXY_COUNT": "0",
            },
            "needs NEXTAUTH_TRUSTED_PROXY_COUNT",
        ),
        ({"NEXTAUTH_CLIENT_ADDRESS_HEADER": "x real ip"}, "must be a header name"),
    ],
)
def test_a_client_address_setting_that_cannot_work_stops_next_start(
    nextjs_build: float, env: dict[str, str], reason: str
) -> None:
    from tests.nextjs_app import nextjs_start_failure

    result = nextjs_start_failure(
        {"NEXTAUTH_SECRET": SECRET, "NEXTAUTH_URL": "http://127.0.0.1:3000", **env}
    )
    assert result.returncode != 0
    assert reason in result.stdout + result.stderr
