"""The example receiver over real HTTP: verifies, deduplicates by event id, answers before handling."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import unittest

from rubric.webhooks import sign_rubric, sign_standard

from . import examples_path  # noqa: F401 (puts examples/python on sys.path)
import receiver  # type: ignore[import-not-found]  # noqa: E402

SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


def post(url, body, headers):
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class ExampleReceiver(unittest.TestCase):
    def setUp(self) -> None:
        self.handled = []
        self.release = threading.Event()

        def slow_handler(event):
            self.release.wait(5)  # a slow handler must not delay the answer
            self.handled.append(event["id"])

        self.receiver = receiver.WebhookReceiver([SECRET], slow_handler)
        self.server = receiver.make_server(self.receiver, port=0)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/rubric"
        self.addCleanup(self.stop)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.receiver.stop()

    def signed(self, event_id, ts=None):
        ts = int(time.time()) if ts is None else ts
        body = json.dumps({"id": event_id, "type": "evaluation.completed", "data": {}, "metadata": {}})
        headers = {
            "X-Rubric-Timestamp": str(ts),
            "X-Rubric-Signature": sign_rubric(SECRET, ts, body),
            "X-Rubric-Event-Id": event_id,
            "webhook-id": event_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign_standard(SECRET, event_id, ts, body),
        }
        return body, headers

    def test_verifies_answers_fast_and_deduplicates(self) -> None:
        body, headers = self.signed("evt_1")
        started = time.monotonic()
        self.assertEqual(post(self.url, body, headers), (200, {"status": "ok"}))
        self.assertLess(time.monotonic() - started, 2, "answered before the slow handler finished")
        self.assertEqual(self.handled, [])
        self.assertEqual(post(self.url, body, headers), (200, {"status": "duplicate"}))
        self.release.set()
        self.receiver.drain()
        self.assertEqual(self.handled, ["evt_1"], "handled once")

    def test_refuses_what_does_not_verify(self) -> None:
        body, headers = self.signed("evt_2")
        self.assertEqual(post(self.url, body.replace("evt_2", "evt_3"), headers), (401, {"error": "signature_mismatch"}))
        old_body, old_headers = self.signed("evt_4", ts=int(time.time()) - 600)
        self.assertEqual(post(self.url, old_body, old_headers), (401, {"error": "timestamp_too_old"}))
        self.assertEqual(post(self.url, body, {}), (401, {"error": "missing_headers"}))
        self.assertEqual(post(self.url.replace("/webhooks/rubric", "/other"), body, headers), (404, {"error": "not_found"}))
        self.release.set()
        self.receiver.drain()
        self.assertEqual(self.handled, [])


if __name__ == "__main__":
    unittest.main()
