"""``authenticate_request`` and ``NextAuthJWTMiddleware``: the request path without DRF.

``authenticate_request`` is the one function every entry point uses (this
middleware, the DRF class): transport reads the token, ``JWTAuth`` verifies it
and resolves the user. Nothing here decodes a token or parses a cookie itself.

Put the middleware **after** ``django.contrib.auth.middleware.AuthenticationMiddleware``:
that middleware sets ``request.user`` unconditionally, so if it ran second it
would replace the token's user with the session's (check ``nextauth_jwt.E029``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.utils.functional import SimpleLazyObject

from django_nextauth_jwt import diagnostics, store
from django_nextauth_jwt.conf import USER_MODE_DATABASE, app_settings, derived
from django_nextauth_jwt.csrf import SAFE_METHODS, nextauth_csrf_valid
from django_nextauth_jwt.exceptions import InvalidToken, TokenMissing
from django_nextauth_jwt.tokens import AuthResult, JWTAuth
from django_nextauth_jwt.transport import (
    Credentials,
    get_credentials,
    offers_nothing,
    session_cookie_names,
)
from django_nextauth_jwt.users import user_from_claims

__all__ = [
    "REALM",
    "NextAuthJWTMiddleware",
    "authenticate_request",
    "path_is_protected",
    "unauthorized_response",
    "www_authenticate",
]

#: The realm in ``WWW-Authenticate`` challenges.
REALM = "api"


#: The result of every request that offers no token: results are frozen, so one serves all.
_NO_TOKEN = AuthResult.failure(TokenMissing())


def authenticate_request(request: HttpRequest, *, resolve_user: bool = True) -> AuthResult:
    """Authenticate ``request`` by its Bearer header or session cookie; never raises for bad input.

    The result is also stored as ``request.nextauth``, and where the token came
    from (``"header"``, ``"cookie"`` or ``None``) as ``request.nextauth_source``.
    A request with no token of ours fails with ``token_missing``.

    With ``resolve_user=False`` the token is verified but no user is built: the
    result succeeds with ``claims`` and ``user=None`` (the middleware then
    resolves the user lazily, so database mode costs no query unless used).

    A request already authenticated (the middleware ran, then DRF asks) is not
    verified again: the stored result is reused, its user resolved if needed.
    """
    # The instance's own attributes: getattr() would raise and catch AttributeError first.
    previous = request.__dict__.get("nextauth")
    if isinstance(previous, AuthResult):
        if not (resolve_user and previous.success and previous.user is None):
            return previous
        try:
            user = user_from_claims(previous.claims or {})
        except InvalidToken as exc:
            result = AuthResult.failure(exc)
        else:
            result = dataclasses.replace(previous, user=user)
        request.nextauth = result  # type: ignore[attr-defined]
        return result
    if offers_nothing(request, unless=diagnostics.SESSION_COOKIE_MARK):
        # No header that could carry a token and no cookie to read or diagnose: the same
        # answer as below, without the work (a token-less request should cost next to nothing).
        request.nextauth = _NO_TOKEN  # type: ignore[attr-defined]
        request.nextauth_source = None  # type: ignore[attr-defined]
        return _NO_TOKEN
    credentials: Credentials | None = None
    try:
        credentials = get_credentials(request)
    except InvalidToken as exc:
        result = AuthResult.failure(exc)
    else:
        if credentials is None:
            result = _NO_TOKEN
        elif resolve_user:
            result = JWTAuth.authenticate_token(credentials.token)
        else:
            try:
                result = AuthResult(True, None, JWTAuth.verify(credentials.token))
            except InvalidToken as exc:
                result = AuthResult.failure(exc)
    if result.exception is not None:
        # Tell the operator which setting to fix (once per cause); the client gets the code.
        diagnostics.report(
            result.exception,
            credentials.token if credentials else None,
            request.COOKIES,
            session_cookie_names(),
        )
    request.nextauth = result  # type: ignore[attr-defined]
    request.nextauth_source = credentials.source if credentials else None  # type: ignore[attr-defined]
    return result


def www_authenticate(error: str | None = None) -> str:
    """An RFC 6750 challenge; ``error="invalid_token"`` when a token was offered and refused."""
    if error is None or error == TokenMissing.code:
        return f'Bearer realm="{REALM}"'
    return f'Bearer realm="{REALM}", error="invalid_token"'


def unauthorized_response(result: AuthResult) -> JsonResponse:
    """The 401 for a failed ``result``: ``{"detail", "code"}`` and a ``WWW-Authenticate`` header."""
    code = result.error or TokenMissing.code
    response = JsonResponse(
        {"detail": result.message or TokenMissing.default_message, "code": code}, status=401
    )
    response["WWW-Authenticate"] = www_authenticate(code)
    # The answer depends on credentials: shared caches must not reuse it.
    response["Cache-Control"] = "no-store"
    return response


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return path.startswith(prefixes)  # any of them; no prefix: False


@derived
def _paths() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    # Read once per settings object: path checks run on every request.
    return app_settings.PROTECTED_PATHS, app_settings.PUBLIC_PATHS, app_settings.API_PATHS


@derived
def _io_bound() -> tuple[bool, bool]:
    """(database mode, networked deny-list): what may block an async request."""
    networked = bool(app_settings.REDIS_URL)
    return app_settings.USER_MODE == USER_MODE_DATABASE, app_settings.REVOCATION and networked


def path_is_protected(path: str) -> bool:
    """True when ``path`` is under a protected prefix and under no public one (public wins)."""
    protected, public, _ = _paths()
    return _matches(path, protected) and not _matches(path, public)


@derived
def _signin_parts() -> SplitResult:
    # Read and split once per settings object: every refused page request redirects.
    return urlsplit(app_settings.SIGNIN_URL)


def signin_url(**params: str) -> str:
    """``NEXTAUTH_SIGNIN_URL`` with ``params`` merged into any query string it already has."""
    parts = _signin_parts()
    kept = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in kept if k not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def signin_redirect(request: HttpRequest) -> HttpResponseRedirect:
    """Redirect to ``NEXTAUTH_SIGNIN_URL`` with ``callbackUrl`` = this request's path and query."""
    return HttpResponseRedirect(signin_url(callbackUrl=request.get_full_path()))


