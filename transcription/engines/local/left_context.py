"""A short final decoded after the speaker's previous utterance (issue 23, part 4).

Alone, a second of speech between two pauses is all Whisper hears of a sentence: JFK's "ask
not" came out "as not", "s not" or "S-not!" depending on where the pause was cut, and a short
LibriSpeech sentence "Stuffered into you". Decoded after the audio said just before it, with the
words already final as the decoder's forced prefix, Whisper hears the voice and the sentence
run on, and only the words after that prefix are new: no alignment has to find where the
previous utterance ended, so the seam can neither lose nor double a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base import SessionConfig
from .decode import (
    COMPRESSION_RATIO_LIMIT,
    SAMPLE_RATE,
    Decoded,
    compression_ratio,
    encode_window,
    generate,
    join_without_overlap,
    not_speech,
    prompt_tokens,
    remove_repetitions,
    start_tokens,
)

#: finals of utterances up to this long get the previous utterance before them
SHORT_UTTERANCE_S = 3.0
#: ... if it ended no longer than this before they started (the same stretch of talk)
LEFT_GAP_S = 3.0
#: ... and is no longer than this: its audio is encoded again with the short one's
LEFT_AUDIO_S = 8.0


@dataclass(frozen=True)
class Said:
    """The speaker's previous utterance: its audio as Whisper heard it, its final's text, and
    the sample where it ended, on the session's clock."""

    samples: np.ndarray
    text: str
    end: int

    def before(self, start: int, samples: np.ndarray) -> bool:
        """Whether it is the left context of an utterance starting at ``start``."""
        near = start - self.end <= LEFT_GAP_S * SAMPLE_RATE
        short = samples.size <= SHORT_UTTERANCE_S * SAMPLE_RATE
        return near and short and 0 < self.samples.size <= LEFT_AUDIO_S * SAMPLE_RATE


def decode_after(
    model: Any, tok: Any, samples: np.ndarray, config: SessionConfig, said: Said, beam: int
) -> Decoded | None:
    """``samples`` decoded after ``said``: its audio first, its text the forced prefix; the
    text after the prefix. None when Whisper adds nothing, doubts it heard speech, loops, or
    starts by saying the prefix's last words again: the utterance is then decoded alone."""
    audio = np.concatenate([said.samples, samples])
    encoded = model.model.encode(encode_window(model, audio))
    sot, language = start_tokens(model, tok, audio, config.language)
    prefix = tok.encode(" " + said.text.strip())
    prompt = prompt_tokens(tok, config.prompt, "") + sot + [tok.no_timestamps]
    result = generate(model, tok, encoded, prompt + prefix, beam=beam)
    ids = result.sequences_ids[0]
    if ids[: len(prefix)] == prefix:  # CTranslate2 returns the prefix with what follows
        ids = ids[len(prefix) :]
    new = [token for token in ids if token < tok.eot]
    text = remove_repetitions(tok.decode(new).strip())
    avg_logprob = result.scores[0]
    if not text or not_speech(result.no_speech_prob, avg_logprob):
        return None
    if compression_ratio(text) > COMPRESSION_RATIO_LIMIT or _goes_over(said.text, text):
        return None
    return Decoded(text, avg_logprob, language, result.no_speech_prob)


def _goes_over(before: str, after: str) -> bool:
    """Whether ``after`` starts with the last two words or more of ``before``. On the dev set
    the decoder, forced through a prefix, said its end again ("a chemistry corpus. A chemistry
    corpus.", "word word" once more than said); decoded alone, the audio says whether it was."""
    joined = join_without_overlap(before, after)
    return len(joined.split()) < len(before.split()) + len(after.split())
