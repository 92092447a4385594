"""`make run` as the README says: the example on the port asked for, a clear word on a busy one."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import require
from tests.servers import ROOT, free_port, running


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_port_free_names_a_busy_port_and_another_to_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "scripts/port-free.py", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert f"make run PORT={port + 10}" in result.stderr
    free = subprocess.run(
        [sys.executable, "scripts/port-free.py", str(free_port())], cwd=ROOT, check=False
    )
    assert free.returncode == 0


# Both may install the example's packages into the one .venv: never at the same time
# (make test runs pytest with --dist loadgroup).
@pytest.mark.xdist_group("make-run")
def test_make_run_serves_the_example_on_the_port_given(tmp_path: Path) -> None:
    require(shutil.which("make") is not None, "make is needed")
    # As a person runs it: no test settings module inherited from pytest.
    env = {"SQLITE_PATH": str(tmp_path / "run.sqlite3"), "DJANGO_SETTINGS_MODULE": "mesh.settings"}
    # The set-up first, to the end: a server that answers early (another test's, on a port taken
    # in between) must not cut a pip install in the shared .venv short when `running` stops make.
    setup = subprocess.run(
        ["make", ".venv/.example"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    for _ in range(3):
        port = free_port()
        try:
            with (
                running(
                    ["make", "run", f"PORT={port}"],
                    f"http://127.0.0.1:{port}/healthz",
                    cwd=ROOT,
                    env=env,
                    timeout=300,  # make run may first install the example's packages
                ),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/signin/", timeout=5) as page,
            ):
                assert page.status == 200
                assert b"<form" in page.read()
            break
        except RuntimeError:
            # Another test's server may take the free port before make run binds it: that
            # is make run refusing a busy port, as it should. Anything else is a failure.
            if port_is_free(port):
                raise
    else:
        pytest.fail("three free ports were taken by other servers before make run bound them")
    # The example's set-up installs the package with its example extras, not the dev group.
    dry = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert '-e ".[drf,social,channels,ninja]"' in dry.stdout
    assert "--group" not in dry.stdout


@pytest.mark.xdist_group("make-run")
def test_make_run_does_not_reinstall_over_a_current_development_install() -> None:
    # make test's install has the example's packages: reinstalling the package under running
    # tests (or a Ctrl-C in the middle) would leave the shared .venv half-installed.
    installed = ROOT / ".venv" / ".installed"
    require(installed.is_file(), "make test's development install (.venv/.installed) is needed")
    assert installed.stat().st_mtime > (ROOT / "pyproject.toml").stat().st_mtime
    # -W: as if pyproject.toml had just changed, so the example's set-up runs now.
    result = subprocess.run(
        ["make", "-W", "pyproject.toml", ".venv/.example"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "the development install in .venv has the example's packages" in result.stdout
    assert "pip" not in result.stdout + result.stderr


@pytest.mark.xdist_group("make-run")
def test_make_run_on_a_busy_port_stops_with_the_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert "runserver" not in result.stdout


def _bare_path(tmp_path: Path) -> str:
    """A PATH with bash and coreutils but no npm, apt-get or dpkg-query."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "id", "grep", "touch", "cat"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.parametrize(
    ("script", "args", "says"),
    [
        ("scripts/npm-ci.sh", ["tests/interop/node"], "npm not found: install Node 20+"),
        ("scripts/system-packages.sh", [], "Missing Debian packages: golang-go"),
    ],
)
def test_set_up_without_a_tool_carries_on_outside_ci_and_fails_in_ci(
    tmp_path: Path, script: str, args: list[str], says: str
) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    path = _bare_path(tmp_path)
    outcomes = {}
    for ci in ("", "true"):
        result = subprocess.run(
            [bash, script, *args],
            cwd=ROOT,
            env={"PATH": path, "CI": ci},
            capture_output=True,
            text=True,
            check=False,
        )
        assert says in result.stderr
        outcomes[ci] = result.returncode
    assert outcomes == {"": 0, "true": 1}


def test_make_docs_installs_the_docs_group_alone() -> None:
    # A 2.5 s build should not install the whole development group (Node-free, database-free).
    dry = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    assert "--group docs" in dry.stdout
    assert "--group dev" not in dry.stdout
    assert '-e "' not in dry.stdout
    assert "mkdocs build --strict" in dry.stdout


def test_every_python_version_named_is_the_one_pyproject_requires() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'requires-python = ">=(3\.\d+)"', pyproject)
    assert found
    texts = {
        path: path.read_text()
        for path in [ROOT / "Makefile", ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    }
    named = {
        (path.name, version)
        for path, text in texts.items()
        for version in re.findall(r"Python (3\.\d+)\+", text)
    }
    assert ("Makefile", found[1]) in named
    assert {version for _, version in named} == {found[1]}, named


def test_make_mutate_takes_the_same_time_wherever_it_is_stated() -> None:
    # It was "minutes", "tens of minutes" and "about 50 minutes" in three places; with 22
    # modules a fresh run is two hours or more (measured in docs/development.md), and the way
    # through it is a shard a module.
    places = [ROOT / "Makefile", ROOT / "README.md", ROOT / "docs" / "development.md"]
    for path in places:
        text = " ".join(path.read_text().split())
        assert "two hours or more" in text, path.name
        assert "--module views" in text, path.name
        assert "tens of minutes" not in text, path.name
        assert "well over an hour" not in text, path.name
    assert "--jobs 3" in " ".join((ROOT / "Makefile").read_text().split())
