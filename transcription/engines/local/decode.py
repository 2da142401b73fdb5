"""One utterance through Whisper: greedy partials, and finals decoded as Whisper's long-form does.

Both call CTranslate2 directly rather than faster-whisper's ``transcribe``, which always pads to
a 30 s window: an utterance is encoded in a window of its length plus ``WINDOW_PADDING_S``.

A final is decoded with timestamps, the way Whisper decodes long audio. Without them Whisper
ends a window where it likes: on a long utterance it stopped after the first voice and dropped
the second one's eight seconds. With them it says how far it got, and the rest is decoded from
there ("seeking", up to ``MAX_SEEKS`` times). Whisper's own signals then judge the result: a
compression ratio over 2.4 means a loop, decoded again without the context that may have led to
it; a likely non-speech window with improbable text is dropped (a cough, a door).

The head of an utterance still being said is decoded the same way, and kept up to a pause
between two of its words well before the audio ends (:func:`decode_head`): the seek point of a
window decoded early, so that later decodes of the utterance start there.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base import SessionConfig

SAMPLE_RATE = 16000
# Whisper is trained on 30 s windows whose speech is followed by silence, and its encoder
# cost grows with the window. A window of the utterance plus 8 s of silence costs a third of
# the full one and scores the same on shared/audio (1.95 % WER); with less silence after the
# speech Whisper falls into loops (1 s: a fifth of partials looped; 2 s: finals at 11 % WER).
WINDOW_PADDING_S = 8.0
FINAL_BEAM_SIZE = 5
#: ... and while other finals decode or wait for a core (every speaker paused at once): on
#: shared/audio beam 2 scores as beam 5 and costs a seventh less (docs/BENCHMARKS.md)
CROWDED_FINAL_BEAM_SIZE = 2
MAX_SEEKS = 3
#: a seek must leave at least this much audio to decode
MIN_SEEK_S = 0.5
#: Whisper's own thresholds (whisper/transcribe.py)
COMPRESSION_RATIO_LIMIT = 2.4
NO_SPEECH_LIMIT = 0.6
#: a partial is a guess at a few hundred ms of speech, where Whisper's no-speech probability
#: runs high: at 0.6 first partials were dropped and came 0.4 s later (p95 0.62 → 0.96 s)
PARTIAL_NO_SPEECH_LIMIT = 0.8
LOGPROB_LIMIT = -1.0
#: the prompt: Whisper allows half its 448-token context; recent finals take at most this many
PROMPT_TOKENS = 223
CONTEXT_TOKENS = 120
#: a word of an utterance still being said may be settled if it ends this far before the audio
#: so far does: it is whole, and the speech after it is heard
SETTLED_MARGIN_S = 1.0
#: a head ends in a gap between two words only where the speech detector's score falls below
#: this: cut where speech ran on, a word was lost, split or said twice at 8 of 12 seams
SETTLED_GAP_SCORE = 0.5
#: punctuation the decoder's alignment places as words of their own, joined to the word they
#: follow or lead (as Whisper does): a comma's span is the pause after the word it ends
PREPENDED_PUNCTUATION = "\"'“¿([{-"
APPENDED_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"
#: how far around two words' aligned edges the gap between them is sought: the decoder's
#: alignment can be a frame or two out
WORD_GAP_SLACK_S = 0.1
#: the head's last words, the prompt of what follows it: without them Whisper tends to drop the
#: first word after the seam; with the whole head it stopped after the first of two voices
SEAM_WORDS = 5


@dataclass(frozen=True)
class Decoded:
    text: str
    avg_logprob: float | None
    language: str | None
    #: Whisper's no-speech probability of the first window (a final's; 0 where not known)
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Head:
    """The settled start of an utterance still being said, decoded while the speaker goes on:
    its text, and the sample of the utterance where the rest starts. The utterance's partials
    and final then decode only the rest, in a shorter window."""

    text: str = ""
    samples: int = 0
    avg_logprob: float | None = None


NO_HEAD = Head()


@dataclass(frozen=True)
class Window:
    """What one generate() call made of a window: text, score, and how far it got."""

    text: str
    tokens: int
    avg_logprob: float | None
    no_speech_prob: float
    #: seconds into the window where the next decode should start; None if nothing is left
    resume_s: float | None


def prompt_tokens(tok: Any, glossary: str, context: str) -> list[int]:
    """``<|startofprev|>`` and the glossary, then as much recent text as the budget allows."""
    ours = tok.encode(" " + glossary.strip()) if glossary.strip() else []
    ours = ours[-PROMPT_TOKENS:]
    budget = min(CONTEXT_TOKENS, PROMPT_TOKENS - len(ours))
    recent = tok.encode(" " + context.strip())[-budget:] if context.strip() and budget > 0 else []
    tokens = ours + recent
    return [tok.sot_prev, *tokens] if tokens else []


def encode_window(model: Any, samples: np.ndarray) -> Any:
    import ctranslate2

    seconds = samples.size / SAMPLE_RATE + WINDOW_PADDING_S
    frames = min(3000, int(np.ceil(seconds * 100)))
    features = model.feature_extractor(samples)[:, :frames]
    features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], np.float32))


def start_tokens(model: Any, tok: Any, samples: np.ndarray, language: str | None):
    """The tokens that start a transcription, and its language (detected if None)."""
    if not model.model.is_multilingual:
        # an English-only model hears English whatever the meeting says: its finals say so
        return [tok.sot], "en"
    token = tok.tokenizer.token_to_id(f"<|{language}|>") if language else None
    if token is None:  # "auto", or a code Whisper has no token for: it says which it hears
        window = encode_window(model, samples[: 30 * SAMPLE_RATE])
        language = model.model.detect_language(window)[0][0][0].strip("<|>")
        token = tok.tokenizer.token_to_id(f"<|{language}|>")
    return [tok.sot, token, tok.transcribe], language


def generate(model: Any, tok: Any, window: Any, prefix: list[int], beam: int) -> Any:
    # the tokens faster-whisper suppresses by default (not public: pinned, and checked by
    # tests/test_faster_whisper_reaches.py, as is merge_punctuations below)
    from faster_whisper.transcribe import get_suppressed_tokens

    return model.model.generate(
        window,
        [prefix],
        beam_size=beam,
        max_length=224,
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tok, [-1]),
        max_initial_timestamp_index=50,
    )[0]


def decode_partial(
    model: Any,
    tok: Any,
    samples: np.ndarray,
    config: SessionConfig,
    context: str = "",
    still_wanted: Callable[[], bool] = lambda: True,
    head: Head = NO_HEAD,
) -> Decoded | None:
    """The utterance so far, greedy and without timestamps: what people see while it is said.
    Only the audio after its settled ``head`` is decoded; the head's text leads.

    None if ``still_wanted()`` says no once the audio is encoded: the decoder's half of the
    work is then left for a final that needs the core.
    """
    samples = samples[head.samples :]
    encoded = model.model.encode(encode_window(model, samples))
    if not still_wanted():
        return None
    sot, language = start_tokens(model, tok, samples, config.language)
    prompt = prompt_tokens(tok, config.prompt, context)
    result = generate(model, tok, encoded, prompt + sot + [tok.no_timestamps], beam=1)
    tokens = [t for t in result.sequences_ids[0] if t < tok.eot]
    avg_logprob = result.scores[0] if tokens else None  # CTranslate2: log-prob / length
    if not_speech(result.no_speech_prob, avg_logprob, PARTIAL_NO_SPEECH_LIMIT):
        return Decoded(head.text, head.avg_logprob, language)
    rest = Decoded(remove_repetitions(tok.decode(tokens).strip()), avg_logprob, language)
    return after_head(head, rest)


def read_timestamped(tok: Any, ids: list[int]) -> tuple[list[int], list[int], float | None, float]:
    """What Whisper's timestamps say of a window: the text of the finished segments, the text
    of an unfinished one, where that one starts (None if there is none), and where the last
    finished one ends.

    A segment is ``<|t0|> text <|t1|>``. A window Whisper did not finish ends with an opening
    timestamp and, perhaps, some text after it.
    """
    finished: list[int] = []
    opened_at: float | None = None
    last_end = 0.0
    text: list[int] = []
    for token in ids:
        if token >= tok.timestamp_begin:
            seconds = (token - tok.timestamp_begin) * 0.02
            if opened_at is None:
                opened_at, text = seconds, []
            else:
                finished += text
                opened_at, last_end, text = None, seconds, []
        elif token < tok.eot:
            text.append(token)
    return finished, text, opened_at, last_end


def decode_head(
    model: Any,
    tok: Any,
    samples: np.ndarray,
    config: SessionConfig,
    head: Head,
    dip_between: Callable[[int, int], tuple[float, int]],
    beam: int = FINAL_BEAM_SIZE,
    still_wanted: Callable[[], bool] = lambda: True,
) -> Head:
    """``head`` taken further into an utterance still being said (``samples``: all of it so
    far), up to a pause between two words that end ``SETTLED_MARGIN_S`` before the audio does.

    Whisper decodes the audio after the head, and its decoder's alignment places the words.
    ``dip_between(start, end)`` (from the speech detector) scores the least speech-like frame
    between two samples of the utterance and gives its middle: the head ends there, in the gap
    that dips deepest below ``SETTLED_GAP_SCORE``. The same head if no gap does, if the window
    is not speech or loops, or if ``still_wanted()`` says no once the audio is encoded (a final
    needs the core more).
    """
    rest = samples[head.samples :]
    encoded = model.model.encode(encode_window(model, rest))
    if not still_wanted():
        return head
    sot, _ = start_tokens(model, tok, rest, config.language)
    result = generate(model, tok, encoded, prompt_tokens(tok, config.prompt, "") + sot, beam=beam)
    if not_speech(result.no_speech_prob, result.scores[0]):
        return head
    said = [token for token in result.sequences_ids[0] if token < tok.eot]
    frames = rest.size // model.feature_extractor.hop_length
    words = spoken_words(model.find_alignment(tok, [said], encoded, frames)[0])
    settled_by = rest.size / SAMPLE_RATE - SETTLED_MARGIN_S
    pause = deepest_pause(
        words, settled_by, lambda a, b: dip_between(head.samples + a, head.samples + b)
    )
    if pause is None:
        return head
    kept, cut = pause
    text = tok.decode([token for word in words[:kept] for token in word["tokens"]]).strip()
    if not text or compression_ratio(text) > COMPRESSION_RATIO_LIMIT or cut <= head.samples:
        return head
    return after_head(head, Head(text, cut - head.samples, result.scores[0]))


def spoken_words(aligned: list[dict]) -> list[dict]:
    """The decoder's aligned words with their punctuation joined to them."""
    from faster_whisper.transcribe import merge_punctuations

    merge_punctuations(aligned, PREPENDED_PUNCTUATION, APPENDED_PUNCTUATION)
    return [word for word in aligned if word["word"]]


