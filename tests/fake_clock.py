"""A clock the tests move by hand (``clock.now += 30``): monotonic or wall time, as patched in."""

from __future__ import annotations


class Clock:
    """Callable like ``time.monotonic``; starts at 1000.0 so that a step back stays positive."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
