from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.node_bridge import NodeBridge, find_node


@pytest.fixture(scope="session")
def node() -> Iterator[NodeBridge]:
    """The real npm packages, through one Node process per test worker.

    Outside CI a missing Node (or a missing ``npm ci``) skips; with CI=true it fails.
    """
    binary = find_node()
    if binary is None:
        message = "node and tests/interop/node/node_modules are needed (run: make test)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    bridge = NodeBridge(binary)
    try:
        yield bridge
    finally:
        bridge.close()
