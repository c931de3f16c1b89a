// Request building: every resource method's method, path, query, headers and
// JSON body as they arrive on a real socket, and the client's defaults.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { DEFAULT_BASE_URL, Rubric, RubricError } from "../../dist/index.js";
import { startFakeApi } from "../support/fake-api.mjs";

let api;
let client;
before(async () => {
  api = await startFakeApi();
  client = new Rubric({ apiKey: "rk_test_unit", baseUrl: api.url });
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
  api.handler = () => ({ json: { ok: true } });
});

const last = () => api.requests.at(-1);

describe("construction", () => {
  const saved = { key: process.env.RUBRIC_API_KEY, url: process.env.RUBRIC_BASE_URL };
  const restore = () => {
    for (const [name, value] of [["RUBRIC_API_KEY", saved.key], ["RUBRIC_BASE_URL", saved.url]]) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };

  test("a missing API key is a clear error at construction, naming RUBRIC_API_KEY", () => {
    delete process.env.RUBRIC_API_KEY;
    try {
      assert.throws(() => new Rubric(), (err) => err instanceof RubricError && /Missing API key/.test(err.message) && /RUBRIC_API_KEY/.test(err.message));
      assert.throws(() => new Rubric({ apiKey: "" }), RubricError);
    } finally {
      restore();
    }
  });

  test("apiKey and baseUrl default to RUBRIC_API_KEY and RUBRIC_BASE_URL, else http://127.0.0.1:8787", async () => {
    try {
      process.env.RUBRIC_API_KEY = "rk_test_from_env";
      delete process.env.RUBRIC_BASE_URL;
      assert.equal(new Rubric().baseUrl, DEFAULT_BASE_URL);
      assert.equal(DEFAULT_BASE_URL, "http://127.0.0.1:8787");
      process.env.RUBRIC_BASE_URL = api.url;
      const fromEnv = new Rubric();
      assert.equal(fromEnv.baseUrl, api.url);
      await fromEnv.webhooks.get("wh_1");
      assert.equal(last().headers.authorization, "Bearer rk_test_from_env");
      // Explicit options win over the environment.
      assert.equal(new Rubric({ apiKey: "k", baseUrl: "http://example.test" }).baseUrl, "http://example.test");
    } finally {
      restore();
    }
  });

  test("a baseUrl that is not an absolute URL is refused at construction", () => {
    assert.throws(() => new Rubric({ apiKey: "k", baseUrl: "127.0.0.1:8787" }), /Invalid baseUrl/);
  });

  test("a trailing slash on baseUrl does not double the path's slash", async () => {
    await new Rubric({ apiKey: "k", baseUrl: `${api.url}/` }).webhooks.get("wh_1");
    assert.equal(last().path, "/v1/webhooks/wh_1");
  });
});

