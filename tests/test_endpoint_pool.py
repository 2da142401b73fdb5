"""The realtime endpoint pool: least-loaded healthy first, failed ones set aside until back."""

from __future__ import annotations

import asyncio

import pytest

from tests.servers import free_port
from transcription.engines.openai import endpoint_pool
from transcription.engines.openai.endpoint_pool import EndpointPool, pool_snapshots, split_endpoints


def test_the_setting_is_split_on_commas_without_blanks_or_repeats():
    setting = " ws://a:1/v1/realtime, ws://b:2/v1/realtime,,ws://a:1/v1/realtime "
    assert split_endpoints(setting) == ["ws://a:1/v1/realtime", "ws://b:2/v1/realtime"]


async def test_sessions_go_to_the_least_loaded_healthy_endpoint():
    pool = EndpointPool(["ws://a/v1/realtime", "ws://b/v1/realtime", "ws://c/v1/realtime"])
    a, b, c = pool.endpoints
    assert pool.choices()[0] is a  # equals keep the configured order
    pool.acquire(a)
    pool.acquire(b)
    assert pool.choices()[0] is c
    pool.acquire(c)
    pool.acquire(c)
    assert [e.url for e in pool.choices()] == [a.url, b.url, c.url]
    pool.release(a)
    assert pool.choices(avoid=a.url)[0] is b, "the endpoint a session leaves comes last"
    assert pool.choices(avoid=a.url)[-1] is a


async def test_a_failed_endpoint_is_set_aside_until_its_port_answers_again(monkeypatch):
    monkeypatch.setattr(endpoint_pool, "PROBE_FIRST_S", 0.05)
    port = free_port()
    pool = EndpointPool([f"ws://127.0.0.1:{port}/v1/realtime", "ws://127.0.0.1:9/v1/realtime"])
    back, other = pool.endpoints
    pool.failed(back)
    assert not back.healthy
    assert pool.choices()[0] is other, "a healthy endpoint comes before a failed one"
    assert pool.choices()[-1] is back, "a failed one is still tried when nothing else works"
    assert pool.has_other_healthy(back.url) and not pool.has_other_healthy(other.url)
    assert (back.url, 0, False) in pool_snapshots()

    await asyncio.sleep(0.3)
    assert not back.healthy, "nothing listens there yet"
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", port)
    try:
        await asyncio.wait_for(pool.probes[back.url], 5)  # the probe ends when the port answers
    finally:
        server.close()
        await server.wait_closed()
    assert back.healthy
    assert pool.choices()[0] is back
    assert (back.url, 0, True) in pool_snapshots()


def test_a_pool_needs_an_endpoint():
    with pytest.raises(ValueError, match="no realtime endpoint"):
        EndpointPool(split_endpoints(" , "))
