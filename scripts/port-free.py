"""Exit 0 when TCP port argv[1] on 127.0.0.1 is free, else say so and how to pick another."""

from __future__ import annotations

import socket
import sys

port = int(sys.argv[1])
with socket.socket() as probe:
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        print(
            f"Port {port} on 127.0.0.1 is in use (another `make run`?). "
            f"Stop that server, or start on another port: make run PORT={port + 10}",
            file=sys.stderr,
        )
        sys.exit(1)