describe("webhooks", () => {
  test("create: POST /v1/webhooks with the seed's snake_case body, bearer key and JSON headers", async () => {
    const body = {
      name: "production-notifications",
      url: "https://your-api.example.com/webhooks/rubric",
      events: ["evaluation.completed"],
      secret: "whsec_your_signing_secret",
      filters: { projects: ["patient-triage"], severity: ["high", "critical"] },
      retry_config: { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 },
    };
    api.handler = () => ({ status: 201, json: { id: "wh_1", secret: "whsec_x" } });
    const created = await client.webhooks.create(body);
    assert.deepEqual(created, { id: "wh_1", secret: "whsec_x" });
    const r = last();
    assert.equal(r.method, "POST");
    assert.equal(r.path, "/v1/webhooks");
    assert.deepEqual(r.json, body);
    assert.equal(r.headers.authorization, "Bearer rk_test_unit");
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers.accept, "application/json");
    assert.equal(r.headers["idempotency-key"], undefined);
  });

  test("get, update, delete, disable, enable, stats, preview, rotateSecret", async () => {
    const calls = [
      [() => client.webhooks.get("wh_1"), "GET", "/v1/webhooks/wh_1", {}, ""],
      [() => client.webhooks.update("wh_1", { url: "https://x.example/h", description: null }), "PATCH", "/v1/webhooks/wh_1", {}, { url: "https://x.example/h", description: null }],
      [() => client.webhooks.delete("wh_1"), "DELETE", "/v1/webhooks/wh_1", {}, ""],
      [() => client.webhooks.disable("wh_1"), "POST", "/v1/webhooks/wh_1/disable", {}, {}],
      [() => client.webhooks.disable("wh_1", { reason: "maintenance" }), "POST", "/v1/webhooks/wh_1/disable", {}, { reason: "maintenance" }],
      [() => client.webhooks.enable("wh_1"), "POST", "/v1/webhooks/wh_1/enable", {}, {}],
      [() => client.webhooks.stats("wh_1", { window: "7d" }), "GET", "/v1/webhooks/wh_1/stats", { window: "7d" }, ""],
      [() => client.webhooks.preview("wh_1", { event_type: "evaluation.completed", payload: { name: "n" } }), "POST", "/v1/webhooks/wh_1/preview", {}, { event_type: "evaluation.completed", payload: { name: "n" } }],
      [() => client.webhooks.rotateSecret("wh_1", { grace_period_seconds: 60 }), "POST", "/v1/webhooks/wh_1/rotate_secret", {}, { grace_period_seconds: 60 }],
    ];
    for (const [run, method, path, query, body] of calls) {
      await run();
      const r = last();
      assert.deepEqual([r.method, r.path, r.query], [method, path, query], `${method} ${path}`);
      if (body === "") assert.equal(r.text, "", `${method} ${path} has no body`);
      else assert.deepEqual(r.json, body, `${method} ${path} body`);
    }
  });

  test("test, deliveries and retryFailed take (id, params) and the seed's ({webhook_id, ...params})", async () => {
    const payload = { evaluation_id: "eval_test", summary: { triage_accuracy: 0.85, safety_score: 0.92 } };
    await client.webhooks.test("wh_1", { event_type: "evaluation.completed", payload });
    await client.webhooks.test({ webhook_id: "wh_1", event_type: "evaluation.completed", payload });
    const [a, b] = api.requests;
    for (const r of [a, b]) {
      assert.equal(r.path, "/v1/webhooks/wh_1/test");
      assert.deepEqual(r.json, { event_type: "evaluation.completed", payload });
    }

    await client.webhooks.retryFailed({ webhook_id: "wh_1", since: "2024-03-15T00:00:00Z" });
    assert.equal(last().path, "/v1/webhooks/wh_1/retry_failed");
    assert.deepEqual(last().json, { since: "2024-03-15T00:00:00Z" });
    await client.webhooks.retryFailed("wh_2", { since: "2024-03-15T00:00:00Z", until: "2024-03-16T00:00:00Z" });
    assert.equal(last().path, "/v1/webhooks/wh_2/retry_failed");
    assert.deepEqual(last().json, { since: "2024-03-15T00:00:00Z", until: "2024-03-16T00:00:00Z" });

    api.handler = () => ({ json: { data: [], next_cursor: null } });
    await client.webhooks.deliveries({ webhook_id: "wh_1", limit: 100, status: "failed" }).toArray();
    assert.equal(last().path, "/v1/webhooks/wh_1/deliveries");
    assert.deepEqual(last().query, { limit: "100", status: "failed" });
    await client.webhooks.deliveries("wh_3", { event_type: "evaluation.completed", since: "2024-03-15T00:00:00Z" }).toArray();
    assert.equal(last().path, "/v1/webhooks/wh_3/deliveries");
    assert.deepEqual(last().query, { limit: "250", event_type: "evaluation.completed", since: "2024-03-15T00:00:00Z" });
  });

  test("calls without options send what the API takes: `{}` declared JSON where the body is optional, nothing where there is none", async () => {
    // Exactly what goes on the wire; test/empty-json-body.test.ts shows the API answers each of these
    // as a call without a body, and an empty body sent with Content-Type: application/json too.
    const calls = [
      [() => client.webhooks.disable("wh_1"), "POST", "/v1/webhooks/wh_1/disable", "{}"],
      [() => client.webhooks.enable("wh_1"), "POST", "/v1/webhooks/wh_1/enable", "{}"],
      [() => client.webhooks.rotateSecret("wh_1"), "POST", "/v1/webhooks/wh_1/rotate_secret", "{}"],
      [() => client.events.replay("evt_1"), "POST", "/v1/events/evt_1/replay", "{}"],
      [() => client.deliveries.retry("dlv_1"), "POST", "/v1/deliveries/dlv_1/retry", ""],
      [() => client.webhooks.delete("wh_1"), "DELETE", "/v1/webhooks/wh_1", ""],
    ];
    for (const [run, method, path, text] of calls) {
      await run();
      const r = last();
      const what = `${method} ${path}`;
      assert.deepEqual([r.method, r.path, r.text], [method, path, text], what);
      assert.equal(r.headers["content-type"], text === "" ? undefined : "application/json", what);
      assert.equal(r.headers["content-length"] ?? "0", String(text.length), what);
    }
    // A Content-Type set on every call (as generated clients and proxies do) goes out as given, with the empty body.
    await client.deliveries.retry("dlv_1", { headers: { "Content-Type": "application/json" } });
    assert.deepEqual([last().headers["content-type"], last().text, last().headers["content-length"] ?? "0"], ["application/json", "", "0"]);
  });

  test("ids are escaped into the path, and an empty id is refused before any request", async () => {
    await client.webhooks.get("wh_a/../b?c");
    assert.equal(last().path, "/v1/webhooks/wh_a%2F..%2Fb%3Fc");
    await assert.rejects(() => client.webhooks.get(""), TypeError);
    assert.equal(api.requests.length, 1);
  });
});

