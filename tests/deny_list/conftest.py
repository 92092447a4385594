"""A local view with no thread and a fake clock, for the tests of this folder."""

from __future__ import annotations

import secrets

import pytest

from django_nextauth_jwt.state import localview
from tests.fake_clock import Clock


def sid() -> str:
    return f"sid:{secrets.token_hex(16)}"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("django_nextauth_jwt.state.localview.time.monotonic", fake)
    return fake


@pytest.fixture
def view(clock: Clock) -> localview.LocalView:
    """A view with no thread, told it is live and heard from far ahead."""
    held = localview.LocalView(
        "redis://127.0.0.1:1/0", entry_prefix="p:rv:", index="p:rv", channel="p:rv"
    )
    held._stop.set()
    held.live, held.heard = True, clock.now + 10**9
    return held
