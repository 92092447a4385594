"""URLs for ``tests.settings_nodrf``: plain Django views only."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tests import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("page/", views.whoami),
    path("private/page/", views.whoami),
    path("private/public/page/", views.whoami),
    path("api/plain/", views.whoami),
    path("async/page/", views.awhoami),
    path("private/async/", views.awhoami),
]
