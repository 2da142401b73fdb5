"""The local engine: faster-whisper on this machine's CPU, realtime and batch, with no key and
no network.

``engine`` is what the registry loads; ``stream`` is one speaker's streaming session (``state``
what it holds and the phases it goes through), ``decode`` Whisper's partials and finals through
CTranslate2, ``models`` the models and the decode slots, ``gate`` and ``utterance`` what the
speech detector hears and cuts, ``turns`` the semantic end of turn, ``multilingual`` the
optional multilingual model. Nothing is imported here, so naming the
package loads no model and no heavy library.
"""
