"""Django REST framework integration: authentication, a role permission, an exception handler.

This is the only module that imports DRF (and drf-spectacular, when installed),
so projects without them never load either. The work itself is
:func:`django_nextauth_jwt.request.authenticate_request`, shared with the
middleware; this class only translates its result into DRF's contract:

* ``None`` when the request offers no NextAuth token (DRF tries the next class; when
  none authenticates, DRF's 401 gets ``"code": "token_missing"`` in its body);
* ``(user, claims)`` for a valid one (``request.auth`` holds the verified claims);
* :class:`NextAuthAuthenticationFailed` (401, JSON ``{"detail", "code"}``) when
  a token was offered and refused, with a ``WWW-Authenticate: Bearer`` challenge
  from :meth:`NextAuthJWTAuthentication.authenticate_header`, which is what
  makes DRF answer 401 rather than 403 (keep this class first in the list);
* :class:`CSRFFailed` (403) for a cookie-authenticated unsafe request without
  CSRF proof (Django's token or NextAuth's double-submit token).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any, ClassVar

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    ErrorDetail,
    NotAuthenticated,
    PermissionDenied,
)
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from django_nextauth_jwt.conf import FORMAT_JWS, app_settings
from django_nextauth_jwt.csrf import SAFE_METHODS, csrf_failure_reason
from django_nextauth_jwt.exceptions import InvalidToken, TokenAmbiguous, TokenMissing
from django_nextauth_jwt.request import authenticate_request, clear_if_ambiguous, www_authenticate
from django_nextauth_jwt.tokens import AuthResult

__all__ = [
    "CSRFFailed",
    "HasRole",
    "NextAuthAuthenticationFailed",
    "NextAuthJWTAuthentication",
    "RolePermission",
    "exception_handler",
]


class NextAuthAuthenticationFailed(AuthenticationFailed):
    """A refused token: 401 with ``{"detail": <message>, "code": <stable code>}``."""

    default_code = InvalidToken.code

    def __init__(self, message: str | None = None, code: str | None = None) -> None:
        """``code`` is one of the stable codes (``token_expired``, ``user_inactive``, ...)."""
        code = code or self.default_code
        message = message or InvalidToken.default_message
        # A dict detail becomes the body as is, so no custom exception handler is needed.
        super().__init__({"detail": message, "code": code}, code=code)


class CSRFFailed(PermissionDenied):
    """A cookie-authenticated unsafe request without CSRF proof: 403, code ``csrf_failed``."""

    default_code = "csrf_failed"

    def __init__(self, reason: str) -> None:
        """``reason`` is Django's CSRF refusal reason (a fixed, safe string)."""
        message = f"CSRF Failed: {reason}"
        super().__init__({"detail": message, "code": self.default_code}, code=self.default_code)


class NextAuthJWTAuthentication(BaseAuthentication):
    """Authenticate by NextAuth token: ``Authorization: Bearer`` or the session cookie."""

    #: Override to accept cookie-authenticated unsafe requests without CSRF proof (don't).
    enforce_csrf_on_cookies = True

    def authenticate(self, request: Request) -> tuple[Any, dict[str, Any]] | None:
        """``(user, claims)``, ``None`` when no NextAuth token is offered, or raise 401/403."""
        http_request = request._request
        result = authenticate_request(http_request)
        if not result.success:
            if result.error == TokenMissing.code:
                return None
            raise self.authentication_failed(result)
        if self.enforce_csrf_on_cookies and http_request.nextauth_source == "cookie":  # type: ignore[attr-defined]
            self.enforce_csrf(request)
        return result.user, result.claims or {}

    def authentication_failed(self, result: AuthResult) -> AuthenticationFailed:
        """The exception raised for a failed ``result`` (an override point)."""
        return NextAuthAuthenticationFailed(result.message, result.error)

    def enforce_csrf(self, request: Request) -> None:
        """Raise ``CSRFFailed`` unless ``request`` is safe or proves CSRF either way."""
        if request._request.method in SAFE_METHODS:  # most requests: no more to look at
            return
        reason = csrf_failure_reason(request._request)
        if reason is not None:
            raise CSRFFailed(reason)

    def authenticate_header(self, request: Request) -> str:
        """The ``WWW-Authenticate`` challenge; its presence makes DRF answer 401, not 403.

        DRF asks for it while it handles the 401, which is also the one moment the
        ``NotAuthenticated`` it raised for a request without a token can be given its code:
        ``{"detail", "code": "token_missing"}`` under DRF's default exception handler too.
        """
        result: AuthResult | None = getattr(request._request, "nextauth", None)
        _add_missing_token_code(sys.exc_info()[1])
        return www_authenticate(result.error if result is not None else None)


