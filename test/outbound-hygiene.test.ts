// Outbound hygiene: what one attempt does with receivers that misbehave. The
// response body is read up to 64 KiB (4 KiB stored) and the rest cancelled;
// the webhook's timeout_ms covers the whole exchange, body included; a
// connection dropped mid-answer is a failed attempt with a network error.
//
// Outcomes recorded (see src/dispatch/attempt.ts):
// - a 2xx whose body is longer than the read cap: success, the first 4 KiB stored;
// - a 2xx whose body is still arriving at timeout_ms: failure, "timed out after N ms
//   while reading the response body", with the status code and what was read so far;
// - no answer at all by timeout_ms: failure, "timed out after N ms", no status code;
// - the connection dropped mid-body: failure, "network error: …", with the status code.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_RESPONSE_STORED, sendAttempt } from "../src/dispatch/attempt";
import { call, newAccount, newWebhook, plan, receiverEndpoint, received, sendEvent, waitFor, waitForReceived } from "./support/helpers";

interface AnswerStats {
  started_at: number;
  bytes_written: number;
  finished: boolean;
  client_closed: boolean;
  ended_at: number | null;
}

/** How the receiver's answers to `name` went. */
const stats = async (name: string): Promise<AnswerStats[]> => (await fetch(`${env.RECEIVER_URL}/_stats/${name}`)).json();

const MB = 1024 * 1024;
/** Slack for everything that is not our timeout (queue, Durable Object, D1, the test's polling). */
const MARGIN_MS = 5_000;

/** One webhook (timeout_ms, no retries) at a receiver behaving as `behaviour`; sends one event. */
async function deliverTo(behaviour: Record<string, unknown>, timeoutMs: number) {
  const { key } = await newAccount();
  const target = receiverEndpoint("hygiene");
  await plan(target.name, behaviour);
  const hook = await newWebhook(key, { url: target.url, timeout_ms: timeoutMs, retry_config: { max_retries: 0 } });
  const sentAt = Date.now();
  const event = await sendEvent(key, { type: "sample.scored", data: { sample_id: "s_1" } });
  return { key, target, hook, event, sentAt };
}

/** The webhook's only delivery once it is finished (as the list shows it), with its attempt log. */
async function finished(key: string, webhookId: string, timeoutMs: number) {
  const listed = await waitFor(
    async () => {
      const r = await call("GET", `/v1/webhooks/${webhookId}/deliveries`, { key });
      const d = r.json?.data?.[0];
      return d && d.status !== "pending" ? d : null;
    },
    timeoutMs,
    "the delivery to finish",
  );
  const detail = await call("GET", `/v1/deliveries/${listed.id}`, { key });
  expect(detail.status).toBe(200);
  expect(detail.json.attempt_log).toHaveLength(1);
  return { listed, detail: detail.json, attempt: detail.json.attempt_log[0] };
}

