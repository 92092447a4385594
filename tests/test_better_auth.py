"""Better Auth's session cookie cache as Django's identity, against the real better-auth 1.7.

A real Better Auth server (``tests/interop/betterauth/server.mjs``, from its committed lockfile)
signs people up with email and password, in each cookie-cache strategy (compact, jwt, jwe), and
the cookies it sets go to Django: the DRF class, the middleware, database mode, a Bearer copy,
chunked cookies. Tampered, expired, rotated-out and other-secret cookies are refused with stable
codes, a Django sign-out refuses the session's later cookies too, and the compact strategy's
re-serialised JSON is checked against Better Auth's own code (``cookie-tool.mjs``) on hostile
values.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from django_nextauth_jwt import JWTAuth, diagnostics
from django_nextauth_jwt.checks import check_settings
from django_nextauth_jwt.jose import betterauth
from django_nextauth_jwt.policy import policy
from tests.conftest import require
from tests.servers import django_server, free_port, running

pytestmark = pytest.mark.node

BETTER_AUTH = Path(__file__).parent / "interop" / "betterauth"
SECRET = "better-auth-test-secret-0123456789-abcdefghij"  # server.mjs's default
OLD = "better-auth-old-secret-0123456789-abcdefghijkl"
NEW = "better-auth-new-secret-0123456789-abcdefghijkl"
OTHER = "someone-elses-better-auth-secret-0123456789-xyz"
PASSWORD = "correct horse battery staple"
COOKIE = "better-auth.session_data"
STRATEGIES = betterauth.STRATEGIES


def installed() -> bool:
    return shutil.which("node") is not None and (BETTER_AUTH / "node_modules").is_dir()


class BetterAuth:
    """A running Better Auth server with its cookie cache on."""

    def __init__(self, base: str) -> None:
        self.base = base

    def request(
        self, path: str, body: Any = None, cookies: dict[str, str] | None = None
    ) -> tuple[Any, dict[str, str]]:
        """Call the handler; its JSON answer and the cookies it set (deletions as "")."""
        headers = {"Origin": self.base}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.base}{path}", data=data, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            jar: SimpleCookie = SimpleCookie()
            for value in response.headers.get_all("Set-Cookie") or []:
                jar.load(value)
            return json.loads(response.read() or b"null"), {k: m.value for k, m in jar.items()}

    def sign_up(self, name: str = "Ada") -> tuple[dict[str, str], dict[str, Any]]:
        """A new person signs up (and is signed in): the cookies set, and the user."""
        email = f"U-{uuid.uuid4().hex[:12]}@Example.com"
        body = {"email": email, "password": PASSWORD, "name": name}
        user, cookies = self.request("/api/auth/sign-up/email", body)
        return cookies, user["user"]

    def verify_email(self, email: str) -> None:
        """What the person's click on a verification link does (the test server's own route)."""
        query = urllib.parse.quote(email)
        self.request(f"/test/verify-email?email={query}", body={})

    def sign_in(self, email: str) -> dict[str, str]:
        """Sign in again with email and password: the new cookies."""
        _, cookies = self.request("/api/auth/sign-in/email", {"email": email, "password": PASSWORD})
        return cookies


_servers: dict[tuple[str, ...], BetterAuth] = {}


@pytest.fixture(scope="module")
def servers() -> Iterator[Any]:
    """``servers(strategy, secrets=None)``: one Better Auth server per configuration."""
    require(installed(), "node and tests/interop/betterauth/node_modules (make install)")
    with contextlib.ExitStack() as stack:

        def start(
            strategy: str, secrets: str | None = None, role: str = "editor", signout: str = ""
        ) -> BetterAuth:
            key = (strategy, secrets or "", role, signout)
            if key not in _servers:
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                env = {
                    "PORT": str(port),
                    "BETTER_AUTH_URL": base,
                    "BETTER_AUTH_COOKIE_CACHE": strategy,
                    "BETTER_AUTH_SECRETS": secrets or "",
                    "BETTER_AUTH_ROLE": role,
                    "DJANGO_SIGNOUT_URL": signout,
                }
                stack.enter_context(
                    running(["node", "server.mjs"], f"{base}/healthz", cwd=BETTER_AUTH, env=env)
                )
                _servers[key] = BetterAuth(base)
            return _servers[key]

        try:
            yield start
        finally:
            _servers.clear()


class CookieTool:
    """``cookie-tool.mjs``: Better Auth's own cookie-cache functions, one JSON line at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", "cookie-tool.mjs"],
            cwd=BETTER_AUTH,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def call(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        with self.lock:
            request_id = next(self.ids)
            self.proc.stdin.write(json.dumps({"id": request_id, "op": op, **args}) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self.proc.stdout.readline())
        assert reply["id"] == request_id
        assert reply["ok"], reply["error"]
        return reply["result"]


@pytest.fixture(scope="module")
def tool() -> Iterator[CookieTool]:
    require(installed(), "node and tests/interop/betterauth/node_modules (make install)")
    cookie_tool = CookieTool()
    try:
        yield cookie_tool
    finally:
        assert cookie_tool.proc.stdin is not None
        cookie_tool.proc.stdin.close()
        cookie_tool.proc.wait(timeout=10)
        if cookie_tool.proc.stdout is not None:
            cookie_tool.proc.stdout.close()


def reads(settings: Any, strategy: str, **extra: Any) -> None:
    """This Django service reads Better Auth's cookie cache (beside its own jws sessions)."""
    settings.NEXTAUTH_BETTER_AUTH_STRATEGY = strategy
    settings.NEXTAUTH_BETTER_AUTH_SECRET = SECRET
    for name, value in extra.items():
        setattr(settings, f"NEXTAUTH_BETTER_AUTH_{name}", value)


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items() if v)


