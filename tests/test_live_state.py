"""Leases and counts (meetings.live_state): the Redis backend and the demo's in-memory one keep
the same promises, told apart by nothing but ``shared``."""

from __future__ import annotations

import secrets

import pytest
from django.conf import settings

from meetings.live_state import MemoryLiveState, RedisLiveState, backend


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=[RedisLiveState, MemoryLiveState])
def state(request, clock):
    return request.param(clock)


def key(name: str) -> str:
    # the real Redis of the test run: a key of this test's own
    return f"{settings.REDIS_KEY_PREFIX}:live-state-test:{name}:{secrets.token_hex(4)}"


async def test_it_holds_up_to_the_limit_of_the_first_set(state):
    user, room = key("user"), key("room")
    assert await state.acquire([(user, "a"), (room, "1:a")], 60, limit=2)
    assert await state.acquire([(user, "b"), (room, "1:b")], 60, limit=2)
    assert not await state.acquire([(user, "c"), (room, "1:c")], 60, limit=2)
    # refused means nothing held; taking one's own place again is no new place
    assert await state.members(room) == {"1:a", "1:b"}
    assert await state.acquire([(user, "a"), (room, "1:a")], 60, limit=2)
    await state.release([(user, "a"), (room, "1:a")])
    assert await state.members(user) == {"b"}
    assert await state.acquire([(user, "c")], 60, limit=2)


async def test_a_lease_not_renewed_lapses(state, clock):
    room = key("room")
    await state.acquire([(room, "kept")], 60, limit=5)
    await state.acquire([(room, "dropped")], 60, limit=5)
    clock.now += 40
    await state.renew([(room, "kept")], 60)
    clock.now += 40
    assert await state.members(room) == {"kept"}
    # a lapsed lease frees its place
    assert await state.acquire([(room, "new")], 60, limit=2)


async def test_a_mark_is_kept_for_its_time(state):
    seen = key("seen")
    assert await state.read_mark(seen) is None
    await state.mark(seen, 123.5, 3600)
    assert await state.read_mark(seen) == 123.5


async def test_counts_slide_over_their_window(state, clock):
    commits = key("commits")
    assert [await state.take(commits, 60, 2) for _ in range(3)] == [True, True, False]
    clock.now += 61
    assert await state.take(commits, 60, 2)


def test_the_tests_run_on_the_shared_backend():
    # the idle sweep runs in the worker: it reads what the web processes hold
    assert settings.LIVE_STATE_BACKEND == "meetings.live_state.RedisLiveState"
    assert backend().shared and not MemoryLiveState().shared
