"""The README and the code stay in step: every setting, check id and endpoint is documented."""

from __future__ import annotations

import re
from pathlib import Path

from django.urls import get_resolver

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_read_by_the_package_has_a_readme_heading_and_back() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "django_nextauth_jwt").rglob("*.py"))
    read = set(re.findall(r'getattr\(settings, "(NEXTAUTH_[A-Z_]+)"', source))
    documented = set(re.findall(r"^### `(NEXTAUTH_[A-Z_]+): ", README, re.MULTILINE))
    assert read
    assert read == documented


def test_every_auth_endpoint_is_in_the_readme() -> None:
    resolver = get_resolver("django_nextauth_jwt.urls")
    routes = {str(pattern.pattern) for pattern in resolver.url_patterns}
    assert routes
    for route in routes:
        assert f"/api/auth/{route}`" in README, route


def test_readme_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"`make ([a-z]+)`", README):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
