"""Waiting in a test for what another thread or process brings about."""

from __future__ import annotations

import time
from typing import Any

import pytest

#: A generous bound for every wait (never asserted as a duration).
BOUND = 15.0


def wait_for(condition: Any, what: str, bound: float = BOUND) -> float:
    """Poll ``condition`` until true; the seconds it took. The test fails past ``bound``.

    On ``perf_counter``: a test that fakes ``time.monotonic`` still waits in real time. An error
    in ``condition`` is the test's (``redis_topology.wait_for`` is the one that retries).
    """
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > bound:
            pytest.fail(f"not within {bound} s: {what}")
        time.sleep(0.001)
    return time.perf_counter() - start
