"""Sign-outs and checks under load while Redis fails over: what the tests and ``make load`` run.

Two stores on one topology, as two processes would hold them: a *writer* signs sessions out
(``put_max``, acknowledged only once a replica has it) and a *reader* checks, from its local
view, sessions never signed out and sessions whose sign-out was acknowledged. A fault is
applied meanwhile (a forced failover, a killed primary). Then every acknowledged sign-out is
looked for on the topology as it is now (a fresh store's ``MGET``, and a fresh view's load).

Figures: acknowledged sign-outs and lost ones; revoked sessions accepted (a check that began
after the sign-out's acknowledgement plus the propagation allowance and still found nothing);
valid sessions refused (``StoreUnavailable`` and the like) and the window they span; the
slowest check and the slowest write.
"""

from __future__ import annotations

import bisect
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django_nextauth_jwt.state import store

#: A check that begins this long after a sign-out's acknowledgement must refuse it (pub/sub
#: reaches every process within milliseconds; a view relinking after a failover reloads).
PROPAGATION = 1.0
TTL = 3600


@dataclass
class Figures:
    """What one run under load saw."""

    acked: list[tuple[float, str]] = field(default_factory=list)
    write_failures: int = 0
    lost: list[str] = field(default_factory=list)
    revoked_checks: int = 0
    revoked_accepted: int = 0
    valid_checks: int = 0
    valid_refused: list[float] = field(default_factory=list)
    slowest_check: float = 0.0
    slowest_write: float = 0.0

    @property
    def window(self) -> float:
        """Seconds from the first refused valid check to the last (0: none refused)."""
        if not self.valid_refused:
            return 0.0
        return max(self.valid_refused) - min(self.valid_refused)

    def summary(self) -> str:
        return (
            f"{len(self.acked)} sign-outs acknowledged ({self.write_failures} refused with "
            f"503), {len(self.lost)} lost; {self.revoked_checks} checks of revoked sessions, "
            f"{self.revoked_accepted} accepted; {self.valid_checks} checks of valid sessions, "
            f"{len(self.valid_refused)} refused over {self.window:.2f} s; slowest check "
            f"{self.slowest_check * 1000:.1f} ms, slowest sign-out "
            f"{self.slowest_write * 1000:.1f} ms"
        )


def _key() -> str:
    return f"sid:{secrets.token_hex(16)}"


def run(  # noqa: PLR0915 - one scenario, its threads inline
    url: str,
    prefix: str,
    fault: Callable[[], None],
    *,
    before: float = 1.0,
    after: float = 3.0,
    recovered: Callable[[Figures], bool] | None = None,
    bound: float = 60.0,
    readers: int = 2,
    grace: float = store.DEFAULT_GRACE,
) -> Figures:
    """Load, ``before`` s, ``fault()``, then ``after`` s once ``recovered`` (default: a sign-out
    acknowledged after the fault), at most ``bound`` s in all; then look for every sign-out."""
    figures = Figures()
    writer = store.RedisStore(url, prefix, local_view=False)
    reader = store.RedisStore(url, prefix, grace=grace)
    stop = threading.Event()
    valid = [_key() for _ in range(16)]
    lock = threading.Lock()
    try:
        assert reader.view is not None
        if not reader.view.wait_live(30):
            raise TimeoutError("the reader's view did not go live")

        def write() -> None:
            while not stop.is_set():
                key = _key()
                start = time.monotonic()
                try:
                    writer.put_max(key, 1, TTL)
                except Exception:  # every failure is a 503, counted
                    figures.write_failures += 1
                    time.sleep(0.01)
                else:
                    with lock:
                        figures.acked.append((time.monotonic(), key))
                figures.slowest_write = max(figures.slowest_write, time.monotonic() - start)
                time.sleep(0.005)

        def check(i: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                with lock:
                    # The latest 50 acknowledged at least PROPAGATION s ago (acked is in
                    # time order), however fast sign-outs come.
                    end = bisect.bisect_left(figures.acked, (time.monotonic() - PROPAGATION,))
                    old = [k for _, k in figures.acked[max(0, end - 50) : end]]
                revoked = old[n % len(old)] if old else None
                for key in [valid[(i + n) % len(valid)], *([revoked] if revoked else [])]:
                    start = time.monotonic()
                    found: int | str | None
                    try:
                        found = reader.get_many([key, "user:nobody"])[0]
                    except Exception:  # unavailable: refused, counted
                        found = "refused"
                    took = time.monotonic() - start
                    figures.slowest_check = max(figures.slowest_check, took)
                    if key == revoked:
                        figures.revoked_checks += 1
                        figures.revoked_accepted += found is None
                    else:
                        figures.valid_checks += 1
                        if found == "refused":
                            figures.valid_refused.append(start)
                time.sleep(0.002)

        threads = [threading.Thread(target=write)]
        threads += [threading.Thread(target=check, args=(i,)) for i in range(readers)]
        for thread in threads:
            thread.start()
        time.sleep(before)
        faulted = time.monotonic()
        fault()
        done = recovered or (lambda f: any(at > faulted for at, _ in f.acked[-5:]))
        deadline = time.monotonic() + bound
        while not done(figures) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(after)
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        writer.close()
        reader.close()
    figures.lost = _missing(url, prefix, [k for _, k in figures.acked])
    return figures


def rejoined(
    taken_over: Callable[[], bool], restart: Callable[[], float]
) -> Callable[[Figures], bool]:
    """A ``recovered`` for a killed node: once ``taken_over()`` (another node serves in its
    place), ``restart()`` it (returning when), then true once a sign-out is acknowledged after
    that (the restarted node is a replica again: ``WAIT`` can be answered)."""
    state: dict[str, float] = {}

    def recovered(figures: Figures) -> bool:
        if "restarted" not in state:
            try:
                if not taken_over():
                    return False
            except Exception:  # the topology is still moving: ask again
                return False
            state["restarted"] = restart()
        return any(at > state["restarted"] for at, _ in figures.acked[-5:])

    return recovered


def _missing(url: str, prefix: str, keys: list[str]) -> list[str]:
    """The keys neither Redis (one ``MGET``) nor a freshly loaded view holds."""
    fresh = store.RedisStore(url, prefix)
    try:
        assert fresh.view is not None
        deadline = time.monotonic() + 30
        while True:
            try:
                found = fresh.client.mget([fresh._revocation(k) for k in keys]) if keys else []
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        if not fresh.view.wait_live(30):
            raise TimeoutError("a fresh view did not go live")
        held = fresh.view.peek(keys)
    finally:
        fresh.close()
    return [k for k, a, b in zip(keys, found, held, strict=True) if a is None or b is None]
