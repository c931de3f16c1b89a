// Retries against `npm start` (wrangler dev): a receiver that fails twice gets the
// event on attempt 3, and the delivery record shows every attempt.
import assert from "node:assert/strict";
import { test } from "node:test";
import { plan, seedVerify, useService, waitFor } from "./support/service.mjs";

const ARGS = ["--var", "SWEEP_AFTER_SECONDS:2", "--var", "SWEEP_INTERVAL_SECONDS:1"];

let receiver;
let service;
useService({ args: ARGS }, (started) => ({ service, receiver } = started));

test("a receiver failing twice with 503 gets the event on attempt 3; the delivery records all three", { timeout: 60_000 }, async () => {
  const { api } = service;
  await plan(receiver, "flaky", { fail_times: 2, fail_status: 503 });
  const created = await api("POST", "/v1/webhooks", {
    name: "flaky",
    url: `${receiver.url}/hooks/flaky`,
    events: ["evaluation.completed"],
    retry_config: { max_retries: 5, backoff: "fixed", initial_delay_ms: 500 },
  });
  assert.equal(created.status, 201, created.text);
  const hook = created.json;
  assert.deepEqual(hook.retry_config, { max_retries: 5, backoff: "fixed", initial_delay_ms: 500 });

  const event = await api("POST", "/v1/events", { type: "evaluation.completed", data: { project_id: "patient-triage", evaluation_id: "eval_retry" } });
  assert.equal(event.status, 202, event.text);

  const got = await waitFor(() => receiver.received("flaky").length >= 3 && receiver.received("flaky"), {
    timeout: 30_000,
    what: "3 attempts at the receiver",
  });
  assert.deepEqual(
    got.map((g) => g.headers["x-rubric-attempt"]),
    ["1", "2", "3"],
  );
  assert.deepEqual(
    got.map((g) => g.answered),
    [503, 503, 200],
  );
  const deliveryId = got[0].headers["x-rubric-delivery-id"];
  assert.match(deliveryId, /^dlv_/);
  for (const g of got) {
    assert.equal(g.headers["x-rubric-delivery-id"], deliveryId, "one delivery id across retries");
    assert.equal(g.headers["x-rubric-event-id"], event.json.id);
    assert.equal(g.body, got[0].body, "the same body on every attempt");
    assert.ok(seedVerify(hook.secret, g.headers, g.body), `attempt ${g.headers["x-rubric-attempt"]} verifies the seed's way`);
  }
  // Fixed 500 ms backoff (±20 % jitter): attempts are spaced by at least 400 ms.
  for (let i = 1; i < 3; i++) {
    const gap = got[i].received_at - got[i - 1].received_at;
    assert.ok(gap >= 350, `gap between attempts ${i} and ${i + 1} is ${gap} ms`);
  }

  const delivery = await waitFor(
    async () => {
      const r = await api("GET", `/v1/deliveries/${deliveryId}`);
      return r.status === 200 && r.json.status === "succeeded" && r.json;
    },
    { what: `delivery ${deliveryId} to be succeeded` },
  );
  assert.equal(delivery.event_id, event.json.id);
  assert.equal(delivery.webhook_id, hook.id);
  assert.equal(delivery.success, true);
  assert.equal(delivery.attempts, 3);
  assert.equal(delivery.response_code, 200);
  assert.equal(delivery.attempt_log.length, 3);
  assert.deepEqual(
    delivery.attempt_log.map((a) => [a.attempt, a.response_code]),
    [
      [1, 503],
      [2, 503],
      [3, 200],
    ],
  );

  // Nothing more arrives once it succeeded.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(receiver.received("flaky").length, 3);
});
