// Limits and bad input (DESIGN §5): oversized bodies (declared or streamed),
// bodies that are not JSON, malformed JSON, too many or too large headers, too
// long URLs and bad `limit`/`cursor` values all get a 4xx in the standard error
// shape and change nothing. Routes are taken from /openapi.json, so a new
// route is covered without being listed here.
//
// Codes: 413 payload_too_large, 415 unsupported_media_type, 414 uri_too_long, 431 request_header_fields_too_large, 400 bad_request
// (malformed JSON; and, for want of 414/431 codes, too long URLs and too many
// or too large headers), 422 validation_failed (limit, cursor).
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_HEADER_COUNT, MAX_URL_LENGTH } from "../src/middleware/limits";
import { ADMIN, call, newAccount, newWebhook, receiverEndpoint, sendEvent, waitFor } from "./support/helpers";

const KiB = 1024;
const EVENT_MAX = 256 * KiB;
const BATCH_MAX = 1024 * KiB;

type Answer = Awaited<ReturnType<typeof send>>;

/** Sends a request as it is given (no Content-Type added), to the Worker. */
async function send(method: string, path: string, init: { headers?: Record<string, string> | [string, string][]; body?: BodyInit } = {}) {
  const res = await exports.default.fetch(new Request(`http://rubric.test${path}`, { method, headers: init.headers, body: init.body }));
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

const expectError = (res: Answer, status: number, code: string) => {
  expect({ status: res.status, code: res.json?.error?.code }, res.text.slice(0, 300)).toEqual({ status, code });
  expect(res.json.error.message).toEqual(expect.any(String));
  expect(res.json.error.request_id).toMatch(/^req_/);
  expect(res.headers.get("X-Request-Id")).toBe(res.json.error.request_id);
};

/** `value` as JSON padded with trailing whitespace to exactly `bytes` bytes. */
function jsonOfSize(value: unknown, bytes: number): string {
  const text = JSON.stringify(value);
  if (text.length > bytes) throw new Error("value too large for the size asked");
  return text + " ".repeat(bytes - text.length);
}

/**
 * A body streamed in chunks without a Content-Length (chunked), counting what
 * was pulled from it. `text: null` streams spaces up to `spaceBytes`: endless
 * as far as any limit here goes, yet finite, so a broken limit fails the test
 * instead of hanging it.
 */
function chunked(text: string | null, { chunkBytes = 16 * KiB, spaceBytes = 64 * 1024 * KiB } = {}) {
  const bytes = text === null ? null : new TextEncoder().encode(text);
  const total = bytes?.length ?? spaceBytes;
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= total) return controller.close();
      const size = Math.min(chunkBytes, total - state.pulled);
      const chunk = bytes === null ? new Uint8Array(size).fill(0x20) : bytes.slice(state.pulled, state.pulled + size);
      state.pulled += size;
      controller.enqueue(chunk);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

/** Every table's rows (usage counters aside: every request is counted, refused or not). */
async function snapshot(): Promise<Record<string, string[]>> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT IN ('usage_counters', 'd1_migrations') ORDER BY name",
  ).all<{ name: string }>();
  const out: Record<string, string[]> = {};
  for (const { name } of tables.results) {
    const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
    out[name] = rows.results.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

const counts = (s: Record<string, string[]>) => Object.fromEntries(Object.entries(s).map(([t, rows]) => [t, rows.length]));

/** Asserts that nothing was written since `before`, counts first (clearer failures), then every row. */
async function expectUnchanged(before: Record<string, string[]>) {
  const after = await snapshot();
  expect(counts(after)).toEqual(counts(before));
  expect(after).toEqual(before);
}

interface Operation {
  method: string;
  /** The OpenAPI path, `{id}` and all. */
  template: string;
  /** With real ids of the fixture's resources. */
  path: string;
  body: "none" | "optional" | "required";
  admin: boolean;
  queries: string[];
}

/** An account with one of everything, all settled (no delivery in flight), and every operation of the API. */
interface Fixture {
  key: string;
  accountId: string;
  webhookId: string;
  eventId: string;
  deliveryId: string;
  apiKeyId: string;
  operations: Operation[];
}

let fx: Fixture;

beforeAll(async () => {
  const { id: accountId, key } = await newAccount("limits");
  const target = receiverEndpoint("limits");
  const hook = await newWebhook(key, { url: target.url, retry_config: { max_retries: 0 } });
  const event = await sendEvent(key, { type: "sample.scored", data: { sample_id: "s_1" } });
  const delivery = await waitFor(async () => {
    const r = await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key });
    return r.json.data[0]?.status === "succeeded" ? r.json.data[0] : null;
  }, 10_000, "the fixture's delivery");
  await waitFor(async () => (await call("GET", `/v1/events/${event.id}`, { key })).json.status === "dispatched", 10_000, "the fixture's event to be dispatched");
  const apiKeyId = (await call("GET", "/v1/api_keys", { key })).json.data[0].id as string;
  const portalLink = await call("POST", "/v1/portal_links", { key, body: { expires_in: 600 } });
  const ids: Record<string, string> = {
    portal_links: portalLink.json.id as string,
    accounts: accountId,
    webhooks: hook.id,
    events: event.id,
    deliveries: delivery.id,
    api_keys: apiKeyId,
  };
  const doc = (await call("GET", "/openapi.json")).json;
  const operations: Operation[] = [];
  for (const [template, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const resource = template.split("/")[2] ?? "";
      const path = template.replace("{id}", () => {
        if (!ids[resource]) throw new Error(`no fixture id for ${template}`);
        return ids[resource]!;
      });
      operations.push({
        method: method.toUpperCase(),
        template,
        path,
        body: op.requestBody ? (op.requestBody.required ? "required" : "optional") : "none",
        admin: JSON.stringify(op.security ?? []).includes("operatorToken"),
        queries: (op.parameters ?? []).filter((p: any) => p.in === "query").map((p: any) => p.name),
      });
    }
  }
  fx = { key, accountId, webhookId: hook.id, eventId: event.id, deliveryId: delivery.id, apiKeyId, operations };
});

