import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, call, newAccount, newWebhook, receiverEndpoint } from "./support/helpers";
import { records } from "./support/records";

const count = async (table: string) =>
  table === "events" ? records.count("SELECT count(*) AS n FROM events") : (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

const expectError = (res: Awaited<ReturnType<typeof call>>, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.json.error.code).toBe(code);
  expect(res.json.error.message).toEqual(expect.any(String));
  expect(res.json.error.request_id).toMatch(/^req_/);
  expect(res.headers.get("X-Request-Id")).toBe(res.json.error.request_id);
};

describe("accounts", () => {
  it("need the operator token", async () => {
    expectError(await call("POST", "/v1/accounts", { body: { name: "x" } }), 401, "unauthorized");
    expectError(await call("POST", "/v1/accounts", { body: { name: "x" }, headers: { Authorization: "Bearer wrong" } }), 401, "unauthorized");
  });

  it("come with an API key that is stored only as its SHA-256", async () => {
    const res = await call("POST", "/v1/accounts", { headers: ADMIN, body: { name: "acme", mode: "test" } });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ id: expect.stringMatching(/^acct_/), name: "acme", api_key: expect.stringMatching(/^rk_test_[A-Za-z0-9]{38}$/) });
    const live = await call("POST", "/v1/accounts", { headers: ADMIN, body: { name: "acme" } });
    expect(live.json.api_key).toMatch(/^rk_live_/);
    const rows = await env.DB.prepare("SELECT * FROM api_keys").all();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(res.json.api_key);
    const digest = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(res.json.api_key))).toString("hex");
    expect(dump).toContain(digest);
  });
});

describe("API keys", () => {
  it("are required on /v1, and a wrong one is refused", async () => {
    expectError(await call("GET", "/v1/webhooks"), 401, "unauthorized");
    expectError(await call("GET", "/v1/webhooks", { key: "rk_test_" + "A".repeat(32) }), 401, "unauthorized");
    expectError(await call("GET", "/v1/webhooks", { key: "not-a-key" }), 401, "unauthorized");
  });
});

