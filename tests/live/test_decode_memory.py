"""Live decodes of ever-new window lengths do not fill the process (issue 12's soak).

A live window is the utterance so far plus padding, so nearly every decode has a length, and so
matrix shapes, of its own. oneDNN, inside CTranslate2, kept a kernel for each shape, up to 1024
of them: the soak's web process grew for half an hour, and evicting them fragmented its heap.
The engine turns that cache off (transcription/engines/local/models.py). Each case runs the
benchmark's own measure (bench/decode_shapes.py) in a fresh process, since the setting is read
when the first kernel is built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.usefixtures("whisper")


def growth_mb(cache_capacity: str | None) -> float:
    """What 55 decodes of new lengths added to the memory in use, after 5 of them (the model
    loaded, the first buffers made): bench/decode_shapes.py's own child, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    if cache_capacity is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = cache_capacity
    command = [sys.executable, "bench/decode_shapes.py", "--child", "--decodes", "60"]
    output = subprocess.run(
        [*command, "--every", "5"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    rows = json.loads(output.strip().splitlines()[-1])  # (decodes, MB in use, resident, time)
    return rows[-1][1] - rows[0][1]


def test_decodes_of_new_lengths_keep_the_memory_they_use_flat():
    service = growth_mb(None)  # as the service runs: the engine's own setting
    onednn_default = growth_mb("1024")

    # the measure's own check: oneDNN's default cache grows (about 35 MB on an AVX2-only CPU,
    # more with AVX-512's kernels), so the service's flat figure is not an insensitive measure
    assert onednn_default > 20, "oneDNN's own cache should have grown with the new shapes"
    assert service < 10
