// The ingest path's own parts (issue 16 parts 4–6): the per-isolate key cache and its stated
// revocation delay, load shedding past INGEST_MAX_IN_FLIGHT, and accepted events gathered into
// shared queue messages (and the consumer that reads such messages).
import { createMessageBatch, getQueueResult, createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { announceEvents, BUSY_GATHER_MS, GATHER_MS } from "../src/dispatch/event-announcer";
import { eventMessage, type QueueMessage } from "../src/dispatch/messages";
import worker from "../src/index";
import { call, callWith, insertEvent, newAccount, newWebhook, receiverEndpoint, waitForReceived } from "./support/helpers";
import { outboxStatus, records, recordsD1Of, shardBindingOf } from "./support/records";

const event = { type: "sample.scored", data: { sample_id: "s_1", score: 0.5 } };
const keyWith = async (adminKey: string, scopes: string[]) =>
  (await call("POST", "/v1/api_keys", { key: adminKey, body: { name: scopes.join("+"), scopes, mode: "test" } })).json as { id: string; key: string };
const revokeBehindTheCache = (keyId: string) => env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), keyId).run();

describe("ingest's key cache", () => {
  it("keeps accepting a key revoked behind its back for at most KEY_CACHE_SECONDS; every other route refuses it at once", async () => {
    const account = await newAccount();
    const producer = await keyWith(account.key, ["events:write", "webhooks:read"]);
    const short = { KEY_CACHE_SECONDS: "0.3" };
    expect((await callWith(short, "POST", "/v1/events", { key: producer.key, body: event })).status).toBe(202);
    await revokeBehindTheCache(producer.id);
    // The stated delay: this isolate saw the key valid less than KEY_CACHE_SECONDS ago.
    expect((await callWith(short, "POST", "/v1/events", { key: producer.key, body: event })).status).toBe(202);
    expect((await callWith(short, "GET", "/v1/webhooks", { key: producer.key })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 350));
    const late = await callWith(short, "POST", "/v1/events", { key: producer.key, body: event });
    expect(late.status).toBe(401);
    expect(late.json.error.code).toBe("unauthorized");
    expect(await records.count("SELECT count(*) AS n FROM events WHERE account_id = ?", account.id)).toBe(2);
  });

  it("forgets at once when the key is revoked through the API, or the account disabled, in this isolate", async () => {
    const account = await newAccount();
    const producer = await keyWith(account.key, ["events:write"]);
    expect((await call("POST", "/v1/events", { key: producer.key, body: event })).status).toBe(202);
    expect((await call("DELETE", `/v1/api_keys/${producer.id}`, { key: account.key })).status).toBe(200);
    expect((await call("POST", "/v1/events", { key: producer.key, body: event })).status).toBe(401);

    const other = await newAccount();
    expect((await call("POST", "/v1/events", { key: other.key, body: event })).status).toBe(202);
    expect((await call("POST", `/v1/accounts/${other.id}/disable`, { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } })).status).toBe(200);
    expect((await call("POST", "/v1/events", { key: other.key, body: event })).status).toBe(401);
  });

  it("with KEY_CACHE_SECONDS=0 reads the key on every request", async () => {
    const account = await newAccount();
    const producer = await keyWith(account.key, ["events:write"]);
    const off = { KEY_CACHE_SECONDS: "0" };
    expect((await callWith(off, "POST", "/v1/events", { key: producer.key, body: event })).status).toBe(202);
    await revokeBehindTheCache(producer.id);
    expect((await callWith(off, "POST", "/v1/events", { key: producer.key, body: event })).status).toBe(401);
  });
});

