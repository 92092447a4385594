"""Sign-in views: custom-login, Google begin/callback, session, sign-out, csrf.

Mounted with ``path("api/auth/", include("django_nextauth_jwt.urls"))``. Every
view is a thin shell: tokens come from :mod:`tokens`, cookies from
:mod:`transport`, redirect targets from :mod:`redirects`, counters from
:mod:`throttle`, and every sign-in ends in :func:`signin.sign_in`. Each is a
class with small methods to override.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from django_nextauth_jwt import identity
from django_nextauth_jwt.conf import USER_MODE_DATABASE, app_settings
from django_nextauth_jwt.csrf import django_csrf_failure, nextauth_csrf_valid
from django_nextauth_jwt.exceptions import InvalidToken, TokenAmbiguous
from django_nextauth_jwt.policy import policy
from django_nextauth_jwt.redirects import safe_redirect_url
from django_nextauth_jwt.request import (
    authenticate_request,
    clear_if_ambiguous,
    signin_url,
    unauthorized_response,
    www_authenticate,
)
from django_nextauth_jwt.signin import CALLBACK_SESSION_KEY, sign_in
from django_nextauth_jwt.state import store, throttle
from django_nextauth_jwt.tokens import JWTAuth, published_jwks
from django_nextauth_jwt.transport import (
    ambiguous_candidates,
    delete_session_cookie,
    get_credentials,
)

logger = logging.getLogger(__name__)

GOOGLE_BACKEND = "google-oauth2"
ASCII_WHITESPACE = " \t\n\r\x0b\x0c"


def error_response(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    """A JSON error ``{"detail", "code"}`` that no cache keeps."""
    response = JsonResponse({"detail": detail, "code": code}, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def throttle_refusal(check: Callable[[], int | None]) -> JsonResponse | None:
    """The answer when the sign-in throttle ``check`` refuses or cannot be asked; else ``None``.

    ``check`` returns the seconds to wait, or ``None`` to let the attempt through.
    """
    try:
        wait = check()
    except throttle.ClientAddressInvalid:
        # Only the Next.js server can sign this header: a browser forging it gets nothing.
        return error_response(
            400, "invalid_client_address", "The client address assertion is not valid."
        )
    except Exception as exc:  # every store backend fails in its own way (or is full)
        # No counters, no brute-force protection: refuse rather than guess.
        logger.warning("sign-in throttle unavailable: %s", type(exc).__name__)
        return error_response(
            503, "throttle_unavailable", "Sign-in is unavailable; try again.", Retry_After="5"
        )
    if wait is not None:
        return error_response(
            429, "too_many_attempts", "Too many sign-in attempts.", Retry_After=str(wait)
        )
    return None


def session_payload(claims: dict[str, Any]) -> dict[str, Any]:
    """NextAuth's session shape for verified ``claims``: ``{user: {...}, expires}``."""
    user = {
        "name": claims.get("name"),
        "email": claims.get("email"),
        "image": claims.get("picture", claims.get("image")),
        "id": claims["id"],
        "role": claims.get("role"),
    }
    expires = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    return {
        "user": user,
        "expires": expires.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def _same_origin(request: HttpRequest, origin: str) -> bool:
    parts = urlsplit(origin)
    return (
        parts.scheme in ("http", "https")
        and f"{parts.scheme}://{parts.netloc}" == f"{request.scheme}://{request.get_host()}"
    )


def browser_csrf_failure(request: HttpRequest) -> str | None:
    """The sign-in CSRF policy; ``None`` when the request may proceed.

    * A call with neither cookies nor ``Origin`` is server to server (the
      Next.js back end calling this API): a browser always sends one of them on
      a cross-site POST, and with no cookies there is no ambient authority to
      abuse. It passes.
    * A browser call passes with an ``Origin`` that is this site or is listed
      in ``CSRF_TRUSTED_ORIGINS`` (the Next.js front end), or with a valid
      Django CSRF token, or with NextAuth's double-submit token.
    """
    origin = request.META.get("HTTP_ORIGIN")
    if not request.COOKIES and origin is None:
        return None
    if origin is not None and origin != "null":
        trusted = getattr(settings, "CSRF_TRUSTED_ORIGINS", [])
        if _same_origin(request, origin) or origin in trusted:
            return None
    if nextauth_csrf_valid(request):
        return None
    return django_csrf_failure(request)


class BodyError(Exception):
    """The request body is not the JSON object or form this view takes."""


class BodyTooLarge(BodyError):
    """The request body is larger than ``NEXTAUTH_MAX_BODY_SIZE``: refused unread."""


def max_body_size() -> int:
    """``NEXTAUTH_MAX_BODY_SIZE``: the largest sign-in request body read, in bytes.

    A value of the wrong type is check E042 at start-up; here it falls back to the
    default rather than reading an unbounded body.
    """
    value = app_settings.MAX_BODY_SIZE
    return value if isinstance(value, int) and not isinstance(value, bool) else 8192


def read_body(request: HttpRequest) -> dict[str, Any]:
    """A JSON object or a form body as a dict of strings; ``BodyError`` otherwise.

    A body over ``NEXTAUTH_MAX_BODY_SIZE`` (by its ``Content-Length``, or by what was
    read when there is none) is ``BodyTooLarge`` before anything parses it.
    """
    limit = max_body_size()
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except (TypeError, ValueError) as exc:
        raise BodyError("unreadable length") from exc
    if length > limit:
        raise BodyTooLarge("body too large")
    try:
        if request.content_type == "application/json":
            raw = request.body
            if len(raw) > limit:  # no Content-Length, as some ASGI servers pass it
                raise BodyTooLarge("body too large")
            data = json.loads(raw or b"null")
            if not isinstance(data, dict):
                raise BodyError("expected a JSON object")
            return data
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return {key: request.POST.get(key) for key in request.POST}
    except (ValueError, RequestDataTooBig, RecursionError) as exc:
        raise BodyError("unreadable body") from exc
    raise BodyError("unsupported content type")


def no_sign_in() -> JsonResponse | None:
    """A 404 when this service mints no session (a jws-asymmetric verifier), else ``None``."""
    if policy().issues:
        return None
    return error_response(404, "not_found", "This service verifies sessions and issues none.")


def body_too_large() -> JsonResponse:
    """413 ``request_too_large``: the body was not read."""
    return error_response(413, "request_too_large", "The request body is too large.")


def wants_html(request: HttpRequest) -> bool:
    """A classic form post from a browser page, which expects a redirect, not JSON."""
    return request.content_type != "application/json" and "text/html" in request.headers.get(
        "Accept", ""
    )


def csrf_failure_response(request: HttpRequest) -> HttpResponse:
    """403 ``csrf_failed``; a browser form goes back to the sign-in page with ``MissingCSRF``.

    Auth.js's code for the same failure, so a sign-in page can show it as it shows
    ``CredentialsSignin``. Nothing of the request is acted upon either way.
    """
    if wants_html(request):
        return HttpResponseRedirect(signin_url(error="MissingCSRF"), status=303)
    return error_response(403, "csrf_failed", "CSRF verification failed.")


def _text(value: object) -> TypeGuard[str]:
    """A string that can be encoded: JSON's ``\\ud800`` escapes give lone surrogates."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@method_decorator(
    [csrf_exempt, never_cache, sensitive_post_parameters("password")], name="dispatch"
)
class CustomLoginView(View):
    """``POST custom-login``: email (or username) and password to a token and session cookie.

    200 ``{token, user, expires, url}`` and the session cookie; 401
    ``invalid_credentials`` for an unknown user and a wrong password alike;
    400 for a malformed body; 429 with ``Retry-After`` when throttled; 403 when
    a browser call fails the CSRF policy. A browser form post gets a redirect.
    """

    http_method_names = ("post", "options")

    @method_decorator(sensitive_variables("password", "body"))
    def post(self, request: HttpRequest) -> HttpResponse:
        """Check CSRF, parse, throttle, authenticate, mint."""
        refused = no_sign_in()
        if refused is not None:
            return refused
        reason = browser_csrf_failure(request)
        if reason is not None:
            return csrf_failure_response(request)
        try:
            body = read_body(request)
        except BodyTooLarge:
            return body_too_large()
        except BodyError:
            return error_response(
                400, "invalid_request", "Send email and password as JSON or a form."
            )
        identifier = body.get("email") or body.get("username")
        password = body.get("password")
        if not _text(identifier) or not _text(password) or not identifier:
            return error_response(
                400, "invalid_request", "Send email and password as JSON or a form."
            )
        if len(password) > app_settings.MAX_PASSWORD_LENGTH or len(identifier) > 254:
            return error_response(400, "invalid_request", "Email or password is too long.")
        # Surrounding whitespace is never part of an address or a username: trimmed here,
        # once, so the throttle and the lookup see the same identifier.
        identifier = identifier.strip(ASCII_WHITESPACE)
        if not identifier or not identity.storable(identifier):
            return error_response(
                400, "invalid_request", "Send email and password as JSON or a form."
            )
        callback = safe_redirect_url(body.get("callbackUrl"))
        refused = throttle_refusal(lambda: throttle.check_login(request, identifier))
        if refused is not None:
            return refused
        user = self.authenticate(request, identifier, password)
        if user is None:
            return self.failure(request, callback)
        with contextlib.suppress(Exception):  # a lost "forgive" only costs one attempt
            throttle.forgive(request, identifier)
        return self.success(request, user, callback)

    @method_decorator(sensitive_variables("password"))
    def authenticate(self, request: HttpRequest, identifier: str, password: str) -> Any:
        """Django's ``authenticate()`` for the one account ``identifier`` names.

        ``identifier`` is a username or an email; which account it names is decided in
        Python (:mod:`django_nextauth_jwt.identity`: NFC and ASCII case only), not by the
        database's collation. Two accounts it names alike are refused, and logged. An
        unknown identifier is still handed to the authentication backends (the password
        hasher runs, so a miss takes as long as a wrong password), and what they return
        must carry that identifier.
        """
        user_model = get_user_model()
        fields = [user_model.USERNAME_FIELD]
        email_field = user_model.get_email_field_name()
        if (
            "@" in identifier
            and email_field not in fields
            and identity.has_field(user_model, email_field)
        ):
            fields.append(email_field)
        rows = user_model._default_manager.filter(identity.candidates_query(fields, identifier))
        try:
            match = identity.matching(rows, fields, identifier, what="sign-in identifier")
        except identity.Ambiguous:
            user_model().set_password(password)  # the same work as any other refusal
            return None
        username = match.get_username() if match is not None else identifier
        user = authenticate(request, username=username, password=password)
        if user is None or not any(
            identity.same_identity(getattr(user, f, None), identifier) for f in fields
        ):
            return None
        return user

    def failure(self, request: HttpRequest, callback: str) -> HttpResponse:
        """One answer for every failure, so it says nothing about which accounts exist."""
        if wants_html(request):
            target = signin_url(error="CredentialsSignin", callbackUrl=callback)
            return HttpResponseRedirect(target, status=303)
        return error_response(
            401,
            "invalid_credentials",
            "Invalid email or password.",
            WWW_Authenticate=www_authenticate(),
        )

    def success(self, request: HttpRequest, user: Any, callback: str) -> HttpResponse:
        """Mint, set the cookie, answer JSON (or redirect a browser form post)."""

        def respond(token: str, claims: dict[str, Any]) -> HttpResponse:
            if wants_html(request):
                return HttpResponseRedirect(callback, status=303)
            body = {"token": token, **session_payload(claims), "url": callback}
            # The session id, so the Next.js jwt callback keeps the same session as Django's.
            body["sid"] = claims.get("sid")
            return JsonResponse(body)

        return sign_in(request, user, respond)


@method_decorator(never_cache, name="dispatch")
class SessionView(View):
    """``GET session``: NextAuth's ``{user, expires}`` for a valid token, ``{}`` otherwise."""

    http_method_names = ("get", "head", "options")

    def get(self, request: HttpRequest) -> HttpResponse:
        """Never a 401: like NextAuth, no session is an empty object.

        In database mode the user is resolved too: a token whose user is gone
        or inactive is no session.
        """
        resolve = app_settings.USER_MODE == USER_MODE_DATABASE
        result = authenticate_request(request, resolve_user=resolve)
        if not result.success or result.claims is None:
            return clear_if_ambiguous(JsonResponse({}), request, result.error)
        return JsonResponse(session_payload(result.claims))


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class SignOutView(View):
    """``POST signout``: revoke the token, delete the cookie and its chunks.

    A browser call must pass the sign-in CSRF policy (a forged sign-out is a
    nuisance, not harmless). If the deny-list cannot be written the cookie is
    still deleted and the answer is 503 ``revocation_unavailable``.
    """

    http_method_names = ("post", "options")

    def post(self, request: HttpRequest) -> HttpResponse:
        """Revoke what can be revoked, then clear the cookie either way."""
        if browser_csrf_failure(request) is not None:
            return csrf_failure_response(request)
        try:
            body = read_body(request)
        except BodyError:
            body = {}
        # Signed out, the protected landing page would only bounce: the default is sign-in.
        callback = safe_redirect_url(body.get("callbackUrl"), default=app_settings.SIGNIN_URL)
        response: HttpResponse = JsonResponse({"url": callback})
        if app_settings.REVOCATION and not self.revoke(request):
            response = error_response(
                503, "revocation_unavailable", "Signed out here; revocation failed."
            )
        if wants_html(request) and response.status_code == 200:
            response = HttpResponseRedirect(callback, status=303)
        delete_session_cookie(response, request)
        return response

    def revoke(self, request: HttpRequest) -> bool:
        """Deny the request's session; False only when the deny-list could not be written.

        The token is verified without reading the deny-list: a sign-out must
        work while that read fails, and revoking twice is harmless. A missing
        or invalid token has nothing to revoke. With an ambiguous cookie (sent twice,
        one perhaps planted by a sibling subdomain) every candidate that verifies is
        revoked: the person's own session ends whichever copy the parser would pick.
        """
        try:
            try:
                credentials = get_credentials(request)
            except TokenAmbiguous:
                for token in ambiguous_candidates(request):
                    with contextlib.suppress(InvalidToken):
                        JWTAuth.revoke(token)
                return True
            if credentials is None:
                return True
            JWTAuth.revoke(credentials.token)
        except InvalidToken:
            return True
        except Exception as exc:  # every store backend fails in its own way
            logger.warning("sign-out could not revoke: %s", type(exc).__name__)
            return False
        return True


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class SignOutEverywhereView(View):
    """``POST signout-everywhere``: end every session of the token's user, on every device.

    Needs a valid token (Bearer, or the cookie under the sign-in CSRF policy): writes the
    person's cut-off (every token of theirs signed into until now is refused, however NextAuth
    re-encodes it), then deletes this browser's cookie. In database mode the person is the
    Django user the token resolves to, whichever ``sub`` their other tokens carry; in stateless
    mode, the token's ``sub``. 401 without a valid token (or, in database mode, without its
    user); 503 ``revocation_unavailable`` when the deny-list cannot be written.
    """

    http_method_names = ("post", "options")

    def post(self, request: HttpRequest) -> HttpResponse:
        """Authenticate, cut off, clear the cookie."""
        if browser_csrf_failure(request) is not None:
            return csrf_failure_response(request)
        database = app_settings.USER_MODE == USER_MODE_DATABASE
        result = authenticate_request(request, resolve_user=database)
        if not result.success or result.claims is None:
            return unauthorized_response(result, request)
        try:
            body = read_body(request)
        except BodyError:
            body = {}
        # As for sign-out: signed out, the protected landing page would only bounce.
        callback = safe_redirect_url(body.get("callbackUrl"), default=app_settings.SIGNIN_URL)
        try:
            JWTAuth.revoke_user(result.user if database else str(result.claims["sub"]))
        except Exception as exc:  # every store backend fails in its own way
            logger.warning("sign-out everywhere could not revoke: %s", type(exc).__name__)
            answer: HttpResponse = error_response(
                503, "revocation_unavailable", "Signed out here; revocation failed."
            )
        else:
            answer = JsonResponse({"url": callback})
            if wants_html(request):
                answer = HttpResponseRedirect(callback, status=303)
        delete_session_cookie(answer, request)
        return answer


@never_cache
def csrf_view(request: HttpRequest) -> JsonResponse:
    """``GET csrf``: a Django CSRF token for browser sign-in forms; sets ``csrftoken``."""
    return JsonResponse({"csrfToken": get_token(request)})


def load_social_backend(request: HttpRequest, name: str = GOOGLE_BACKEND) -> Any:
    """social-auth's backend ``name`` for ``request``, with our callback as redirect URI."""
    try:
        import social_django.utils
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImproperlyConfigured(
            "Google sign-in needs social-auth-app-django: pip install django-nextauth-jwt[social]"
        ) from exc
    from django.urls import reverse

    social: Any = social_django.utils  # untyped
    strategy = social.load_strategy(request)
    # The state's single use is kept in the state store, at the callback (FlowNonces):
    # social-auth's own nonce table would take a row per anonymous start.
    strategy._storage = type("FlowStorage", (strategy.storage,), {"nonce": FlowNonces})
    request.social_strategy = strategy  # type: ignore[attr-defined]
    backend = social.load_backend(strategy, name, reverse("nextauth_jwt:callback-google"))
    request.backend = backend  # type: ignore[attr-defined]
    return backend


#: The cookie that carries a Google sign-in's ``state`` (and ``callbackUrl``) from the start to
#: the callback, signed with ``SECRET_KEY``: the flow writes no row anywhere.
FLOW_COOKIE = "nextauth-jwt.google-flow"
#: How long a started Google sign-in may take (seconds): the flow cookie's life.
FLOW_MAX_AGE = 600
_FLOW_SALT = "django_nextauth_jwt.views.FlowSession"


class FlowSession(SessionBase):
    """A session held whole in a signed cookie, for the Google flow only.

    social-auth keeps the flow's ``state`` in ``request.session``; with the database session
    engine that is a ``django_session`` row per anonymous ``POST signin/google``, a write any
    flood can make at no cost. During the flow's two views ``request.session`` is this object
    instead (the project's own session is put back untouched after), and its content travels
    in :data:`FLOW_COOKIE`: signed (its own salt, so no session cookie of the project's can be
    passed off as one, nor the reverse), for :data:`FLOW_MAX_AGE` seconds, deleted by the
    callback. A value that does not verify is an empty flow: the callback finds no state.
    """

    def __init__(self, value: str | None = None) -> None:
        super().__init__(None)
        self._value = value

    def _get_session(self, no_load: bool = False) -> dict[str, Any]:
        # SessionBase loads only under a session key; this one has none, only the cookie.
        self.accessed = True
        cache: dict[str, Any] | None = self.__dict__.get("_session_cache")
        if cache is None:
            cache = {} if no_load else self.load()
            self.__dict__["_session_cache"] = cache
        return cache

    _session = property(_get_session)  # SessionBase's property names its own method

    def load(self) -> dict[str, Any]:
        """The flow's content, or an empty one for a missing, forged or stale cookie."""
        if not self._value:
            return {}
        try:
            data = signing.loads(self._value, salt=_FLOW_SALT, max_age=FLOW_MAX_AGE)
        except (signing.BadSignature, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def exists(self, session_key: str) -> bool:
        """No key, no table: nothing to look up."""
        return False

    def create(self) -> None:
        """Nothing to create: the content is the cookie."""
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        """Nothing to save: :meth:`cookie_value` is written into the response."""

    def delete(self, session_key: str | None = None) -> None:
        """Forget the flow's content."""
        self.__dict__["_session_cache"] = {}
        self.modified = True

    def cycle_key(self) -> None:
        """No key to cycle."""

    def cookie_value(self) -> str:
        """The signed content, for :data:`FLOW_COOKIE`."""
        return signing.dumps(self._get_session(), salt=_FLOW_SALT, compress=True)


class FlowNonces:
    """social-auth's nonce storage for the Google flow: a state is spent once, at the callback.

    social-auth records each new ``state`` as a nonce row when the flow starts and consumes
    it at the callback. Here the start records nothing (the state is random and travels in
    the signed flow cookie, which binds it to the browser), and the callback spends it in
    the state store (one counter for :data:`FLOW_MAX_AGE` seconds, the flow cookie's life):
    a replayed callback, even with a copy of the cookie, is refused.
    """

    @classmethod
    def use(cls, server_url: str, timestamp: int, salt: str) -> bool:
        """Nothing to write when a state is made: it is spent, once, by :meth:`consume`."""
        return True

    @classmethod
    def consume(cls, server_url: str, timestamp: int, salt: str) -> bool:
        """True the first time ``salt`` (the state) comes back; False after, or undecidable."""
        name = f"{server_url}|{timestamp}|{salt}".encode("utf-8", "surrogatepass")
        key = f"google-state:{hashlib.sha256(name).hexdigest()[:32]}"
        try:
            count, _ = store.current().incr(key, FLOW_MAX_AGE)
        except Exception as exc:  # a full or unreachable store cannot say: refuse
            logger.warning("Google sign-in state not checked: %s", type(exc).__name__)
            return False
        return count == 1


def _set_flow_cookie(response: HttpResponse, value: str, max_age: int) -> None:
    # Lax, as the session cookie: Google's redirect back is a top-level GET.
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=max_age,
        path="/",
        secure=bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
        httponly=True,
        samesite="Lax",
    )


@contextlib.contextmanager
def _flow_session(request: HttpRequest, flow: FlowSession) -> Iterator[FlowSession]:
    """``request.session`` is ``flow`` inside, the project's own session again after."""
    missing = object()
    original = request.__dict__.get("session", missing)
    request.session = flow
    try:
        yield flow
    finally:
        if original is missing:
            del request.session
        else:
            request.session = original


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class GoogleSignInView(View):
    """``POST signin/google``: keep a safe ``callbackUrl``, redirect to Google with ``state``.

    POST only (a GET would let any page start a sign-in), behind the sign-in
    CSRF policy, never cached; throttled per client address like custom-login
    (``NEXTAUTH_LOGIN_RATE_PER_CLIENT``, its own count) before a session is written.
    """

    http_method_names = ("post", "options")
    backend_name = GOOGLE_BACKEND

    def post(self, request: HttpRequest) -> HttpResponse:
        """Start social-auth's flow; the ``state`` lives in the Django session."""
        from social_core.actions import do_auth

        refused = no_sign_in()
        if refused is not None:
            return refused
        if browser_csrf_failure(request) is not None:
            return csrf_failure_response(request)
        try:
            body = read_body(request)
        except BodyTooLarge:
            return body_too_large()
        except BodyError:
            # No body at all is fine: callbackUrl is optional.
            if request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
                return error_response(400, "invalid_request", "Send a form or a JSON object.")
            body = {}
        refused = throttle_refusal(lambda: throttle.check_client(request, "google-start"))
        if refused is not None:
            return refused
        # The flow's state goes in a signed cookie (FlowSession), not a session row: an
        # anonymous start writes nothing but its throttle counter.
        with _flow_session(request, FlowSession()) as flow:
            backend = load_social_backend(request, self.backend_name)
            flow[CALLBACK_SESSION_KEY] = safe_redirect_url(body.get("callbackUrl"))
            response: HttpResponse = do_auth(backend)
        _set_flow_cookie(response, flow.cookie_value(), FLOW_MAX_AGE)
        return response


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class GoogleCallbackView(View):
    """``GET callback/google``: check ``state``, finish the pipeline, which mints the token.

    Any failure (``error=access_denied``, a missing, forged or replayed
    ``state``, an unverified email, an inactive user) redirects to
    ``NEXTAUTH_SIGNIN_URL?error=...`` through :meth:`on_error`; under ``DEBUG``
    the exception is raised instead, to be seen.
    """

    http_method_names = ("get", "post", "options")
    backend_name = GOOGLE_BACKEND

    def get(self, request: HttpRequest) -> HttpResponse:
        """Complete the flow from its cookie, which goes whatever the outcome."""
        with _flow_session(request, FlowSession(request.COOKIES.get(FLOW_COOKIE))):
            response = self.complete(request)
        # Single use: a replayed callback finds no flow and is refused.
        _set_flow_cookie(response, "", 0)
        return response

    def complete(self, request: HttpRequest) -> HttpResponse:
        """Complete the flow, in the flow's own session (:meth:`get`).

        The state is single use whatever the outcome: :meth:`get` expires the flow cookie that
        holds it, and a copy of that cookie replayed finds it spent (:class:`FlowNonces`).
        """
        from social_core.actions import do_complete
        from social_core.exceptions import SocialAuthBaseException

        backend = load_social_backend(request, self.backend_name)
        try:
            response = do_complete(backend, login=_no_session_login, redirect_name="next")
        except SocialAuthBaseException as exc:
            if settings.DEBUG:
                raise
            return self.on_error(request, exc)
        if not getattr(request, "nextauth_token_issued", False):
            raise ImproperlyConfigured(
                "SOCIAL_AUTH_PIPELINE must end with django_nextauth_jwt.pipeline.issue_token "
                "(use django_nextauth_jwt.pipeline.PIPELINE)."
            )
        result: HttpResponse = response
        return result

    post = get  # Google's response_mode=form_post

    def on_error(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        """Redirect to the sign-in page with a NextAuth-style ``error``; override to customise."""
        from social_core.exceptions import AuthCanceled, AuthPolicyError, AuthResponseError

        code = "OAuthCallback"
        if isinstance(exc, AuthCanceled | AuthPolicyError | AuthResponseError):
            code = "AccessDenied"
        logger.warning("Google sign-in refused: %s", type(exc).__name__)
        callback = safe_redirect_url(request.session.pop(CALLBACK_SESSION_KEY, None))
        return HttpResponseRedirect(signin_url(error=code, callbackUrl=callback))


def _no_session_login(backend: Any, user: Any, social_user: Any) -> None:
    # The pipeline's last step answers with a token; a Django session login
    # would only happen if that step were missing (the view refuses then).
    return None


class JWKSView(View):
    """``GET jwks``: the public keys of ``NEXTAUTH_SIGNING_KEYS`` as a JWK Set.

    What the other services verify ``jws-asymmetric`` tokens with; only public members are
    ever written. Cacheable for ``NEXTAUTH_JWKS_MAX_AGE`` seconds, with an ``ETag``; 404
    when this service signs with no key pair.
    """

    http_method_names = ["get", "head", "options"]  # noqa: RUF012 - as View declares it

    def get(self, request: HttpRequest) -> HttpResponse:
        """The JWK Set, or a 304 when the client's ``If-None-Match`` is current."""
        document = published_jwks()
        if document is None:
            return error_response(404, "not_found", "This service publishes no keys.")
        body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        cache_control = f"public, max-age={int(app_settings.JWKS_MAX_AGE)}"
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = cache_control
        response["Access-Control-Allow-Origin"] = "*"
        return response
