// webhooks.followDeliveries over a real server that pages with cursors: the
// first poll is the baseline (except what finished after following started),
// later polls report each delivery whose attempts or status changed — once —
// wherever it sits in the list, and every poll walks the window's pages.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { Rubric } from "../../dist/index.js";
import { startFakeApi } from "../support/fake-api.mjs";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const delivery = (n, fields = {}) => ({
  id: `dlv_${String(n).padStart(3, "0")}`,
  event_id: `evt_${n}`,
  webhook_id: "wh_1",
  event_type: "evaluation.completed",
  status: "succeeded",
  success: true,
  attempts: 1,
  response_code: 200,
  last_error: null,
  next_attempt_at: null,
  created_at: new Date(T0 + n * 1000).toISOString(),
  completed_at: new Date(T0 - 60_000).toISOString(),
  ...fields,
});

/** The deliveries the fake API holds now, in event order; the fake pages by 2. */
let rows = [];
let api;
let client;
before(async () => {
  api = await startFakeApi((req) => {
    const since = Date.parse(req.query.since);
    const visible = rows.filter((d) => Date.parse(d.created_at) >= since);
    const start = req.query.cursor ? visible.findIndex((d) => d.id === req.query.cursor) + 1 : 0;
    const data = visible.slice(start, start + 2);
    return { json: { data, next_cursor: start + 2 < visible.length ? data.at(-1).id : null } };
  });
  client = new Rubric({ apiKey: "rk_test_unit", baseUrl: api.url });
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
});

const ids = (list) => list.map((d) => `${d.id}#${d.attempts}`);

test("the first poll is the baseline; then each new attempt is reported once, wherever it is in the list", async () => {
  let now = T0 + 10_000;
  rows = [delivery(1), delivery(2), delivery(3, { completed_at: new Date(T0 + 9_500).toISOString() })];
  const follower = client.webhooks.followDeliveries("wh_1", { now: () => now, startedAt: T0 + 9_000, windowMs: 60_000 });
  // dlv_003 finished after following started: an attempt made while the first poll was on its way.
  assert.deepEqual(ids(await follower.poll()), ["dlv_003#1"]);
  assert.deepEqual(await follower.poll(), []);

  // A retry of the first delivery, and a first attempt of an event between two seen ones.
  rows = [delivery(1, { attempts: 2, status: "pending" }), delivery(2), delivery(2.5), delivery(3)];
  now += 1000;
  assert.deepEqual(ids(await follower.poll()), ["dlv_001#2", "dlv_2.5#1"]);
  assert.deepEqual(await follower.poll(), [], "nothing is reported twice");
  // Same attempt count, new status (cancelled) is a change too.
  rows[0] = delivery(1, { attempts: 2, status: "cancelled" });
  assert.deepEqual(ids(await follower.poll()), ["dlv_001#2"]);
});

test("every poll asks for the window (since = now - windowMs) and follows next_cursor through it", async () => {
  const now = T0 + 100_000;
  rows = [1, 2, 3, 4, 5].map((n) => delivery(n)); // dlv_001 is older than the window
  const follower = client.webhooks.followDeliveries("wh_1", { now: () => now, windowMs: 98_000 });
  await follower.poll();
  const since = new Date(T0 + 2_000).toISOString();
  assert.deepEqual(
    api.requests.map((r) => [r.path, r.query]),
    [
      ["/v1/webhooks/wh_1/deliveries", { since, limit: "250" }],
      ["/v1/webhooks/wh_1/deliveries", { since, limit: "250", cursor: "dlv_003" }],
    ],
  );
});

test("includeExisting reports the first poll too; iterating stops when the signal aborts", async () => {
  rows = [delivery(1), delivery(2)];
  const controller = new AbortController();
  const seen = [];
  const follower = client.webhooks.followDeliveries("wh_1", { includeExisting: true, intervalMs: 5, signal: controller.signal, now: () => T0 + 10_000 });
  for await (const d of follower) {
    seen.push(d.id);
    if (seen.length === 2) setTimeout(() => controller.abort(), 30);
  }
  assert.deepEqual(seen, ["dlv_001", "dlv_002"]);
  assert.ok(api.requests.length >= 2, "kept polling until aborted");
});

test("windowMs must be positive", () => {
  assert.throws(() => client.webhooks.followDeliveries("wh_1", { windowMs: 0 }), RangeError);
  assert.throws(() => client.webhooks.followDeliveries("", {}), TypeError);
});
