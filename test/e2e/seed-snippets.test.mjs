// The seed's Configuring, Slack, Testing and Management snippets, replayed over HTTP
// against `npm start`'s wrangler dev with a real receiver that verifies every
// delivery the seed's way.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { SEED_DATA, SEED_METADATA, SEED_SLACK_BODY, SEED_SLACK_TEMPLATES } from "../support/seed.mjs";
import { plan, seedVerify, sleep, useService, waitFor } from "./support/service.mjs";

let receiver;
let service;
useService({ args: ["--var", "SWEEP_AFTER_SECONDS:2", "--var", "SWEEP_INTERVAL_SECONDS:1"] }, (started) => ({ service, receiver } = started));

test("configuring, testing and managing webhooks as the seed's snippets do", { timeout: 90_000 }, async () => {
  const { api } = service;
  const url = (name) => `${receiver.url}/hooks/${name}`;

  // webhook_configuration.py
  const created = await api("POST", "/v1/webhooks", {
    name: "production-notifications",
    url: url("production"),
    events: ["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
    secret: "whsec_your_signing_secret",
    filters: { projects: ["patient-triage", "symptom-checker"], severity: ["high", "critical"] },
    retry_config: { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 },
  });
  assert.equal(created.status, 201, created.text);
  const webhook = created.json;
  assert.match(webhook.id, /^wh_/);
  assert.equal(webhook.secret, "whsec_your_signing_secret");

  // slack_webhook.py
  const slack = await api("POST", "/v1/webhooks", {
    name: "slack-notifications",
    url: url("slack"),
    events: ["evaluation.completed", "alert.triggered"],
    format: "slack",
    templates: SEED_SLACK_TEMPLATES,
  });
  assert.equal(slack.status, 201, slack.text);

  // The payload example goes to both; the severity filter does not exclude evaluation.completed.
  const event = await api("POST", "/v1/events", { type: "evaluation.completed", data: SEED_DATA, metadata: SEED_METADATA });
  assert.equal(event.status, 202, event.text);
  await waitFor(() => receiver.received("production").length >= 1 && receiver.received("slack").length >= 1, { what: "both deliveries" });
  const [prod] = receiver.received("production");
  assert.ok(seedVerify("whsec_your_signing_secret", prod.headers, prod.body));
  assert.deepEqual(JSON.parse(prod.body), {
    id: event.json.id,
    type: "evaluation.completed",
    created_at: event.json.created_at,
    data: SEED_DATA,
    metadata: SEED_METADATA,
  });
  const [slackGot] = receiver.received("slack");
  assert.ok(seedVerify(slack.json.secret, slackGot.headers, slackGot.body));
  assert.deepEqual(JSON.parse(slackGot.body), SEED_SLACK_BODY);

  // test_webhooks.py
  const testResult = await api("POST", `/v1/webhooks/${webhook.id}/test`, {
    event_type: "evaluation.completed",
    payload: { evaluation_id: "eval_test", summary: { triage_accuracy: 0.85, safety_score: 0.92 } },
  });
  assert.equal(testResult.status, 200, testResult.text);
  assert.equal(testResult.json.status, "success");
  assert.equal(testResult.json.response_code, 200);
  assert.equal(testResult.json.response_body, "ok");

  // manage_webhooks.py: list
  const list = await api("GET", "/v1/webhooks");
  assert.deepEqual(
    list.json.data.map((wh) => [wh.name, wh.url, wh.status]),
    [
      ["production-notifications", url("production"), "active"],
      ["slack-notifications", url("slack"), "active"],
    ],
  );

  // deliveries(webhook_id, limit=100): success, event_type, response_code
  const deliveries = await waitFor(async () => {
    const r = await api("GET", `/v1/webhooks/${webhook.id}/deliveries?limit=100`);
    return r.json.data.length === 2 && r.json.data;
  });
  assert.deepEqual(
    deliveries.map((d) => [d.success, d.event_type, d.response_code]),
    [
      [true, "evaluation.completed", 200],
      [true, "evaluation.completed", 200],
    ],
  );

  // retry_failed(since=...): make one delivery fail for good, then retry it.
  await plan(receiver, "production", { status: 500 });
  await api("PATCH", `/v1/webhooks/${webhook.id}`, { retry_config: { max_retries: 0 } });
  const failing = await api("POST", "/v1/events", { type: "alert.triggered", data: { project_id: "patient-triage", severity: "critical" } });
  const failed = await waitFor(async () => {
    const r = await api("GET", `/v1/webhooks/${webhook.id}/deliveries?status=failed`);
    return r.json.data.length === 1 && r.json.data[0];
  });
  assert.equal(failed.event_id, failing.json.id);
  assert.equal(failed.success, false);
  assert.equal(failed.response_code, 500);
  await plan(receiver, "production", {});
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const retried = await api("POST", `/v1/webhooks/${webhook.id}/retry_failed`, { since });
  assert.equal(retried.status, 202, retried.text);
  assert.equal(retried.json.queued, 1);
  await waitFor(async () => (await api("GET", `/v1/deliveries/${failed.id}`)).json.status === "succeeded", { what: "the retried delivery" });

  // disable, then delete
  const disabled = await api("POST", `/v1/webhooks/${webhook.id}/disable`);
  assert.equal(disabled.json.status, "disabled");
  const before = receiver.received("production").length;
  await api("POST", "/v1/events", { type: "alert.triggered", data: { project_id: "patient-triage", severity: "high" } });
  await sleep(500);
  assert.equal(receiver.received("production").length, before, "a disabled webhook is sent nothing");
  const deleted = await api("DELETE", `/v1/webhooks/${webhook.id}`);
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal((await api("GET", `/v1/webhooks/${webhook.id}`)).status, 404);
  for (const r of receiver.received("production")) assert.ok(seedVerify("whsec_your_signing_secret", r.headers, r.body), "every delivery verifies");
});

test("the docs page and OpenAPI document are served with no auth", async () => {
  const doc = await fetch(`${service.baseUrl}/openapi.json`);
  assert.equal(doc.status, 200);
  assert.match((await doc.json()).openapi, /^3\.1/);
  const page = await fetch(`${service.baseUrl}/docs`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
});
