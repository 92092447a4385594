"""The example's Next.js front end (example_project/nextjs) and the mesh behind it, for real.

``build_nextjs()`` runs ``scripts/build-nextjs.sh`` (``next build`` once, cached in ``.next`` and
rebuilt only when the app's sources change; concurrent workers wait for one build).
``frontend_mesh()`` starts ``next start`` in front of the Django example, Express, FastAPI and Go,
all on free loopback ports of 127.0.0.1 (one host name: the browser shares the session cookie
between Next.js and Django, the protected page's WebSocket to Django included), with one secret
and one token format; Django under uvicorn as ``make mesh`` runs it; it stops them all after.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require
from tests.servers import (
    EXAMPLE,
    ROOT,
    example_server,
    express_installed,
    free_port,
    go_toolchain,
    neighbour_server,
    next_command,
    next_environment,
    next_server,
    next_start_failure,
    start_all,
)

NEXTJS = EXAMPLE / "nextjs"
SECRET = "nextjs-browser-test-secret-0123456789-abcdef"
NEIGHBOURS = ("express", "fastapi", "go")


def nextjs_installed() -> bool:
    """``node`` and the app's ``npm ci`` (``make install``) are present."""
    return shutil.which("node") is not None and (NEXTJS / "node_modules" / "next").is_dir()


def require_frontend_mesh() -> None:
    """Skip (fail under CI=true) unless every tool the front-end mesh needs is installed."""
    require(
        nextjs_installed(), "node and example_project/nextjs/node_modules are needed (make install)"
    )
    require(express_installed(), "node and services/express/node_modules are needed (make install)")
    require(go_toolchain(), "Go with Debian's gin and golang-jwt is needed (make system)")


def build_nextjs() -> float:
    """``next build`` unless ``.next`` is up to date with the sources; the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-nextjs.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"next build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return time.monotonic() - started


@dataclass(frozen=True)
class Variant:
    """A NextAuth version and a token format (the app's NEXTAUTH_VERSION, NEXTAUTH_JWT_FORMAT)."""

    version: str
    format: str

    @property
    def cookie(self) -> str:
        """The session cookie NextAuth writes and Django is told to read and write."""
        return "authjs.session-token" if self.version == "5" else "next-auth.session-token"

    @property
    def neighbours_accept(self) -> bool:
        """Express, FastAPI and Go verify HS256 JWS only (stock JWT libraries), not the JWEs."""
        return self.format == "jws"


@dataclass(frozen=True)
class FrontendMesh:
    """Where everything listens, and the variant it runs."""

    variant: Variant
    nextjs: str
    django: str
    neighbours: dict[str, str]
    nextjs_log: Path


def nextjs_command(port: int) -> list[str]:
    """``next start`` of the built app on 127.0.0.1:``port``."""
    return next_command(NEXTJS, port)


#: What the test process's environment must not pass on to the app: its own NextAuth settings.
OWN = ("NEXTAUTH_", "AUTH_")


def nextjs_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The test process's environment without its own NextAuth settings, plus ``env``."""
    return next_environment(env, OWN)


def nextjs_start_failure(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``next start`` with a configuration it must refuse: it exits (with its output)."""
    return next_start_failure(NEXTJS, env, OWN)


def nextjs_server(
    port: int, env: Mapping[str, str], log: Path
) -> contextlib.AbstractContextManager[str]:
    """``next start`` on 127.0.0.1:``port`` (its output in ``log``); yields its URL."""
    return next_server(NEXTJS, port, env, log, own=OWN, ready="/api/auth/csrf")


@contextlib.contextmanager
def frontend_mesh(variant: Variant, tmp_path: Path, go_binary: Path) -> Iterator[FrontendMesh]:
    """Django, Express, FastAPI and Go (in parallel), then Next.js in front; stopped after."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    shared = {
        "NEXTAUTH_SECRET": SECRET,
        "NEXTAUTH_SECRET_PREVIOUS": "",
        "NEXTAUTH_ISSUER": "",
        "NEXTAUTH_AUDIENCE": "",
    }
    django_env = {
        **shared,
        "NEXTAUTH_JWT_FORMAT": variant.format,
        "NEXTAUTH_COOKIE_NAME": variant.cookie,
        "NEXTAUTH_SECRET_FILE": "",
        # Django's sign-in page may send the browser back to the Next.js app.
        "NEXTAUTH_ALLOWED_REDIRECT_ORIGINS": origin,
        "CSRF_TRUSTED_ORIGINS": origin,
        # The protected page's live line: a WebSocket the Next.js page opens to Django.
        "NEXTAUTH_WEBSOCKET_ORIGINS": origin,
    }
    servers: dict[str, contextlib.AbstractContextManager[str]] = {
        # Under uvicorn, as `make mesh` runs it: HTTP and the WebSocket at /ws/live/.
        "django": example_server(tmp_path, django_env, asgi=True),
        "express": neighbour_server("express", shared),
        "fastapi": neighbour_server("fastapi", shared),
        "go": neighbour_server("go", shared, go_binary=go_binary),
    }
    with contextlib.ExitStack() as stack:
        bases = start_all(stack, servers)
        app_env = {
            **shared,
            "NEXTAUTH_JWT_FORMAT": variant.format,
            "NEXTAUTH_VERSION": variant.version,
            "DJANGO_URL": bases["django"],
            "EXPRESS_URL": bases["express"],
            "FASTAPI_URL": bases["fastapi"],
            "GO_URL": bases["go"],
        }
        # next-auth 4 takes its origin from NEXTAUTH_URL. Auth.js 5 is left to find it from the
        # request (trustHost), as a user on 127.0.0.1 would: the MissingCSRF trap, if unfixed.
        if variant.version == "4":
            app_env["NEXTAUTH_URL"] = origin
        log = tmp_path / "nextjs.log"
        base = stack.enter_context(nextjs_server(port, app_env, log))
        yield FrontendMesh(
            variant=variant,
            nextjs=base,
            django=bases["django"],
            neighbours={name: bases[name] for name in NEIGHBOURS},
            nextjs_log=log,
        )
