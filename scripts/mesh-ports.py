"""The ports of `make mesh`: each service's own, or the next free one, or a word on which to set.

Usage: mesh-ports.py NAME=DEFAULT ... (e.g. DJANGO_PORT=8000). For each NAME, in order:

* set in the environment: that port, which must be free; if it is taken, exit 1 naming the
  variable and a free port to set it to;
* not set: DEFAULT, or when DEFAULT is taken the next free port above it, said on stderr.

Prints ``NAME=PORT`` lines for the shell to ``eval``; no two names get the same port.
"""

from __future__ import annotations

import os
import socket
import sys

HOST = "127.0.0.1"
SEARCH = 100  # ports tried above a taken default


def is_free(port: int) -> bool:
    """Whether a server could listen on ``HOST:port`` now."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def next_free(start: int, taken: set[int]) -> int | None:
    """The first free port from ``start`` on that no other name has, within ``SEARCH``."""
    for port in range(start, min(start + SEARCH, 65536)):
        if port not in taken and is_free(port):
            return port
    return None


def main(pairs: list[str]) -> int:
    taken: set[int] = set()
    lines = []
    for pair in pairs:
        name, _, default_text = pair.partition("=")
        default = int(default_text)
        chosen = os.environ.get(name, "").strip()
        if chosen:
            if not chosen.isdigit() or not 0 < int(chosen) < 65536:
                print(f"{name}={chosen!r} is not a port number (1-65535).", file=sys.stderr)
                return 1
            port = int(chosen)
            if port in taken or not is_free(port):
                spare = next_free(port + 1, taken | {port})
                hint = f", e.g. {name}={spare}" if spare else ""
                print(
                    f"Port {port} on {HOST} ({name}) is in use: stop what holds it, or set "
                    f"{name} to another port{hint}.",
                    file=sys.stderr,
                )
                return 1
        else:
            found = next_free(default, taken)
            if found is None:
                print(
                    f"Ports {default}-{default + SEARCH - 1} on {HOST} are all in use: set "
                    f"{name} to a free port.",
                    file=sys.stderr,
                )
                return 1
            port = found
            if port != default:
                print(
                    f"Port {default} on {HOST} is in use: {name}={port} instead "
                    f"(set {name} to choose).",
                    file=sys.stderr,
                )
        taken.add(port)
        lines.append(f"{name}={port}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
