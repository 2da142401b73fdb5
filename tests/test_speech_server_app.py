"""The speech server's application in process: what clients see of routes, keys and sockets.

The scripted engine stands in for Whisper (these tests are not about speech); the live tests run
the server as a process with the real model (tests/live/test_speech_server*.py).
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from tests.speech_server import API_KEY, AUTH
from transcription.engines.base import BatchEngine
from transcription.engines.scripted import ScriptedConfig, ScriptedRealtimeEngine
from transcription.speech_server import ServerConfig, SpeechServer
from transcription.speech_server.server import NO_KEY

REALTIME = "/v1/realtime?intent=transcription"


@pytest.fixture
def speech() -> SpeechServer:
    return SpeechServer(
        ServerConfig(api_key=API_KEY),
        realtime_engine=ScriptedRealtimeEngine(ScriptedConfig()),
        batch_engine=BatchEngine(),  # never reached: every request here is refused before it
    )


def test_it_checks_the_key_then_finds_no_other_url(speech):
    client = TestClient(speech.app)
    unknown = client.get("/v1/models")
    assert (unknown.status_code, unknown.json()["error"]["message"]) == (401, NO_KEY)
    for method, path in [
        ("GET", "/v1/models"),
        ("GET", "/v1/audio/transcriptions"),
        ("POST", "/v1/audio/transcriptions/"),
        ("POST", "/healthz"),
    ]:
        response = client.request(method, path, headers=AUTH, follow_redirects=False)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "error": {
                "message": f"Invalid URL ({method} {path})",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/v1/other"):
        pass
    assert denied.value.status_code == 404
    assert denied.value.json()["error"]["message"] == "Invalid URL (GET /v1/other)"
    assert client.get("/healthz").content == b'{"status": "ok"}'


def test_it_refuses_an_upload_over_the_limit_as_it_arrives(speech):
    headers = {**AUTH, "Content-Type": "multipart/form-data; boundary=x"}
    response = TestClient(speech.app).post(
        "/v1/audio/transcriptions", content=bytes(26_214_401), headers=headers
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "message": "Maximum content size limit (26214400) exceeded (26214401 bytes read)",
        "type": "server_error",
        "param": None,
        "code": None,
    }


def test_a_browser_sends_its_key_as_a_subprotocol_and_gets_realtime(speech):
    protocols = ["realtime", f"openai-insecure-api-key.{API_KEY}"]
    with TestClient(speech.app).websocket_connect(REALTIME, subprotocols=protocols) as ws:
        assert ws.receive_json()["type"] == "session.created"
        assert ws.accepted_subprotocol == "realtime"
        ws.send_bytes(b"\x00\x01")  # the socket answers binary frames too
        assert ws.receive_json()["error"]["code"] == "invalid_event"


def test_a_refused_session_gets_an_error_then_its_close_code(speech):
    client = TestClient(speech.app)
    wrong_key = {"Authorization": "Bearer sk-nope-0000"}
    for path, headers, code, close_code in [
        (REALTIME, wrong_key, "invalid_api_key", 3000),
        ("/v1/realtime", AUTH, "missing_model", 4000),
    ]:
        with client.websocket_connect(path, headers=dict(headers)) as ws:
            assert ws.receive_json()["error"]["code"] == code
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert (closed.value.code, closed.value.reason) == (
            close_code,
            f"invalid_request_error.{code}",
        )


def test_a_stopping_server_closes_its_sessions_with_going_away(speech):
    with TestClient(speech.app).websocket_connect(REALTIME, headers=dict(AUTH)) as ws:
        assert ws.receive_json()["type"] == "session.created"
        ws.portal.call(speech.close_sessions)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1001
    with TestClient(speech.app).websocket_connect(REALTIME, headers=dict(AUTH)) as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1001, "no new session while it stops"
