"""The README's quickstart, followed to the letter in a brand-new project.

``django-admin startproject``, then each code block of the README's quickstart applied to
the file its first line names, then a real ``runserver`` answering a token minted by the
real next-auth 4 in Node. If the README's snippets stop working when pasted, this fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

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


def get(url: str, token: str | None = None) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


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

    env = {"NEXTAUTH_SECRET": SECRET, "DJANGO_SETTINGS_MODULE": "mysite.settings"}
    manage = [sys.executable, "manage.py"]
    for command in (["check", "--fail-level", "WARNING"], ["migrate", "--noinput", "-v", "0"]):
        subprocess.run(
            [*manage, *command], cwd=tmp_path, env={**os.environ, **env}, check=True, timeout=120
        )

    # next-auth 4's own encode, as its route handler writes the session cookie.
    token = node.call(
        "v4.encode", token={"sub": "42", "email": "ada@example.com", "name": "Ada"}, secret=SECRET
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"]
    with running(command, f"{base}/api/me/", cwd=tmp_path, env=env):
        assert get(f"{base}/api/me/", token) == (200, {"id": "42", "email": "ada@example.com"})
        status, body = get(f"{base}/api/me/")
        assert status == 401
        assert isinstance(body, dict)
        assert "detail" in body
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert get(f"{base}/api/me/", tampered)[0] == 401
