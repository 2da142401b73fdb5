"""An OpenAI-compatible transcription server, served by the local engines. No Django.

One port speaks both of OpenAI's transcription APIs:

* ``GET /v1/realtime?intent=transcription`` (WebSocket): the GA Realtime transcription protocol.
  ``session.created`` on connect; ``session.update`` (validated, merged, echoed in
  ``session.updated``); ``input_audio_buffer.append``/``commit``/``clear``; the server VAD's
  ``input_audio_buffer.speech_started``/``speech_stopped``/``committed``;
  ``conversation.item.added``/``done``; ``conversation.item.input_audio_transcription.delta``
  and ``completed`` (with ``logprobs`` when the session includes them); ``error`` events with
  OpenAI's codes, and the error-then-close (3000/4000) of a refused key or URL. Behind it runs
  :class:`~transcription.engines.local.engine.LocalRealtimeEngine`, fed 24 kHz audio resampled
  to 16 kHz (:mod:`.session`).
* ``POST /v1/audio/transcriptions``: multipart in; ``json``/``text``/``srt``/``vtt``/
  ``verbose_json``/``diarized_json`` out as each model allows, or server-sent events with
  ``stream=true``; OpenAI's error bodies. Behind it runs
  :class:`~transcription.engines.local.engine.LocalBatchEngine` (:mod:`.batch`).
* ``GET /healthz`` for health checks.

The protocol itself (event names, the session schema, ids, logprobs, usage) is shared with the
OpenAI engines: :mod:`transcription.engines.openai.protocol` and
:mod:`transcription.speech_server.schema`.

It lets the speech engine run on other hosts. Start it where the cores are::

    python -m transcription.speech_server --host 0.0.0.0 --port 8765 --api-key "$KEY"

(or ``python manage.py realtime_server``, which passes it the Django settings), and point the
caption servers at it (behind a TLS proxy, or on a private network)::

    TRANSCRIPTION_ENGINE=openai OPENAI_API_KEY=$KEY
    OPENAI_REALTIME_ENDPOINT=ws://speech-host:8765/v1/realtime
    OPENAI_BASE_URL=http://speech-host:8765/v1

It is also how the OpenAI engines are tested, since OpenAI is not reachable from CI.

Deltas stream while speech goes on, as from OpenAI's streaming models: with server VAD, an
utterance's words arrive before its ``speech_stopped``, once two successive partial decodes
agree on them (:mod:`.deltas`). ``gpt-realtime-whisper`` (and ``gpt-live-transcribe``) are
emulated as OpenAI runs them: ``turn_detection`` must be ``null`` and ``prompt`` is refused;
the audio streams into the local engine as it is appended, deltas come before the client's
commit under the item id that commit reports, and each commit completes with all of its speech.
``delay`` sets how stable a word must be before it is sent (``minimal``: the newest partial as
it is; ``low``: all but its last word; ``medium``, the default: two partials agree; ``high``:
three; ``xhigh``: only at pauses): it trades latency for fewer words the final contradicts,
and costs no decoding. Deltas are append-only, so the ``completed`` transcript is the truth.

Where it differs from OpenAI: every model is the local Whisper (``whisper-1`` differs only in
shape: one delta with the whole text after the commit, usage in seconds); ``gpt-4o-transcribe``
streams too (OpenAI's sends its deltas after the commit), and without turn detection its audio
is transcribed at the commit; the local decoder scores an utterance with one average
log-probability, which every token of its final then carries (words sent before the final
carry none); ``noise_reduction`` is accepted but not applied and ``semantic_vad`` is the server
VAD with a silence set by its eagerness; an utterance the model hears as no speech completes
with an empty transcript when the next one starts or at the next commit.

Both APIs are one Starlette application (:mod:`.server`), served by uvicorn (h11, and
``websockets`` for the WebSocket); a session talks to its WebSocket through the small
interface of :mod:`.sockets`.
"""

from .server import ServerConfig, SpeechServer, serve_forever

__all__ = ["ServerConfig", "SpeechServer", "serve_forever"]