describe("events, deliveries, event types", () => {
  test("events.send sends an Idempotency-Key: the caller's, or a fresh UUID per call", async () => {
    const event = { type: "evaluation.completed", data: { evaluation_id: "eval_1" }, metadata: { model_version: "v2" } };
    await client.events.send(event);
    await client.events.send(event);
    await client.events.send(event, { idempotencyKey: "eval_1-completed" });
    const keys = api.requests.map((r) => r.headers["idempotency-key"]);
    assert.match(keys[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(keys[0], keys[1]);
    assert.equal(keys[2], "eval_1-completed");
    for (const r of api.requests) {
      assert.equal(r.method, "POST");
      assert.equal(r.path, "/v1/events");
      assert.deepEqual(r.json, event);
    }
  });

  test("events.sendBatch gives items without an idempotency_key a random one and keeps the caller's", async () => {
    await client.events.sendBatch([
      { type: "sample.scored", data: { sample_id: "s_1" }, idempotency_key: "s_1" },
      { type: "sample.scored", data: { sample_id: "s_2" } },
    ]);
    const r = last();
    assert.equal(r.path, "/v1/events/batch");
    assert.equal(r.json.events[0].idempotency_key, "s_1");
    assert.match(r.json.events[1].idempotency_key, /^[0-9a-f-]{36}$/);
    assert.deepEqual(r.json.events[1].data, { sample_id: "s_2" });
  });

  test("events.get, events.list, events.replay, deliveries.get, deliveries.retry, eventTypes", async () => {
    await client.events.get("evt_1");
    assert.deepEqual([last().method, last().path], ["GET", "/v1/events/evt_1"]);
    await client.events.replay("evt_1", { webhook_id: "wh_1" });
    assert.deepEqual([last().method, last().path, last().json], ["POST", "/v1/events/evt_1/replay", { webhook_id: "wh_1" }]);
    await client.deliveries.get("dlv_1");
    assert.deepEqual([last().method, last().path], ["GET", "/v1/deliveries/dlv_1"]);
    await client.deliveries.retry("dlv_1");
    assert.deepEqual([last().method, last().path, last().text], ["POST", "/v1/deliveries/dlv_1/retry", ""]);
    const schema = { type: "object", required: ["dataset_id"] };
    await client.eventTypes.create({ name: "dataset.refreshed", description: "d", schema });
    assert.deepEqual([last().method, last().path, last().json], ["POST", "/v1/event_types", { name: "dataset.refreshed", description: "d", schema }]);

    api.handler = () => ({ json: { data: [{ name: "evaluation.completed" }] } });
    assert.deepEqual(await client.eventTypes.list().toArray(), [{ name: "evaluation.completed" }]);
    assert.deepEqual([last().method, last().path], ["GET", "/v1/event_types"]);

    api.handler = () => ({ json: { data: [], next_cursor: null } });
    await client.events.list({ type: "evaluation.completed", status: "dead_lettered", limit: 5 }).toArray();
    assert.deepEqual([last().path, last().query], ["/v1/events", { type: "evaluation.completed", status: "dead_lettered", limit: "5" }]);
  });
});

test("without a crypto global (Node 18), events.send still makes a UUID Idempotency-Key", async () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
  Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true, writable: true });
  try {
    await client.events.send({ type: "evaluation.completed", data: {} });
    assert.match(last().headers["idempotency-key"], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  } finally {
    Object.defineProperty(globalThis, "crypto", saved);
  }
});
