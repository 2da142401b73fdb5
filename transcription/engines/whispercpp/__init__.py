"""The whisper.cpp batch engine (``engine``) and the one-time conversion of the bundled
CTranslate2 model to ggml (``ggml``)."""