const auth = (op: Pick<Operation, "admin">) => (op.admin ? ADMIN : { Authorization: `Bearer ${fx.key}` });
/** Every operation that may take a body; the destructive ones last, so that if one of them wrongly goes through, the others still say what they do. */
const destructive = (op: Operation) => op.method === "DELETE" || op.template.endsWith("/disable");
const writes = () => fx.operations.filter((op) => op.method !== "GET").sort((x, y) => Number(destructive(x)) - Number(destructive(y)));
const bodyLimitOf = (op: Operation) =>
  op.method === "POST" && op.template === "/v1/events" ? EVENT_MAX : op.method === "POST" && op.template === "/v1/events/batch" ? BATCH_MAX : DEFAULT_MAX_BODY_BYTES;

describe("the route table", () => {
  it("has every write operation this file expects to sweep", () => {
    const names = writes().map((op) => `${op.method} ${op.template}`);
    // A sanity check that the sweep below is not vacuous; new routes are swept automatically.
    expect(names).toEqual(
      expect.arrayContaining([
        "POST /v1/webhooks",
        "PATCH /v1/webhooks/{id}",
        "DELETE /v1/webhooks/{id}",
        "POST /v1/webhooks/{id}/disable",
        "POST /v1/webhooks/{id}/rotate_secret",
        "POST /v1/events",
        "POST /v1/events/batch",
        "POST /v1/events/{id}/replay",
        "POST /v1/deliveries/{id}/retry",
        "POST /v1/accounts/{id}/disable",
      ]),
    );
  });
});