def deepest_pause(words: list[dict], settled_by: float, dip_between) -> tuple[int, int] | None:
    """Of the gaps after words that end by ``settled_by`` (seconds), the one least like speech
    if it is a pause: how many words come before it, and the sample where it dips deepest."""
    deepest: tuple[float, int, int] | None = None
    for count, (word, after) in enumerate(itertools.pairwise(words), start=1):
        if word["end"] > settled_by:
            break
        gap = (_sample(word["end"] - WORD_GAP_SLACK_S), _sample(after["start"] + WORD_GAP_SLACK_S))
        score, sample = dip_between(*gap)
        if score < SETTLED_GAP_SCORE and (deepest is None or score <= deepest[0]):
            deepest = (score, count, sample)
    return None if deepest is None else deepest[1:]


def after_head(head: Head, rest):
    """``rest`` (a Decoded or a Head), decoded after ``head``: the texts joined, the scores
    weighed by words, and for a Head, its samples counted from the utterance's start."""
    text = join_without_overlap(head.text, rest.text)
    parts = (head, rest)
    scored = [(p.avg_logprob, len(p.text.split())) for p in parts if p.avg_logprob is not None]
    words = sum(n for _, n in scored)
    avg_logprob = sum(p * n for p, n in scored) / words if words else None
    if isinstance(rest, Head):
        return Head(text, head.samples + rest.samples, avg_logprob)
    return Decoded(text, avg_logprob, rest.language)


