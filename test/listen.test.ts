import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { renderEnvelope } from "../src/delivery/envelope";
import { CHECK_MS, listenDeleteMs, listenExpireMs, type ListenLifecycle } from "../src/dispatch/listen-lifecycle";
import { SILENT_CLOSE_MS } from "../src/dispatch/listen-socket";
import { call, newAccount, newWebhook, sendEvent, waitFor } from "./support/helpers";
import { records } from "./support/records";
import { DashboardClient } from "./dashboard-client";

interface Frame {
  type: string;
  id: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  timeout_ms: number;
  headers: Record<string, string>;
  body: string;
}

/** A listener as the CLI is one: a WebSocket on the listen route, keeping every frame it gets. */
async function attach(key: string, webhookId: string) {
  const res = await exports.default.fetch(
    new Request(`http://rubric.test/v1/webhooks/${webhookId}/listen`, { headers: { Upgrade: "websocket", Authorization: `Bearer ${key}` } }),
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: Frame[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  const deliveries = () => frames.filter((f) => f.type === "delivery");
  return {
    ws,
    frames,
    deliveries,
    closed: () => closed,
    /** Waits for the n-th delivery frame (1-based). */
    delivery: (n: number) => waitFor(async () => deliveries()[n - 1], 10_000, `delivery frame ${n}`),
    answer: (f: Frame, status: number, body = "ok", extra: Record<string, unknown> = {}) =>
      ws.send(JSON.stringify({ type: "result", id: f.id, status, headers: { "content-type": "text/plain" }, body, duration_ms: 7, error: null, ...extra })),
  };
}

async function listenHook(key: string, body: Record<string, unknown> = {}) {
  return newWebhook(key, { url: "http://localhost:3000/webhook", transport: "listen", events: ["sample.*"], ...body });
}

const attemptsOf = async (webhookId: string) =>
  (
    await records
      .prepare("SELECT event_id, attempt, status, response_code, response_body, duration_ms FROM all_attempts WHERE webhook_id = ? ORDER BY delivery_id, attempt")
      .bind(webhookId)
      .all<{ event_id: string; attempt: number; status: string; response_code: number | null; response_body: string | null; duration_ms: number }>()
  ).results;

const objectOf = (webhookId: string) => env.ENDPOINT.get(env.ENDPOINT.idFromName(webhookId));
/** Runs the object's listen clocks as if it were `at`. */
const checkAt = (webhookId: string, at: number) =>
  runInDurableObject(objectOf(webhookId), (o) => (o as unknown as { listen: ListenLifecycle }).listen.check(at));

describe("rubric listen: the listen transport", () => {
  it("sends a delivery over the socket signed exactly as over HTTP, and the CLI's answer is the attempt record", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key);
    expect(hook).toMatchObject({ transport: "listen", url: "http://localhost:3000/webhook" });
    const l = await attach(key, hook.id);
    await waitFor(async () => l.frames.find((f) => f.type === "ready"), 5_000, "ready frame");
    expect(l.frames[0]).toEqual({ type: "ready", webhook_id: hook.id });

    const event = await sendEvent(key, { type: "sample.scored", data: { score: 0.91 } });
    const f = await l.delivery(1);
    expect(f).toMatchObject({ event_id: event.id, event_type: "sample.scored", attempt: 1, timeout_ms: hook.timeout_ms });
    const stored = await records.prepare("SELECT id, type, data, metadata, created_at AS createdAt FROM events WHERE id = ?").bind(event.id).first<any>();
    expect(f.body).toBe(renderEnvelope(stored));
    // Both signatures, checked the seed's way and by the reference Standard Webhooks verifier.
    const h = f.headers;
    expect(h["x-rubric-event-id"]).toBe(event.id);
    expect(h["x-rubric-delivery-id"]).toBe(f.delivery_id);
    const expected = createHmac("sha256", Buffer.from(hook.secret, "utf8")).update(`${h["x-rubric-timestamp"]}.${f.body}`).digest("hex");
    expect(h["x-rubric-signature"]).toBe(`sha256=${expected}`);
    expect(new Webhook(hook.secret).verify(f.body, h)).toEqual(JSON.parse(f.body));
    // Trace context travels as over HTTP: the event's trace id, a span id of the attempt's own.
    expect(h.traceparent).toMatch(new RegExp(`^00-${event.traceparent.split("-")[1]}-[0-9a-f]{16}-01$`));
    expect(h.traceparent).not.toBe(event.traceparent);

    l.answer(f, 200, "hello from localhost");
    const rows = await waitFor(async () => ((await attemptsOf(hook.id)).length === 1 ? attemptsOf(hook.id) : null));
    expect(rows).toEqual([{ event_id: event.id, attempt: 1, status: "succeeded", response_code: 200, response_body: "hello from localhost", duration_ms: 7 }]);
    const delivery = (await call("GET", `/v1/deliveries/${f.delivery_id}`, { key })).json;
    expect(delivery).toMatchObject({ status: "succeeded", response_code: 200, attempts: 1 });
    l.ws.close(1001, "test over");
  });

  it("retries a local 500 on the webhook's schedule, in FIFO order", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key, { retry_config: { max_retries: 3, backoff: "fixed", initial_delay_ms: 200 } });
    const l = await attach(key, hook.id);
    const first = await sendEvent(key, { type: "sample.scored", data: { i: 1 } });
    const second = await sendEvent(key, { type: "sample.scored", data: { i: 2 } });
    l.answer(await l.delivery(1), 500, "not yet");
    l.answer(await l.delivery(2), 200);
    l.answer(await l.delivery(3), 200);
    expect(l.deliveries().map((d) => [d.event_id, d.attempt])).toEqual([
      [first.id, 1],
      [first.id, 2],
      [second.id, 1],
    ]);
    await waitFor(async () => (await attemptsOf(hook.id)).filter((r) => r.status === "succeeded").length === 2);
    expect((await attemptsOf(hook.id)).map((r) => [r.event_id, r.attempt, r.status, r.response_code])).toEqual([
      [first.id, 1, "retrying", 500],
      [first.id, 2, "succeeded", 200],
      [second.id, 1, "succeeded", 200],
    ]);
    l.ws.close(1001, "test over");
  });

  it("holds deliveries while no listener is attached and sends them in order when one attaches, without spending attempts", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key);
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push((await sendEvent(key, { type: "sample.scored", data: { i } })).id);
    const backlog = async () => (await call("GET", "/v1/metrics", { key })).json.endpoints[0]?.backlog;
    await waitFor(async () => (await backlog()) === 3, 10_000, "three held");
    expect(await attemptsOf(hook.id)).toEqual([]);
    // Held on purpose, not a stall: the object is not reported asleep.
    expect((await call("GET", "/v1/metrics", { key })).json.endpoints[0].asleep).toBe(false);

    const l = await attach(key, hook.id);
    for (let n = 1; n <= 3; n++) l.answer(await l.delivery(n), 200);
    expect(l.deliveries().map((d) => [d.event_id, d.attempt])).toEqual(sent.map((id) => [id, 1]));
    await waitFor(async () => (await attemptsOf(hook.id)).length === 3);
    l.ws.close(1001, "test over");
  });

  it("fails an attempt whose listener drops before answering, and resends it to the next listener", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key, { retry_config: { max_retries: 3, backoff: "fixed", initial_delay_ms: 100 } });
    const a = await attach(key, hook.id);
    const event = await sendEvent(key, { type: "sample.scored", data: {} });
    await a.delivery(1);
    a.ws.close(4001, "gone"); // not 1000: the CLI did not stop on purpose
    const rows = await waitFor(async () => ((await attemptsOf(hook.id)).length ? attemptsOf(hook.id) : null));
    expect(rows[0]).toMatchObject({ event_id: event.id, attempt: 1, status: "retrying", response_code: null });
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json.status).toBe("active");

    const b = await attach(key, hook.id);
    const again = await b.delivery(1);
    expect(again).toMatchObject({ event_id: event.id, attempt: 2 });
    b.answer(again, 204, "");
    await waitFor(async () => (await attemptsOf(hook.id)).some((r) => r.status === "succeeded"));
    b.ws.close(1001, "test over");
  });

  it("a newer listener replaces the older one, which is told why", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key);
    const a = await attach(key, hook.id);
    const b = await attach(key, hook.id);
    await waitFor(async () => a.closed(), 5_000, "old socket closed");
    expect(a.closed()).toEqual({ code: 4000, reason: "replaced by a newer listener" });
    await sendEvent(key, { type: "sample.scored", data: {} });
    b.answer(await b.delivery(1), 200);
    expect(a.deliveries()).toEqual([]);
    b.ws.close(1001, "test over");
  });

  it("answers heartbeats, closes a silent or abusive socket, and a clean stop disables the webhook", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key);
    const l = await attach(key, hook.id);
    l.ws.send('{"type":"ping"}');
    await waitFor(async () => l.frames.find((f) => f.type === "pong"), 5_000, "pong");

    await checkAt(hook.id, Date.now() + SILENT_CLOSE_MS + 1_000);
    await waitFor(async () => l.closed(), 5_000, "silent socket closed");
    expect(l.closed()).toEqual({ code: 4008, reason: "no heartbeat" });

    const m = await attach(key, hook.id);
    m.ws.send("this is not json");
    await waitFor(async () => m.closed(), 5_000, "abusive socket closed");
    expect(m.closed()!.code).toBe(1008);

    const n = await attach(key, hook.id);
    n.ws.close(1000, "rubric listen stopped");
    const disabled = await waitFor(async () => {
      const w = (await call("GET", `/v1/webhooks/${hook.id}`, { key })).json;
      return w.status === "disabled" ? w : null;
    });
    expect(disabled.disabled_reason).toBe("rubric listen stopped");
  });

  it("disables a webhook whose listener stays away longer than LISTEN_EXPIRE_SECONDS, then deletes it", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key);
    const l = await attach(key, hook.id);
    l.ws.close(4001, "network went away");
    await waitFor(async () => l.closed());
    const gone = Date.now();
    await checkAt(hook.id, gone + listenExpireMs(env) - CHECK_MS);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json.status).toBe("active");
    await checkAt(hook.id, gone + listenExpireMs(env) + 1_000);
    const w = (await call("GET", `/v1/webhooks/${hook.id}`, { key })).json;
    expect(w).toMatchObject({ status: "disabled", transport: "listen" });
    expect(w.disabled_reason).toMatch(/^listener gone for \d+ s$/);
    await checkAt(hook.id, gone + listenExpireMs(env) + listenDeleteMs(env) + 2_000);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).status).toBe(404);
  });

  it("expires a listen webhook nobody attaches to, counted from its creation or its enabling", async () => {
    const { key } = await newAccount();
    const made = Date.now();
    const hook = await listenHook(key);
    await checkAt(hook.id, made + listenExpireMs(env) - CHECK_MS);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json.status).toBe("active");
    await checkAt(hook.id, Date.now() + listenExpireMs(env) + 1_000);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json.status).toBe("disabled");
    const enabled = Date.now();
    expect((await call("POST", `/v1/webhooks/${hook.id}/enable`, { key })).status).toBe(200);
    await checkAt(hook.id, enabled + listenExpireMs(env) - CHECK_MS);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json.status).toBe("active");
    await checkAt(hook.id, Date.now() + listenExpireMs(env) + 1_000);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json).toMatchObject({ status: "disabled", disabled_reason: expect.stringMatching(/^listener gone for \d+ s$/) });
  });

  it("takes a test send over the socket", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key);
    const l = await attach(key, hook.id);
    const pending = call("POST", `/v1/webhooks/${hook.id}/test`, { key, body: { event_type: "sample.scored", payload: { hello: "world" } } });
    l.answer(await l.delivery(1), 202, "seen");
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "success", response_code: 202 });
    l.ws.close(1001, "test over");
  });

  it("lets only the webhook's own account, with webhooks:write, attach, and only to a listen webhook", async () => {
    const { key } = await newAccount();
    const other = await newAccount("other");
    const hook = await listenHook(key);
    const http = await newWebhook(key, { url: `${env.RECEIVER_URL}/hooks/x`, events: ["*"] });
    const reader = (await call("POST", "/v1/api_keys", { key, body: { name: "reader", scopes: ["webhooks:read"], mode: "test" } })).json.key;
    const open = (k: string | null, id: string, upgrade = true) =>
      exports.default.fetch(
        new Request(`http://rubric.test/v1/webhooks/${id}/listen`, {
          headers: { ...(upgrade ? { Upgrade: "websocket" } : {}), ...(k ? { Authorization: `Bearer ${k}` } : {}) },
        }),
      );
    const status = async (res: Promise<Response>) => {
      const r = await res;
      return [r.status, r.status === 101 ? null : ((await r.json()) as { error: { code: string } }).error.code];
    };
    expect(await status(open(null, hook.id))).toEqual([401, "unauthorized"]);
    expect(await status(open(other.key, hook.id))).toEqual([404, "not_found"]);
    expect(await status(open(reader, hook.id))).toEqual([403, "forbidden"]);
    expect(await status(open(key, http.id))).toEqual([409, "conflict"]);
    expect(await status(open(key, hook.id, false))).toEqual([400, "bad_request"]);
    // A listen webhook's URL may be local (it is never fetched by the service), but must be a URL.
    const bad = await call("POST", "/v1/webhooks", { key, body: { name: "x", url: "not a url", transport: "listen", events: ["*"] } });
    expect(bad.status).toBe(422);
    expect((await call("GET", "/v1/webhooks?transport=listen", { key })).json.data.map((w: { id: string }) => w.id)).toEqual([hook.id]);
  });

  it("is marked as a listen webhook in the dashboard's list and detail pages", async () => {
    const { key } = await newAccount();
    const hook = await listenHook(key, { name: "laptop" });
    const http = await newWebhook(key, { name: "prod", url: `${env.RECEIVER_URL}/hooks/y`, events: ["*"] });
    const br = new DashboardClient();
    await br.signIn(key);
    const badge = />listen\s*<\/span>/;
    expect((await br.get(`/dashboard/webhooks/${hook.id}`)).text).toMatch(badge);
    expect((await br.get(`/dashboard/webhooks/${http.id}`)).text).not.toMatch(badge);
    const list = (await br.get("/dashboard/")).text;
    expect((list.match(new RegExp(badge, "g")) ?? []).length).toBe(1);
  });
});
