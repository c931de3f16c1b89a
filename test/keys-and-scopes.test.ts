import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isWellFormedKey } from "../src/lib/api-keys";
import { requiredScope } from "../src/middleware/scopes";
import { ADMIN, call, newAccount, newWebhook, plan, receiverEndpoint, received, waitForReceived } from "./support/helpers";

const keyWith = async (adminKey: string, scopes: string[]) => {
  const res = await call("POST", "/v1/api_keys", { key: adminKey, body: { name: scopes.join("+"), scopes, mode: "test" } });
  expect(res.status).toBe(201);
  return res.json;
};

describe("API keys", () => {
  it("carry a checksum, so a mistyped key is refused before any lookup", async () => {
    const { key } = await newAccount();
    expect(isWellFormedKey(key)).toBe(true);
    const typo = key.slice(0, 12) + (key[12] === "a" ? "b" : "a") + key.slice(13);
    expect(isWellFormedKey(typo)).toBe(false);
    expect((await call("GET", "/v1/webhooks", { key: typo })).status).toBe(401);
    expect(isWellFormedKey(key.slice(0, -1))).toBe(false);
  });

  it("are created with scopes, listed by prefix and last four only, and revoked at once", async () => {
    const { key } = await newAccount();
    const created = await keyWith(key, ["events:write"]);
    expect(created).toMatchObject({ id: expect.stringMatching(/^key_/), prefix: "rk_test_", last4: created.key.slice(-4), scopes: ["events:write"], revoked_at: null });
    const list = await call("GET", "/v1/api_keys", { key });
    expect(list.json.data).toHaveLength(2);
    expect(list.text).not.toContain(created.key);
    expect(list.text).not.toContain(key);
    expect((await call("POST", "/v1/events", { key: created.key, body: { type: "sample.scored", data: {} } })).status).toBe(202);
    const revoked = await call("DELETE", `/v1/api_keys/${created.id}`, { key });
    expect(revoked.json.revoked_at).not.toBeNull();
    expect((await call("POST", "/v1/events", { key: created.key, body: { type: "sample.scored", data: {} } })).status).toBe(401);
    const bad = await call("POST", "/v1/api_keys", { key, body: { name: "x", scopes: ["root"] } });
    expect(bad.status).toBe(422);
    const other = await newAccount();
    expect((await call("DELETE", `/v1/api_keys/${created.id}`, { key: other.key })).status).toBe(404);
  });

  it("are limited to their scopes on every route", async () => {
    const { key } = await newAccount();
    const hook = await newWebhook(key, { url: receiverEndpoint().url });
    const reader = (await keyWith(key, ["webhooks:read"])).key;
    const writer = (await keyWith(key, ["webhooks:write"])).key;
    const producer = (await keyWith(key, ["events:write"])).key;
    const wh = `/v1/webhooks/${hook.id}`;
    const cases: Array<[string, string, unknown, string]> = [
      ["GET", "/v1/webhooks", undefined, "webhooks:read"],
      ["GET", wh, undefined, "webhooks:read"],
      ["GET", `${wh}/deliveries`, undefined, "webhooks:read"],
      ["GET", `${wh}/stats`, undefined, "webhooks:read"],
      ["POST", `${wh}/preview`, { event_type: "sample.scored", payload: {} }, "webhooks:read"],
      ["POST", `${wh}/filter_test`, { event: { type: "sample.scored", data: {} } }, "webhooks:read"],
      ["GET", "/v1/events", undefined, "webhooks:read"],
      ["GET", "/v1/event_types", undefined, "webhooks:read"],
      ["GET", "/v1/metrics", undefined, "webhooks:read"],
      ["POST", "/v1/webhooks", { name: "n", url: receiverEndpoint().url, events: ["*"] }, "webhooks:write"],
      ["PATCH", wh, { description: "d" }, "webhooks:write"],
      ["POST", `${wh}/test`, { event_type: "sample.scored", payload: {} }, "webhooks:write"],
      ["POST", `${wh}/rotate_secret`, {}, "webhooks:write"],
      ["GET", `${wh}/secret`, undefined, "webhooks:write"],
      ["POST", `${wh}/retry_failed`, { since: "2024-01-01T00:00:00Z" }, "webhooks:write"],
      ["POST", "/v1/event_types", { name: "scope.test", description: "d" }, "webhooks:write"],
      ["POST", "/v1/events", { type: "sample.scored", data: {} }, "events:write"],
      ["POST", "/v1/events/batch", { events: [{ type: "sample.scored", data: {} }] }, "events:write"],
      ["GET", "/v1/api_keys", undefined, "admin"],
    ];
    const keys: Record<string, string> = { "webhooks:read": reader, "webhooks:write": writer, "events:write": producer };
    for (const [method, path, body, needed] of cases) {
      expect(requiredScope(method, path)).toBe(needed);
      for (const [scope, k] of Object.entries(keys)) {
        const res = await call(method, path, { key: k, body });
        if (scope === needed) expect([method, path, scope, res.status < 400]).toEqual([method, path, scope, true]);
        else {
          expect([method, path, scope, res.status]).toEqual([method, path, scope, 403]);
          expect(res.json.error.message).toContain(needed);
        }
      }
    }
    // Every route of the app maps to a scope that exists.
    const { createApp } = await import("../src/app");
    for (const r of createApp().routes.filter((r) => r.path.startsWith("/v1/") && !r.path.startsWith("/v1/accounts") && !r.path.startsWith("/v1/admin") && r.method !== "ALL")) {
      expect(["webhooks:read", "webhooks:write", "events:write", "admin"]).toContain(requiredScope(r.method, r.path.replace(/:(\w+)/g, "x")));
    }
  });
});

