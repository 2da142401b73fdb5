"""A stand-in OpenAI-compatible chat endpoint on a real socket, for summaries and translation.

No language model is reachable from here, so this server answers ``POST /v1/chat/completions``
as OpenAI's API does (request checked against the SDK's own types, the same response and error
bodies, 401 for a wrong key, 404 for an unknown model, 400 ``context_length_exceeded`` for a
prompt longer than its context), and its answers come from a ``reply`` function each test gives:
what a model would say, computed from what it was asked. Every request is kept for assertions.
"""

from __future__ import annotations

import json
import math
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import TypeAdapter, ValidationError

from tests.servers import transcription_worker

API_KEY = "sk-test-chat-0001"
MODEL = "stand-in-chat"
INVALID = "invalid_request_error"
REQUEST = TypeAdapter(CompletionCreateParamsNonStreaming)

#: ``reply(request_body) -> answer text``: the request as sent (model, messages, ...)
Reply = Callable[[dict[str, Any]], str]


@dataclass
class ChatServer:
    reply: Reply
    context_tokens: int = 8192
    delay: float = 0.0  # seconds before each answer, as a slow model takes
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""
    failing: bool = False  # answer every request with a 500 while set

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        # 4 characters a token, a little fewer than the client's estimate assumes
        return sum(math.ceil(len(m.get("content") or "") / 4) for m in body["messages"])


def _error(status: int, message: str, kind: str, code: str | None) -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _answer(server: ChatServer, headers: Any, raw: bytes) -> tuple[int, dict]:
    if headers.get("Authorization") != f"Bearer {API_KEY}":
        return _error(
            401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
        )
    try:
        body = json.loads(raw)
        REQUEST.validate_python(body)
    except (ValueError, ValidationError) as error:
        return _error(400, f"Invalid request: {error}", "invalid_request_error", None)
    if body["model"] != MODEL:
        return _error(
            404,
            f"The model `{body['model']}` does not exist.",
            "invalid_request_error",
            "model_not_found",
        )
    server.requests.append(body)
    prompt = server.prompt_tokens(body)
    wanted = body.get("max_tokens") or body.get("max_completion_tokens") or 0
    if prompt + wanted > server.context_tokens:
        message = (
            f"This model's maximum context length is {server.context_tokens} tokens. However, "
            f"your messages resulted in {prompt + wanted} tokens."
        )
        return _error(400, message, "invalid_request_error", "context_length_exceeded")
    if server.failing:
        return _error(500, "The server had an error.", "server_error", None)
    time.sleep(server.delay)
    text = server.reply(body)
    completion = ChatCompletion.model_validate(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": math.ceil(len(text) / 4),
                "total_tokens": prompt + math.ceil(len(text) / 4),
            },
        }
    )
    return 200, completion.model_dump(mode="json", exclude_unset=True)


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/v1/chat/completions":
                status, body = _error(404, "Not found", "invalid_request_error", None)
            else:
                status, body = _answer(server, self.headers, raw)
            self.send_json(status, body)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                model = {"id": MODEL, "object": "model", "created": 0, "owned_by": "tests"}
                self.send_json(200, {"object": "list", "data": [model]})
            else:
                self.send_json(*_error(404, "Not found", "invalid_request_error", None))

        def send_json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass  # quiet: the requests list says what came

    return Handler


@contextmanager
def chat_server(reply: Reply, **options: Any) -> Iterator[ChatServer]:
    """A stand-in chat endpoint on a free loopback port, for the duration of the block."""
    server = ChatServer(reply, **options)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def llm_settings(server: ChatServer) -> dict[str, str]:
    """The LLM_* environment of a server process that uses ``server``."""
    return {"LLM_BASE_URL": server.base_url, "LLM_MODEL": MODEL, "LLM_API_KEY": API_KEY}


def chat_worker(server: ChatServer, **env: str) -> AbstractContextManager[subprocess.Popen]:
    """`manage.py transcription_worker` on the test database, talking to ``server``."""
    return transcription_worker("chat-worker-test", **llm_settings(server), **env)
