from __future__ import annotations

import importlib.util

from django.urls import URLPattern, URLResolver, include, path

from django_nextauth_jwt.views import JWKSView
from mesh import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home),
    path("signin/", views.signin, name="signin"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("healthz", views.healthz),
    # The public keys of NEXTAUTH_SIGNING_KEYS (jws-asymmetric), where JWKS clients look first.
    path(".well-known/jwks.json", JWKSView.as_view()),
    path("api/auth/", include("django_nextauth_jwt.urls")),
    path("api/me/", views.MeView.as_view()),
    path("api/admin/", views.AdminView.as_view()),
]

if importlib.util.find_spec("ninja") is not None:  # the [ninja] extra: make run installs it
    from mesh.ninja_api import api

    urlpatterns.append(path("api/ninja/", api.urls))