def _add_missing_token_code(exc: BaseException | None) -> None:
    # APIView.handle_exception calls authenticate_header inside dispatch's ``except`` block,
    # so the exception being handled is DRF's own NotAuthenticated: no class authenticated,
    # and this one (first in the list) was offered no token. A dict detail is the body as is.
    if isinstance(exc, NotAuthenticated) and not isinstance(exc.detail, (dict, list)):
        code = ErrorDetail(TokenMissing.code, code=TokenMissing.code)
        exc.detail = {"detail": exc.detail, "code": code}


class RolePermission(BasePermission):
    """Allow authenticated users whose token ``role`` is in ``roles`` (set by :func:`HasRole`)."""

    roles: ClassVar[frozenset[str]] = frozenset()
    message = "You do not have the role this action requires."
    code = "role_required"

    def has_permission(self, request: Request, view: Any) -> bool:
        """True when the user is authenticated and the role claim is one of ``roles``."""
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        claims = request.auth if isinstance(request.auth, dict) else {}
        role = claims.get("role", getattr(user, "role", None))
        return isinstance(role, str) and role in self.roles


def HasRole(*roles: str) -> type[RolePermission]:
    """A permission class for ``roles``: ``permission_classes = [HasRole("admin")]``.

    It is a real class, so it composes (``IsAuthenticated & HasRole("admin",
    "editor")``) and type-checks where DRF expects permission classes.
    """
    if not roles or not all(isinstance(r, str) and r for r in roles):
        raise ValueError("HasRole needs one or more role names")
    name = f"HasRole({', '.join(map(repr, roles))})"
    return type(name, (RolePermission,), {"roles": frozenset(roles)})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, plus a ``code`` in every error body that lacks one.

    The 401s of this app's classes carry their code without it (the one for a request with
    no token at all included, ``"code": "token_missing"``). Set
    ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` to this for a code in DRF's other errors too:
    a 403 ``permission_denied``, a 404 ``not_found``, a 405 ``method_not_allowed``...
    """
    # Imported here: DRF imports this module while rest_framework.views is still
    # loading (DEFAULT_AUTHENTICATION_CLASSES is read at APIView's definition).
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, APIException):
        return response
    codes = exc.get_codes()
    stable = codes.get("code") if isinstance(codes, dict) else codes
    if stable == TokenAmbiguous.code:
        # The cookie came twice (perhaps a copy planted for a narrower path): every copy goes.
        clear_if_ambiguous(response, context["request"]._request, TokenAmbiguous.code)
    data = response.data
    if isinstance(data, dict) and "code" not in data:
        if isinstance(exc, NotAuthenticated):
            data["code"] = TokenMissing.code
        elif isinstance(codes, str):
            data["code"] = codes
    return response


if importlib.util.find_spec("drf_spectacular") is not None:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class NextAuthJWTScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
        """drf-spectacular: the class appears as two alternative schemes, bearer or cookie."""

        target_class = "django_nextauth_jwt.authentication.NextAuthJWTAuthentication"
        match_subclasses = True
        name: ClassVar[list[str]] = ["nextAuthBearer", "nextAuthCookie"]  # type: ignore[misc]

        def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
            """The bearer and the cookie scheme, names and format read from the settings."""
            jws = app_settings.JWT_FORMAT == FORMAT_JWS
            return [
                {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT" if jws else "JWE",
                    "description": "A NextAuth session token, URL-encoded.",
                },
                {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": app_settings.session_cookie_name(),
                    "description": "NextAuth's session cookie; unsafe methods need CSRF proof.",
                },
            ]

        def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
            """Either scheme suffices (a list of requirements is an OR in OpenAPI)."""
            return [{"nextAuthBearer": []}, {"nextAuthCookie": []}]
