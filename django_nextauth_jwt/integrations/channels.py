"""Django Channels: ``NextAuthChannelsMiddleware``, the request path for ``websocket`` and ``http``.

Wrap the URL router in ``asgi.py``::

    from django_nextauth_jwt.integrations.channels import NextAuthChannelsMiddleware

    application = ProtocolTypeRouter({
        "http": django_asgi_app,
        "websocket": NextAuthChannelsMiddleware(URLRouter(websocket_urlpatterns)),
    })

The middleware puts the same user as the HTTP path into ``scope["user"]`` (``AnonymousUser``
when no token is offered) and the :class:`~django_nextauth_jwt.tokens.AuthResult` into
``scope["nextauth"]``. A handshake offers its token one way:

* the NextAuth session cookie (chunks too): what a same-site browser sends by itself. Such a
  handshake must come from the socket's own origin or one of ``NEXTAUTH_WEBSOCKET_ORIGINS``,
  else it is closed with :data:`CLOSE_ORIGIN` (4403) before the consumer runs: a page on
  another site cannot open a socket in the visitor's name (cross-site WebSocket hijacking);
* ``Authorization: Bearer <token>`` (non-browser clients);
* a ``Sec-WebSocket-Protocol`` entry ``nextauth.bearer.<token>`` beside the application's own
  protocol (a browser's only way to send a token cross-site): the entry is taken out of
  ``scope["subprotocols"]``, and the answer selects the application's protocol, never the token;
* ``?access_token=<token>`` only with ``NEXTAUTH_WEBSOCKET_QUERY_TOKEN = True``: query strings
  end up in access logs, proxies' logs and browser history.

A token offered and refused closes the handshake with :data:`CLOSE_UNAUTHORIZED` (4401), the
stable error code as the close reason, before the consumer runs. An accepted socket is closed
with 4401 when its token expires (``exp`` plus ``NEXTAUTH_LEEWAY``, as the HTTP path counts
it; ``session_too_old`` when ``NEXTAUTH_SESSION_MAX_LIFETIME`` ends the session first) and as
soon as its session or its person is revoked: the deny-list tells the process
(:func:`~django_nextauth_jwt.state.store.watch_revocations`: the embedded store on each write,
with Redis the local view on each entry pub/sub brings), and only the sockets that write names
are verified again. Nothing is polled and nothing runs per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from channels.db import database_sync_to_async
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from django_nextauth_jwt import lifetime
from django_nextauth_jwt.conf import app_settings, derived
from django_nextauth_jwt.exceptions import (
    InvalidToken,
    RevocationUnavailable,
    SessionTooOld,
    TokenAmbiguous,
    TokenExpired,
    TokenMissing,
)
from django_nextauth_jwt.policy import policy
from django_nextauth_jwt.request import authenticate_request, may_block
from django_nextauth_jwt.state import revocation, store
from django_nextauth_jwt.tokens import AuthResult, JWTAuth
from django_nextauth_jwt.transport import get_credentials, offers_nothing
from django_nextauth_jwt.users import TokenUser

logger = logging.getLogger("django_nextauth_jwt")

__all__ = [
    "CLOSE_ORIGIN",
    "CLOSE_UNAUTHORIZED",
    "PROTOCOL_PREFIX",
    "QUERY_PARAMETER",
    "NextAuthChannelsMiddleware",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Close code of a handshake whose token was refused, and of a socket whose token expired or
#: was revoked (the reason is the stable error code: ``token_expired``, ``token_revoked``...).
CLOSE_UNAUTHORIZED = 4401
#: Close code of a cookie-authenticated handshake from an origin that is not allowed.
CLOSE_ORIGIN = 4403
#: A ``Sec-WebSocket-Protocol`` entry starting so carries a token.
PROTOCOL_PREFIX = "nextauth.bearer."
#: The query parameter read when ``NEXTAUTH_WEBSOCKET_QUERY_TOKEN`` allows it (RFC 6750's name).
QUERY_PARAMETER = "access_token"

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _headers(scope: Scope) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in scope.get("headers", ()):
        # Latin-1, as Django's ASGI handler decodes them.
        found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return found


def _offered(scope: Scope) -> tuple[str | None, list[str]]:
    """The token offered as a subprotocol or (when allowed) in the query; the other protocols.

    ``TokenAmbiguous`` when more than one token is offered these ways.
    """
    protocols: list[str] = list(scope.get("subprotocols") or ())
    tokens = [p[len(PROTOCOL_PREFIX) :] for p in protocols if p.startswith(PROTOCOL_PREFIX)]
    kept = [p for p in protocols if not p.startswith(PROTOCOL_PREFIX)]
    if app_settings.WEBSOCKET_QUERY_TOKEN:
        query = scope.get("query_string", b"").decode("latin-1")
        tokens += [v for k, v in parse_qsl(query, keep_blank_values=True) if k == QUERY_PARAMETER]
    if len(tokens) > 1:
        raise TokenAmbiguous()
    return (tokens[0] if tokens else None), kept


def _request(scope: Scope, headers: dict[str, list[str]], token: str | None) -> HttpRequest:
    """The handshake as the request transport reads: its cookies and ``Authorization``.

    A token offered as a subprotocol or in the query becomes a Bearer header, so that it wins
    over a cookie exactly as a header does; beside a real ``Authorization`` header it is
    ambiguous.
    """
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = str(scope.get("path", "/"))
    cookie = "; ".join(headers.get("cookie", ()))
    if cookie:
        request.META["HTTP_COOKIE"] = cookie
    request.COOKIES = parse_cookie(cookie)
    authorization = headers.get("authorization", [])
    if len(authorization) > 1 or (authorization and token is not None):
        raise TokenAmbiguous()
    if authorization:
        request.META["HTTP_AUTHORIZATION"] = authorization[0]
    elif token is not None:
        request.META["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return request


@derived
def _origins() -> frozenset[str]:
    return frozenset(_origin_key(o) for o in app_settings.WEBSOCKET_ORIGINS)


def _origin_key(origin: str) -> str:
    """``scheme://host[:port]``, lower case, without the scheme's default port."""
    parts = urlsplit(origin.strip().lower().rstrip("/"))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = str(parts.port) if parts.port is not None else ""
    if port and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def _origin_allowed(scope: Scope, headers: dict[str, list[str]]) -> bool:
    """True when the handshake's one ``Origin`` is the socket's own or a configured one.

    Browsers always send ``Origin`` on a WebSocket handshake: a cookie handshake without one
    (or with ``null``, a sandboxed or file page) is refused.
    """
    origin = headers.get("origin", [])
    host = headers.get("host", [])
    if len(origin) != 1 or origin[0] in ("", "null"):
        return False
    try:
        key = _origin_key(origin[0])
    except ValueError:  # a port out of range, an unclosed bracket
        return False
    if key in _origins():
        return True
    if len(host) != 1 or not key.startswith(("http://", "https://")):
        return False
    scheme = key.split(":", 1)[0]
    if scope.get("scheme") == "wss" and scheme != "https":
        return False  # a plain-HTTP page must not drive a socket the TLS site's cookie opened
    try:
        own = _origin_key(f"{scheme}://{host[0]}")
    except ValueError:
        return False
    return key == own


