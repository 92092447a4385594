"""The test settings reading Better Auth's cookie cache, for a real server process
(``tests/test_better_auth.py``): the strategy and the secret come from the environment."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

NEXTAUTH_BETTER_AUTH_STRATEGY = os.environ["TEST_BETTER_AUTH_STRATEGY"]
NEXTAUTH_BETTER_AUTH_SECRET = os.environ["TEST_BETTER_AUTH_SECRET"]
