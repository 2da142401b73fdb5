"""The configured chat endpoint (LLM_* settings), for summaries and translation."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_noop

from chat.client import ChatEndpoint

# English, as the worker logs it; pages show gettext(HOW_TO_ENABLE), in their language
HOW_TO_ENABLE = gettext_noop(
    "Set LLM_BASE_URL, LLM_MODEL and (for OpenAI and other hosted services) LLM_API_KEY to an "
    "OpenAI-compatible chat endpoint such as OpenAI, Ollama or vLLM, then restart the service "
    "(docs/OPERATIONS.md, “Summaries and translation”)."
)


def chat_endpoint() -> ChatEndpoint | None:
    """The endpoint, or None while summaries and translation are not set up."""
    if not (settings.LLM_BASE_URL and settings.LLM_MODEL):
        return None
    return ChatEndpoint(
        base_url=settings.LLM_BASE_URL,
        model=settings.LLM_MODEL,
        api_key=settings.LLM_API_KEY,
        context_tokens=settings.LLM_CONTEXT_TOKENS,
    )
