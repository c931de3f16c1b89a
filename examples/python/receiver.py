"""A webhook receiver for Rubric, standard library only (plus the ``rubric`` SDK).

It verifies every delivery with ``rubric.webhooks.verify_signature``, drops
duplicates by event id (delivery is at least once), answers at once, and
handles events on a worker thread so a slow handler never makes Rubric time
out and retry.

    PYTHONPATH=sdk/python RUBRIC_WEBHOOK_SECRET=whsec_… python3 examples/python/receiver.py

Environment: ``RUBRIC_WEBHOOK_SECRET`` (several, comma-separated, during a
secret rotation), ``HOST`` (default 127.0.0.1), ``PORT`` (default 9000).
The endpoint is ``http://HOST:PORT/webhooks/rubric``.
"""
from __future__ import annotations

import json
import os
import queue
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

from rubric.webhooks import WebhookVerificationError, verify_signature

#: Event ids remembered for deduplication (oldest forgotten first).
SEEN_LIMIT = 10_000
#: Largest body read; Rubric events are at most 256 KiB.
MAX_BODY_BYTES = 1024 * 1024

Handler = Callable[[Dict[str, Any]], None]


class WebhookReceiver:
    """Verification, deduplication and a work queue, independent of the HTTP server.

    ``secrets`` may be changed while running (e.g. after a rotation).
    """

    def __init__(self, secrets: List[str], handle_event: Handler, tolerance: int = 300) -> None:
        self.secrets = list(secrets)
        self.tolerance = tolerance
        self._handle_event = handle_event
        self._seen: "OrderedDict[str, None]" = OrderedDict()
        self._lock = threading.Lock()
        self._work: "queue.Queue[Optional[Dict[str, Any]]]" = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="webhook-worker", daemon=True)
        self._worker.start()

    def receive(self, body: bytes, headers: Any) -> "tuple[int, Dict[str, str]]":
        """Checks one delivery and queues it; returns the HTTP status and JSON answer to send."""
        try:
            event = verify_signature(body, headers, self.secrets, tolerance=self.tolerance)
        except WebhookVerificationError as err:
            return 401, {"error": err.reason}
        event_id = str(headers.get("X-Rubric-Event-Id") or (event.get("id") if isinstance(event, dict) else "") or "")
        if event_id and not self._first_time(event_id):
            return 200, {"status": "duplicate"}
        self._work.put(event)
        return 200, {"status": "ok"}

    def _first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._seen:
                return False
            self._seen[event_id] = None
            if len(self._seen) > SEEN_LIMIT:
                self._seen.popitem(last=False)
            return True

    def _run(self) -> None:
        while True:
            event = self._work.get()
            if event is None:
                return
            try:
                self._handle_event(event)
            except Exception as err:  # a failing handler must not stop the worker
                print(f"handler failed for {event.get('id')}: {err!r}", flush=True)
            finally:
                self._work.task_done()

    def drain(self) -> None:
        """Waits until every queued event has been handled."""
        self._work.join()

    def stop(self) -> None:
        """Stops the worker after the events already queued."""
        self._work.put(None)
        self._worker.join(timeout=5)


def make_server(receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 9000, path: str = "/webhooks/rubric") -> ThreadingHTTPServer:
    """An HTTP server that feeds POSTs to ``path`` into ``receiver``; port 0 picks a free one."""

    class RequestHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.split("?", 1)[0] != path:
                return self._answer(404, {"error": "not_found"})
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                return self._answer(413, {"error": "too_large"})
            status, answer = receiver.receive(self.rfile.read(length), self.headers)
            self._answer(status, answer)

        def _answer(self, status: int, answer: Dict[str, str]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: handle_event prints what matters

    server = ThreadingHTTPServer((host, port), RequestHandler)
    server.daemon_threads = True
    return server


def handle_event(event: Dict[str, Any]) -> None:
    """Your business logic; here it only prints the event, as the seed's handlers dispatch on type."""
    print(f"{event.get('id')} {event.get('type')} {json.dumps(event.get('data'), sort_keys=True)}", flush=True)


def main() -> None:
    secrets = [s.strip() for s in os.environ.get("RUBRIC_WEBHOOK_SECRET", "").split(",") if s.strip()]
    if not secrets:
        raise SystemExit("set RUBRIC_WEBHOOK_SECRET to the webhook's signing secret (whsec_…)")
    receiver = WebhookReceiver(secrets, handle_event)
    server = make_server(receiver, os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "9000")))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/webhooks/rubric", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        receiver.stop()


if __name__ == "__main__":
    main()
