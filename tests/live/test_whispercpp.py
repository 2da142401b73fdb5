"""whisper.cpp on the bundled model: the ggml conversion, the batch engine and its command."""

from __future__ import annotations

import filecmp
import struct
import threading
from io import StringIO
from pathlib import Path

import ctranslate2
import jiwer
import numpy as np
import pytest
from django.core.management import call_command
from faster_whisper import WhisperModel
from faster_whisper.feature_extractor import FeatureExtractor

from tests.speech import clips, corpus_word_error_rate, normalise
from transcription.audio import decode_file
from transcription.engines.base import EngineUnavailable, Transcript
from transcription.engines.local.engine import LocalConfig
from transcription.engines.local.models import model_path as local_model_path
from transcription.engines.local.models import whisper_model as local_whisper_model
from transcription.engines.whispercpp.engine import (
    WhisperCppBatchEngine,
    WhisperCppConfig,
    WhisperCppModel,
    model_path,
    whisper_model,
)
from transcription.engines.whispercpp.ggml import EOT, bundled_ggml_model, bundled_model_dir

pytestmark = pytest.mark.usefixtures("whisper")

SAMPLE_RATE = 16000
SOT, NO_TIMESTAMPS = 50257, 50362


@pytest.fixture(scope="session")
def config(tmp_path_factory) -> WhisperCppConfig:
    """The engine's config: the bundled model, converted into a folder of its own."""
    return WhisperCppConfig(cache_dir=tmp_path_factory.mktemp("models"), threads=2)


@pytest.fixture(scope="session")
def ggml_model(config) -> Path:
    """The bundled model converted afresh, and the engine's process-wide model loaded from it."""
    path = bundled_ggml_model(config.cache_dir)
    assert bundled_ggml_model(config.cache_dir) == path  # converted once, then reused
    loaded = whisper_model(config)
    assert loaded.path == path
    return path


def ctranslate2_model_path() -> str:
    return local_model_path(LocalConfig())


def faster_whisper_model():
    return local_whisper_model(LocalConfig(threads=2))


@pytest.fixture(scope="session")
def audio() -> dict[str, np.ndarray]:
    return {c.name: decode_file(c.path) for c in clips()}


@pytest.fixture(scope="session")
def transcripts(config, ggml_model, audio) -> dict[str, tuple[Transcript, list[float]]]:
    """Every clip through the engine, with the progress it reported."""
    engine = WhisperCppBatchEngine(config)
    results = {}
    for name, samples in audio.items():
        progress: list[float] = []
        results[name] = (engine.transcribe(samples, progress=progress.append), progress)
    return results


def word_distance(a: str, b: str) -> int:
    """Word edits between two texts after Whisper's English normaliser."""
    words = jiwer.process_words(normalise(a) or "<empty>", normalise(b) or "<empty>")
    return words.substitutions + words.deletions + words.insertions


def test_it_writes_the_header_filters_and_vocabulary_whisper_cpp_reads(ggml_model):
    data = ggml_model.read_bytes()
    magic, *hparams = struct.unpack_from("<12i", data, 0)
    assert magic == 0x67676D6C
    # tiny.en: vocab, audio ctx/state/heads/layers, text ctx/state/heads/layers, mels, f16
    assert hparams == [51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1]

    n_mels, n_bins = struct.unpack_from("<2i", data, 48)
    filters = np.frombuffer(data, "<f4", n_mels * n_bins, 56).reshape(n_mels, n_bins)
    # faster-whisper's own copy of librosa's Slaney filterbank
    expected = FeatureExtractor.get_mel_filters(SAMPLE_RATE, 400, n_mels=80)
    np.testing.assert_allclose(filters, expected, atol=1e-7)

    at = 56 + filters.nbytes
    (count,) = struct.unpack_from("<i", data, at)
    at += 4
    tokens = []
    for _ in range(count):
        (length,) = struct.unpack_from("<i", data, at)
        tokens.append(data[at + 4 : at + 4 + length])
        at += 4 + length
    assert count == EOT  # the special tokens are whisper.cpp's to name
    # byte-level tokens come back as the bytes they stand for, multi-byte characters included
    tokenizer = faster_whisper_model().hf_tokenizer
    sentence = " Café naïve — 東京 at 10:45\tok\n"
    ids = tokenizer.encode(sentence, add_special_tokens=False).ids
    assert b"".join(tokens[i] for i in ids) == sentence.encode()


