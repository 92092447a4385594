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

import pytest
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


# -- links, anchors and the shape of the pages -----------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
#: Pages linked from the site or the README that the link checker reads.
PAGES = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> str:
    """``text`` without fenced code blocks (a link in a code sample is not a link)."""
    return FENCE.sub("", text)


def anchors(page: Path) -> set[str]:
    """The ids MkDocs gives the headings of ``page`` (Python-Markdown's toc, duplicates _1, _2)."""
    from markdown.extensions.toc import slugify, unique

    seen: set[str] = set()
    for _, title in HEADING.findall(prose(page.read_text())):
        text = re.sub(r"`([^`]*)`", r"\1", title)  # code spans keep their text
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep theirs
        unique(slugify(text, "-"), seen)
    return seen


def broken_links(page: Path) -> list[str]:
    """Every relative link of ``page`` whose file, or heading anchor, does not exist."""
    problems = []
    text = INLINE_CODE.sub("``", prose(page.read_text()))
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:: not ours to check offline
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            problems.append(f"{page.name}: {target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{page.name}: {target}: no heading #{anchor} in {linked.name}")
    return problems


def test_every_relative_link_and_anchor_of_the_docs_and_readme_resolves() -> None:
    assert [problem for page in PAGES for problem in broken_links(page)] == []


def test_the_link_checker_reports_a_missing_page_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## Here `code`\n\n"
        "[fine](other.md#a-section) [twice](other.md#a-section_1) [self](#here-code)\n"
        "[gone](missing.md) [no anchor](other.md#nowhere) [nor here](#nowhere)\n"
        "`[in code](missing.md)` [web](https://example.com/x#y)\n"
        "```\n[in a block](missing.md)\n```\n"
    )
    assert broken_links(page) == [
        "page.md: missing.md: no such file",
        "page.md: other.md#nowhere: no heading #nowhere in other.md",
        "page.md: #nowhere: no heading #nowhere in page.md",
    ]


#: The pages these rules of shape hold (the README and the guides restructured with them);
#: a page joins the list once it follows them. The link checker above reads every page.
TIDY = [
    "README.md",
    *(f"docs/{name}.md" for name in ("authentication", "commands", "development", "index")),
    *(f"docs/{name}.md" for name in ("mesh", "nextauth", "nextjs", "python-api", "sign-in")),
    *(f"docs/{name}.md" for name in ("troubleshooting", "verification", "benchmarks")),
    *(f"docs/{name}.md" for name in ("security", "asymmetric", "integrations", "checks")),
]


@pytest.mark.parametrize("name", [n for n in TIDY if n.startswith("docs/")])
def test_every_page_links_to_another_page(name: str) -> None:
    # A page that links nowhere is a dead end (troubleshooting.md and authentication.md were):
    # each says where to go next.
    targets = LINK.findall(INLINE_CODE.sub("``", prose((ROOT / name).read_text())))
    assert any(not target.startswith("#") for target in targets), name


def test_the_quickstart_included_in_the_site_has_no_relative_link() -> None:
    # The README's quickstart is included in docs/index.md: a relative link would resolve
    # from one of the two places only.
    start, end = "<!-- --8<-- [start:quickstart] -->", "<!-- --8<-- [end:quickstart] -->"
    quickstart = README[README.index(start) : README.index(end)]
    assert [t for t in LINK.findall(prose(quickstart)) if "://" not in t] == []


@pytest.mark.parametrize("name", TIDY)
def test_no_page_points_above_or_below(name: str) -> None:
    # The pages were split and reordered once, and six "see above"/"below" went stale: point
    # with a link instead. A threshold ("fails below that") is no pointer.
    text = INLINE_CODE.sub("``", prose((ROOT / name).read_text()))
    pointers = [
        f"line {text[: m.start()].count(chr(10)) + 1}: ...{text[m.start() - 40 : m.end()]!r}"
        for m in re.finditer(r"\b(above|below)\b(?! (?:that|the (?:limit|threshold)))", text)
    ]
    assert pointers == [], name


@pytest.mark.parametrize("name", TIDY)
def test_table_cells_hold_a_phrase_not_a_paragraph(name: str) -> None:
    text = prose((ROOT / name).read_text())
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        for cell in re.split(r"(?<!\\)\|", line.strip().strip("|")):
            words = INLINE_CODE.sub("``", cell.strip())
            assert len(cell.strip()) <= 200, (name, cell.strip()[:80])
            assert not re.search(r"[.;] [A-Z]", words), (name, cell.strip()[:80])


def test_troubleshooting_links_every_error_code_to_its_cause() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "django_nextauth_jwt").rglob("*.py"))
    codes = set(re.findall(r'\b(?:default_)?code = "([a-z_]+)"', source))
    codes |= set(re.findall(r'error_response\(\s*\d+,\s*"([a-z_]+)"', source))
    codes -= {"nextauth_error"}  # the root class: never an answer on its own
    assert {"token_missing", "token_invalid", "csrf_failed", "not_found"} <= codes
    page = (DOCS / "troubleshooting.md").read_text()
    table = page[page.index("## Every error code and its cause") :]
    table = table[: table.index("\n## ")]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    for code in codes:
        (row,) = [r for r in rows if f"`{code}`" in r.split("|")[1]]
        assert LINK.search(row), f"{code}: its row links to no cause"
