"""A JWKS issuer on 127.0.0.1 for tests: well-behaved or hostile, and it counts its requests.

``with jwks_server() as issuer:`` serves ``issuer.body`` at ``issuer.url`` (``/jwks``) in a
thread. ``issuer.mode`` turns it hostile: ``huge`` (a body past any limit, with and without
a Content-Length), ``slow`` (a byte at a time, past any timeout), ``redirect`` (302 to a
good JWKS), ``error`` (500). ``issuer.requests`` counts what reached it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Issuer:
    """The state a test drives; the handler reads it on every request."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.url = f"{base}/jwks"
        self.body = b'{"keys": []}'
        self.mode = "ok"
        self.requests = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def serve(self, document: dict[str, Any] | bytes) -> None:
        """Serve ``document`` (a JWK Set, or raw bytes) from now on, well-behaved."""
        self.body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.mode = "ok"


def _handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output (and the leak guard) free of access logs

        def do_GET(self) -> None:
            with issuer.lock:
                issuer.requests += 1
            mode = issuer.mode
            if self.path == "/good":  # the redirect's target: a genuine document
                self._send(200, issuer.body)
            elif mode == "error":
                self._send(500, b"oops")
            elif mode == "redirect":
                self.send_response(302)
                self.send_header("Location", f"{issuer.base}/good")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "huge":
                self._send(200, b'{"keys": [' + b" " * (8 * 1024 * 1024) + b"]}")
            elif mode == "huge-chunked":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b" " * 65536
                with contextlib.suppress(OSError):
                    self.wfile.write(b'c\r\n{"keys": [  \r\n')
                    for _ in range(128):
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"2\r\n]}\r\n0\r\n\r\n")
            elif mode == "slow":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(issuer.body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    for byte in issuer.body:
                        if issuer.stop.wait(0.05):
                            return
                        self.wfile.write(bytes((byte,)))
                        self.wfile.flush()
            else:
                self._send(200, issuer.body)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def jwks_server() -> Iterator[Issuer]:
    """A JWKS issuer on a free loopback port, stopped (slow responses cut short) after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    host, port = server.server_address[:2]
    issuer = Issuer(f"http://{host!s}:{port}")
    server.RequestHandlerClass = _handler(issuer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        issuer.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
