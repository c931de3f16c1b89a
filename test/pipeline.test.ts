import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { SEED_DATA, SEED_METADATA } from "./support/seed.mjs";
import { call, newAccount, newWebhook, plan, receiverEndpoint, sendEvent, waitFor, waitForReceived } from "./support/helpers";

const SEED_PAYLOAD = SEED_DATA;

/** verify_webhook.py from the seed, line for line, in node:crypto. */
function seedVerify(secret: string, headers: Record<string, string>, payload: string) {
  const signature = headers["x-rubric-signature"];
  const timestamp = headers["x-rubric-timestamp"];
  if (!signature || !timestamp) return false;
  const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  if (signature !== `sha256=${expected}`) return false;
  return Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300;
}

describe("delivery pipeline", () => {
  it("delivers the seed's envelope, signed the seed's way and the Standard Webhooks way", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("seed");
    const hook = await newWebhook(key, { url: ep.url, events: ["evaluation.completed"] });
    const event = await sendEvent(key, { type: "evaluation.completed", data: SEED_PAYLOAD, metadata: SEED_METADATA });
    expect(event.id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(event.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const [got] = await waitForReceived(ep.name, 1);
    const body = JSON.parse(got!.body);
    expect(body).toEqual({ id: event.id, type: "evaluation.completed", created_at: event.created_at, data: SEED_PAYLOAD, metadata: SEED_METADATA });
    expect(Object.keys(body)).toEqual(["id", "type", "created_at", "data", "metadata"]);

    const h = got!.headers;
    expect(h["content-type"]).toBe("application/json");
    expect(h["user-agent"]).toMatch(/^Rubric-Webhooks\/\d+\.\d+\.\d+$/);
    expect(h["x-rubric-event-id"]).toBe(event.id);
    expect(h["x-rubric-event-type"]).toBe("evaluation.completed");
    expect(h["x-rubric-delivery-id"]).toMatch(/^dlv_[0-9A-Z]{52}$/);
    expect(h["x-rubric-attempt"]).toBe("1");
    expect(Number(h["x-rubric-timestamp"])).toBeCloseTo(Date.now() / 1000, -2);
    expect(seedVerify(hook.secret, h, got!.body)).toBe(true);
    expect(seedVerify(hook.secret + "x", h, got!.body)).toBe(false);
    expect(seedVerify(hook.secret, h, got!.body.replace("0.87", "0.88"))).toBe(false);

    // Standard Webhooks, checked by the reference verifier.
    expect(h["webhook-id"]).toBe(event.id);
    expect(h["webhook-timestamp"]).toBe(h["x-rubric-timestamp"]);
    expect(new Webhook(hook.secret).verify(got!.body, h)).toEqual(body);

    const delivery = await waitFor(async () => {
      const d = await call("GET", `/v1/deliveries/${h["x-rubric-delivery-id"]}`, { key });
      return d.json.status === "succeeded" ? d.json : null;
    });
    expect(delivery).toMatchObject({ event_id: event.id, webhook_id: hook.id, success: true, attempts: 1, response_code: 200 });
    expect(delivery.attempt_log).toHaveLength(1);
    expect(delivery.attempt_log[0]).toMatchObject({ attempt: 1, trigger: "scheduled", response_code: 200, response_body: "ok", error: null });
  });

  it("omits the Standard Webhooks headers when the secret is not base64, as the seed's secret", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("seedsecret");
    const secret = "whsec_your_signing_secret";
    await newWebhook(key, { url: ep.url, secret });
    await sendEvent(key, { type: "alert.triggered", data: { alert: "x" } });
    const [got] = await waitForReceived(ep.name, 1);
    expect(seedVerify(secret, got!.headers, got!.body)).toBe(true);
    expect(got!.headers["webhook-signature"]).toBeUndefined();
  });

  it("retries a failing receiver and delivers on attempt 3, recording every attempt", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("flaky");
    await plan(ep.name, { fail_times: 2, fail_status: 503 });
    await newWebhook(key, { url: ep.url, retry_config: { max_retries: 5, backoff: "fixed", initial_delay_ms: 200 } });
    await sendEvent(key, { type: "sample.scored", data: { sample_id: "s1" } });
    const got = await waitForReceived(ep.name, 3);
    expect(got.map((g) => g.headers["x-rubric-attempt"])).toEqual(["1", "2", "3"]);
    expect(new Set(got.map((g) => g.headers["x-rubric-delivery-id"])).size).toBe(1);
    expect(got[2]!.received_at - got[1]!.received_at).toBeGreaterThanOrEqual(150);

    const id = got[0]!.headers["x-rubric-delivery-id"];
    const d = await waitFor(async () => {
      const r = await call("GET", `/v1/deliveries/${id}`, { key });
      return r.json.status === "succeeded" ? r.json : null;
    });
    expect(d.attempts).toBe(3);
    expect(d.attempt_log.map((a: any) => [a.attempt, a.response_code, a.error])).toEqual([
      [1, 503, "HTTP 503"],
      [2, 503, "HTTP 503"],
      [3, 200, null],
    ]);
    expect(d.attempt_log[0].next_attempt_at).not.toBeNull();
    expect(d.attempt_log[2].next_attempt_at).toBeNull();
  });

  it("ends an exhausted delivery failed with every attempt recorded", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("dead");
    await plan(ep.name, { status: 500, body: "x".repeat(10_000) });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 2, backoff: "fixed", initial_delay_ms: 100 } });
    await sendEvent(key, { type: "sample.scored", data: {} });
    await waitForReceived(ep.name, 3);
    const list = await waitFor(async () => {
      const r = await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key });
      return r.json.data[0]?.status === "failed" ? r.json : null;
    });
    expect(list.data[0]).toMatchObject({ success: false, attempts: 3, response_code: 500, last_error: "HTTP 500" });
    const d = await call("GET", `/v1/deliveries/${list.data[0].id}`, { key });
    expect(d.json.attempt_log).toHaveLength(3);
    // At most 4 KiB of a response is stored.
    expect(d.json.attempt_log[0].response_body).toHaveLength(4096);
    expect(d.json.completed_at).not.toBeNull();
    // Nothing more arrives after exhaustion.
    await new Promise((r) => setTimeout(r, 400));
    expect((await waitForReceived(ep.name, 0)).length).toBe(3);
  });

  it("keeps FIFO order while the head is retried", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("fifo");
    await plan(ep.name, { fail_times: 2 });
    await newWebhook(key, { url: ep.url, retry_config: { max_retries: 5, backoff: "fixed", initial_delay_ms: 150 } });
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push((await sendEvent(key, { type: "sample.scored", data: { n: i } })).id);
    const got = await waitForReceived(ep.name, 7);
    const firstSeen = [...new Set(got.map((g) => g.headers["x-rubric-event-id"]))];
    expect(firstSeen).toEqual(sent);
    // The first event is received three times before anything else.
    expect(got.slice(0, 3).map((g) => g.headers["x-rubric-event-id"])).toEqual([sent[0], sent[0], sent[0]]);
    expect(got.slice(3).map((g) => JSON.parse(g.body).data.n)).toEqual([1, 2, 3, 4]);
  });

  it("does not let a failing endpoint delay a healthy one", async () => {
    const { key } = await newAccount();
    const bad = receiverEndpoint("slowbad");
    const good = receiverEndpoint("good");
    await plan(bad.name, { delay_ms: 2500 });
    await newWebhook(key, { url: bad.url, timeout_ms: 1000, retry_config: { max_retries: 1, backoff: "fixed", initial_delay_ms: 60_000 } });
    await newWebhook(key, { url: good.url });
    const started = Date.now();
    for (let i = 0; i < 3; i++) await sendEvent(key, { type: "sample.scored", data: { n: i } });
    const got = await waitForReceived(good.name, 3, 5000);
    expect(got.map((g) => JSON.parse(g.body).data.n)).toEqual([0, 1, 2]);
    // The bad endpoint is still stuck on its first (timed-out) attempt; the good one did not wait for it.
    expect(got[2]!.received_at - started).toBeLessThan(1000);
  });

  it("records a timeout and a redirect as failures without following the redirect", async () => {
    const { key } = await newAccount();
    const slow = receiverEndpoint("timeout");
    const moved = receiverEndpoint("moved");
    const target = receiverEndpoint("target");
    await plan(slow.name, { delay_ms: 3000 });
    await plan(moved.name, { status: 302, headers: { location: target.url } });
    const retry = { max_retries: 0 };
    const h1 = await newWebhook(key, { url: slow.url, timeout_ms: 1000, retry_config: retry });
    const h2 = await newWebhook(key, { url: moved.url, retry_config: retry });
    await sendEvent(key, { type: "sample.scored", data: {} });
    const final = async (id: string) =>
      waitFor(async () => {
        const r = await call("GET", `/v1/webhooks/${id}/deliveries`, { key });
        return r.json.data[0]?.status === "failed" ? r.json.data[0] : null;
      }, 8000);
    expect(await final(h1.id)).toMatchObject({ response_code: null, last_error: "timed out after 1000 ms", attempts: 1 });
    expect(await final(h2.id)).toMatchObject({ response_code: 302, attempts: 1 });
    expect((await final(h2.id)).last_error).toContain("redirect (not followed)");
    expect(await (await fetch(target.url.replace("/hooks/", "/_received/"))).json()).toEqual([]);
  });
});
