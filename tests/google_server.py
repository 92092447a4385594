"""A local stand-in for Google's OAuth 2.0 token and userinfo endpoints, over real HTTP.

``GoogleStandIn`` plays Google's three roles:

* consent: :meth:`GoogleStandIn.consent` reads the authorization URL our
  sign-in view redirected to and issues a single-use code bound to its
  ``client_id`` and ``redirect_uri``, as Google does when the user clicks
  "Continue";
* ``POST /o/oauth2/token``: exchanges that code, checking ``grant_type``, the
  code, the client credentials and the ``redirect_uri``, for an access token;
* ``GET /oauth2/v3/userinfo``: answers the ``Bearer`` access token with
  :attr:`GoogleStandIn.profile`.

Every request it receives is recorded, so tests can assert that the token
exchange really happened (or never did). It listens on 127.0.0.1, port 0, in a
daemon thread: each pytest-xdist worker gets its own.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "test-client-id.apps.googleusercontent.com"
CLIENT_SECRET = "test-client-secret"  # the values of tests/settings.py
TOKEN_PATH = "/o/oauth2/token"
USERINFO_PATH = "/oauth2/v3/userinfo"
AUTH_PATH = "/o/oauth2/auth"


def default_profile() -> dict[str, Any]:
    """A verified Google account, as ``/oauth2/v3/userinfo`` describes it."""
    return {
        "sub": "109876543210987654321",
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "picture": "https://lh3.googleusercontent.com/a/ada",
    }


@dataclass(frozen=True)
class Recorded:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class Grant:
    """An authorization code Google issued at consent, and what it is bound to."""

    client_id: str
    redirect_uri: str


@dataclass
class GoogleStandIn:
    """The stand-in's state: issued codes and tokens, the profile, the request log."""

    profile: dict[str, Any] = field(default_factory=default_profile)
    # When set, the token endpoint answers every exchange with this (status, body).
    token_failure: tuple[int, dict[str, Any]] | None = None
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        """Forget every code, token and request; back to the default profile."""
        with self.lock:
            self.profile = default_profile()
            self.token_failure = None
            self.codes.clear()
            self.access_tokens.clear()
            self.requests.clear()

    def consent(self, authorization_url: str) -> dict[str, str]:
        """Play the user granting consent: the query Google sends back to ``redirect_uri``.

        Checks that the authorization request is addressed to this stand-in
        with our client id, then issues a fresh code bound to its redirect URI.
        """
        parts = urlsplit(authorization_url)
        assert f"{parts.scheme}://{parts.netloc}" == self.url
        assert parts.path == AUTH_PATH
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        assert query["client_id"] == CLIENT_ID
        assert query["response_type"] == "code"
        code = f"4/{secrets.token_urlsafe(24)}"
        with self.lock:
            self.codes[code] = Grant(query["client_id"], query["redirect_uri"])
        return {"code": code, "state": query["state"]}

    def calls(self, path: str) -> list[Recorded]:
        """The recorded requests to ``path``."""
        with self.lock:
            return [r for r in self.requests if r.path == path]

    # Endpoints: each returns (status, JSON body, extra headers).

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """``POST /o/oauth2/token`` with ``grant_type=authorization_code``."""
        with self.lock:
            if self.token_failure is not None:
                status, body = self.token_failure
                return status, body, {}
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return 401, {"error": "invalid_client"}, {}
            if form.get("grant_type") != "authorization_code":
                return 400, {"error": "unsupported_grant_type"}, {}
            # Codes are single use: pop, so a replayed code is invalid_grant.
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant.client_id != form["client_id"]:
                return 400, {"error": "invalid_grant", "error_description": "Bad code."}, {}
            if form.get("redirect_uri") != grant.redirect_uri:
                return 400, {"error": "redirect_uri_mismatch"}, {}
            access_token = f"ya29.{secrets.token_urlsafe(32)}"
            self.access_tokens.add(access_token)
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 3599}
        return 200, body, {"Cache-Control": "no-store"}

    def userinfo(self, authorization: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        """``GET /oauth2/v3/userinfo`` with ``Authorization: Bearer <access token>``."""
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            if scheme != "Bearer" or token not in self.access_tokens:
                return 401, {"error": "invalid_token"}, {"WWW-Authenticate": "Bearer"}
            return 200, dict(self.profile), {}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, form: dict[str, str]) -> None:
        standin = self.server.standin
        recorded = Recorded(self.command, urlsplit(self.path).path, dict(self.headers), form)
        with standin.lock:
            standin.requests.append(recorded)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        self._record(form)
        if urlsplit(self.path).path != TOKEN_PATH:
            self._answer(404, {"error": "not_found"}, {})
            return
        if self.headers.get_content_type() != "application/x-www-form-urlencoded":
            self._answer(400, {"error": "invalid_request"}, {})
            return
        self._answer(*self.server.standin.exchange(form))

    def do_GET(self) -> None:
        self._record({})
        if urlsplit(self.path).path != USERINFO_PATH:
            self._answer(404, {"error": "not_found"}, {})
            return
        self._answer(*self.server.standin.userinfo(self.headers.get("Authorization", "")))

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: GoogleStandIn


class RunningStandIn:
    """The stand-in served on 127.0.0.1 (port 0) in a daemon thread until :meth:`close`."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        host, port = self.server.server_address[:2]
        self.standin = GoogleStandIn(url=f"http://{host!s}:{port}")
        self.server.standin = self.standin
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
