"""The package as it would be published: the sdist and wheel `python -m build` makes, checked by
twine and check-wheel-contents, and the wheel installed in a clean venv and used there.

The build runs without isolation, with the hatchling of the project's venv (the `package`
dependency group), so it is quick and needs no index. Like pip building from an sdist, `build`
makes the sdist first and then the wheel from the unpacked sdist: the wheel proves the sdist builds.
"""

from __future__ import annotations

import email.parser
import importlib.util
import json
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "django_nextauth_jwt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
VERSION_MATCH = re.search(r'^__version__ = "([^"]+)"$', (PACKAGE / "__init__.py").read_text(), re.M)
assert VERSION_MATCH
VERSION = VERSION_MATCH.group(1)
BIN = Path(sys.executable).parent
INSTALL_HINT = "install the package dependency group: make install"


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, check=False
    )


def tool(name: str) -> Path:
    path = BIN / name
    require(path.is_file(), f"{name} is needed: {INSTALL_HINT}")
    return path


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    for module in ("build", "hatchling"):
        require(importlib.util.find_spec(module) is not None, f"{module}: {INSTALL_HINT}")
    out = tmp_path_factory.mktemp("dist")
    built = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    assert built.returncode == 0, built.stdout + built.stderr
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    assert sdist.name == f"django_nextauth_jwt-{VERSION}.tar.gz"
    assert wheel.name == f"django_nextauth_jwt-{VERSION}-py3-none-any.whl"
    return Dist(sdist, wheel)


# -- the distributions, as twine and check-wheel-contents see them -----------------------------


