// "Accepted means delivered" across kill -9 of the whole local runtime (start.mjs,
// wrangler, workerd): events answered 202 before the kill are all delivered after
// a restart on the same state, in FIFO order. Duplicates are allowed
// (at-least-once) and counted; losses are not.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { devVar, plan, portIsFree, seedVerify, useRestartableService, waitFor } from "./support/service.mjs";

const ARGS = ["--var", "SWEEP_AFTER_SECONDS:2", "--var", "SWEEP_INTERVAL_SECONDS:1"];
const EVENTS = 20;

const run = useRestartableService({ args: ARGS });

/** Restarts start.mjs on the same state dir and port; the development key must be reused. */
async function restart(t) {
  const adminToken = devVar("ADMIN_TOKEN");
  const started = Date.now();
  await run.start();
  t.diagnostic(`restarted in ${Date.now() - started} ms`);
  assert.equal(run.service.apiKey, run.firstApiKey, "a restart reuses the development API key");
  assert.equal(devVar("ADMIN_TOKEN"), adminToken, "a restart keeps .dev.vars");
}

/** Sends `n` events for `project` one after another; returns the accepted ids in send order. */
async function sendEvents(project, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const res = await run.service.api("POST", "/v1/events", { type: "evaluation.completed", data: { project_id: project, i } });
    assert.equal(res.status, 202, res.text);
    ids.push(res.json.id);
  }
  return ids;
}

/**
 * For receiver `name`: waits until every id got a 200, then checks signatures, no
 * loss and FIFO order of first successful receipt. Returns the duplicate count.
 */
async function expectAllDelivered(t, name, ids, secret, timeout = 60_000) {
  const okIds = () => new Set(run.receiver.received(name).filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).id));
  await waitFor(() => ids.every((id) => okIds().has(id)), {
    timeout,
    interval: 200,
    what: `all ${ids.length} events to reach '${name}' with a 200 (have ${okIds().size})`,
  }).catch((err) => {
    err.message += `\n--- service output (tail) ---\n${run.service.output().slice(-4000)}`;
    throw err;
  });
  const all = run.receiver.received(name);
  for (const r of all) assert.ok(seedVerify(secret, r.headers, r.body), "every receipt verifies the seed's way");
  const succeeded = all.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).id);
  const firstOrder = [...new Set(succeeded)];
  const lost = ids.filter((id) => !firstOrder.includes(id));
  const duplicates = succeeded.length - firstOrder.length;
  t.diagnostic(`'${name}': ${all.length} receipts, ${succeeded.length} answered 200, ${duplicates} duplicate(s), ${lost.length} lost`);
  assert.deepEqual(lost, [], "no accepted event is lost");
  assert.deepEqual(firstOrder, ids, "first successful receipts are in send order (FIFO)");
  return duplicates;
}

async function newWebhook(name, project, retry_config) {
  const res = await run.service.api("POST", "/v1/webhooks", {
    name,
    url: `${run.receiver.url}/hooks/${name}`,
    events: ["evaluation.completed"],
    filters: { projects: [project] },
    ...(retry_config ? { retry_config } : {}),
  });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

test("kill -9 while the receiver is down: all 20 accepted events are delivered after restart, in order", { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(path.join(run.stateDir, "dev-account.json")), "start.mjs keeps the dev key in the state dir");
  assert.equal(JSON.parse(readFileSync(path.join(run.stateDir, "dev-account.json"), "utf8")).api_key, run.firstApiKey);

  await plan(run.receiver, "down", { status: 503 });
  const hook = await newWebhook("down", "crash-down", { max_retries: 10, backoff: "fixed", initial_delay_ms: 1000 });
  const ids = await sendEvents("crash-down", EVENTS);
  await run.kill();
  assert.ok(await portIsFree(run.port), "nothing listens on the port after kill -9");

  const seenBefore = run.receiver.received("down");
  assert.ok(seenBefore.every((r) => r.answered === 503));
  t.diagnostic(`before the kill: ${seenBefore.length} attempt(s), all answered 503`);

  await plan(run.receiver, "down", {}); // back to 200 OK
  await restart(t);
  await expectAllDelivered(t, "down", ids, hook.secret);
});

test("kill -9 right after a burst to a healthy receiver: events still in the in-memory queue are delivered after restart", { timeout: 120_000 }, async (t) => {
  const hook = await newWebhook("burst", "crash-burst");
  const ids = await sendEvents("crash-burst", EVENTS);
  const lastAccepted = Date.now();
  const killedAt = await run.kill();
  const seenBefore = new Set(run.receiver.received("burst").map((r) => JSON.parse(r.body).id));
  t.diagnostic(`kill -9 sent ${killedAt - lastAccepted} ms after the last 202; ${seenBefore.size}/${EVENTS} delivered before it`);
  assert.ok(killedAt - lastAccepted < 50, "the kill follows the last 202 within 50 ms");
  assert.ok(seenBefore.size < EVENTS, "precondition: some events were not delivered yet when the runtime died");

  const recoveredAt = Date.now();
  await restart(t);
  await expectAllDelivered(t, "burst", ids, hook.secret);
  t.diagnostic(`recovered ${EVENTS - seenBefore.size} event(s) in ${Date.now() - recoveredAt} ms after restart`);
  const swept = [...run.service.output().matchAll(/outbox sweeper re-enqueued (\d+)/g)].map((m) => Number(m[1]));
  t.diagnostic(`sweeper re-enqueues after restart: ${swept.join(", ") || "none logged"}`);
});

test("a graceful stop (SIGTERM to start.mjs) leaves no wrangler or workerd behind", { timeout: 30_000 }, async () => {
  const { exit, survivors } = await run.service.stop();
  assert.deepEqual(survivors, [], "no process of the service survives SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(await portIsFree(run.port), "the port is free again");
  run.service = null;
});
