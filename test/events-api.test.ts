import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, newAccount, newWebhook, plan, receiverEndpoint, received, waitFor, waitForReceived } from "./support/helpers";
import { records } from "./support/records";

const count = (sql: string, ...binds: unknown[]) => records.count(sql, ...binds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("POST /v1/events/batch", () => {
  it("accepts up to 100 events in order with per-item results", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("batch");
    await newWebhook(key, { url: ep.url });
    const events = Array.from({ length: 5 }, (_, i) => ({ type: "sample.scored", data: { i } }));
    const res = await call("POST", "/v1/events/batch", { key, body: { events } });
    expect(res.status).toBe(202);
    expect(res.json.data.map((r: any) => [r.index, r.status])).toEqual(events.map((_, i) => [i, "accepted"]));
    const ids = res.json.data.map((r: any) => r.id);
    expect([...ids].sort()).toEqual(ids);
    const got = await waitForReceived(ep.name, 5);
    expect(got.map((g) => JSON.parse(g.body).data.i)).toEqual([0, 1, 2, 3, 4]);
  });

  it("stores nothing if any item is invalid, naming each bad item", async () => {
    const { id, key } = await newAccount();
    const res = await call("POST", "/v1/events/batch", {
      key,
      body: { events: [{ type: "sample.scored", data: {} }, { type: "nope.nope", data: {} }, { type: "sample.scored" }] },
    });
    expect(res.status).toBe(422);
    expect(res.json.error.details.map((d: any) => d.field).sort()).toEqual(["events.2.data"]);
    const second = await call("POST", "/v1/events/batch", { key, body: { events: [{ type: "sample.scored", data: {} }, { type: "nope.nope", data: {} }] } });
    expect(second.status).toBe(422);
    expect(second.json.error.details.map((d: any) => d.field)).toEqual(["events.1.type"]);
    expect(await count("SELECT count(*) AS n FROM events WHERE account_id = ?", id)).toBe(0);
    const tooMany = await call("POST", "/v1/events/batch", { key, body: { events: Array.from({ length: 101 }, () => ({ type: "sample.scored", data: {} })) } });
    expect(tooMany.status).toBe(422);
    expect((await call("POST", "/v1/events/batch", { key, body: { events: [] } })).status).toBe(422);
  });
});

describe("idempotency", () => {
  it("returns the first event for a repeated key, with one fan-out, even under concurrent duplicates", async () => {
    const { id, key } = await newAccount();
    const ep = receiverEndpoint("idem");
    await newWebhook(key, { url: ep.url });
    const body = { type: "sample.scored", data: { s: 1 } };
    const results = await Promise.all(Array.from({ length: 5 }, () => call("POST", "/v1/events", { key, body, headers: { "Idempotency-Key": "k-1" } })));
    expect(results.every((r) => r.status === 202)).toBe(true);
    expect(new Set(results.map((r) => r.json.id)).size).toBe(1);
    expect(results.filter((r) => r.headers.get("Idempotent-Replayed") === "true")).toHaveLength(4);
    const later = await call("POST", "/v1/events", { key, body: { ...body, data: { s: 2 } }, headers: { "Idempotency-Key": "k-1" } });
    expect(later.json.id).toBe(results[0]!.json.id);
    expect(later.json.data).toEqual({ s: 1 });
    await waitForReceived(ep.name, 1);
    await sleep(300);
    expect(await received(ep.name)).toHaveLength(1);
    expect(await count("SELECT count(*) AS n FROM events WHERE account_id = ?", id)).toBe(1);

    // Batch items carry their own keys; a key repeated inside the batch is a duplicate too.
    const batch = await call("POST", "/v1/events/batch", {
      key,
      body: { events: [{ ...body, idempotency_key: "k-1" }, { ...body, idempotency_key: "k-2" }, { ...body, idempotency_key: "k-2" }] },
    });
    expect(batch.json.data.map((r: any) => r.status)).toEqual(["duplicate", "accepted", "duplicate"]);
    expect(batch.json.data[0].id).toBe(results[0]!.json.id);
    expect(batch.json.data[2].id).toBe(batch.json.data[1].id);

    // Keys are per account.
    const other = await newAccount();
    const theirs = await call("POST", "/v1/events", { key: other.key, body, headers: { "Idempotency-Key": "k-1" } });
    expect(theirs.json.id).not.toBe(results[0]!.json.id);
  });

  it("frees a key after 24 hours", async () => {
    const { key } = await newAccount();
    const first = await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: {} }, headers: { "Idempotency-Key": "old" } });
    await records.prepare("UPDATE events SET created_at = created_at - 90000000 WHERE id = ?").bind(first.json.id).run();
    const second = await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: {} }, headers: { "Idempotency-Key": "old" } });
    expect(second.json.id).not.toBe(first.json.id);
  });
});

