"""The decode slots under load: finals first, and what a decode is told when finals pile up;
and the process's slots, which the local engine decodes through, as /metrics reports them.

Real threads and a real event loop; the decodes are functions that hold their core until the
test lets them go, so the order is the test's, not the machine's.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from prometheus_client.parser import text_string_to_metric_families

from transcription import metrics
from transcription.engine_factory import realtime_engine
from transcription.engines.local.decode import CROWDED_FINAL_BEAM_SIZE, FINAL_BEAM_SIZE
from transcription.engines.local.models import DecodeSlots

pytestmark = pytest.mark.asyncio


class Held:
    """A decode that holds its core until released, and records what the slots told it."""

    def __init__(self, slots: DecodeSlots) -> None:
        self.slots = slots
        self.started = threading.Event()
        self.go = threading.Event()
        self.beam: int | None = None
        self.asked_together: threading.Barrier | None = None

    def final(self) -> int:
        self.beam = self.slots.final_beam()
        self.started.set()
        self.go.wait(10)
        return self.beam

    def head(self) -> int:
        self.beam = self.slots.final_beam(DecodeSlots.HEAD)
        self.started.set()
        self.go.wait(10)
        return self.beam

    def partial(self) -> bool:
        self.started.set()
        self.go.wait(10)
        answer = self.slots.no_final_waiting()
        if self.asked_together:  # no partial hands its core on before the others have asked
            self.asked_together.wait(10)
        return answer


async def started(held: Held) -> None:
    assert await asyncio.to_thread(held.started.wait, 10)


async def test_a_lone_final_keeps_the_full_beam():
    slots = DecodeSlots(2)
    held = Held(slots)
    held.go.set()
    assert await slots.run(DecodeSlots.FINAL, held.final) == FINAL_BEAM_SIZE
    assert slots.crowded_finals == 0
    assert slots.running == [0, 0, 0] and slots.queued == [0, 0, 0]


async def test_finals_due_together_take_the_smaller_beam():
    slots = DecodeSlots(2)
    first, second, third = Held(slots), Held(slots), Held(slots)
    runs = [asyncio.create_task(slots.run(DecodeSlots.FINAL, h.final)) for h in (first, second)]
    await started(first)
    await started(second)
    waiting = asyncio.create_task(slots.run(DecodeSlots.FINAL, third.final))
    await asyncio.sleep(0.05)
    assert slots.queued[DecodeSlots.FINAL] == 1 and not third.started.is_set()
    first.go.set()
    await started(third)  # on the core the first one left, while the second still holds its own
    second.go.set()
    third.go.set()
    beams = await asyncio.gather(*runs, waiting)
    assert beams == [CROWDED_FINAL_BEAM_SIZE] * 3
    assert slots.crowded_finals == 3
    assert slots.running == [0, 0, 0] and slots.queued == [0, 0, 0] and slots.free == 2


async def test_a_waiting_final_tells_the_partials_in_flight_to_stop():
    slots = DecodeSlots(2)
    partials = [Held(slots), Held(slots)]
    runs = [asyncio.create_task(slots.run(DecodeSlots.PARTIAL, h.partial)) for h in partials]
    for held in partials:
        await started(held)
    assert slots.no_final_waiting()
    final = Held(slots)
    final_run = asyncio.create_task(slots.run(DecodeSlots.FINAL, final.final))
    await asyncio.sleep(0.05)
    asked_together = threading.Barrier(len(partials))
    for held in partials:
        held.asked_together = asked_together
        held.go.set()
    # each partial, asked after its encoder pass, is told a final waits for its core
    assert await asyncio.gather(*runs) == [False, False]
    final.go.set()
    assert await final_run == FINAL_BEAM_SIZE  # by its turn, it is the only final


async def test_a_final_that_gives_up_waiting_no_longer_counts():
    slots = DecodeSlots(1)
    running = Held(slots)
    run = asyncio.create_task(slots.run(DecodeSlots.FINAL, running.final))
    await started(running)
    given_up = asyncio.create_task(slots.run(DecodeSlots.FINAL, Held(slots).final))
    await asyncio.sleep(0.05)
    assert not slots.no_final_waiting()
    given_up.cancel()  # the speaker spoke again: the speculative final is dropped
    with pytest.raises(asyncio.CancelledError):
        await given_up
    assert slots.no_final_waiting() and slots.queued == [0, 0, 0]
    running.go.set()
    assert await run == FINAL_BEAM_SIZE
    assert slots.free == 1


async def test_a_final_given_up_while_it_decodes_holds_its_core_but_crowds_no_other():
    """A lone speaker's speculative final, dropped when speech resumed, still decoded when the
    next pause started another: that one took the smaller beam though nobody else spoke."""
    slots = DecodeSlots(2)
    dropped, next_one = Held(slots), Held(slots)
    speculation = asyncio.create_task(slots.run(DecodeSlots.FINAL, dropped.final))
    await started(dropped)
    speculation.cancel()  # the speaker spoke again
    with pytest.raises(asyncio.CancelledError):
        await speculation
    assert slots.free == 1  # its thread still decodes, on its core
    next_one.go.set()
    assert await slots.run(DecodeSlots.FINAL, next_one.final) == FINAL_BEAM_SIZE
    assert slots.crowded_finals == 0
    dropped.go.set()
    for _ in range(100):  # its core comes back once its thread is done
        if slots.free == 2:
            break
        await asyncio.sleep(0.01)
    assert slots.free == 2 and slots.running == [0, 0, 0]


async def test_a_head_goes_after_the_finals_and_before_the_partials():
    slots = DecodeSlots(1)
    running, partial, head, final = Held(slots), Held(slots), Held(slots), Held(slots)
    run = asyncio.create_task(slots.run(DecodeSlots.FINAL, running.final))
    await started(running)
    waiting = [
        asyncio.create_task(slots.run(priority, function))
        for priority, function in (
            (DecodeSlots.PARTIAL, partial.partial),
            (DecodeSlots.HEAD, head.head),
            (DecodeSlots.FINAL, final.final),
        )
    ]
    await asyncio.sleep(0.05)
    running.go.set()
    await started(final)  # queued last, but a final
    assert not head.started.is_set() and not partial.started.is_set()
    final.go.set()
    await started(head)
    assert not partial.started.is_set()
    head.go.set()
    partial.go.set()
    await asyncio.gather(run, *waiting)
    assert head.beam == FINAL_BEAM_SIZE  # by its turn, nothing else was due
    assert slots.free == 1 and slots.queued == [0, 0, 0]


async def test_a_head_beside_a_final_takes_the_smaller_beam_but_is_not_a_crowded_final():
    slots = DecodeSlots(2)
    final, head = Held(slots), Held(slots)
    final_run = asyncio.create_task(slots.run(DecodeSlots.FINAL, final.final))
    await started(final)
    head_run = asyncio.create_task(slots.run(DecodeSlots.HEAD, head.head))
    await started(head)
    final.go.set()
    head.go.set()
    assert await final_run == FINAL_BEAM_SIZE  # it started alone
    assert await head_run == CROWDED_FINAL_BEAM_SIZE
    assert slots.crowded_finals == 0


async def figures() -> dict[str, float]:
    """This process's /metrics, by sample name."""
    text = (await database_sync_to_async(metrics.generate_latest)(metrics.registry)).decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


@pytest.mark.django_db
async def test_the_process_engine_decodes_through_the_slots_metrics_reports():
    slots = realtime_engine("local").slots  # as the rooms of this process get it
    first, second, third = Held(slots), Held(slots), Held(slots)
    runs = [asyncio.create_task(slots.run(DecodeSlots.FINAL, h.final)) for h in (first, second)]
    await started(first)
    await started(second)
    runs.append(asyncio.create_task(slots.run(DecodeSlots.FINAL, third.final)))
    await asyncio.sleep(0.05)
    assert (await figures())["captions_decode_queue"] == 1  # the third final waits for a core
    for held in (first, second, third):
        held.go.set()
    await asyncio.gather(*runs)
    after = await figures()
    assert after["captions_decode_queue"] == 0
    # the second started beside the first: crowded, however the threads' starts interleave
    assert after["captions_crowded_finals_total"] == slots.crowded_finals >= 1
