"""Pins on the shared state that no mutation pass reached (issue 27).

The Redis write script is Lua inside a Python string: "the longer expiry wins" and "the
larger value wins" are read here from Redis itself and by a process-fresh store, never
through the writing store's own view (which merges on its own and would hide a script that
shortened a revocation or moved a cut-off back). The local view's float timing constants
are pinned by what they do, with the numbers written out, not by their names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from django_nextauth_jwt.state import localview, store
from tests.conftest import REDIS_URL
from tests.fake_clock import Clock

# --------------------------------------------------------------------------- #
# The Redis write script, seen from outside the writing process
# --------------------------------------------------------------------------- #


@pytest.fixture
def writer(redis_prefix: str) -> Iterator[store.RedisStore]:
    """A store as a process runs it (its local view on), under this test's own prefix."""
    writing = store.RedisStore(REDIS_URL, f"{redis_prefix}:")
    yield writing
    writing.close()


@pytest.fixture
def fresh(redis_prefix: str) -> Iterator[store.RedisStore]:
    """A store another process would load after the writes: no view, Redis answers."""
    reading = store.RedisStore(REDIS_URL, f"{redis_prefix}:", local_view=False)
    yield reading
    reading.close()


def test_a_later_shorter_revocation_does_not_shorten_the_one_in_redis(
    writer: store.RedisStore, fresh: store.RedisStore
) -> None:
    writer.put_max("sid:a", 1, 1000)
    writer.put_max("sid:a", 1, 100)
    entry = f"{writer.prefix}rv:sid:a"
    # Redis itself: the entry and its index score keep the longer expiry.
    assert 900_000 < writer.client.pttl(entry) <= 1_000_000
    score = writer.client.zscore(writer.index, "sid:a")
    assert score is not None
    assert writer.client.pexpiretime(entry) == pytest.approx(score, abs=5)
    assert 900_000 < writer.client.pttl(writer.index) <= 1_000_000
    assert fresh.get_many(["sid:a"]) == [1]


def test_a_later_smaller_cutoff_does_not_move_the_one_in_redis_back(
    writer: store.RedisStore, fresh: store.RedisStore
) -> None:
    writer.put_max("user:7", 2000, 60)
    writer.put_max("user:7", 1000, 60)
    assert writer.client.get(f"{writer.prefix}rv:user:7") == b"2000"
    assert fresh.get_many(["user:7"]) == [2000]


def test_a_larger_value_with_a_shorter_ttl_keeps_both_winners_in_redis(
    writer: store.RedisStore, fresh: store.RedisStore
) -> None:
    writer.put_max("user:8", 1000, 1000)
    writer.put_max("user:8", 2000, 100)
    entry = f"{writer.prefix}rv:user:8"
    assert writer.client.get(entry) == b"2000"
    assert writer.client.pttl(entry) > 900_000
    assert fresh.get_many(["user:8"]) == [2000]


def test_a_new_revocation_lasts_its_own_ttl_not_the_longest_in_redis(
    writer: store.RedisStore, fresh: store.RedisStore
) -> None:
    # "The longer expiry wins" compares with the entry's own expiry, not the index's (which
    # lives as long as its longest entry).
    writer.put_max("sid:long", 1, 5000)
    writer.put_max("sid:short", 1, 100)
    assert 0 < writer.client.pttl(f"{writer.prefix}rv:sid:short") <= 100_000
    assert fresh.get_many(["sid:short", "sid:long"]) == [1, 1]


def test_the_published_write_carries_the_winners(writer: store.RedisStore) -> None:
    # What every other process's view applies is the script's result, not the write's input.
    pubsub = writer.client.pubsub()
    try:
        pubsub.subscribe(writer.channel)
        confirmed = pubsub.get_message(timeout=5)
        assert confirmed is not None
        assert confirmed["type"] == "subscribe"
        writer.put_max("user:9", 2000, 1000)
        writer.put_max("user:9", 1000, 100)
        messages: list[list[str]] = []
        while len(messages) < 2:
            message = pubsub.get_message(timeout=5)
            assert message is not None, "the script published nothing"
            messages.append(message["data"].decode().split(" "))
    finally:
        pubsub.close()
    key, value, ttl_ms = messages[1]
    assert (key, value) == ("user:9", "2000")
    assert int(ttl_ms) > 900_000


def test_decr_in_redis_never_goes_below_zero(writer: store.RedisStore) -> None:
    writer.incr("c", 60)
    writer.decr("c")
    writer.decr("c")
    assert writer.client.get(f"{writer.prefix}th:c") == b"0"
    assert writer.incr("c", 60)[0] == 1


# --------------------------------------------------------------------------- #
# The local view's timing, by behaviour
# --------------------------------------------------------------------------- #


@pytest.fixture
def view_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("django_nextauth_jwt.state.localview.time.monotonic", fake)
    return fake


@pytest.fixture
def quiet_view(view_clock: Clock) -> localview.LocalView:
    """A view whose thread never starts, told it is live and heard from now."""
    view = localview.LocalView(
        "redis://127.0.0.1:1/0", entry_prefix="p:rv:", index="p:rv", channel="p:rv"
    )
    view._stop.set()
    view.live, view.heard = True, view_clock.now
    view.apply("sid:a", 1, 60_000)
    return view


def test_a_view_silent_for_six_tenths_of_a_second_is_not_trusted(
    quiet_view: localview.LocalView, view_clock: Clock
) -> None:
    # Half a second of silence is all a view is trusted for: with a stalled Redis (or a
    # stalled subscriber thread) checks go back to Redis itself within that much.
    view_clock.now = quiet_view.heard + 0.6
    assert not quiet_view.is_live()
    assert quiet_view.get_many(["sid:a"]) is None


def test_a_view_silent_for_half_a_second_is_still_trusted(
    quiet_view: localview.LocalView, view_clock: Clock
) -> None:
    view_clock.now = quiet_view.heard + 0.5
    assert quiet_view.is_live()
    assert quiet_view.get_many(["sid:a"]) == [1]


def test_a_view_is_heard_from_several_times_within_its_trust_window() -> None:
    # The heartbeat is what keeps a quiet but healthy view trusted: at least four pings
    # fit in the window, so one late ping does not send every check to Redis; and the link
    # is made again only well after the view stopped being trusted.
    assert localview.HEARTBEAT * 4 <= 0.5
    assert localview.STALE_AFTER < localview.RELINK_AFTER
