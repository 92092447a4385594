"""Django Ninja: ``NextAuth`` and ``AsyncNextAuth``, the request path as Ninja auth classes.

::

    from ninja import NinjaAPI
    from django_nextauth_jwt.integrations.ninja import NextAuth, install

    api = NinjaAPI(auth=NextAuth())
    install(api)  # the refusals' bodies: {"detail", "code"}, as the DRF class answers

    @api.get("/reports", auth=NextAuth("admin", "editor"))  # a role check
    def reports(request): ...

Like :class:`~django_nextauth_jwt.authentication.NextAuthJWTAuthentication`: the token comes
from ``Authorization: Bearer`` or else the session cookie (chunks too); a refused or missing
token is a 401 with the stable code and a ``WWW-Authenticate`` challenge; a cookie-authenticated
unsafe request without CSRF proof (Django's token or NextAuth's double-submit header) is a 403
``csrf_failed``; a role outside the ones named is a 403 ``role_required``. ``request.auth`` is the
user (``request.user`` too), ``request.nextauth`` the whole result with the claims.

The OpenAPI schema names the scheme ``NextAuth`` (``AsyncNextAuth``): HTTP bearer, so Swagger
UI's "Authorize" takes a token; with :func:`install`, the session cookie too (``NextAuthCookie``).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security.base import AuthBase

from django_nextauth_jwt.conf import app_settings
from django_nextauth_jwt.csrf import SAFE_METHODS, csrf_failure_reason
from django_nextauth_jwt.request import authenticate_request, may_block, unauthorized_response
from django_nextauth_jwt.tokens import AuthResult

__all__ = ["COOKIE_SCHEME", "AsyncNextAuth", "NextAuth", "NextAuthRefused", "install"]

ROLE_MESSAGE = "You do not have the role this action requires."


class NextAuthRefused(AuthenticationError):
    """A refusal: 401 for a token (``result``), 403 for CSRF or a role, with a stable ``code``."""

    def __init__(
        self,
        result: AuthResult | None = None,
        *,
        status: int = 401,
        code: str = "",
        detail: str = "",
    ) -> None:
        """Either the failed ``result`` (401) or a ``status``, ``code`` and ``detail`` (403)."""
        self.result = result
        if result is not None:
            code, detail = result.error or "", result.message or ""
        self.code, self.detail = code, detail
        super().__init__(status, self.detail)


def refusal_response(request: HttpRequest, exc: NextAuthRefused) -> HttpResponse:
    """The answer to ``exc``: the request path's 401, or a 403 ``{"detail", "code"}``.

    The 401 of an ambiguous cookie expires every copy the request carried, as every shell's.
    """
    if exc.result is not None:
        return unauthorized_response(exc.result, request)
    return JsonResponse({"detail": exc.detail, "code": exc.code}, status=exc.status_code)


#: The session cookie's scheme in the schema, beside the bearer scheme Ninja names by class.
COOKIE_SCHEME = "NextAuthCookie"


def install(api: NinjaAPI) -> None:
    """Answer this package's refusals in ``api`` with its bodies, codes and challenge.

    Without it Ninja answers them as any ``AuthenticationError``: the same status, a body
    of ``{"detail"}`` only. Its OpenAPI schema also names the session cookie: Ninja declares
    one scheme per auth class (``NextAuth``: HTTP bearer), and every operation that accepts
    ``NextAuth`` gets ``NextAuthCookie`` (an API key in the cookie, under the configured name,
    read when the schema is built) as an alternative.
    """
    api.add_exception_handler(NextAuthRefused, refusal_response)  # type: ignore[arg-type]
    build = api.get_openapi_schema

    def with_cookie(**kwargs: Any) -> Any:
        schema = build(**kwargs)
        ours = {cls.__name__ for cls in (NextAuth, AsyncNextAuth)}
        found = False
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                security = operation.get("security") if isinstance(operation, dict) else None
                if security and any(ours & set(entry) for entry in security):
                    security.append({COOKIE_SCHEME: []})
                    found = True
        if found:
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[COOKIE_SCHEME] = {
                "type": "apiKey",
                "in": "cookie",
                "name": app_settings.session_cookie_name(),
                "description": "NextAuth's session cookie; unsafe methods need CSRF proof.",
            }
        return schema

    api.get_openapi_schema = with_cookie  # type: ignore[method-assign]


class NextAuth(AuthBase):
    """Ninja auth: a NextAuth token (Bearer or session cookie), optionally one of ``roles``."""

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_description = (
        "A NextAuth session token (Authorization: Bearer). The NextAuth session cookie is "
        "accepted too; unsafe methods then need CSRF proof."
    )

    def __init__(self, *roles: str, csrf: bool = True) -> None:
        """``roles``: the token's ``role`` must be one of them; ``csrf=False``: don't (don't)."""
        if not all(isinstance(r, str) and r for r in roles):
            raise ValueError("roles must be non-empty strings")
        self.roles = frozenset(roles)
        self.csrf = csrf
        super().__init__()

    def __call__(self, request: HttpRequest) -> Any:
        """The user, or raise :class:`NextAuthRefused`."""
        return self.decide(request, authenticate_request(request))

    def decide(self, request: HttpRequest, result: AuthResult) -> Any:
        """The user of a successful ``result`` that passes CSRF and the roles; else raise."""
        if not result.success:
            raise NextAuthRefused(result)
        if (
            self.csrf
            and request.method not in SAFE_METHODS
            and getattr(request, "nextauth_source", None) == "cookie"
        ):
            reason = csrf_failure_reason(request)
            if reason is not None:
                raise NextAuthRefused(
                    status=403, code="csrf_failed", detail=f"CSRF Failed: {reason}"
                )
        user = result.user
        if self.roles:
            claims = result.claims or {}
            role = claims.get("role", getattr(user, "role", None))
            if not (isinstance(role, str) and role in self.roles):
                raise NextAuthRefused(status=403, code="role_required", detail=ROLE_MESSAGE)
        request.user = user
        return user


class AsyncNextAuth(NextAuth):
    """:class:`NextAuth` for async operations: verified on the event loop, I/O in a thread."""

    async def __call__(self, request: HttpRequest) -> Any:
        """The user, or raise :class:`NextAuthRefused`; blocks the event loop on no I/O."""
        if may_block():
            result = await sync_to_async(authenticate_request)(request)
        else:
            result = authenticate_request(request)
        return self.decide(request, result)