async def _authenticate(request: HttpRequest) -> AuthResult:
    if may_block():
        # Channels' own hop: database connections are closed around it as in its consumers.
        result: AuthResult = await database_sync_to_async(authenticate_request)(request)
        return result
    return authenticate_request(request)


def _anonymous() -> Any:
    # Imported here: contrib.auth.models needs the app registry, this module must not.
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


class _Socket:
    """One open, token-authenticated socket: closes itself when its token stops being valid."""

    __slots__ = (
        "__weakref__",
        "account",
        "closed",
        "keys",
        "protocols",
        "receive_",
        "send_",
        "timer",
        "token",
        "waiter",
        "watch",
    )

    def __init__(
        self, receive: Receive, send: Send, token: str, keys: tuple[str, ...], account: Any = None
    ) -> None:
        self.receive_ = receive
        self.send_ = send
        self.token = token
        self.keys = keys
        #: The database user's primary key (database mode), whose cut-off closes this socket.
        self.account = account
        self.closed: tuple[int, str] | None = None
        self.waiter: asyncio.Task[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.watch: _Watch | None = None
        self.protocols: list[str] | None = None

    async def receive(self) -> Message:
        """The server's next message; a disconnect once this middleware closed the socket."""
        if self.closed is not None:
            return {"type": "websocket.disconnect", "code": self.closed[0]}
        task = asyncio.current_task()
        self.waiter = task
        try:
            return await self.receive_()
        except asyncio.CancelledError:
            if self.closed is None or task is None or task.cancelling() != 1:
                raise  # not (only) ours: someone else is cancelling the consumer
            task.uncancel()  # the cancellation was our way to interrupt the wait
            return {"type": "websocket.disconnect", "code": self.closed[0]}
        finally:
            self.waiter = None

    async def send(self, message: Message) -> None:
        """Pass ``message`` on; never one the token's subprotocol selects, none after closing."""
        if self.closed is not None:
            return  # the consumer has not seen the disconnect yet: its last words are dropped
        kind = message.get("type")
        if kind == "websocket.accept" and self.protocols is not None:
            chosen = message.get("subprotocol")
            if chosen not in self.protocols or chosen is None or _may_carry_a_token(chosen):
                message = {**message, "subprotocol": _selectable(self.protocols)}
        elif kind == "websocket.close":
            self.forget()
        await self.send_(message)

    def close(self, code: int, reason: str) -> None:
        """Close the socket now: a close frame to the client, a disconnect to the consumer."""
        if self.closed is not None:
            return
        self.closed = (code, reason)
        self.forget()
        _spawn(self.send_({"type": "websocket.close", "code": code, "reason": reason}))
        waiter = self.waiter
        if waiter is not None:
            waiter.cancel()

    def expire(self, code: str = "token_expired") -> None:
        """The token's ``exp``, or its session's lifetime, has passed (with the leeway)."""
        self.close(CLOSE_UNAUTHORIZED, code)

    def recheck(self) -> None:
        """The deny-list wrote a key of this socket's: verify the token again."""
        if self.closed is not None:
            return
        database = self.account is not None
        if may_block(resolve_user=database):
            _spawn(self._recheck_in_thread())
        else:
            self._verdict(_still_valid(self.token, database=database))

    async def _recheck_in_thread(self) -> None:
        database = self.account is not None
        try:
            error = await database_sync_to_async(_still_valid)(self.token, database=database)
        except Exception:  # the database or the store away: fail closed, not open
            logger.exception("could not recheck an open socket's token; closing it")
            error = RevocationUnavailable.code
        self._verdict(error)

    def _verdict(self, error: str | None) -> None:
        if error is not None:
            self.close(CLOSE_UNAUTHORIZED, error)

    def forget(self) -> None:
        """Stop watching this socket (closed by either side)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.watch is not None:
            self.watch.discard(self)
            self.watch = None


def _still_valid(token: str, *, database: bool = False) -> str | None:
    """``None`` while ``token`` verifies; else the stable code of why not.

    In database mode the user is resolved again: the person's cut-off is the row's, written
    under its primary key whichever ``sub`` named it, and a deactivated user is refused too.
    """
    if database:
        result = JWTAuth.authenticate_token(token)
        return None if result.success else result.error
    try:
        JWTAuth.verify(token)
    except InvalidToken as exc:
        return exc.code
    return None


_tasks: set[asyncio.Task[Any]] = set()


def _spawn(coroutine: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(coroutine)
    _tasks.add(task)  # the loop holds tasks weakly
    task.add_done_callback(_tasks.discard)


class _Watch:
    """The open sockets of one event loop, by the deny-list keys that would refuse them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weakly: the loop is this watch's key in _watches, which must not keep it alive.
        self.loop = weakref.ref(loop)
        self.by_key: dict[str, set[_Socket]] = {}
        self.unwatch: Callable[[], None] | None = None

    def add(self, socket: _Socket) -> None:
        for key in socket.keys:
            self.by_key.setdefault(key, set()).add(socket)
        socket.watch = self
        if self.unwatch is None:
            self.unwatch = store.watch_revocations(self.written)

    def discard(self, socket: _Socket) -> None:
        for key in socket.keys:
            held = self.by_key.get(key)
            if held is not None:
                held.discard(socket)
                if not held:
                    del self.by_key[key]
        if not self.by_key and self.unwatch is not None:
            self.unwatch()
            self.unwatch = None

    def written(self, key: str) -> None:
        """The deny-list wrote ``key`` (any thread): recheck its sockets on their loop."""
        if key in self.by_key:  # a dict lookup: the writer's thread pays no more
            loop = self.loop()
            if loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to close
                    loop.call_soon_threadsafe(self.recheck, key)

    def recheck(self, key: str) -> None:
        for socket in tuple(self.by_key.get(key, ())):
            socket.recheck()


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watch] = weakref.WeakKeyDictionary()