describe("request bodies over the limit", () => {
  it("are refused with a 413 on every write route (64 KiB; events 256 KiB, batches 1 MiB), changing nothing", async () => {
    const before = await snapshot();
    for (const op of writes()) {
      const max = bodyLimitOf(op);
      const res = await send(op.method, op.path, { headers: { ...auth(op), "Content-Type": "application/json" }, body: jsonOfSize({ pad: true }, max + 1) });
      expectError(res, 413, "payload_too_large");
      expect(res.json.error.message).toContain(String(max));
    }
    await expectUnchanged(before);
  });

  it("are refused from Content-Length alone, before the body is read", async () => {
    const before = await snapshot();
    const res = await send("POST", "/v1/webhooks", {
      headers: { Authorization: `Bearer ${fx.key}`, "Content-Type": "application/json", "Content-Length": String(10 * 1024 * KiB) },
      body: "{}",
    });
    expectError(res, 413, "payload_too_large");
    const bad = await send("POST", "/v1/webhooks", { headers: { Authorization: `Bearer ${fx.key}`, "Content-Type": "application/json", "Content-Length": "12abc" }, body: "{}" });
    expectError(bad, 400, "bad_request");
    expect(bad.json.error.message).toContain("Content-Length");
    await expectUnchanged(before);
  });

  it("are refused while reading when streamed without a Content-Length, and the rest is not pulled", async () => {
    const before = await snapshot();
    // A chunked body of 64 MiB: the answer comes long before the sender runs out.
    const endless = chunked(null);
    const res = await send("POST", "/v1/webhooks", { headers: { Authorization: `Bearer ${fx.key}`, "Content-Type": "application/json" }, body: endless.stream });
    expectError(res, 413, "payload_too_large");
    expect(endless.state.pulled).toBeGreaterThan(DEFAULT_MAX_BODY_BYTES);
    expect(endless.state.pulled).toBeLessThan(16 * 1024 * KiB);
    // A finite one just over an event's limit.
    const over = chunked(jsonOfSize({ type: "sample.scored", data: {} }, EVENT_MAX + 1));
    expectError(await send("POST", "/v1/events", { headers: { Authorization: `Bearer ${fx.key}`, "Content-Type": "application/json" }, body: over.stream }), 413, "payload_too_large");
    // Before anything else, authentication included: an oversized body costs no lookup.
    expectError(await send("POST", "/v1/webhooks", { headers: { "Content-Type": "application/json" }, body: jsonOfSize({}, DEFAULT_MAX_BODY_BYTES + 1) }), 413, "payload_too_large");
    await expectUnchanged(before);
  });
});

describe("request bodies that are not JSON", () => {
  it("are refused with a 415 on every write route, whatever its body schema, changing nothing", async () => {
    const before = await snapshot();
    for (const op of writes()) {
      const wrongs: Array<[string, { headers: Record<string, string>; body: BodyInit }]> = [
        ["text/plain", { headers: { ...auth(op), "Content-Type": "text/plain" }, body: '{"reason":"x"}' }],
        ["a form", { headers: { ...auth(op), "Content-Type": "application/x-www-form-urlencoded" }, body: "reason=x" }],
        ["no Content-Type", { headers: auth(op), body: new TextEncoder().encode('{"reason":"x"}') }],
        ["application/jsonx", { headers: { ...auth(op), "Content-Type": "application/jsonx" }, body: "{}" }],
      ];
      for (const [label, init] of wrongs) {
        const res = await send(op.method, op.path, init);
        expect(res.status, `${op.method} ${op.template} with ${label}: ${res.text.slice(0, 200)}`).toBe(415);
        expectError(res, 415, "unsupported_media_type");
      }
    }
    await expectUnchanged(before);
  });
});

describe("malformed JSON", () => {
  it("is refused with a 400 on every route with a body, changing nothing", async () => {
    const before = await snapshot();
    for (const op of writes().filter((o) => o.body !== "none")) {
      for (const body of ["{not json", '{"a":1', "[1,2,]"]) {
        const res = await send(op.method, op.path, { headers: { ...auth(op), "Content-Type": "application/json" }, body });
        expect(res.status, `${op.method} ${op.template} with ${body}: ${res.text.slice(0, 200)}`).toBe(400);
        expectError(res, 400, "bad_request");
      }
    }
    await expectUnchanged(before);
  });
});

