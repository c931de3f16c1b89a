// The CLI's pure parts (durations, times, JSON and NDJSON input, tables, error
// output, where the base URL and key come from) and its multi-call helpers
// (events in batches of 100, retry-failed past 1 000) against a fake API.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { Rubric, ValidationError } from "../../dist/index.js";
import { sendInBatches } from "../../dist/cli/events.js";
import { collectHeader, collectList, parseDuration, parseJsonArg, parseNdjson, parseTime } from "../../dist/cli/input.js";
import { colorEnabled, errorBody, formatDate, renderTable, reportError, UsageError } from "../../dist/cli/output.js";
import { resolveConnection } from "../../dist/cli/config.js";
import { retryAllFailed } from "../../dist/cli/retry-failed.js";
import { startFakeApi, wireError } from "../support/fake-api.mjs";
import pc from "picocolors";

test("durations: units, combinations, and refusals", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("30m"), 1_800_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1.5s"), 1_500);
  for (const bad of ["", "1", "h", "1x", "1h junk", "-1h", "1 h"]) assert.throws(() => parseDuration(bad), UsageError, bad);
});

test("times: a duration is that long ago; ISO times and dates as the API wants them", () => {
  const now = Date.parse("2024-03-15T12:00:00Z");
  assert.equal(parseTime("1h", "--since", now), "2024-03-15T11:00:00.000Z");
  assert.equal(parseTime("2d", "--since", now), "2024-03-13T12:00:00.000Z");
  assert.equal(parseTime("2024-03-15T00:00:00Z", "--since", now), "2024-03-15T00:00:00.000Z");
  assert.equal(parseTime("2024-03-15T02:00:00+02:00", "--since", now), "2024-03-15T00:00:00.000Z");
  assert.equal(parseTime("2024-03-15", "--since", now), "2024-03-15T00:00:00.000Z");
  for (const bad of ["yesterday", "1x", "15/03/2024", "2024-13-45T00:00:00Z"]) assert.throws(() => parseTime(bad, "--since", now), UsageError, bad);
});

test("JSON arguments: text or @file; bad JSON names the option", () => {
  assert.deepEqual(parseJsonArg('{"a": 1}', "--data"), { a: 1 });
  assert.deepEqual(parseJsonArg("@event.json", "--data", (p) => (p === "event.json" ? '{"b": 2}' : "")), { b: 2 });
  assert.throws(() => parseJsonArg("{a: 1}", "--data"), (err) => err instanceof UsageError && /--data is not valid JSON/.test(err.message));
  assert.throws(() => parseJsonArg("@/no/such/file.json", "--data"), (err) => err instanceof UsageError && /cannot read \/no\/such\/file\.json/.test(err.message));
});

test("NDJSON: one object per line, blank lines skipped, the bad line named", () => {
  const text = '{"type":"a","data":{}}\n\n  \r\n{"type":"b","data":{"x":1}}\r\n';
  assert.deepEqual(parseNdjson(text, "events.ndjson"), [{ type: "a", data: {} }, { type: "b", data: { x: 1 } }]);
  assert.throws(() => parseNdjson('{"type":"a","data":{}}\n{oops\n', "events.ndjson"), /events\.ndjson, line 2: not valid JSON/);
  assert.throws(() => parseNdjson('{"type":"a","data":{}}\n[1,2]\n', "events.ndjson"), /line 2: expected a JSON object/);
  assert.throws(() => parseNdjson("\n\n", "events.ndjson"), /holds no events/);
});

test("list and header options", () => {
  assert.deepEqual(collectList("c", collectList("a, b")), ["a", "b", "c"]);
  assert.deepEqual(collectHeader("X-Team: triage", { A: "1" }), { A: "1", "X-Team": "triage" });
  assert.throws(() => collectHeader("no colon"), UsageError);
});

