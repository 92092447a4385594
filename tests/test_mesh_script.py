"""`make mesh` (scripts/mesh.sh) as a person runs it: free ports, one banner that tells the truth.

``scripts/mesh-ports.py`` picks the ports: a default that is taken moves to the next free one,
a port set in its variable must be free or the script stops before building anything, naming
the variable. The script itself runs for real (Next.js, Django, Express, FastAPI, Go) on free
ports, and each line of its banner is checked against what the service answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.nextjs_app import nextjs_installed
from tests.servers import ROOT, express_installed, free_port, go_toolchain, stop
from tests.test_channels import _handshake

PORTS = ROOT / "scripts" / "mesh-ports.py"
MESH = ROOT / "scripts" / "mesh.sh"
NAMES = ("NEXTJS_PORT", "DJANGO_PORT", "EXPRESS_PORT", "FASTAPI_PORT", "GO_PORT")


def ports(*pairs: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in NAMES}
    return subprocess.run(
        [sys.executable, str(PORTS), *pairs],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@contextmanager
def listening() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_a_taken_default_port_moves_to_the_next_free_one_and_says_so() -> None:
    with listening() as busy:
        result = ports(f"DJANGO_PORT={busy}", f"GO_PORT={busy}")
    assert result.returncode == 0, result.stderr
    chosen = dict(line.split("=") for line in result.stdout.split())
    assert int(chosen["DJANGO_PORT"]) > busy
    assert int(chosen["GO_PORT"]) > int(chosen["DJANGO_PORT"])  # never the same port twice
    assert f"Port {busy} on 127.0.0.1 is in use: DJANGO_PORT={chosen['DJANGO_PORT']}" in (
        result.stderr
    )
    assert "(set DJANGO_PORT to choose)" in result.stderr


def test_a_taken_port_set_in_its_variable_stops_naming_the_variable() -> None:
    with listening() as busy:
        result = ports("NEXTJS_PORT=3000", env={"NEXTJS_PORT": str(busy)})
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"Port {busy} on 127.0.0.1 (NEXTJS_PORT) is in use" in result.stderr
    assert re.search(r"set NEXTJS_PORT to another port, e\.g\. NEXTJS_PORT=\d+\.", result.stderr)


def test_free_ports_are_kept_and_a_port_that_is_no_number_is_refused() -> None:
    port = free_port()
    result = ports("DJANGO_PORT=8000", env={"DJANGO_PORT": str(port)})
    assert (result.returncode, result.stdout.strip()) == (0, f"DJANGO_PORT={port}")
    refused = ports("DJANGO_PORT=8000", env={"DJANGO_PORT": "80a"})
    assert refused.returncode == 1
    assert "DJANGO_PORT='80a' is not a port number" in refused.stderr


def test_make_mesh_on_a_taken_port_stops_before_building_anything(tmp_path: Path) -> None:
    with listening() as busy:
        result = subprocess.run(
            ["bash", str(MESH)],
            cwd=ROOT,
            env={**os.environ, "DJANGO_PORT": str(busy), "TMPDIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"Port {busy} on 127.0.0.1 (DJANGO_PORT) is in use" in result.stderr
    assert "Building" not in result.stdout


# -- the whole mesh --------------------------------------------------------------------------


def http(
    url: str, token: str | None = None, body: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"} if body else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@contextmanager
def make_mesh(tmp_path: Path, **env: str) -> Iterator[tuple[str, dict[str, str]]]:
    """scripts/mesh.sh on free ports; yields its output up to the banner's end and the URLs."""
    require(nextjs_installed(), "node and example_project/nextjs/node_modules are needed")
    require(express_installed(), "node and services/express/node_modules are needed")
    require(go_toolchain(), "Go with Debian's gin and golang-jwt is needed (make system)")
    chosen = {name: str(free_port()) for name in NAMES}
    log = tmp_path / "mesh.log"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("NEXTAUTH_", "AUTH_"))}
    with log.open("wb") as output:
        proc = subprocess.Popen(
            ["bash", str(MESH)],
            cwd=ROOT,
            env={
                **inherited,
                **chosen,
                "TMPDIR": str(tmp_path),
                "SQLITE_PATH": str(tmp_path / "mesh.sqlite3"),
                **env,
            },
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 600  # a first `next build` included
        while "Ctrl-C stops them all." not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            time.sleep(0.2)
        urls = {
            name.removesuffix("_PORT").lower(): f"http://127.0.0.1:{port}"
            for name, port in chosen.items()
        }
        for base in (urls["django"] + "/healthz", urls["nextjs"] + "/api/auth/csrf"):
            wait_for(base)
        for name in ("express", "fastapi", "go"):
            wait_for(urls[name] + "/healthz")
        yield log.read_text(errors="replace"), urls
    finally:
        stop(proc)  # TERM: the script's trap stops every service it started


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            assert time.monotonic() < deadline, url
            time.sleep(0.2)


def sign_in(django: str) -> str:
    body = json.dumps({"email": "demo@example.com", "password": "demo-password"}).encode()
    status, answer = http(f"{django}/api/auth/custom-login", body=body)
    assert status == 200, answer
    return str(answer["token"])


def banner_line(output: str, service: str) -> str:
    (line,) = [row for row in output.splitlines() if row.startswith(f"  {service} ")]
    return line


@pytest.mark.parametrize(
    ("fmt", "neighbours"),
    [("jws", (200, None)), ("authjs-v5", (401, "token_unsupported"))],
    ids=["jws", "authjs-v5"],
)
def test_make_mesh_prints_one_banner_that_says_what_each_service_answers(
    tmp_path: Path, fmt: str, neighbours: tuple[int, str | None]
) -> None:
    with make_mesh(tmp_path, NEXTAUTH_JWT_FORMAT=fmt) as (output, urls):
        # One banner: the demo accounts' own text (make run's) is not printed.
        assert output.count("The mesh is up.") == 1
        assert "Example service:" not in output
        assert f"{urls['nextjs']}   open this one" in output
        token = sign_in(urls["django"])
        status, _ = http(f"{urls['django']}/api/me/", token)
        assert status == 200
        # Django under uvicorn serves the protected page's WebSocket to the Next.js origin, with
        # the session cookie a browser on that page sends (NEXTAUTH_WEBSOCKET_ORIGINS).
        cookie = "authjs.session-token" if fmt == "authjs-v5" else "next-auth.session-token"
        live = asyncio.run(
            _handshake(
                urls["django"].replace("http://", "ws://") + "/ws/live/",
                {"Cookie": f"{cookie}={token}", "Origin": urls["nextjs"]},
            )
        )
        assert live.hello is not None, live
        assert live.hello["user"]
        assert banner_line(output, "Django").endswith(f"reads {fmt}: 200")
        for name in ("express", "fastapi", "go"):
            status, body = http(f"{urls[name]}/whoami", token)
            assert (status, body.get("code")) == neighbours, name
            line = banner_line(output, {"fastapi": "FastAPI", "go": "Go"}.get(name, "Express"))
            assert line.split()[1] == urls[name]
            if status == 200:
                assert line.endswith(": 200")
            else:
                assert line.endswith("401 token_unsupported, as expected")
        if fmt == "jws":
            assert "For a token all four verify" not in output
            assert "which only Django and the Next.js app read" not in output
        else:
            assert "For a token all four verify: NEXTAUTH_JWT_FORMAT=jws make mesh" in output
