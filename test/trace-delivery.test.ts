// W3C trace context end to end (issue 17 part 4): a producer's traceparent is kept with the event,
// every attempt sends the same trace id with a span id of its own, the attempt records exactly
// what it sent, and without (or with an invalid) header the service starts a trace.
import { describe, expect, it } from "vitest";
import { parseTraceparent } from "../src/lib/trace-context";
import { DashboardClient } from "./dashboard-client";
import { call, newAccount, newWebhook, plan, receiverEndpoint, type Received, received, waitFor, waitForReceived } from "./support/helpers";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const PRODUCER_SPAN = "b7ad6b7169203331";
const TRACEPARENT = `00-${TRACE}-${PRODUCER_SPAN}-01`;
const TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
const SHAPE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

const event = { type: "sample.scored", data: { sample_id: "s_1", score: 0.9 } };

/** POST /v1/events with these headers; the 202 is expected. */
async function send(key: string, headers: Record<string, string> = {}, body: Record<string, unknown> = event) {
  const res = await call("POST", "/v1/events", { key, body, headers });
  expect(res.status, res.text).toBe(202);
  return res;
}

/** The trace id, span id and flags a receiver got. */
function traceOf(got: Received) {
  const header = got.headers.traceparent;
  expect(header).toMatch(SHAPE);
  return parseTraceparent(header)!;
}

/** A delivery's attempt log once it has `n` attempts. */
async function attemptLog(key: string, deliveryId: string, n: number) {
  return waitFor(async () => {
    const d = await call("GET", `/v1/deliveries/${deliveryId}`, { key });
    return d.status === 200 && d.json.attempt_log.length >= n ? (d.json.attempt_log as any[]) : null;
  }, 10_000, `${n} attempts of ${deliveryId}`);
}