def _watch_for(loop: asyncio.AbstractEventLoop) -> _Watch:
    found = _watches.get(loop)
    if found is None:
        found = _watches[loop] = _Watch(loop)
    return found


def _keys(claims: MutableMapping[str, Any], token: str, account: Any) -> tuple[str, ...]:
    """The deny-list keys whose write may refuse this token (what ``is_revoked`` reads), and
    in database mode the cut-off of the user it resolved to (``tokens.resolve_user`` reads)."""
    own = revocation.session_key(claims) or revocation.token_key(claims, token)
    person = revocation.user_key(str(claims.get("sub")))
    if account is None:
        return own, person
    return own, person, revocation.account_key(account)


def _account(user: Any) -> Any:
    """The primary key of a database user; ``None`` for a stateless ``TokenUser``."""
    if user is None or type(user) is TokenUser:
        return None
    return user.pk


def _may_carry_a_token(protocol: str) -> bool:
    """Whether a protocol entry may hold a token a client offered some other way.

    ``eyJ`` is base64url for ``{"``: every JWS and JWE starts so, whatever prefix a client
    puts before it (``base64url.bearer.authorization.k8s.io.<token>``); no protocol name has
    it, nor a hundred characters.
    """
    return "eyJ" in protocol or len(protocol) > 100


