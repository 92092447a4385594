"""The request path both shells share: ``authenticate_request`` and the answers to a refusal.

``authenticate_request`` is the one function every entry point uses (the Django
middleware, the DRF class, the integrations): transport reads the token,
``JWTAuth`` verifies it and resolves the user. Nothing here decodes a token or
parses a cookie itself. The 401 body, the ``WWW-Authenticate`` challenge and the
sign-in redirect are here too, so that every shell answers a refusal alike.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect, JsonResponse

from django_nextauth_jwt import diagnostics
from django_nextauth_jwt.conf import USER_MODE_DATABASE, app_settings, derived
from django_nextauth_jwt.exceptions import InvalidToken, TokenAmbiguous, TokenMissing
from django_nextauth_jwt.state import store
from django_nextauth_jwt.tokens import AuthResult, JWTAuth
from django_nextauth_jwt.tokens import resolve_user as user_of
from django_nextauth_jwt.transport import (
    Credentials,
    delete_session_cookie,
    get_credentials,
    offers_nothing,
    session_cookie_names,
)

__all__ = [
    "NO_TOKEN",
    "REALM",
    "authenticate_request",
    "clear_if_ambiguous",
    "lazy_user",
    "may_block",
    "signin_redirect",
    "signin_url",
    "unauthorized_response",
    "www_authenticate",
]

_Response = TypeVar("_Response", bound=HttpResponseBase)

#: The realm in ``WWW-Authenticate`` challenges.
REALM = "api"


#: The result of every request that offers no token: results are frozen, so one serves all.
NO_TOKEN = AuthResult.failure(TokenMissing())


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
            user = user_of(previous.claims or {})
        except InvalidToken as exc:
            result = AuthResult.failure(exc)
        else:
            result = dataclasses.replace(previous, user=user)
        request.nextauth = result  # type: ignore[attr-defined]
        return result
    if offers_nothing(request, unless=diagnostics.SESSION_COOKIE_MARK):
        # No header that could carry a token and no cookie to read or diagnose: the same
        # answer as below, without the work (a token-less request should cost next to nothing).
        request.nextauth = NO_TOKEN  # type: ignore[attr-defined]
        request.nextauth_source = None  # type: ignore[attr-defined]
        return NO_TOKEN
    credentials: Credentials | None = None
    try:
        credentials = get_credentials(request)
    except InvalidToken as exc:
        result = AuthResult.failure(exc)
    else:
        if credentials is None:
            result = NO_TOKEN
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


@derived
def _io_bound() -> tuple[bool, bool]:
    """(database mode, deny-list in Redis), per settings object."""
    networked = bool(app_settings.REDIS_URL) and app_settings.REVOCATION
    return app_settings.USER_MODE == USER_MODE_DATABASE, networked


def may_block(*, resolve_user: bool = True) -> bool:
    """Whether authenticating now may block on I/O: async shells then run it in a thread.

    A database user (when it is resolved), or a deny-list in Redis while this process's local
    view is not live (checks then read Redis). Otherwise verifying is CPU work only, cheaper on
    the event loop than a thread hop.
    """
    database, networked = _io_bound()
    if database and resolve_user:
        return True
    if not networked:
        return False
    view = getattr(store.current(), "view", None)
    return view is None or not view.is_live()


def www_authenticate(error: str | None = None) -> str:
    """An RFC 6750 challenge; ``error="invalid_token"`` when a token was offered and refused."""
    if error is None or error == TokenMissing.code:
        return f'Bearer realm="{REALM}"'
    return f'Bearer realm="{REALM}", error="invalid_token"'


def unauthorized_response(result: AuthResult, request: HttpRequest | None = None) -> JsonResponse:
    """The 401 for a failed ``result``: ``{"detail", "code"}`` and a ``WWW-Authenticate`` header.

    Given the ``request``, a ``token_ambiguous`` answer also expires every copy of the session
    cookie it carried (:func:`clear_if_ambiguous`).
    """
    code = result.error or TokenMissing.code
    response = JsonResponse(
        {"detail": result.message or TokenMissing.default_message, "code": code}, status=401
    )
    response["WWW-Authenticate"] = www_authenticate(code)
    # The answer depends on credentials: shared caches must not reuse it.
    response["Cache-Control"] = "no-store"
    if request is not None:
        clear_if_ambiguous(response, request, code)
    return response


def clear_if_ambiguous(response: _Response, request: HttpRequest, error: str | None) -> _Response:
    """``response``, expiring every session cookie the request carried when it was ambiguous.

    ``token_ambiguous``: the cookie came twice, perhaps once from a sibling subdomain for a
    parent domain and a narrower path. Which copy is the person's cannot be told, so every
    copy goes, for every path and domain it can have been set with (see
    :func:`~django_nextauth_jwt.transport.delete_session_cookie`): the person signs in again
    and the next request is no longer ambiguous.
    """
    if error == TokenAmbiguous.code:
        delete_session_cookie(response, request)
    return response


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


def lazy_user(result: AuthResult) -> Any:
    """The user of a successful ``result``, resolved now; ``AnonymousUser`` when none is found."""
    if result.user is not None:
        return result.user
    # Imported here: contrib.auth.models needs the app registry, this module must not.
    from django.contrib.auth.models import AnonymousUser

    try:
        return user_of(result.claims or {})
    except InvalidToken:
        # Like Django's session auth: an unknown, inactive or cut-off user is anonymous.
        return AnonymousUser()
