// The built `rubric` CLI (node sdk/typescript/bin/rubric.mjs) against `npm start`'s
// service (wrangler dev, private state) and a real receiver on 127.0.0.1: every
// management verb in --json mode, checked against the API's own state and what
// the receiver got; failing calls' exit codes and messages; --help everywhere.
// One service for the whole file keeps it quick.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { plan, ROOT, seedVerify, useService, waitFor } from "../e2e/support/service.mjs";

const BIN = path.join(ROOT, "sdk", "typescript", "bin", "rubric.mjs");
const TMP = mkdtempSync(path.join(os.tmpdir(), "rubric-cli-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

let service;
let receiver;
useService({}, (started) => ({ service, receiver } = started));

/**
 * Runs the CLI; resolves to {code, stdout, stderr, json (stdout parsed, if it is JSON)}.
 * `env` replaces the RUBRIC_* variables (undefined removes one); `onStderr` sees stderr as it comes.
 */
function rubric(args, { env = {}, onStderr } = {}) {
  const base = { ...process.env, RUBRIC_BASE_URL: service.baseUrl, RUBRIC_API_KEY: service.apiKey, NO_COLOR: "1", ...env };
  for (const [k, v] of Object.entries(base)) if (v === undefined) delete base[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: base, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c) => {
      stderr += c;
      onStderr?.(stderr);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      let json;
      try {
        json = JSON.parse(stdout);
      } catch {}
      resolve({ code, stdout, stderr, json });
    });
  });
}

/** Runs the CLI expecting exit 0 and JSON on stdout; returns the JSON. */
async function rubricJson(args) {
  const r = await rubric([...args, "--json"]);
  assert.equal(r.code, 0, `rubric ${args.join(" ")} exited ${r.code}\n${r.stderr}${r.stdout}`);
  assert.notEqual(r.json, undefined, `not JSON: ${r.stdout}`);
  return r.json;
}

const hookUrl = (name) => `${receiver.url}/hooks/${name}`;
const received = (name, n, timeout = 20_000) =>
  waitFor(() => receiver.received(name).length >= n && receiver.received(name), { timeout, what: `${n} deliveries at ${name}` });

/** A webhook made through the CLI; returns the created webhook (with its secret). */
const createHook = (name, extra = []) =>
  rubricJson(["webhooks", "create", "--name", name, "--url", hookUrl(name), "--events", "evaluation.completed", ...extra]);

test("--help works on every command and exits 0, without an API key", async () => {
  const commands = [
    [],
    ["webhooks"],
    ...["list", "get", "create", "update", "disable", "enable", "delete", "test"].map((v) => ["webhooks", v]),
    ["events"],
    ["events", "send"],
    ["deliveries"],
    ["deliveries", "list"],
    ["deliveries", "tail"],
    ["retry-failed"],
    ["listen"],
  ];
  const results = await Promise.all(commands.map((c) => rubric([...c, "--help"], { env: { RUBRIC_API_KEY: undefined } })));
  results.forEach((r, i) => {
    const name = ["rubric", ...commands[i]].join(" ");
    assert.equal(r.code, 0, `${name} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: ${name} `, "m"), name);
    assert.match(r.stdout, /--json/, `${name} --help lists --json`);
  });
});

test("a missing API key is a usage error (exit 2) naming RUBRIC_API_KEY; a wrong one is the API's 401 (exit 1)", async () => {
  const missing = await rubric(["webhooks", "list"], { env: { RUBRIC_API_KEY: undefined } });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /RUBRIC_API_KEY/);
  assert.equal(missing.stdout, "");

  const wrong = await rubric(["webhooks", "list", "--json", "--api-key", "rk_test_wrong"]);
  assert.equal(wrong.code, 1);
  const body = JSON.parse(wrong.stderr);
  assert.equal(body.error.code, "unauthorized");
  assert.match(body.error.request_id, /^req_/);
  assert.equal(wrong.stdout, "");

  // --base-url wins over RUBRIC_BASE_URL.
  const flagged = await rubric(["webhooks", "list", "--json", "--base-url", service.baseUrl], { env: { RUBRIC_BASE_URL: "http://127.0.0.1:9" } });
  assert.equal(flagged.code, 0, flagged.stderr);
  assert.ok(Array.isArray(flagged.json));

  const usage = await rubric(["webhooks", "frobnicate"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown command 'frobnicate'/);
});