def _selectable(protocols: list[str]) -> str | None:
    """The protocol to select on the client's behalf: its first that cannot carry a token."""
    for protocol in protocols:
        if not _may_carry_a_token(protocol):
            return protocol
    return None


async def _refuse(receive: Receive, send: Send, code: int, reason: str, kept: list[str]) -> None:
    """Answer the handshake and close it at once with ``code``: the consumer never runs.

    Accepted first, because a close before the accept is an HTTP 403 that carries no code; the
    accept selects the client's own protocol (a browser drops an answer selecting none).
    """
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    await send({"type": "websocket.accept", "subprotocol": _selectable(kept)})
    await send({"type": "websocket.close", "code": code, "reason": reason})


class NextAuthChannelsMiddleware:
    """ASGI middleware: ``scope["user"]`` and ``scope["nextauth"]`` from a NextAuth token.

    See the module's docstring for what a handshake may offer and when it is closed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate the connection, then hand over to the application."""
        kind = scope.get("type")
        if kind not in ("websocket", "http"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        kept: list[str] = list(scope.get("subprotocols") or ())
        try:
            token, kept = _offered(scope)
            request = _request(scope, headers, token)
        except InvalidToken as exc:
            result = AuthResult.failure(exc)
            explicit = True
        else:
            explicit = "HTTP_AUTHORIZATION" in request.META
            if (
                kind == "websocket"
                and not explicit
                and not offers_nothing(request)
                and not _origin_allowed(scope, headers)
            ):
                # Before any verification: a page of another site learns nothing of the token.
                await _refuse(receive, send, CLOSE_ORIGIN, "origin_refused", kept)
                return
            result = await _authenticate(request)
        scope = dict(scope)
        scope["nextauth"] = result
        scope["user"] = result.user if result.success else _anonymous()
        if kind == "http":
            await self.app(scope, receive, send)
            return
        scope["subprotocols"] = kept
        if not result.success:
            if result.error != TokenMissing.code:  # offered and refused (another scheme: not ours)
                await _refuse(receive, send, CLOSE_UNAUTHORIZED, result.error or "", kept)
                return
            await self.app(scope, receive, send)
            return
        protocols = kept if token is not None else None
        verified = _token_of(request)
        # An open socket lives for hours: it keeps nothing of its handshake but the token.
        del request, headers, token
        await self._serve(scope, receive, send, verified, result, protocols)

    async def _serve(  # noqa: PLR0913, PLR0917 - the connection's parts, as __call__ has them
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        token: str,
        result: AuthResult,
        protocols: list[str] | None,
    ) -> None:
        """Run the consumer on a socket watched for its token's expiry and revocation."""
        claims = result.claims or {}
        account = _account(result.user)
        socket = _Socket(receive, send, token, _keys(claims, token, account), account)
        socket.protocols = protocols
        loop = asyncio.get_running_loop()
        end = _end(claims)
        if end is not None:
            delay = end[0] + app_settings.LEEWAY - time.time()
            socket.timer = loop.call_later(max(0.0, delay), socket.expire, end[1])
        _watch_for(loop).add(socket)
        try:
            await self.app(scope, socket.receive, socket.send)
        finally:
            socket.forget()


def _end(claims: MutableMapping[str, Any]) -> tuple[int, str] | None:
    """When the HTTP path stops accepting the token (before the leeway), and its code then:
    its ``exp``, or its session's end (``NEXTAUTH_SESSION_MAX_LIFETIME`` after it began)
    when that comes first, whatever later ``exp`` a refresh gave the token."""
    exp = claims.get("exp")
    end = (exp, TokenExpired.code) if type(exp) is int else None
    start = lifetime.started(claims)
    if start is not None:
        last = start + policy().max_lifetime
        if end is None or last < end[0]:
            end = (last, SessionTooOld.code)
    return end


def _token_of(request: HttpRequest) -> str:
    """The token ``authenticate_request`` verified for ``request`` (transport's reading)."""
    credentials = get_credentials(request)
    if credentials is None:  # pragma: no cover - a verified request offered one
        raise TokenMissing()
    return credentials.token
