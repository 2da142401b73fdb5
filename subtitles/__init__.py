"""Transcript lines as text anyone can read: one clean line each, and SRT and WebVTT.

No Django here (import-linter checks it): the site's exports (:mod:`meetings.exports`) and the
speech server (:mod:`transcription.speech_server.batch`) write subtitles with the same code.
"""
