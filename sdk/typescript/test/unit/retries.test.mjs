// Retries and error mapping against a real local server: which calls are
// retried after 429, 5xx and dropped connections, how long they wait (Retry-After
// in seconds or as a date, else backoff), and the typed error each refusal becomes.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  APIConnectionError,
  APIError,
  AuthenticationError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  Rubric,
  ValidationError,
} from "../../dist/index.js";
import { recordingSleep, startFakeApi, wireError } from "../support/fake-api.mjs";

let api;
before(async () => {
  api = await startFakeApi();
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
});

/** A client whose sleeps are recorded, not waited; jitter fixed at its maximum (random() = 1 - ε). */
function newClient(options = {}) {
  const { sleep, waits } = recordingSleep();
  const client = new Rubric({ apiKey: "rk_test_unit", baseUrl: api.url, sleep, random: () => 0.999999, ...options });
  return { client, waits };
}

/** Answers `first` for the first `n` requests, then 200 `ok`. */
const failThen = (n, first, ok = { json: { id: "wh_1" } }) => (_req, i) => (i < n ? first : ok);

describe("retries", () => {
  test("429 with Retry-After in seconds: waits exactly that long, then succeeds (even a create)", async () => {
    const { client, waits } = newClient();
    api.handler = failThen(2, { status: 429, headers: { "Retry-After": "3" }, json: wireError("rate_limited", "slow down") });
    const created = await client.webhooks.create({ name: "n", url: "https://x.example/h", events: ["*"] });
    assert.deepEqual(created, { id: "wh_1" });
    assert.equal(api.requests.length, 3);
    assert.deepEqual(waits, [3000, 3000]);
  });

  test("503 with Retry-After as an HTTP date: waits until that date", async () => {
    const { client, waits } = newClient();
    api.handler = failThen(1, { status: 503, headers: { "Retry-After": new Date(Date.now() + 10_000).toUTCString() }, json: wireError("unavailable", "busy") });
    await client.webhooks.get("wh_1");
    assert.equal(api.requests.length, 2);
    // HTTP dates have whole seconds: between 8 and 10 s from when the answer was read.
    assert.ok(waits[0] > 8_000 && waits[0] <= 10_000, `waited ${waits[0]} ms`);
  });

  test("5xx without Retry-After: exponential backoff (500 ms, 1 s, 2 s … with jitter down to half)", async () => {
    const { client, waits } = newClient({ maxRetries: 3 });
    api.handler = failThen(3, { status: 500, json: wireError("internal_error", "boom") });
    await client.webhooks.list().toArray().catch(() => {});
    assert.equal(api.requests.length, 4);
    assert.deepEqual(waits, [500, 1000, 2000]);

    const low = newClient({ maxRetries: 2, random: () => 0 });
    api.requests.length = 0;
    api.handler = failThen(2, { status: 502, text: "bad gateway" }, { json: { data: [], next_cursor: null } });
    await low.client.webhooks.list().toArray();
    assert.deepEqual(low.waits, [250, 500]);
  });

  test("gives up after maxRetries and throws the last error", async () => {
    const { client, waits } = newClient({ maxRetries: 2 });
    api.handler = () => ({ status: 500, json: wireError("internal_error", "still broken") });
    await assert.rejects(() => client.webhooks.get("wh_1"), (err) => err instanceof APIError && err.status === 500 && err.message === "still broken");
    assert.equal(api.requests.length, 3);
    assert.equal(waits.length, 2);
    // maxRetries per call overrides the client's.
    api.requests.length = 0;
    await assert.rejects(() => client.webhooks.get("wh_1", { maxRetries: 0 }), APIError);
    assert.equal(api.requests.length, 1);
  });

  test("a Retry-After over 60 s is not waited for: the RateLimitError is thrown with it", async () => {
    const { client, waits } = newClient();
    api.handler = () => ({ status: 429, headers: { "Retry-After": "120" }, json: wireError("rate_limited", "Rate limit exceeded") });
    await assert.rejects(
      () => client.webhooks.get("wh_1"),
      (err) => err instanceof RateLimitError && err.retryAfterSeconds === 120 && err.code === "rate_limited",
    );
    assert.equal(api.requests.length, 1);
    assert.deepEqual(waits, []);
  });

  test("non-idempotent calls are not retried after a 5xx (create, test, replay, deliveries.retry, eventTypes.create, rotateSecret)", async () => {
    const { client, waits } = newClient();
    api.handler = () => ({ status: 500, json: wireError("internal_error", "boom") });
    const calls = [
      () => client.webhooks.create({ name: "n", url: "https://x.example/h", events: ["*"] }),
      () => client.webhooks.test("wh_1", { event_type: "evaluation.completed", payload: {} }),
      () => client.events.replay("evt_1"),
      () => client.deliveries.retry("dlv_1"),
      () => client.eventTypes.create({ name: "a.b", description: "d" }),
      () => client.webhooks.rotateSecret("wh_1"),
    ];
    for (const call of calls) await assert.rejects(call, APIError);
    assert.equal(api.requests.length, calls.length);
    assert.deepEqual(waits, []);
    // rotateSecret with an explicit secret is idempotent, so it is retried.
    api.requests.length = 0;
    api.handler = failThen(1, { status: 500, json: wireError("internal_error", "boom") });
    await client.webhooks.rotateSecret("wh_1", { secret: "whsec_0123456789abcdef" });
    assert.equal(api.requests.length, 2);
  });

  test("events.send is retried after a 5xx and a dropped connection with the same Idempotency-Key", async () => {
    const { client, waits } = newClient();
    api.handler = (_r, i) => (i === 0 ? { status: 503, json: wireError("unavailable", "x") } : i === 1 ? { destroy: true } : { status: 202, json: { id: "evt_1" } });
    const event = await client.events.send({ type: "evaluation.completed", data: { evaluation_id: "e" } });
    assert.deepEqual(event, { id: "evt_1" });
    assert.equal(api.requests.length, 3);
    const keys = new Set(api.requests.map((r) => r.headers["idempotency-key"]));
    assert.equal(keys.size, 1, "one key for every try of the call");
    assert.equal(waits.length, 2);
  });

  test("a dropped connection on a non-idempotent call is an APIConnectionError, not retried", async () => {
    const { client } = newClient();
    api.handler = () => ({ destroy: true });
    await assert.rejects(() => client.webhooks.create({ name: "n", url: "https://x.example/h", events: ["*"] }), APIConnectionError);
    assert.equal(api.requests.length, 1);
  });

  test("connection refused: idempotent calls retry, then throw APIConnectionError with the cause", async () => {
    const { sleep, waits } = recordingSleep();
    const client = new Rubric({ apiKey: "k", baseUrl: "http://127.0.0.1:1", sleep, maxRetries: 2 });
    await assert.rejects(() => client.webhooks.get("wh_1"), (err) => err instanceof APIConnectionError && err.cause !== undefined);
    assert.equal(waits.length, 2);
  });

  test("a slow answer times out per attempt (timeoutMs) and is retried when idempotent", async () => {
    const { client, waits } = newClient({ timeoutMs: 100, maxRetries: 1 });
    api.handler = (_r, i) => (i === 0 ? { delayMs: 1_000, json: {} } : { json: { id: "wh_1" } });
    const started = Date.now();
    assert.deepEqual(await client.webhooks.get("wh_1"), { id: "wh_1" });
    assert.ok(Date.now() - started < 900, "did not wait for the slow answer");
    assert.equal(waits.length, 1);
  });

  test("the caller's AbortSignal stops the call and its retries", async () => {
    const { client } = newClient();
    api.handler = () => ({ delayMs: 1_000, json: {} });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("caller gave up")), 50);
    await assert.rejects(() => client.webhooks.get("wh_1", { signal: controller.signal }), /caller gave up/);
    assert.equal(api.requests.length, 1);
  });
});