describe("a producer's traceparent", () => {
  it("is kept with the event and sent on every attempt with the same trace id and a new span id; tracestate passes through", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-retry");
    await plan(ep.name, { fail_times: 1, fail_status: 503 });
    await newWebhook(key, { url: ep.url, retry_config: { max_retries: 2, backoff: "fixed", initial_delay_ms: 200 } });
    const res = await send(key, { traceparent: TRACEPARENT, tracestate: TRACESTATE });
    expect(res.headers.get("traceparent")).toBe(TRACEPARENT);
    expect(res.headers.get("tracestate")).toBe(TRACESTATE);
    expect(res.json).toMatchObject({ traceparent: TRACEPARENT, tracestate: TRACESTATE });

    const got = await waitForReceived(ep.name, 2);
    const [first, second] = got.map(traceOf);
    expect([first!.traceId, second!.traceId]).toEqual([TRACE, TRACE]);
    expect([first!.flags, second!.flags]).toEqual(["01", "01"]);
    expect(first!.parentId).not.toBe(PRODUCER_SPAN);
    expect(second!.parentId).not.toBe(PRODUCER_SPAN);
    expect(first!.parentId).not.toBe(second!.parentId);
    expect(got.map((g) => g.headers.tracestate)).toEqual([TRACESTATE, TRACESTATE]);

    // The attempt detail shows exactly what the receiver got, as its own field and among the request headers.
    const log = await attemptLog(key, got[0]!.headers["x-rubric-delivery-id"]!, 2);
    expect(log.map((a) => a.traceparent)).toEqual(got.map((g) => g.headers.traceparent));
    expect(log.map((a) => a.request_headers.traceparent)).toEqual(got.map((g) => g.headers.traceparent));
    expect(log.map((a) => a.request_headers.tracestate)).toEqual([TRACESTATE, TRACESTATE]);

    const stored = await call("GET", `/v1/events/${res.json.id}`, { key });
    expect(stored.json).toMatchObject({ traceparent: TRACEPARENT, tracestate: TRACESTATE });
  });

  it("does not change the signed bytes: the body is the envelope, and the signature verifies as before", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-signed");
    await newWebhook(key, { url: ep.url, secret: "whsec_your_signing_secret" });
    await send(key, { traceparent: TRACEPARENT });
    const [got] = await waitForReceived(ep.name, 1);
    const ts = got!.headers["x-rubric-timestamp"]!;
    const mac = await crypto.subtle.importKey("raw", new TextEncoder().encode("whsec_your_signing_secret"), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const sig = new Uint8Array(await crypto.subtle.sign("HMAC", mac, new TextEncoder().encode(`${ts}.${got!.body}`)));
    expect(got!.headers["x-rubric-signature"]).toBe(`sha256=${[...sig].map((b) => b.toString(16).padStart(2, "0")).join("")}`);
    expect(Object.keys(JSON.parse(got!.body)).sort()).toEqual(["created_at", "data", "id", "metadata", "type"]);
  });

  it("of a batch applies to every event of it (one trip), and an idempotent repeat answers with the first event's trace", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-batch");
    await newWebhook(key, { url: ep.url });
    const batch = await call("POST", "/v1/events/batch", { key, body: { events: [event, event, event] }, headers: { traceparent: TRACEPARENT } });
    expect(batch.status).toBe(202);
    expect(batch.headers.get("traceparent")).toBe(TRACEPARENT);
    // Items with idempotency keys take the ordinary (several-trip) path: the trace is kept there too.
    const keyed = await call("POST", "/v1/events/batch", {
      key,
      body: { events: [{ ...event, idempotency_key: "k1" }, { ...event, idempotency_key: "k2" }] },
      headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE },
    });
    expect(keyed.status).toBe(202);
    const got = await waitForReceived(ep.name, 5);
    const spans = new Set<string>();
    for (const g of got) {
      const t = traceOf(g);
      expect(t.traceId).toBe(TRACE);
      spans.add(t.parentId);
    }
    expect(spans.size).toBe(5);
    expect(got.filter((g) => g.headers.tracestate === TRACESTATE)).toHaveLength(2);
    for (const item of [...batch.json.data, ...keyed.json.data]) {
      expect((await call("GET", `/v1/events/${item.id}`, { key })).json.traceparent).toBe(TRACEPARENT);
    }

    // A repeat of a keyed event under another trace answers with the first event and its trace.
    const again = await send(key, { traceparent: `00-${"1".repeat(32)}-${"2".repeat(16)}-01`, "Idempotency-Key": "single-1" });
    const repeat = await send(key, { traceparent: `00-${"3".repeat(32)}-${"4".repeat(16)}-01`, "Idempotency-Key": "single-1" });
    expect(repeat.headers.get("idempotent-replayed")).toBe("true");
    expect(repeat.json.id).toBe(again.json.id);
    expect(repeat.headers.get("traceparent")).toBe(`00-${"1".repeat(32)}-${"2".repeat(16)}-01`);
  });

  it("of a future version is read as far as the spec allows and sent as version 00", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-future");
    await newWebhook(key, { url: ep.url });
    const res = await send(key, { traceparent: `01-${TRACE}-${PRODUCER_SPAN}-01-future-field` });
    expect(res.headers.get("traceparent")).toBe(TRACEPARENT);
    const [got] = await waitForReceived(ep.name, 1);
    expect(traceOf(got!).traceId).toBe(TRACE);
  });
});

describe("the dashboard", () => {
  it("shows the event's trace and each attempt's traceparent in its detail", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-dash");
    await plan(ep.name, { fail_times: 1, fail_status: 503 });
    await newWebhook(key, { url: ep.url, retry_config: { max_retries: 1, backoff: "fixed", initial_delay_ms: 200 } });
    const res = await send(key, { traceparent: TRACEPARENT, tracestate: "rojo=1" });
    const got = await waitForReceived(ep.name, 2);
    const deliveryId = got[0]!.headers["x-rubric-delivery-id"]!;
    await attemptLog(key, deliveryId, 2);
    const br = new DashboardClient();
    await br.signIn(key);
    const eventPage = (await br.get(`/dashboard/events/${res.json.id}`)).text;
    expect(eventPage).toContain(`<code>${TRACEPARENT}</code>`);
    expect(eventPage).toContain("tracestate: rojo=1");
    const page = (await br.get(`/dashboard/deliveries/${deliveryId}`)).text;
    for (const g of got) expect(page).toContain(`<code>traceparent: ${g.headers.traceparent}</code>`);
  });
});

