"""``path("api/auth/", include("django_nextauth_jwt.urls"))``: NextAuth-shaped auth routes."""

from __future__ import annotations

from django.urls import path

from django_nextauth_jwt import views

app_name = "nextauth_jwt"

urlpatterns = [
    path("custom-login", views.CustomLoginView.as_view(), name="custom-login"),
    path("session", views.SessionView.as_view(), name="session"),
    path("signout", views.SignOutView.as_view(), name="signout"),
    path(
        "signout-everywhere",
        views.SignOutEverywhereView.as_view(),
        name="signout-everywhere",
    ),
    path("csrf", views.csrf_view, name="csrf"),
    path("jwks", views.JWKSView.as_view(), name="jwks"),
    path("signin/google", views.GoogleSignInView.as_view(), name="signin-google"),
    path("callback/google", views.GoogleCallbackView.as_view(), name="callback-google"),
]
