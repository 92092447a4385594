"""The test settings under an ASGI server with Channels (tests/asgi_channels.py).

The state store is the embedded one unless ``TEST_STATE_REDIS_URL`` names a Redis (with
``TEST_STATE_PREFIX``): then processes share the deny-list, as in production.
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "channels"]
ASGI_APPLICATION = "tests.asgi_channels.application"
# Expiry tests mint tokens of a few seconds: no leeway, so exp is when the socket closes.
NEXTAUTH_LEEWAY = int(os.environ.get("TEST_LEEWAY", "0"))
NEXTAUTH_WEBSOCKET_ORIGINS = json.loads(os.environ.get("TEST_WEBSOCKET_ORIGINS", "[]"))
NEXTAUTH_WEBSOCKET_QUERY_TOKEN = os.environ.get("TEST_QUERY_TOKEN") == "1"
if os.environ.get("TEST_STATE_REDIS_URL"):
    NEXTAUTH_REDIS_URL = os.environ["TEST_STATE_REDIS_URL"]
    NEXTAUTH_REDIS_KEY_PREFIX = os.environ["TEST_STATE_PREFIX"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Everything, down to DEBUG: the tests read the server's output for tokens. Except the
    # websockets library's own DEBUG lines, which print every handshake header as it came,
    # Authorization and Sec-WebSocket-Protocol included (docs/channels.md says so).
    "root": {"handlers": ["console"], "level": "DEBUG"},
    "loggers": {"websockets": {"level": "INFO"}},
}
