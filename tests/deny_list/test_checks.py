"""The local view's check path and its load, as made cheap for issue 23 (item 3).

A check remembers its answer per key (one dictionary look-up the next time, what the former
view of a dictionary of every entry cost), so what matters is that a remembered answer is never
staler than the view: a later write of the key, a write racing the check, a colliding key
revoked, a load that brings the key. And the load parses a page with C functions mapped over
it and builds the table without a loop per entry: each of those is held to the one-at-a-time
reference it replaced (the pattern, the per-member parse, the packing loop, the bisections).
"""

from __future__ import annotations

import random
import secrets
from array import array
from bisect import bisect_left
from typing import Any

import pytest

from django_nextauth_jwt.state import localview
from tests.deny_list.conftest import sid
from tests.fake_clock import Clock

# -- what a check remembers --------------------------------------------------------------------


def test_a_session_checked_before_its_sign_out_is_refused_after_it(
    view: localview.LocalView,
) -> None:
    key = sid()
    assert view.get_many([key]) == [None]
    assert key in view._memo  # remembered absent
    view.apply(key, 1, 60_000)
    assert view.get_many([key]) == [1]
    view.merge(force=True)
    assert view.get_many([key]) == [1]


def test_a_cut_off_checked_before_it_is_written_is_seen_after_it(
    view: localview.LocalView,
) -> None:
    assert view.get_many(["user:ada"]) == [None]
    view.apply("user:ada", 1_700_000_000, 60_000)
    assert view.get_many(["user:ada"]) == [1_700_000_000]
    view.apply("user:ada", 1_800_000_000, 60_000)
    assert view.get_many(["user:ada"]) == [1_800_000_000]


def test_a_key_remembered_absent_is_refused_once_revoked_after_a_colliding_key(
    view: localview.LocalView,
) -> None:
    # B is remembered absent; A (B's fingerprint) is revoked for longer; then B itself is
    # revoked: its write changes nothing in the table (the fingerprint is held longer already)
    # and must still drop what checks remember of B.
    colliding, other = (
        "sid:" + "0123456789abcdef" + "1" * 16,
        "sid:" + "0123456789abcdef" + "2" * 16,
    )
    assert view.get_many([other]) == [None]
    view.apply(colliding, 1, 3_600_000)
    view.apply(other, 1, 60_000)
    assert view.get_many([other, colliding]) == [1, 1]