test("webhooks create/list/get/update/disable/enable/delete: --json is the API's answer, and the API agrees", { timeout: 60_000 }, async () => {
  const created = await createHook("crud", ["--events", "safety.critical", "--retry-config", '{"max_retries": 3, "backoff": "fixed", "initial_delay_ms": 1000}', "--header", "X-Team: triage"]);
  assert.match(created.id, /^wh_/);
  assert.match(created.secret, /^whsec_/);
  const fromApi = await service.api("GET", `/v1/webhooks/${created.id}`);
  assert.equal(fromApi.status, 200);
  assert.deepEqual(fromApi.json.events, ["evaluation.completed", "safety.critical"]);
  assert.equal(fromApi.json.retry_config.max_retries, 3);
  assert.deepEqual(fromApi.json.headers, { "X-Team": "triage" });

  const listed = await rubricJson(["webhooks", "list"]);
  assert.ok(Array.isArray(listed));
  assert.deepEqual(listed.find((w) => w.id === created.id), fromApi.json);

  assert.deepEqual(await rubricJson(["webhooks", "get", created.id]), fromApi.json);

  const updated = await rubricJson(["webhooks", "update", created.id, "--name", "renamed", "--body", '{"description": "from the CLI"}']);
  assert.equal(updated.name, "renamed");
  const afterUpdate = (await service.api("GET", `/v1/webhooks/${created.id}`)).json;
  assert.deepEqual([afterUpdate.name, afterUpdate.description], ["renamed", "from the CLI"]);
  assert.deepEqual(updated, afterUpdate);

  const disabled = await rubricJson(["webhooks", "disable", created.id, "--reason", "maintenance"]);
  assert.equal(disabled.status, "disabled");
  const whileDisabled = (await service.api("GET", `/v1/webhooks/${created.id}`)).json;
  assert.deepEqual([whileDisabled.status, whileDisabled.disabled_reason], ["disabled", "maintenance"]);

  assert.equal((await rubricJson(["webhooks", "enable", created.id])).status, "active");
  assert.equal((await service.api("GET", `/v1/webhooks/${created.id}`)).json.status, "active");

  // The human table lists the columns people need.
  const table = await rubric(["webhooks", "list"]);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /│ id .*│ name .*│ url .*│ status .*│ events .*│ created/);
  assert.match(table.stdout, new RegExp(`│ ${created.id} │ renamed `));

  const deleted = await rubricJson(["webhooks", "delete", created.id]);
  assert.deepEqual([deleted.id, deleted.deleted], [created.id, true]);
  assert.equal((await service.api("GET", `/v1/webhooks/${created.id}`)).status, 404);
});

test("a refused call exits 1 with the API's error: JSON body on stderr with --json, message and fields for people", async () => {
  const missing = await rubric(["webhooks", "get", "wh_00000000000000000000000000", "--json"]);
  assert.equal(missing.code, 1);
  const body = JSON.parse(missing.stderr);
  assert.equal(body.error.code, "not_found");
  const direct = await service.api("GET", "/v1/webhooks/wh_00000000000000000000000000");
  assert.equal(body.error.message, direct.json.error.message);

  const invalid = await rubric(["webhooks", "create", "--name", "bad", "--url", "ftp://example.com/x", "--events", "evaluation.completed"]);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /422 validation_failed:/);
  assert.match(invalid.stderr, /\n  url: /);

  const usage = await rubric(["webhooks", "create", "--name", "no-url"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--url, --events/);
});

