import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliveryId } from "../src/lib/ids";
import { call, insertEvent, newAccount, newWebhook, plan, receiverEndpoint, received, waitFor, waitForReceived } from "./support/helpers";
import { makePending, outboxStatus, recordsD1Of } from "./support/records";
import { shardCount, shardOf } from "../src/db/shards";
import { sweeperOf } from "../src/dispatch/outbox-sweeper";

/** The sweeper of the account's shard (the real one, shared by the tests here). */
const sweeper = (accountId: string) => sweeperOf(env, shardOf(accountId, shardCount(env)));
const status = outboxStatus;
const eventIdsOf = (got: Array<{ headers: Record<string, string> }>) => got.map((g) => g.headers["x-rubric-event-id"]);
const MINUTE = 60_000;

/** A FIFO webhook whose first delivery fails and waits 10 minutes (±20 %) for its retry, with two more behind it. */
async function stuckBehindRetry(label: string) {
  const account = await newAccount();
  const ep = receiverEndpoint(label);
  await plan(ep.name, { fail_times: 1 });
  const hook = await newWebhook(account.key, { url: ep.url, retry_config: { schedule_ms: [10 * MINUTE] } });
  await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
  const now = Date.now();
  const events = [];
  for (let i = 0; i < 3; i++) events.push(await insertEvent(account.id, { createdAt: now + i, status: "dispatched" }));
  const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
  await stub.enqueue(events.map((e) => deliveryId(e, hook.id)));
  await waitFor(async () => (await stub.stats()).backlog === 3, 5000, "three deliveries stored behind the retry");
  // Each test scans from its own start (the sweeper is shared and tests move its clock ahead).
  await runInDurableObject(sweeper(account.id), (_o, state) => state.storage.delete("retry_mark"));
  return { account, ep, hook, events, stub };
}

describe("deliveries an object lost", () => {
  it("are found from D1 and handed back: the overdue retry and the never-attempted deliveries behind it, in order", async () => {
    const t = await stuckBehindRetry("lost");
    expect(await received(t.ep.name)).toHaveLength(1);
    // The object loses everything (storage cleared), as if it were a new instance.
    await runInDurableObject(t.stub, async (instance, state) => {
      await state.storage.deleteAlarm();
      await state.storage.deleteAll();
      (instance as unknown as { ep: { queue: { create(): void } } }).ep.queue.create();
    });
    expect((await t.stub.stats()).backlog).toBe(0);
    // Not yet overdue: nothing to do.
    expect(await sweeper(t.account.id).recoverLost(Date.now())).toBe(0);
    await runInDurableObject(sweeper(t.account.id), (_o, state) => state.storage.delete("retry_mark"));
    // Time passes: the retry (due at 8–12 min) is now overdue by more than LOST_AFTER_MS. (D1's time
    // is moved back rather than the sweeper's forward: the object reads the same record, and keeps
    // a retry's time while it is in the future.)
    await recordsD1Of(t.account.id).prepare("UPDATE delivery_attempts SET next_attempt_at = ? WHERE webhook_id = ? AND status = 'retrying'")
      .bind(Date.now() - 2 * MINUTE, t.hook.id)
      .run();
    expect(await sweeper(t.account.id).recoverLost(Date.now())).toBe(3);
    const got = await waitForReceived(t.ep.name, 4);
    expect(eventIdsOf(got)).toEqual([t.events[0], t.events[0], t.events[1], t.events[2]]);
    expect(got.map((g) => g.answered)).toEqual([500, 200, 200, 200]);
    for (const e of t.events) {
      const d = await call("GET", `/v1/deliveries/${deliveryId(e, t.hook.id)}`, { key: t.account.key });
      expect(d.json.status).toBe("succeeded");
    }
    // Found once: the next scan starts past them, and they are finished anyway.
    await runInDurableObject(sweeper(t.account.id), (_o, state) => state.storage.delete("retry_mark"));
    expect(await sweeper(t.account.id).recoverLost(Date.now() + 15 * MINUTE)).toBe(0);
  });

  it("handing back a retry the object still holds sends nothing early and nothing twice", async () => {
    const t = await stuckBehindRetry("held");
    expect(await sweeper(t.account.id).recoverLost(Date.now() + 15 * MINUTE)).toBe(3);
    await new Promise((r) => setTimeout(r, 500));
    // The object still had all three: the retry keeps its time, the others keep waiting behind it.
    expect(await received(t.ep.name)).toHaveLength(1);
    expect((await t.stub.stats()).backlog).toBe(3);
  });
});

describe("duplicate hand-overs", () => {
  it("never send a delivery twice, even while its success is not yet written to D1", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("dups");
    await plan(ep.name, { delay_ms: 30 });
    const hook = await newWebhook(account.key, { url: ep.url });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const now = Date.now();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(deliveryId(await insertEvent(account.id, { createdAt: now + i, status: "dispatched" }), hook.id));
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
    // The same ids handed over again and again while the first hand-over is still sending them.
    const copies = [stub.enqueue(ids)];
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 25));
      copies.push(stub.enqueue(ids));
    }
    await Promise.all(copies);
    await waitForReceived(ep.name, 5);
    await waitFor(async () => (await stub.stats()).backlog === 0, 5000, "an empty queue");
    await new Promise((r) => setTimeout(r, 300));
    const got = await received(ep.name);
    expect(got.map((g) => g.headers["x-rubric-delivery-id"]).sort()).toEqual([...ids].sort());
  });
});

describe("the sweeper's back-off", () => {
  it("re-enqueues a still-pending event again only after 30 s, then 60 s, and forgets it once it is no longer pending", async () => {
    const account = await newAccount();
    const eventId = await insertEvent(account.id, { createdAt: Date.now() - MINUTE });
    const t0 = Date.now();
    expect(await sweeper(account.id).sweep(t0)).toBe(1);
    await waitFor(async () => (await status(eventId)) === "dispatched", 5000, "the event to be fanned out");
    // As if its fan-out had failed again: still pending.
    const reset = () => makePending(eventId);
    const backoff = () =>
      runInDurableObject(sweeper(account.id), (_o, state) =>
        state.storage.sql.exec<{ count: number; next_at: number }>("SELECT count, next_at FROM resends WHERE event_id = ?", eventId).toArray()[0],
      );
    await reset();
    expect(await sweeper(account.id).sweep(t0 + 1_000)).toBe(0);
    expect(await backoff()).toEqual({ count: 1, next_at: t0 + 30_000 });
    expect(await sweeper(account.id).sweep(t0 + 30_000)).toBe(1);
    expect(await backoff()).toEqual({ count: 2, next_at: t0 + 90_000 });
    await waitFor(async () => (await status(eventId)) === "dispatched", 5000, "the event to be fanned out again");
    await reset();
    expect(await sweeper(account.id).sweep(t0 + 89_000)).toBe(0);
    expect(await sweeper(account.id).sweep(t0 + 90_000)).toBe(1);
    await waitFor(async () => (await status(eventId)) === "dispatched", 5000, "the event to be fanned out a third time");
    // Dispatched and far behind the watermark now: its back-off row is deleted.
    await sweeper(account.id).sweep(Date.now() + 60 * MINUTE);
    expect(await backoff()).toBeUndefined();
  });
});
