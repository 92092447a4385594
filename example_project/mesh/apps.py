from __future__ import annotations

from django.apps import AppConfig


class MeshConfig(AppConfig):
    name = "mesh"
    verbose_name = "Example mesh service"
