from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from mesh import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home),
    path("signin/", views.signin, name="signin"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("healthz", views.healthz),
    path("api/auth/", include("django_nextauth_jwt.urls")),
    path("api/me/", views.MeView.as_view()),
    path("api/admin/", views.AdminView.as_view()),
]
