from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from tests import views_drf
from tests.urls_nodrf import urlpatterns as plain_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [
    *plain_urlpatterns,
    path("api/auth/", include("django_nextauth_jwt.urls")),
    path("api/me/", views_drf.MeView.as_view()),
    path("api/public/", views_drf.PublicView.as_view()),
    path("api/admin/", views_drf.AdminView.as_view()),
    path("api/editor/", views_drf.EditorView.as_view()),
]