describe("load shedding", () => {
  it("past INGEST_MAX_IN_FLIGHT requests in flight, answers 503 unavailable with Retry-After: 1 at once and stores nothing", async () => {
    const account = await newAccount();
    // The account's shard answers slowly, so the first request is still in flight when the second comes.
    const shard = recordsD1Of(account.id);
    const slow = new Proxy(shard, {
      get(target, prop) {
        if (prop === "batch") return async (s: D1PreparedStatement[]) => (await new Promise((r) => setTimeout(r, 300)), target.batch(s));
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const bindings = { INGEST_MAX_IN_FLIGHT: "1", [shardBindingOf(account.id)]: slow } as Partial<Env>;
    const first = callWith(bindings, "POST", "/v1/events", { key: account.key, body: event });
    await new Promise((r) => setTimeout(r, 50));
    const shed = await callWith(bindings, "POST", "/v1/events/batch", { key: account.key, body: { events: [event, event] } });
    expect(shed.status).toBe(503);
    expect(shed.headers.get("Retry-After")).toBe("1");
    expect(shed.json).toEqual({ error: { code: "unavailable", message: "Ingest is over capacity; retry after 1 s", request_id: shed.headers.get("X-Request-Id") } });
    expect((await first).status).toBe(202);
    expect(await records.count("SELECT count(*) AS n FROM events WHERE account_id = ?", account.id)).toBe(1);
    // Once the first is done, the gate admits again.
    expect((await callWith(bindings, "POST", "/v1/events", { key: account.key, body: event })).status).toBe(202);
  });
});

/** A queue binding that records what is sent through it (and sends it on). */
function recordingQueue() {
  const sent: QueueMessage[][] = [];
  const queue = new Proxy(env.EVENTS_QUEUE, {
    get(target, prop) {
      if (prop === "sendBatch") {
        return (batch: Array<{ body: QueueMessage }>) => (sent.push(batch.map((m) => m.body)), target.sendBatch(batch));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { queue, sent };
}

describe("Server-Timing on ingest (where an ingest's time goes, for the bench)", () => {
  const entries = (header: string | null): Record<string, number> =>
    Object.fromEntries((header ?? "").split(",").map((e) => e.trim().split(";dur=")).filter((e) => e.length === 2).map(([name, dur]) => [name, Number(dur)]));

  it("POST /v1/events names the key check, the D1 insert and the whole request, in whole ms", async () => {
    const account = await newAccount();
    const res = await call("POST", "/v1/events", { key: account.key, body: event });
    expect(res.status).toBe(202);
    const t = entries(res.headers.get("server-timing"));
    expect(Object.keys(t).sort()).toEqual(["app", "d1", "key"]);
    for (const v of Object.values(t)) expect(Number.isInteger(v) && v >= 0).toBe(true);
    expect(t.app).toBeGreaterThanOrEqual(t.d1! + t.key!);
  });

  it("a batch and a refused request say how long the service took too; other routes say nothing", async () => {
    const account = await newAccount();
    const batch = await call("POST", "/v1/events/batch", { key: account.key, body: { events: [event, event] } });
    expect(batch.status).toBe(202);
    expect(entries(batch.headers.get("server-timing"))).toHaveProperty("app");
    const refused = await call("POST", "/v1/events", { key: "rk_test_not_a_key", body: event });
    expect(refused.status).toBe(401);
    expect(entries(refused.headers.get("server-timing"))).toHaveProperty("app");
    expect((await call("GET", "/v1/webhooks", { key: account.key })).headers.get("server-timing")).toBeNull();
  });
});

describe("queue messages shared by events accepted together", () => {
  it("events accepted within a few ms of each other go in one message; a lone one in its own", async () => {
    const account = await newAccount();
    const { queue, sent } = recordingQueue();
    const bindings = { EVENTS_QUEUE: queue } as Partial<Env>;
    const answers = await Promise.all(Array.from({ length: 6 }, () => callWith(bindings, "POST", "/v1/events", { key: account.key, body: event })));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(202));
    const messages = sent.flat();
    expect(messages.length).toBeLessThan(6);
    const named = messages.flatMap((m) => (m.kind === "events" ? m.refs.map(([, id]) => id) : [m.event_id]));
    expect(named.sort()).toEqual(answers.map((a) => a.json.id).sort());
    for (const m of messages) expect(m).toMatchObject({ v: 1, kind: "events" });

    sent.length = 0;
    const lone = await callWith(bindings, "POST", "/v1/events", { key: account.key, body: event });
    expect(sent).toEqual([[{ v: 1, kind: "events", refs: [[account.id, lone.json.id]] }]]);
  });

  it("an idle isolate sends after GATHER_MS; right after a send it gathers for BUSY_GATHER_MS", async () => {
    const { queue, sent } = recordingQueue();
    const on = { ...env, EVENTS_QUEUE: queue } as Env;
    const ref = (n: number) => ({ accountId: "acc_gather", eventId: `evt_gather_${n}` });
    const later = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // Timers fire in the order they are due, so these hold however slow the machine is.
    expect(GATHER_MS).toBeLessThan(12);
    expect(BUSY_GATHER_MS).toBeGreaterThan(12);
    // Idle (this queue never sent): the first event goes alone, 12 ms is past its window.
    const first = announceEvents(on, [ref(1)]);
    await later(12);
    await first;
    expect(sent.map((m) => m.length)).toEqual([1]);
    // Busy (a send just went out): two events 12 ms apart share one message.
    const second = announceEvents(on, [ref(2)]);
    await later(12);
    const third = announceEvents(on, [ref(3)]);
    await Promise.all([second, third]);
    expect(sent.slice(1)).toEqual([[{ v: 1, kind: "events", refs: [["acc_gather", "evt_gather_2"], ["acc_gather", "evt_gather_3"]] }]]);
  });

  it("a batch of 250 goes in three messages of at most 100 ids", async () => {
    const account = await newAccount();
    const { queue, sent } = recordingQueue();
    const res = await callWith({ EVENTS_QUEUE: queue }, "POST", "/v1/events/batch", { key: account.key, body: { events: Array(100).fill(event) } });
    expect(res.status).toBe(202);
    const more = await Promise.all([1, 2].map(() => callWith({ EVENTS_QUEUE: queue }, "POST", "/v1/events/batch", { key: account.key, body: { events: Array(75).fill(event) } })));
    expect(more.map((m) => m.status)).toEqual([202, 202]);
    const sizes = sent.flat().map((m) => (m.kind === "events" ? m.refs.length : 1));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(sizes.length).toBeLessThanOrEqual(3);
  });

  it("the consumer fans out every event a message names and acks it; a malformed message is dropped", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("multi-ref");
    const hook = await newWebhook(account.key, { url: ep.url });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const ids = [await insertEvent(account.id), await insertEvent(account.id), await insertEvent(account.id)];
    const body: QueueMessage = { v: 1, kind: "events", refs: ids.map((id) => [account.id, id] as [string, string]) };
    const malformed = { v: 1, kind: "events", refs: [] };
    const ctx = createExecutionContext();
    const batch = createMessageBatch("rubric-events", [
      { id: "m1", timestamp: new Date(), attempts: 1, body },
      { id: "m2", timestamp: new Date(), attempts: 1, body: malformed },
      { id: "m3", timestamp: new Date(), attempts: 1, body: eventMessage(account.id, ids[0]!) },
    ]);
    await worker.queue!(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2", "m3"]);
    const got = await waitForReceived(ep.name, 3);
    expect(got.map((g) => g.headers["x-rubric-event-id"])).toEqual(ids);
    for (const id of ids) expect(await outboxStatus(id)).toBe("dispatched");
  });

  it("a batch naming more events than one fan-out takes is fanned out part by part, every event dispatched", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("many-refs");
    const hook = await newWebhook(account.key, { url: ep.url, ordering: "parallel" });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) ids.push(await insertEvent(account.id));
    const messages = [0, 100, 200].map((from, i) => ({
      id: `p${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, kind: "events", refs: ids.slice(from, from + 100).map((id) => [account.id, id]) },
    }));
    const ctx = createExecutionContext();
    const batch = createMessageBatch("rubric-events", messages);
    await worker.queue!(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks.sort()).toEqual(["p0", "p1", "p2"]);
    expect((await Promise.all(ids.map(outboxStatus))).filter((s) => s === "dispatched")).toHaveLength(250);
    const got = await waitForReceived(ep.name, 250, 30_000);
    expect(new Set(got.map((g) => g.headers["x-rubric-event-id"])).size).toBe(250);
  });

  it("a dead-lettered message marks every event it names dead_lettered", async () => {
    const account = await newAccount();
    const ids = [await insertEvent(account.id), await insertEvent(account.id)];
    const ctx = createExecutionContext();
    const batch = createMessageBatch("rubric-events-dlq", [
      { id: "d1", timestamp: new Date(), attempts: 11, body: { v: 1, kind: "events", refs: ids.map((id) => [account.id, id]) } },
    ]);
    await worker.queue!(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["d1"]);
    const listed = (await call("GET", "/v1/events?status=dead_lettered", { key: account.key })).json.data.map((e: { id: string }) => e.id);
    expect(listed.sort()).toEqual(ids.sort());
  });
});
