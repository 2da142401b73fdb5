"""A chat model behind an OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp...).

Summaries and translations go through here. No Django: the caller passes the endpoint
(see ``chat_endpoint()``, which reads the LLM_* settings).
Errors come out as ``ChatFailed``, whose message can be shown to a user as it is: it says what
went wrong, never the endpoint's host, its model, a key or a stack trace (those are logged for
the operator). A ``Meter`` passed in refuses calls past a budget and counts what each one cost.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import openai

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatEndpoint:
    base_url: str  # e.g. https://api.openai.com/v1 or http://ollama-host:11434/v1
    model: str
    api_key: str = ""
    context_tokens: int = 8192  # the model's context window, prompt and answer together
    timeout: float = 120.0

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url


class ChatFailed(Exception):
    """The endpoint could not answer; the message is fit for the person who asked."""


class PromptTooLong(ChatFailed):
    """The endpoint refused the prompt as longer than the model's context: send less."""


class Meter(Protocol):
    """What the calls for one purpose may cost (``meetings.budget.ChatMeter``)."""

    def check(self) -> None:
        """Raise ChatFailed, with the reason for people, when no call may be made now."""

    def add(self, tokens: int) -> None:
        """Count the tokens a call used."""


def estimated_tokens(text: str) -> int:
    # About four characters a token for English with OpenAI's and Llama's tokenizers; a rough
    # count errs on the long side so that a part sent alone fits.
    return math.ceil(len(text) / 3.5)


def complete(
    endpoint: ChatEndpoint,
    messages: list[dict[str, str]],
    *,
    max_tokens: int | None = None,
    json_object: bool = False,
    meter: Meter | None = None,
) -> str:
    """The model's answer to ``messages`` (role/content dicts), at temperature 0."""
    if meter is not None:
        meter.check()
    client = _client(endpoint)
    options = {"response_format": {"type": "json_object"}} if json_object else {}
    try:
        response = client.chat.completions.create(
            model=endpoint.model,
            messages=messages,
            temperature=0,
            max_tokens=max_tokens,
            **options,
        )
    except openai.BadRequestError as error:
        if error.code == "context_length_exceeded":
            raise PromptTooLong("The prompt was too long for the language model.") from error
        raise ChatFailed(_refused(endpoint, error)) from error
    except openai.APIStatusError as error:
        raise ChatFailed(_refused(endpoint, error)) from error
    except openai.APIConnectionError as error:  # refused, timed out, TLS, DNS
        _log(endpoint, "could not be reached", error)
        raise ChatFailed("The language model could not be reached.") from error
    choice = response.choices[0] if response.choices else None
    answer = choice.message.content if choice is not None else None
    if meter is not None:
        meter.add(_tokens_used(response, messages, answer or ""))
    if not answer:
        _log(endpoint, "gave an empty answer")
        raise ChatFailed("The language model gave an empty answer.")
    return answer


def _tokens_used(response, messages: list[dict[str, str]], answer: str) -> int:
    """What the call cost: the endpoint's own count where it gives one, else our estimate."""
    usage = getattr(response, "usage", None)
    if usage is not None and usage.total_tokens:
        return usage.total_tokens
    asked = "\n".join(m.get("content") or "" for m in messages)
    return estimated_tokens(asked) + estimated_tokens(answer)


@functools.lru_cache(maxsize=8)
def _client(endpoint: ChatEndpoint) -> openai.OpenAI:
    """One client (and its pool of connections) per endpoint, not one per caption."""
    return openai.OpenAI(
        base_url=endpoint.base_url,
        # Local servers take any key; the SDK insists on one.
        api_key=endpoint.api_key or "no-key",
        timeout=endpoint.timeout,
        max_retries=2,  # the SDK retries connection errors, 408, 429 and 5xx with backoff
    )


def _refused(endpoint: ChatEndpoint, error: openai.APIStatusError) -> str:
    reasons = {
        401: "refused the server's API key",
        403: "refused the server's API key",
        404: "does not know the model it was asked for",
    }
    reason = reasons.get(error.status_code, f"answered with an error (HTTP {error.status_code})")
    _log(endpoint, reason, error)
    return f"The language model {reason}."


def _log(endpoint: ChatEndpoint, what: str, error: Exception | None = None) -> None:
    # the operator needs to know which endpoint and model; the people who asked must not
    logger.warning(
        "the chat endpoint %s (model %s) %s: %s", endpoint.host, endpoint.model, what, error or ""
    )
