"""Batch transcription: the upload API, durable jobs, and files transcribed in chunks."""
