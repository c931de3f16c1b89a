// Ingest checks the API key itself (routes/ingest-fast.ts: from the per-isolate key cache when
// fresh, else the control database) before its one write: every refusal must still be the auth
// middleware's answer, with nothing written.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, call, newAccount } from "./support/helpers";
import { records } from "./support/records";

const eventCount = async (accountId: string) =>
  records.count("SELECT count(*) AS n FROM events WHERE account_id = ?", accountId);

const keyWith = async (adminKey: string, scopes: string[]) =>
  (await call("POST", "/v1/api_keys", { key: adminKey, body: { name: scopes.join("+"), scopes, mode: "test" } })).json as { id: string; key: string };

const one = { type: "sample.scored", data: { sample_id: "s_1" } };
const batch = { events: [one, { ...one, data: { sample_id: "s_2" } }] };

describe("ingest's own key check", () => {
  it("accepts with events:write or admin, and stores the events under the key's account", async () => {
    const account = await newAccount();
    const producer = await keyWith(account.key, ["events:write"]);
    for (const key of [producer.key, account.key]) {
      const res = await call("POST", "/v1/events", { key, body: one });
      expect(res.status).toBe(202);
      const stored = await records.prepare("SELECT account_id, status FROM events WHERE id = ?").bind(res.json.id).first();
      expect(stored).toEqual({ account_id: account.id, status: "pending" });
    }
    expect((await call("POST", "/v1/events/batch", { key: producer.key, body: batch })).status).toBe(202);
    expect(await eventCount(account.id)).toBe(4);
  });

  it("refuses a key without the scope (403), a revoked key and a disabled account's key (401), writing nothing", async () => {
    const account = await newAccount();
    const reader = await keyWith(account.key, ["webhooks:read"]);
    const revoked = await keyWith(account.key, ["events:write"]);
    await call("DELETE", `/v1/api_keys/${revoked.id}`, { key: account.key });
    for (const path of ["/v1/events", "/v1/events/batch"]) {
      const body = path.endsWith("batch") ? batch : one;
      expect((await call("POST", path, { key: reader.key, body })).status).toBe(403);
      expect((await call("POST", path, { key: revoked.key, body })).status).toBe(401);
      // An invalid body does not tell an unauthorised caller more than its 401/403.
      expect((await call("POST", path, { key: reader.key, body: { nonsense: true } })).status).toBe(403);
    }
    const other = await newAccount("disabled");
    expect((await call("POST", `/v1/accounts/${other.id}/disable`, { headers: ADMIN, body: {} })).status).toBe(200);
    expect((await call("POST", "/v1/events", { key: other.key, body: one })).status).toBe(401);
    expect(await eventCount(account.id)).toBe(0);
    expect(await eventCount(other.id)).toBe(0);
  });

  it("answers a repeated idempotency key with the first event, and a custom type the ordinary way", async () => {
    const account = await newAccount();
    const first = await call("POST", "/v1/events", { key: account.key, body: one, headers: { "Idempotency-Key": "k-1" } });
    const again = await call("POST", "/v1/events", { key: account.key, body: one, headers: { "Idempotency-Key": "k-1" } });
    expect(first.status).toBe(202);
    expect(again.json.id).toBe(first.json.id);
    expect(await eventCount(account.id)).toBe(1);
    expect((await call("POST", "/v1/events", { key: account.key, body: { type: "custom.unknown", data: {} } })).status).toBe(422);
    expect(await eventCount(account.id)).toBe(1);
  });
});