describe("webhooks", () => {
  it("are created with a generated secret, shown only at creation", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint();
    const res = await call("POST", "/v1/webhooks", {
      key,
      body: {
        name: "production-notifications",
        url: ep.url,
        events: ["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
        filters: { projects: ["patient-triage", "symptom-checker"], severity: ["high", "critical"] },
        retry_config: { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 },
      },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      id: expect.stringMatching(/^wh_[0-9A-Z]{26}$/),
      name: "production-notifications",
      url: ep.url,
      status: "active",
      ordering: "fifo",
      max_in_flight: 6,
      rate_limit_per_second: null,
      timeout_ms: 10000,
      format: "json",
      filters: { projects: ["patient-triage", "symptom-checker"], severity: ["high", "critical"] },
      retry_config: { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 },
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/),
    });
    const got = await call("GET", `/v1/webhooks/${res.json.id}`, { key });
    expect(got.status).toBe(200);
    expect(got.json.secret).toBeUndefined();
    expect(got.text).not.toContain(res.json.secret);
    const list = await call("GET", "/v1/webhooks", { key });
    expect(list.json.data.map((w: any) => w.id)).toEqual([res.json.id]);
    expect(list.text).not.toContain(res.json.secret);
    expect(list.json.next_cursor).toBeNull();
    // Stored encrypted, never in plaintext.
    const stored = await env.DB.prepare("SELECT secret FROM webhooks WHERE id = ?").bind(res.json.id).first<{ secret: string }>();
    expect(stored!.secret).toMatch(/^v1\./);
    expect(stored!.secret).not.toContain(res.json.secret.slice(6));
  });

  it("keep a caller-supplied secret, as the seed supplies one", async () => {
    const { key } = await newAccount();
    const hook = await newWebhook(key, { url: receiverEndpoint().url, secret: "whsec_your_signing_secret" });
    expect(hook.secret).toBe("whsec_your_signing_secret");
  });

  it("page with a cursor", async () => {
    const { key } = await newAccount();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await newWebhook(key, { url: receiverEndpoint().url })).id);
    const p1 = await call("GET", "/v1/webhooks?limit=2", { key });
    const p2 = await call("GET", `/v1/webhooks?limit=2&cursor=${p1.json.next_cursor}`, { key });
    const p3 = await call("GET", `/v1/webhooks?limit=2&cursor=${p2.json.next_cursor}`, { key });
    expect([...p1.json.data, ...p2.json.data, ...p3.json.data].map((w: any) => w.id)).toEqual(ids);
    expect(p3.json.next_cursor).toBeNull();
    expectError(await call("GET", "/v1/webhooks?limit=251", { key }), 422, "validation_failed");
    expectError(await call("GET", "/v1/webhooks?cursor=bogus", { key }), 422, "validation_failed");
  });

  const valid = { name: "n", url: "https://hooks.example.com/x", events: ["evaluation.completed"] };
  const badFields: Array<[string, Record<string, unknown>, string]> = [
    ["missing name", { name: undefined }, "name"],
    ["empty name", { name: "  " }, "name"],
    ["url not a URL", { url: "not a url" }, "url"],
    ["ftp url", { url: "ftp://example.com/x" }, "url"],
    ["url with credentials", { url: "https://user:pw@example.com/x" }, "url"],
    ["missing events", { events: undefined }, "events"],
    ["empty events", { events: [] }, "events"],
    ["unknown event type", { events: ["evaluation.completed", "evaluation.exploded"] }, "events.1"],
    ["unknown wildcard", { events: ["nothing.*"] }, "events.0"],
    ["short secret", { secret: "short" }, "secret"],
    ["secret with spaces", { secret: "whsec_has a space in it" }, "secret"],
    ["filters not lists", { filters: { projects: "patient-triage" } }, "filters.projects"],
    ["unknown filter key", { filters: { colour: ["red"] } }, "filters.colour"],
    ["max_retries too high", { retry_config: { max_retries: 21 } }, "retry_config.max_retries"],
    ["negative max_retries", { retry_config: { max_retries: -1 } }, "retry_config.max_retries"],
    ["unknown backoff", { retry_config: { backoff: "random" } }, "retry_config.backoff"],
    ["initial delay without backoff", { retry_config: { initial_delay_ms: 1000 } }, "retry_config.backoff"],
    ["max below initial", { retry_config: { backoff: "linear", initial_delay_ms: 5000, max_delay_ms: 1000 } }, "retry_config.max_delay_ms"],
    ["schedule with backoff", { retry_config: { backoff: "fixed", schedule_ms: [1000] } }, "retry_config.schedule_ms"],
    ["timeout too short", { timeout_ms: 10 }, "timeout_ms"],
    ["timeout too long", { timeout_ms: 60_000 }, "timeout_ms"],
    ["unknown ordering", { ordering: "random" }, "ordering"],
    ["max_in_flight above 6", { max_in_flight: 7 }, "max_in_flight"],
    ["max_in_flight zero", { max_in_flight: 0 }, "max_in_flight"],
    ["rate limit zero", { rate_limit_per_second: 0 }, "rate_limit_per_second"],
    ["rate limit fractional", { rate_limit_per_second: 1.5 }, "rate_limit_per_second"],
    ["unknown top-level field", { colour: "red" }, "(body)"],
  ];

  it.each(badFields)("refuse %s with a 422 naming the field, writing nothing", async (_label, change, field) => {
    const { key } = await newAccount();
    const before = await count("webhooks");
    const res = await call("POST", "/v1/webhooks", { key, body: { ...valid, ...change } });
    expectError(res, 422, "validation_failed");
    expect(res.json.error.details.map((d: any) => d.field)).toContain(field);
    expect(await count("webhooks")).toBe(before);
  });

  it("refuse plain http and private addresses unless the switches allow them", async () => {
    const { key } = await newAccount();
    const { urlRefusal } = await import("../src/lib/url-guard");
    const strict = { allowInsecure: false, allowPrivate: false };
    expect(urlRefusal("http://example.com/x", strict)).toMatch(/https/);
    expect(urlRefusal("https://127.0.0.1/x", strict)).toMatch(/loopback/);
    expect(urlRefusal("https://0x7f.1/x", strict)).toMatch(/loopback/);
    expect(urlRefusal("https://[::ffff:10.0.0.1]/x", strict)).toMatch(/private/);
    expect(urlRefusal("https://169.254.169.254/latest", strict)).toMatch(/metadata/);
    expect(urlRefusal("https://metadata.google.internal/", strict)).toMatch(/metadata/);
    expect(urlRefusal("https://example.com:22/x", strict)).toMatch(/port/);
    expect(urlRefusal("https://hooks.example.com/x", strict)).toBeNull();
    // The test environment allows both, as local development does.
    expect((await call("POST", "/v1/webhooks", { key, body: { ...valid, url: "http://127.0.0.1:9/x" } })).status).toBe(201);
  });

  it("refuse malformed JSON with a 400 and a non-JSON body with a 415, writing nothing", async () => {
    const { key } = await newAccount();
    const before = await count("webhooks");
    expectError(await call("POST", "/v1/webhooks", { key, body: "{not json" }), 400, "bad_request");
    expectError(await call("POST", "/v1/webhooks", { key, body: "" }), 400, "bad_request");
    expectError(await call("POST", "/v1/webhooks", { key, body: "name=x", headers: { "Content-Type": "text/plain" } }), 415, "unsupported_media_type");
    expect(await count("webhooks")).toBe(before);
  });

  it("are invisible to other accounts", async () => {
    const a = await newAccount("a");
    const b = await newAccount("b");
    const hook = await newWebhook(a.key, { url: receiverEndpoint().url });
    expectError(await call("GET", `/v1/webhooks/${hook.id}`, { key: b.key }), 404, "not_found");
    expectError(await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: b.key }), 404, "not_found");
    expect((await call("GET", "/v1/webhooks", { key: b.key })).json.data).toEqual([]);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key: a.key })).status).toBe(200);
  });

  it("answer 404 in the standard shape for unknown ids and routes", async () => {
    const { key } = await newAccount();
    expectError(await call("GET", "/v1/webhooks/wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W", { key }), 404, "not_found");
    expectError(await call("GET", "/v1/nothing", { key }), 404, "not_found");
  });
});