describe("error mapping", () => {
  const cases = [
    [400, "bad_request", ValidationError],
    [401, "unauthorized", AuthenticationError],
    [403, "forbidden", PermissionDeniedError],
    [404, "not_found", NotFoundError],
    [409, "conflict", ConflictError],
    [413, "payload_too_large", APIError],
    [415, "unsupported_media_type", APIError],
    [422, "validation_failed", ValidationError],
  ];
  for (const [status, code, Class] of cases) {
    test(`${status} ${code} → ${Class.name} with status, code, message, request id`, async () => {
      const { client, waits } = newClient();
      api.handler = () => ({ status, headers: { "X-Request-Id": "req_header" }, json: wireError(code, `message for ${status}`) });
      const err = await client.webhooks.get("wh_1").then(
        () => assert.fail("expected a rejection"),
        (e) => e,
      );
      assert.ok(err instanceof Class, `${err?.constructor?.name} is a ${Class.name}`);
      assert.ok(err instanceof APIError);
      assert.equal(err.status, status);
      assert.equal(err.code, code);
      assert.equal(err.message, `message for ${status}`);
      assert.equal(err.requestId, "req_body", "the body's request id");
      assert.equal(err.name, Class.name);
      assert.equal(api.requests.length, 1, "4xx other than 429 is never retried");
      assert.deepEqual(waits, []);
      api.requests.length = 0;
    });
  }

  test("a 403 is also an AuthenticationError; 422 details list every failing field", async () => {
    const { client } = newClient();
    api.handler = () => ({ status: 403, json: wireError("forbidden", "API key lacks scope webhooks:write") });
    await assert.rejects(() => client.webhooks.delete("wh_1"), AuthenticationError);
    const details = [{ field: "url", message: "must use https" }, { field: "events", message: "is required" }];
    api.handler = () => ({ status: 422, json: wireError("validation_failed", "Invalid request", { details }) });
    await assert.rejects(() => client.webhooks.create({ name: "n", url: "http://x", events: [] }), (err) => err instanceof ValidationError && JSON.stringify(err.details) === JSON.stringify(details));
  });

  test("a body that is not the error shape still gives status, http_<status> code and the X-Request-Id header", async () => {
    const { client } = newClient({ maxRetries: 0 });
    api.handler = () => ({ status: 502, headers: { "X-Request-Id": "req_proxy" }, text: "upstream went away" });
    await assert.rejects(
      () => client.webhooks.get("wh_1"),
      (err) => err instanceof APIError && err.status === 502 && err.code === "http_502" && err.requestId === "req_proxy" && /upstream went away/.test(err.message),
    );
  });

  test("a 2xx whose body is not JSON is an APIError invalid_response, not a SyntaxError", async () => {
    const { client } = newClient();
    api.handler = () => ({ status: 200, text: "<html>captive portal</html>" });
    await assert.rejects(() => client.webhooks.get("wh_1"), (err) => err instanceof APIError && err.status === 200 && err.code === "invalid_response" && err.requestId === "req_fake");
  });
});
