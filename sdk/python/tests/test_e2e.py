"""End to end: the seed's snippets through the SDK against `npm start`'s service, with a real receiver
that verifies every delivery with `rubric.webhooks.verify_signature`.

Starts `node scripts/start.mjs` once for the module (10–40 s on a loaded machine); skipped only if
`node` is missing.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import contextlib
import io
import unittest
from typing import Any, Callable, Dict
from unittest import mock

import rubric
from rubric import Rubric

from .examples_path import EXAMPLES_DIR, REPO_ROOT
from . import seed_snippets
from .receiver_support import TestReceiver
from .service import Service

SEED_DATA = {
    "evaluation_id": "eval_xyz789",
    "project_id": "patient-triage",
    "name": "Daily Evaluation - March 15",
    "status": "completed",
    "summary": {"total_samples": 500, "triage_accuracy": 0.87, "safety_score": 0.95, "samples_for_review": 23},
    "completed_at": "2024-03-15T10:30:00Z",
}
SEED_METADATA = {"model_version": "triage-v2.4", "dataset": "ds_daily_march15"}
SEED_TEMPLATES = {
    "evaluation.completed": {
        "text": "Evaluation completed: {{data.name}}",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*{{data.name}}* completed\n"
                    "Accuracy: {{data.summary.triage_accuracy | percent}}\n"
                    "Safety: {{data.summary.safety_score | percent}}",
                },
            }
        ],
    }
}
SEED_SLACK_BODY = {
    "text": "Evaluation completed: Daily Evaluation - March 15",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Daily Evaluation - March 15* completed\nAccuracy: 87.0%\nSafety: 95.0%"}}],
}


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Polls `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@unittest.skipIf(shutil.which("node") is None, "node is not installed: the end-to-end tests need `npm start`'s service")
class EndToEnd(unittest.TestCase):
    service: Service
    receiver: TestReceiver
    client: Rubric

    @classmethod
    def setUpClass(cls) -> None:
        cls.receiver = TestReceiver()
        cls.addClassCleanup(cls.receiver.close)
        cls.service = Service(["--var", "SWEEP_AFTER_SECONDS:2", "--var", "SWEEP_INTERVAL_SECONDS:1"])
        cls.addClassCleanup(cls.service.stop)
        cls.client = Rubric(api_key=cls.service.api_key, base_url=cls.service.base_url)

    def assert_all_verified(self, name: str) -> None:
        got = self.receiver.received(name)
        self.assertTrue(got, f"{name} received nothing")
        self.assertEqual([r.reason for r in got], [None] * len(got), f"every delivery to {name} verifies")

    def test_seed_configuration_testing_and_management(self) -> None:
        client, receiver = self.client, self.receiver
        receiver.secrets["production"] = ["whsec_your_signing_secret"]

        # webhook_configuration.py
        webhook = client.webhooks.create(
            name="production-notifications",
            url=receiver.url("production"),
            events=["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
            secret="whsec_your_signing_secret",
            filters={"projects": ["patient-triage", "symptom-checker"], "severity": ["high", "critical"]},
            retry_config={"max_retries": 5, "backoff": "exponential", "initial_delay_ms": 1000},
        )
        self.assertRegex(webhook.id, r"^wh_")
        self.assertEqual(webhook.secret, "whsec_your_signing_secret")
        self.assertEqual(webhook.filters, {"projects": ["patient-triage", "symptom-checker"], "severity": ["high", "critical"]})

        # slack_webhook.py
        slack = client.webhooks.create(
            name="slack-notifications", url=receiver.url("slack"), events=["evaluation.completed", "alert.triggered"], format="slack", templates=SEED_TEMPLATES
        )
        self.assertRegex(slack.secret, r"^whsec_[A-Za-z0-9+/]{32}$")
        receiver.secrets["slack"] = [slack.secret]
        preview = client.webhooks.preview(slack.id, event_type="evaluation.completed", payload=SEED_DATA)
        self.assertEqual(preview.body, SEED_SLACK_BODY)

        # The seed's payload example reaches both.
        event = client.events.send(event_type="evaluation.completed", payload=SEED_DATA, metadata=SEED_METADATA)
        wait_for(lambda: receiver.received("production") and receiver.received("slack"), "both deliveries")
        prod = receiver.received("production")[0]
        self.assertEqual(prod.event, {"id": event.id, "type": "evaluation.completed", "created_at": event.created_at, "data": SEED_DATA, "metadata": SEED_METADATA})
        self.assertEqual(prod.headers["x-rubric-event-id"], event.id)
        self.assertNotIn("webhook-signature", prod.headers, "the seed's secret is not base64: no Standard Webhooks header")
        slack_got = receiver.received("slack")[0]
        self.assertEqual(slack_got.event, SEED_SLACK_BODY)
        self.assertIn("webhook-signature", slack_got.headers)

        # test_webhooks.py
        test_result = client.webhooks.test(
            webhook_id=webhook.id,
            event_type="evaluation.completed",
            payload={"evaluation_id": "eval_test", "summary": {"triage_accuracy": 0.85, "safety_score": 0.92}},
        )
        self.assertEqual((test_result.status, test_result.response_code, test_result.response_body), ("success", 200, "ok"))
        self.assertEqual(receiver.received("production")[-1].event["metadata"], {"test": True})

        # manage_webhooks.py: list
        mine = {webhook.id, slack.id}
        listed = [(wh.name, wh.url, wh.status) for wh in client.webhooks.list() if wh.id in mine]
        self.assertEqual(listed, [("production-notifications", receiver.url("production"), "active"), ("slack-notifications", receiver.url("slack"), "active")])

        # deliveries(webhook_id, limit=100)
        deliveries = wait_for(lambda: (lambda d: len(d) == 2 and d)(list(client.webhooks.deliveries(webhook_id=webhook.id, limit=100))), "two deliveries")
        self.assertEqual([(d.success, d.event_type, d.response_code) for d in deliveries], [(True, "evaluation.completed", 200)] * 2)

        # retry_failed(since=...): one delivery fails for good, then is retried.
        receiver.status["production"] = 500
        client.webhooks.update(webhook.id, retry_config={"max_retries": 0})
        failing = client.events.send(event_type="alert.triggered", payload={"project_id": "patient-triage", "severity": "critical"})
        failed = wait_for(lambda: client.webhooks.deliveries(webhook.id, status="failed").first(), "the failed delivery")
        self.assertEqual((failed.event_id, failed.success, failed.response_code), (failing.id, False, 500))
        receiver.status["production"] = 200
        retried = client.webhooks.retry_failed(webhook_id=webhook.id, since=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
        self.assertEqual((retried.queued, retried.has_more), (1, False))
        wait_for(lambda: client.deliveries.get(failed.id).status == "succeeded", "the retried delivery")
        log = client.deliveries.get(failed.id).attempt_log
        self.assertEqual([(a.trigger, a.response_code) for a in log], [("scheduled", 500), ("manual", 200)])

        # disable, then delete
        self.assertEqual(client.webhooks.disable(webhook.id).status, "disabled")
        # Not just the answer: the webhook really is disabled.
        stored = client.webhooks.get(webhook.id)
        self.assertEqual((stored.status, stored.disabled_reason), ("disabled", "disabled by API"))
        before = len(receiver.received("production"))
        client.events.send(event_type="alert.triggered", payload={"project_id": "patient-triage", "severity": "high"})
        time.sleep(0.5)
        self.assertEqual(len(receiver.received("production")), before, "a disabled webhook is sent nothing")
        deleted = client.webhooks.delete(webhook.id)
        self.assertEqual((deleted.id, deleted.deleted), (webhook.id, True))
        with self.assertRaises(rubric.NotFoundError) as ctx:
            client.webhooks.get(webhook.id)
        self.assertEqual((ctx.exception.status, ctx.exception.code), (404, "not_found"))
        self.assertRegex(ctx.exception.request_id or "", r"^req_")
        client.webhooks.delete(slack.id)
        self.assert_all_verified("production")
        self.assert_all_verified("slack")

    def run_seed(self, code: str, replacements: Dict[str, str]) -> "tuple[Dict[str, Any], list]":
        """Runs one of the seed's snippets as written (only its example URLs/ids replaced); returns its globals and printed lines."""
        for old, new in replacements.items():
            self.assertIn(old, code)
            code = code.replace(old, new)
        env = {"RUBRIC_API_KEY": self.service.api_key, "RUBRIC_BASE_URL": self.service.base_url}
        out = io.StringIO()
        scope: Dict[str, Any] = {"__name__": "__seed__"}
        with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out):
            exec(compile(code, "<seed snippet>", "exec"), scope)
        return scope, out.getvalue().splitlines()

    def test_the_seed_snippets_run_unchanged(self) -> None:
        receiver = self.receiver
        receiver.secrets["seed-prod"] = ["whsec_your_signing_secret"]
        scope, printed = self.run_seed(seed_snippets.WEBHOOK_CONFIGURATION, {"https://your-api.example.com/webhooks/rubric": receiver.url("seed-prod")})
        webhook_id = scope["webhook"].id
        self.assertEqual(printed, [f"Webhook created: {webhook_id}", "Signing secret: whsec_your_signing_secret"])

        scope, printed = self.run_seed(seed_snippets.SLACK_WEBHOOK, {"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXX": receiver.url("seed-slack")})
        slack = [wh for wh in self.client.webhooks.list() if wh.url == receiver.url("seed-slack")]
        self.assertEqual([(wh.name, wh.format, wh.templates) for wh in slack], [("slack-notifications", "slack", SEED_TEMPLATES)])

        _, printed = self.run_seed(seed_snippets.TEST_WEBHOOKS, {'"wh_abc123"': f'"{webhook_id}"'})
        self.assertEqual(printed, ["Test result: success", "Response code: 200", "Response body: ok"])
        self.assert_all_verified("seed-prod")

        _, printed = self.run_seed(seed_snippets.MANAGE_WEBHOOKS, {'"wh_abc123"': f'"{webhook_id}"'})
        self.assertIn(f"production-notifications: {receiver.url('seed-prod')} (active)", printed)
        self.assertIn(f"slack-notifications: {receiver.url('seed-slack')} (active)", printed)
        self.assertEqual(printed[-1], "OK evaluation.completed - 200", "the test delivery, listed by deliveries(webhook_id=..., limit=100)")
        with self.assertRaises(rubric.NotFoundError):
            self.client.webhooks.get(webhook_id)
        self.client.webhooks.delete(slack[0].id)

    def test_rotation_old_and_new_secrets_both_verify(self) -> None:
        webhook = self.client.webhooks.create(name="rotating", url=self.receiver.url("rotating"), events=["sample.scored"])
        rotated = self.client.webhooks.rotate_secret(webhook.id, grace_period_seconds=3600)
        self.assertNotEqual(rotated.secret, webhook.secret)
        self.receiver.secrets["rotating"] = [webhook.secret]  # a receiver not yet updated
        self.client.events.send(event_type="sample.scored", payload={"sample_id": "s_old"})
        first = wait_for(lambda: self.receiver.received("rotating"), "the delivery")[0]
        self.assertEqual(len(first.headers["webhook-signature"].split(" ")), 2)
        self.receiver.secrets["rotating"] = [rotated.secret]
        self.assertEqual(rubric.webhooks.verify_signature(first.body, first.headers, rotated.secret)["data"], {"sample_id": "s_old"})
        self.assertEqual(self.client.webhooks.test(webhook.id, event_type="sample.scored").response_code, 200)
        self.assert_all_verified("rotating")
        self.client.webhooks.delete(webhook.id)

    def test_events_idempotency_batches_and_pagination(self) -> None:
        events = self.client.events
        first = events.send(event_type="sample.scored", payload={"sample_id": "s_1"}, idempotency_key="py-e2e-s_1")
        again = events.send(event_type="sample.scored", payload={"sample_id": "s_1"}, idempotency_key="py-e2e-s_1")
        self.assertEqual(again.id, first.id)
        batch = events.send_batch(
            [{"event_type": "sample.scored", "payload": {"sample_id": "s_1"}, "idempotency_key": "py-e2e-s_1"}, {"event_type": "sample.scored", "payload": {"sample_id": "s_2"}}]
        )
        self.assertEqual([(i.index, i.status) for i in batch], [(0, "duplicate"), (1, "accepted")])
        self.assertEqual(list(batch)[0].id, first.id)
        for n in range(3):
            events.send(event_type="review.assigned", payload={"sample_id": f"r_{n}"})
        listed = list(events.list(event_type="review.assigned", page_size=2))
        self.assertEqual([e.data["sample_id"] for e in listed], ["r_2", "r_1", "r_0"], "newest first, across pages")
        self.assertEqual(len(list(events.list(event_type="review.assigned", limit=2, page_size=1))), 2)
        got = events.get(first.id)
        self.assertEqual((got.type, got.data, got.status in ("pending", "dispatched")), ("sample.scored", {"sample_id": "s_1"}, True))
        self.assertIsInstance(got.deliveries, list)

    def test_event_types_and_errors(self) -> None:
        types = [t.name for t in self.client.event_types.list()]
        self.assertIn("safety.critical", types)
        schema = {"type": "object", "required": ["dataset_id"], "properties": {"dataset_id": {"type": "string"}}}
        created = self.client.event_types.create(name="dataset.refreshed", description="A dataset was refreshed", schema=schema)
        self.assertEqual((created.name, created.builtin), ("dataset.refreshed", False))
        self.assertIn("dataset.refreshed", [t.name for t in self.client.event_types.list()])
        with self.assertRaises(rubric.ConflictError):
            self.client.event_types.create(name="dataset.refreshed", description="again")
        with self.assertRaises(rubric.ValidationError) as ctx:
            self.client.events.send(event_type="dataset.refreshed", payload={})
        self.assertEqual(ctx.exception.status, 422)
        self.assertEqual(ctx.exception.code, "validation_failed")
        self.assertTrue(any(d["field"].startswith("data") for d in ctx.exception.details), ctx.exception.details)
        with self.assertRaises(rubric.ValidationError) as ctx:
            self.client.webhooks.create(name="bad", url=self.receiver.url("bad"), events=["no.such_type"])
        self.assertIn("events", [d["field"].split(".")[0] for d in ctx.exception.details])
        with self.assertRaises(rubric.AuthenticationError) as auth:
            Rubric(api_key="rk_test_wrong", base_url=self.service.base_url).webhooks.get("wh_x")
        self.assertEqual((auth.exception.status, auth.exception.code), (401, "unauthorized"))

    def test_examples(self) -> None:
        """examples/python: the receiver verifies what manage_webhooks.py's webhook is sent."""
        sys.path.insert(0, EXAMPLES_DIR)
        import receiver as example  # type: ignore[import-not-found]

        secret = "whsec_ZXhhbXBsZS1leGFtcGxlLWV4YW1wbGUtZXhhbXBsZQ=="
        handled: list = []
        rx = example.WebhookReceiver([secret], handled.append)
        server = example.make_server(rx, port=0)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.addCleanup(rx.stop)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/rubric"
        env = {**os.environ, "RUBRIC_API_KEY": self.service.api_key, "RUBRIC_BASE_URL": self.service.base_url, "PYTHONPATH": os.path.join(REPO_ROOT, "sdk", "python")}
        run = subprocess.run(
            [sys.executable, os.path.join(EXAMPLES_DIR, "manage_webhooks.py"), url, "--secret", secret, "--delete"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(run.returncode, 0, run.stderr)
        lines = run.stdout.splitlines()
        self.assertRegex(lines[0], r"^Webhook created: wh_")
        self.assertEqual(lines[1:5], [f"Signing secret: {secret}", "Test result: success", "Response code: 200", 'Response body: {"status": "ok"}'])
        self.assertIn(f"example-receiver: {url} (active)", lines)
        self.assertIn("OK evaluation.completed - 200", lines)
        self.assertRegex(lines[-1], r"^Deleted wh_")
        rx.drain()
        self.assertEqual([(e["type"], e["data"]["evaluation_id"], e["metadata"]) for e in handled], [("evaluation.completed", "eval_test", {"test": True})])


if __name__ == "__main__":
    unittest.main()
