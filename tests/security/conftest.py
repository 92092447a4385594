"""The attack suite's deployment and its leak guard.

Every test here runs with the middleware installed and DRF configured as the README
documents, and under a leak guard: every log record and every response produced
during the test is collected, and the test fails if a configured secret or any
token the test sent shows up in a log line, an error body or a response header.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
from django.core.cache import caches
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase

from django_nextauth_jwt.conf import app_settings
from tests import forge, request_helpers
from tests.security.helpers import INPUTS

#: Shorter values are too common to be a finding (a cookie "1", a code "42").
MIN_WATCHED = 16
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9_.-]+")

#: Secrets every test of this suite may use; each is watched in every test.
KNOWN_SECRETS = (forge.SECRET, forge.OTHER_SECRET, request_helpers.SECRET)


class _Collector(logging.Handler):
    def __init__(self, guard: LeakGuard) -> None:
        super().__init__(logging.DEBUG)
        self.guard = guard
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # format() adds the traceback text: exception messages are checked too.
        self.guard.log_lines.add(self.format(record))


class LeakGuard:
    """Collects what a test logged and answered; :meth:`scan` lists every leak found."""

    def __init__(self) -> None:
        self.secrets: set[str] = set(KNOWN_SECRETS)
        self.tokens: set[str] = set()
        self.log_lines: set[str] = set()
        self.error_texts: set[str] = set()
        self.findings: list[str] = []

    # -- what must not leak -------------------------------------------------- #

    def watch_secret(self, *values: str) -> None:
        """Add secrets (a PEM used as a key, a rotated secret) to what must never appear."""
        self.secrets.update(v for v in values if v)

    def watch_token(self, *values: str) -> None:
        """Add tokens (and their long segments) to what must never appear in logs or errors."""
        for value in values:
            for form in {value, unquote(value)}:
                self.tokens.update(f for f in (form, *form.split(".")) if _token_like(f))

    def _configured_secrets(self) -> set[str]:
        found = set(app_settings.SECRETS)
        if len(found) > 1:
            found.add(",".join(app_settings.SECRETS))
        return found

    # -- what was produced ---------------------------------------------------- #

    def record_response(self, request: HttpRequest, response: HttpResponseBase) -> None:
        """Check one response against the request's own tokens now; keep error texts for later."""
        offered = _offered_values(request)
        self.watch_token(*offered)
        body = b"" if getattr(response, "streaming", False) else response.content  # type: ignore[attr-defined]
        text = body.decode("utf-8", "replace")
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        cookies = "\n".join(m.OutputString() for m in response.cookies.values())
        self.secrets.update(self._configured_secrets())
        for secret in self.secrets:
            if secret in text or secret in headers or secret in cookies:
                self.findings.append(f"secret in the response to {request.path}")
        # Only tokens this request offered: a sign-in legitimately answers with a new one.
        challenge = response.get("WWW-Authenticate", "")
        for token in _long_forms(offered):
            if token in text or token in challenge:
                self.findings.append(f"the request's token echoed by {request.path}")
        if response.status_code >= 400:
            self.error_texts.add(text + "\n" + headers)

    def scan(self) -> list[str]:
        """Every finding: echoes seen so far, then secrets and tokens in logs and error bodies."""
        findings = list(self.findings)
        self.secrets.update(self._configured_secrets())
        watched = self.secrets | self.tokens
        for line in self.log_lines:
            leaked = [w for w in watched if w in line]
            for value in leaked:
                findings.append(f"log line leaks {_hint(value)}: {_redact(line, leaked)[:160]!r}")
        for text in self.error_texts:
            findings.extend(f"error body leaks {_hint(w)}" for w in watched if w in text)
        return findings

    def forget(self) -> None:
        """Drop what was collected (for the guard's own self-test, after a planted leak)."""
        self.log_lines.clear()
        self.error_texts.clear()
        self.findings.clear()


def _hint(value: str) -> str:
    # Name a finding without printing the secret itself into the test report.
    return f"a watched value of {len(value)} chars starting {value[:4]!r}"


def _redact(text: str, values: list[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "<redacted>")
    return text


def _token_like(value: str) -> bool:
    """Base64url text with the entropy of key material, not a word a message could hold.

    Random input (the property tests' cookies) may hold "Token is invalid" or
    "application/json" by chance; the error body holding it too is not a leak.
    """
    return (
        len(value) >= MIN_WATCHED
        and _TOKEN_TEXT.fullmatch(value) is not None
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def _long_forms(values: list[str]) -> set[str]:
    forms: set[str] = set()
    for value in values:
        forms.update(f for f in (value, unquote(value)) if _token_like(f))
    return forms


def _offered_values(request: HttpRequest) -> list[str]:
    values: list[str] = []
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if isinstance(authorization, str):
        values.append(authorization)
        values.extend(authorization.split())
    values.extend(v for v in request.COOKIES.values() if isinstance(v, str))
    values.extend(v for _, v in parse_qsl(request.META.get("QUERY_STRING", "")))
    return values


@pytest.fixture(autouse=True)
def leak_guard(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LeakGuard]:
    """Fail the test if a secret or a token it used reaches a log line or an error response."""
    guard = LeakGuard()
    get_response = BaseHandler.get_response
    get_response_async = BaseHandler.get_response_async

    def recorded(self: BaseHandler, request: HttpRequest) -> HttpResponseBase:
        response = get_response(self, request)
        guard.record_response(request, response)
        return response

    async def recorded_async(self: BaseHandler, request: HttpRequest) -> HttpResponseBase:
        response = await get_response_async(self, request)
        guard.record_response(request, response)
        return response

    monkeypatch.setattr(BaseHandler, "get_response", recorded)
    monkeypatch.setattr(BaseHandler, "get_response_async", recorded_async)
    root = logging.getLogger()
    handler = _Collector(guard)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield guard
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    findings = guard.scan()
    assert not findings, "\n".join(sorted(set(findings)))


@pytest.fixture(autouse=True)
def _deployment(settings: Any) -> None:
    """The documented deployment: DRF's exception handler, the middleware after Django's auth."""
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler"
    }
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, request_helpers.MIDDLEWARE]
    settings.NEXTAUTH_PROTECTED_PATHS = ["/private/", "/api/plain/"]
    # Throttle counters and the deny-list live in the local-memory cache: start clean.
    caches["default"].clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under xdist, a worker hands its input counts to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["attack_suite_inputs"] = dict(INPUTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller adds up the workers' input counts (``make fuzz`` runs under xdist)."""
    INPUTS.update(getattr(node, "workeroutput", {}).get("attack_suite_inputs", {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """After a property run: how many inputs each property tried (``make fuzz`` reports this)."""
    if not INPUTS:
        return
    terminalreporter.section("attack-suite fuzz inputs")
    for name, count in sorted(INPUTS.items()):
        terminalreporter.write_line(f"{name}: {count:,} inputs")
    terminalreporter.write_line(f"total: {sum(INPUTS.values()):,} inputs")
