"""Drive the real npm packages (next-auth 4, @auth/core, jose) through ``bridge.mjs``.

One long-lived Node process per test worker answers JSON-lines requests; see
``tests/interop/node/README.md`` for the operations.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

NODE_DIR = Path(__file__).parent / "interop" / "node"
NEXTJS_DIR = Path(__file__).parents[1] / "example_project" / "nextjs"


class NodeError(Exception):
    """The Node side answered ``ok: false``; ``str(exc)`` is its ``Class: message``."""


class NodeBridge:
    """A JSON-lines RPC client for ``bridge.mjs``."""

    def __init__(self, node: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXTAUTH_", "AUTH_"))}
        self._proc = subprocess.Popen(
            [node, str(NODE_DIR / "bridge.mjs")],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def call(self, op: str, **args: Any) -> Any:
        """Run ``op`` in Node and return its result, or raise ``NodeError``."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        request_id = next(self._ids)
        with self._lock:
            self._proc.stdin.write(json.dumps({"id": request_id, "op": op, **args}) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the Node bridge exited")
        reply = json.loads(line)
        assert reply["id"] == request_id, reply
        if not reply["ok"]:
            raise NodeError(reply["error"])
        return reply["result"]

    def close(self) -> None:
        """Close stdin and wait for Node to exit."""
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=10)
        if self._proc.stdout:
            self._proc.stdout.close()


def find_node() -> str | None:
    """The ``node`` binary, when it and the installed packages are present."""
    node = shutil.which("node")
    installed = all((d / "node_modules" / "next-auth").is_dir() for d in (NODE_DIR, NEXTJS_DIR))
    if node and installed:
        return node
    return None