def get(path: str, cookies: dict[str, str]) -> Any:
    return Client().get(path, HTTP_COOKIE=cookie_header(cookies))


def refused(response: Any) -> str:
    assert response.status_code == 401, response.content
    assert "WWW-Authenticate" in response
    return str(response.json()["code"])


# -- accepted ----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategys_cookie_signs_in_on_drf_and_the_middleware(
    servers: Any, settings: Any, strategy: str
) -> None:
    cookies, user = servers(strategy).sign_up(name='Zoë "Ada" \\ 李')
    assert COOKIE in cookies, cookies
    reads(settings, strategy)
    assert [m.id for m in check_settings()] == []
    drf = get("/api/me/", cookies)
    assert drf.status_code == 200, drf.content
    assert drf.json()["id"] == user["id"]
    claims = drf.json()["claims"]
    assert (claims["sub"], claims["email"], claims["name"], claims["role"]) == (
        user["id"],
        user["email"],
        'Zoë "Ada" \\ 李',
        "editor",
    )
    assert isinstance(claims["sid"], str)
    assert claims["exp"] - claims["iat"] in (299, 300, 301)  # the cache's five minutes
    page = get("/private/page/", cookies)
    assert page.status_code == 200, page.content
    # Only the cookie cache counts: Better Auth's session_token alone is no identity here.
    alone = {k: v for k, v in cookies.items() if k != COOKIE}
    assert refused(get("/api/me/", alone)) == "token_missing"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_bearer_copy_of_the_cookie_is_accepted(
    servers: Any, settings: Any, strategy: str
) -> None:
    cookies, user = servers(strategy).sign_up()
    reads(settings, strategy)
    response = Client().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {cookies[COOKIE]}")
    assert (response.status_code, response.json()["id"]) == (200, user["id"])


@pytest.mark.db
@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_database_mode_provisions_and_finds_the_better_auth_user_by_email(
    servers: Any, settings: Any, strategy: str
) -> None:
    server = servers(strategy)
    _, user = server.sign_up()
    server.verify_email(user["email"])
    cookies = server.sign_in(user["email"])  # a cookie cache that says the address is verified
    reads(settings, strategy)
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    settings.NEXTAUTH_PROVISION_USERS = True
    first = get("/api/me/", cookies)
    assert first.status_code == 200, first.content
    assert first.json()["user_class"] == get_user_model().__name__
    row = get_user_model().objects.get(email=user["email"])
    assert get("/api/me/", cookies).json()["id"] == str(row.pk)