test("webhooks test: the receiver gets a signed test event; a failing endpoint exits 1", { timeout: 30_000 }, async () => {
  const hook = await createHook("tested");
  const result = await rubricJson(["webhooks", "test", hook.id, "--payload", '{"evaluation_id": "eval_test"}']);
  assert.deepEqual([result.status, result.response_code], ["success", 200]);
  const [got] = await received("tested", 1);
  assert.ok(seedVerify(hook.secret, got.headers, got.body), "signed with the webhook's secret");
  const body = JSON.parse(got.body);
  assert.equal(body.id, result.event_id);
  assert.deepEqual(body.data, { evaluation_id: "eval_test" });
  assert.equal(body.metadata.test, true);

  await plan(receiver, "tested", { status: 503 });
  const failing = await rubric(["webhooks", "test", hook.id, "--json"]);
  assert.equal(failing.code, 1);
  assert.deepEqual([failing.json.status, failing.json.response_code], ["failed", 503]);
});

test("events send: --data JSON and @file arrive signed; the same --idempotency-key gives the same event", { timeout: 30_000 }, async () => {
  const hook = await createHook("sent");
  const event = await rubricJson(["events", "send", "--type", "evaluation.completed", "--data", '{"evaluation_id": "eval_cli_1"}', "--metadata", '{"model_version": "v1"}']);
  assert.match(event.id, /^evt_/);
  assert.equal((await service.api("GET", `/v1/events/${event.id}`)).json.type, "evaluation.completed");

  const file = path.join(TMP, "event.json");
  writeFileSync(file, JSON.stringify({ evaluation_id: "eval_cli_2" }));
  const second = await rubricJson(["events", "send", "--type", "evaluation.completed", "--data", `@${file}`, "--idempotency-key", "cli-key-1"]);
  const again = await rubricJson(["events", "send", "--type", "evaluation.completed", "--data", `@${file}`, "--idempotency-key", "cli-key-1"]);
  assert.equal(again.id, second.id);

  const got = (await received("sent", 2)).slice(0, 2); // later tests' events reach it too
  for (const d of got) assert.ok(seedVerify(hook.secret, d.headers, d.body));
  assert.deepEqual(got.map((d) => JSON.parse(d.body).id), [event.id, second.id]);
  assert.deepEqual(JSON.parse(got[0].body).metadata, { model_version: "v1" });

  const bad = await rubric(["events", "send", "--type", "evaluation.completed", "--data", "{not json"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--data is not valid JSON/);
});

test("events send --file: 250 NDJSON events in batches, all accepted and delivered; a refused batch exits 1 with counts", { timeout: 60_000 }, async () => {
  await createHook("batch");
  const lines = Array.from({ length: 250 }, (_, n) => JSON.stringify({ type: "evaluation.completed", data: { evaluation_id: `eval_b${n}` } }));
  const file = path.join(TMP, "events.ndjson");
  writeFileSync(file, `${lines.join("\n")}\n`);
  const report = await rubricJson(["events", "send", "--file", file]);
  assert.deepEqual([report.accepted, report.duplicate, report.failed, report.data.length], [250, 0, 0, 250]);
  assert.deepEqual(report.data.map((d) => d.index), lines.map((_, i) => i));
  const got = await received("batch", 250, 40_000);
  assert.deepEqual(new Set(got.map((d) => JSON.parse(d.body).id)), new Set(report.data.map((d) => d.id)));

  // 150 events, one of the second batch of an unknown type: that batch (50) is refused as a whole.
  const mixed = Array.from({ length: 150 }, (_, n) => ({ type: n === 120 ? "no.such.type" : "review.completed", data: { n } }));
  writeFileSync(file, mixed.map((e) => JSON.stringify(e)).join("\n"));
  const partial = await rubric(["events", "send", "--file", file, "--json"]);
  assert.equal(partial.code, 1, partial.stderr);
  assert.deepEqual([partial.json.accepted, partial.json.failed], [100, 50]);
  assert.deepEqual([partial.json.errors[0].from, partial.json.errors[0].to, partial.json.errors[0].error.code], [100, 149, "validation_failed"]);
  assert.match(partial.json.errors[0].error.details[0].field, /^events\.20\.type$/);

  writeFileSync(file, '{"type": "review.completed", "data": {}}\n{broken\n');
  const malformed = await rubric(["events", "send", "--file", file]);
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /line 2: not valid JSON/);
});

