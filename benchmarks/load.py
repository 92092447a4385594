"""Load with faults: gunicorn, a mixed token load, a secret rotation and a Redis outage.

    make load                       # or: .venv/bin/python benchmarks/load.py [--seconds 45]

Real processes only, all on loopback: a private redis-server (with an append-only
file, as a production deny-list needs), the example service under gunicorn with
2 workers reading its secrets from a file, and a bounded load generator (threads
with keep-alive connections; it stops by itself). The run:

  1. baseline: an unauthenticated endpoint, for requests per second without auth;
  2. a steady mix of valid, expired, tampered and revoked tokens against /api/me/;
  3. rotation: add the new secret, switch the signer, drop the old one (gunicorn HUP
     after each file change), with no valid request refused;
  4. Redis stopped, then started again: fail closed (valid and revoked tokens get
     401 revocation_unavailable, never a 200 for a revoked one), then recovery.

Every response is checked against the set of answers the documentation allows
for that token at that moment. It exits non-zero on any 5xx or wrong decision
and prints requests per second and p50/p99 latency.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.forge import b64, jws  # noqa: E402
from tests.servers import example_manage, free_port, running  # noqa: E402

OLD = "load-old-secret-0123456789-abcdefghijklmnopq"
NEW = "load-new-secret-9876543210-zyxwvutsrqponmlkj"
DEMO_PASSWORD = "load-demo-password-0123"  # noqa: S105 - a throw-away account on loopback
OK = frozenset({(200, "")})
OUTAGE = frozenset({(401, "revocation_unavailable")})


@dataclass
class Tokens:
    """What the load generator may send, and which answers each may get right now."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    kinds: dict[str, tuple[list[str], frozenset[tuple[int, str]]]] = field(default_factory=dict)

    def set(self, kind: str, tokens: list[str], allowed: frozenset[tuple[int, str]]) -> None:
        with self.lock:
            self.kinds[kind] = (tokens, allowed)

    def drop(self, kind: str) -> None:
        with self.lock:
            self.kinds.pop(kind, None)

    def pick(self, rng: random.Random) -> tuple[str, str, frozenset[tuple[int, str]]]:
        with self.lock:
            kind = rng.choice(sorted(self.kinds))
            tokens, allowed = self.kinds[kind]
            return kind, rng.choice(tokens), allowed


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    server_errors: int = 0
    dropped: int = 0
    last_unavailable: float = 0.0

    def record(self, kind: str, status: int, code: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.latencies.append(ms)
            self.outcomes[(kind, status, code)] += 1
            if status >= 500:
                self.server_errors += 1
            if code == "revocation_unavailable":
                self.last_unavailable = time.monotonic()
            if not ok and len(self.wrong) < 20:
                self.wrong.append(f"{kind}: {status} {code}")
            elif not ok:
                self.wrong.append("")


def request(conn: http.client.HTTPConnection, path: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    code = ""
    if response.status != 200:
        with contextlib.suppress(ValueError):
            code = json.loads(body).get("code", "")
    return response.status, code


def generate(port: int, path: str, tokens: Tokens | None, stats: Stats, until: float) -> None:
    rng = random.Random()  # noqa: S311 - picks test tokens, nothing secret
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < until:
        kind, token, allowed = ("public", "", OK) if tokens is None else tokens.pick(rng)
        start = time.perf_counter()
        try:
            status, code = request(conn, path, token or None)
        except (OSError, http.client.HTTPException):
            with stats.lock:
                stats.dropped += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue  # a connection dropped by a reloading worker: no answer, no decision
        elapsed = (time.perf_counter() - start) * 1000
        stats.record(kind, status, code, elapsed, (status, code) in allowed)
    conn.close()


def run_load(
    port: int, path: str, tokens: Tokens | None, seconds: float, threads: int
) -> tuple[Stats, float]:
    stats = Stats()
    until = time.monotonic() + seconds
    workers = [
        threading.Thread(target=generate, args=(port, path, tokens, stats, until))
        for _ in range(threads)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return stats, time.monotonic() - started


def post_json(
    port: int, path: str, body: dict[str, str] | None, token: str | None = None
) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", path, body=json.dumps(body or {}), headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"POST {path}: {response.status} {payload}")
    return dict(payload)


def login(port: int, signer: str) -> str:
    """A fresh token from custom-login, signed by ``signer`` (retried while workers reload)."""
    body = {"email": "demo@example.com", "password": DEMO_PASSWORD}
    for _ in range(20):
        token = str(post_json(port, "/api/auth/custom-login", body)["token"])
        head, payload, signature = token.split(".")
        expected = hmac.digest(signer.encode(), f"{head}.{payload}".encode(), hashlib.sha256)
        if b64(expected) == signature:
            return token
        time.sleep(0.5)
    raise RuntimeError("the service never signed with the expected secret")


def start_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    """A private redis-server that keeps an append-only file, as a production deny-list must."""
    return subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_redis(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
        )
        if ping.stdout.strip() == "PONG":
            return
        time.sleep(0.05)
    raise RuntimeError("redis did not come back")


@contextlib.contextmanager
def redis_server(port: int, directory: Path) -> Iterator[None]:
    proc = start_redis(port, directory)
    wait_for_redis(port)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(label: str, stats: Stats, elapsed: float) -> None:
    n = len(stats.latencies)
    p50, p99 = percentile(stats.latencies, 0.5), percentile(stats.latencies, 0.99)
    print(
        f"{label:<34} {n:>7} req {n / elapsed:>8.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
    )


def main() -> int:  # noqa: PLR0915 - one scenario, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45, help="length of the faulted run")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server is needed")
        return 1

    work = Path(tempfile.mkdtemp(prefix="load-"))
    secrets = work / "secrets"
    secrets.write_text(f"{OLD}\n")
    redis_port, web_port = free_port(), free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "mesh.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "load-test-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "SQLITE_PATH": str(work / "db.sqlite3"),
        "NEXTAUTH_SECRET_FILE": str(secrets),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    example_manage("migrate", "--noinput", env=env)
    # Production-like (DEBUG off): demo accounts only on request, with given passwords.
    demo = {"DEMO_USERS": "1", "DEMO_PASSWORD": DEMO_PASSWORD, "ADMIN_PASSWORD": DEMO_PASSWORD}
    example_manage("ensure_demo_user", env={**env, **demo})
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "mesh.wsgi",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{web_port}",
        "--graceful-timeout",
        "5",
    ]
    all_stats: list[Stats] = []
    with (
        redis_server(redis_port, work),
        running(
            gunicorn, f"http://127.0.0.1:{web_port}/healthz", cwd=ROOT / "example_project", env=env
        ) as server,
    ):

        def reload(lines: list[str], note: str) -> None:
            secrets.write_text("\n".join(lines) + "\n")
            os.kill(server.pid, signal.SIGHUP)
            time.sleep(4)  # new workers boot, old ones finish their requests
            print(f"  {note}")

        python = sys.version.split()[0]
        print(f"# gunicorn 2 workers, {args.threads} client threads, loopback; Python {python}")
        stats, elapsed = run_load(web_port, "/healthz", None, 5, args.threads)
        report("baseline /healthz (no auth)", stats, elapsed)
        all_stats.append(stats)

        tokens = Tokens()
        old_valid = [login(web_port, OLD) for _ in range(5)]
        revoked = [login(web_port, OLD) for _ in range(3)]
        for token in revoked:
            post_json(web_port, "/api/auth/signout", None, token)
        tokens.set("valid-old", old_valid, OK)
        expired = {k: jws({"sub": "1", "exp": int(time.time()) - 3600}, k) for k in (OLD, NEW)}
        tokens.set("expired", [expired[OLD]], frozenset({(401, "token_expired")}))
        tokens.set(
            "tampered",
            [old_valid[0][:-6] + ("AAAAAA" if not old_valid[0].endswith("AAAAAA") else "BBBBBB")],
            frozenset({(401, "token_invalid")}),
        )
        tokens.set("revoked", revoked, frozenset({(401, "token_revoked")}))

        steady, elapsed = run_load(web_port, "/api/me/", tokens, 10, args.threads)
        report("steady mix /api/me/ (auth)", steady, elapsed)
        all_stats.append(steady)

        faulted = Stats()
        phase_threads: list[threading.Thread] = []
        total = max(args.seconds, 30)
        until = time.monotonic() + total
        for _ in range(args.threads):
            thread = threading.Thread(
                target=generate, args=(web_port, "/api/me/", tokens, faulted, until)
            )
            thread.start()
            phase_threads.append(thread)
        started = time.monotonic()
        print("faulted run:")
        reload([OLD, NEW], "rotation 1/3: new secret added (old still signs)")
        reload([NEW, OLD], "rotation 2/3: new secret signs, old still verifies")
        tokens.set("valid-new", [login(web_port, NEW) for _ in range(5)], OK)
        revoked_new = [login(web_port, NEW) for _ in range(3)]
        for token in revoked_new:
            post_json(web_port, "/api/auth/signout", None, token)
        # Clients move to new tokens before the old secret goes.
        tokens.drop("valid-old")
        tokens.drop("revoked")
        tokens.set("revoked-new", revoked_new, frozenset({(401, "token_revoked")}))
        tokens.set("expired", [expired[NEW]], frozenset({(401, "token_expired")}))
        reload([NEW], "rotation 3/3: old secret dropped")
        retired = [*old_valid, *revoked, expired[OLD]]
        tokens.set("retired-old", retired, frozenset({(401, "token_invalid")}))
        # Redis down: fail closed. A revoked token is never let in, whatever the timing.
        tokens.set("valid-new", tokens.kinds["valid-new"][0], OK | OUTAGE)
        tokens.set("revoked-new", revoked_new, frozenset({(401, "token_revoked")}) | OUTAGE)
        redis_stop = subprocess.run(
            ["redis-cli", "-p", str(redis_port), "shutdown"], capture_output=True, check=False
        )
        print(f"  redis stopped ({'ok' if redis_stop.returncode in (0, 1) else 'failed'})")
        time.sleep(3)
        restarted = start_redis(redis_port, work)
        wait_for_redis(redis_port)
        back = time.monotonic()
        # Workers reconnect on their next deny-list lookup; redis-py's retry backoff
        # can hold a few requests a little longer. Answers in this grace period may
        # still be revocation_unavailable (fail closed); after it, they may not.
        time.sleep(5)
        print("  redis started again")
        tokens.set("valid-new", tokens.kinds["valid-new"][0], OK)
        # Recovery: the deny-list survived the restart (append-only file), so revoked stays revoked.
        tokens.set("revoked-new", revoked_new, frozenset({(401, "token_revoked")}))
        for thread in phase_threads:
            thread.join()
        elapsed = time.monotonic() - started
        report("faulted run /api/me/", faulted, elapsed)
        recovered = max(0.0, faulted.last_unavailable - back)
        print(f"  last revocation_unavailable {recovered:.2f} s after Redis answered again")
        all_stats.append(faulted)
        restarted.terminate()
        restarted.wait(timeout=10)

    print()
    print("outcomes of the faulted run (kind, status, code): count")
    for (kind, status, code), count in sorted(faulted.outcomes.items()):
        print(f"  {kind:<12} {status} {code or '-':<24} {count}")
    server_errors = sum(s.server_errors for s in all_stats)
    wrong = [w for s in all_stats for w in s.wrong]
    print()
    dropped = sum(s.dropped for s in all_stats)
    print(f"5xx: {server_errors}   wrong decisions: {len(wrong)}   connections reset: {dropped}")
    for line in [w for w in wrong if w][:20]:
        print(f"  WRONG {line}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if server_errors == 0 and not wrong else 2


if __name__ == "__main__":
    raise SystemExit(main())
