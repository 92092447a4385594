"""The docs and the code stay in step, and the docs site builds without a warning.

Every setting the package reads has a heading in ``docs/settings.md`` (and every heading is a
setting it reads), every route is in ``docs/sign-in.md``, every ``make`` target the README or
the docs name exists, and ``mkdocs build --strict`` passes: a broken link or a missing page fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from django.urls import get_resolver

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


def test_every_setting_read_by_the_package_has_a_docs_heading_and_back() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "django_nextauth_jwt").rglob("*.py"))
    read = set(re.findall(r'getattr\(settings, "(NEXTAUTH_[A-Z_]+)"', source))
    page = (DOCS / "settings.md").read_text()
    documented = set(re.findall(r"^#+ `(NEXTAUTH_[A-Z_]+): ", page, re.MULTILINE))
    assert read
    assert read == documented


def test_every_auth_endpoint_is_in_the_docs() -> None:
    resolver = get_resolver("django_nextauth_jwt.urls")
    routes = {str(pattern.pattern) for pattern in resolver.url_patterns}
    page = (DOCS / "sign-in.md").read_text()
    assert routes
    for route in routes:
        assert f"/api/auth/{route}`" in page, route


def test_commands_named_in_readme_and_docs_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    texts = [README, *(p.read_text() for p in DOCS.glob("*.md"))]
    targets = {t for text in texts for t in re.findall(r"`make ([a-z]+)", text)}
    assert {"run", "test", "docs"} <= targets
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target


def test_the_readme_links_only_files_that_exist() -> None:
    for target in re.findall(r"\]\(((?!https?://)[^)#]+)", README):
        assert (ROOT / target).exists(), target


def test_the_docs_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    index = (tmp_path / "site" / "index.html").read_text()
    # The quickstart is the README's own, included, not a copy that could drift.
    assert "startproject" in index
    assert (tmp_path / "site" / "settings" / "index.html").exists()
