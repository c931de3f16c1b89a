// What an attempt row keeps (issue 16 part 3): request headers stored compact and rebuilt exactly as
// sent, response headers and body excerpts within their budgets, older rows readable as they are.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type AttemptFacts,
  attemptRequestHeaders,
  compactRequestHeaders,
  expandRequestHeaders,
  RESPONSE_STORED,
  storedResponseBody,
  storedResponseHeaders,
  UNSTORED_RESPONSE_HEADERS,
} from "../src/lib/attempt-storage";
import { call, newAccount, newWebhook, plan, receiverEndpoint, type Received, sendEvent, waitFor, waitForReceived } from "./support/helpers";
import { records } from "./support/records";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";
const FACTS: AttemptFacts = { eventId: "evt_1", eventType: "sample.scored", deliveryId: "dlv_1", attempt: 3, timestamp: 1_700_000_000, traceparent: TRACEPARENT };
const SIGS = { rubric: `sha256=${"ab".repeat(32)}`, standard: "v1,AAAA v1,BBBB" };

/** Headers the HTTP client adds on its own (not part of what an attempt sets). */
const TRANSPORT_HEADERS = new Set(["host", "content-length", "accept-encoding", "connection", "cf-worker"]);

/** The delivery's attempt log once it has `n` attempts. */
async function attemptLog(key: string, deliveryId: string, n: number) {
  return waitFor(async () => {
    const d = await call("GET", `/v1/deliveries/${deliveryId}`, { key });
    return d.status === 200 && d.json.attempt_log.length >= n ? (d.json.attempt_log as any[]) : null;
  }, 10_000, `${n} attempts of ${deliveryId}`);
}

/** The API's request headers are exactly what the receiver got: every name and value, and nothing it set missing. */
function expectSameHeaders(api: Record<string, string>, got: Received) {
  for (const [name, value] of Object.entries(api)) expect([name, got.headers[name.toLowerCase()]]).toEqual([name, value]);
  const shown = new Set(Object.keys(api).map((n) => n.toLowerCase()));
  expect(Object.keys(got.headers).filter((n) => !shown.has(n) && !TRANSPORT_HEADERS.has(n))).toEqual([]);
}

/** The stored `request_headers` text of one attempt. */
const storedRequestHeaders = (deliveryId: string, attempt: number) =>
  records.prepare("SELECT request_headers FROM all_attempts WHERE delivery_id = ? AND attempt = ?").bind(deliveryId, attempt).first<string>("request_headers");

