// Ingest past what storage takes (issue 16 part 5): a D1 error that waiting cures is a 503 with
// Retry-After in the one error shape, never a 500; nothing is half-stored, so the SDKs' retry with the
// same idempotency key yields one event; a bug stays a 500; a failed queue send still accepts.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type Fault, faultyBatchD1, faultyD1, faultyQueue } from "./support/faults";
import { call, callWith, newAccount, newWebhook, receiverEndpoint, waitFor, waitForReceived } from "./support/helpers";
import { outboxStatus, records, recordsD1Of, shardBindingOf, sweeperFor } from "./support/records";


/** The account's shard, its batches (every ingest write) failing as `fault` says. */
const withFaultyWrites = (accountId: string, fault: Fault) => {
  const { db, counter } = faultyBatchD1(recordsD1Of(accountId), fault);
  return { bindings: { [shardBindingOf(accountId)]: db } as Partial<Env>, counter };
};

const keyed = async (accountId: string, key: string) =>
  (await records.prepare("SELECT id FROM events WHERE account_id = ? AND idempotency_key = ?").bind(accountId, key).all<{ id: string }>()).results;

const event = { type: "sample.scored", data: { sample_id: "s_1", score: 0.5 } };

/** The one documented error body, with the request id of the answer. */
function expectUnavailable(res: Awaited<ReturnType<typeof callWith>>, retryAfter: string) {
  expect(res.status).toBe(503);
  expect(res.headers.get("Retry-After")).toBe(retryAfter);
  expect(res.json).toEqual({ error: { code: "unavailable", message: expect.stringMatching(/retry after \d+ s/), request_id: res.headers.get("X-Request-Id") } });
}

