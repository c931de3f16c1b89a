import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, newAccount, newWebhook, plan, receiverEndpoint, received, waitFor, waitForReceived } from "./support/helpers";

const send = (key: string) => call("POST", "/v1/events", { key, body: { type: "sample.scored", data: { s: 1 } } });
const bodies = async (name: string) => (await received(name)).map((r) => JSON.parse(r.body));

describe("operational events", () => {
  it("a 410 emits webhook.disabled to the account's subscribers, never to the webhook itself", async () => {
    const { key } = await newAccount();
    const gone = receiverEndpoint("gone-endpoint");
    const ops = receiverEndpoint("ops");
    await plan(gone.name, { status: 410 });
    const hook = await newWebhook(key, { name: "legacy", url: gone.url, events: ["*"] });
    await newWebhook(key, { url: ops.url, events: ["webhook.disabled"] });
    await send(key);
    const [got] = await waitForReceived(ops.name, 1);
    const event = JSON.parse(got!.body);
    expect(event).toMatchObject({
      type: "webhook.disabled",
      data: { webhook_id: hook.id, name: "legacy", url: gone.url, reason: "endpoint answered 410 Gone" },
      metadata: { operational: true },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await bodies(gone.name)).map((b) => b.type)).toEqual(["sample.scored"]);
    // Producers cannot send operational types themselves.
    expect((await call("POST", "/v1/events", { key, body: { type: "webhook.disabled", data: {} } })).status).toBe(422);
  });

  it("exhausted retries emit delivery.exhausted with the delivery's details", async () => {
    const { key } = await newAccount();
    const dead = receiverEndpoint("dead-endpoint");
    const ops = receiverEndpoint("ops-exhausted");
    await plan(dead.name, { status: 500 });
    const hook = await newWebhook(key, { url: dead.url, events: ["sample.*"], retry_config: { max_retries: 1, backoff: "fixed", initial_delay_ms: 100 } });
    await newWebhook(key, { url: ops.url, events: ["delivery.exhausted"] });
    const event = (await send(key)).json;
    const [got] = await waitForReceived(ops.name, 1);
    expect(JSON.parse(got!.body)).toMatchObject({
      type: "delivery.exhausted",
      data: { webhook_id: hook.id, event_id: event.id, event_type: "sample.scored", attempts: 2, response_code: 500, last_error: "HTTP 500" },
    });
    expect(JSON.parse(got!.body).data.delivery_id).toMatch(/^dlv_/);
  });

  it("a webhook failing for DISABLE_AFTER_HOURS with no success is disabled, and a success resets the clock", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("long-failing");
    const ops = receiverEndpoint("ops-auto");
    const hook = await newWebhook(key, { url: ep.url, events: ["sample.*"], retry_config: { max_retries: 0 } });
    await newWebhook(key, { url: ops.url, events: ["webhook.disabled"] });
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
    // A success first: no failure clock is kept for a healthy endpoint.
    await send(key);
    await waitForReceived(ep.name, 1);
    expect(await runInDurableObject(stub, (_o, state) => state.storage.get("failing_since"))).toBeUndefined();
    // Failing since 121 hours ago (the default limit is 120 h).
    await plan(ep.name, { status: 503 });
    await runInDurableObject(stub, (_o, state) => state.storage.put("failing_since", Date.now() - 121 * 3_600_000));
    await send(key);
    const disabled = await waitFor(async () => {
      const w = (await call("GET", `/v1/webhooks/${hook.id}`, { key })).json;
      return w.status === "disabled" ? w : null;
    });
    expect(disabled.disabled_reason).toMatch(/^failing continuously for 121 h/);
    const [got] = await waitForReceived(ops.name, 1);
    expect(JSON.parse(got!.body).data).toMatchObject({ webhook_id: hook.id, reason: disabled.disabled_reason });
  });

  it("keeps a failure clock only while failing: the first failure starts it, a success clears it", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("flaky-clock");
    await plan(ep.name, { fail_times: 1, fail_status: 503 });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 3, backoff: "fixed", initial_delay_ms: 400 } });
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
    await send(key);
    await waitForReceived(ep.name, 1);
    const started = await waitFor(async () => runInDurableObject(stub, (_o, state) => state.storage.get<number>("failing_since")));
    expect(started).toBeGreaterThan(Date.now() - 60_000);
    await waitForReceived(ep.name, 2);
    await waitFor(async () => (await runInDurableObject(stub, (_o, state) => state.storage.get("failing_since"))) === undefined);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json.status).toBe("active");
  });
});
