// `rubric listen --forward-to` end to end: the built CLI against `npm start`'s service
// (wrangler dev) and a real receiver on 127.0.0.1. A delivery forwarded by the CLI must
// verify the seed's way and with the standardwebhooks package; FIFO order and retries
// hold across a SIGKILL of the CLI and a restart (nothing lost, nothing reordered);
// another account cannot attach; Ctrl-C disables the listen webhook; the producer's trace id
// reaches the receiver.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { Webhook } from "standardwebhooks";
import WebSocket from "ws";
import { verifyWebhook } from "../../sdk/typescript/dist/index.js";
import { devVar, plan, ROOT, seedVerify, useService, waitFor } from "../e2e/support/service.mjs";

const BIN = path.join(ROOT, "sdk", "typescript", "bin", "rubric.mjs");

let service;
let receiver;
useService({}, (started) => ({ service, receiver } = started));

const envFor = (key = service.apiKey) => ({ ...process.env, RUBRIC_BASE_URL: service.baseUrl, RUBRIC_API_KEY: key, NO_COLOR: "1" });

/** Runs the CLI to its end; resolves to {code, stdout, stderr}. */
function rubric(args, key) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: envFor(key), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `rubric listen … --json` and waits for it to attach; its NDJSON lines are collected in `lines`. */
async function listen(args) {
  const child = spawn(process.execPath, [BIN, "listen", "--json", ...args], { env: envFor(), stdio: ["ignore", "pipe", "pipe"] });
  const run = { child, lines: [], stderr: "", exited: null };
  let partial = "";
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop();
    for (const p of parts) if (p.trim()) run.lines.push(JSON.parse(p));
  });
  child.stderr.setEncoding("utf8").on("data", (c) => (run.stderr += c));
  run.done = new Promise((resolve) => child.on("close", (code, signal) => resolve((run.exited = { code, signal }))));
  await waitFor(() => /Ready: forwarding/.test(run.stderr) || run.exited, { timeout: 30_000, what: "rubric listen to attach" });
  assert.equal(run.exited, null, `rubric listen exited: ${run.stderr}`);
  return run;
}

const listenHook = async (name) => (await service.api("GET", "/v1/webhooks?transport=listen")).json.data.find((w) => w.name === name);
const sendEvent = async (type, data) => {
  const res = await service.api("POST", "/v1/events", { type, data });
  assert.equal(res.status, 202, res.text);
  return res.json;
};
const successes = (name) => receiver.received(name).filter((d) => d.answered === 200);

test("forwards a delivery with its exact headers and bytes: both signatures verify, and the local answer is the attempt record", { timeout: 90_000 }, async () => {
  const name = "laptop-a";
  const forwardTo = `${receiver.url}/hooks/${name}`;
  const printed = await rubric(["listen", "--forward-to", forwardTo, "--name", name, "--events", "evaluation.completed", "--print-secret", "--json"]);
  assert.equal(printed.code, 0, printed.stderr);
  const { webhook_id: webhookId, secret } = JSON.parse(printed.stdout);
  assert.match(secret, /^whsec_/);
  const hook = await listenHook(name);
  assert.deepEqual([hook.id, hook.transport, hook.url, hook.events], [webhookId, "listen", forwardTo, ["evaluation.completed"]]);

  const run = await listen(["--forward-to", forwardTo, "--name", name]);
  // The producer's trace: the delivery continues it (same trace id, a span id of its own).
  const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const producer = `00-${trace}-00f067aa0ba902b7-01`;
  const res = await service.api("POST", "/v1/events", { type: "evaluation.completed", data: { evaluation_id: "eval_1", score: 0.93 } }, { headers: { traceparent: producer, tracestate: "vendor=abc" } });
  assert.equal(res.status, 202, res.text);
  const event = res.json;
  const [got] = await waitFor(() => successes(name).length >= 1 && successes(name), { what: "the forwarded delivery" });
  assert.equal(JSON.parse(got.body).id, event.id);
  assert.equal(got.headers["x-rubric-event-id"], event.id);
  assert.equal(seedVerify(secret, got.headers, got.body), true, "the seed's verify_webhook accepts it");
  assert.deepEqual(await verifyWebhook(got.body, got.headers, secret), JSON.parse(got.body), "the SDK's verifyWebhook accepts it");
  assert.deepEqual(new Webhook(secret).verify(got.body, got.headers), JSON.parse(got.body), "standardwebhooks accepts it");
  const [, traceId, spanId] = got.headers.traceparent.split("-");
  assert.equal(traceId, trace, "the receiver sees the producer's trace id");
  assert.notEqual(spanId, "00f067aa0ba902b7", "with a span id of the delivery's own");
  assert.equal(got.headers.tracestate, "vendor=abc");

  const line = await waitFor(() => run.lines.find((l) => l.event_id === event.id), { what: "the CLI's line" });
  assert.deepEqual([line.status, line.event_type, line.attempt, typeof line.latency_ms], [200, "evaluation.completed", 1, "number"]);
  const delivery = await waitFor(
    async () => {
      const d = (await service.api("GET", `/v1/deliveries/${got.headers["x-rubric-delivery-id"]}`)).json;
      return d.status === "succeeded" && d;
    },
    { what: "the attempt record" },
  );
  assert.deepEqual([delivery.response_code, delivery.attempt_log[0].response_body], [200, "ok"]);
  assert.equal(delivery.attempt_log[0].traceparent, got.headers.traceparent, "the attempt records the traceparent the receiver got");

  // Ctrl-C: the CLI says goodbye (close 1000) and exits 0; the service disables the listen webhook.
  run.child.kill("SIGINT");
  assert.deepEqual(await run.done, { code: 0, signal: null });
  const stopped = await waitFor(async () => {
    const w = (await service.api("GET", `/v1/webhooks/${webhookId}`)).json;
    return w.status === "disabled" && w;
  });
  assert.equal(stopped.disabled_reason, "rubric listen stopped");
});

