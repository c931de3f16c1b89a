"""Retries: only idempotent calls, on 429/5xx/connection errors, exponential backoff, Retry-After honoured."""
from __future__ import annotations

import email.utils
import socket
import time
import unittest

import rubric
from rubric import Rubric
from rubric._retry import MAX_DELAY, backoff_delay, parse_retry_after

from .fake_api import FakeAPI, error_body


class Retries(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeAPI().__enter__()
        self.addCleanup(self.api.__exit__)
        self.slept: list = []
        self.client = Rubric(api_key="rk_test_key", base_url=self.api.url, sleep=self.slept.append)

    def test_get_is_retried_after_5xx_with_backoff(self) -> None:
        self.api.answer(503, error_body("unavailable", "busy")).answer(500, raw=b"oops").answer(200, {"id": "wh_1"})
        self.assertEqual(self.client.webhooks.get("wh_1").id, "wh_1")
        self.assertEqual(len(self.api.requests), 3)
        self.assertEqual(len(self.slept), 2)
        self.assertTrue(0.25 <= self.slept[0] <= 0.5, self.slept)
        self.assertTrue(0.5 <= self.slept[1] <= 1.0, self.slept)

    def test_retry_after_seconds_is_honoured(self) -> None:
        self.api.answer(429, error_body("rate_limited", "slow down"), headers={"Retry-After": "7"}).answer(200, {"data": [], "next_cursor": None})
        self.assertEqual(list(self.client.webhooks.list()), [])
        self.assertEqual(self.slept, [7.0])

    def test_retry_after_http_date_is_honoured(self) -> None:
        when = email.utils.formatdate(time.time() + 20, usegmt=True)
        self.api.answer(503, error_body("unavailable", "later"), headers={"Retry-After": when}).answer(200, {"id": "wh_1"})
        self.client.webhooks.get("wh_1")
        self.assertEqual(len(self.slept), 1)
        self.assertTrue(17 <= self.slept[0] <= 20, self.slept)

    def test_a_long_retry_after_raises_at_once(self) -> None:
        self.api.answer(429, error_body("rate_limited", "come back in an hour"), headers={"Retry-After": "3600"})
        with self.assertRaises(rubric.RateLimitError) as ctx:
            self.client.webhooks.get("wh_1")
        self.assertEqual(ctx.exception.retry_after, 3600.0)
        self.assertEqual((self.slept, len(self.api.requests)), ([], 1))

    def test_gives_up_after_max_retries(self) -> None:
        for _ in range(5):
            self.api.answer(502, raw=b"bad gateway")
        client = Rubric(api_key="rk_test_key", base_url=self.api.url, max_retries=3, sleep=self.slept.append)
        with self.assertRaises(rubric.InternalServerError) as ctx:
            client.webhooks.delete("wh_1")
        self.assertEqual(ctx.exception.status, 502)
        self.assertEqual(len(self.api.requests), 4)
        self.assertEqual(len(self.slept), 3)

    def test_non_idempotent_posts_are_not_retried(self) -> None:
        self.api.answer(503, error_body("unavailable", "busy"))
        with self.assertRaises(rubric.InternalServerError):
            self.client.webhooks.create(name="x", url="https://x.example", events=["*"])
        self.api.answer(500, error_body("internal_error", "boom"))
        with self.assertRaises(rubric.InternalServerError):
            self.client.webhooks.test("wh_1", event_type="evaluation.completed")
        self.assertEqual((len(self.api.requests), self.slept), (2, []))

    def test_events_send_is_retried_with_the_same_idempotency_key(self) -> None:
        self.api.answer(503, error_body("unavailable", "busy")).answer(202, {"id": "evt_1"})
        event = self.client.events.send(event_type="evaluation.completed", payload={"evaluation_id": "e"})
        first, second = self.api.requests
        self.assertEqual(event.id, "evt_1")
        self.assertEqual(first.headers["idempotency-key"], second.headers["idempotency-key"])
        self.assertEqual(first.raw, second.raw)

    def test_send_batch_is_retried_with_the_same_item_keys(self) -> None:
        self.api.answer(502, raw=b"").answer(202, {"data": []})
        self.client.events.send_batch([{"event_type": "sample.scored", "payload": {}}])
        first, second = self.api.requests
        self.assertEqual(first.json, second.json)

    def test_client_errors_are_not_retried(self) -> None:
        self.api.answer(404, error_body("not_found", "Webhook not found"))
        with self.assertRaises(rubric.NotFoundError):
            self.client.webhooks.get("wh_1")
        self.assertEqual((len(self.api.requests), self.slept), (1, []))

    def test_connection_errors_are_retried_then_raised(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = Rubric(api_key="rk_test_key", base_url=f"http://127.0.0.1:{port}", sleep=self.slept.append)
        with self.assertRaises(rubric.APIConnectionError) as ctx:
            client.webhooks.get("wh_1")
        self.assertIsNone(ctx.exception.status)
        self.assertEqual(len(self.slept), 2)
        self.slept.clear()
        with self.assertRaises(rubric.APIConnectionError):
            client.webhooks.create(name="x", url="https://x.example", events=["*"])
        self.assertEqual(self.slept, [], "a POST without an idempotency key is not retried")

    def test_timeouts(self) -> None:
        self.api.answer(200, {"id": "wh_1"}, delay=1.0).answer(200, {"id": "wh_1"})
        client = Rubric(api_key="rk_test_key", base_url=self.api.url, timeout=0.2, sleep=self.slept.append)
        self.assertEqual(client.webhooks.get("wh_1").id, "wh_1")
        self.assertEqual(len(self.slept), 1, "a timed-out GET is retried")
        self.api.answer(200, {"id": "wh_1"}, delay=1.0)
        with self.assertRaises(rubric.APITimeoutError):
            Rubric(api_key="rk_test_key", base_url=self.api.url, timeout=0.2, max_retries=0).webhooks.get("wh_1")


class RetryHelpers(unittest.TestCase):
    def test_parse_retry_after(self) -> None:
        self.assertEqual(parse_retry_after("10"), 10.0)
        self.assertEqual(parse_retry_after(" 0 "), 0.0)
        self.assertEqual(parse_retry_after("-3"), 0.0)
        self.assertIsNone(parse_retry_after(None))
        self.assertIsNone(parse_retry_after(""))
        self.assertIsNone(parse_retry_after("soon"))
        self.assertEqual(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0), 10.0)
        self.assertEqual(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412490.0), 0.0)

    def test_backoff_is_exponential_capped_and_jittered(self) -> None:
        self.assertEqual([backoff_delay(n, rand=lambda: 1.0) for n in range(6)], [0.5, 1.0, 2.0, 4.0, 8.0, MAX_DELAY])
        self.assertEqual([backoff_delay(n, rand=lambda: 0.0) for n in range(3)], [0.25, 0.5, 1.0])


if __name__ == "__main__":
    unittest.main()