@pytest.mark.django_db
@pytest.mark.db
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_signing_up_with_a_staff_members_address_does_not_take_over_their_account(
    servers: Any, settings: Any, strategy: str
) -> None:
    # Better Auth signs people up (and in) before they verify their address, by default. In
    # database mode by email, such a session must not name the Django row of that address.
    server = servers(strategy)
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    staff = get_user_model().objects.create_user(
        email.split("@", maxsplit=1)[0], email=email, is_staff=True
    )
    body = {"email": email, "password": PASSWORD, "name": "Mallory"}
    _, cookies = server.request("/api/auth/sign-up/email", body)
    reads(settings, strategy)
    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    settings.NEXTAUTH_PROVISION_USERS = True
    assert refused(get("/api/me/", cookies)) == "user_not_found"
    # Once the address is proved (the verification link), the same person is that row.
    server.verify_email(email)
    response = get("/api/me/", server.sign_in(email))
    assert (response.status_code, response.json()["id"]) == (200, str(staff.pk))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_chunked_cookie_cache_is_reassembled(servers: Any, settings: Any, strategy: str) -> None:
    cookies, user = servers(strategy).sign_up(name="n" * 5000)  # past one cookie's 4 kB
    assert COOKIE not in cookies
    assert {f"{COOKIE}.0", f"{COOKIE}.1"} <= set(cookies)
    reads(settings, strategy)
    response = get("/api/me/", cookies)
    assert (response.status_code, response.json()["id"]) == (200, user["id"])


def test_the_secure_prefixed_cookie_is_read_on_an_https_site(servers: Any, settings: Any) -> None:
    cookies, user = servers("compact").sign_up()
    reads(settings, "compact")
    settings.NEXTAUTH_SECURE_COOKIE = True
    secure = {f"__Secure-{k}": v for k, v in cookies.items()}
    response = get("/api/me/", secure)
    assert (response.status_code, response.json()["id"]) == (200, user["id"])
    # On an https site the unprefixed name is not read: any page of the site could set it.
    assert refused(get("/api/me/", cookies)) == "token_missing"


# -- refused -----------------------------------------------------------------------------------


