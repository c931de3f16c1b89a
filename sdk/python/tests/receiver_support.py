"""A real HTTP receiver for end-to-end tests that verifies every delivery with the SDK's own helper.

POST /hooks/<name>: verified with <name>'s secrets (``rubric.webhooks.verify_signature``),
recorded, and answered with <name>'s planned status (default 200 "ok"; 401 when
verification fails).
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

from rubric.webhooks import WebhookVerificationError, verify_signature


class Received:
    """One delivery: headers (lower-case), raw body, the verified event or the failure reason."""

    def __init__(self, headers: Dict[str, str], body: bytes, event: Any, reason: Optional[str]) -> None:
        self.headers = headers
        self.body = body
        self.event = event
        self.reason = reason


class TestReceiver:
    """Start with ``TestReceiver()``; ``url(name)`` is an endpoint; ``close()`` stops it."""

    __test__ = False

    def __init__(self) -> None:
        self.secrets: Dict[str, List[str]] = {}
        self.status: Dict[str, int] = {}
        self._received: Dict[str, List[Received]] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                name = self.path.split("/hooks/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event, reason = verify_signature(body, self.headers, outer.secrets.get(name) or ["whsec_unset_secret_"]), None
                except WebhookVerificationError as err:
                    event, reason = None, err.reason
                with outer._lock:
                    outer._received.setdefault(name, []).append(Received({k.lower(): v for k, v in self.headers.items()}, body, event, reason))
                status = 401 if reason else outer.status.get(name, 200)
                data = b"ok" if status == 200 else reason.encode() if reason else b"planned failure"
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, name: str) -> str:
        return f"{self.base}/hooks/{name}"

    def received(self, name: str) -> List[Received]:
        with self._lock:
            return list(self._received.get(name, []))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
