"""A project without DRF: the middleware path must neither need nor import ``rest_framework``.

The check runs in a fresh interpreter where ``rest_framework`` cannot be
imported at all (a ``sys.modules`` entry of ``None`` makes every import of it
fail), with ``tests.settings_nodrf``: if any module on the middleware path
imported DRF, Django setup or the requests would fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["rest_framework"] = None  # any "import rest_framework" now raises ImportError
    sys.modules["drf_spectacular"] = None
    import django
    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment
    from django.test import Client
    from django_nextauth_jwt import JWTAuth
    from django_nextauth_jwt import middleware, transport, users, csrf, checks  # noqa: F401

    setup_test_environment()
    call_command("check", fail_level="ERROR")
    token = JWTAuth.create({"id": "42", "email": "ada@example.com"})
    client = Client()
    auth = {"HTTP_AUTHORIZATION": "Bearer " + token}
    results = {
        "page": client.get("/page/", **auth).json()["id"],
        "protected_api": client.get("/api/plain/").status_code,
        "protected_api_code": client.get("/api/plain/").json()["code"],
        "protected_page": client.get("/private/page/").status_code,
        "public": client.get("/private/public/page/").status_code,
        "served": client.get("/private/page/", **auth).json()["id"],
        "drf_loaded": any(m.startswith("rest_framework") and sys.modules[m] is not None
                          for m in sys.modules),
    }
    print(json.dumps(results))
    """
)


def run_without_drf(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter on the settings module without DRF."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_nodrf", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_project_without_drf_authenticates_and_protects_through_the_middleware():
    done = run_without_drf(SCRIPT)
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "page": "42",
        "protected_api": 401,
        "protected_api_code": "token_missing",
        "protected_page": 302,
        "public": 200,
        "served": "42",
        "drf_loaded": False,
    }


def test_importing_the_drf_module_is_what_fails_without_drf():
    # The guard above can fail: the DRF module itself does need rest_framework.
    code = (
        "import sys; sys.modules['rest_framework'] = None\n"
        "import django; django.setup()\n"
        "try:\n"
        "    import django_nextauth_jwt.authentication\n"
        "except ImportError:\n"
        "    print('refused')\n"
    )
    done = run_without_drf(code)
    assert done.stdout.strip() == "refused", done.stderr[-2000:]
