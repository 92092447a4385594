"""``NextAuthJWTMiddleware``: the request path without DRF.

The middleware is a thin shell over :func:`django_nextauth_jwt.request.authenticate_request`,
the one function every entry point uses (this middleware, the DRF class, the
integrations); ``authenticate_request``, ``www_authenticate`` and
``unauthorized_response`` stay importable from here, where the docs first named them.

Put the middleware **after** ``django.contrib.auth.middleware.AuthenticationMiddleware``:
that middleware sets ``request.user`` unconditionally, so if it ran second it
would replace the token's user with the session's (check ``nextauth_jwt.E029``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import SimpleLazyObject

from django_nextauth_jwt import diagnostics
from django_nextauth_jwt.conf import app_settings, derived
from django_nextauth_jwt.csrf import SAFE_METHODS, nextauth_csrf_valid
from django_nextauth_jwt.request import (
    NO_TOKEN,
    REALM,
    authenticate_request,
    clear_if_ambiguous,
    lazy_user,
    may_block,
    signin_redirect,
    signin_url,
    unauthorized_response,
    www_authenticate,
)
from django_nextauth_jwt.tokens import AuthResult
from django_nextauth_jwt.transport import offers_nothing

__all__ = [
    "REALM",
    "NextAuthJWTMiddleware",
    "authenticate_request",
    "path_is_protected",
    "signin_redirect",
    "signin_url",
    "unauthorized_response",
    "www_authenticate",
]


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return path.startswith(prefixes)  # any of them; no prefix: False


@derived
def _paths() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    # Read once per settings object: path checks run on every request.
    return app_settings.PROTECTED_PATHS, app_settings.PUBLIC_PATHS, app_settings.API_PATHS


def path_is_protected(path: str) -> bool:
    """True when ``path`` is under a protected prefix and under no public one (public wins)."""
    protected, public, _ = _paths()
    return _matches(path, protected) and not _matches(path, public)


def _does_io(request: HttpRequest) -> bool:
    """Whether authenticating ``request`` may block (:func:`~.request.may_block`).

    The user is resolved (a database query in database mode) only on a protected path. A
    local view of the deny-list that lapses between this check and the read costs that one
    request an ``MGET`` on the event loop, bounded by the store's timeout.
    """
    return may_block(resolve_user=path_is_protected(request.path_info))


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
        request.nextauth = NO_TOKEN  # type: ignore[attr-defined]
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
            user = SimpleLazyObject(lambda: lazy_user(result))
            request.user = user  # type: ignore[assignment]

            async def auser() -> Any:
                if result.user is not None:
                    return result.user
                return await sync_to_async(lazy_user)(result)

            request.auser = auser
            return None
        if not protected:
            return None
        return self.refuse(request, result)

    def refuse(self, request: HttpRequest, result: AuthResult) -> HttpResponseBase:
        """The answer for an unauthenticated request on a protected path (an override point)."""
        if _matches(request.path_info, _paths()[2]):
            return unauthorized_response(result, request)
        # A cookie sent twice would bring the person back here after signing in: it goes.
        return clear_if_ambiguous(signin_redirect(request), request, result.error)