describe("reading and replaying events", () => {
  it("lists newest first with filters and cursor, shows an event's deliveries, and replays it", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("replay");
    const hook = await newWebhook(key, { url: ep.url });
    const a = (await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: { n: 1 } } })).json;
    const b = (await call("POST", "/v1/events", { key, body: { type: "alert.triggered", data: { n: 2 } } })).json;
    const c = (await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: { n: 3 } } })).json;
    const p1 = (await call("GET", "/v1/events?limit=2", { key })).json;
    expect(p1.data.map((e: any) => e.id)).toEqual([c.id, b.id]);
    const p2 = (await call("GET", `/v1/events?limit=2&cursor=${p1.next_cursor}`, { key })).json;
    expect(p2.data.map((e: any) => e.id)).toEqual([a.id]);
    expect(p2.next_cursor).toBeNull();
    expect((await call("GET", "/v1/events?type=alert.triggered", { key })).json.data.map((e: any) => e.id)).toEqual([b.id]);

    await waitForReceived(ep.name, 3);
    const detail = await waitFor(async () => {
      const r = (await call("GET", `/v1/events/${a.id}`, { key })).json;
      return r.deliveries?.[0]?.status === "succeeded" ? r : null;
    });
    expect(detail).toMatchObject({ id: a.id, type: "sample.scored", status: "dispatched", data: { n: 1 } });
    expect(detail.deliveries).toHaveLength(1);
    expect(detail.deliveries[0]).toMatchObject({ webhook_id: hook.id, success: true });

    const replay = await call("POST", `/v1/events/${a.id}/replay`, { key, body: {} });
    expect(replay.status).toBe(202);
    expect(replay.json.data).toEqual([{ webhook_id: hook.id, delivery_id: detail.deliveries[0].id }]);
    const got = await waitForReceived(ep.name, 4);
    expect(JSON.parse(got[3]!.body).id).toBe(a.id);
    expect(got[3]!.headers["x-rubric-attempt"]).toBe("2");

    const other = await newAccount();
    expect((await call("GET", `/v1/events/${a.id}`, { key: other.key })).status).toBe(404);
    expect((await call("POST", `/v1/events/${a.id}/replay`, { key: other.key, body: {} })).status).toBe(404);
    expect((await call("POST", `/v1/events/${a.id}/replay`, { key, body: { webhook_id: "wh_01M8HPNNR25R99JKFSE78JRF6B" } })).status).toBe(404);
  });
});

describe("event types", () => {
  it("list the seed's eight and the operational ones, and accept custom types with a schema", async () => {
    const { key } = await newAccount();
    const list = (await call("GET", "/v1/event_types", { key })).json.data;
    const seed = ["evaluation.created", "evaluation.completed", "evaluation.failed", "sample.scored", "review.assigned", "review.completed", "alert.triggered", "safety.critical"];
    for (const name of seed) expect(list.find((t: any) => t.name === name)).toMatchObject({ builtin: true, operational: false, description: expect.any(String) });
    expect(list.find((t: any) => t.name === "webhook.disabled")).toMatchObject({ operational: true });

    const created = await call("POST", "/v1/event_types", {
      key,
      body: {
        name: "dataset.refreshed",
        description: "A dataset was refreshed",
        schema: { type: "object", required: ["dataset_id"], properties: { dataset_id: { type: "string" }, rows: { type: "integer" } } },
      },
    });
    expect(created.status).toBe(201);
    expect((await call("POST", "/v1/event_types", { key, body: { name: "dataset.refreshed", description: "again" } })).status).toBe(409);
    expect((await call("POST", "/v1/event_types", { key, body: { name: "sample.scored", description: "builtin" } })).status).toBe(409);
    const badName = await call("POST", "/v1/event_types", { key, body: { name: "Not A Name", description: "x" } });
    expect(badName.status).toBe(422);
    expect(badName.json.error.details[0].field).toBe("name");
    const badSchema = await call("POST", "/v1/event_types", { key, body: { name: "x.y", description: "x", schema: { type: "nonsense" } } });
    expect(badSchema.status).toBe(422);

    const ep = receiverEndpoint("custom-type");
    await newWebhook(key, { url: ep.url, events: ["dataset.*"] });
    const invalid = await call("POST", "/v1/events", { key, body: { type: "dataset.refreshed", data: { rows: "many" } } });
    expect(invalid.status).toBe(422);
    const fields = invalid.json.error.details.map((d: any) => d.field);
    expect(fields).toContain("data.rows");
    expect(fields.some((f: string) => f === "data" || f === "data.dataset_id")).toBe(true);
    const ok = await call("POST", "/v1/events", { key, body: { type: "dataset.refreshed", data: { dataset_id: "ds_1", rows: 10 } } });
    expect(ok.status).toBe(202);
    const [got] = await waitForReceived(ep.name, 1);
    expect(JSON.parse(got!.body).type).toBe("dataset.refreshed");
    // Another account does not know this type.
    const other = await newAccount();
    expect((await call("POST", "/v1/events", { key: other.key, body: { type: "dataset.refreshed", data: { dataset_id: "x" } } })).status).toBe(422);
    await plan(ep.name, {});
  });
});
