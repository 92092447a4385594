"""A pytest plugin for the `make matrix` sessions before Django 5.2 (``-p tests.matrix_plugin``).

There social-auth-core is older than 7, which Google sign-in needs (noxfile.py), so every test
that signs in through the Google stand-in (the ``google`` fixture) is deselected, and counted
as such.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    google = [item for item in items if "google" in getattr(item, "fixturenames", ())]
    if google:
        config.hook.pytest_deselected(items=google)
        items[:] = [item for item in items if item not in google]
