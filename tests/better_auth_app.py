"""The example's Better Auth front end (example_project/nextjs-better-auth) and Django, for real.

``build_better_auth_app()`` runs ``scripts/build-nextjs.sh`` on the app's folder (``next build``
once, cached in its ``.next``). ``better_auth_mesh()`` starts the Django example configured for
Better Auth's cookie cache in one strategy, then ``next start`` in front of it, both on free
loopback ports of 127.0.0.1 (one host name: the browser sends Better Auth's cookies to Django
too), with one Better Auth secret; it stops both after.
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
    free_port,
    next_command,
    next_environment,
    next_server,
    next_start_failure,
)

APP = EXAMPLE / "nextjs-better-auth"
SECRET = "better-auth-browser-test-secret-0123456789-abcdef"
#: Django's own NextAuth secret (its sign-in page and custom-login): not Better Auth's.
DJANGO_SECRET = "django-own-nextauth-secret-0123456789-abcdefgh"
CACHE_COOKIE = "better-auth.session_data"
SESSION_COOKIE = "better-auth.session_token"


def better_auth_app_installed() -> bool:
    """``node`` and the app's ``npm ci`` (``make install``) are present."""
    modules = APP / "node_modules"
    return (
        shutil.which("node") is not None
        and (modules / "next").is_dir()
        and (modules / "better-auth").is_dir()
    )


def require_better_auth_app() -> None:
    """Skip (fail under CI=true) unless Node and the app's packages are installed."""
    require(
        better_auth_app_installed(),
        "node and example_project/nextjs-better-auth/node_modules are needed (make install)",
    )


def build_better_auth_app() -> float:
    """``next build`` unless the app's ``.next`` is up to date; the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-nextjs.sh"), "example_project/nextjs-better-auth"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"next build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return time.monotonic() - started


@dataclass(frozen=True)
class BetterAuthMesh:
    """Where the app and Django listen, and the cookie cache's strategy."""

    strategy: str
    app: str
    django: str
    app_log: Path


def app_command(port: int) -> list[str]:
    """``next start`` of the built app on 127.0.0.1:``port``."""
    return next_command(APP, port)


#: What the test process's environment must not pass on to the app.
OWN = ("BETTER_AUTH_", "NEXTAUTH_", "AUTH_")


def app_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The test process's environment without Better Auth or NextAuth settings, plus ``env``."""
    return next_environment(env, OWN)


def app_start_failure(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``next start`` with a configuration it must refuse: it exits (with its output)."""
    return next_start_failure(APP, env, OWN)


def app_server(
    port: int, env: Mapping[str, str], log: Path
) -> contextlib.AbstractContextManager[str]:
    """``next start`` on 127.0.0.1:``port`` (its output in ``log``); yields its URL."""
    return next_server(APP, port, env, log, own=OWN, ready="/api/auth/ok", timeout=60)


@contextlib.contextmanager
def better_auth_mesh(strategy: str, tmp_path: Path) -> Iterator[BetterAuthMesh]:
    """Django reading Better Auth's cookie cache in ``strategy``, then the app in front."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    django_env = {
        "NEXTAUTH_SECRET": DJANGO_SECRET,
        "NEXTAUTH_SECRET_PREVIOUS": "",
        "NEXTAUTH_SECRET_FILE": "",
        "NEXTAUTH_JWT_FORMAT": "jws",
        "NEXTAUTH_BETTER_AUTH_STRATEGY": strategy,
        "BETTER_AUTH_SECRET": SECRET,
        "BETTER_AUTH_SECRETS": "",
        "NEXTAUTH_ALLOWED_REDIRECT_ORIGINS": origin,
        "CSRF_TRUSTED_ORIGINS": origin,
    }
    with contextlib.ExitStack() as stack:
        django = stack.enter_context(example_server(tmp_path, django_env))
        app_env = {
            "BETTER_AUTH_SECRET": SECRET,
            "BETTER_AUTH_URL": origin,
            "BETTER_AUTH_COOKIE_CACHE": strategy,
            "DJANGO_URL": django,
        }
        log = tmp_path / "nextjs-better-auth.log"
        app = stack.enter_context(app_server(port, app_env, log))
        yield BetterAuthMesh(strategy=strategy, app=app, django=django, app_log=log)
