"""The supported-versions matrix: `make matrix` (not part of `make test`).

Each session installs the package with its extras and the test group, with Django and DRF
pinned to one supported series, then runs the test suite less the end-to-end and tooling tests
that do not depend on the Django version.
The classifiers in pyproject.toml name exactly these versions (tests/test_packaging.py).
"""

from __future__ import annotations

import re

import nox

#: The Python versions the matrix runs on: this machine's.
PYTHONS = ["3.11"]

#: Django series -> the pins installed with it: the newest DRF for that series (3.18 needs 5.2).
DJANGO = {
    "4.2": ["Django~=4.2.0", "djangorestframework~=3.17.0"],
    "5.1": ["Django~=5.1.0", "djangorestframework~=3.17.0"],
    "5.2": ["Django~=5.2.0", "djangorestframework~=3.18.0"],
}

#: Google sign-in, the [social] extra, needs social-auth-core 7 (single-use state transactions,
#: email_verified), so social-auth-app-django 8, so Django 5.2. Before 5.2 the sessions install
#: the newest social-auth-app-django of the series, which the test settings load, and leave out
#: the Google sign-in tests: tests/test_google.py, and every test using its `google` fixture.
SOCIAL_BEFORE_5_2 = {
    "4.2": "social-auth-app-django~=5.4.3",
    "5.1": "social-auth-app-django~=5.8.0",
}
GOOGLE_TESTS = ["--ignore=tests/test_google.py", "-p", "tests.matrix_plugin"]

#: Left out of the matrix: browser, mesh and process tests (real servers, Chromium, Go: the
#: same on every Django), `make`, packaging and benchmark tests (they drive the project's .venv,
#: build tools and the bench group), import-linter and the deployment-file checks.
NOT_IN_MATRIX = [
    "tests/test_browser.py",
    "tests/test_nextjs_browser.py",
    "tests/test_mesh.py",
    "tests/test_mesh_asymmetric.py",
    "tests/test_processes.py",
    "tests/test_make_commands.py",
    "tests/test_packaging.py",
    "tests/test_architecture.py",
    "tests/test_benchmarks.py",
    "tests/test_deploy_manifests.py",
]

#: Pinned per session, so taken out of the test group before it is installed.
PINNED = re.compile(
    r"^(django|djangorestframework|social-auth-app-django)\s*([<>=!~;\[]|$)", re.IGNORECASE
)

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True


@nox.session(python=PYTHONS)
@nox.parametrize("django", list(DJANGO))
def tests(session: nox.Session, django: str) -> None:
    """The test suite on one Django series, with its DRF (and social-auth-app-django)."""
    group = nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "test")
    if django in SOCIAL_BEFORE_5_2:
        package, extra, google = ".[drf,redis]", [SOCIAL_BEFORE_5_2[django]], GOOGLE_TESTS
    else:
        package, extra, google = ".[drf,social,redis]", [], []
    session.install(
        "-e", package, *[r for r in group if not PINNED.match(r)], *DJANGO[django], *extra
    )
    session.run("python", "-m", "pip", "check")
    session.run(
        "python",
        "-c",
        "import django, rest_framework, social_django, social_core; "
        f"assert '%d.%d' % django.VERSION[:2] == '{django}', django.__version__; "
        "print('Django', django.__version__, '| DRF', rest_framework.__version__, "
        "'| social-auth-app-django', social_django.__version__, "
        "'| social-auth-core', social_core.__version__)",
    )
    ignored = [f"--ignore={path}" for path in NOT_IN_MATRIX]
    session.run(
        "python", "-m", "pytest", "-n", "2", "-p", "no:cacheprovider",
        *ignored, *google, *session.posargs,
    )  # fmt: skip