describe("ingest under storage that fails for a moment", () => {
  it("POST /v1/events: a lost D1 connection is a 503 with Retry-After, nothing stored; the retry with the same key is one 202", async () => {
    const account = await newAccount();
    const { bindings, counter } = withFaultyWrites(account.id, { times: 1, message: "D1_ERROR: Network connection lost." });
    const res = await callWith(bindings, "POST", "/v1/events", { key: account.key, body: event, headers: { "Idempotency-Key": "ingest-503-a" } });
    expectUnavailable(res, "1");
    expect(counter.failed).toBe(1);
    expect(await keyed(account.id, "ingest-503-a")).toEqual([]);

    const again = await callWith(bindings, "POST", "/v1/events", { key: account.key, body: event, headers: { "Idempotency-Key": "ingest-503-a" } });
    expect(again.status).toBe(202);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
    const third = await call("POST", "/v1/events", { key: account.key, body: event, headers: { "Idempotency-Key": "ingest-503-a" } });
    expect(third.status).toBe(202);
    expect(third.headers.get("Idempotent-Replayed")).toBe("true");
    expect(third.json.id).toBe(again.json.id);
    expect(await keyed(account.id, "ingest-503-a")).toEqual([{ id: again.json.id }]);
  });

  it("POST /v1/events: SQLITE_BUSY while the key is checked (the slow path's reads) is a 503 too", async () => {
    const account = await newAccount();
    // Every statement and batch fails once: the key check (or the write) meets it first.
    const { db } = faultyD1(env.DB, { times: 1, message: "SQLITE_BUSY: database is locked" });
    // A custom type takes the slow path: the key is looked up before anything is written.
    const type = await call("POST", "/v1/event_types", { key: account.key, body: { name: "custom.thing", description: "slow path", schema: { type: "object" } } });
    expect(type.status).toBe(201);
    const res = await callWith({ DB: db }, "POST", "/v1/events", { key: account.key, body: { type: "custom.thing", data: {} }, headers: { "Idempotency-Key": "ingest-503-busy" } });
    expectUnavailable(res, "1");
    expect(await keyed(account.id, "ingest-503-busy")).toEqual([]);
    const again = await call("POST", "/v1/events", { key: account.key, body: { type: "custom.thing", data: {} }, headers: { "Idempotency-Key": "ingest-503-busy" } });
    expect(again.status).toBe(202);
    expect((await keyed(account.id, "ingest-503-busy")).length).toBe(1);
  });

  it("a write that committed but whose answer was lost: 503, and the retry with the same key answers the stored event, still one", async () => {
    const account = await newAccount();
    const { bindings } = withFaultyWrites(account.id, { times: 1, message: "D1_ERROR: Network connection lost.", when: "after" });
    const res = await callWith(bindings, "POST", "/v1/events", { key: account.key, body: event, headers: { "Idempotency-Key": "ingest-503-b" } });
    expectUnavailable(res, "1");
    const stored = await keyed(account.id, "ingest-503-b");
    expect(stored).toHaveLength(1);
    const again = await call("POST", "/v1/events", { key: account.key, body: event, headers: { "Idempotency-Key": "ingest-503-b" } });
    expect(again.status).toBe(202);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.json.id).toBe(stored[0]!.id);
    expect(await keyed(account.id, "ingest-503-b")).toHaveLength(1);
  });

  it("POST /v1/events/batch: all or nothing under a 503; the retry stores each item once", async () => {
    const account = await newAccount();
    const { bindings } = withFaultyWrites(account.id, { times: 1, message: "D1_ERROR: D1 DB reset because its code was updated." });
    const body = { events: ["b-1", "b-2", "b-3"].map((k) => ({ ...event, idempotency_key: `ingest-503-${k}` })) };
    const res = await callWith(bindings, "POST", "/v1/events/batch", { key: account.key, body });
    expectUnavailable(res, "1");
    for (const k of ["b-1", "b-2", "b-3"]) expect(await keyed(account.id, `ingest-503-${k}`)).toEqual([]);
    const again = await callWith(bindings, "POST", "/v1/events/batch", { key: account.key, body });
    expect(again.status).toBe(202);
    expect(again.json.data.map((d: { status: string }) => d.status)).toEqual(["accepted", "accepted", "accepted"]);
    const replay = await call("POST", "/v1/events/batch", { key: account.key, body });
    expect(replay.json.data.map((d: { status: string }) => d.status)).toEqual(["duplicate", "duplicate", "duplicate"]);
    for (const k of ["b-1", "b-2", "b-3"]) expect(await keyed(account.id, `ingest-503-${k}`)).toHaveLength(1);
  });

  it("an overloaded database is shed with a longer Retry-After", async () => {
    const account = await newAccount();
    const { bindings } = withFaultyWrites(account.id, { times: 1, message: "D1_ERROR: D1 DB is overloaded. Too many requests queued." });
    const res = await callWith(bindings, "POST", "/v1/events", { key: account.key, body: event });
    expectUnavailable(res, "5");
  });

  it("an error waiting cannot cure stays a 500 (a bug), without Retry-After", async () => {
    const account = await newAccount();
    const { bindings } = withFaultyWrites(account.id, { times: 1, message: "D1_ERROR: no such table: events: SQLITE_ERROR" });
    const res = await callWith(bindings, "POST", "/v1/events", { key: account.key, body: event });
    expect(res.status).toBe(500);
    expect(res.headers.get("Retry-After")).toBeNull();
    expect(res.json.error).toMatchObject({ code: "internal_error", message: "Internal error" });
  });

  it("a queue send that fails after the event is stored still accepts it (202), and the sweeper's re-enqueue delivers it", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("queue-down");
    const hook = await newWebhook(account.key, { url: ep.url });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const { queue, counter } = faultyQueue(env.EVENTS_QUEUE, { times: 1, message: "Network connection lost." });
    const res = await callWith({ EVENTS_QUEUE: queue }, "POST", "/v1/events", { key: account.key, body: event, headers: { "Idempotency-Key": "queue-down" } });
    expect(res.status).toBe(202);
    expect(counter.failed).toBe(1);
    const [row] = await keyed(account.id, "queue-down");
    expect((await outboxStatus(row!.id))).toBe("pending");
    // The outbox sweeper (SWEEP_AFTER_SECONDS is 0 here) finds it pending and puts it on the queue.
    await runDurableObjectAlarm(await sweeperFor(account.id, { arm: true }));
    const [got] = await waitForReceived(ep.name, 1);
    expect(got!.headers["x-rubric-event-id"]).toBe(row!.id);
    await waitFor(async () => (await outboxStatus(row!.id)) === "dispatched");
  });
});