def test_it_decodes_the_same_tokens_as_ctranslate2_from_the_same_features(ggml_model, audio):
    """The converted weights are the bundled ones: whisper.cpp and CTranslate2, both in f32
    arithmetic and given the same log-mel window, make the same greedy choices."""
    reference = ctranslate2.models.Whisper(
        str(ctranslate2_model_path()), device="cpu", compute_type="float32", intra_threads=2
    )
    # f16 flash attention rounds the scores; compute them in f32 like CTranslate2 does
    model = WhisperCppModel(ggml_model, flash_attn=False)
    pw = model.pw
    features = FeatureExtractor(feature_size=80)
    try:
        for name, samples in audio.items():
            # OpenAI's window: the clip and then silence, 30 s in all
            padded = np.concatenate([samples, np.zeros(30 * SAMPLE_RATE, np.float32)])
            mel = np.ascontiguousarray(features(padded)[:, :3000], dtype=np.float32)

            result = reference.generate(
                ctranslate2.StorageView.from_array(mel[None]),
                [[SOT, NO_TIMESTAMPS]],
                beam_size=1,
                max_length=224,
                return_logits_vocab=True,
                suppress_blank=True,
                suppress_tokens=[-1],
            )[0]

            params = pw.whisper_full_default_params(
                pw.whisper_sampling_strategy.WHISPER_SAMPLING_GREEDY
            )
            params.language = "en"
            params.n_threads = 2
            params.no_timestamps = True
            params.single_segment = True
            params.suppress_nst = True
            params.temperature_inc = 0.0
            params.print_progress = False
            assert pw.whisper_set_mel(model.ctx, mel, mel.shape[1], mel.shape[0]) == 0
            # no samples: decode the mel that was just set
            assert pw.whisper_full(model.ctx, params, np.zeros(0, np.float32), 0) == 0
            decoded = [
                pw.whisper_full_get_token_data(model.ctx, i, j)
                for i in range(pw.whisper_full_n_segments(model.ctx))
                for j in range(pw.whisper_full_n_tokens(model.ctx, i))
            ]
            text_tokens = [d for d in decoded if d.id < model.eot]

            assert [d.id for d in text_tokens] == result.sequences_ids[0], name
            for step, token in enumerate(text_tokens):
                logits = np.asarray(result.logits[0][step], dtype=np.float64).reshape(-1)
                logprob = logits[token.id] - np.logaddexp.reduce(logits)
                assert token.plog == pytest.approx(logprob, abs=0.05), (name, step)
    finally:
        model.close()


def test_it_transcribes_the_clips_accurately(transcripts):
    pairs = [(c.reference, transcripts[c.name][0].text) for c in clips()]
    assert corpus_word_error_rate(pairs) <= 0.05


def test_it_gives_each_segment_a_confidence_and_its_place_in_the_clip(transcripts, audio):
    for name, (transcript, progress) in transcripts.items():
        duration_ms = audio[name].size * 1000 / SAMPLE_RATE
        assert transcript.segments and transcript.language == "en"
        previous_end = 0
        for segment in transcript.segments:
            assert segment.text and 0 < segment.confidence <= 1, (name, segment)
            assert previous_end <= segment.start_ms < segment.end_ms <= duration_ms, name
            previous_end = segment.end_ms
        # speech runs to the end of every clip
        assert transcript.segments[-1].end_ms >= duration_ms - 1000, name
        assert progress == sorted(progress) and progress[-1] == 100, (name, progress)


def test_it_agrees_with_faster_whisper_greedy_on_the_same_weights(transcripts, audio):
    """Within a word of faster-whisper's greedy decoding, clip by clip.

    The local model runs int8 weights; on near ties that alone moves a token (faster-whisper
    at f32 differs from itself at int8 by two words on some clips). Where it does, whisper.cpp
    may be as far from the int8 model as the f32 model is, and no further.
    """
    float32 = WhisperModel(
        str(ctranslate2_model_path()), device="cpu", compute_type="float32", cpu_threads=2
    )
    options = dict(
        language="en",
        beam_size=1,
        temperature=0,
        vad_filter=False,
        condition_on_previous_text=True,
    )
    for name, samples in audio.items():
        segments, _ = faster_whisper_model().transcribe(samples, **options)
        int8_text = " ".join(s.text.strip() for s in segments)
        segments, _ = float32.transcribe(samples, **options)
        float32_text = " ".join(s.text.strip() for s in segments)

        text = transcripts[name][0].text
        quantisation = word_distance(float32_text, int8_text)
        assert word_distance(text, int8_text) <= max(1, quantisation), (name, text, int8_text)


def test_it_transcribes_from_several_threads_at_once(config, transcripts, audio):
    engine = WhisperCppBatchEngine(config)
    names = list(audio)[:4]
    results: dict[str, str] = {}

    def run(name: str) -> None:
        results[name] = engine.transcribe(audio[name]).text

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {name: transcripts[name][0].text for name in names}


def test_the_command_writes_a_model_that_loads(ggml_model, tmp_path):
    out = StringIO()
    call_command("convert_whisper_model", output=tmp_path / "tiny.bin", stdout=out)
    written = Path(out.getvalue().strip())
    assert written == (tmp_path / "tiny.bin").resolve()
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.bin"]  # no temporary file left

    model = WhisperCppModel(written)
    try:
        assert model.pw.whisper_model_n_vocab(model.ctx) == 51864
        assert model.pw.whisper_model_n_audio_layer(model.ctx) == 4
        assert not model.multilingual
    finally:
        model.close()
    assert filecmp.cmp(written, ggml_model, shallow=False)


def test_it_says_clearly_when_there_is_no_model(tmp_path):
    missing = WhisperCppConfig(model_path=str(tmp_path / "missing.bin"))
    with pytest.raises(EngineUnavailable, match=r"WHISPER_CPP_MODEL=.*missing\.bin is not a file"):
        model_path(missing)

    not_a_model = tmp_path / "notes.bin"
    not_a_model.write_bytes(b"these are not weights" * 100)
    assert model_path(WhisperCppConfig(model_path=str(not_a_model))) == not_a_model
    with pytest.raises(EngineUnavailable, match=r"could not load .*notes\.bin: .*bad magic"):
        WhisperCppModel(not_a_model)

    assert bundled_model_dir().joinpath("model.bin").is_file()
