"""The local view's compact deny-list: 64-bit fingerprints in sorted arrays, bounded in memory.

Against a plain model (a dictionary of key to expiry) under random writes, merges, filtering
and expiry on a fake clock; what a fingerprint collision does (refuses, never accepts); which
keys are held as fingerprints and which by name; what the load makes of a real index; and the
memory a revocation takes.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from typing import Any

import pytest

from django_nextauth_jwt.state import localview
from tests.deny_list.conftest import sid
from tests.fake_clock import Clock


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("sid:" + "0123456789abcdef" * 2, 0x0123456789ABCDEF),
        ("jti:" + "f" * 32, 2**64 - 1),
        ("sid:" + "0123456789ABCDEF" * 2, None),  # upper case: not a digest of ours, by name
        ("sid:" + "0x23456789abcdef" + "0" * 16, None),
        ("sid:" + "a" * 31, None),
        ("sid:" + "a" * 33, None),
        ("user:" + "a" * 32, None),  # a cut-off has a value (a time): by name
        ("sid=7\x00s", None),  # the embedded store's raw form
    ],
)
def test_which_keys_are_held_as_fingerprints(key: str, expected: int | None) -> None:
    assert localview.fingerprint(key) == expected


def test_the_view_agrees_with_a_plain_model_under_random_writes_merges_and_expiry(
    view: localview.LocalView, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localview, "RECENT_MAX", 64)  # merges happen often
    rng = random.Random(23)  # noqa: S311 - a reproducible test sequence
    keys = [sid() for _ in range(600)] + [f"user:{i}" for i in range(20)]
    model: dict[str, float] = {}  # key -> expiry (any value counts as revoked)
    for step in range(4000):
        key = rng.choice(keys)
        ttl_ms = rng.randrange(1_000, 200_000)
        view.apply(key, rng.randrange(1, 100), ttl_ms)
        model[key] = max(model.get(key, -1.0), clock.now + ttl_ms / 1000)
        clock.now += rng.random() * 0.2
        if step % 97 == 0:
            view.prune()  # merges when due; filters every FILTER_EVERY seconds
        if step % 500 == 0:
            view.merge(force=True)
        if step % 50 == 0:
            probe = rng.sample(keys, 40)
            found = view.get_many(probe)
            assert found is not None
            # Whole seconds in the table, rounded up: an entry may outlive the model by < 1 s.
            for key, value in zip(probe, found, strict=True):
                expires = model.get(key, -1.0)
                by_name = localview.fingerprint(key) is None
                if expires > clock.now + 1:
                    assert value is not None, key
                elif expires <= clock.now - (0 if by_name else 1):
                    assert value is None, key
    assert len(view._sorted.fps) > 0  # the table was used, not only the recent changes


def test_expired_fingerprints_are_dropped_from_the_table(
    view: localview.LocalView, clock: Clock
) -> None:
    short, long = sid(), sid()
    view.apply(short, 1, 10_000)
    view.apply(long, 1, 3_600_000)
    view.merge(force=True)
    assert len(view._sorted.fps) == 2
    assert view._recent == {}
    clock.now += localview.FILTER_EVERY + 1
    view.prune()
    assert list(view._sorted.fps) == [localview.fingerprint(long)]
    assert view.get_many([short, long]) == [None, 1]


def test_a_fingerprint_collision_refuses_a_valid_token_never_accepts_a_revoked_one(
    view: localview.LocalView,
) -> None:
    revoked = "sid:" + "0123456789abcdef" + "1" * 16
    other = "sid:" + "0123456789abcdef" + "2" * 16  # the same first 64 bits: a collision
    never = sid()
    view.apply(revoked, 1, 60_000)
    assert view.get_many([revoked, other, never]) == [1, 1, None]
    view.merge(force=True)
    assert view.get_many([revoked, other, never]) == [1, 1, None]


def test_a_write_during_a_merge_is_not_lost(view: localview.LocalView) -> None:
    # The merge snapshots the recent changes, builds the table outside the lock, then drops
    # from the recent changes only what it merged unchanged.
    first, raised = sid(), sid()
    view.apply(first, 1, 60_000)
    view.apply(raised, 1, 10_000)
    original = localview._merged

    def merged_while_written(*args: Any) -> Any:
        view.apply(raised, 1, 3_600_000)  # raised while the merge runs
        return original(*args)

    localview._merged = merged_while_written  # type: ignore[assignment]
    try:
        view.merge(force=True)
    finally:
        localview._merged = original
    assert list(view._recent) == [localview.fingerprint(raised)]
    assert view._recent[localview.fingerprint(raised) or 0] == pytest.approx(
        time.monotonic() + 3600
    )


def test_a_cut_off_keeps_its_value_by_name(view: localview.LocalView) -> None:
    view.apply("user:ada", 1_700_000_000, 60_000)
    view.apply("user:ada", 1_600_000_000, 60_000)
    assert view.get_many(["user:ada", "user:bob"]) == [1_700_000_000, None]


def test_the_load_reads_a_real_index_into_the_table(redis_prefix: str) -> None:
    import redis

    from tests.conftest import REDIS_URL

    index = f"{redis_prefix}:rv"
    client = redis.Redis.from_url(REDIS_URL)
    keys = [sid() for _ in range(3000)]
    try:
        seconds, micros = client.time()
        now_ms = seconds * 1000 + micros // 1000
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(f"{index}:{key}", 1, px=600_000)
                pipe.zadd(index, {key: now_ms + 600_000})
            pipe.set(f"{index}:user:ada", 1_700_000_000, px=600_000)
            pipe.zadd(index, {"user:ada": now_ms + 600_000})
            pipe.zadd(index, {"sid:" + "e" * 32: now_ms - 1})  # expired: not loaded
            pipe.execute()
        view = localview.LocalView(REDIS_URL, entry_prefix=f"{index}:", index=index, channel=index)
        try:
            assert view.wait_live(15)
            assert len(view._sorted.fps) == 3000
            assert view.entries.keys() == {"user:ada"}
            assert view.get_many([*keys[:5], "user:ada", "sid:" + "e" * 32, sid()]) == [
                *[1] * 5,
                1_700_000_000,
                None,
                None,
            ]
        finally:
            view.stop()
    finally:
        client.close()


def test_a_revocation_costs_the_view_at_most_32_bytes() -> None:
    # The sorted table of 100,000 fingerprints, as a load builds it: arrays, buckets, bitmap.
    n = 100_000
    rng = random.Random(7)  # noqa: S311 - a reproducible test sequence
    packed = sorted(rng.getrandbits(64) << 32 | 3600 for _ in range(n))
    tracemalloc.start()
    table = localview._from_packed(packed)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del packed
    assert len(table.fps) == n
    assert table.nbytes() / n <= 32
    assert held / n <= 32
