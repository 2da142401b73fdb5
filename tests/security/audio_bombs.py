"""Audio an attacker would upload: hours of silence in a few megabytes, headers that lie.

And the means to watch what it costs a server: its resident memory, from /proc.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import av
import numpy as np

from tests.speech_server import multipart

RATE = 16000
STREAMINFO_AT = 8  # "fLaC", then the 4-byte header of the STREAMINFO block


def silent_flac(path: Path, seconds: int, rate: int = RATE) -> Path:
    """Digital silence compresses to almost nothing: 3 hours at 16 kHz is about 2 MB."""
    block = rate * 10
    zeros = np.zeros((1, block), dtype=np.int16)
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate)
        stream.layout = "mono"
        for i in range(seconds // 10):
            frame = av.AudioFrame.from_ndarray(zeros, format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = i * block
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def claim_length(path: Path, seconds: int, rate: int = RATE) -> Path:
    """Rewrite the FLAC header's sample count, so the file says it is `seconds` long."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0, "STREAMINFO must come first"
    samples = seconds * rate
    at = STREAMINFO_AT + 13  # the 36-bit count: low nibble of this byte, then 4 bytes
    data[at] = (data[at] & 0xF0) | (samples >> 32)
    data[at + 1 : at + 5] = (samples & 0xFFFFFFFF).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    return path


def memory_mib(pid: int, field: str) -> float:
    """VmRSS (resident now) or VmHWM (the peak since the process started), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def post_upload(base: str, token: str, path: Path, **fields: str) -> tuple[int, dict]:
    """POST the file to the upload API of a running server; (status, JSON body)."""
    body, content_type = multipart(list(fields.items()), path.name, path.read_bytes())
    request = urllib.request.Request(
        base + "/api/audio/transcribe",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())