describe("events", () => {
  it("are stored before the 202 and announced on the queue", async () => {
    const { key } = await newAccount();
    const res = await call("POST", "/v1/events", {
      key,
      body: { type: "evaluation.completed", data: { project_id: "patient-triage", x: 1 }, metadata: { m: "1" } },
    });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ id: expect.stringMatching(/^evt_/), type: "evaluation.completed", data: { project_id: "patient-triage", x: 1 }, metadata: { m: "1" }, project_id: "patient-triage", severity: null });
    const row = await records.prepare("SELECT * FROM events WHERE id = ?").bind(res.json.id).first<any>();
    expect(row).toMatchObject({ type: "evaluation.completed", project_id: "patient-triage", data: '{"project_id":"patient-triage","x":1}' });
  });

  const badEvents: Array<[string, unknown, string]> = [
    ["missing type", { data: {} }, "type"],
    ["unknown type", { type: "evaluation.exploded", data: {} }, "type"],
    ["operational type", { type: "webhook.disabled", data: {} }, "type"],
    ["missing data", { type: "sample.scored" }, "data"],
    ["data not an object", { type: "sample.scored", data: [1, 2] }, "data"],
    ["metadata not an object", { type: "sample.scored", data: {}, metadata: "x" }, "metadata"],
    ["severity not a string", { type: "sample.scored", data: {}, severity: 3 }, "severity"],
  ];

  it.each(badEvents)("refuse %s with a 422, storing nothing", async (_label, body, field) => {
    const { key } = await newAccount();
    const before = await count("events");
    const res = await call("POST", "/v1/events", { key, body });
    expectError(res, 422, "validation_failed");
    expect(res.json.error.details.map((d: any) => d.field)).toContain(field);
    expect(await count("events")).toBe(before);
  });

  it("refuse bodies over 256 KiB with a 413, storing nothing", async () => {
    const { key } = await newAccount();
    const before = await count("events");
    const res = await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: { blob: "x".repeat(300 * 1024) } } });
    expectError(res, 413, "payload_too_large");
    expect(await count("events")).toBe(before);
  });
});