def decode_timestamped(
    model: Any,
    tok: Any,
    samples: np.ndarray,
    sot: list[int],
    prompt: list[int],
    may_seek,
    beam: int = FINAL_BEAM_SIZE,
) -> Window:
    """One window, and where to go on from; ``may_seek(sample)``: speech is left after it."""
    window = encode_window(model, samples)
    result = generate(model, tok, window, prompt + sot, beam=beam)
    finished, unfinished, opened_at, last_end = read_timestamped(tok, result.sequences_ids[0])
    # Whisper decodes an unfinished segment again from where it starts; when that cannot move
    # on (it starts the window, or nothing is left after it) its text is kept as it is.
    resume_s = opened_at
    if resume_s is not None and (resume_s < MIN_SEEK_S or not may_seek(_sample(resume_s))):
        finished, resume_s = finished + unfinished, None
    # Whisper takes a window whose last segment ends early as done: speech left after it (the
    # speech detector says) is decoded too.
    if resume_s is None and opened_at is None and may_seek(_sample(last_end + MIN_SEEK_S)):
        resume_s = last_end
    text = tok.decode(finished).strip()
    avg_logprob = result.scores[0] if finished else None
    return Window(text, len(finished), avg_logprob, result.no_speech_prob, resume_s)


def decode_final(
    model: Any,
    tok: Any,
    samples: np.ndarray,
    config: SessionConfig,
    context: str = "",
    speech_after=None,
    beam: int = FINAL_BEAM_SIZE,
    head: Head = NO_HEAD,
) -> Decoded:
    """A whole utterance, as faithfully as Whisper can: timestamps, seeks, Whisper's checks.
    Only the audio after its settled ``head`` is decoded, with the head's last words as the
    prompt.

    ``speech_after(sample)`` says whether any speech follows that sample of ``samples`` (from
    the speech detector): a seek is only worth it if there is.
    """
    size = samples.size
    full = speech_after or (lambda sample: sample < size)
    samples = samples[head.samples :]

    def speech_after(sample: int) -> bool:
        return full(head.samples + sample)

    seam = " ".join(head.text.split()[-SEAM_WORDS:])
    context = f"{context} {seam}".strip()
    decoded = _decode_seeking(model, tok, samples, config, context, speech_after, beam)
    if context and compression_ratio(decoded.text) > COMPRESSION_RATIO_LIMIT:
        # a loop, perhaps led by the context: Whisper decodes again without its prompt
        decoded = _decode_seeking(model, tok, samples, config, "", speech_after, beam)
    text = remove_repetitions(decoded.text)
    rest = Decoded(text, decoded.avg_logprob, decoded.language, decoded.no_speech_prob)
    return after_head(head, rest) if head.text else rest


