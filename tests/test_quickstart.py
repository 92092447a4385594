"""The README's quickstart, followed to the letter in a brand-new project.

``django-admin startproject``, then each code block of the README's quickstart applied to
the file its first line names, then a real ``runserver`` answering a token minted by the
real next-auth 4 in Node. If the README's snippets stop working when pasted, this fails.
The secret is the one the README's own ``export`` line makes (so a placeholder that check
E003 refuses cannot come back), and the 401s carry their stable code under DRF's default
exception handler, which is what the quickstart leaves configured.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from django_nextauth_jwt.checks import check_settings
from django_nextauth_jwt.conf import MIN_SECRET_BYTES
from django_nextauth_jwt.policy import policy
from tests.forge import SECRET
from tests.node_bridge import NodeBridge
from tests.servers import ROOT, free_port, running

BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
TARGET = re.compile(r"# (\w+\.py) \((append|new)")


def quickstart() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Quickstart")
    return readme[start : readme.index("\n## ", start + 1)]


def python_blocks() -> list[tuple[str, str, str]]:
    """``(file, "append" | "new", code)`` for each Python block of the quickstart."""
    blocks = []
    for language, code in BLOCK.findall(quickstart()):
        if language == "python":
            target = TARGET.match(code)
            assert target, f"a quickstart block does not name its file: {code[:60]!r}"
            blocks.append((target[1], target[2], code))
    return blocks


def test_the_quickstart_names_a_file_for_each_block() -> None:
    assert [(f, mode) for f, mode, _ in python_blocks()] == [
        ("settings.py", "append"),
        ("views.py", "new"),
        ("urls.py", "append"),
    ]
    shell = [code for language, code in BLOCK.findall(quickstart()) if language == "bash"]
    assert any("export NEXTAUTH_SECRET=" in code and "runserver" in code for code in shell)


def shell_lines() -> list[str]:
    return [
        line
        for language, code in BLOCK.findall(quickstart())
        if language == "bash"
        for line in code.splitlines()
    ]


def readme_secret() -> str:
    """The value the quickstart's ``export NEXTAUTH_SECRET=...`` line gives, run by bash."""
    (export,) = [line for line in shell_lines() if line.startswith("export NEXTAUTH_SECRET=")]
    result = subprocess.run(
        ["bash", "-c", f'{export}\nprintf %s "$NEXTAUTH_SECRET"'],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout


def test_the_quickstart_secret_passes_check_e003() -> None:
    # The old placeholder, "the Next.js app's secret", is 24 bytes: pasted, it failed E003.
    secret = readme_secret()
    assert len(secret.encode()) >= MIN_SECRET_BYTES
    assert readme_secret() != secret  # generated, not a literal anyone would paste


def test_the_e003_hint_says_to_change_the_nextjs_app_too(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = "short"
    (message,) = [m for m in check_settings() if m.id == "nextauth_jwt.E003"]
    assert "openssl rand -base64 32" in str(message.hint)
    assert "Next.js app's NEXTAUTH_SECRET" in str(message.hint)
    assert "same value" in str(message.hint)


def test_the_short_secret_startup_error_says_to_change_the_nextjs_app_too(settings: Any) -> None:
    # gunicorn never runs manage.py check: this is the message such a server stops with, and
    # changing only Django's secret leads straight to a mismatch with the Next.js app.
    settings.NEXTAUTH_SECRET = "short"
    with pytest.raises(ImproperlyConfigured) as raised:
        policy()
    message = str(raised.value)
    assert "openssl rand -base64 32" in message
    assert "Next.js app's NEXTAUTH_SECRET" in message
    assert "same value" in message
    assert message.endswith("(nextauth_jwt.E003).")
    assert "short" not in message.replace("shorter", "")  # the secret itself is never echoed


def test_drf_default_handler_gives_the_missing_token_401_its_code(settings: Any) -> None:
    # No EXCEPTION_HANDLER: DRF's own, as the quickstart leaves it.
    settings.REST_FRAMEWORK = {}
    response = APIClient().get("/api/me/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "token_missing",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    # An open view is no 401, and its anonymous request keeps DRF's contract (None).
    assert APIClient().get("/api/public/").status_code == 200


def test_the_packaged_exception_handler_keeps_one_code(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler"
    }
    response = APIClient().get("/api/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_missing"
    assert set(response.json()) == {"detail", "code"}


def get(url: str, token: str | None = None) -> tuple[int, object, str | None]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read()), None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers.get("WWW-Authenticate")


def test_a_new_project_following_the_quickstart_accepts_a_next_auth_4_token(
    tmp_path: Path, node: NodeBridge
) -> None:
    django_admin = Path(sys.executable).with_name("django-admin")
    subprocess.run([str(django_admin), "startproject", "mysite", str(tmp_path)], check=True)
    package = tmp_path / "mysite"
    for name, mode, code in python_blocks():
        path = package / name
        assert path.exists() == (mode == "append"), name
        path.write_text((path.read_text() + "\n" if mode == "append" else "") + code)

    secret = readme_secret()
    env = {"NEXTAUTH_SECRET": secret, "DJANGO_SETTINGS_MODULE": "mysite.settings"}
    manage = [sys.executable, "manage.py"]
    for command in (["check", "--fail-level", "WARNING"], ["migrate", "--noinput", "-v", "0"]):
        subprocess.run(
            [*manage, *command], cwd=tmp_path, env={**os.environ, **env}, check=True, timeout=120
        )

    # next-auth 4's own encode, as its route handler writes the session cookie.
    token = node.call(
        "v4.encode", token={"sub": "42", "email": "ada@example.com", "name": "Ada"}, secret=secret
    )
    # The README's way to a token without the Next.js app, as written there.
    minted = subprocess.run(
        [*manage, *shlex.split(nextauth_token_command())[2:]],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"]
    me = {"id": "42", "email": "ada@example.com"}
    with running(command, f"{base}/api/me/", cwd=tmp_path, env=env):
        assert get(f"{base}/api/me/", token) == (200, me, None)
        assert get(f"{base}/api/me/", minted) == (200, me, None)
        # Coded 401s under DRF's default exception handler, as the README's comment says.
        status, body, challenge = get(f"{base}/api/me/")
        assert (status, challenge) == (401, 'Bearer realm="api"')
        assert body == {"detail": "Authentication credentials were not provided.", "code": CODE}
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        status, body, challenge = get(f"{base}/api/me/", tampered)
        assert status == 401
        assert challenge == 'Bearer realm="api", error="invalid_token"'
        assert isinstance(body, dict)
        assert set(body) == {"detail", "code"}
        assert body["code"] == "token_invalid"
        foreign = node.call("v4.encode", token={"sub": "42"}, secret=SECRET)
        assert get(f"{base}/api/me/", foreign)[1] == {
            "detail": "Token is invalid.",
            "code": "token_invalid",
        }


#: The code the README's curl comment promises for a request without a token.
CODE = "token_missing"


def nextauth_token_command() -> str:
    """The README's ``manage.py nextauth_token --claims ...`` command, joined across its lines."""
    text = " ".join(quickstart().split())
    found = re.search(r"`(python manage\.py nextauth_token --claims '[^']*')`", text)
    assert found, "the quickstart no longer shows how to mint a token without Next.js"
    return found[1]


def test_the_readme_promises_the_code_the_service_answers() -> None:
    assert any(
        "curl http://127.0.0.1:8000/api/me/" in line and f'"code": "{CODE}"' in line
        for line in shell_lines()
    )