def _lazy_user(result: AuthResult) -> Any:
    if result.user is not None:
        return result.user
    # Imported here: contrib.auth.models needs the app registry, this module must not.
    from django.contrib.auth.models import AnonymousUser

    try:
        return user_from_claims(result.claims or {})
    except InvalidToken:
        # Like Django's session auth: an unknown or inactive user is anonymous.
        return AnonymousUser()


def _does_io(request: HttpRequest) -> bool:
    """Whether authenticating ``request`` may block: a database user, or a networked deny-list.

    A deny-list in Redis is read from this process's local view while the view is live (no
    I/O, no thread hop); it is read from Redis, in a thread, only while the view is not. A view
    that lapses between this check and the read costs that one request an ``MGET`` on the event
    loop, bounded by the client's one-second timeout.
    """
    database, networked = _io_bound()
    if networked and not _reads_locally():
        return True
    return database and path_is_protected(request.path_info)


def _reads_locally() -> bool:
    """Whether the deny-list is answered from memory now: the store's local view is live."""
    view = getattr(store.current(), "view", None)
    return view is not None and view.is_live()


class NextAuthJWTMiddleware:
    """Sets ``request.user`` (lazily) and ``request.nextauth`` from a valid NextAuth token.

    Requests without a valid token keep whatever user earlier middleware set
    (or ``AnonymousUser``). Under ``NEXTAUTH_PROTECTED_PATHS`` (minus
    ``NEXTAUTH_PUBLIC_PATHS``) such requests are refused: with a 401 JSON body
    under ``NEXTAUTH_API_PATHS``, else with a redirect to ``NEXTAUTH_SIGNIN_URL``.
    Works in sync and async stacks.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            # Django then awaits __call__, which hands over to __acall__.
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Authenticate, then refuse or pass on to the next handler."""
        if self.async_mode:
            return self.__acall__(request)
        if self._passes_untouched(request):
            return self.get_response(request)
        refused = self.process(request)
        if refused is not None:
            return refused
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """The async path: the same work, with blocking I/O off the event loop."""
        if self._passes_untouched(request):
            response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
            return response
        if _does_io(request):
            refused = await sync_to_async(self.process)(request)
        else:
            # Verifying a token is CPU work only; no thread hop needed.
            refused = self.process(request)
        if refused is not None:
            return refused
        response = await self.get_response(request)  # type: ignore[misc]
        return response

    @staticmethod
    def _passes_untouched(request: HttpRequest) -> bool:
        """True for a request that offers no token on a path that needs none (most of them).

        What :meth:`process` would conclude for it, with the result stored the same way,
        without its work: every request pays for this check, and a pass-through
        middleware costs a tenth of a microsecond.
        """
        protected_paths, public_paths, _ = _paths()
        path = request.path_info
        if path.startswith(protected_paths) and not path.startswith(public_paths):
            return False
        if not offers_nothing(request, unless=diagnostics.SESSION_COOKIE_MARK):
            return False
        request.nextauth = _NO_TOKEN  # type: ignore[attr-defined]
        request.nextauth_source = None  # type: ignore[attr-defined]
        return True

    def process(self, request: HttpRequest) -> HttpResponseBase | None:
        """Authenticate ``request``; a response when it must be refused, else ``None``."""
        # path_is_protected() inline: this runs on every request, with a token or not.
        protected_paths, public_paths, _ = _paths()
        path = request.path_info
        protected = path.startswith(protected_paths) and not path.startswith(public_paths)
        # Protected paths resolve the user now, so an inactive one is refused here.
        result = authenticate_request(request, resolve_user=protected)
        if result.success:
            if request.nextauth_source == "header":  # type: ignore[attr-defined]
                # Browsers never attach an Authorization header on their own, so a
                # request carrying a valid one is no cross-site forgery: like DRF's
                # token authentication, it needs no CSRF token (service-to-service
                # POSTs to plain Django views). Cookie requests keep the CSRF check.
                request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
            elif request.method not in SAFE_METHODS and nextauth_csrf_valid(request):
                # A cookie request with NextAuth's double-submit token (a genuine CSRF cookie
                # echoed in NEXTAUTH_CSRF_HEADER_NAME) has proved it came from our pages:
                # plain Django views accept it as the DRF class does, besides Django's token.
                request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
            user = SimpleLazyObject(lambda: _lazy_user(result))
            request.user = user  # type: ignore[assignment]

            async def auser() -> Any:
                if result.user is not None:
                    return result.user
                return await sync_to_async(_lazy_user)(result)

            request.auser = auser
            return None
        if not protected:
            return None
        return self.refuse(request, result)

    def refuse(self, request: HttpRequest, result: AuthResult) -> HttpResponseBase:
        """The answer for an unauthenticated request on a protected path (an override point)."""
        if _matches(request.path_info, _paths()[2]):
            return unauthorized_response(result)
        return signin_redirect(request)