describe("accounts (operator)", () => {
  it("are listed, and a disabled account's keys and webhooks stop until it is enabled", async () => {
    const account = await newAccount("to-disable");
    const ep = receiverEndpoint("acct-disable");
    await plan(ep.name, { status: 503 });
    await newWebhook(account.key, { url: ep.url, retry_config: { max_retries: 10, backoff: "fixed", initial_delay_ms: 300 } });
    await call("POST", "/v1/events", { key: account.key, body: { type: "sample.scored", data: {} } });
    await waitForReceived(ep.name, 1);
    const list = await call("GET", "/v1/accounts?limit=250", { headers: ADMIN });
    expect(list.json.data.map((a: any) => a.id)).toContain(account.id);
    expect((await call("GET", "/v1/accounts", { key: account.key })).status).toBe(401);

    const disabled = await call("POST", `/v1/accounts/${account.id}/disable`, { headers: ADMIN });
    expect(disabled.json.status).toBe("disabled");
    expect((await call("GET", "/v1/webhooks", { key: account.key })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 400));
    const frozen = (await received(ep.name)).length;
    await new Promise((r) => setTimeout(r, 800));
    // At most the attempt in flight when it was disabled.
    expect((await received(ep.name)).length).toBeLessThanOrEqual(frozen + 1);

    await plan(ep.name, {});
    expect((await call("POST", `/v1/accounts/${account.id}/enable`, { headers: ADMIN })).json.status).toBe("active");
    expect((await call("GET", "/v1/webhooks", { key: account.key })).status).toBe(200);
    await waitForReceived(ep.name, frozen + 1);
    expect((await call("POST", "/v1/accounts/acct_01HV6Z8K2M3N4P5Q6R7S8T9V0W/disable", { headers: ADMIN })).status).toBe(404);
  });

  it("compare the operator token in constant time and refuse near misses", async () => {
    const near = env.ADMIN_TOKEN.slice(0, -1) + (env.ADMIN_TOKEN.endsWith("f") ? "e" : "f");
    expect((await call("GET", "/v1/accounts", { headers: { Authorization: `Bearer ${near}` } })).status).toBe(401);
    expect((await call("GET", "/v1/accounts", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}x` } })).status).toBe(401);
  });
});

describe("scopes on every route", () => {
  it("refuse each /v1 route to every key without its scope, and let the one with it through", async () => {
    const { key } = await newAccount();
    const keys: Record<string, string> = {};
    for (const scope of ["webhooks:read", "webhooks:write", "events:write"]) keys[scope] = (await keyWith(key, [scope])).key;
    keys.admin = key;
    const { createApp } = await import("../src/app");
    const routes = createApp().routes.filter(
      (r) => r.method !== "ALL" && r.path.startsWith("/v1/") && !r.path.startsWith("/v1/accounts") && !r.path.startsWith("/v1/admin"),
    );
    const unique = [...new Map(routes.map((r) => [`${r.method} ${r.path}`, r])).values()];
    expect(unique.length).toBeGreaterThan(25);
    for (const r of unique) {
      // Dummy ids are fine: the scope check comes before any lookup, so only 403 matters here.
      const path = r.path.replace(":id", r.path.startsWith("/v1/deliveries") ? `dlv_${"0".repeat(52)}` : r.path.startsWith("/v1/events") ? "evt_01HV6Z8K2M3N4P5Q6R7S8T9V0W" : r.path.startsWith("/v1/api_keys") ? "key_01HV6Z8K2M3N4P5Q6R7S8T9V0W" : "wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W");
      const needed = requiredScope(r.method, path);
      for (const [scope, k] of Object.entries(keys)) {
        const res = await call(r.method, path, { key: k, body: r.method === "GET" || r.method === "DELETE" ? undefined : {} });
        const allowed = scope === needed || scope === "admin";
        expect([r.method, r.path, scope, res.status === 403]).toEqual([r.method, r.path, scope, !allowed]);
      }
    }
  });
});
