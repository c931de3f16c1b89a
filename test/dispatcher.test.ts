import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliveryId, idFloor } from "../src/lib/ids";
import { call, insertEvent, newAccount, newWebhook, plan, receiverEndpoint, received, waitFor, waitForReceived, webhookWithEvents } from "./support/helpers";
import { dispatchFloor } from "../src/db/dispatch-receipts";
import { records, recordsD1Of, recordsDbOf, sweeperFor } from "./support/records";


describe("EndpointDispatcher", () => {
  it("hands a slow endpoint's work to its stored queue instead of holding the caller, and still delivers in order", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("slow");
    await plan(ep.name, { delay_ms: 700 });
    const hook = await newWebhook(account.key, { url: ep.url, timeout_ms: 5000 });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const now = Date.now();
    // Handed straight to the object here, so the outbox has nothing to do with them.
    const events = [await insertEvent(account.id, { createdAt: now, status: "dispatched" }), await insertEvent(account.id, { createdAt: now + 1, status: "dispatched" }), await insertEvent(account.id, { createdAt: now + 2, status: "dispatched" })];
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));

    await stub.enqueue(events.map((e) => deliveryId(e, hook.id)));
    // enqueue returned while the first attempt (700 ms) was still in flight: nothing is recorded yet,
    // and all three deliveries are held durably in the object's queue.
    const recorded = { n: await records.count("SELECT count(*) AS n FROM all_attempts WHERE webhook_id = ?", hook.id) };
    expect(recorded!.n).toBe(0);
    expect(await runInDurableObject(stub, (_o, state) => state.storage.sql.exec("SELECT (SELECT coalesce(sum(n), 0) FROM queue_batches) + (SELECT count(*) FROM queue_retries) AS n").one().n)).toBe(3);

    const got = await waitForReceived(ep.name, 3, 10_000);
    expect(got.map((g) => g.headers["x-rubric-event-id"])).toEqual(events);
    await waitFor(async () => (await stub.stats()).backlog === 0, 5000, "an empty queue");
    expect(await received(ep.name)).toHaveLength(3);
  });

  it("records what it already sent before a hand-over that ran out of time returns (the caller then marks the events dispatched)", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("budget-record");
    // 2 per second: the first goes at once, the second waits 500 ms for its slot, past the 250 ms budget.
    const hook = await newWebhook(account.key, { url: ep.url, rate_limit_per_second: 2 });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const now = Date.now();
    const events = [await insertEvent(account.id, { createdAt: now, status: "dispatched" }), await insertEvent(account.id, { createdAt: now + 1, status: "dispatched" })];
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
    await stub.enqueue(events.map((e) => deliveryId(e, hook.id)));
    expect(await received(ep.name)).toHaveLength(1);
    // Sent and answered, and in neither the object's queue nor D1 would be lost by a crash now.
    const first = await records.prepare("SELECT status FROM all_attempts WHERE delivery_id = ?").bind(deliveryId(events[0]!, hook.id)).all<{ status: string }>();
    expect(first.results).toEqual([{ status: "succeeded" }]);
    await waitForReceived(ep.name, 2);
  });

  it("skips a delivery that already succeeded when it is handed over again", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("once");
    const hook = await newWebhook(account.key, { url: ep.url });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const event = await insertEvent(account.id, { createdAt: Date.now(), status: "dispatched" });
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
    await stub.enqueue([deliveryId(event, hook.id)]);
    await stub.enqueue([deliveryId(event, hook.id)]);
    await Promise.all([stub.enqueue([deliveryId(event, hook.id)]), stub.enqueue([deliveryId(event, hook.id)])]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(ep.name)).toHaveLength(1);
    const d = await call("GET", `/v1/deliveries/${deliveryId(event, hook.id)}`, { key: account.key });
    expect(d.json).toMatchObject({ status: "succeeded", attempts: 1 });
  });

  it("keeps a retrying delivery's time when it is handed over again without the object's retry row (D1 says when)", async () => {
    const { account, ep, hook, stub, events, ids } = await webhookWithEvents("keeps-time", 1);
    const dueAt = Date.now() + 1_500;
    // Attempt 1 failed and is due again in 1.5 s; the object holds no retry row for it (a copy of
    // the hand-over, or storage that was reset).
    await recordsD1Of(account.id).prepare(
      `INSERT INTO delivery_attempts (webhook_id, delivery_id, attempt, id, account_id, event_id, event_type, status, trigger, started_at, duration_ms, response_code, next_attempt_at)
       VALUES (?, ?, 1, 'att_x', ?, ?, 'sample.scored', 'retrying', 'scheduled', ?, 5, 503, ?)`,
    ).bind(hook.id, ids[0], account.id, events[0], Date.now() - 100, dueAt).run();
    await stub.enqueue(ids);
    await new Promise((r) => setTimeout(r, 500));
    expect(await received(ep.name)).toHaveLength(0);
    const [got] = await waitForReceived(ep.name, 1, 10_000);
    expect(got!.headers["x-rubric-attempt"]).toBe("2");
    expect(got!.received_at).toBeGreaterThanOrEqual(dueAt);
  });

  it("lets concurrent hand-overs join the inline send: in order, and nothing written to storage", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("join");
    await plan(ep.name, { delay_ms: 20 });
    const hook = await newWebhook(account.key, { url: ep.url });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const now = Date.now();
    const events = [];
    for (let i = 0; i < 6; i++) events.push(await insertEvent(account.id, { createdAt: now + i, status: "dispatched" }));
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
    const before = (await call("GET", "/v1/metrics", { key: account.key })).json.billable_operations.do_rows_written;
    // The second hand-over comes while the first one's inline send is under way (its first
    // delivery arrived; two more take 20 ms each). Sent side by side instead, the two calls could
    // reach the object in either order: these events are marked dispatched already, so no fence
    // would hold the later ones back as it does for events still being fanned out.
    const first = stub.enqueue(events.slice(0, 3).map((e) => deliveryId(e, hook.id)));
    await waitForReceived(ep.name, 1);
    await Promise.all([first, stub.enqueue(events.slice(3).map((e) => deliveryId(e, hook.id)))]);
    const got = await waitForReceived(ep.name, 6);
    expect(got.map((g) => g.headers["x-rubric-event-id"])).toEqual(events);
    const after = await waitFor(async () => {
      const m = (await call("GET", "/v1/metrics", { key: account.key })).json;
      return m.deliveries_succeeded === 6 ? m : null;
    });
    expect(after.billable_operations.do_rows_written - before).toBe(0);
  });

  it("ignores deliveries whose webhook or event does not exist", async () => {
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName("wh_01M8HPNNR25R99JKFSE78JRF6B"));
    await stub.enqueue(["dlv_01M8HPNNRRWD3RKKR5FNPX3Y0X01M8HPNNR25R99JKFSE78JRF6B", "not-a-delivery-id"]);
    expect((await stub.stats()).backlog).toBe(0);
  });
});

describe("OutboxSweeper watermark (the dispatch floor)", () => {
  it("re-enqueues old pending events, then advances, staying 10 minutes behind now", async () => {
    const account = await newAccount();
    const sweeper = await sweeperFor(account.id, { name: "watermark-test" });
    const now = Date.now();
    const old = await insertEvent(account.id, { createdAt: now - 3_600_000, status: "pending" });
    await insertEvent(account.id, { createdAt: now - 3_500_000, status: "dispatched" });
    expect(await sweeper.sweep(now)).toBe(1);
    // The watermark is the shard's dispatch floor, in D1 (db/dispatch-receipts.ts).
    const watermark = () => dispatchFloor(recordsDbOf(account.id));
    // Held at the oldest event still pending.
    expect(await watermark()).toBe(old);
    await records.prepare("UPDATE events SET status = 'dispatched' WHERE id = ?").bind(old).run();
    expect(await sweeper.sweep(now)).toBe(0);
    expect(await watermark()).toBe(idFloor("evt", now - 600_000));
    // A producer whose clock runs 5 minutes behind is still within reach.
    await insertEvent(account.id, { createdAt: now - 300_000, status: "pending" });
    expect(await sweeper.sweep(now)).toBe(1);
  });
});