test("FIFO order and retries hold across a SIGKILL of the CLI and a restart: nothing lost, nothing reordered", { timeout: 120_000 }, async () => {
  const name = "laptop-b";
  const forwardTo = `${receiver.url}/hooks/${name}`;
  // The first delivery is answered 500 once: the object retries it on the webhook's schedule, before the next.
  await plan(receiver, name, { fail_times: 1, fail_status: 500, delay_ms: 150 });
  const first = await listen(["--forward-to", forwardTo, "--name", name, "--events", "review.*"]);
  const hook = await listenHook(name);
  const patched = await service.api("PATCH", `/v1/webhooks/${hook.id}`, { retry_config: { max_retries: 10, backoff: "fixed", initial_delay_ms: 300 } });
  assert.equal(patched.status, 200, patched.text);

  const sent = [];
  for (let i = 0; i < 6; i++) sent.push((await sendEvent("review.assigned", { i })).id);
  await waitFor(() => successes(name).length >= 2, { what: "two deliveries before the kill" });
  first.child.kill("SIGKILL");
  await first.done;
  // Accepted while no CLI is attached: held by the object, in order.
  for (let i = 6; i < 10; i++) sent.push((await sendEvent("review.assigned", { i })).id);

  const second = await listen(["--forward-to", forwardTo, "--name", name, "--events", "review.*"]);
  assert.equal((await listenHook(name)).id, hook.id, "the restart takes up the same webhook");
  await waitFor(() => new Set(successes(name).map((d) => JSON.parse(d.body).id)).size === sent.length, { timeout: 60_000, what: "every event delivered" });

  const firstSuccess = [];
  for (const d of successes(name)) {
    const id = JSON.parse(d.body).id;
    if (!firstSuccess.includes(id)) firstSuccess.push(id);
  }
  assert.deepEqual(firstSuccess, sent, "each event's first success comes in the order the events were accepted");
  const all = receiver.received(name);
  assert.equal(all[0].answered, 500, "the first attempt failed as planned");
  assert.equal(all[1].headers["x-rubric-delivery-id"], all[0].headers["x-rubric-delivery-id"], "and was retried before anything else");
  assert.equal(all[1].headers["x-rubric-attempt"], "2");
  // A kill between the local answer and its report can send one delivery again (at least once); never more than that one.
  assert.ok(successes(name).length <= sent.length + 1, `${successes(name).length} successes for ${sent.length} events`);
  second.child.kill("SIGINT");
  await second.done;
});

test("another account's key cannot attach to the listen webhook; a key without webhooks:write cannot either", { timeout: 60_000 }, async () => {
  const name = "laptop-c";
  const printed = await rubric(["listen", "--forward-to", `${receiver.url}/hooks/${name}`, "--name", name, "--print-secret", "--json"]);
  const { webhook_id: webhookId } = JSON.parse(printed.stdout);
  const admin = { Authorization: `Bearer ${devVar("ADMIN_TOKEN")}`, "Content-Type": "application/json" };
  const other = await (await fetch(`${service.baseUrl}/v1/accounts`, { method: "POST", headers: admin, body: JSON.stringify({ name: "intruder", mode: "test" }) })).json();
  const reader = (await service.api("POST", "/v1/api_keys", { name: "reader", scopes: ["webhooks:read"], mode: "test" })).json.key;
  const attach = (key) =>
    new Promise((resolve) => {
      const url = `${service.baseUrl.replace(/^http/, "ws")}/v1/webhooks/${webhookId}/listen`;
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${key}` } });
      ws.on("unexpected-response", (_req, res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, code: JSON.parse(text).error.code }));
      });
      ws.on("open", () => {
        ws.close();
        resolve({ status: 101 });
      });
    });
  assert.deepEqual(await attach(other.api_key), { status: 404, code: "not_found" });
  assert.deepEqual(await attach(reader), { status: 403, code: "forbidden" });
  // Through the CLI, the other account's key finds no such webhook to take up: it would make its own.
  const hooks = (await service.api("GET", "/v1/webhooks?transport=listen", undefined, { key: other.api_key })).json.data;
  assert.deepEqual(hooks, []);
});
