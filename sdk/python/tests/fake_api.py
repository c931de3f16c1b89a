"""A real HTTP server on 127.0.0.1 that plays the API in unit tests.

Each test scripts the answers (status, headers, JSON or raw body, delay) and
then reads back every request exactly as it arrived on the wire.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional


class Recorded:
    """One request as the server saw it."""

    def __init__(self, method: str, target: str, headers: Dict[str, str], raw: bytes) -> None:
        self.method = method
        parts = urllib.parse.urlsplit(target)
        self.path = parts.path
        self.raw_path = target.split("?", 1)[0]
        self.query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        self.query_string = parts.query
        self.headers = headers  # lower-case names
        self.raw = raw
        self.json: Any = json.loads(raw) if raw else None


class Answer:
    """A scripted answer."""

    def __init__(self, status: int = 200, body: Any = None, headers: Optional[Dict[str, str]] = None, raw: Optional[bytes] = None, delay: float = 0) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raw = raw
        self.delay = delay


class FakeAPI:
    """Start with ``with FakeAPI() as api:``; ``api.url`` is its base URL."""

    def __init__(self) -> None:
        self.requests: List[Recorded] = []
        self._answers: List[Answer] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append(Recorded(self.command, self.path, headers, raw))
                    answer = fake._answers.pop(0) if fake._answers else Answer(200, {})
                if answer.delay:
                    time.sleep(answer.delay)
                data = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, status: int = 200, body: Any = None, **kwargs: Any) -> "FakeAPI":
        """Queues one answer (served in order; afterwards every request gets 200 ``{}``)."""
        self._answers.append(Answer(status, body, **kwargs))
        return self

    def __enter__(self) -> "FakeAPI":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def error_body(code: str, message: str, request_id: str = "req_body", details: Optional[list] = None) -> Dict[str, Any]:
    """The API's one error shape."""
    err: Dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        err["details"] = details
    return {"error": err}