def _flip(value: str, at: int) -> str:
    return value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1 :]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_tampered_cookie_is_refused(servers: Any, settings: Any, strategy: str) -> None:
    cookies, _ = servers(strategy).sign_up()
    reads(settings, strategy)
    value = cookies[COOKIE]
    if strategy == "compact":
        outer = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        outer["session"]["user"]["role"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps(outer).encode()).decode().rstrip("=")
    elif strategy == "jwt":
        head, body, signature = value.split(".")
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        payload["user"]["role"] = "admin"
        raw = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        forged = f"{head}.{raw}.{signature}"
    else:
        head, key, iv, ciphertext, tag = value.split(".")
        forged = ".".join((head, key, iv, _flip(ciphertext, 5), tag))
    assert refused(get("/api/me/", {COOKIE: forged})) == "token_invalid"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_cookie_of_another_better_auth_secret_is_refused(
    servers: Any, settings: Any, strategy: str, caplog: pytest.LogCaptureFixture
) -> None:
    cookies, _ = servers(strategy).sign_up()
    reads(settings, strategy, SECRET=OTHER)
    diagnostics.reset()
    assert refused(get("/api/me/", cookies)) == "token_invalid"
    # The log line names Better Auth's secret, not NEXTAUTH_SECRET.
    (line,) = [r.getMessage() for r in caplog.records if r.name.endswith("diagnostics")]
    assert "NEXTAUTH_BETTER_AUTH_SECRET" in line
    assert "NEXTAUTH_SECRET differs" not in line
    assert cookies[COOKIE][:40] not in caplog.text


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_expired_cookie_cache_is_refused(
    servers: Any, settings: Any, strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookies, _ = servers(strategy).sign_up()
    reads(settings, strategy)
    assert get("/api/me/", cookies).status_code == 200
    later = time.time() + 300 + policy().leeway + 1  # past the cache's five minutes
    monkeypatch.setattr(time, "time", lambda: later)
    assert refused(get("/api/me/", cookies)) == "token_expired"


def test_the_embedded_sessions_own_expiry_is_enforced(
    servers: Any, settings: Any, tool: CookieTool
) -> None:
    """A cookie whose cache is fresh but whose session ended: refused, as Better Auth does."""
    cookies, _ = servers("compact").sign_up()
    value = cookies[COOKIE]
    outer = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    outer["session"]["session"]["expiresAt"] = "2020-01-01T00:00:00.000Z"
    outer["signature"] = "?"
    expired = tool.call("signCompact", text=json.dumps(outer, separators=(",", ":")), secret=SECRET)
    assert (
        tool.call(
            "getCookieCache",
            cookie=f"{COOKIE}={expired}",
            secret=SECRET,
            strategy="compact",
            isSecure=False,
            version=None,
        )
        is None
    )
    reads(settings, "compact")
    assert refused(get("/api/me/", {COOKIE: expired})) == "token_expired"
    # The same cookie with the session's expiry untouched is accepted: only that differs.
    outer["session"]["session"]["expiresAt"] = "2099-01-01T00:00:00.000Z"
    fresh = tool.call("signCompact", text=json.dumps(outer, separators=(",", ":")), secret=SECRET)
    assert get("/api/me/", {COOKIE: fresh}).status_code == 200


def test_a_cookie_of_another_cache_version_is_refused(servers: Any, settings: Any) -> None:
    cookies, _ = servers("jwe").sign_up()
    reads(settings, "jwe", VERSION="2")
    assert refused(get("/api/me/", cookies)) == "token_claims_invalid"


# -- secret rotation (BETTER_AUTH_SECRETS) -----------------------------------------------------


def test_jwe_cookies_of_every_listed_version_decrypt_and_a_dropped_one_is_refused(
    servers: Any, settings: Any
) -> None:
    before, user = servers("jwe", secrets=f"1:{OLD}").sign_up()
    after, _ = servers("jwe", secrets=f"2:{NEW},1:{OLD}").sign_up()
    reads(settings, "jwe", SECRET=None, SECRETS=f"2:{NEW},1:{OLD}")
    assert [m.id for m in check_settings()] == []
    assert get("/api/me/", before).json()["id"] == user["id"]
    assert get("/api/me/", after).status_code == 200
    reads(settings, "jwe", SECRET=None, SECRETS=[(2, NEW)])  # version 1 retired
    assert refused(get("/api/me/", before)) == "token_invalid"
    assert get("/api/me/", after).status_code == 200


@pytest.mark.parametrize("strategy", ["compact", "jwt"])
def test_signed_strategies_verify_with_the_current_version_only_as_better_auth_does(
    servers: Any, settings: Any, strategy: str
) -> None:
    before, _ = servers(strategy, secrets=f"1:{OLD}").sign_up()
    after, _ = servers(strategy, secrets=f"2:{NEW},1:{OLD}").sign_up()
    reads(settings, strategy, SECRET=None, SECRETS=f"2:{NEW},1:{OLD}")
    assert get("/api/me/", after).status_code == 200
    # Better Auth itself refuses this cache after the rotation (and re-issues it).
    assert refused(get("/api/me/", before)) == "token_invalid"


# -- sign-out ----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_django_sign_out_refuses_the_sessions_later_cookies_too(
    servers: Any, settings: Any, strategy: str
) -> None:
    server = servers(strategy)
    cookies, user = server.sign_up()
    reads(settings, strategy)
    signout = Client().post("/api/auth/signout", HTTP_COOKIE=cookie_header(cookies))
    assert signout.status_code < 400, signout.content
    assert refused(get("/api/me/", cookies)) == "token_revoked"
    # Better Auth re-issues the cache (the same session) from its database: still refused.
    _, renewed = server.request(
        "/api/auth/get-session?disableCookieCache=true",
        cookies={k: v for k, v in cookies.items() if k != COOKIE},
    )
    assert renewed.get(COOKIE) not in (None, "", cookies[COOKIE])
    assert refused(get("/api/me/", {COOKIE: renewed[COOKIE]})) == "token_revoked"
    # A new sign-in is a new session: accepted.
    again = server.sign_in(user["email"])
    assert get("/api/me/", again).status_code == 200


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_better_auth_sign_out_is_refused_at_django_at_once(servers: Any, strategy: str) -> None:
    """django-signout.mjs posts the deleted session to Django's sign-out: no five-minute wait.

    Django runs as its own server (its deny-list in its own process), Better Auth with the hook.
    """
    env = {"TEST_BETTER_AUTH_STRATEGY": strategy, "TEST_BETTER_AUTH_SECRET": SECRET}
    with django_server("tests.settings_better_auth", env) as django:
        server = servers(strategy, signout=f"{django}/api/auth/signout")

        def me(cookies: dict[str, str]) -> tuple[int, Any]:
            request = urllib.request.Request(  # noqa: S310 - loopback only
                f"{django}/api/me/", headers={"Cookie": cookie_header(cookies)}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())["code"]

        cookies, user = server.sign_up()
        assert me(cookies)[0] == 200
        server.request("/api/auth/sign-out", {}, cookies=cookies)
        assert me(cookies) == (401, "token_revoked")
        # revoke-session: one of the person's sessions ends another; Django refuses it too.
        first = server.sign_in(user["email"])
        second = server.sign_in(user["email"])
        sessions, _ = server.request("/api/auth/list-sessions", cookies=first)
        mine = first["better-auth.session_token"].split(".")[0]
        (other,) = {s["token"] for s in sessions} - {mine}
        assert me(second)[0] == 200
        server.request("/api/auth/revoke-session", {"token": other}, cookies=first)
        assert me(second) == (401, "token_revoked")
        assert me(first)[0] == 200


