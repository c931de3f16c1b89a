// An empty body is no body on every route whose body is optional (declared
// optional, or none declared at all): sent with `Content-Type: application/json`
// (with or without a charset), with another type, with `Content-Length: 0`,
// streamed, or as whitespace only, it is answered and acts exactly as a call
// that sent no body and no Content-Type. A non-empty body that is not JSON is
// still a 400 `bad_request` that changes nothing, and a route that requires a
// body still refuses an empty one with a 400.
//
// Routes come from /openapi.json: a new optional-body route fails the first
// test until it has a case in CASES; a new required-body route is checked
// without being listed.
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, newAccount, newWebhook, receiverEndpoint, received, sendEvent, waitFor, waitForReceived } from "./support/helpers";

type Answer = Awaited<ReturnType<typeof send>>;
type Init = { headers?: Record<string, string>; body?: BodyInit | (() => BodyInit) };

/** Sends a request exactly as given (no Content-Type added) to the Worker. */
async function send(method: string, path: string, init: Init = {}) {
  const body = typeof init.body === "function" ? init.body() : init.body;
  const res = await exports.default.fetch(new Request(`http://rubric.test${path}`, { method, headers: init.headers, body }));
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

const JSON_TYPE = { "Content-Type": "application/json" };
const JSON_UTF8 = { "Content-Type": "application/json; charset=utf-8" };
const none = () => new Uint8Array(0);
const emptyStream = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

/** What a caller sends for "no options": the first is the reference every other one must match. */
const EMPTY_BODIES: Array<[string, Init]> = [
  ["no Content-Type and no body", {}],
  ["application/json and no body", { headers: JSON_TYPE }],
  ["application/json and an empty body", { headers: JSON_TYPE, body: none }],
  ["application/json; charset=utf-8 and an empty body", { headers: JSON_UTF8, body: none }],
  ["application/json and Content-Length: 0", { headers: { ...JSON_TYPE, "Content-Length": "0" }, body: none }],
  ["application/json and an empty chunked body", { headers: JSON_TYPE, body: emptyStream }],
  ["application/json and whitespace only", { headers: JSON_TYPE, body: " \r\n\t " }],
  ["application/json; charset=utf-8 and whitespace only", { headers: JSON_UTF8, body: "\n" }],
  ["text/plain and an empty body", { headers: { "Content-Type": "text/plain" }, body: none }],
];

/** What both SDKs send when a method with an optional body is called without options (their request-building unit tests check it). */
const SDK_NO_OPTIONS: Array<[string, Init]> = [["application/json and {} (the SDKs, without options)", { headers: JSON_TYPE, body: "{}" }]];

/** Non-empty bodies declared JSON that are not JSON. */
const MALFORMED: Array<[string, Init]> = [
  ["application/json and '{'", { headers: JSON_TYPE, body: "{" }],
  ["application/json; charset=utf-8 and '{\"reason\":'", { headers: JSON_UTF8, body: '{"reason":' }],
  ["application/json and ' x '", { headers: JSON_TYPE, body: " x " }],
];

const expectBadRequest = (res: Answer, what: string) => {
  expect({ status: res.status, code: res.json?.error?.code }, `${what}: ${res.text.slice(0, 300)}`).toEqual({ status: 400, code: "bad_request" });
  expect(res.json.error.message).toEqual(expect.any(String));
  expect(res.json.error.request_id).toMatch(/^req_/);
  expect(res.headers.get("X-Request-Id")).toBe(res.json.error.request_id);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One thing a route acts on, made fresh for each call. */
interface Subject {
  path: string;
  headers: Record<string, string>;
  [k: string]: any;
}

interface Case {
  /** The success status, as for a call without a body. */
  status: number;
  make(key: string): Promise<Subject>;
  /** Asserts the call did what the route does. */
  applied(s: Subject, res: Answer): Promise<void>;
  /** Asserts the refused call changed nothing. */
  unchanged(s: Subject): Promise<void>;
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const hookStatus = async (key: string, id: string) => (await call("GET", `/v1/webhooks/${id}`, { key })).json;
const secretOf = async (key: string, id: string) => (await call("GET", `/v1/webhooks/${id}/secret`, { key })).json.secret as string;
const keyWorks = async (key: string) => (await call("GET", "/v1/webhooks", { key })).status;

/** A webhook whose first delivery has arrived at its receiver; returns the delivery id too. */
async function delivered(key: string) {
  const ep = receiverEndpoint("empty-body");
  const hook = await newWebhook(key, { url: ep.url, events: ["sample.scored"] });
  const event = await sendEvent(key, { type: "sample.scored", data: { n: 1 } });
  await waitForReceived(ep.name, 1);
  const delivery = await waitFor(async () => {
    const r = await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key });
    return r.json.data[0]?.status === "succeeded" ? r.json.data[0] : null;
  }, 10_000, "the first delivery");
  return { ep, hook, event, deliveryId: delivery.id as string };
}

/** Every optional-body route, by `METHOD /openapi/path`. */
const CASES: Record<string, Case> = {
  "POST /v1/webhooks/{id}/disable": {
    status: 200,
    async make(key) {
      const hook = await newWebhook(key, { url: receiverEndpoint().url });
      return { path: `/v1/webhooks/${hook.id}/disable`, headers: bearer(key), key, id: hook.id };
    },
    async applied(s, res) {
      expect(res.json).toMatchObject({ id: s.id, status: "disabled", disabled_reason: "disabled by API" });
      expect(await hookStatus(s.key, s.id)).toMatchObject({ status: "disabled", disabled_reason: "disabled by API" });
    },
    async unchanged(s) {
      expect(await hookStatus(s.key, s.id)).toMatchObject({ status: "active", disabled_reason: null });
    },
  },
  "POST /v1/webhooks/{id}/enable": {
    status: 200,
    async make(key) {
      const hook = await newWebhook(key, { url: receiverEndpoint().url });
      expect((await call("POST", `/v1/webhooks/${hook.id}/disable`, { key, body: { reason: "before enable" } })).status).toBe(200);
      return { path: `/v1/webhooks/${hook.id}/enable`, headers: bearer(key), key, id: hook.id };
    },
    async applied(s, res) {
      expect(res.json).toMatchObject({ id: s.id, status: "active", disabled_reason: null });
      expect(await hookStatus(s.key, s.id)).toMatchObject({ status: "active", disabled_reason: null });
    },
    async unchanged(s) {
      expect(await hookStatus(s.key, s.id)).toMatchObject({ status: "disabled", disabled_reason: "before enable" });
    },
  },
  "POST /v1/webhooks/{id}/rotate_secret": {
    status: 200,
    async make(key) {
      const hook = await newWebhook(key, { url: receiverEndpoint().url });
      return { path: `/v1/webhooks/${hook.id}/rotate_secret`, headers: bearer(key), key, id: hook.id, secret: hook.secret };
    },
    async applied(s, res) {
      expect(res.json.secret).toMatch(/^whsec_/);
      expect(res.json.secret).not.toBe(s.secret);
      // The default grace period applies, as without a body.
      const grace = Date.parse(res.json.previous_secret_expires_at) - Date.now();
      expect(grace).toBeGreaterThan(86_000_000);
      expect(grace).toBeLessThanOrEqual(86_400_000);
      expect(await secretOf(s.key, s.id)).toBe(res.json.secret);
    },
    async unchanged(s) {
      expect(await secretOf(s.key, s.id)).toBe(s.secret);
    },
  },
  "DELETE /v1/webhooks/{id}": {
    status: 200,
    async make(key) {
      const hook = await newWebhook(key, { url: receiverEndpoint().url });
      return { path: `/v1/webhooks/${hook.id}`, headers: bearer(key), key, id: hook.id };
    },
    async applied(s, res) {
      expect(res.json).toMatchObject({ id: s.id, deleted: true });
      expect((await call("GET", `/v1/webhooks/${s.id}`, { key: s.key })).status).toBe(404);
    },
    async unchanged(s) {
      expect((await call("GET", `/v1/webhooks/${s.id}`, { key: s.key })).status).toBe(200);
    },
  },
  "POST /v1/events/{id}/replay": {
    status: 202,
    async make(key) {
      const d = await delivered(key);
      return { path: `/v1/events/${d.event.id}/replay`, headers: bearer(key), key, ...d };
    },
    async applied(s, res) {
      // No body: every active webhook the event matches (here, the one).
      expect(res.json).toEqual({ data: [{ webhook_id: s.hook.id, delivery_id: s.deliveryId }] });
      await waitForReceived(s.ep.name, 2);
    },
    async unchanged(s) {
      await sleep(300);
      expect(await received(s.ep.name)).toHaveLength(1);
    },
  },
  "POST /v1/deliveries/{id}/retry": {
    status: 202,
    async make(key) {
      const d = await delivered(key);
      return { path: `/v1/deliveries/${d.deliveryId}/retry`, headers: bearer(key), key, ...d };
    },
    async applied(s, res) {
      expect(res.json).toEqual({ delivery_id: s.deliveryId, queued: true });
      await waitForReceived(s.ep.name, 2);
    },
    async unchanged(s) {
      await sleep(300);
      expect(await received(s.ep.name)).toHaveLength(1);
    },
  },
  "DELETE /v1/api_keys/{id}": {
    status: 200,
    async make(key) {
      const made = await call("POST", "/v1/api_keys", { key, body: { name: "reader", scopes: ["webhooks:read"], mode: "test" } });
      expect(made.status).toBe(201);
      return { path: `/v1/api_keys/${made.json.id}`, headers: bearer(key), key, id: made.json.id, made: made.json.key };
    },
    async applied(s, res) {
      expect(res.json).toMatchObject({ id: s.id, revoked_at: expect.any(String) });
      expect(await keyWorks(s.made)).toBe(401);
    },
    async unchanged(s) {
      expect(await keyWorks(s.made)).toBe(200);
    },
  },
  "DELETE /v1/portal_links/{id}": {
    status: 200,
    async make(key) {
      const made = await call("POST", "/v1/portal_links", { key, body: { expires_in: 600 } });
      expect(made.status).toBe(201);
      return { path: `/v1/portal_links/${made.json.id}`, headers: bearer(key), key, id: made.json.id };
    },
    async applied(s, res) {
      expect(res.json).toMatchObject({ id: s.id, status: "revoked" });
      const links = (await call("GET", "/v1/portal_links", { key: s.key })).json.data;
      expect(links.find((l: any) => l.id === s.id).status).toBe("revoked");
    },
    async unchanged(s) {
      const links = (await call("GET", "/v1/portal_links", { key: s.key })).json.data;
      expect(links.find((l: any) => l.id === s.id).status).toBe("unused");
    },
  },
  "POST /v1/accounts/{id}/disable": {
    status: 200,
    async make() {
      const account = await newAccount("empty-body-disable");
      return { path: `/v1/accounts/${account.id}/disable`, headers: ADMIN, ...account };
    },
    async applied(s, res) {
      expect(res.json).toMatchObject({ id: s.id, status: "disabled" });
      expect(await keyWorks(s.key)).toBe(401);
    },
    async unchanged(s) {
      expect(await keyWorks(s.key)).toBe(200);
    },
  },
  "POST /v1/accounts/{id}/enable": {
    status: 200,
    async make() {
      const account = await newAccount("empty-body-enable");
      expect((await call("POST", `/v1/accounts/${account.id}/disable`, { headers: ADMIN })).status).toBe(200);
      return { path: `/v1/accounts/${account.id}/enable`, headers: ADMIN, ...account };
    },
    async applied(s, res) {
      expect(res.json).toMatchObject({ id: s.id, status: "active" });
      expect(await keyWorks(s.key)).toBe(200);
    },
    async unchanged(s) {
      expect(await keyWorks(s.key)).toBe(401);
    },
  },
};

const WRITES = ["post", "put", "patch", "delete"];
interface Operation {
  key: string;
  method: string;
  template: string;
  operator: boolean;
  bodyRequired: boolean;
  /** The template with each path parameter's example. */
  examplePath: string;
}

let operations: Operation[];
beforeAll(async () => {
  const doc = (await call("GET", "/openapi.json")).json;
  operations = Object.entries<Record<string, any>>(doc.paths).flatMap(([template, item]) =>
    WRITES.filter((m) => item[m]).map((m) => {
      const op = item[m];
      const params = (op.parameters ?? []).filter((p: any) => p.in === "path");
      const examplePath = template.replace(/\{(\w+)\}/g, (_, name) => params.find((p: any) => p.name === name)?.schema?.example ?? "x");
      return {
        key: `${m.toUpperCase()} ${template}`,
        method: m.toUpperCase(),
        template,
        operator: JSON.stringify(op.security ?? []).includes("operatorToken"),
        bodyRequired: op.requestBody?.required === true,
        examplePath,
      };
    }),
  );
});

describe("the optional-body routes", () => {
  it("are every write route whose body is optional or absent, and each has a case here", () => {
    const optional = operations.filter((op) => !op.bodyRequired).map((op) => op.key).sort();
    expect(optional).toEqual(Object.keys(CASES).sort());
    // The ones the issue names, so the list above cannot quietly shrink.
    expect(optional).toEqual(
      expect.arrayContaining(["POST /v1/webhooks/{id}/disable", "POST /v1/webhooks/{id}/enable", "POST /v1/webhooks/{id}/rotate_secret", "POST /v1/events/{id}/replay", "POST /v1/deliveries/{id}/retry"]),
    );
  });
});

describe.each(Object.entries(CASES))("%s", (route, c) => {
  const method = route.split(" ")[0]!;

  it("takes an empty body, whatever its Content-Type, as no body: same status, same effect (and so `{}`)", async () => {
    for (const [label, init] of [...EMPTY_BODIES, ...SDK_NO_OPTIONS]) {
      // A fresh account each time, so no call here meets another's rate limit or key quota.
      const s = await c.make((await newAccount("empty-body")).key);
      const res = await send(method, s.path, { ...init, headers: { ...s.headers, ...init.headers } });
      expect(res.status, `${route} with ${label}: ${res.text.slice(0, 300)}`).toBe(c.status);
      await c.applied(s, res);
    }
  }, 120_000); // every route × every empty body, one after another: long on a loaded machine

  it("refuses a non-empty body that is not JSON with a 400, changing nothing", async () => {
    for (const [label, init] of MALFORMED) {
      const s = await c.make((await newAccount("empty-body")).key);
      const res = await send(method, s.path, { ...init, headers: { ...s.headers, ...init.headers } });
      expectBadRequest(res, `${route} with ${label}`);
      await c.unchanged(s);
    }
  }, 120_000); // every route × every empty body, one after another: long on a loaded machine
});

describe("routes that require a body", () => {
  it("still refuse an empty or whitespace-only one with a 400", async () => {
    const required = operations.filter((op) => op.bodyRequired);
    expect(required.map((op) => op.key)).toEqual(expect.arrayContaining(["POST /v1/webhooks", "PATCH /v1/webhooks/{id}", "POST /v1/webhooks/{id}/retry_failed", "POST /v1/webhooks/{id}/test"]));
    for (const op of required) {
      const auth = op.operator ? ADMIN : bearer((await newAccount("empty-body-required")).key);
      for (const [label, init] of EMPTY_BODIES.filter(([, i]) => i.headers?.["Content-Type"]?.startsWith("application/json"))) {
        // The ids are well-formed but unknown: the body is judged before anything is looked up.
        expectBadRequest(await send(op.method, op.examplePath, { ...init, headers: { ...auth, ...init.headers } }), `${op.key} with ${label}`);
      }
    }
  }, 120_000); // every route × every empty body, one after another: long on a loaded machine
});