def _decode_seeking(model, tok, samples, config, context, speech_after, beam) -> Decoded:
    sot, language = start_tokens(model, tok, samples, config.language)
    text = ""
    scores: list[tuple[float, int]] = []
    offset = 0
    no_speech_prob = 0.0
    for seek in range(MAX_SEEKS):
        prompt = prompt_tokens(tok, config.prompt, f"{context} {text}")
        last = seek == MAX_SEEKS - 1

        def may_seek(sample: int, offset: int = offset, last: bool = last) -> bool:
            ahead = offset + sample
            return (
                not last
                and samples.size - ahead >= MIN_SEEK_S * SAMPLE_RATE
                and bool(speech_after(ahead))
            )

        piece = decode_timestamped(model, tok, samples[offset:], sot, prompt, may_seek, beam)
        if seek == 0:
            no_speech_prob = piece.no_speech_prob
        if not_speech(piece.no_speech_prob, piece.avg_logprob):
            break
        if piece.text:
            text = join_without_overlap(text, piece.text)
            scores.append((piece.avg_logprob or 0.0, piece.tokens))
        if piece.resume_s is None:
            break
        offset += int(piece.resume_s * SAMPLE_RATE)
    count = sum(n for _, n in scores)
    avg_logprob = sum(s * n for s, n in scores) / count if count else None
    return Decoded(text, avg_logprob if text else None, language, no_speech_prob)


def _sample(seconds: float) -> int:
    return int(seconds * SAMPLE_RATE)


def join_without_overlap(before: str, after: str) -> str:
    """``before`` and ``after``, the words both have at the seam said once."""
    said, new = before.split(), after.split()
    for size in range(min(len(said), len(new), 8), 1, -1):
        if _same(said[-size:], new[:size]):
            new = new[size:]
            break
    return " ".join(said + new)


def not_speech(
    no_speech_prob: float, avg_logprob: float | None, limit: float = NO_SPEECH_LIMIT
) -> bool:
    """Whisper's guess that a window held no speech, and text it was not sure of."""
    return no_speech_prob > limit and (avg_logprob is None or avg_logprob < LOGPROB_LIMIT)


def compression_ratio(text: str) -> float:
    """How well the text compresses: loops compress far better than speech (Whisper: > 2.4)."""
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def remove_repetitions(text: str) -> str:
    """Cut the loops Whisper falls into: a phrase said again and again right after itself.

    A phrase of three words or more is kept once ("good morning Katie good morning Katie" is a
    loop, not speech); two-word phrases twice ("very good, very good"); single words three times
    ("no, no, no").
    """
    words = text.split()
    for size in range(1, 21):
        allowed = 3 if size == 1 else 2 if size == 2 else 1
        out: list[str] = []
        for word in words:
            out.append(word)
            repeats = 1
            while len(out) >= size * (repeats + 1) and _same(
                out[len(out) - size * (repeats + 1) : len(out) - size * repeats], out[-size:]
            ):
                repeats += 1
            if repeats > allowed:
                del out[-size:]
        words = out
    return " ".join(words)


def _same(a: list[str], b: list[str]) -> bool:
    """Words equal but for case and punctuation: "Katie," and "Katie" are the same word."""
    return [w.strip(",.!?;:").lower() for w in a] == [w.strip(",.!?;:").lower() for w in b]
