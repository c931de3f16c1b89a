import { describe, expect, it } from "vitest";
import { call, newAccount, newWebhook, receiverEndpoint, waitFor } from "./support/helpers";

describe("tenant isolation", () => {
  it("answers 404 to another account on every webhook, event and delivery route, and changes nothing", async () => {
    const a = await newAccount("a");
    const b = await newAccount("b");
    const hook = await newWebhook(a.key, { url: receiverEndpoint().url, description: "mine" });
    const event = (await call("POST", "/v1/events", { key: a.key, body: { type: "sample.scored", data: {} } })).json;
    const delivery = await waitFor(async () => (await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: a.key })).json.data[0]);
    const wh = `/v1/webhooks/${hook.id}`;
    const routes: Array<[string, string, unknown?]> = [
      ["GET", wh],
      ["PATCH", wh, { description: "theirs" }],
      ["POST", `${wh}/disable`, {}],
      ["POST", `${wh}/enable`, {}],
      ["POST", `${wh}/test`, { event_type: "sample.scored", payload: {} }],
      ["GET", `${wh}/deliveries`],
      ["GET", `${wh}/stats`],
      ["POST", `${wh}/retry_failed`, { since: "2024-01-01T00:00:00Z" }],
      ["POST", `${wh}/rotate_secret`, {}],
      ["POST", `${wh}/filter_test`, { event: { type: "sample.scored", data: {} } }],
      ["POST", `${wh}/preview`, { event_type: "sample.scored", payload: {} }],
      ["DELETE", wh],
      ["GET", `/v1/events/${event.id}`],
      ["POST", `/v1/events/${event.id}/replay`, {}],
      ["GET", `/v1/deliveries/${delivery.id}`],
      ["POST", `/v1/deliveries/${delivery.id}/retry`],
    ];
    for (const [method, path, body] of routes) {
      const res = await call(method, path, { key: b.key, body });
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(res.json.error.code).toBe("not_found");
    }
    const mine = await call("GET", wh, { key: a.key });
    expect(mine.json).toMatchObject({ status: "active", description: "mine" });
    expect((await call("GET", "/v1/events", { key: b.key })).json.data).toEqual([]);
    expect((await call("GET", "/v1/webhooks", { key: b.key })).json.data).toEqual([]);
    const metrics = (await call("GET", "/v1/metrics", { key: b.key })).json;
    expect(metrics.endpoints).toEqual([]);
    expect(metrics.events_accepted).toBe(0);
  });
});
