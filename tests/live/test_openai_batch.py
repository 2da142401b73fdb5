"""The OpenAI batch engine, and the speech server's batch endpoint it talks to.

The engine sends through the official SDK (``audio.transcriptions.create``); the server is a
separate process running the local Whisper (see tests/speech_server.py).
"""

from __future__ import annotations

import http.client
import json

import numpy as np
import pytest

from tests.speech import clip, word_error_rate
from tests.speech_server import AUTH, multipart, post
from transcription.audio import pcm16_to_float
from transcription.engine_factory import engine_config
from transcription.engines.openai.batch import (
    OpenAIBatchEngine,
    OpenAITranscriptionError,
    wav_bytes,
)

BATCH_WER_BOUND = 0.1


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "whisper-1"])
def test_it_transcribes_a_recording(openai, model):
    openai.OPENAI_BATCH_MODEL = model
    speech = clip("A_LS_2412-153948-0000")
    pcm, rate = speech.pcm16()
    audio = pcm16_to_float(pcm)
    reported: list[float] = []

    transcript = OpenAIBatchEngine(engine_config("openai")).transcribe(
        audio, language="en", progress=reported.append
    )

    wer = word_error_rate(speech.reference, transcript.text)
    print(f"{model}: WER {wer:.3f} over {len(transcript.segments)} segment(s)")
    assert wer <= BATCH_WER_BOUND, transcript.text
    assert transcript.language == "en"
    assert reported[-1] == 100.0
    duration_ms = audio.size * 1000 // rate
    for segment in transcript.segments:
        assert 0 <= segment.start_ms < segment.end_ms <= duration_ms + 100
        assert 0 < segment.confidence <= 1
    if model == "whisper-1":  # verbose_json: the segments carry the timing
        assert transcript.segments[0].start_ms > 0


def test_it_answers_bad_uploads_as_openai_does(openai, server):
    url = server.base_url + "/audio/transcriptions"
    wav = wav_bytes(np.zeros(16000, np.float32))

    status, body = post(url, [("model", "whisper-1")], "notes.txt", b"hello")
    assert status == 400
    assert body == {
        "error": {
            "message": "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', "
            "'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    status, body = post(url, [("model", "whisper-1")], "broken.wav", b"RIFF\x00\x00junk" * 50)
    assert status == 400
    assert body["error"]["param"] == "file"
    assert "corrupted or unsupported" in body["error"]["message"]
    fields = [("model", "gpt-4o-transcribe"), ("response_format", "verbose_json")]
    status, body = post(url, fields, "a.wav", wav)
    assert status == 400
    assert body["error"] == {
        "message": "response_format 'verbose_json' is not compatible with model "
        "'gpt-4o-transcribe'. Use 'json' or 'text' instead.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": "unsupported_value",
    }
    status, body = post(url, [("model", "whisper-1")], "huge.wav", bytes(26_300_000))
    assert status == 413
    assert body["error"]["type"] == "server_error"
    assert body["error"]["message"].startswith("Maximum content size limit (26214400) exceeded")

    # the engine raises with the server's message
    openai.OPENAI_BATCH_MODEL = "gpt-9-transcribe"
    with pytest.raises(OpenAITranscriptionError, match="`gpt-9-transcribe` does not exist") as info:
        OpenAIBatchEngine(engine_config("openai")).transcribe(np.zeros(16000, np.float32))
    assert (info.value.status, info.value.code) == (404, "model_not_found")


def test_it_counts_a_chunked_upload_as_it_arrives(server):
    """No Content-Length to refuse by: the body is counted as it comes, against the same limit."""

    def send(pieces: list[bytes], content_type: str) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        headers = {**AUTH, "Content-Type": content_type}
        try:
            connection.request(
                "POST", "/v1/audio/transcriptions", iter(pieces), headers, encode_chunked=True
            )
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    body, content_type = multipart([("model", "whisper-1")], "notes.txt", b"hello")
    status, answer = send([body[:100], body[100:]], content_type)
    assert status == 400, "read whole, then parsed"
    assert answer["error"]["message"].startswith("Invalid file format.")
    status, answer = send([bytes(1 << 20)] * 26, content_type)
    assert status == 413
    assert answer["error"] == {
        "message": "Maximum content size limit (26214400) exceeded (27262976 bytes read)",
        "type": "server_error",
        "param": None,
        "code": None,
    }
