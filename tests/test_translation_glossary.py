"""A stand-in translator for the stand-in chat server: a word glossary, applied word by word.

Its answers are computed from what the service sent (the target language named in the system
message, the caption as the user's message), as a model's would be; unknown words are kept.
The tests here check the prompt the service sends and its reading of the answer.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from chat.client import ChatEndpoint, ChatFailed
from tests.chat_server import API_KEY, MODEL, chat_server
from translations.translate import translate_text

GLOSSARIES = {
    "French": {
        "he": "il",
        "could": "pouvait",
        "wait": "attendre",
        "no": "plus",
        "longer": "longtemps",
        "stuff": "fourre",
        "it": "le",
        "into": "dans",
        "you": "toi",
        "his": "son",
        "belly": "ventre",
        "counselled": "conseilla",
        "him": "lui",
        "welcome": "bienvenue",
        "everyone": "tout le monde",
        "the": "le",
        "budget": "budget",
        "first": "premier",
        "item": "point",
        "for": "pendant",
        "a": "une",
        "full": "pleine",
        "hour": "heure",
        "had": "avait",
        "paced": "marché",
        "up": "de long",
        "and": "et",
        "down": "en large",
        "waiting": "attendant",
        "but": "mais",
    },
    "German": {"welcome": "willkommen", "everyone": "alle", "the": "das", "budget": "Budget"},
}


def translate(text: str, language: str) -> str:
    """``text`` word by word through the glossary of ``language`` (an English name)."""
    glossary = GLOSSARIES[language]

    def word(match: re.Match) -> str:
        found = glossary.get(match.group(0).lower())
        return found if found is not None else match.group(0)

    return re.sub(r"[A-Za-z']+", word, text)


def to_french(text: str) -> str:
    return translate(text, "French")


def reply(body: dict[str, Any]) -> str:
    """The stand-in model: the user's message translated into the language the system names."""
    system = next(m["content"] for m in body["messages"] if m["role"] == "system")
    language = re.search(r" into (\w+)\.", system).group(1)
    caption = body["messages"][-1]["content"]
    return translate(caption, language)


def captions_sent(server) -> list[str]:
    """The caption of each request the stand-in took, in order."""
    return [request["messages"][-1]["content"] for request in server.requests]


def endpoint_of(server) -> ChatEndpoint:
    return ChatEndpoint(server.base_url, MODEL, API_KEY, timeout=10)


def test_it_sends_the_caption_alone_and_names_both_languages():
    with chat_server(reply) as server:
        text = translate_text(endpoint_of(server), "Welcome, everyone.", "en", "fr")
    assert text == "bienvenue, tout le monde."
    (request,) = server.requests
    system, user = request["messages"]
    assert system["role"] == "system" and "from English into French" in system["content"]
    assert user == {"role": "user", "content": "Welcome, everyone."}
    assert request["temperature"] == 0


def test_an_answer_on_several_lines_becomes_one_line():
    with chat_server(lambda body: "Bienvenue,\n\ntout le monde.") as server:
        assert translate_text(endpoint_of(server), "Welcome", "", "fr") == (
            "Bienvenue, tout le monde."
        )
    # the source language unknown: the model is not told one
    assert " from " not in server.requests[0]["messages"][0]["content"]


def test_a_blank_answer_is_a_failure_with_a_clear_message():
    with chat_server(lambda body: " \n ") as server, pytest.raises(ChatFailed) as failed:
        translate_text(endpoint_of(server), "Welcome", "en", "fr")
    # said to listeners as it is: what went wrong, not where the endpoint is
    assert str(failed.value) == "The language model gave an empty translation."