def test_a_write_racing_a_check_leaves_nothing_stale_remembered(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check reads the table (absent), the write lands, then the check remembers: the
    # generation moved, so what it worked out is not kept.
    key = sid()
    table = view._sorted
    original = type(table).expiry
    raced: list[bool] = []

    def expiry_while_written(self: Any, fp: int) -> int:
        found = original(self, fp)
        if not raced:
            raced.append(True)
            view.apply(key, 1, 60_000)
        return found

    monkeypatch.setattr(type(table), "expiry", expiry_while_written)
    assert view.get_many([key]) == [None]  # answered as of before the write: a race, fine
    assert raced
    assert key not in view._memo
    assert view.get_many([key]) == [1]


def test_a_load_that_brings_a_remembered_key_is_seen(view: localview.LocalView) -> None:
    key = sid()
    assert view.get_many([key]) == [None]
    fp = localview.fingerprint(key)
    assert fp is not None
    view._install([fp << 32 | 3600])
    assert view.get_many([key]) == [1]


def test_remembered_answers_expire_and_are_bounded(
    view: localview.LocalView, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = sid()
    view.apply(key, 1, 10_000)
    assert view.get_many([key]) == [1]
    clock.now += 11
    assert view.get_many([key]) == [None]
    monkeypatch.setattr(localview, "_MEMO_MAX", 8)
    for _ in range(50):
        view.get_many([sid()])
        assert len(view._memo) <= 8


def test_checks_after_every_write_agree_with_a_plain_model(
    view: localview.LocalView, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checks between every two writes (so answers are remembered and must be dropped), keys
    # that share fingerprints, merges and filtering: never a revoked key answered absent.
    monkeypatch.setattr(localview, "RECENT_MAX", 16)
    rng = random.Random(2023)  # noqa: S311 - a reproducible test sequence
    heads = [f"{rng.getrandbits(64):016x}" for _ in range(40)]
    keys = [f"sid:{rng.choice(heads)}{rng.getrandbits(64):016x}" for _ in range(200)]
    keys += [f"user:{i}" for i in range(10)]
    model: dict[str, float] = {}
    for step in range(3000):
        key = rng.choice(keys)
        ttl_ms = rng.randrange(1_000, 100_000)
        view.apply(key, 1, ttl_ms)
        model[key] = max(model.get(key, -1.0), clock.now + ttl_ms / 1000)
        clock.now += rng.random() * 0.3
        if step % 37 == 0:
            view.prune()
        probe = rng.sample(keys, 12)
        found = view.get_many(probe)
        assert found is not None
        for name, value in zip(probe, found, strict=True):
            if model.get(name, -1.0) > clock.now:
                assert value is not None, (step, name)


# -- the fingerprint test and the page parse ---------------------------------------------------


TRICKY = [
    "sid:" + "0123456789abcdef" * 2,
    "jti:" + "f" * 32,
    "sid:" + "0123456789ABCDEF" * 2,
    "sid:" + "a" * 31 + "\n",
    "sid:" + "a" * 31 + " ",
    "sid:" + "a" * 31 + "_",
    "sid:" + "a" * 31 + "é",
    "sid:" + "a" * 31,
    "sid:" + "a" * 33,
    "sid=" + "a" * 32,
    "jti;" + "a" * 32,
    "user:" + "a" * 31,
    " sid:" + "a" * 31,
    "sid:+" + "a" * 31,
]


@pytest.mark.parametrize("key", TRICKY)
def test_the_fingerprint_test_is_the_pattern(key: str) -> None:
    expected = localview._FINGERPRINTED(key)
    found = localview.fingerprint(key)
    assert (found is not None) == (expected is not None)
    if found is not None:
        assert found == int(key[4:20], 16)


def per_member(members: list[bytes]) -> list[int] | None:
    """The reference: each member tested and parsed on its own."""
    if not all(localview._is_fingerprinted(member) for member in members):
        return None
    return [int(member[4:20], 16) for member in members]


def test_a_page_is_parsed_as_one_member_at_a_time_would_be() -> None:
    rng = random.Random(5)  # noqa: S311 - a reproducible test sequence
    digests = [f"{kind}{rng.getrandbits(128):032x}".encode() for kind in ("sid:", "jti:") * 500]
    found = localview._page_fingerprints(digests)
    assert found is not None
    assert list(found) == per_member(digests)
    for odd in TRICKY:
        page = [*digests[:10], odd.encode("utf-8"), *digests[10:20]]
        parsed = localview._page_fingerprints(page)
        expected = per_member(page)
        assert (None if parsed is None else list(parsed)) == expected, odd


def test_a_mixed_page_loads_what_the_one_at_a_time_load_did(view: localview.LocalView) -> None:
    now_ms, base = 1_000_000_000, 5.0
    rng = random.Random(9)  # noqa: S311 - a reproducible test sequence
    members: list[bytes] = []
    scores: list[float] = []
    for i in range(300):
        if i % 50 == 7:
            members.append(f"user:u{i}".encode())
        else:
            members.append(f"sid:{rng.getrandbits(128):032x}".encode())
        scores.append(float(now_ms + rng.randrange(-5_000, 3_600_000)))
    packed: list[int] = []
    named: list[tuple[str, int]] = []
    args: dict[str, Any] = {"now_ms": now_ms, "base": base, "named": named, "known": False}
    view._load_page(members, scores, packed=packed, **args)
    expected_packed: list[int] = []
    expected_named: list[tuple[str, int]] = []
    for member, score in zip(members, scores, strict=True):
        if score <= now_ms:
            continue
        if not localview._is_fingerprinted(member):
            expected_named.append((member.decode(), int(score)))
            continue
        expiry = min(int(base + score / 1000), localview._EXPIRY_MAX)
        expected_packed.append(int(member[4:20], 16) << 32 | expiry)
    assert sorted(packed) == sorted(expected_packed)
    assert named == expected_named
    # The same page without its named keys: the fast path, same entries.
    fast: list[int] = []
    kept = [(m, s) for m, s in zip(members, scores, strict=True) if m.startswith(b"sid:")]
    view._load_page([m for m, _ in kept], [s for _, s in kept], packed=fast, **args)
    assert sorted(fast) == sorted(expected_packed)


# -- the table, built without a loop per entry -------------------------------------------------


def reference_table(packed: list[int]) -> tuple[list[int], list[int]]:
    fps: list[int] = []
    expiries: list[int] = []
    for item in sorted(packed):
        fp, expiry = item >> 32, item & localview._EXPIRY_MAX
        if fps and fps[-1] == fp:
            expiries[-1] = expiry
        else:
            fps.append(fp)
            expiries.append(expiry)
    return fps, expiries


@pytest.mark.parametrize("duplicates", [False, True])
def test_the_table_is_the_one_the_loop_built(duplicates: bool) -> None:
    rng = random.Random(11)  # noqa: S311 - a reproducible test sequence
    fps = [rng.getrandbits(64) for _ in range(5000)]
    if duplicates:
        fps += fps[:300]  # a page seen twice, later expiries
    packed = sorted(fp << 32 | rng.randrange(1, 10**6) for fp in fps)
    table = localview._from_packed(packed)
    expected_fps, expected_expiries = reference_table(packed)
    assert list(table.fps) == expected_fps
    assert list(table.expiries) == expected_expiries
    shift = table.shift
    assert list(table.starts) == [
        *(bisect_left(expected_fps, b << shift) for b in range(1 << (64 - shift))),
        len(expected_fps),
    ]
    for fp, expiry in zip(expected_fps[::97], expected_expiries[::97], strict=True):
        assert table.expiry(fp) == expiry
    assert table.expiry(rng.getrandbits(64)) == 0


def test_filtering_keeps_exactly_what_has_not_expired() -> None:
    rng = random.Random(13)  # noqa: S311 - a reproducible test sequence
    fps = sorted({rng.getrandbits(64) for _ in range(4000)})
    expiries = [rng.randrange(1, 1000) for _ in fps]
    table = localview._Sorted(array("Q", fps), array("I", expiries))
    new = sorted({rng.getrandbits(64) for _ in range(50)})
    merged = localview._merged(table, [(fp, 2000) for fp in new], 500)
    kept = sorted(
        [(f, e) for f, e in zip(fps, expiries, strict=True) if e > 500] + [(fp, 2000) for fp in new]
    )
    assert list(merged.fps) == [f for f, _ in kept]
    assert list(merged.expiries) == [e for _, e in kept]


def test_a_load_over_many_pages_holds_every_live_entry(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from tests.conftest import REDIS_URL

    monkeypatch.setattr(localview, "LOAD_BATCH", 97)  # many pages, some with a cut-off
    index = f"{redis_prefix}:rv"
    client = redis.Redis.from_url(REDIS_URL)
    keys = [sid() for _ in range(2000)]
    try:
        seconds, micros = client.time()
        now_ms = seconds * 1000 + micros // 1000
        with client.pipeline(transaction=False) as pipe:
            for i, key in enumerate(keys):
                pipe.set(f"{index}:{key}", 1, px=600_000)
                pipe.zadd(index, {key: now_ms + 600_000 + i})
            for i in range(5):
                pipe.set(f"{index}:user:u{i}", 1_700_000_000 + i, px=600_000)
                pipe.zadd(index, {f"user:u{i}": now_ms + 600_000})
            pipe.zadd(index, {"sid:" + "e" * 32: now_ms - 1})  # expired: not loaded
            pipe.execute()
        view = localview.LocalView(REDIS_URL, entry_prefix=f"{index}:", index=index, channel=index)
        try:
            assert view.wait_live(15)
            assert len(view._sorted.fps) == len(keys)
            assert view.get_many(keys) == [1] * len(keys)
            assert view.get_many([f"user:u{i}" for i in range(5)]) == [
                1_700_000_000 + i for i in range(5)
            ]
            assert view.get_many(["sid:" + "e" * 32, sid()]) == [None, None]
        finally:
            view.stop()
    finally:
        client.close()


class Meddling:
    """A connection that lets ``meddle(n)`` change the index after the n-th reply is read."""

    def __init__(self, connection: Any, meddle: Any) -> None:
        self.connection = connection
        self.meddle = meddle
        self.replies = 0
        self.commands: list[str] = []

    def send_command(self, *args: Any) -> None:
        self.commands.append(str(args[0]))
        self.connection.send_command(*args)

    def read_response(self) -> Any:
        reply = self.connection.read_response()
        self.replies += 1
        self.meddle(self.replies)
        return reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


@pytest.mark.parametrize(
    ("case", "rescanned"),
    [
        ("nothing", False),
        ("added above", False),  # ranks grow: members read again, none skipped
        ("expired trimmed", False),  # at the bottom: no rank above moves
        ("removed above", True),  # more than the overlap: the anchor moved down, ZSCAN again
        ("anchor extended", True),
    ],
)
def test_a_load_by_rank_skips_no_member_whatever_moves_between_pages(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch, case: str, rescanned: bool
) -> None:
    import redis

    from tests.conftest import REDIS_URL

    monkeypatch.setattr(localview, "LOAD_BATCH", 100)
    monkeypatch.setattr(localview, "LOAD_OVERLAP", 10)
    index = f"{redis_prefix}:rv"
    client = redis.Redis.from_url(REDIS_URL)
    keys = [sid() for _ in range(1000)]
    try:
        seconds, micros = client.time()
        now_ms = seconds * 1000 + micros // 1000
        scores = {key: now_ms + 600_000 + i * 10 for i, key in enumerate(keys)}
        client.zadd(index, scores)
        client.zadd(index, {sid(): now_ms + 2_000 + i for i in range(40)})  # about to expire
        ranked = sorted(keys, key=scores.__getitem__, reverse=True)
        anchor = ranked[99]  # the first page's last member

        def meddle(replies: int) -> None:
            if replies != 1:
                return
            if case == "added above":
                client.zadd(index, {sid(): now_ms + 10**7 + i for i in range(30)})
            elif case == "expired trimmed":
                client.zremrangebyscore(index, "-inf", now_ms + 3_000)
            elif case == "removed above":
                client.zrem(index, *ranked[:20])  # as by hand: gone from the index
            elif case == "anchor extended":
                client.zadd(index, {anchor: now_ms + 10**8})

        connect = localview._connection
        seen: list[Meddling] = []

        def meddling(pool: Any) -> Meddling:
            seen.append(Meddling(connect(pool), meddle))
            return seen[-1]

        monkeypatch.setattr(localview, "_connection", meddling)
        view = localview.LocalView(REDIS_URL, entry_prefix=f"{index}:", index=index, channel=index)
        view._stop.set()
        view._load(client)
        held = set(ranked[20:]) if case == "removed above" else set(keys)
        found = view.peek(sorted(held))
        assert found == [1] * len(held)
        assert ("ZSCAN" in seen[0].commands) is rescanned
        assert seen[0].commands[0] == "ZREVRANGE"
    finally:
        client.delete(index)
        client.close()


def test_a_redis_user_without_zrevrange_still_loads_the_view_with_zscan(
    redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # docs/sign-in.md once named ZADD and ZSCAN only: an ACL written from it refuses ZREVRANGE.
    import redis

    from tests.conftest import REDIS_URL

    index = f"{redis_prefix}:rv"
    admin = redis.Redis.from_url(REDIS_URL)
    user, password = f"nextauth-{secrets.token_hex(4)}", secrets.token_hex(16)
    keys = [sid() for _ in range(300)]
    try:
        admin.acl_setuser(
            user,
            enabled=True,
            passwords=[f"+{password}"],
            keys=["*"],
            channels=["*"],
            commands=["+@all", "-zrevrange"],
        )
        seconds, micros = admin.time()
        now_ms = seconds * 1000 + micros // 1000
        admin.zadd(index, dict.fromkeys(keys, now_ms + 600_000))
        url = REDIS_URL.replace("redis://", f"redis://{user}:{password}@", 1)
        view = localview.LocalView(url, entry_prefix=f"{index}:", index=index, channel=index)
        try:
            assert view.wait_live(15)
            assert view.get_many(keys) == [1] * len(keys)
        finally:
            view.stop()
        assert any("ZREVRANGE refused" in record.getMessage() for record in caplog.records)
    finally:
        admin.acl_deluser(user)
        admin.delete(index)
        admin.close()
