// End-to-end: the TypeScript SDK against `npm start`'s service (wrangler dev on
// a free port, private state) and a real receiver that verifies every delivery
// with the SDK's own verifyWebhook. The seed's configuration, Slack, testing and
// management flows, plus rotation, idempotent sends and typed errors.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { AuthenticationError, NotFoundError, Rubric, ValidationError } from "../dist/index.js";
import { SEED_DATA, SEED_METADATA, SEED_SLACK_BODY, SEED_SLACK_TEMPLATES } from "../../../test/support/seed.mjs";
import { removeDir, sleep, startService, waitFor } from "../../../test/e2e/support/service.mjs";
import { startVerifyingReceiver } from "./support/verifying-receiver.mjs";

const ARGS = ["--var", "SWEEP_AFTER_SECONDS:2", "--var", "SWEEP_INTERVAL_SECONDS:1"];
const SEED_RETRY = { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 };
const SEED_FILTERS = { projects: ["patient-triage", "symptom-checker"], severity: ["high", "critical"] };

let service;
let receiver;
let client;

before(async () => {
  receiver = await startVerifyingReceiver();
  // Its own inspector port: wrangler's default (9229) collides with any other wrangler dev on the machine.
  service = await startService({ args: ARGS });
  client = new Rubric({ apiKey: service.apiKey, baseUrl: service.baseUrl });
});

after(async () => {
  await service?.stop();
  await receiver?.close();
  removeDir(service?.stateDir);
});

/** Waits until `name` has received `n` deliveries; returns them. */
const deliveriesAt = (name, n, timeout = 20_000) =>
  waitFor(() => receiver.received(name).length >= n && receiver.received(name), { timeout, what: `${n} deliveries at ${name}` });

/** A webhook made with the SDK whose deliveries the receiver verifies with its secret. */
async function webhook(name, params = {}) {
  const created = await client.webhooks.create({ name, url: receiver.urlFor(name), events: ["evaluation.completed"], ...params });
  receiver.expect(name, created.secret);
  return created;
}

