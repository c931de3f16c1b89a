// The README walk-through against `npm start` (wrangler dev) and a real receiver:
// create a webhook, send events, receive them signed and in order; filters and
// account isolation over HTTP.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { devVar, seedVerify, sleep, useService, waitFor } from "./support/service.mjs";

const ARGS = ["--var", "SWEEP_AFTER_SECONDS:2", "--var", "SWEEP_INTERVAL_SECONDS:1"];

let receiver;
let service;
useService({ args: ARGS }, (started) => ({ service, receiver } = started));

const evaluation = (n, projectId = "patient-triage") => ({
  evaluation_id: `eval_${n}`,
  project_id: projectId,
  name: `Daily Evaluation #${n}`,
  status: "completed",
  summary: { total_samples: 500, triage_accuracy: 0.87, safety_score: 0.95, samples_for_review: 23 },
  completed_at: "2024-03-15T10:30:00Z",
  n,
});
const METADATA = { model_version: "triage-v2.4", dataset: "ds_daily_march15" };
const PRODUCER_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

let hook; // the webhook made by the walk-through, reused by the isolation test
let firstDeliveryId;

test("walk-through: a webhook receives every matching event, signed, in order, in the seed's envelope", { timeout: 60_000 }, async () => {
  const { api } = service;
  assert.match(service.apiKey, /^rk_test_[A-Za-z0-9]+$/);
  assert.equal(service.baseUrl, `http://127.0.0.1:${service.port}`);

  const created = await api("POST", "/v1/webhooks", {
    name: "production-notifications",
    url: `${receiver.url}/hooks/x`,
    events: ["evaluation.completed"],
    filters: { projects: ["patient-triage"] },
  });
  assert.equal(created.status, 201, created.text);
  hook = created.json;
  assert.match(hook.id, /^wh_/);
  assert.match(hook.secret, /^whsec_/);
  assert.deepEqual(hook.events, ["evaluation.completed"]);

  const sent = [];
  const traces = [];
  let other;
  for (let n = 1; n <= 5; n++) {
    // The first event joins the producer's W3C trace; the others get one the service starts.
    const headers = n === 1 ? { traceparent: PRODUCER_TRACEPARENT, tracestate: "rojo=00f067aa0ba902b7" } : {};
    const res = await api("POST", "/v1/events", { type: "evaluation.completed", data: evaluation(n), metadata: METADATA }, { headers });
    assert.equal(res.status, 202, res.text);
    traces.push(res.headers.get("traceparent"));
    assert.match(res.json.id, /^evt_[0-9A-Z]{26}$/);
    assert.match(res.json.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    sent.push(res.json);
    if (n === 3) {
      // Filtered out: another project. Sent between matching events, so FIFO would put it before #4.
      const o = await api("POST", "/v1/events", { type: "evaluation.completed", data: evaluation(99, "other"), metadata: METADATA });
      assert.equal(o.status, 202, o.text);
      other = o.json;
    }
  }

  const got = await waitFor(() => receiver.received("x").length >= 5 && receiver.received("x"), {
    timeout: 30_000,
    what: "5 deliveries at the receiver",
  });
  // Anything wrongly matched would have arrived by now (it was sent before #4 and #5).
  await sleep(1_500);
  assert.equal(receiver.received("x").length, 5, "exactly the 5 matching events are delivered, once each");

  const bodies = got.map((g) => JSON.parse(g.body));
  assert.deepEqual(
    bodies.map((b) => b.data.n),
    [1, 2, 3, 4, 5],
    "delivered in the order sent",
  );
  assert.ok(!bodies.some((b) => b.id === other.id), "the event of project 'other' is not delivered");

  got.forEach((g, i) => {
    const h = g.headers;
    const body = bodies[i];
    assert.equal(g.answered, 200);
    assert.deepEqual(Object.keys(body), ["id", "type", "created_at", "data", "metadata"]);
    assert.deepEqual(body, {
      id: sent[i].id,
      type: "evaluation.completed",
      created_at: sent[i].created_at,
      data: evaluation(i + 1),
      metadata: METADATA,
    });
    assert.equal(h["content-type"], "application/json");
    assert.match(h["user-agent"], /^Rubric-Webhooks\/\d+\.\d+\.\d+/);
    assert.equal(h["x-rubric-event-id"], sent[i].id);
    assert.equal(h["x-rubric-event-type"], "evaluation.completed");
    assert.match(h["x-rubric-delivery-id"], /^dlv_[0-9A-Z]{52}$/);
    assert.equal(h["x-rubric-attempt"], "1");
    // Trace context: the event's trace id (the producer's for #1, the one the 202 announced for the
    // others), with a span id of the attempt's own; tracestate only where the producer sent one.
    const [, traceId, spanId] = TRACEPARENT.exec(h.traceparent) ?? [];
    const [, eventTraceId, eventSpanId] = TRACEPARENT.exec(traces[i]) ?? [];
    assert.ok(traceId, `delivery ${i + 1} carries a traceparent: ${h.traceparent}`);
    assert.equal(traceId, eventTraceId, `delivery ${i + 1} continues its event's trace`);
    assert.notEqual(spanId, eventSpanId);
    assert.equal(h.tracestate, i === 0 ? "rojo=00f067aa0ba902b7" : undefined);
    assert.ok(seedVerify(hook.secret, h, g.body), `delivery ${i + 1} verifies the seed's way`);
    // The verifier really checks: a changed body, another secret, an old timestamp all fail.
    assert.equal(seedVerify(hook.secret, h, g.body.replace('"n":', '"n" :')), false);
    assert.equal(seedVerify(`${hook.secret}x`, h, g.body), false);
    assert.equal(seedVerify(hook.secret, h, g.body, Date.now() + 301_000), false);
  });
  firstDeliveryId = got[0].headers["x-rubric-delivery-id"];
  assert.equal(traces[0], PRODUCER_TRACEPARENT);
  assert.equal(TRACEPARENT.exec(got[0].headers.traceparent)[1], "4bf92f3577b34da6a3ce929d0e0e4736");
  // The attempt detail shows exactly the traceparent the receiver got.
  const detail = await waitFor(
    async () => {
      const r = await api("GET", `/v1/deliveries/${firstDeliveryId}`);
      return r.status === 200 && r.json;
    },
    { what: "the first delivery's record" },
  );
  assert.equal(detail.attempt_log[0].traceparent, got[0].headers.traceparent);

  // The API's own record agrees: 5 deliveries, all succeeded, none for the filtered event.
  const list = await waitFor(
    async () => {
      const r = await api("GET", `/v1/webhooks/${hook.id}/deliveries`);
      return r.status === 200 && r.json.data.length === 5 && r.json.data.every((d) => d.status === "succeeded") && r.json;
    },
    { what: "5 succeeded deliveries in the API" },
  );
  assert.deepEqual(
    list.data.map((d) => d.event_id),
    sent.map((e) => e.id),
  );
});

test("account isolation over HTTP: another account sees none of the first one's resources", { timeout: 30_000 }, async () => {
  assert.ok(hook, "needs the walk-through's webhook");
  const { api } = service;

  // Only the operator token (from .dev.vars, written by start.mjs) creates accounts.
  const refused = await api("POST", "/v1/accounts", { name: "intruder", mode: "test" }, { key: "not-the-admin-token" });
  assert.equal(refused.status, 401);
  assert.equal(refused.json.error.code, "unauthorized");
  const noKey = await api("GET", "/v1/webhooks", undefined, { key: null });
  assert.equal(noKey.status, 401);

  const second = await api("POST", "/v1/accounts", { name: "second", mode: "test" }, { key: devVar("ADMIN_TOKEN") });
  assert.equal(second.status, 201, second.text);
  assert.match(second.json.id, /^acct_/);
  assert.match(second.json.api_key, /^rk_test_/);
  const key = second.json.api_key;

  const theirs = await api("GET", `/v1/webhooks/${hook.id}`, undefined, { key });
  assert.equal(theirs.status, 404, theirs.text);
  assert.equal(theirs.json.error.code, "not_found");
  assert.match(theirs.json.error.request_id, /^req_/);
  assert.equal((await api("GET", `/v1/webhooks/${hook.id}/deliveries`, undefined, { key })).status, 404);
  assert.equal((await api("GET", `/v1/deliveries/${firstDeliveryId}`, undefined, { key })).status, 404);
  const list = await api("GET", "/v1/webhooks", undefined, { key });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.data, []);

  // The owner still sees both.
  assert.equal((await api("GET", `/v1/webhooks/${hook.id}`)).status, 200);
  assert.equal((await api("GET", `/v1/deliveries/${firstDeliveryId}`)).status, 200);
});
