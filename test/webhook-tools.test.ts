import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, newAccount, newWebhook, plan, receiverEndpoint, received, waitFor, waitForReceived } from "./support/helpers";

const send = async (key: string, data: Record<string, unknown> = {}, type = "sample.scored") => (await call("POST", "/v1/events", { key, body: { type, data } })).json;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deliveriesOf = async (key: string, id: string, query = "") => (await call("GET", `/v1/webhooks/${id}/deliveries${query}`, { key })).json;

describe("POST /v1/webhooks/{id}/test", () => {
  it("sends a real, signed test event synchronously and answers as the seed's test_result", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("test-send");
    await plan(ep.name, { body: "thanks" });
    const hook = await newWebhook(key, { url: ep.url });
    const res = await call("POST", `/v1/webhooks/${hook.id}/test`, {
      key,
      body: { event_type: "evaluation.completed", payload: { evaluation_id: "eval_test", summary: { triage_accuracy: 0.85, safety_score: 0.92 } } },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "success", response_code: 200, response_body: "thanks", error: null });
    expect(res.json.duration_ms).toEqual(expect.any(Number));
    const [got] = await received(ep.name);
    const body = JSON.parse(got!.body);
    expect(body).toMatchObject({ id: res.json.event_id, type: "evaluation.completed", data: { evaluation_id: "eval_test" }, metadata: { test: true } });
    expect(new Webhook(hook.secret).verify(got!.body, got!.headers)).toEqual(body);
    const d = await call("GET", `/v1/deliveries/${res.json.delivery_id}`, { key });
    expect(d.json.attempt_log[0].trigger).toBe("test");
    // The test event is not fanned out to other webhooks.
    await sleep(200);
    expect(await received(ep.name)).toHaveLength(1);
  });

  it("reports a failing endpoint, works on a disabled webhook, and refuses unknown types", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("test-fail");
    await plan(ep.name, { status: 500, body: "boom" });
    const hook = await newWebhook(key, { url: ep.url });
    await call("POST", `/v1/webhooks/${hook.id}/disable`, { key });
    const res = await call("POST", `/v1/webhooks/${hook.id}/test`, { key, body: { event_type: "alert.triggered", payload: {} } });
    expect(res.json).toMatchObject({ status: "failed", response_code: 500, response_body: "boom", error: "HTTP 500" });
    const bad = await call("POST", `/v1/webhooks/${hook.id}/test`, { key, body: { event_type: "nope.nope", payload: {} } });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0].field).toBe("event_type");
  });
});

