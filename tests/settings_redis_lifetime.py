"""The Redis test settings with the session's clocks scaled down to seconds.

``NEXTAUTH_MAX_AGE`` 2 s (a NextAuth refresh slides ``exp`` that far), leeway 1 s and an
absolute lifetime of 8 s: what ``tests/test_session_lifetime.py`` runs two processes with.
"""

from __future__ import annotations

from tests.settings_redis import *  # noqa: F403

NEXTAUTH_MAX_AGE = 2
NEXTAUTH_LEEWAY = 1
NEXTAUTH_SESSION_MAX_LIFETIME = 8
