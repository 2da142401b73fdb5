"""The OpenAI-compatible speech server decodes uploads as safely as the web site does.

Its batch endpoint takes 25 MB, which is hours of FLAC. Before the fix it decoded the whole file
to float32 and transcribed it in one piece (3 hours of silence: 2.9 GB); now it refuses audio
over UPLOAD_MAX_SECONDS, by its header or by counting, and transcribes in chunks.
"""

from __future__ import annotations

from tests.speech_server import post

from .audio_bombs import claim_length, memory_mib, silent_flac

#: the server loads the model while it counts: about 200 MB at its peak on machine C, 265-313 MB
#: on machine D (Intel, AVX-512 with AMX), whatever the length; before the fix, 2.9 GB
SERVER_GROWTH_BOUND_MIB = 400


def test_it_refuses_audio_over_the_limit(monkeypatch, tmp_path, speech_servers):
    monkeypatch.setenv("UPLOAD_MAX_SECONDS", "600")
    one_hour = silent_flac(tmp_path / "one-hour.flac", 3600)
    liar = claim_length(silent_flac(tmp_path / "liar.flac", 3 * 3600), 10)
    server = speech_servers(django=True)  # the limit comes from the Django settings
    try:
        server.start()
        idle = memory_mib(server.process.pid, "VmRSS")
        url = server.base_url + "/audio/transcriptions"
        answers = [
            post(url, [("model", "whisper-1")], path.name, path.read_bytes())
            for path in (one_hour, liar)
        ]
        peak = memory_mib(server.process.pid, "VmHWM")
    finally:
        server.stop()

    for status, body in answers:
        assert status == 400, body
        assert body["error"]["param"] == "file"
        assert body["error"]["message"] == "Audio file is longer than 10 minutes, the maximum."
    print(f"speech server: idle {idle:.0f} MiB, peak {peak:.0f} MiB")
    assert peak - idle < SERVER_GROWTH_BOUND_MIB, f"idle {idle:.0f} MiB, peak {peak:.0f} MiB"
