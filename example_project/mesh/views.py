"""The example service: a sign-in page, a protected page, and two DRF endpoints."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_nextauth_jwt.authentication import HasRole
from django_nextauth_jwt.redirects import safe_redirect_url
from mesh.management.commands.ensure_demo_user import ACCOUNTS

ERRORS = {
    "CredentialsSignin": "Wrong email or password.",
    "AccessDenied": "Google sign-in was refused.",
    "OAuthCallback": "Google sign-in failed; please try again.",
    "MissingCSRF": "The form had expired. Please sign in again.",
}
TIME_CLAIMS = ("iat", "exp", "nbf", "auth_time")


def demo_accounts() -> list[tuple[str, str, str]]:
    """The demo accounts and their built-in passwords, shown in development mode only."""
    if not settings.DEBUG:
        return []
    return [
        (email, os.environ.get(env) or default, "admin role" if staff else "")
        for email, env, default, staff in ACCOUNTS
    ]


def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard")


@ensure_csrf_cookie
def signin(request: HttpRequest) -> HttpResponse:
    """Email/password form (to custom-login) and a Google button (to signin/google)."""
    error = request.GET.get("error")
    context = {
        "callback_url": safe_redirect_url(request.GET.get("callbackUrl")),
        "error": ERRORS.get(error, "Sign-in failed; please try again.") if error else "",
        # The Google button only where Google sign-in is configured.
        "google_enabled": bool(settings.SOCIAL_AUTH_GOOGLE_OAUTH2_KEY),
        "demo_accounts": demo_accounts(),
    }
    return render(request, "mesh/signin.html", context)


def dashboard(request: HttpRequest) -> HttpResponse:
    """Protected by NextAuthJWTMiddleware (NEXTAUTH_PROTECTED_PATHS): no token, no page."""
    claims: dict[str, Any] = request.nextauth.claims  # type: ignore[attr-defined]
    expires = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    rows = [
        (key, value, _when(value) if key in TIME_CLAIMS else None)
        for key, value in sorted(claims.items())
    ]
    return render(
        request, "mesh/dashboard.html", {"claims": claims, "expires": expires, "rows": rows}
    )


def _when(value: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC) if type(value) is int else None


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class MeView(APIView):
    """The caller: who the token says they are, and its verified claims."""

    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user), "claims": request.auth})


class AdminView(APIView):
    """For admins only: tokens whose role is admin."""

    permission_classes = (HasRole("admin"),)

    def get(self, request: Request) -> Response:
        claims: dict[str, Any] = request.auth  # type: ignore[assignment]  # our verified claims
        return Response({"admin": True, "id": claims["id"]})