describe("request headers, stored compact", () => {
  it("round-trip through the template, extra headers and a rotation's signatures included", () => {
    const sent = attemptRequestHeaders({ "X-Team": "ml", Authorization: "Bearer t" }, FACTS, SIGS);
    const stored = compactRequestHeaders(sent, FACTS);
    expect(stored).toEqual([2, SIGS.rubric, SIGS.standard, { "X-Team": "ml", Authorization: "Bearer t" }]);
    expect(JSON.stringify(expandRequestHeaders(stored, FACTS))).toBe(JSON.stringify(sent));
    expect(sent.traceparent).toBe(TRACEPARENT);
    const plain = attemptRequestHeaders(undefined, FACTS, { rubric: SIGS.rubric, standard: null });
    expect(compactRequestHeaders(plain, FACTS)).toEqual([2, SIGS.rubric]);
    expect(JSON.stringify(expandRequestHeaders([2, SIGS.rubric], FACTS))).toBe(JSON.stringify(plain));
  });

  it("send traceparent last (tracestate after it), the tracestate in its own slot, the traceparent from the row", () => {
    const sent = attemptRequestHeaders(undefined, FACTS, { ...SIGS, tracestate: "rojo=00f067aa0ba902b7" });
    expect(Object.entries(sent).slice(-2)).toEqual([
      ["traceparent", TRACEPARENT],
      ["tracestate", "rojo=00f067aa0ba902b7"],
    ]);
    const stored = compactRequestHeaders(sent, FACTS);
    expect(stored).toEqual([2, SIGS.rubric, SIGS.standard, null, "rojo=00f067aa0ba902b7"]);
    expect(JSON.stringify(expandRequestHeaders(stored, FACTS))).toBe(JSON.stringify(sent));
    // Another attempt's traceparent would not rebuild these: kept whole.
    expect(compactRequestHeaders(sent, { ...FACTS, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01" })).toBe(sent);
    // Nothing traced (no traceparent in the facts): no trace headers.
    expect(attemptRequestHeaders(undefined, { ...FACTS, traceparent: null }, SIGS).traceparent).toBeUndefined();
  });

  it("replace a webhook's own trace headers (configured before they were reserved), in any case", () => {
    const sent = attemptRequestHeaders({ TraceParent: "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01", tracestate: "x=y", "X-Team": "ml" }, FACTS, SIGS);
    expect(Object.keys(sent).filter((n) => n.toLowerCase().startsWith("trace"))).toEqual(["traceparent"]);
    expect(sent.traceparent).toBe(TRACEPARENT);
    expect(compactRequestHeaders(sent, FACTS)).toEqual([2, SIGS.rubric, SIGS.standard, { "X-Team": "ml" }]);
  });

  it("stored with template 1 (before trace context) come back without trace headers, extra headers as sent", () => {
    const v1 = expandRequestHeaders([1, SIGS.rubric, null, { traceparent: "theirs" }], FACTS)!;
    expect(v1.traceparent).toBe("theirs");
    expect(Object.keys(v1)[0]).toBe("traceparent");
    expect(expandRequestHeaders([1, SIGS.rubric], FACTS)!.traceparent).toBeUndefined();
  });

  it("are kept whole when the template would not rebuild them exactly", () => {
    const sent = attemptRequestHeaders(undefined, FACTS, SIGS);
    // Another attempt number, another timestamp, another order, nothing sent, a transport's own set.
    expect(compactRequestHeaders(sent, { ...FACTS, attempt: 4 })).toBe(sent);
    expect(compactRequestHeaders(sent, { ...FACTS, timestamp: FACTS.timestamp + 1 })).toBe(sent);
    const reordered = { "X-Rubric-Signature": "forged", ...sent };
    expect(compactRequestHeaders(reordered, FACTS)).toBe(reordered);
    expect(compactRequestHeaders({}, FACTS)).toEqual({});
    expect(compactRequestHeaders({ "x-seam": "scripted" }, FACTS)).toEqual({ "x-seam": "scripted" });
    // A full set read back is itself (rows from before the compact form).
    expect(expandRequestHeaders(sent, FACTS)).toBe(sent);
    expect(expandRequestHeaders(null, FACTS)).toBeNull();
    expect(() => expandRequestHeaders([9, "x"], FACTS)).toThrow(/unknown template 9/);
  });

  it("come back from the attempt API byte for byte as the receiver got them, signatures included", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("exact");
    await plan(ep.name, { fail_times: 1, fail_status: 503 });
    const hook = await newWebhook(key, {
      url: ep.url,
      headers: { "X-Team": "ml-platform", Authorization: "Bearer receiver-token-123" },
      retry_config: { max_retries: 2, backoff: "fixed", initial_delay_ms: 1100 },
    });
    // A rotation: both secrets sign webhook-signature.
    expect((await call("POST", `/v1/webhooks/${hook.id}/rotate_secret`, { key, body: { grace_period_seconds: 3600 } })).status).toBe(200);
    await sendEvent(key, { type: "sample.scored", data: { sample_id: "s_1", score: 0.5 } });
    const got = await waitForReceived(ep.name, 2);
    const deliveryId = got[0]!.headers["x-rubric-delivery-id"]!;
    const log = await attemptLog(key, deliveryId, 2);
    for (const [i, attempt] of log.entries()) expectSameHeaders(attempt.request_headers, got[i]!);
    expect(log[0].request_headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(log[1].request_headers["X-Rubric-Attempt"]).toBe("2");
    expect(log[1].request_headers["X-Rubric-Timestamp"]).not.toBe(log[0].request_headers["X-Rubric-Timestamp"]);
    // What D1 holds: the template version, the two signatures and the extra headers only.
    const stored = JSON.parse((await storedRequestHeaders(deliveryId, 1))!);
    expect(stored).toEqual([2, got[0]!.headers["x-rubric-signature"], got[0]!.headers["webhook-signature"], { "X-Team": "ml-platform", Authorization: "Bearer receiver-token-123" }]);
    // Each attempt's traceparent is its own column; the receiver got exactly that one.
    expect(log.map((a) => a.traceparent)).toEqual(got.slice(0, 2).map((g) => g.headers.traceparent));
  });

  it("without the Standard Webhooks trio (a secret that is not base64) come back as sent too", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("exact-plain");
    await newWebhook(key, { url: ep.url, secret: "whsec_your_signing_secret" });
    await sendEvent(key, { type: "sample.scored", data: {} });
    const [got] = await waitForReceived(ep.name, 1);
    const deliveryId = got!.headers["x-rubric-delivery-id"]!;
    const [attempt] = await attemptLog(key, deliveryId, 1);
    expectSameHeaders(attempt.request_headers, got!);
    expect(attempt.request_headers["webhook-signature"]).toBeUndefined();
    expect(JSON.parse((await storedRequestHeaders(deliveryId, 1))!)).toEqual([2, got!.headers["x-rubric-signature"]]);
  });

  it("of a row stored whole (before the compact form) read as stored", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("legacy");
    await newWebhook(key, { url: ep.url });
    await sendEvent(key, { type: "sample.scored", data: {} });
    const [got] = await waitForReceived(ep.name, 1);
    const deliveryId = got!.headers["x-rubric-delivery-id"]!;
    const [fresh] = await attemptLog(key, deliveryId, 1);
    const whole = { ...fresh.request_headers, "X-Old": "kept" };
    await records.prepare("UPDATE delivery_attempts SET request_headers = ? WHERE delivery_id = ?").bind(JSON.stringify(whole), deliveryId).run();
    const [old] = await attemptLog(key, deliveryId, 1);
    expect(JSON.stringify(old.request_headers)).toBe(JSON.stringify(whole));
  });
});

describe("response headers and body, within budgets", () => {
  const json = (h: Record<string, string> | null) => new TextEncoder().encode(JSON.stringify(h)).byteLength;

  it("drop framing, connection and browser-only headers and keep the important ones first", () => {
    const headers = Object.fromEntries([...UNSTORED_RESPONSE_HEADERS].map((n) => [n, "x"]));
    expect(storedResponseHeaders({ ...headers, server: "nginx" }, true)).toEqual({ server: "nginx" });
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-filler-${String(i).padStart(2, "0")}`, "v".repeat(40)]));
    const failure = storedResponseHeaders({ ...many, "retry-after": "120", location: "https://elsewhere.example/", "content-type": "text/html" }, false)!;
    expect(json(failure)).toBeLessThanOrEqual(RESPONSE_STORED.failure.headers);
    expect(failure).toMatchObject({ "retry-after": "120", location: "https://elsewhere.example/", "content-type": "text/html" });
    expect(Object.keys(failure)).toEqual([...Object.keys(failure)].sort());
    const success = storedResponseHeaders({ ...many, "content-type": "application/json" }, true)!;
    expect(json(success)).toBeLessThanOrEqual(RESPONSE_STORED.success.headers);
    expect(success["content-type"]).toBe("application/json");
    expect(storedResponseHeaders(null, true)).toBeNull();
    // A value too long for the budget is left out; a later one that fits is kept.
    expect(storedResponseHeaders({ a: "v".repeat(300), b: "short" }, true)).toEqual({ b: "short" });
  });

  it("cut the body at 256 bytes of a 2xx and 4 KiB otherwise, never inside a character", () => {
    expect(storedResponseBody("é".repeat(200), true)).toBe("é".repeat(128));
    expect(storedResponseBody("x".repeat(5000), false)).toHaveLength(4096);
    expect(storedResponseBody("ok", true)).toBe("ok");
    expect(storedResponseBody(null, false)).toBeNull();
  });

  it("are enforced on the stored attempts: a 2xx keeps 256 bytes of its body, a failure 4 KiB; the test send still answers with 4 KiB", async () => {
    const { key } = await newAccount();
    const noisy = {
      "content-type": "application/json",
      "set-cookie": "session=secret-cookie; HttpOnly",
      "strict-transport-security": "max-age=31536000",
      "x-request-id": "req_123",
      ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x-filler-${i}`, "v".repeat(50)])),
    };
    const ok = receiverEndpoint("caps-ok");
    await plan(ok.name, { body: "a".repeat(2000), headers: noisy });
    const okHook = await newWebhook(key, { url: ok.url });
    const bad = receiverEndpoint("caps-bad");
    await plan(bad.name, { status: 429, body: "b".repeat(6000), headers: { ...noisy, "retry-after": "1" } });
    const badHook = await newWebhook(key, { url: bad.url, retry_config: { max_retries: 0 } });
    await sendEvent(key, { type: "sample.scored", data: {} });
    const [gotOk] = await waitForReceived(ok.name, 1);
    const [gotBad] = await waitForReceived(bad.name, 1);
    const [okAttempt] = await attemptLog(key, gotOk!.headers["x-rubric-delivery-id"]!, 1);
    const [badAttempt] = await attemptLog(key, gotBad!.headers["x-rubric-delivery-id"]!, 1);
    expect(okAttempt.response_body).toBe("a".repeat(256));
    expect(json(okAttempt.response_headers)).toBeLessThanOrEqual(256);
    expect(okAttempt.response_headers).toMatchObject({ "content-type": "application/json", "x-request-id": "req_123" });
    expect(badAttempt.response_body).toBe("b".repeat(4096));
    expect(json(badAttempt.response_headers)).toBeLessThanOrEqual(1024);
    expect(badAttempt.response_headers).toMatchObject({ "content-type": "application/json", "retry-after": "1" });
    for (const a of [okAttempt, badAttempt]) {
      for (const name of ["set-cookie", "strict-transport-security", "date", "connection", "keep-alive", "transfer-encoding"]) {
        expect(a.response_headers[name]).toBeUndefined();
      }
    }
    // The test send answers with what was read (4 KiB), and records the excerpt.
    const test = await call("POST", `/v1/webhooks/${okHook.id}/test`, { key, body: { event_type: "sample.scored", payload: {} } });
    expect(test.json.response_body).toBe("a".repeat(2000));
    const [testAttempt] = await attemptLog(key, test.json.delivery_id, 1);
    expect(testAttempt).toMatchObject({ trigger: "test", response_body: "a".repeat(256) });
    expect(badHook.id).toMatch(/^wh_/);
  });
});
