"""The OpenAI engine: the Realtime API for live captions and the transcriptions API for batch.

``realtime`` is one speaker's session (reconnects, endpoint moves, replay) over ``connection``,
``events`` turns server events into the engine interface's, ``turns`` is our own turn detection
for the streaming models, ``endpoint_pool`` spreads sessions over ``OPENAI_REALTIME_ENDPOINT``.
``state`` names what a session knows (its link's state, the server session, the utterances in
flight), which it hands to ``events`` and ``turns``.
``protocol`` and ``replay`` hold OpenAI's wire format, shared with the speech server.
"""