test("deliveries list --status failed, then retry-failed --since 1h re-sends them", { timeout: 60_000 }, async () => {
  await plan(receiver, "flaky", { status: 500 });
  const hook = await createHook("flaky", ["--retry-config", '{"max_retries": 0}', "--events", "alert.triggered"]);
  await createHook("steady", ["--events", "alert.triggered"]); // its deliveries succeed: not listed as failed
  for (let n = 0; n < 3; n++) await rubricJson(["events", "send", "--type", "alert.triggered", "--data", JSON.stringify({ n })]);
  await received("flaky", 3);

  const failed = await waitFor(
    async () => {
      const list = await rubricJson(["deliveries", "list", "--webhook", hook.id, "--status", "failed"]);
      return list.length === 3 && list;
    },
    { what: "3 failed deliveries", timeout: 20_000, interval: 300 },
  );
  const fromApi = (await service.api("GET", `/v1/webhooks/${hook.id}/deliveries?status=failed`)).json.data;
  assert.deepEqual(failed, fromApi);
  assert.ok(failed.every((d) => d.status === "failed" && d.response_code === 500));
  assert.deepEqual(await rubricJson(["deliveries", "list", "--webhook", hook.id, "--status", "succeeded"]), []);

  await plan(receiver, "flaky", {});
  const retried = await rubricJson(["retry-failed", "--webhook", hook.id, "--since", "1h"]);
  assert.deepEqual(retried, { queued: 3, has_more: false });
  const got = await received("flaky", 6);
  assert.deepEqual(
    got.slice(3).map((d) => d.headers["x-rubric-delivery-id"]),
    failed.map((d) => d.id),
    "each failed delivery sent again, in order",
  );
  await waitFor(async () => (await service.api("GET", `/v1/webhooks/${hook.id}/deliveries?status=succeeded`)).json.data.length === 3, {
    what: "the re-sent deliveries to succeed",
  });

  const badSince = await rubric(["retry-failed", "--webhook", hook.id, "--since", "last tuesday"]);
  assert.equal(badSince.code, 2);
});

test("deliveries tail prints a new attempt once, as one JSON line, until --timeout", { timeout: 60_000 }, async () => {
  const hook = await createHook("tailed", ["--events", "review.assigned"]);
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  const tail = rubric(["deliveries", "tail", "--webhook", hook.id, "--json", "--interval", "300ms", "--timeout", "6s"], {
    onStderr: (text) => /Following/.test(text) && ready(),
  });
  await isReady;
  const event = await rubricJson(["events", "send", "--type", "review.assigned", "--data", '{"review_id": "rev_1"}']);
  const done = await tail;
  assert.equal(done.code, 0, done.stderr);
  const lines = done.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 1, `printed once over several polls:\n${done.stdout}`);
  assert.deepEqual([lines[0].event_id, lines[0].webhook_id, lines[0].status, lines[0].attempts], [event.id, hook.id, "succeeded", 1]);

  // Without --webhook it follows every webhook; --count ends it; not reaching it by --timeout is exit 1.
  const short = await rubric(["deliveries", "tail", "--json", "--interval", "200ms", "--count", "1", "--timeout", "1s"]);
  assert.equal(short.code, 1);
  assert.equal(short.stdout, "");
  assert.match(short.stderr, /0 of 1/);
});
