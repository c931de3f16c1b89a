"""Request building: paths, methods, headers and JSON bodies exactly as the API expects them."""
from __future__ import annotations

import datetime as dt
import os
import unittest
from unittest import mock

import rubric
from rubric import Rubric

from .fake_api import FakeAPI


class ClientConstruction(unittest.TestCase):
    def test_missing_key_is_a_clear_error_at_construction(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaises(rubric.MissingAPIKeyError) as ctx:
                Rubric()
        self.assertIn("RUBRIC_API_KEY", str(ctx.exception))
        self.assertIsInstance(ctx.exception, ValueError)

    def test_environment_defaults(self) -> None:
        with mock.patch.dict(os.environ, {"RUBRIC_API_KEY": "rk_test_env", "RUBRIC_BASE_URL": "http://127.0.0.1:9999/"}, clear=True):
            client = Rubric()
        self.assertEqual((client.api_key, client.base_url, client.timeout, client.max_retries), ("rk_test_env", "http://127.0.0.1:9999", 30, 2))
        with mock.patch.dict(os.environ, {"RUBRIC_API_KEY": "rk_test_env"}, clear=True):
            self.assertEqual(Rubric().base_url, "http://127.0.0.1:8787")
        with mock.patch.dict(os.environ, {"RUBRIC_API_KEY": "rk_test_env", "RUBRIC_BASE_URL": "http://a:1"}, clear=True):
            self.assertEqual(Rubric(api_key="rk_explicit", base_url="https://b").base_url, "https://b")

    def test_bad_arguments(self) -> None:
        for kwargs in ({"base_url": "127.0.0.1:8787"}, {"timeout": 0}, {"max_retries": -1}):
            with self.assertRaises(ValueError):
                Rubric(api_key="rk_test_x", **kwargs)


class RequestBuilding(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeAPI().__enter__()
        self.addCleanup(self.api.__exit__)
        self.client = Rubric(api_key="rk_test_key", base_url=self.api.url, sleep=lambda s: None)

    def test_create_sends_the_seed_arguments_as_json(self) -> None:
        self.api.answer(201, {"id": "wh_1", "name": "production-notifications", "secret": "whsec_your_signing_secret", "status": "active"})
        webhook = self.client.webhooks.create(
            name="production-notifications",
            url="https://your-api.example.com/webhooks/rubric",
            events=["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
            secret="whsec_your_signing_secret",
            filters={"projects": ["patient-triage", "symptom-checker"], "severity": ["high", "critical"]},
            retry_config={"max_retries": 5, "backoff": "exponential", "initial_delay_ms": 1000},
        )
        (req,) = self.api.requests
        self.assertEqual((req.method, req.path), ("POST", "/v1/webhooks"))
        self.assertEqual(req.headers["authorization"], "Bearer rk_test_key")
        self.assertEqual(req.headers["content-type"], "application/json")
        self.assertEqual(req.headers["user-agent"], f"rubric-python/{rubric.__version__}")
        self.assertNotIn("idempotency-key", req.headers)
        self.assertEqual(
            req.json,
            {
                "name": "production-notifications",
                "url": "https://your-api.example.com/webhooks/rubric",
                "events": ["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
                "secret": "whsec_your_signing_secret",
                "filters": {"projects": ["patient-triage", "symptom-checker"], "severity": ["high", "critical"]},
                "retry_config": {"max_retries": 5, "backoff": "exponential", "initial_delay_ms": 1000},
            },
        )
        self.assertEqual((webhook.id, webhook.secret, webhook.status), ("wh_1", "whsec_your_signing_secret", "active"))
        self.assertIsInstance(webhook, rubric.Webhook)
        self.assertEqual(webhook["name"], "production-notifications")
        self.assertNotIn("whsec_", repr(webhook), "secrets stay out of reprs and logs")
        with self.assertRaises(AttributeError):
            webhook.nope  # noqa: B018

    def test_create_slack_format_with_templates(self) -> None:
        templates = {"evaluation.completed": {"text": "Evaluation completed: {{data.name}}"}}
        self.client.webhooks.create(name="slack", url="https://hooks.example/x", events=["alert.triggered"], format="slack", templates=templates)
        self.assertEqual(self.api.requests[0].json, {"name": "slack", "url": "https://hooks.example/x", "events": ["alert.triggered"], "format": "slack", "templates": templates})

    def test_ordering_modes_and_rate_limit(self) -> None:
        self.client.webhooks.create(name="p", url="https://hooks.example/p", events=["*"], ordering="parallel", max_in_flight=3, rate_limit_per_second=10)
        self.client.webhooks.update("wh_1", rate_limit_per_second=None, max_in_flight=6)
        create, update = self.api.requests
        self.assertEqual(
            create.json,
            {"name": "p", "url": "https://hooks.example/p", "events": ["*"], "ordering": "parallel", "max_in_flight": 3, "rate_limit_per_second": 10},
        )
        self.assertEqual(update.json, {"max_in_flight": 6, "rate_limit_per_second": None})

    def test_listen_transport_on_create_and_as_a_list_filter(self) -> None:
        self.client.webhooks.create(name="laptop", url="http://localhost:3000/webhook", events=["*"], transport="listen")
        self.api.answer(200, {"data": [], "next_cursor": None})
        list(self.client.webhooks.list(transport="listen"))
        create, listed = self.api.requests
        self.assertEqual(create.json, {"name": "laptop", "url": "http://localhost:3000/webhook", "events": ["*"], "transport": "listen"})
        self.assertEqual((listed.method, listed.path, listed.query["transport"]), ("GET", "/v1/webhooks", "listen"))

    def test_update_sends_only_given_fields_and_null_clears(self) -> None:
        self.client.webhooks.update("wh_1", retry_config={"max_retries": 0}, filters=None)
        req = self.api.requests[0]
        self.assertEqual((req.method, req.path, req.json), ("PATCH", "/v1/webhooks/wh_1", {"retry_config": {"max_retries": 0}, "filters": None}))

    def test_webhook_calls_paths_and_bodies(self) -> None:
        w = self.client.webhooks
        w.get("wh_1")
        w.delete("wh_1")
        w.disable("wh_1")
        w.disable("wh_1", reason="maintenance")
        w.enable("wh_1")
        w.test(webhook_id="wh_1", event_type="evaluation.completed", payload={"evaluation_id": "eval_test"})
        w.retry_failed(webhook_id="wh_1", since="2024-03-15T00:00:00Z")
        w.retry_failed("wh_1", since=dt.datetime(2024, 3, 15, 1, 2, 3), until=dt.datetime(2024, 3, 16, tzinfo=dt.timezone(dt.timedelta(hours=2))))
        w.rotate_secret("wh_1", grace_period_seconds=3600)
        w.stats("wh_1", window="7d")
        w.preview("wh_1", event_type="evaluation.completed", payload={"name": "x"})
        w.filter_test("wh_1", event={"type": "evaluation.completed", "data": {}})
        got = [(r.method, r.path, r.query, r.json) for r in self.api.requests]
        self.assertEqual(
            got,
            [
                ("GET", "/v1/webhooks/wh_1", {}, None),
                ("DELETE", "/v1/webhooks/wh_1", {}, None),
                ("POST", "/v1/webhooks/wh_1/disable", {}, {}),
                ("POST", "/v1/webhooks/wh_1/disable", {}, {"reason": "maintenance"}),
                ("POST", "/v1/webhooks/wh_1/enable", {}, {}),
                ("POST", "/v1/webhooks/wh_1/test", {}, {"event_type": "evaluation.completed", "payload": {"evaluation_id": "eval_test"}}),
                ("POST", "/v1/webhooks/wh_1/retry_failed", {}, {"since": "2024-03-15T00:00:00Z"}),
                ("POST", "/v1/webhooks/wh_1/retry_failed", {}, {"since": "2024-03-15T01:02:03Z", "until": "2024-03-15T22:00:00Z"}),
                ("POST", "/v1/webhooks/wh_1/rotate_secret", {}, {"grace_period_seconds": 3600}),
                ("GET", "/v1/webhooks/wh_1/stats", {"window": "7d"}, None),
                ("POST", "/v1/webhooks/wh_1/preview", {}, {"event_type": "evaluation.completed", "payload": {"name": "x"}}),
                ("POST", "/v1/webhooks/wh_1/filter_test", {}, {"event": {"type": "evaluation.completed", "data": {}}}),
            ],
        )

    def test_deliveries_query_maps_seed_names(self) -> None:
        self.api.answer(200, {"data": [{"id": "dlv_1", "success": True, "event_type": "evaluation.completed", "response_code": 200}], "next_cursor": None})
        (d,) = list(self.client.webhooks.deliveries(webhook_id="wh_1", limit=100, status="failed", event_type="alert.triggered", since="2024-03-15T00:00:00Z"))
        req = self.api.requests[0]
        self.assertEqual(req.path, "/v1/webhooks/wh_1/deliveries")
        self.assertEqual(req.query, {"limit": "100", "status": "failed", "event_type": "alert.triggered", "since": "2024-03-15T00:00:00Z"})
        self.assertEqual((d.success, d.event_type, d.response_code), (True, "evaluation.completed", 200))

    def test_ids_cannot_change_the_path(self) -> None:
        self.client.webhooks.get("wh_1/../../v1/accounts?x=1")
        self.assertEqual(self.api.requests[0].raw_path, "/v1/webhooks/wh_1%2F..%2F..%2Fv1%2Faccounts%3Fx%3D1")
        with self.assertRaises(ValueError):
            self.client.webhooks.get("")
        self.assertEqual(len(self.api.requests), 1)

    def test_events_send_maps_names_and_sends_an_idempotency_key(self) -> None:
        self.api.answer(202, {"id": "evt_1", "type": "evaluation.completed"})
        event = self.client.events.send(event_type="evaluation.completed", payload={"evaluation_id": "e"}, metadata={"m": 1}, project_id="p")
        self.client.events.send(event_type="sample.scored", payload={}, idempotency_key="mine-1")
        first, second = self.api.requests
        self.assertEqual((first.method, first.path), ("POST", "/v1/events"))
        self.assertEqual(first.json, {"type": "evaluation.completed", "data": {"evaluation_id": "e"}, "metadata": {"m": 1}, "project_id": "p"})
        self.assertRegex(first.headers["idempotency-key"], r"^rbk_[0-9a-f]{32}$")
        self.assertEqual(second.headers["idempotency-key"], "mine-1")
        self.assertEqual(event.id, "evt_1")

    def test_send_batch_maps_items_and_keys_each_one(self) -> None:
        self.api.answer(202, {"data": [{"index": 0, "id": "evt_1", "status": "accepted"}, {"index": 1, "id": "evt_0", "status": "duplicate"}]})
        result = self.client.events.send_batch([{"event_type": "sample.scored", "payload": {"sample_id": "s_1"}}, {"type": "sample.scored", "data": {"sample_id": "s_2"}, "idempotency_key": "s_2"}])
        items = self.api.requests[0].json["events"]
        self.assertEqual(self.api.requests[0].path, "/v1/events/batch")
        self.assertEqual({k: v for k, v in items[0].items() if k != "idempotency_key"}, {"type": "sample.scored", "data": {"sample_id": "s_1"}})
        self.assertRegex(items[0]["idempotency_key"], r"^rbk_")
        self.assertEqual(items[1], {"type": "sample.scored", "data": {"sample_id": "s_2"}, "idempotency_key": "s_2"})
        self.assertEqual([(i.index, i.status) for i in result], [(0, "accepted"), (1, "duplicate")])

    def test_calls_without_options_send_what_the_api_takes(self) -> None:
        # Exactly what goes on the wire: ``{}`` declared JSON where the body is optional, nothing where there
        # is none. test/empty-json-body.test.ts shows the API answers each as a call without a body (and an
        # empty body sent with Content-Type: application/json too).
        self.client.webhooks.disable("wh_1")
        self.client.webhooks.enable("wh_1")
        self.client.webhooks.rotate_secret("wh_1")
        self.client.events.replay("evt_1")
        self.client.deliveries.retry("dlv_1")
        self.client.webhooks.delete("wh_1")
        got = [(r.method, r.path, r.headers.get("content-type"), r.headers.get("content-length", "0"), r.raw) for r in self.api.requests]
        self.assertEqual(
            got,
            [
                ("POST", "/v1/webhooks/wh_1/disable", "application/json", "2", b"{}"),
                ("POST", "/v1/webhooks/wh_1/enable", "application/json", "2", b"{}"),
                ("POST", "/v1/webhooks/wh_1/rotate_secret", "application/json", "2", b"{}"),
                ("POST", "/v1/events/evt_1/replay", "application/json", "2", b"{}"),
                ("POST", "/v1/deliveries/dlv_1/retry", None, "0", b""),
                ("DELETE", "/v1/webhooks/wh_1", None, "0", b""),
            ],
        )

    def test_other_resources(self) -> None:
        self.api.answer(200, {"id": "evt_1", "deliveries": [{"id": "dlv_1", "success": False}]})
        self.api.answer(200, {"id": "dlv_1", "attempt_log": [{"attempt": 1, "trigger": "scheduled"}]})
        event = self.client.events.get("evt_1")
        delivery = self.client.deliveries.get("dlv_1")
        self.client.deliveries.retry("dlv_1")
        self.client.events.replay("evt_1", webhook_id="wh_1")
        self.client.events.replay("evt_1")
        list(self.client.events.list(limit=3, event_type="sample.scored", status="dead_lettered"))
        list(self.client.event_types.list())
        self.client.event_types.create(name="dataset.refreshed", description="d", schema={"type": "object"})
        got = [(r.method, r.path, r.query, r.json) for r in self.api.requests]
        self.assertEqual(
            got,
            [
                ("GET", "/v1/events/evt_1", {}, None),
                ("GET", "/v1/deliveries/dlv_1", {}, None),
                ("POST", "/v1/deliveries/dlv_1/retry", {}, None),
                ("POST", "/v1/events/evt_1/replay", {}, {"webhook_id": "wh_1"}),
                ("POST", "/v1/events/evt_1/replay", {}, {}),
                ("GET", "/v1/events", {"limit": "3", "type": "sample.scored", "status": "dead_lettered"}, None),
                ("GET", "/v1/event_types", {}, None),
                ("POST", "/v1/event_types", {}, {"name": "dataset.refreshed", "description": "d", "schema": {"type": "object"}}),
            ],
        )
        self.assertIsInstance(event.deliveries[0], rubric.Delivery)
        self.assertFalse(event.deliveries[0].success)
        self.assertEqual(delivery.attempt_log[0].trigger, "scheduled")


if __name__ == "__main__":
    unittest.main()
