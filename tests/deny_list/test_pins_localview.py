"""The local view's table, checks, merges, load and subscriber loop, each edge pinned exactly.

What mutation testing showed no other test observed in ``localview``: the table's size and
bucket count, fingerprint 0 and expiries past 2**31, duplicates in a load, the filter's bounds,
what a check remembers, the grace of ``held``, when a merge or a filter is due, what a load
tells ``on_change``, the load's pages and fallbacks (against a scripted Redis), sharded pub/sub
and the listener's pruning. Each test names the behaviour it pins; none needs Redis.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from array import array
from collections.abc import Callable
from typing import Any

import pytest
from redis.exceptions import ResponseError

from django_nextauth_jwt.state import localview
from tests.deny_list.conftest import sid
from tests.fake_clock import Clock

TOP = 2**32 - 1  # the largest expiry a table holds
A, B, C = 0x1111 << 40, 0x2222 << 40, 0x3333 << 40


def table(pairs: list[tuple[int, int]]) -> localview._Sorted:
    return localview._Sorted(array("Q", [f for f, _ in pairs]), array("I", [e for _, e in pairs]))


def contents(held: localview._Sorted) -> list[tuple[int, int]]:
    return list(zip(held.fps, held.expiries, strict=True))


def fp_of(key: str) -> int:
    found = localview.fingerprint(key)
    assert found is not None
    return found


# -- the sorted table --------------------------------------------------------------------------


def test_a_table_takes_12_bytes_a_fingerprint_and_4_a_bucket_about_8_fingerprints_each() -> None:
    assert table([]).nbytes() == 3 * 4  # two buckets and the end
    pairs = [(i * (2**64 // 1000), 5) for i in range(1000)]
    held = table(pairs)
    assert held.shift == 64 - 7  # 1000 fingerprints: 128 buckets
    assert held.nbytes() == 1000 * 12 + (128 + 1) * 4
    assert all(held.expiry(fp) == 5 for fp, _ in pairs[::37])


def test_fingerprint_zero_is_found_in_the_table(view: localview.LocalView) -> None:
    assert table([(0, 7), (A, 8), (2**63, 9)]).expiry(0) == 7
    key = "sid:" + "0" * 32
    view.apply(key, 1, 60_000)
    view.merge(force=True)
    assert view._recent == {}
    assert view.get_many([key]) == [1]


# -- a loaded table ----------------------------------------------------------------------------


def test_a_loaded_expiry_may_be_the_largest_an_unsigned_32_bit_holds() -> None:
    assert localview._from_packed([A << 32 | TOP]).expiry(A) == TOP
    assert contents(localview._from_packed([A << 32 | 5, A << 32 | TOP])) == [(A, TOP)]


@pytest.mark.parametrize(
    ("packed", "expected"),
    [
        ([(A, 5), (A, 9)], [(A, 9)]),
        ([(A, 1), (B, 5), (B, 9)], [(A, 1), (B, 9)]),
        ([(1, 3), (B, 4), (B, 6)], [(1, 3), (B, 6)]),
        ([(A, 2), (A, 3), (A, 4)], [(A, 4)]),
    ],
    ids=["two-of-one", "twice-at-the-end", "fingerprint-1-first", "all-one"],
)
def test_a_fingerprint_loaded_twice_is_held_once_with_its_later_expiry(
    packed: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    held = localview._from_packed([fp << 32 | expiry for fp, expiry in packed])
    assert contents(held) == expected
    assert all(held.expiry(fp) == expiry for fp, expiry in expected)


# -- merging and filtering ---------------------------------------------------------------------


def test_filtering_at_second_1_drops_what_expires_at_second_1() -> None:
    assert contents(localview._merged(table([(A, 1), (B, 5)]), [], 1)) == [(B, 5)]


def test_filtering_keeps_an_expiry_past_2_to_the_31() -> None:
    assert contents(localview._merged(table([(A, TOP), (B, 1)]), [], 1)) == [(A, TOP)]


def test_merging_keeps_expiries_past_2_to_the_31() -> None:
    merged = localview._merged(table([(A, TOP), (C, 7)]), [(B, TOP), (C, 2**31)], 0)
    assert contents(merged) == [(A, TOP), (B, TOP), (C, 2**31)]


# -- what a check remembers --------------------------------------------------------------------


def counting_resolve(view: localview.LocalView, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    resolved: list[str] = []
    original = view._resolve

    def resolve(key: str) -> tuple[int | None, float]:
        resolved.append(key)
        return original(key)

    monkeypatch.setattr(view, "_resolve", resolve)
    return resolved


def test_a_key_checked_again_is_answered_from_memory(
    view: localview.LocalView, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    view.fresh = clock.now
    revoked, other = sid(), sid()
    view.apply(revoked, 1, 60_000)
    resolved = counting_resolve(view, monkeypatch)
    assert view.get_many([revoked, other]) == [1, None]
    assert view.get_many([revoked, other]) == [1, None]
    assert view.peek([revoked, other]) == [1, None]
    assert view.held([revoked, other], 10**10) == [1, None]
    assert resolved == [revoked, other]


def test_a_write_forgets_only_what_was_remembered_of_its_own_key(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    written, other = sid(), sid()
    assert view.get_many([written, other]) == [None, None]
    resolved = counting_resolve(view, monkeypatch)
    view.apply(written, 1, 60_000)
    assert view.get_many([written, other]) == [1, None]
    assert resolved == [written]


def test_a_write_right_after_a_check_remembers_its_answer_drops_it(
    view: localview.LocalView,
) -> None:
    key = sid()

    class Raced(dict[str, tuple[int | None, float]]):
        def __setitem__(self, name: str, entry: tuple[int | None, float]) -> None:
            super().__setitem__(name, entry)
            view.apply(key, 1, 60_000)  # lands between the remembering and the check of it

    view._memo = Raced()
    assert view.get_many([key]) == [None]  # answered as of before the write
    assert key not in view._memo
    view._memo = {}
    assert view.get_many([key]) == [1]


def test_a_write_racing_a_check_is_noticed_after_earlier_writes_too(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    view.apply(sid(), 1, 60_000)  # the write count is not at its start
    key = sid()
    original = localview._Sorted.expiry
    raced: list[bool] = []

    def expiry_while_written(self: localview._Sorted, fp: int) -> int:
        found = original(self, fp)
        if not raced:
            raced.append(True)
            view.apply(key, 1, 60_000)
        return found

    monkeypatch.setattr(localview._Sorted, "expiry", expiry_while_written)
    assert view.get_many([key]) == [None]
    assert key not in view._memo
    assert view.get_many([key]) == [1]


def test_a_merged_entry_is_answered_until_its_expiry(
    view: localview.LocalView, clock: Clock
) -> None:
    key = sid()
    view.apply(key, 1, 59_500)
    view.merge(force=True)
    assert list(view._sorted.expiries) == [60]  # whole seconds, rounded up
    assert view.get_many([key]) == [1]
    clock.now += 59.75
    assert view.get_many([key]) == [1]
    clock.now += 1
    assert view.get_many([key]) == [None]


def test_a_key_in_the_recent_changes_loaded_longer_is_held_to_the_longer(
    view: localview.LocalView, clock: Clock
) -> None:
    key = sid()
    view.apply(key, 1, 10_000)
    view._install([fp_of(key) << 32 | 100])  # a reload: the table holds it longer
    assert len(view._recent) == 1
    clock.now += 50
    assert view.get_many([key]) == [1]


def test_an_entry_expiring_within_the_first_second_is_held_to_second_1(
    view: localview.LocalView, clock: Clock
) -> None:
    key = sid()
    view.apply(key, 1, 500)
    view.merge(force=True)
    assert list(view._sorted.expiries) == [1]
    clock.now += 1.5
    assert view.get_many([key]) == [None]


def test_the_view_counts_fingerprints_recent_changes_and_keys_by_name(
    view: localview.LocalView,
) -> None:
    view.apply(sid(), 1, 60_000)
    view.merge(force=True)
    view.apply(sid(), 1, 60_000)
    view.apply("user:ada", 1_700_000_000, 60_000)
    assert len(view) == 3


# -- held: the grace after the view was last complete -----------------------------------------


def test_held_answers_within_its_grace_up_to_its_exact_end(
    view: localview.LocalView, clock: Clock
) -> None:
    key = sid()
    view.apply(key, 1, 60_000)
    view.fresh = clock.now
    assert view.held([key], 0.5) == [1]
    assert view.held([key], 0) is None  # no grace: never, even when complete this instant
    clock.now += 5
    assert view.held([key], 5) == [1]
    assert view.held([key], 4.5) is None


# -- writes, and what they tell -----------------------------------------------------------------


def test_a_write_that_changes_nothing_tells_no_one(view: localview.LocalView) -> None:
    told: list[str] = []
    view.on_change = told.append
    key = sid()
    view.apply(key, 1, 60_000)
    view.apply(key, 1, 60_000)  # the same expiry again
    assert told == [key]


def test_a_shorter_write_of_a_merged_key_tells_no_one(view: localview.LocalView) -> None:
    told: list[str] = []
    view.on_change = told.append
    key = sid()
    view.apply(key, 1, 3_600_000)
    view.merge(force=True)
    view.apply(key, 1, 60_000)
    assert told == [key]
    assert view._recent == {}


def test_a_key_never_held_is_recorded_and_told_even_expiring_at_once(
    view: localview.LocalView,
) -> None:
    told: list[str] = []
    view.on_change = told.append
    key = sid()
    view.apply(key, 1, 0)
    assert told == [key]
    assert len(view) == 1
    assert view.get_many([key]) == [None]


# -- when a merge and a filter are due ----------------------------------------------------------


def test_a_merge_soon_after_a_write_leaves_it_in_the_recent_changes(
    view: localview.LocalView,
) -> None:
    view.apply(sid(), 1, 60_000)
    view.merge()
    view.prune()
    assert len(view._recent) == 1
    assert len(view._sorted.fps) == 0


def test_a_merge_is_due_with_recent_max_changes(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localview, "RECENT_MAX", 3)
    keys = [sid() for _ in range(3)]
    for key in keys[:2]:
        view.apply(key, 1, 60_000)
    view.merge()
    assert len(view._recent) == 2
    view.apply(keys[2], 1, 60_000)
    view.merge()
    assert view._recent == {}
    assert sorted(view._sorted.fps) == sorted(map(fp_of, keys))


def test_a_merge_is_due_exactly_merge_every_after_the_last(
    view: localview.LocalView, clock: Clock
) -> None:
    view.apply(sid(), 1, 600_000)
    clock.now += localview.MERGE_EVERY - 1
    view.merge()
    assert len(view._recent) == 1
    clock.now += 1  # exactly MERGE_EVERY after the view's start
    view.merge()
    assert view._recent == {}
    assert len(view._sorted.fps) == 1


def test_a_merge_between_filters_and_not_due_changes_nothing(
    view: localview.LocalView, clock: Clock
) -> None:
    view.apply(sid(), 1, 600_000)
    view.merge(force=True)
    clock.now += 10
    view.apply(sid(), 1, 600_000)
    view.merge()
    assert len(view._recent) == 1
    assert len(view._sorted.fps) == 1


def test_a_lone_expired_fingerprint_is_filtered_exactly_filter_every_after_the_start(
    view: localview.LocalView, clock: Clock
) -> None:
    view.apply(sid(), 1, 10_000)
    view.merge(force=True)
    clock.now += localview.FILTER_EVERY - 1
    view.merge()
    assert len(view._sorted.fps) == 1
    clock.now += 1
    view.merge()
    assert len(view._sorted.fps) == 0


def test_an_empty_table_does_not_restart_the_filter_clock(
    view: localview.LocalView, clock: Clock
) -> None:
    clock.now += localview.FILTER_EVERY
    view.merge()  # nothing held: no filter, and the next one is not put off
    view.apply(sid(), 1, 10_000)
    view.merge(force=True)
    clock.now += localview.FILTER_EVERY / 2
    view.merge()
    assert len(view._sorted.fps) == 0


def test_expired_fingerprints_stay_in_the_table_until_a_filter_pass(
    view: localview.LocalView, clock: Clock
) -> None:
    key = sid()
    view.apply(key, 1, 500)
    view.merge(force=True)
    clock.now += 2
    view.apply(sid(), 1, 60_000)
    view.merge(force=True)
    assert len(view._sorted.fps) == 2
    assert view.get_many([key]) == [None]


# -- the load, against a scripted Redis ----------------------------------------------------------

NOW_S = 1_700_000_000
NOW_MS = NOW_S * 1000


def digest(n: int) -> bytes:
    return b"sid:%016x%016x" % (n * 0x9E3779B97F4A7C15 % 2**64, n)  # fingerprints apart


class ScriptedRedis:
    """A client, pool and connection over one index (member -> score) and its entries.

    Replies are worked out when read; ``meddle(n)`` changes the index after the n-th is read.
    """

    def __init__(
        self,
        index: dict[bytes, int],
        values: dict[str, bytes] | None = None,
        *,
        refuse_rank: bool = False,
        meddle: Callable[[int], None] | None = None,
    ) -> None:
        self.index = index
        self.values = values or {}
        self.refuse_rank = refuse_rank
        self.meddle = meddle
        self.sent: list[tuple[Any, ...]] = []
        self.pending: list[tuple[Any, ...]] = []
        self.replies = 0
        self.mgets: list[list[str]] = []
        self.connection_pool = self

    def time(self) -> tuple[int, int]:
        return NOW_S, 0

    def get_connection(self) -> ScriptedRedis:
        return self

    def release(self, connection: Any) -> None:
        assert not self.pending

    def disconnect(self) -> None:
        self.pending.clear()

    def send_command(self, *args: Any) -> None:
        self.sent.append(args)
        self.pending.append(args)

    def read_response(self) -> Any:
        args = self.pending.pop(0)
        self.replies += 1
        try:
            return self.answer(args)
        finally:
            if self.meddle is not None:
                self.meddle(self.replies)

    def answer(self, args: tuple[Any, ...]) -> Any:
        ranked = sorted(self.index.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if args[0] == "ZREVRANGE":
            if self.refuse_rank:
                raise ResponseError("NOPERM no permissions to run the 'zrevrange' command")
            page = ranked[args[2] : args[3] + 1]
        else:
            assert args[0] == "ZSCAN"
            page = ranked
        flat = [part for member, score in page for part in (member, b"%d" % score)]
        return flat if args[0] == "ZREVRANGE" else [b"0", flat]

    def mget(self, names: list[str]) -> list[bytes | None]:
        assert names  # Redis refuses an MGET of no keys
        self.mgets.append(names)
        return [self.values.get(name) for name in names]

    def ranges(self) -> list[tuple[int, int]]:
        return [(args[2], args[3]) for args in self.sent if args[0] == "ZREVRANGE"]

    def scanned(self) -> bool:
        return any(args[0] == "ZSCAN" for args in self.sent)


def test_a_loaded_entry_is_held_to_its_redis_expiry_rounded_up_to_the_second(
    view: localview.LocalView, clock: Clock
) -> None:
    key = digest(1)
    view._load(ScriptedRedis({key: NOW_MS + 10_000}))
    assert contents(view._sorted) == [(fp_of(key.decode()), 11)]
    clock.now += 10.5
    assert view.peek([key.decode()]) == [1]
    clock.now += 1
    assert view.peek([key.decode()]) == [None]


def test_an_entry_loaded_for_centuries_is_held_with_the_largest_expiry(
    view: localview.LocalView,
) -> None:
    key = digest(2)
    view._load(ScriptedRedis({key: NOW_MS + 2**33 * 1000, digest(3): NOW_MS + 1000}))
    assert view._sorted.expiry(fp_of(key.decode())) == TOP
    assert view.peek([key.decode()]) == [1]


def test_a_first_load_tells_of_every_key(view: localview.LocalView) -> None:
    told: list[str] = []
    view.on_change = told.append
    keys = [digest(n) for n in range(5)]
    view._load(ScriptedRedis(dict.fromkeys(keys, NOW_MS + 60_000)))
    assert sorted(told) == sorted(key.decode() for key in keys)


def test_a_reload_tells_only_of_keys_new_or_extended(view: localview.LocalView) -> None:
    told: list[str] = []
    view.on_change = told.append
    x, y = digest(10), digest(11)
    view._load(ScriptedRedis({x: NOW_MS + 60_000}))
    assert told == [x.decode()]
    told.clear()
    view._load(ScriptedRedis({x: NOW_MS + 60_000, y: NOW_MS + 60_000}))
    assert told == [y.decode()]
    told.clear()
    view._load(ScriptedRedis({x: NOW_MS + 120_000, y: NOW_MS + 60_000}))
    assert told == [x.decode()]
    assert view.peek([x.decode(), y.decode()]) == [1, 1]


def test_a_reload_of_a_page_with_keys_by_name_tells_of_nothing_unchanged(
    view: localview.LocalView,
) -> None:
    told: list[str] = []
    view.on_change = told.append
    index = {digest(20): NOW_MS + 60_000, b"user:ada": NOW_MS + 60_000}
    values = {"p:rv:user:ada": b"1700000000"}
    view._load(ScriptedRedis(index, values))
    assert sorted(told) == sorted([digest(20).decode(), "user:ada"])
    told.clear()
    view._load(ScriptedRedis(dict(index), values))
    assert told == []


def test_a_reload_keeps_what_was_held_even_expiring_in_its_first_second(
    view: localview.LocalView,
) -> None:
    early, late, loaded = sid(), sid(), digest(30)
    view._install(sorted([fp_of(early) << 32 | 1, fp_of(late) << 32 | 100]))
    view._load(ScriptedRedis({loaded: NOW_MS + 60_000}))
    assert view.peek([early, late, loaded.decode()]) == [1, 1, 1]
    assert len(view._sorted.fps) == 3


def test_a_view_refused_zrevrange_says_why_and_loads_with_zscan_keys_by_name_too(
    view: localview.LocalView, caplog: pytest.LogCaptureFixture
) -> None:
    index = {digest(40): NOW_MS + 60_000, b"user:ada": NOW_MS + 60_000}
    redis = ScriptedRedis(index, {"p:rv:user:ada": b"1700000000"}, refuse_rank=True)
    with caplog.at_level(logging.WARNING, logger=localview.__name__):
        view._load(redis)
    assert view.peek([digest(40).decode(), "user:ada"]) == [1, 1_700_000_000]
    assert redis.scanned()
    assert [record.getMessage() for record in caplog.records] == [
        "deny-list view: ZREVRANGE refused (NOPERM no permissions to run the 'zrevrange' "
        "command), loading with ZSCAN"
    ]


def test_keys_by_name_are_read_load_batch_at_a_time(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localview, "LOAD_BATCH", 2)
    names = [f"user:u{i}" for i in range(3)]
    index = {name.encode(): NOW_MS + 60_000 + i for i, name in enumerate(names)}
    redis = ScriptedRedis(index, {f"p:rv:{name}": b"7" for name in names})
    view._load(redis)
    assert redis.mgets == [["p:rv:user:u2", "p:rv:user:u1"], ["p:rv:user:u0"]]
    assert view.peek(names) == [7, 7, 7]


def test_pages_by_rank_are_load_batch_long_at_least_twice_the_overlap_and_overlap(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localview, "LOAD_BATCH", 5)
    monkeypatch.setattr(localview, "LOAD_OVERLAP", 4)
    keys = [digest(n) for n in range(100, 120)]
    redis = ScriptedRedis({key: NOW_MS + 60_000 + i for i, key in enumerate(keys)})
    view._load(redis)
    assert redis.ranges() == [(0, 7), (4, 11), (8, 15), (12, 19), (16, 23)]
    assert not redis.scanned()
    assert view.peek([key.decode() for key in keys]) == [1] * len(keys)


def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localview, "LOAD_BATCH", 5)
    monkeypatch.setattr(localview, "LOAD_OVERLAP", 2)  # pages of 5, each 3 further on


def test_an_index_emptied_between_pages_is_scanned_again(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_pages(monkeypatch)
    index = {digest(n): NOW_MS + 60_000 + n for n in range(5)}
    replaced = {digest(50): NOW_MS + 60_000, digest(51): NOW_MS + 60_000}

    def meddle(replies: int) -> None:
        if replies == 1:  # by hand: all gone, two others written
            index.clear()
            index.update(replaced)

    redis = ScriptedRedis(index, meddle=meddle)
    view._load(redis)
    assert redis.scanned()
    assert view.peek([key.decode() for key in replaced]) == [1, 1]


def test_an_anchor_extended_in_place_between_pages_makes_the_load_scan_again(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_pages(monkeypatch)
    keys = [digest(n) for n in range(60, 68)]
    index = {key: NOW_MS + 60_000 + 10 * (8 - i) for i, key in enumerate(keys)}  # ranked in order

    def meddle(replies: int) -> None:
        if replies == 1:
            index[keys[4]] += 5  # the first page's last: its rank is unchanged, not its score

    redis = ScriptedRedis(index, meddle=meddle)
    view._load(redis)
    assert redis.scanned()
    assert view.peek([key.decode() for key in keys]) == [1] * len(keys)


def test_an_anchor_first_on_the_next_page_needs_no_scan(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_pages(monkeypatch)
    keys = [digest(n) for n in range(70, 78)]
    index = {key: NOW_MS + 60_000 + 10 * (8 - i) for i, key in enumerate(keys)}

    def meddle(replies: int) -> None:
        if replies == 1:
            del index[keys[0]]  # one rank up: the anchor opens the next page

    redis = ScriptedRedis(index, meddle=meddle)
    view._load(redis)
    assert redis.ranges() == [(0, 4), (3, 7)]
    assert not redis.scanned()
    assert view.peek([key.decode() for key in keys]) == [1] * len(keys)


def test_a_full_page_ending_on_an_expired_member_is_the_last_read(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_pages(monkeypatch)
    live = [digest(n) for n in range(80, 83)]
    index = dict.fromkeys(live, NOW_MS + 60000)
    index.update({digest(n): NOW_MS for n in range(90, 96)})  # expiring this very millisecond
    redis = ScriptedRedis(index)
    view._load(redis)
    assert redis.ranges() == [(0, 4), (3, 7)]
    assert not redis.scanned()
    assert len(view._sorted.fps) == 3
    assert view.peek([key.decode() for key in live]) == [1, 1, 1]


# -- the subscriber thread -----------------------------------------------------------------------


class Topology:
    def __init__(self, sharded: bool) -> None:
        self.sharded = sharded
        self.asked: list[tuple[float, str]] = []

    def node_client(self, timeout: float, key: str) -> str:
        self.asked.append((timeout, key))
        return "client"


def test_the_views_client_is_of_the_node_that_serves_its_index(
    view: localview.LocalView, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = Topology(sharded=True)
    monkeypatch.setattr(view, "_topology", lambda: topology)
    assert view._client() == "client"
    assert topology.asked == [(localview.VIEW_TIMEOUT, "p:rv")]


class ScriptedPubSub:
    """``get_message`` from a script: each call moves the clock by ``step`` first."""

    def __init__(self, clock: Clock, script: list[Any], step: float, then: Any = None) -> None:
        self.clock = clock
        self.script = list(script)
        self.step = step
        self.then = then
        self.calls: list[float] = []
        self.subscribed: list[tuple[str, str]] = []
        self.pings = 0
        self.connection = self

    def register_connect_callback(self, callback: Any) -> None:
        pass

    def subscribe(self, channel: str) -> None:
        self.subscribed.append(("subscribe", channel))

    def ssubscribe(self, channel: str) -> None:
        self.subscribed.append(("ssubscribe", channel))

    def ping(self) -> None:
        self.pings += 1

    def get_message(self, timeout: float) -> Any:
        self.calls.append(self.clock.now)
        if self.then is not None:
            self.then()
        self.clock.now += self.step
        return self.script.pop(0) if self.script else None


def test_on_a_cluster_the_view_subscribes_by_shard_and_applies_what_comes_first(
    view: localview.LocalView, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(view, "_topology", lambda: Topology(sharded=True))
    monkeypatch.setattr(view, "_load", lambda client: None)
    key = sid()
    pubsub = ScriptedPubSub(
        clock,
        [
            {"type": "smessage", "data": f"{key} 1 60000".encode()},
            {"type": "ssubscribe", "data": 1},
        ],
        step=0.5,
    )
    view._link("client", pubsub)
    assert pubsub.subscribed == [("ssubscribe", "p:rv")]
    assert len(pubsub.calls) == 2
    assert pubsub.pings == 1
    assert view.peek([key]) == [1]


def listening(view: localview.LocalView) -> localview.LocalView:
    view._stop.clear()
    view.live = False
    return view


def test_the_listener_applies_sharded_messages_and_is_fresh_once_live(
    view: localview.LocalView, clock: Clock
) -> None:
    key = sid()
    listening(view)
    script = [
        {"type": "pong", "data": b""},
        {"type": "smessage", "data": f"{key} 1 60000".encode()},
    ]
    pubsub = ScriptedPubSub(clock, script, step=0.01)
    pubsub.then = lambda: None if pubsub.script else view._stop.set()
    view._listen(pubsub)
    assert view.live
    assert view.fresh == pubsub.calls[2]  # when the last message came
    assert view.peek([key]) == [1]
    assert view.held([key], 1.0) == [1]


def test_the_listener_relinks_when_its_shard_unsubscribes(
    view: localview.LocalView, clock: Clock
) -> None:
    listening(view)
    pubsub = ScriptedPubSub(clock, [{"type": "sunsubscribe", "data": 0}], step=0.01)
    pubsub.then = lambda: None if pubsub.script else view._stop.set()
    with pytest.raises(localview._Relinked):
        view._listen(pubsub)


def test_the_listener_prunes_exactly_once_a_second(view: localview.LocalView, clock: Clock) -> None:
    listening(view)
    view.apply("user:ada", 1, 100)
    present: list[bool] = []
    pubsub = ScriptedPubSub(clock, [], step=0.25)

    def record() -> None:
        present.append("user:ada" in view.entries)
        if len(present) == 6:
            view._stop.set()

    pubsub.then = record
    view._listen(pubsub)
    assert present == [True, True, True, True, False, False]


def test_the_listener_merges_as_soon_as_recent_max_changes_came(
    view: localview.LocalView, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localview, "RECENT_MAX", 2)
    listening(view)
    keys = [sid(), sid()]
    script = [{"type": "message", "data": f"{key} 1 60000".encode()} for key in keys]
    pubsub = ScriptedPubSub(clock, script, step=0.01)
    sizes: list[tuple[int, int]] = []

    def record() -> None:
        sizes.append((len(view._recent), len(view._sorted.fps)))
        if len(sizes) == 3:
            view._stop.set()

    pubsub.then = record
    view._listen(pubsub)
    assert sizes == [(0, 0), (1, 0), (0, 2)]


def test_the_thread_tries_again_and_again_backing_off() -> None:
    view = localview.LocalView(
        "redis://127.0.0.1:1/0", entry_prefix="p:rv:", index="p:rv", channel="p:rv"
    )
    attempts: list[float] = []

    def fails() -> Any:
        attempts.append(time.monotonic())
        raise ConnectionError("Redis is down")

    view._client = fails  # type: ignore[method-assign]
    view.start()
    try:
        deadline = time.monotonic() + 5
        while len(attempts) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(attempts) >= 3
    finally:
        view.stop()
    assert not view._thread or not view._thread.is_alive()


def test_a_forked_child_resets_every_view(monkeypatch: pytest.MonkeyPatch) -> None:
    view = localview.LocalView(
        "redis://127.0.0.1:1/0", entry_prefix="p:rv:", index="p:rv", channel="p:rv"
    )
    view.live = True
    view._thread = threading.current_thread()
    monkeypatch.setattr(localview, "_views", weakref.WeakSet([view]))
    localview._after_fork_in_child()
    assert view.live is False
    assert view._thread is None
