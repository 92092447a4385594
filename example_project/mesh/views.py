"""The example service: a sign-in page, a protected page, and two DRF endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_nextauth_jwt.authentication import HasRole
from django_nextauth_jwt.redirects import safe_redirect_url

ERRORS = {
    "CredentialsSignin": "Wrong email or password.",
    "AccessDenied": "Google sign-in was refused.",
    "OAuthCallback": "Google sign-in failed; please try again.",
}


def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard")


@ensure_csrf_cookie
def signin(request: HttpRequest) -> HttpResponse:
    """Email/password form (to custom-login) and a Google button (to signin/google)."""
    context = {
        "callback_url": safe_redirect_url(request.GET.get("callbackUrl")),
        "error": ERRORS.get(request.GET.get("error", ""), "") if "error" in request.GET else "",
    }
    return render(request, "mesh/signin.html", context)


def dashboard(request: HttpRequest) -> HttpResponse:
    """Protected by NextAuthJWTMiddleware (NEXTAUTH_PROTECTED_PATHS): no token, no page."""
    claims: dict[str, Any] = request.nextauth.claims  # type: ignore[attr-defined]
    expires = dt.datetime.fromtimestamp(claims["exp"], tz=dt.timezone.utc)
    return render(request, "mesh/dashboard.html", {"claims": claims, "expires": expires})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class MeView(APIView):
    """``GET /api/me/``: the caller's verified claims."""

    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user), "claims": request.auth})


class AdminView(APIView):
    """``GET /api/admin/``: only for tokens whose role is admin."""

    permission_classes = (HasRole("admin"),)

    def get(self, request: Request) -> Response:
        claims: dict[str, Any] = request.auth  # type: ignore[assignment]  # our verified claims
        return Response({"admin": True, "id": claims["id"]})