# -- the compact MAC's re-serialisation, against Better Auth's own code ------------------------

HOSTILE_EXTRAS = [
    '"10":1,"2":2,"b":3,"a":4,"01":5,"4294967294":6,"4294967295":7,"-1":8',
    '"n":[1.0,1e21,1e-7,-0,123456789012345678901234567890,0.1,5e-324,1e400,1E2,2.50]',
    '"s":"\\u00e9\\ud800\\udc00\\ud800\\u2028\\u007f\\u0000\\"\\\\\\/\\b\\f\\n\\r\\t\\u001f"',
    '"é":"李","\\u0061":"escaped key","emoji":"😀"',
    '"dup":1,"dup":2,"x":{"dup":[1],"dup":{"deep":true}}',
    '"__proto__":{"admin":true},"nested":{"__proto__":{"a":1},"1":0}',
    '"constructor":{"prototype":1},"toString":null,"big":9007199254740993',
    '"tiny":1e-400,"neg":-1.5e-10,"exp":1.5e+300,"int":12345678901234567890123',
]


def _genuine_outer(servers: Any) -> dict[str, Any]:
    cookies, _ = servers("compact").sign_up()
    value = cookies[COOKIE]
    return dict(json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))))


@pytest.mark.parametrize("extra", HOSTILE_EXTRAS, ids=range(len(HOSTILE_EXTRAS)))
def test_the_compact_signing_input_is_better_auths_own_on_hostile_values(
    servers: Any, tool: CookieTool, settings: Any, extra: str
) -> None:
    outer = _genuine_outer(servers)
    inner = json.dumps(outer["session"], ensure_ascii=False)
    # The hostile members go inside the signed session object, as raw JSON text.
    text = (
        '{"session":'
        + inner[:-1]
        + ","
        + extra
        + '},"expiresAt":'
        + json.dumps(outer["expiresAt"])
        + ',"signature":"?"}'
    )
    parsed = betterauth.js_parse(text)
    ours = betterauth.compact_signing_input(parsed["session"], parsed["expiresAt"])
    assert ours.decode("utf-8") == tool.call("reserialize", text=text)
    cookie = tool.call("signCompact", text=text, secret=SECRET)
    theirs = tool.call(
        "getCookieCache",
        cookie=f"{COOKIE}={cookie}",
        secret=SECRET,
        strategy="compact",
        isSecure=False,
        version=None,
    )
    assert theirs is not None  # Better Auth accepts it...
    reads(settings, "compact")
    claims = JWTAuth.verify(cookie)  # ...and so does Django, with the same identity
    assert (claims["sub"], claims["sid"]) == (theirs["user"]["id"], theirs["session"]["id"])


