"""``tests.urls`` plus the adrf and Django Ninja endpoints (``tests/views_integrations.py``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tests import views_integrations
from tests.urls import urlpatterns as base

urlpatterns: list[URLPattern | URLResolver] = [
    *base,
    path("api/adrf/me/", views_integrations.AsyncMeView.as_view()),
    path("api/adrf/editor/", views_integrations.AsyncEditorView.as_view()),
    path("api/ninja/", views_integrations.api.urls),
]