describe("request headers", () => {
  const get = (headers: [string, string][]) => send("GET", "/v1/webhooks", { headers: [["Authorization", `Bearer ${fx.key}`], ...headers] });

  it(`are refused beyond ${MAX_HEADER_COUNT} of them with a 431, changing nothing`, async () => {
    const before = await snapshot();
    const many = Array.from({ length: MAX_HEADER_COUNT + 1 }, (_, i): [string, string] => [`x-pad-${i}`, "1"]);
    const res = await get(many);
    expectError(res, 431, "request_header_fields_too_large");
    expect(res.json.error.message).toContain("headers");
    // Also on a write: refused before its body is looked at.
    const post = await send("POST", "/v1/webhooks", {
      headers: [["Authorization", `Bearer ${fx.key}`], ["Content-Type", "application/json"], ...many],
      body: JSON.stringify({ name: "x", url: receiverEndpoint().url, events: ["*"] }),
    });
    expectError(post, 431, "request_header_fields_too_large");
    await expectUnchanged(before);
    expect((await get(many.slice(0, MAX_HEADER_COUNT - 10))).status).toBe(200);
  });

  it(`are refused beyond ${MAX_HEADER_BYTES / KiB} KiB in all with a 431, changing nothing`, async () => {
    const before = await snapshot();
    const one = await get([["x-big", "a".repeat(MAX_HEADER_BYTES)]]);
    expectError(one, 431, "request_header_fields_too_large");
    expect(one.json.error.message).toContain("headers");
    // Many headers, each small, together too large.
    expectError(await get(Array.from({ length: 40 }, (_, i): [string, string] => [`x-pad-${i}`, "b".repeat(KiB)])), 431, "request_header_fields_too_large");
    await expectUnchanged(before);
    expect((await get([["x-big", "a".repeat(MAX_HEADER_BYTES - 2 * KiB)]])).status).toBe(200);
  });
});

describe("request URLs", () => {
  it(`are refused beyond ${MAX_URL_LENGTH} characters with a 414, changing nothing`, async () => {
    const before = await snapshot();
    const headers = { Authorization: `Bearer ${fx.key}` };
    const longQuery = await send("GET", `/v1/webhooks?pad=${"q".repeat(MAX_URL_LENGTH)}`, { headers });
    expectError(longQuery, 414, "uri_too_long");
    expect(longQuery.json.error.message).toContain("URL");
    // Refused as too long, not as unknown.
    expectError(await send("GET", `/v1/${"p".repeat(MAX_URL_LENGTH)}`, { headers }), 414, "uri_too_long");
    expectError(
      await send("POST", `/v1/webhooks?pad=${"q".repeat(MAX_URL_LENGTH)}`, {
        headers: { ...headers, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "x", url: receiverEndpoint().url, events: ["*"] }),
      }),
      414,
      "uri_too_long",
    );
    await expectUnchanged(before);
    // Just within the limit, the route answers (unknown query parameters are ignored).
    const path = "/v1/webhooks?pad=";
    expect((await send("GET", path + "q".repeat(MAX_URL_LENGTH - path.length), { headers })).status).toBe(200);
  });
});

describe("limit and cursor", () => {
  const lists = () => fx.operations.filter((op) => op.method === "GET" && op.queries.includes("limit") && op.queries.includes("cursor"));

  it("are validated on every list with a 422 naming the field, changing nothing", async () => {
    expect(lists().map((op) => op.template)).toEqual(expect.arrayContaining(["/v1/webhooks", "/v1/events", "/v1/webhooks/{id}/deliveries", "/v1/accounts"]));
    const before = await snapshot();
    const bad: Array<[string, string]> = [
      ["limit", "0"],
      ["limit", "251"],
      ["limit", "-1"],
      ["limit", "1.5"],
      ["limit", "abc"],
      ["limit", ""],
      ["limit", "1e9"],
      ["cursor", "garbage"],
      ["cursor", "wh_"],
      ["cursor", "%00%FF"],
      ["cursor", "wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W'--"],
      ["cursor", "x".repeat(2000)],
    ];
    for (const op of lists()) {
      for (const [field, value] of bad) {
        const res = await send("GET", `${op.path}?${field}=${value}`, { headers: auth(op) });
        expect(res.status, `${op.template}?${field}=${value.slice(0, 40)}: ${res.text.slice(0, 200)}`).toBe(422);
        expectError(res, 422, "validation_failed");
        expect(res.json.error.details.map((d: any) => d.field)).toContain(field);
      }
    }
    await expectUnchanged(before);
  });

  it("page through with valid values", async () => {
    for (const op of lists()) {
      const first = await send("GET", `${op.path}?limit=1`, { headers: auth(op) });
      expect(first.status, `${op.template}: ${first.text.slice(0, 200)}`).toBe(200);
      expect(first.json.data.length).toBeLessThanOrEqual(1);
      if (first.json.next_cursor) {
        const next = await send("GET", `${op.path}?limit=250&cursor=${first.json.next_cursor}`, { headers: auth(op) });
        expect(next.status).toBe(200);
        expect(next.json.data.map((d: any) => d.id)).not.toContain(first.json.data[0].id);
      }
    }
  });
});

