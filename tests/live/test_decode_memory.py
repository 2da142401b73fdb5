"""Live decodes of ever-new window lengths do not fill the process (issue 12's soak).

A live window is the utterance so far plus padding, so nearly every decode has a length, and so
matrix shapes, of its own. oneDNN, inside CTranslate2, kept a kernel for each shape, up to 1024
of them: the soak's web process grew for half an hour, and evicting them fragmented its heap.
The engine turns that cache off (transcription/engines/local_models.py). Each case runs in a
fresh process, since the setting is read when the first kernel is built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.slow

DECODES_OF_NEW_LENGTHS = """
import ctypes, json
import numpy as np
from tests.speech import clips
from transcription.engines.base import SessionConfig
from transcription.engines.local_models import LocalConfig, realtime_model, tokenizer
from transcription.engines.whisper_decode import decode_partial

FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS.split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2

def in_use_mb():  # what malloc has handed out and not had back
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20

model, tok = realtime_model(LocalConfig()), tokenizer(LocalConfig())
speech = np.frombuffer(clips()[0].pcm16()[0], "<i2").astype(np.float32) / 32768
lengths = np.random.default_rng(1).uniform(0.5, 11.0, 60)
in_use = []
for seconds in lengths:
    decode_partial(model, tok, speech[: int(seconds * 16000)], SessionConfig())
    in_use.append(in_use_mb())
print(json.dumps({"after_5": in_use[4], "after_60": in_use[-1]}))
"""


def growth_mb(cache_capacity: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    if cache_capacity is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = cache_capacity
    output = subprocess.run(
        [sys.executable, "-c", DECODES_OF_NEW_LENGTHS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return result["after_60"] - result["after_5"]


def test_decodes_of_new_lengths_keep_the_memory_they_use_flat():
    service = growth_mb(None)  # as the service runs: the engine's own setting
    onednn_default = growth_mb("1024")

    assert onednn_default > 40, "oneDNN's own cache should have grown with the new shapes"
    assert service < 10
