"""The architecture as a test: the import-linter contracts hold, and they bite.

``pyproject.toml`` holds the contracts (the layers of ``ARCHITECTURE.md``, a
Django-free codec, DRF in one module). Each breaking test copies the package,
plants one bad import, and expects ``lint-imports`` to name the broken contract.
The codec's own tests run in a process where Django is never imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

LAYERS = "Layers: imports point down"
CODEC_BARE = "The token core (jose/) imports neither Django nor DRF"
STATE = "state/: revocation and throttle over store, store over localview"
JOSE = "jose/: codec and jwks over jwk, jwk over formats"
DRF_ONE_MODULE = "Only authentication imports DRF"
SPECTACULAR_ONE_MODULE = "Only authentication imports drf-spectacular"
CHANNELS_ONE_MODULE = "Only integrations.channels imports Channels"
NINJA_ONE_MODULE = "Only integrations.ninja imports Django Ninja"
ADRF_NONE = "No module imports adrf (NextAuthJWTAuthentication works under it as it is)"
CONTRACTS = (
    LAYERS,
    STATE,
    JOSE,
    CODEC_BARE,
    DRF_ONE_MODULE,
    SPECTACULAR_ONE_MODULE,
    CHANNELS_ONE_MODULE,
    NINJA_ONE_MODULE,
    ADRF_NONE,
)


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def planted(tmp_path: Path, module: str, code: str) -> Path:
    """A copy of the package with ``code`` appended to ``module`` (a path below the package,
    ``state/store`` say; or a new module)."""
    shutil.copytree(
        ROOT / "django_nextauth_jwt",
        tmp_path / "django_nextauth_jwt",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "django_nextauth_jwt" / f"{module}.py"
    existing = target.read_text() if target.exists() else ""
    target.write_text(existing + "\n" + textwrap.dedent(code))
    return tmp_path


def test_the_package_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout
    assert f"{len(CONTRACTS)} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "code", "broken"),
    [
        # conf reaching up to clear the facade's caches: the old cycle.
        ("conf", "from django_nextauth_jwt import tokens\n", LAYERS),
        # The same, hidden in a function: late imports count too.
        ("conf", "def _late():\n    from django_nextauth_jwt.state import revocation\n", LAYERS),
        # The facade's callers below it.
        ("state/revocation", "def _late():\n    from django_nextauth_jwt import tokens\n", LAYERS),
        # views and pipeline are siblings: neither imports the other.
        ("pipeline", "def _late():\n    from django_nextauth_jwt.views import sign_in\n", LAYERS),
        # The two shells are siblings over the request path: neither reaches through the other.
        ("authentication", "from django_nextauth_jwt.middleware import REALM\n", LAYERS),
        # A module nobody placed in a layer, at the top and in a folder.
        ("helpers", "from django_nextauth_jwt import conf\n", LAYERS),
        ("state/helpers", "import os\n", STATE),
        # Inside the folders: the store never reaches up to the deny-list, keys never to the codec.
        (
            "state/store",
            "def _late():\n    from django_nextauth_jwt.state import revocation\n",
            STATE,
        ),
        ("jose/jwk", "def _late():\n    from django_nextauth_jwt.jose import codec\n", JOSE),
        # The token core stays bare, directly or through a module of the package.
        ("jose/codec", "import django.conf\n", CODEC_BARE),
        ("jose/jwks", "from django_nextauth_jwt import conf\n", CODEC_BARE),
        ("views", "def _late():\n    import rest_framework.views\n", DRF_ONE_MODULE),
        # Each integration's framework in its one module, reached late or through a sibling.
        ("middleware", "def _late():\n    import drf_spectacular.utils\n", SPECTACULAR_ONE_MODULE),
        ("integrations/ninja", "def _late():\n    import channels.layers\n", CHANNELS_ONE_MODULE),
        ("integrations/channels", "import ninja\n", NINJA_ONE_MODULE),
        ("authentication", "def _late():\n    import adrf.views\n", ADRF_NONE),
        # The integrations are a shell beside the other two: neither reaches through the other.
        (
            "integrations/channels",
            "from django_nextauth_jwt.middleware import REALM\n",
            LAYERS,
        ),
    ],
)
def test_a_planted_import_breaks_its_contract(
    tmp_path: Path, module: str, code: str, broken: str
) -> None:
    result = lint_imports(planted(tmp_path, module, code))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken} BROKEN" in result.stdout


def test_the_codec_suite_runs_without_django() -> None:
    script = textwrap.dedent(
        """
        import sys, pytest
        rc = pytest.main(["-p", "no:django", "-p", "no:cacheprovider", "-o", "addopts=",
                          "-W", "ignore::pytest.PytestConfigWarning", "-q", "tests/codec"])
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("django", "rest_framework"))
        print("LOADED:", ",".join(loaded) or "nothing")
        sys.exit(rc)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LOADED: nothing" in result.stdout
    assert " passed" in result.stdout
    assert "failed" not in result.stdout