// Last: these write, and the deliveries they cause would show in the snapshots above.
describe("within the limits", () => {
  it("bodies up to the limit are accepted, declared or streamed", async () => {
    const headers = { Authorization: `Bearer ${fx.key}`, "Content-Type": "application/json" };
    const webhook = { name: "at the limit", url: receiverEndpoint("limits-ok").url, events: ["sample.scored"] };
    expect((await send("POST", "/v1/webhooks", { headers, body: jsonOfSize(webhook, DEFAULT_MAX_BODY_BYTES) })).status).toBe(201);
    expect((await send("POST", "/v1/webhooks", { headers, body: chunked(jsonOfSize(webhook, DEFAULT_MAX_BODY_BYTES)).stream })).status).toBe(201);
    // An event well past the general 64 KiB, exactly at its own 256 KiB.
    const event = { type: "sample.scored", data: { blob: "x".repeat(200 * KiB) } };
    expect((await send("POST", "/v1/events", { headers, body: jsonOfSize(event, EVENT_MAX) })).status).toBe(202);
    expect((await send("POST", "/v1/events", { headers, body: chunked(jsonOfSize(event, EVENT_MAX)).stream })).status).toBe(202);
    const batch = { events: [0, 1, 2, 3].map((n) => ({ type: "sample.scored", data: { n, blob: "y".repeat(200 * KiB) } })) };
    const res = await send("POST", "/v1/events/batch", { headers, body: jsonOfSize(batch, BATCH_MAX) });
    expect(res.status, res.text.slice(0, 200)).toBe(202);
    expect(res.json.data).toHaveLength(4);
  });

  it("bodies that are not JSON are refused even where the body is optional, while no body at all still works", async () => {
    const key = fx.key;
    const { id: webhookId } = await newWebhook(key, { url: receiverEndpoint("limits-optional").url });
    for (const path of [`/v1/webhooks/${webhookId}/disable`, `/v1/webhooks/${webhookId}/enable`, `/v1/webhooks/${webhookId}/rotate_secret`, `/v1/events/${fx.eventId}/replay`]) {
      expectError(await send("POST", path, { headers: { Authorization: `Bearer ${key}`, "Content-Type": "text/plain" }, body: "{}" }), 415, "unsupported_media_type");
    }
    const noBody = { headers: { Authorization: `Bearer ${key}` } };
    const disabled = await send("POST", `/v1/webhooks/${webhookId}/disable`, noBody);
    expect(disabled.status).toBe(200);
    expect(disabled.json).toMatchObject({ status: "disabled", disabled_reason: "disabled by API" });
    // An empty body with Content-Length: 0 is no body.
    const enabled = await send("POST", `/v1/webhooks/${webhookId}/enable`, { headers: { Authorization: `Bearer ${key}`, "Content-Length": "0" }, body: new Uint8Array(0) });
    expect(enabled.status).toBe(200);
    expect(enabled.json.status).toBe("active");
    const rotated = await send("POST", `/v1/webhooks/${webhookId}/rotate_secret`, noBody);
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).toMatch(/^whsec_/);
    expect((await send("POST", `/v1/events/${fx.eventId}/replay`, noBody)).status).toBe(202);
    expect((await send("POST", `/v1/deliveries/${fx.deliveryId}/retry`, noBody)).status).toBe(202);
    // JSON bodies still go through on the optional ones.
    const json = { headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json; charset=utf-8" }, body: '{"reason":"maintenance"}' };
    expect((await send("POST", `/v1/webhooks/${webhookId}/disable`, json)).json).toMatchObject({ status: "disabled", disabled_reason: "maintenance" });
    // Routes of the operator token too.
    const { id: accountId } = await newAccount("limits-ops");
    expect((await send("POST", `/v1/accounts/${accountId}/disable`, { headers: ADMIN })).status).toBe(200);
    expect((await send("POST", `/v1/accounts/${accountId}/enable`, { headers: ADMIN })).status).toBe(200);
  });
});