def test_a_signature_over_the_raw_text_instead_of_the_reserialisation_is_refused(
    servers: Any, tool: CookieTool, settings: Any
) -> None:
    """Two spellings of one value share a MAC; a different value does not."""
    outer = _genuine_outer(servers)
    inner = json.dumps(outer["session"], ensure_ascii=False)
    spelled = '"n":1.0,"s":"\\u0061"'
    text = (
        '{"session":'
        + inner[:-1]
        + ","
        + spelled
        + '},"expiresAt":'
        + json.dumps(outer["expiresAt"])
        + ',"signature":"?"}'
    )
    cookie = tool.call("signCompact", text=text, secret=SECRET)
    raw = json.loads(base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4)))
    signature = raw["signature"]
    reads(settings, "compact")
    respelled = text.replace(spelled, '"n":1,"s":"a"').replace('"?"', f'"{signature}"')
    changed = text.replace(spelled, '"n":2,"s":"a"').replace('"?"', f'"{signature}"')
    for body, accepted in ((respelled, True), (changed, False)):
        candidate = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        theirs = tool.call(
            "getCookieCache",
            cookie=f"{COOKIE}={candidate}",
            secret=SECRET,
            strategy="compact",
            isSecure=False,
            version=None,
        )
        assert (theirs is not None) is accepted
        result = JWTAuth.authenticate_token(candidate)
        assert result.success is accepted, result.error
        if not accepted:
            assert result.error == "token_invalid"


# -- checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"NEXTAUTH_BETTER_AUTH_STRATEGY": "cookie"}, "nextauth_jwt.E060"),
        ({"NEXTAUTH_BETTER_AUTH_SECRET": "short"}, "nextauth_jwt.E061"),
        (
            {"NEXTAUTH_BETTER_AUTH_SECRET": None, "NEXTAUTH_BETTER_AUTH_SECRETS": "2-new"},
            "nextauth_jwt.E061",
        ),
        ({"NEXTAUTH_BETTER_AUTH_SECRETS": f"1:{NEW},1:{OLD}"}, "nextauth_jwt.E061"),
        ({"NEXTAUTH_ISSUER": "https://app.example.com"}, "nextauth_jwt.E062"),
        ({"NEXTAUTH_BETTER_AUTH_COOKIE_PREFIX": "my app"}, "nextauth_jwt.E063"),
        ({"NEXTAUTH_BETTER_AUTH_VERSION": ""}, "nextauth_jwt.E063"),
    ],
)
def test_better_auth_misconfiguration_is_a_check_error(
    settings: Any, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any], check_id: str
) -> None:
    for name in ("BETTER_AUTH_SECRET", "BETTER_AUTH_SECRETS", "AUTH_SECRET"):
        monkeypatch.delenv(name, raising=False)
    reads(settings, "compact")
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert [m.id for m in check_settings()] == [check_id]
    with pytest.raises(Exception, match=check_id.split(".")[1]):
        policy()


def test_without_a_secret_anywhere_better_auth_is_e061(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BETTER_AUTH_SECRET", "BETTER_AUTH_SECRETS", "AUTH_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings.NEXTAUTH_BETTER_AUTH_STRATEGY = "jwe"
    assert [m.id for m in check_settings()] == ["nextauth_jwt.E061"]
    monkeypatch.setenv("BETTER_AUTH_SECRET", SECRET)
    assert [m.id for m in check_settings()] == []


# -- the documented configuration --------------------------------------------------------------

DOC = Path(__file__).resolve().parent.parent / "docs" / "better-auth.md"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_documented_django_block_reads_each_strategy(
    servers: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    blocks = DOC.read_text().split("```python\n")[1:]
    assert len(blocks) == 1
    block = blocks[0].split("```", 1)[0]
    assert 'NEXTAUTH_BETTER_AUTH_STRATEGY = "compact"' in block
    monkeypatch.setenv("BETTER_AUTH_SECRET", SECRET)
    namespace: dict[str, Any] = {"os": __import__("os")}
    exec(block.replace('"compact"', f'"{strategy}"', 1), namespace)  # noqa: S102 - the doc
    for name, value in namespace.items():
        if name.startswith("NEXTAUTH_"):
            setattr(settings, name, value)
    assert [m.id for m in check_settings()] == []
    cookies, user = servers(strategy).sign_up()
    response = get("/api/me/", cookies)
    assert (response.status_code, response.json()["id"]) == (200, user["id"])
