import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, newAccount, newWebhook, plan, receiverEndpoint, received, waitFor, waitForReceived } from "./support/helpers";

const send = (key: string, data: Record<string, unknown> = {}, type = "sample.scored") => call("POST", "/v1/events", { key, body: { type, data } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("PATCH /v1/webhooks/{id}", () => {
  it("changes fields, re-validates, and the next attempt uses the new URL", async () => {
    const { key } = await newAccount();
    const first = receiverEndpoint("before");
    const second = receiverEndpoint("after");
    const hook = await newWebhook(key, { url: first.url, description: "old" });
    const bad = await call("PATCH", `/v1/webhooks/${hook.id}`, { key, body: { url: "ftp://x", events: ["nope.nope"] } });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details.map((d: any) => d.field).sort()).toEqual(["events.0", "url"]);
    const res = await call("PATCH", `/v1/webhooks/${hook.id}`, { key, body: { url: second.url, description: null, name: "renamed" } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ url: second.url, description: null, name: "renamed" });
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json.url).toBe(second.url);
    await send(key);
    await waitForReceived(second.name, 1);
    expect(await received(first.name)).toEqual([]);
  });

  it("is a 404 for another account and a 422 for unknown fields", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const hook = await newWebhook(a.key, { url: receiverEndpoint().url });
    expect((await call("PATCH", `/v1/webhooks/${hook.id}`, { key: b.key, body: { name: "x" } })).status).toBe(404);
    const unknown = await call("PATCH", `/v1/webhooks/${hook.id}`, { key: a.key, body: { colour: "red" } });
    expect(unknown.status).toBe(422);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key: a.key })).json.name).toBe("test");
  });
});

describe("custom outbound headers", () => {
  it("are sent, and can never replace ours", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("headers");
    const refused = await call("POST", "/v1/webhooks", {
      key,
      body: { name: "h", url: ep.url, events: ["*"], headers: { "X-Rubric-Signature": "x", Host: "evil", "Bad Name": "v", "X-Ok": "a\nb" } },
    });
    expect(refused.status).toBe(422);
    expect(refused.json.error.details.map((d: any) => d.field).sort()).toEqual(["headers.Bad Name", "headers.Host", "headers.X-Ok", "headers.X-Rubric-Signature"]);
    await newWebhook(key, { url: ep.url, headers: { "X-Team": "ml-platform" } });
    await send(key);
    const [got] = await waitForReceived(ep.name, 1);
    expect(got!.headers["x-team"]).toBe("ml-platform");
  });
});

describe("disable and enable", () => {
  it("hold what is in flight, take nothing new, and resume on enable", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("disable");
    await plan(ep.name, { status: 503 });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 10, backoff: "fixed", initial_delay_ms: 300 } });
    const held = (await send(key, { n: 1 })).json.id;
    await waitForReceived(ep.name, 1);
    const disabled = await call("POST", `/v1/webhooks/${hook.id}/disable`, { key, body: { reason: "maintenance" } });
    expect(disabled.json).toMatchObject({ status: "disabled", disabled_reason: "maintenance" });
    const during = (await send(key, { n: 2 })).json.id;
    const countAtDisable = (await received(ep.name)).length;
    await sleep(1000);
    // At most the attempt already under way when it was disabled.
    expect((await received(ep.name)).length).toBeLessThanOrEqual(countAtDisable + 1);
    const frozen = (await received(ep.name)).length;
    await sleep(700);
    expect((await received(ep.name)).length).toBe(frozen);

    await plan(ep.name, {});
    const enabled = await call("POST", `/v1/webhooks/${hook.id}/enable`, { key });
    expect(enabled.json).toMatchObject({ status: "active", disabled_reason: null });
    const ok = await waitFor(async () => (await received(ep.name)).find((r) => r.answered === 200));
    expect(JSON.parse(ok.body).id).toBe(held);
    await sleep(300);
    // The event sent while disabled was never routed to it.
    expect((await received(ep.name)).some((r) => JSON.parse(r.body).id === during)).toBe(false);
  });
});

describe("DELETE /v1/webhooks/{id}", () => {
  it("cancels what waits, records it, clears the object, and the webhook is gone", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("delete");
    await plan(ep.name, { status: 500 });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 5, backoff: "fixed", initial_delay_ms: 60_000 } });
    await send(key, { n: 1 });
    await send(key, { n: 2 });
    await waitForReceived(ep.name, 1);
    const deliveries = await waitFor(async () => {
      const r = await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key });
      return r.json.data.length === 1 ? r.json.data : null;
    });
    const res = await call("DELETE", `/v1/webhooks/${hook.id}`, { key });
    expect(res.json).toEqual({ id: hook.id, deleted: true, cancelled_deliveries: 2 });
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).status).toBe(404);
    const d = await call("GET", `/v1/deliveries/${deliveries[0].id}`, { key });
    expect(d.json.status).toBe("cancelled");
    expect(d.json.attempt_log.at(-1).error).toBe("cancelled: webhook deleted");
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
    expect(await runInDurableObject(stub, (_o, state) => state.storage.sql.exec("SELECT (SELECT coalesce(sum(n), 0) FROM queue_batches) + (SELECT count(*) FROM queue_retries) AS n").one().n)).toBe(0);
    expect(await runInDurableObject(stub, (_o, state) => state.storage.getAlarm())).toBeNull();
    expect((await call("DELETE", `/v1/webhooks/${hook.id}`, { key })).status).toBe(404);
  });
});