describe("outbound hygiene", () => {
  it("cuts off a receiver streaming 100 MB: success, at most 4 KiB stored, the rest never pulled", async () => {
    const total = 100 * MB;
    const { key, target, hook } = await deliverTo({ stream_bytes: total }, 2000);
    const { listed, attempt } = await finished(key, hook.id, 2000 + MARGIN_MS);
    expect(listed).toMatchObject({ status: "succeeded", success: true, response_code: 200, attempts: 1, last_error: null });
    expect(attempt.response_code).toBe(200);
    expect(attempt.error).toBeNull();
    expect(new TextEncoder().encode(attempt.response_body).byteLength).toBeLessThanOrEqual(4 * 1024);
    expect(attempt.response_body).toMatch(/^x+$/);
    // The receiver saw the client go away long before it could send everything.
    const [answer] = await waitFor(async () => {
      const s = await stats(target.name);
      return s[0]?.ended_at ? s : null;
    }, MARGIN_MS, "the receiver to see the connection end");
    expect(answer).toMatchObject({ finished: false, client_closed: true });
    expect(answer!.bytes_written).toBeLessThan(total / 4);
  });

  it("cuts off a receiver that never answers at timeout_ms", async () => {
    const { key, target, hook, sentAt } = await deliverTo({ hang: true }, 1000);
    const { listed, attempt } = await finished(key, hook.id, 1000 + MARGIN_MS);
    expect(listed).toMatchObject({ status: "failed", success: false, response_code: null, attempts: 1, last_error: "timed out after 1000 ms" });
    expect(attempt).toMatchObject({ response_code: null, response_body: null, error: "timed out after 1000 ms" });
    expect(attempt.duration_ms).toBeGreaterThanOrEqual(1000);
    expect(attempt.duration_ms).toBeLessThan(1000 + MARGIN_MS);
    expect(Date.now() - sentAt).toBeLessThan(1000 + 2 * MARGIN_MS);
    expect(await received(target.name)).toHaveLength(1);
    const [answer] = await waitFor(async () => {
      const s = await stats(target.name);
      return s[0]?.ended_at ? s : null;
    }, MARGIN_MS, "the receiver to see the connection end");
    expect(answer).toMatchObject({ finished: false, client_closed: true, bytes_written: 0 });
  });

  it("cuts off a receiver that trickles its body at timeout_ms", async () => {
    const { key, target, hook } = await deliverTo({ trickle_ms: 100 }, 1500);
    const { listed, attempt } = await finished(key, hook.id, 1500 + MARGIN_MS);
    expect(listed).toMatchObject({ status: "failed", success: false, attempts: 1 });
    expect(listed.last_error).toBe("timed out after 1500 ms while reading the response body");
    expect(attempt.error).toBe("timed out after 1500 ms while reading the response body");
    expect(attempt.response_code).toBe(200);
    expect(attempt.duration_ms).toBeGreaterThanOrEqual(1500);
    expect(attempt.duration_ms).toBeLessThan(1500 + MARGIN_MS);
    // What had arrived is kept: a few of the trickled bytes, never more than the cap.
    expect(attempt.response_body ?? "").toMatch(/^\.*$/);
    const [answer] = await waitFor(async () => {
      const s = await stats(target.name);
      return s[0]?.ended_at ? s : null;
    }, MARGIN_MS, "the receiver to see the connection end");
    expect(answer).toMatchObject({ finished: false, client_closed: true });
    // One byte per 100 ms: the receiver was cut off within the timeout plus the margin, not left trickling.
    expect(answer!.bytes_written).toBeLessThan((1500 + MARGIN_MS) / 100);
  });

  it("records a connection dropped mid-response as a failure with a network error", async () => {
    const { key, hook } = await deliverTo({ close_mid_response: true }, 2000);
    const { listed, attempt } = await finished(key, hook.id, 2000 + MARGIN_MS);
    expect(listed).toMatchObject({ status: "failed", success: false, attempts: 1 });
    expect(listed.last_error).toMatch(/^network error while reading the response body/);
    expect(attempt.error).toBe(listed.last_error);
    // The status line and headers had arrived: they are kept, with the part of the body read.
    expect(attempt.response_code).toBe(200);
    expect(attempt.response_body).toBe("partial answer, then the connection drops");
    expect(attempt.duration_ms).toBeLessThan(2000);
  });

  it("still answers the synchronous test send within the timeout for a trickling receiver", async () => {
    const { key } = await newAccount();
    const target = receiverEndpoint("hygiene-test");
    await plan(target.name, { trickle_ms: 100 });
    const hook = await newWebhook(key, { url: target.url, timeout_ms: 1000, retry_config: { max_retries: 0 } });
    const started = Date.now();
    const res = await call("POST", `/v1/webhooks/${hook.id}/test`, { key, body: { event_type: "sample.scored", payload: {} } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "failed", response_code: 200 });
    expect(res.json.error).toMatch(/^timed out after 1000 ms/);
    expect(Date.now() - started).toBeLessThan(1000 + MARGIN_MS);
    await waitForReceived(target.name, 1);
  });

  it("stores at most 4 KiB of a multi-byte body, without a character cut in half", async () => {
    const target = receiverEndpoint("hygiene-utf8");
    // One ASCII byte first, so the 4 KiB cut falls in the middle of an "é" (2 bytes).
    await plan(target.name, { body: "a" + "é".repeat(5000) });
    const result = await sendAttempt({
      url: target.url,
      secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
      body: "{}",
      eventId: "evt_01HV6Z8K2M3N4P5Q6R7S8T9V0W",
      eventType: "sample.scored",
      deliveryId: "dlv_test",
      attempt: 1,
      timeoutMs: 2000,
    });
    expect(result).toMatchObject({ ok: true, responseCode: 200, error: null });
    expect(result.responseBody).toBe("a" + "é".repeat(MAX_RESPONSE_STORED / 2 - 1));
    expect(new TextEncoder().encode(result.responseBody!).byteLength).toBeLessThanOrEqual(MAX_RESPONSE_STORED);
  });
});
