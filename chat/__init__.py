"""The chat client: a model behind an OpenAI-compatible chat endpoint (:mod:`chat.client`).

Summaries and translations use it, and the core's budget meters it. No Django here
(import-linter checks it): the caller passes the endpoint, which ``meetings.language_model``
builds from the LLM_* settings.
"""
