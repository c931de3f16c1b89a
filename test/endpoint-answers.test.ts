import { describe, expect, it } from "vitest";
import { call, newAccount, newWebhook, plan, receiverEndpoint, received, waitFor, waitForReceived } from "./support/helpers";

describe("what the endpoint answers", () => {
  it("a 503 with Retry-After stretches the next attempt (up to twice the scheduled delay)", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("retry-after");
    await plan(ep.name, { fail_times: 1, fail_status: 503, headers: { "Retry-After": "30" } });
    await newWebhook(key, { url: ep.url, retry_config: { max_retries: 3, backoff: "fixed", initial_delay_ms: 500 } });
    await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: {} } });
    const [first, second] = await waitForReceived(ep.name, 2, 10_000);
    // Scheduled 500 ms ± 20 %, asked 30 s: clamped to twice the scheduled delay (800–1200 ms).
    expect(second!.received_at - first!.received_at).toBeGreaterThanOrEqual(750);
    expect(second!.received_at - first!.received_at).toBeLessThan(5000);
  });

  it("a 410 Gone disables the webhook at once, with the reason, and holds the rest", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("gone");
    await plan(ep.name, { status: 410 });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 5, backoff: "fixed", initial_delay_ms: 200 } });
    await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: { n: 1 } } });
    await waitForReceived(ep.name, 1);
    const disabled = await waitFor(async () => {
      const w = (await call("GET", `/v1/webhooks/${hook.id}`, { key })).json;
      return w.status === "disabled" ? w : null;
    });
    expect(disabled.disabled_reason).toBe("endpoint answered 410 Gone");
    const first = (await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key })).json.data[0];
    expect(first).toMatchObject({ status: "failed", response_code: 410, attempts: 1 });
    await new Promise((r) => setTimeout(r, 600));
    // Not retried, and nothing new is routed to a disabled webhook.
    await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: { n: 2 } } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(ep.name)).toHaveLength(1);
  });
});
