// Chaos (d), the stall users saw: a handful of webhooks in every condition (one
// hanging past its timeout, one failing its first 3 attempts, one disabled, one
// filtered, a Slack one whose host does not resolve), then a FIFO webhook whose
// receiver takes 250 ms per request is accepted 40 events, and the whole service
// is killed with SIGKILL while ~30 of them wait in its object. Every one of those
// events was already fanned out, so nothing in D1 is pending: only the object's
// own alarm could bring them back, and an alarm a killed runtime set never fires
// in the next one. The restarted service must deliver all 40 within the 60 s
// bound, in order, and send nothing recorded as delivered before the kill again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { plan, useRestartableService, waitFor } from "../e2e/support/service.mjs";
import { postUntilAccepted } from "./support/ingest.mjs";
import { deliveriesOf } from "./support/api.mjs";
import { audit, successfulReceipts } from "./support/ledger.mjs";

const RECOVERY_BOUND_S = 60;
const SLOW_EVENTS = 40;

const run = useRestartableService();

async function createWebhook(name, body = {}) {
  const res = await run.service.api("POST", "/v1/webhooks", { name, url: `${run.receiver.url}/hooks/${name}`, events: ["evaluation.completed"], ...body });
  assert.equal(res.status, 201, `${name}: ${res.text}`);
  return res.json;
}

const send = (data) => postUntilAccepted({ baseUrl: run.service.baseUrl, apiKey: run.service.apiKey }, "/v1/events", { type: "evaluation.completed", data });

test("a FIFO backlog held only by its object's alarm is delivered within the bound after kill -9, in order", { timeout: 240_000 }, async (t) => {
  // The account's other webhooks, in every condition, each sent a few events.
  await plan(run.receiver, "hang", { hang: true });
  await plan(run.receiver, "flaky", { fail_times: 3 });
  await createWebhook("hang", { timeout_ms: 1000, filters: { projects: ["others"] } });
  await createWebhook("flaky", { filters: { projects: ["others"] }, retry_config: { max_retries: 5, backoff: "fixed", initial_delay_ms: 1000 } });
  const disabled = await createWebhook("disabled", { filters: { projects: ["others"] } });
  assert.equal((await run.service.api("POST", `/v1/webhooks/${disabled.id}/disable`)).status, 200);
  await createWebhook("filtered", { filters: { projects: ["others"], severity: ["critical"] } });
  const slack = await run.service.api("POST", "/v1/webhooks", { name: "slack", url: "http://nowhere.invalid/slack", format: "slack", events: ["evaluation.completed"], filters: { projects: ["others"] } });
  assert.equal(slack.status, 201, slack.text);
  for (let i = 0; i < 5; i++) await send({ project_id: "others", seq: i, severity: i % 2 ? "low" : "critical" });

  // The FIFO webhook behind a slow receiver, and its 40 events, one request each.
  await plan(run.receiver, "slow", { delay_ms: 250 });
  const slow = await createWebhook("slow", { filters: { projects: ["slow"] } });
  const ids = [];
  for (let i = 0; i < SLOW_EVENTS; i++) ids.push((await send({ project_id: "slow", seq: i })).json.id);
  const arrived = () => new Set(successfulReceipts(run.receiver.received("slow"), run.receiver.stats("slow")).map((r) => r.eventId));
  await waitFor(() => arrived().size >= 10, { timeout: 60_000, interval: 20, what: "10 deliveries at the slow receiver" });

  const recordedBefore = (await deliveriesOf(run.service, slow.id)).filter((d) => d.status === "succeeded").map((d) => d.event_id);
  const receiptsBefore = run.receiver.received("slow").length;
  await run.kill();
  const waiting = ids.filter((id) => !arrived().has(id)).length;
  const upAt = await run.start();
  t.diagnostic(`SIGKILL with ${waiting} of ${SLOW_EVENTS} undelivered (${recordedBefore.length} recorded as delivered)`);

  await waitFor(() => ids.every((id) => arrived().has(id)), { timeout: 120_000, interval: 200, what: "all 40 events at the slow receiver" });
  const firstAt = new Map();
  for (const r of successfulReceipts(run.receiver.received("slow"), run.receiver.stats("slow"))) if (!firstAt.has(r.eventId)) firstAt.set(r.eventId, r.at);
  const recovery = Math.max(...ids.map((id) => firstAt.get(id) - upAt)) / 1000;
  console.log(`recovery: the last of the 40 arrived ${recovery.toFixed(1)} s after the restarted service answered`);

  const result = audit(ids, successfulReceipts(run.receiver.received("slow"), run.receiver.stats("slow")));
  t.diagnostic(`${result.delivered} delivered, ${result.duplicates} sent again (records lost with the runtime)`);
  assert.deepEqual(result.lost, []);
  assert.deepEqual(result.outOfOrder, [], "FIFO order holds through the recovery");
  const again = new Set(run.receiver.received("slow").slice(receiptsBefore).map((r) => r.headers["x-rubric-event-id"]));
  assert.deepEqual(recordedBefore.filter((id) => again.has(id)), [], "nothing recorded as delivered before the kill is sent again");
  assert.ok(recovery <= RECOVERY_BOUND_S, `recovery took ${recovery.toFixed(1)} s; the bound is ${RECOVERY_BOUND_S} s`);
});