test("tables: the columns given, null as -, lists joined; readable dates; no colour codes when colour is off", () => {
  const plain = pc.createColors(false);
  const text = renderTable([{ head: "id", get: (r) => r.id }, { head: "events", get: (r) => r.events }, { head: "note", get: (r) => r.note }], [{ id: "wh_1", events: ["a.b", "c.*"], note: null }], plain);
  assert.match(text, /│ id +│ events +│ note │/);
  assert.match(text, /│ wh_1 │ a\.b, c\.\* │ - +│/);
  assert.doesNotMatch(text, /\x1b\[/);
  assert.equal(renderTable([{ head: "id", get: (r) => r.id }], [], plain, "No webhooks yet"), "No webhooks yet");
  assert.match(formatDate("2024-03-15T10:30:05Z"), /^2024-03-1[45] \d\d:\d\d:05$/);
  assert.equal(formatDate(null), "-");
});

test("colour: only on a TTY, never with NO_COLOR or --no-color; FORCE_COLOR forces it", () => {
  assert.equal(colorEnabled({ isTTY: true }, {}), true);
  assert.equal(colorEnabled({ isTTY: false }, {}), false);
  assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: "1" }), false);
  assert.equal(colorEnabled({ isTTY: true }, {}, false), false);
  assert.equal(colorEnabled({ isTTY: false }, { FORCE_COLOR: "1" }), true);
});

test("errors: the API's body as JSON with --json, its message for people; exit 1, usage 2", () => {
  const err = new ValidationError({ status: 422, code: "validation_failed", message: "Invalid request", requestId: "req_1", details: [{ field: "url", message: "must use https" }] });
  assert.deepEqual(errorBody(err), { error: { code: "validation_failed", message: "Invalid request", details: [{ field: "url", message: "must use https" }], request_id: "req_1" } });
  let written = "";
  assert.equal(reportError(err, true, (t) => (written += t)), 1);
  assert.deepEqual(JSON.parse(written), errorBody(err));
  written = "";
  assert.equal(reportError(err, false, (t) => (written += t)), 1);
  assert.match(written, /422 validation_failed:.*Invalid request\n  url: must use https/);
  assert.equal(reportError(new UsageError("bad flag"), false, () => {}), 2);
});

test("connection: flags win over the environment; no key is a usage error; the base URL defaults to npm start's", () => {
  const env = { RUBRIC_BASE_URL: "http://env:1", RUBRIC_API_KEY: "rk_env" };
  assert.deepEqual(resolveConnection({}, env), { baseUrl: "http://env:1", apiKey: "rk_env" });
  assert.deepEqual(resolveConnection({ baseUrl: "http://flag:2", apiKey: "rk_flag" }, env), { baseUrl: "http://flag:2", apiKey: "rk_flag" });
  assert.deepEqual(resolveConnection({}, { RUBRIC_API_KEY: "rk_env" }), { baseUrl: "http://127.0.0.1:8787", apiKey: "rk_env" });
  assert.throws(() => resolveConnection({}, { RUBRIC_API_KEY: "" }), (e) => e instanceof UsageError && /RUBRIC_API_KEY/.test(e.message));
  assert.throws(() => resolveConnection({ baseUrl: "not a url" }, env), UsageError);
});

// ---------------------------------------------------------------------------
// Against a fake API

let api;
let client;
before(async () => {
  api = await startFakeApi();
  client = new Rubric({ apiKey: "rk_test_unit", baseUrl: api.url, maxRetries: 0 });
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
});