describe("delivery history and retries", () => {
  it("filters by status, event type and time, shows request headers, and retries one delivery", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("history");
    await plan(ep.name, { fail_times: 1, fail_status: 500 });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 0 } });
    await send(key, { n: 1 }, "sample.scored");
    await send(key, { n: 2 }, "alert.triggered");
    await waitForReceived(ep.name, 2);
    const all = await waitFor(async () => {
      const r = await deliveriesOf(key, hook.id);
      return r.data.length === 2 ? r : null;
    });
    expect(all.data.map((d: any) => [d.event_type, d.status])).toEqual([
      ["sample.scored", "failed"],
      ["alert.triggered", "succeeded"],
    ]);
    expect((await deliveriesOf(key, hook.id, "?status=failed")).data.map((d: any) => d.event_type)).toEqual(["sample.scored"]);
    expect((await deliveriesOf(key, hook.id, "?event_type=alert.triggered")).data).toHaveLength(1);
    expect((await deliveriesOf(key, hook.id, `?since=${new Date(Date.now() + 60_000).toISOString()}`)).data).toEqual([]);
    expect((await call("GET", `/v1/webhooks/${hook.id}/deliveries?status=bogus`, { key })).status).toBe(422);

    const failedId = all.data[0].id;
    const detail = (await call("GET", `/v1/deliveries/${failedId}`, { key })).json;
    expect(detail.attempt_log[0].request_headers["X-Rubric-Delivery-Id"]).toBe(failedId);
    expect(JSON.stringify(detail.attempt_log[0].request_headers)).not.toContain(hook.secret);

    const retry = await call("POST", `/v1/deliveries/${failedId}/retry`, { key });
    expect(retry.status).toBe(202);
    const after = await waitFor(async () => {
      const d = (await call("GET", `/v1/deliveries/${failedId}`, { key })).json;
      return d.status === "succeeded" ? d : null;
    });
    expect(after.attempt_log.map((a: any) => [a.attempt, a.trigger, a.response_code])).toEqual([
      [1, "scheduled", 500],
      [2, "manual", 200],
    ]);
    const other = await newAccount();
    expect((await call("POST", `/v1/deliveries/${failedId}/retry`, { key: other.key })).status).toBe(404);
    expect((await call("GET", `/v1/deliveries/${failedId}`, { key: other.key })).status).toBe(404);
  });

  it("retry_failed re-sends the failed deliveries of a window, in order, once", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("retry-failed");
    await plan(ep.name, { status: 503 });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 0 } });
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push((await send(key, { n: i })).id);
    await waitFor(async () => (await deliveriesOf(key, hook.id, "?status=failed")).data.length === 3);
    await plan(ep.name, {});
    const before = (await received(ep.name)).length;
    const since = new Date(Date.now() - 60_000).toISOString();
    const [first, second] = await Promise.all([
      call("POST", `/v1/webhooks/${hook.id}/retry_failed`, { key, body: { since } }),
      call("POST", `/v1/webhooks/${hook.id}/retry_failed`, { key, body: { since } }),
    ]);
    expect(first.status).toBe(202);
    expect(first.json).toEqual({ queued: 3, has_more: false });
    expect(second.status).toBe(202);
    await waitFor(async () => (await deliveriesOf(key, hook.id, "?status=succeeded")).data.length === 3);
    const resent = (await received(ep.name)).slice(before).filter((r) => r.answered === 200);
    expect([...new Set(resent.map((r) => JSON.parse(r.body).id))]).toEqual(sent);

    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await call("POST", `/v1/webhooks/${hook.id}/retry_failed`, { key, body: { since: future } })).json.queued).toBe(0);
    const backwards = await call("POST", `/v1/webhooks/${hook.id}/retry_failed`, { key, body: { since, until: since } });
    expect(backwards.status).toBe(422);
    expect((await call("POST", `/v1/webhooks/${hook.id}/retry_failed`, { key, body: { since: "yesterday" } })).status).toBe(422);
  });
});

describe("secret rotation", () => {
  it("GET /secret shows the secret that signs now, never cached, and 404 for another account's webhook", async () => {
    const { key } = await newAccount();
    const hook = await newWebhook(key, { url: receiverEndpoint("secret").url, secret: "whsec_my_own_secret_for_tests" });
    const shown = await call("GET", `/v1/webhooks/${hook.id}/secret`, { key });
    expect(shown.status).toBe(200);
    expect(shown.json).toEqual({ id: hook.id, secret: "whsec_my_own_secret_for_tests" });
    expect(shown.headers.get("cache-control")).toBe("no-store");
    const rotated = await call("POST", `/v1/webhooks/${hook.id}/rotate_secret`, { key, body: {} });
    expect((await call("GET", `/v1/webhooks/${hook.id}/secret`, { key })).json.secret).toBe(rotated.json.secret);
    const other = await newAccount();
    expect((await call("GET", `/v1/webhooks/${hook.id}/secret`, { key: other.key })).status).toBe(404);
  });

  it("signs with both secrets during the grace period and with the new one alone in X-Rubric-Signature", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("rotate");
    const hook = await newWebhook(key, { url: ep.url });
    const rotated = await call("POST", `/v1/webhooks/${hook.id}/rotate_secret`, { key, body: { grace_period_seconds: 3600 } });
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).toMatch(/^whsec_/);
    expect(rotated.json.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.json.previous_secret_expires_at) - Date.now()).toBeGreaterThan(3_500_000);
    await send(key);
    const [got] = await waitForReceived(ep.name, 1);
    expect(got!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    const body = JSON.parse(got!.body);
    expect(new Webhook(rotated.json.secret).verify(got!.body, got!.headers)).toEqual(body);
    expect(new Webhook(hook.secret).verify(got!.body, got!.headers)).toEqual(body);
    const { createHmac } = await import("node:crypto");
    const expected = createHmac("sha256", rotated.json.secret).update(`${got!.headers["x-rubric-timestamp"]}.${got!.body}`).digest("hex");
    expect(got!.headers["x-rubric-signature"]).toBe(`sha256=${expected}`);

    // Without a grace period the old secret stops signing at once.
    const again = await call("POST", `/v1/webhooks/${hook.id}/rotate_secret`, { key, body: { grace_period_seconds: 0 } });
    expect(again.json.previous_secret_expires_at).toBeNull();
    await send(key);
    const [, second] = await waitForReceived(ep.name, 2);
    const sigs = second!.headers["webhook-signature"]!.split(" ");
    // The first rotation's grace still covers the original secret; the second secret was dropped.
    expect(sigs).toHaveLength(2);
    expect(() => new Webhook(rotated.json.secret).verify(second!.body, second!.headers)).toThrow();
    expect(new Webhook(again.json.secret).verify(second!.body, second!.headers)).toBeTruthy();
    expect((await call("POST", `/v1/webhooks/${hook.id}/rotate_secret`, { key, body: { grace_period_seconds: 604_801 } })).status).toBe(422);
  });
});