test("configuration: the seed's create with filters and retry_config; matching events arrive signed and verified", { timeout: 60_000 }, async () => {
  const hook = await client.webhooks.create({
    name: "production-notifications",
    url: receiver.urlFor("config"),
    events: ["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
    secret: "whsec_your_signing_secret",
    filters: SEED_FILTERS,
    retry_config: SEED_RETRY,
  });
  receiver.expect("config", "whsec_your_signing_secret");
  assert.match(hook.id, /^wh_/);
  assert.equal(hook.secret, "whsec_your_signing_secret");
  assert.deepEqual(hook.filters, SEED_FILTERS);
  assert.deepEqual(hook.retry_config, SEED_RETRY);
  assert.equal(hook.status, "active");

  const matching = await client.events.send({ type: "evaluation.completed", data: SEED_DATA, metadata: SEED_METADATA, severity: "high" });
  assert.match(matching.id, /^evt_/);
  await client.events.send({ type: "evaluation.completed", data: { ...SEED_DATA, project_id: "other" }, severity: "high" });
  await client.events.send({ type: "evaluation.completed", data: SEED_DATA, severity: "low" });

  const [got] = await deliveriesAt("config", 1);
  await sleep(1_500); // the two filtered-out events would have arrived by now
  assert.equal(receiver.received("config").length, 1, "only the event passing both filters is delivered");
  assert.equal(got.verified, true, `verified (${got.reason})`);
  assert.equal(got.status, 200);
  // The seed's secret is not base64: only X-Rubric-Signature is sent, and it verified.
  assert.match(got.headers["x-rubric-signature"], /^sha256=[0-9a-f]{64}$/);
  assert.equal(got.headers["webhook-signature"], undefined);
  assert.deepEqual(got.event, { id: matching.id, type: "evaluation.completed", created_at: matching.created_at, data: SEED_DATA, metadata: SEED_METADATA });
});

test("events.send: one Idempotency-Key, one event, one delivery", { timeout: 60_000 }, async () => {
  const hook = await webhook("idem");
  const first = await client.events.send({ type: "evaluation.completed", data: { evaluation_id: "eval_idem" } }, { idempotencyKey: "eval_idem-completed" });
  const again = await client.events.send({ type: "evaluation.completed", data: { evaluation_id: "eval_idem" } }, { idempotencyKey: "eval_idem-completed" });
  assert.equal(again.id, first.id);
  const [got] = await deliveriesAt("idem", 1);
  await sleep(1_000);
  assert.equal(receiver.received("idem").length, 1);
  assert.equal(got.verified, true);
  // A generated secret is base64 after whsec_: both schemes are present.
  assert.match(got.headers["webhook-signature"], /^v1,/);
  assert.equal(got.headers["webhook-id"], first.id);

  const batch = await client.events.sendBatch([
    { type: "evaluation.completed", data: { evaluation_id: "b1" }, idempotency_key: "b1" },
    { type: "evaluation.completed", data: { evaluation_id: "b2" } },
  ]);
  assert.deepEqual(batch.data.map((d) => [d.index, d.status]), [[0, "accepted"], [1, "accepted"]]);
  const replayed = await client.events.sendBatch([{ type: "evaluation.completed", data: { evaluation_id: "b1" }, idempotency_key: "b1" }]);
  assert.deepEqual(replayed.data.map((d) => [d.id, d.status]), [[batch.data[0].id, "duplicate"]]);
  const all = await deliveriesAt("idem", 3);
  assert.ok(all.every((d) => d.verified));

  const event = await client.events.get(first.id);
  assert.equal(event.id, first.id);
  // The earlier "config" webhook matches too: its filters do not exclude events without project or severity.
  const ours = event.deliveries.filter((d) => d.webhook_id === hook.id);
  assert.equal(ours.length, 1);
  const delivery = await client.deliveries.get(ours[0].id);
  assert.equal(delivery.status, "succeeded");
  assert.equal(delivery.attempt_log[0].response_code, 200);
  assert.equal(delivery.attempt_log[0].trigger, "scheduled");
});

test("Slack: the seed's format and templates render exactly and the body verifies", { timeout: 60_000 }, async () => {
  const slack = await client.webhooks.create({
    name: "slack-notifications",
    url: receiver.urlFor("slack"),
    events: ["evaluation.completed", "alert.triggered"],
    format: "slack",
    templates: SEED_SLACK_TEMPLATES,
  });
  receiver.expect("slack", slack.secret);
  assert.equal(slack.format, "slack");
  assert.deepEqual(slack.templates, SEED_SLACK_TEMPLATES);

  const preview = await client.webhooks.preview(slack.id, { event_type: "evaluation.completed", payload: SEED_DATA });
  assert.deepEqual(preview.body, SEED_SLACK_BODY);

  const result = await client.webhooks.test({ webhook_id: slack.id, event_type: "evaluation.completed", payload: SEED_DATA });
  assert.equal(result.status, "success");
  const [got] = receiver.received("slack");
  assert.equal(got.verified, true, `verified (${got.reason})`);
  assert.equal(got.body, JSON.stringify(SEED_SLACK_BODY));
  assert.deepEqual(got.event, SEED_SLACK_BODY);
});

test("testing: webhooks.test reports the endpoint's answer; the receiver verified it", { timeout: 60_000 }, async () => {
  const hook = await webhook("testing");
  const result = await client.webhooks.test({
    webhook_id: hook.id,
    event_type: "evaluation.completed",
    payload: { evaluation_id: "eval_test", summary: { triage_accuracy: 0.85, safety_score: 0.92 } },
  });
  assert.equal(result.status, "success");
  assert.equal(result.response_code, 200);
  assert.equal(result.response_body, JSON.stringify({ received: true, name: "testing" }));
  assert.equal(result.error, null);
  assert.match(result.delivery_id, /^dlv_/);
  const [got] = receiver.received("testing");
  assert.equal(got.verified, true);
  assert.equal(got.event.id, result.event_id);
  assert.equal(got.event.metadata.test, true);

  // A refusing endpoint is reported, not thrown.
  receiver.plan("testing", 503);
  const failed = await client.webhooks.test(hook.id, { event_type: "evaluation.completed", payload: {} });
  assert.deepEqual([failed.status, failed.response_code], ["failed", 503]);
});

test("management: list, deliveries, retryFailed, disable, enable, delete", { timeout: 90_000 }, async () => {
  const hook = await webhook("manage", { retry_config: { max_retries: 0 } });
  const since = new Date(Date.now() - 60_000).toISOString();

  // list: every webhook made so far, oldest first, across pages (limit 1 → one)
  const all = await client.webhooks.list().toArray();
  assert.ok(all.length >= 5, `${all.length} webhooks`);
  assert.equal(all.at(-1).id, hook.id);
  assert.ok(all.every((w) => w.secret === undefined), "lists carry no secrets");
  assert.equal((await client.webhooks.list({ limit: 1 }).toArray()).length, 1);

  // Two events fail (the endpoint answers 500, no retries), one succeeds.
  receiver.plan("manage", 500);
  const e1 = await client.events.send({ type: "evaluation.completed", data: { n: 1 } });
  const e2 = await client.events.send({ type: "evaluation.completed", data: { n: 2 } });
  await deliveriesAt("manage", 2);
  await waitFor(async () => (await client.webhooks.deliveries(hook.id, { status: "failed" }).toArray()).length === 2, { what: "2 failed deliveries" });
  receiver.plan("manage", 200);
  const e3 = await client.events.send({ type: "evaluation.completed", data: { n: 3 } });
  await deliveriesAt("manage", 3);

  const deliveries = await waitFor(async () => {
    const d = await client.webhooks.deliveries({ webhook_id: hook.id, limit: 100 }).toArray();
    return d.length === 3 && d.every((x) => x.status !== "pending") && d;
  }, { what: "3 finished deliveries" });
  assert.deepEqual(deliveries.map((d) => [d.event_id, d.success, d.response_code]), [[e1.id, false, 500], [e2.id, false, 500], [e3.id, true, 200]]);
  assert.equal((await client.webhooks.deliveries(hook.id, { limit: 2 }).toArray()).length, 2);

  // retryFailed re-sends both failures, in order, and they now succeed.
  const retried = await client.webhooks.retryFailed({ webhook_id: hook.id, since });
  assert.deepEqual(retried, { queued: 2, has_more: false });
  const got = await deliveriesAt("manage", 5);
  assert.deepEqual(got.slice(3).map((d) => [d.event.id, d.verified, d.headers["x-rubric-attempt"]]), [[e1.id, true, "2"], [e2.id, true, "2"]]);
  await waitFor(async () => (await client.webhooks.deliveries(hook.id).toArray()).every((d) => d.success), { what: "every delivery succeeded" });
  const stats = await client.webhooks.stats(hook.id, { window: "1h" });
  assert.equal(stats.deliveries.succeeded, 3);

  // disable: no new events; enable: they flow again.
  const disabled = await client.webhooks.disable(hook.id);
  assert.equal(disabled.status, "disabled");
  // Not just the answer: the webhook really is disabled.
  const stored = await client.webhooks.get(hook.id);
  assert.deepEqual([stored.status, stored.disabled_reason], ["disabled", "disabled by API"]);
  await client.events.send({ type: "evaluation.completed", data: { n: 4 } });
  await sleep(2_000);
  assert.equal(receiver.received("manage").length, 5, "a disabled webhook gets nothing");
  assert.equal((await client.webhooks.enable(hook.id)).status, "active");
  assert.equal((await client.webhooks.get(hook.id)).status, "active");

  // delete, then it is gone: NotFoundError with the wire code and a request id.
  const deleted = await client.webhooks.delete(hook.id);
  assert.deepEqual([deleted.id, deleted.deleted], [hook.id, true]);
  await assert.rejects(
    () => client.webhooks.get(hook.id),
    (err) => err instanceof NotFoundError && err.status === 404 && err.code === "not_found" && /^req_/.test(err.requestId ?? ""),
  );
});

test("rotation: during the grace period the old secret still verifies (webhook-signature), the new one too", { timeout: 60_000 }, async () => {
  const hook = await webhook("rotate");
  const rotated = await client.webhooks.rotateSecret(hook.id, { grace_period_seconds: 3600 });
  assert.notEqual(rotated.secret, hook.secret);
  assert.ok(rotated.previous_secret_expires_at);
  receiver.expect("rotate", hook.secret); // a receiver not yet updated
  await client.events.send({ type: "evaluation.completed", data: { n: 1 } });
  const [oldOnly] = await deliveriesAt("rotate", 1);
  assert.equal(oldOnly.verified, true, `verified with the old secret (${oldOnly.reason})`);
  assert.equal(oldOnly.headers["webhook-signature"].split(" ").length, 2);
  receiver.expect("rotate", rotated.secret);
  await client.events.send({ type: "evaluation.completed", data: { n: 2 } });
  const got = await deliveriesAt("rotate", 2);
  assert.equal(got[1].verified, true);
  // A wrong secret is refused by the receiver (401), and the service records the failure.
  receiver.expect("rotate", "whsec_" + Buffer.alloc(24, 9).toString("base64"));
  const refused = await client.webhooks.test(hook.id, { event_type: "evaluation.completed", payload: {} });
  assert.deepEqual([refused.status, refused.response_code], ["failed", 401]);
  assert.equal(receiver.received("rotate").at(-1).reason, "signature_mismatch");
});

test("errors and event types over the wire", { timeout: 30_000 }, async () => {
  await assert.rejects(
    () => client.webhooks.create({ name: "bad", url: "not a url", events: [] }),
    (err) => err instanceof ValidationError && err.status === 422 && err.code === "validation_failed" && err.details.some((d) => d.field === "events") && /^req_/.test(err.requestId),
  );
  const stranger = new Rubric({ apiKey: "rk_test_00000000000000000000000000000000abcdef", baseUrl: service.baseUrl });
  await assert.rejects(() => stranger.webhooks.list().toArray(), (err) => err instanceof AuthenticationError && err.status === 401 && err.code === "unauthorized");

  const types = await client.eventTypes.list().toArray();
  assert.ok(types.some((t) => t.name === "safety.critical" && t.builtin));
  const custom = await client.eventTypes.create({ name: "dataset.refreshed", description: "A dataset was refreshed", schema: { type: "object", required: ["dataset_id"], properties: { dataset_id: { type: "string" } } } });
  assert.equal(custom.name, "dataset.refreshed");
  await assert.rejects(
    () => client.events.send({ type: "dataset.refreshed", data: {} }),
    (err) => err instanceof ValidationError && err.details.some((d) => d.field.startsWith("data")),
  );
  const listed = await client.events.list({ type: "evaluation.completed", limit: 3 }).toArray();
  assert.equal(listed.length, 3);
});

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../examples/typescript");

test("examples: receiver.ts verifies, deduplicates and answers; manage-webhooks.ts runs the seed's flows", { timeout: 60_000 }, async () => {
  for (const file of ["dist/receiver.js", "dist/manage-webhooks.js", "node_modules/@rubric/sdk/package.json"]) {
    assert.ok(existsSync(path.join(EXAMPLES, file)), `examples/typescript/${file} is missing: run \`npm ci --prefix examples/typescript --offline && npx tsc -p examples/typescript\``);
  }
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const child = spawn(process.execPath, ["dist/receiver.js"], { cwd: EXAMPLES, env: { ...process.env, RUBRIC_WEBHOOK_SECRET: secret, PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (c) => (out += c));
  const lines = () => out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  try {
    const { listening } = await waitFor(() => lines().find((l) => l.listening), { what: "the example receiver to listen" });
    const env = { ...process.env, RUBRIC_API_KEY: service.apiKey, RUBRIC_BASE_URL: service.baseUrl, RUBRIC_WEBHOOK_SECRET: secret };
    const { stdout } = await promisify(execFile)(process.execPath, ["dist/manage-webhooks.js", listening, "--cleanup"], { cwd: EXAMPLES, env, timeout: 30_000 });
    const id = /^Webhook created: (wh_\w+)$/m.exec(stdout)?.[1];
    assert.ok(id, stdout);
    for (const line of [`Signing secret: ${secret}`, "Test result: success", "Response code: 200", 'Response body: {"status":"ok"}', `production-notifications: ${listening} (active)`, "Retry failed: 0 queued", `Deleted ${id}`]) {
      assert.ok(stdout.split("\n").includes(line), `manage-webhooks printed ${JSON.stringify(line)}:\n${stdout}`);
    }
    assert.match(stdout, /^OK evaluation\.completed - 200$/m);
    const received = await waitFor(() => lines().find((l) => l.received), { what: "the test event at the example receiver" });
    assert.deepEqual([received.type, received.duplicate, received.attempt], ["evaluation.completed", false, 1]);

    // Deduplication and refusal, with deliveries signed here the way Rubric signs them.
    const body = JSON.stringify({ id: "evt_dup", type: "sample.scored", created_at: "2024-03-15T10:30:00Z", data: {}, metadata: {} });
    const ts = Math.floor(Date.now() / 1000);
    const headers = { "content-type": "application/json", "x-rubric-timestamp": String(ts), "x-rubric-event-id": "evt_dup", "x-rubric-signature": `sha256=${createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex")}` };
    const post = (b, h = headers) => fetch(listening, { method: "POST", headers: h, body: b });
    assert.deepEqual([(await post(body)).status, (await post(body)).status, (await post(body.replace("sample", "simple"))).status], [200, 200, 401]);
    const dup = await waitFor(() => lines().filter((l) => l.received === "evt_dup").length === 2 && lines(), { what: "two evt_dup lines" });
    assert.deepEqual(dup.filter((l) => l.received === "evt_dup").map((l) => l.duplicate), [false, true]);
    assert.ok(dup.some((l) => l.refused === "signature_mismatch"));
    assert.equal((await post(body, { ...headers, "x-rubric-timestamp": String(ts - 301) })).status, 401);
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
});
