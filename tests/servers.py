"""Real server processes for tests: start, wait until they answer, stop.

Ports come from the OS (bind to port 0), so parallel workers never collide.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout}s")


EXAMPLE = ROOT / "example_project"


def redis_up() -> bool:
    """Whether the shared Redis at 127.0.0.1:6379 answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session, and its children: TERM, then KILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def running(
    command: list[str],
    health_url: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, wait until ``health_url`` answers, stop it (and its children) after."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(health_url, proc, timeout)
        yield proc
    finally:
        stop(proc)


@contextlib.contextmanager
def django_server(settings_module: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """``runserver --noreload`` with ``settings_module`` (from the repo root); yields its URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"]
    environment = {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    with running(command, f"{base}/api/auth/session", cwd=ROOT, env=environment):
        yield base


def example_manage(*args: str, env: Mapping[str, str]) -> str:
    """Run the example project's ``manage.py`` and return its output.

    In development mode (``DJANGO_DEBUG=1``, as ``make run``) unless ``env`` says otherwise.
    """
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "mesh.settings", "DJANGO_DEBUG": "1", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


@functools.cache
def _migrated_example_db() -> Path:
    path = Path(tempfile.mkdtemp(prefix="example-db-")) / "template.sqlite3"
    env = {"SQLITE_PATH": str(path), "DJANGO_DEBUG": "1"}  # the demo users need DEBUG
    example_manage("migrate", "--noinput", env=env)
    example_manage("ensure_demo_user", env=env)
    return path


@contextlib.contextmanager
def example_server(
    tmp_path: Path, env: Mapping[str, str] | None = None, *, asgi: bool = False
) -> Iterator[str]:
    """The example service as a user runs it: migrate, demo users, a real server; its URL.

    As ``make run`` starts it (``runserver``), with ``DJANGO_DEBUG=1``, unless ``env`` says
    otherwise; ``asgi``: as ``make mesh`` starts it, under uvicorn, its WebSocket included.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        "DJANGO_SETTINGS_MODULE": "mesh.settings",
        "DJANGO_DEBUG": "1",
        "SQLITE_PATH": str(tmp_path / "example.sqlite3"),
        "MESH_URL": base,
        **(env or {}),
    }
    # A migrated database with the demo users, made once per test process and copied:
    # two Django start-ups less for every server.
    shutil.copyfile(_migrated_example_db(), environment["SQLITE_PATH"])
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    if asgi:
        command = [
            sys.executable, "-m", "uvicorn", "mesh.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
    with running(command, f"{base}/healthz", cwd=EXAMPLE, env=environment):
        yield base


# -- the example mesh's neighbours (example_project/services/) ------------------------------

SERVICES = EXAMPLE / "services"
GO_JWT = Path("/usr/share/gocode/src/github.com/golang-jwt/jwt")


def express_installed() -> bool:
    """``node`` and the Express service's ``npm ci`` (``make install``) are present."""
    modules = SERVICES / "express" / "node_modules"
    return shutil.which("node") is not None and (modules / "jose").is_dir()


def go_toolchain() -> bool:
    """Go and Debian's gin and golang-jwt sources (``make system``) are present."""
    gin = Path("/usr/share/gocode/src/github.com/gin-gonic/gin")
    return shutil.which("go") is not None and gin.is_dir() and GO_JWT.is_dir()


def build_go_service(out_dir: Path) -> Path:
    """Build ``services/go`` offline (GOPATH mode over Debian's sources); the binary's path.

    Debian installs golang-jwt v4 at ``github.com/golang-jwt/jwt``; a throw-away GOPATH maps
    the module path ``github.com/golang-jwt/jwt/v4`` that ``main.go`` imports onto it.
    """
    gopath = out_dir / "gopath"
    link = gopath / "src" / "github.com" / "golang-jwt" / "jwt" / "v4"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(GO_JWT, target_is_directory=True)
    binary = out_dir / "whoami-go"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": f"{gopath}:/usr/share/gocode",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
    }
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "django-nextauth-jwt-gocache"))
    subprocess.run(
        ["go", "build", "-o", str(binary), "."],
        cwd=SERVICES / "go",
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return binary


@contextlib.contextmanager
def neighbour_server(
    kind: str, env: Mapping[str, str], *, go_binary: Path | None = None
) -> Iterator[str]:
    """One neighbour (``express``, ``fastapi`` or ``go``) on a free port; yields its URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    commands = {
        "express": ["node", "server.mjs"],
        "fastapi": [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port)],
        "go": [str(go_binary)],
    }
    environment = {"PORT": str(port), "HOST": "127.0.0.1", **env}
    with running(commands[kind], f"{base}/healthz", cwd=SERVICES / kind, env=environment):
        yield base


def start_all(
    stack: contextlib.ExitStack[Any], servers: Mapping[str, contextlib.AbstractContextManager[str]]
) -> dict[str, str]:
    """Start every server at once; each one that started is pushed onto ``stack`` (stopped
    when it closes). Their URLs by name; the first failure is raised once all have answered."""
    with ThreadPoolExecutor(len(servers)) as pool:
        futures = {name: pool.submit(server.__enter__) for name, server in servers.items()}
    bases: dict[str, str] = {}
    failures: list[BaseException] = []
    for name, future in futures.items():
        try:
            bases[name] = future.result()
        except Exception as error:  # raised below, once the others are stopped with the stack
            failures.append(error)
        else:
            stack.push(servers[name])
    if failures:
        raise failures[0]
    return bases


# -- a built Next.js app (example_project/nextjs, example_project/nextjs-better-auth) -----------


def next_command(app: Path, port: int) -> list[str]:
    """``next start`` of the app built in ``app`` on 127.0.0.1:``port``."""
    binary = str(app / "node_modules" / ".bin" / "next")
    return [binary, "start", "-H", "127.0.0.1", "-p", str(port)]


def next_environment(env: Mapping[str, str], own: tuple[str, ...]) -> dict[str, str]:
    """The test process's environment without the variables starting with ``own``, plus ``env``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    return {**inherited, "NEXT_TELEMETRY_DISABLED": "1", **env}


def next_start_failure(
    app: Path, env: Mapping[str, str], own: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    """``next start`` with a configuration it must refuse: it exits (with its output)."""
    return subprocess.run(
        next_command(app, free_port()),
        cwd=app,
        env=next_environment(env, own),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextlib.contextmanager
def next_server(
    app: Path,
    port: int,
    env: Mapping[str, str],
    log: Path,
    *,
    own: tuple[str, ...],
    ready: str,
    timeout: float = 30,
) -> Iterator[str]:
    """``next start`` on 127.0.0.1:``port`` (its output in ``log``); yields its URL once
    ``ready`` (a path) answers."""
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            next_command(app, port),
            cwd=app,
            env=next_environment(env, own),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            wait_until_up(f"{base}{ready}", proc, timeout=timeout)
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{log.read_text(errors='replace')[-4000:]}") from None
        yield base
    finally:
        stop(proc)