test("events in batches of 100 with idempotency keys; a refused batch counts as failed and the rest is still sent", async () => {
  api.handler = (req, i) =>
    i === 1
      ? { status: 422, json: wireError("validation_failed", "Invalid request", { details: [{ field: "events.3.type", message: "unknown event type 'x'" }] }) }
      : { status: 202, json: { data: req.json.events.map((_, index) => ({ index, id: `evt_${i}_${index}`, status: index === 0 ? "duplicate" : "accepted" })) } };
  const events = Array.from({ length: 250 }, (_, n) => ({ type: "evaluation.completed", data: { n } }));
  const steps = [];
  const report = await sendInBatches(client, events, { increment: (n) => steps.push(n), stop() {} });
  assert.deepEqual(api.requests.map((r) => r.json.events.length), [100, 100, 50]);
  assert.ok(api.requests.every((r) => r.json.events.every((e) => typeof e.idempotency_key === "string" && e.idempotency_key.length > 0)));
  assert.deepEqual(steps, [100, 100, 50]);
  assert.deepEqual([report.accepted, report.duplicate, report.failed], [148, 2, 100]);
  assert.deepEqual(report.errors, [{ from: 100, to: 199, error: { code: "validation_failed", message: "Invalid request", details: [{ field: "events.3.type", message: "unknown event type 'x'" }], request_id: "req_body" } }]);
  assert.deepEqual(report.data.slice(99, 101).map((d) => d.index), [99, 200], "indexes are positions in the file");
});

test("a batch refused for the key stops the run (nothing else would pass either)", async () => {
  api.handler = () => ({ status: 401, json: wireError("unauthorized", "Invalid API key") });
  await assert.rejects(sendInBatches(client, [{ type: "a", data: {} }]), /Invalid API key/);
});

test("retry-failed: one call when it fits; past 1 000 the window is split at every 1 000th failed delivery", async () => {
  api.handler = () => ({ status: 202, json: { queued: 3, has_more: false } });
  assert.deepEqual(await retryAllFailed(client, "wh_1", { since: "2024-03-15T00:00:00.000Z" }), { queued: 3, has_more: false });
  assert.deepEqual(api.requests.map((r) => [r.method, r.path, r.json]), [["POST", "/v1/webhooks/wh_1/retry_failed", { since: "2024-03-15T00:00:00.000Z" }]]);

  api.requests.length = 0;
  // 2 300 failed deliveries, one event a second from 01:00:00.
  const failed = Array.from({ length: 2300 }, (_, i) => ({ id: `dlv_${String(i).padStart(5, "0")}`, status: "failed", created_at: new Date(Date.parse("2024-03-15T01:00:00Z") + i * 1000).toISOString() }));
  const at = (i) => failed[i].created_at;
  let retryCalls = 0;
  api.handler = (req) => {
    if (req.method === "GET") {
      const start = req.query.cursor ? failed.findIndex((d) => d.id === req.query.cursor) + 1 : 0;
      const data = failed.slice(start, start + Number(req.query.limit));
      return { json: { data, next_cursor: start + data.length < failed.length ? data.at(-1).id : null } };
    }
    retryCalls += 1;
    const sinceI = failed.findIndex((d) => d.created_at >= req.json.since);
    const untilI = req.json.until ? failed.findIndex((d) => d.created_at >= req.json.until) : failed.length;
    const n = untilI - sinceI;
    return { status: 202, json: { queued: Math.min(n, 1000), has_more: n > 1000 } };
  };
  const progress = [];
  const result = await retryAllFailed(client, "wh_1", { since: "2024-03-15T00:00:00.000Z" }, (total) => ({ increment: (n) => progress.push([total, n]), stop() {} }));
  assert.deepEqual(result, { queued: 2300, has_more: false });
  const retries = api.requests.filter((r) => r.method === "POST").map((r) => r.json);
  assert.deepEqual(retries, [
    { since: "2024-03-15T00:00:00.000Z" },
    { since: "2024-03-15T00:00:00.000Z", until: at(1000) },
    { since: at(1000), until: at(2000) },
    { since: at(2000) },
  ]);
  assert.equal(retryCalls, 4);
  assert.deepEqual(api.requests.find((r) => r.method === "GET").query, { status: "failed", since: "2024-03-15T00:00:00.000Z", limit: "250" });
  assert.deepEqual(progress, [[2300, 1000], [2300, 1000], [2300, 300]]);
});