def test_twine_check_strict_passes_both_distributions(dist: Dist) -> None:
    # The metadata PyPI would accept, and a README that renders as its project page.
    result = run(tool("twine"), "check", "--strict", dist.sdist, dist.wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_check_wheel_contents_finds_the_source_package_and_nothing_else(dist: Dist) -> None:
    # --package: the wheel's library is exactly the source package (W201/W202 name a missing
    # or an extra file); --toplevel: nothing else at the top (no tests/, no stray modules).
    result = run(
        tool("check-wheel-contents"),
        "--no-config",
        "--package",
        PACKAGE,
        "--toplevel",
        "django_nextauth_jwt",
        dist.wheel,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"{dist.wheel}: OK"


# -- the wheel ---------------------------------------------------------------------------------


def wheel_names(dist: Dist) -> set[str]:
    with zipfile.ZipFile(dist.wheel) as archive:
        return set(archive.namelist())


def test_wheel_ships_every_package_file_with_py_typed_and_no_tests_or_example(dist: Dist) -> None:
    names = wheel_names(dist)
    info = f"django_nextauth_jwt-{VERSION}.dist-info"
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert "django_nextauth_jwt/py.typed" in sources
    assert {name for name in names if not name.startswith(f"{info}/")} == sources
    assert {name.split("/")[0] for name in names} == {"django_nextauth_jwt", info}
    assert f"{info}/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith(("tests/", "example_project/", "benchmarks/"))]


def test_wheel_metadata_has_the_version_dependencies_and_classifiers_of_pyproject(
    dist: Dist,
) -> None:
    with zipfile.ZipFile(dist.wheel) as archive:
        metadata = email.parser.Parser().parsestr(
            archive.read(f"django_nextauth_jwt-{VERSION}.dist-info/METADATA").decode()
        )
    assert metadata["Name"] == "django-nextauth-jwt"
    assert metadata["Version"] == VERSION
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == PROJECT["requires-python"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_all("Classifier") == PROJECT["classifiers"]
    assert set(metadata.get_all("Provides-Extra") or []) == {
        "drf",
        "social",
        "redis",
        "channels",
        "ninja",
        "adrf",
    }
    requires = metadata.get_all("Requires-Dist") or []
    # Hatchling writes names in lower case and sorted.
    base = sorted(r.lower() for r in PROJECT["dependencies"])
    assert sorted(r for r in requires if "extra ==" not in r) == base


#: Run by the clean venv's Python, from an empty folder, in isolated mode (-I): the checkout is
#: not on sys.path, so everything below comes from the installed wheel.
USE_THE_WHEEL = """
import importlib, importlib.metadata, importlib.resources, importlib.util, json, sys
import django_nextauth_jwt
from django_nextauth_jwt.jose import codec

keys = codec.Keyring(["wheel-check-secret-0123456789abcdef"])
payload = {"sub": "1", "email": "ada@example.com"}
roundtrips = {
    fmt: codec.decode(codec.encode(payload, keys, format=fmt), keys) == payload
    for fmt in ("jws", "nextauth-v4", "authjs-v5")
}

import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django_nextauth_jwt"],
    NEXTAUTH_SECRET="wheel-check-secret-0123456789abcdef",
    NEXTAUTH_JWT_FORMAT="authjs-v5",
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()
from django.core import checks
errors = [m.id for m in checks.run_checks() if m.level >= checks.ERROR]
import django_nextauth_jwt.integrations  # the package itself needs no framework
glue = {}
for name in ("channels", "ninja"):
    try:
        importlib.import_module(f"django_nextauth_jwt.integrations.{name}")
    except ImportError:
        glue[name] = "needs its extra"

print(json.dumps({
    "version": django_nextauth_jwt.__version__,
    "distribution": importlib.metadata.version("django-nextauth-jwt"),
    "file": django_nextauth_jwt.__file__,
    "codec": codec.__file__,
    "py_typed": importlib.resources.files("django_nextauth_jwt").joinpath("py.typed").is_file(),
    "tests": importlib.util.find_spec("tests") is not None,
    "example": importlib.util.find_spec("example_project") is not None,
    "roundtrips": roundtrips,
    "check_errors": errors,
    "integrations": glue,
    "prefix": sys.prefix,
}))
"""


def test_the_wheel_installs_in_a_clean_venv_and_works_there(dist: Dist, tmp_path: Path) -> None:
    # One test, so that xdist installs one venv: the outer pip installs into it (quicker than
    # seeding pip there); pip's cache has Django and cryptography after a machine's first run.
    venv = tmp_path / "venv"
    created = run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--python", python)
    installed = run(*pip, "install", "--quiet", "--no-compile", dist.wheel)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(python, "-I", "-c", USE_THE_WHEEL, cwd=empty)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    site = Path(seen["prefix"]) / "lib"
    assert seen["version"] == seen["distribution"] == VERSION
    assert Path(seen["file"]).is_relative_to(site), seen["file"]
    assert Path(seen["codec"]).is_relative_to(site), seen["codec"]
    assert seen["py_typed"]
    assert not seen["tests"]
    assert not seen["example"]
    assert seen["roundtrips"] == {"jws": True, "nextauth-v4": True, "authjs-v5": True}
    assert seen["check_errors"] == []
    assert seen["integrations"] == {"channels": "needs its extra", "ninja": "needs its extra"}

    # No DRF, social-auth or Redis without their extras: the base install stays small.
    listed = run(*pip, "list", "--format=json")
    assert listed.returncode == 0, listed.stderr
    names = {item["name"].lower() for item in json.loads(listed.stdout)}
    assert {"django-nextauth-jwt", "django", "cryptography"} <= names
    extras = {"djangorestframework", "social-auth-app-django", "redis", "channels", "daphne"}
    assert not names & (extras | {"django-ninja", "adrf", "pydantic"})


# -- the sdist ---------------------------------------------------------------------------------


def sdist_members(dist: Dist) -> set[str]:
    prefix = f"django_nextauth_jwt-{VERSION}/"
    with tarfile.open(dist.sdist) as archive:
        names = [member.name for member in archive.getmembers() if member.isfile()]
    assert all(name.startswith(prefix) for name in names)
    return {name.removeprefix(prefix) for name in names}


def git_files(*args: str) -> set[str]:
    result = run("git", "ls-files", *args)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.splitlines())


#: Tracked files the sdist leaves out ([tool.hatch.build.targets.sdist] exclude).
NOT_IN_SDIST = re.compile(r"^\.ci/")


def test_sdist_is_the_tracked_source_tree_less_ci(dist: Dist) -> None:
    # Everything the test suite reads (example_project/, scripts/, the Makefile, the docs) comes
    # along, so the tests can run from the unpacked sdist; nothing git ignores does.
    require((ROOT / ".git").exists(), "a git checkout is needed to compare the sdist with it")
    members = sdist_members(dist)
    tracked = git_files()
    assert {path for path in tracked if not NOT_IN_SDIST.match(path)} <= members
    untracked = git_files("--others", "--exclude-standard")
    assert members - tracked - untracked == {"PKG-INFO"}
    assert not [m for m in members if NOT_IN_SDIST.match(m)]


def test_sdist_leaves_out_installed_and_local_files(dist: Dist) -> None:
    members = sdist_members(dist)
    local = re.compile(r"(^|/)(node_modules|\.venv|__pycache__|\.nox|\.next)/|(^|/)\.env$|sqlite3$")
    assert not [m for m in members if local.search(m)]
    assert {"pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"} <= members
    pkg_info = email.parser.Parser().parsestr(read_member(dist, "PKG-INFO"))
    assert pkg_info["Version"] == VERSION


def read_member(dist: Dist, name: str) -> str:
    with tarfile.open(dist.sdist) as archive:
        member = archive.extractfile(f"django_nextauth_jwt-{VERSION}/{name}")
        assert member is not None
        return member.read().decode()


# -- classifiers and the supported-versions matrix (noxfile.py, `make matrix`) ---------------


@pytest.fixture(scope="module")
def noxfile() -> ModuleType:
    require(importlib.util.find_spec("nox") is not None, f"nox: {INSTALL_HINT}")
    spec = importlib.util.spec_from_file_location("noxfile", ROOT / "noxfile.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def classified(prefix: str) -> set[str]:
    return {c.removeprefix(prefix) for c in PROJECT["classifiers"] if c.startswith(prefix)}


def test_classifiers_name_exactly_the_django_and_python_versions_of_the_matrix(
    noxfile: ModuleType,
) -> None:
    assert classified("Framework :: Django :: ") == set(noxfile.DJANGO)
    assert classified("Programming Language :: Python :: 3.") == {
        version.removeprefix("3.") for version in noxfile.PYTHONS
    }


def test_the_matrix_pins_each_series_and_starts_at_the_declared_floor(
    noxfile: ModuleType,
) -> None:
    for series, pins in noxfile.DJANGO.items():
        assert pins[0] == f"Django~={series}.0"
        assert [pin.split("~=")[0] for pin in pins] == ["Django", "djangorestframework"]
    oldest = min(noxfile.DJANGO, key=lambda s: tuple(map(int, s.split("."))))
    assert f"Django>={oldest}" in PROJECT["dependencies"]