describe("stats", () => {
  it("count deliveries by status with success rate and latency percentiles", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("stats");
    await plan(ep.name, { fail_times: 1, fail_status: 500 });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 0 } });
    for (let i = 0; i < 3; i++) await send(key, { i });
    await waitFor(async () => (await deliveriesOf(key, hook.id)).data.length === 3);
    const s = (await call("GET", `/v1/webhooks/${hook.id}/stats?window=24h`, { key })).json;
    expect(s).toMatchObject({ window: "24h", deliveries: { pending: 0, succeeded: 2, failed: 1, cancelled: 0, total: 3 }, attempts: 3 });
    expect(s.success_rate).toBeCloseTo(2 / 3);
    expect(s.latency_ms.p50).toEqual(expect.any(Number));
    expect(s.last_success_at).not.toBeNull();
    expect(s.last_failure_at).not.toBeNull();
    expect((await call("GET", `/v1/webhooks/${hook.id}/stats?window=2y`, { key })).status).toBe(422);
  });
});

describe("payload filters", () => {
  it("route by payload values, are validated at create, and filter_test explains", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("payload-filter");
    const bad = await call("POST", "/v1/webhooks", {
      key,
      body: { name: "f", url: ep.url, events: ["*"], filters: { "data.summary.triage_accuracy": { $less: 0.8 } } },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0].field).toContain("data.summary.triage_accuracy");
    const hook = await newWebhook(key, {
      url: ep.url,
      events: ["evaluation.completed"],
      filters: { projects: ["patient-triage"], "data.summary.triage_accuracy": { $lt: 0.8 } },
    });
    await send(key, { project_id: "patient-triage", summary: { triage_accuracy: 0.9 } }, "evaluation.completed");
    const low = await send(key, { project_id: "patient-triage", summary: { triage_accuracy: 0.7 } }, "evaluation.completed");
    await send(key, { project_id: "other", summary: { triage_accuracy: 0.5 } }, "evaluation.completed");
    const [got] = await waitForReceived(ep.name, 1);
    await sleep(300);
    expect((await received(ep.name)).map((r) => JSON.parse(r.body).id)).toEqual([low.id]);
    expect(got).toBeTruthy();

    const verdict = await call("POST", `/v1/webhooks/${hook.id}/filter_test`, {
      key,
      body: { event: { type: "evaluation.completed", data: { project_id: "patient-triage", summary: { triage_accuracy: 0.87 } } } },
    });
    expect(verdict.json.matches).toBe(false);
    const failedReason = verdict.json.reasons.find((r: any) => !r.passed);
    expect(failedReason.filter).toContain("data.summary.triage_accuracy");
    expect(failedReason.detail).toContain("0.87");
    const yes = await call("POST", `/v1/webhooks/${hook.id}/filter_test`, {
      key,
      body: { event: { type: "evaluation.completed", data: { project_id: "patient-triage", summary: { triage_accuracy: 0.5 } } } },
    });
    expect(yes.json.matches).toBe(true);
  });
});