describe("without a valid traceparent", () => {
  it("the service starts a trace: the 202 carries it and deliveries continue it", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-new");
    await newWebhook(key, { url: ep.url });
    const res = await send(key, { tracestate: TRACESTATE });
    const started = parseTraceparent(res.headers.get("traceparent"));
    expect(res.headers.get("traceparent")).toMatch(SHAPE);
    expect(started!.flags).toBe("01");
    // A tracestate without a traceparent belongs to no trace we know: not kept.
    expect(res.headers.get("tracestate")).toBeNull();
    expect(res.json.tracestate).toBeNull();
    const [got] = await waitForReceived(ep.name, 1);
    const sent = traceOf(got!);
    expect(sent.traceId).toBe(started!.traceId);
    expect(sent.parentId).not.toBe(started!.parentId);
    expect(got!.headers.tracestate).toBeUndefined();
    // Another request, another trace.
    const other = await send(key);
    expect(parseTraceparent(other.headers.get("traceparent"))!.traceId).not.toBe(started!.traceId);
  });

  it.each([
    ["uppercase hex", `00-${TRACE.toUpperCase()}-${PRODUCER_SPAN}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${PRODUCER_SPAN}-01`],
    ["garbage", "not-a-traceparent"],
  ])("an invalid one (%s) is ignored: still 202, a new trace, its tracestate dropped", async (_what, header) => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-invalid");
    await newWebhook(key, { url: ep.url });
    const res = await send(key, { traceparent: header, tracestate: TRACESTATE });
    const started = parseTraceparent(res.headers.get("traceparent"))!;
    expect(started.traceId).not.toBe(TRACE);
    expect(res.json.tracestate).toBeNull();
    const [got] = await waitForReceived(ep.name, 1);
    expect(traceOf(got!).traceId).toBe(started.traceId);
    expect(got!.headers.tracestate).toBeUndefined();
  });
});

describe("other sends", () => {
  it("a replay keeps the event's trace id with a new span id", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-replay");
    const hook = await newWebhook(key, { url: ep.url });
    const res = await send(key, { traceparent: TRACEPARENT });
    const [first] = await waitForReceived(ep.name, 1);
    expect((await call("POST", `/v1/events/${res.json.id}/replay`, { key, body: { webhook_id: hook.id } })).status).toBe(202);
    const got = await waitForReceived(ep.name, 2);
    const [a, b] = [traceOf(first!), traceOf(got[1]!)];
    expect(b.traceId).toBe(TRACE);
    expect(b.parentId).not.toBe(a.parentId);
    // A retry by delivery id too.
    expect((await call("POST", `/v1/deliveries/${first!.headers["x-rubric-delivery-id"]}/retry`, { key })).status).toBe(202);
    const third = (await waitForReceived(ep.name, 3))[2]!;
    expect(traceOf(third).traceId).toBe(TRACE);
    expect(new Set([a.parentId, b.parentId, traceOf(third).parentId]).size).toBe(3);
  });

  it("a test send starts its own trace, recorded on its attempt", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("trace-test-send");
    const hook = await newWebhook(key, { url: ep.url });
    const res = await call("POST", `/v1/webhooks/${hook.id}/test`, { key, body: { event_type: "sample.scored", payload: {} }, headers: { traceparent: TRACEPARENT } });
    expect(res.status).toBe(200);
    const [got] = await received(ep.name);
    const t = traceOf(got!);
    expect(t.traceId).not.toBe(TRACE);
    const [attempt] = await attemptLog(key, res.json.delivery_id, 1);
    expect(attempt.trigger).toBe("test");
    expect(attempt.traceparent).toBe(got!.headers.traceparent);
  });

  it("delivery.exhausted continues the exhausted event's trace", async () => {
    const { key } = await newAccount();
    const dead = receiverEndpoint("trace-dead");
    const ops = receiverEndpoint("trace-ops");
    await plan(dead.name, { status: 500 });
    await newWebhook(key, { url: dead.url, events: ["sample.*"], retry_config: { max_retries: 0 } });
    await newWebhook(key, { url: ops.url, events: ["delivery.exhausted"] });
    await send(key, { traceparent: TRACEPARENT });
    const [failed] = await waitForReceived(dead.name, 1);
    const [got] = await waitForReceived(ops.name, 1);
    expect(JSON.parse(got!.body).type).toBe("delivery.exhausted");
    const t = traceOf(got!);
    expect(t.traceId).toBe(TRACE);
    expect(t.parentId).not.toBe(traceOf(failed!).parentId);
  });

  it("a webhook's extra headers cannot set traceparent or tracestate", async () => {
    const { key } = await newAccount();
    for (const name of ["traceparent", "TraceState"]) {
      const res = await call("POST", "/v1/webhooks", { key, body: { name: "t", url: receiverEndpoint().url, events: ["*"], headers: { [name]: "x" } } });
      expect(res.status).toBe(422);
      expect(res.json.error.details).toEqual([expect.objectContaining({ field: `headers.${name}`, message: expect.stringMatching(/cannot be overridden/) })]);
    }
  });
});
