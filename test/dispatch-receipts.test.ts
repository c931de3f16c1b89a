// Dispatch receipts (db/dispatch-receipts.ts): a fan-out writes one row per shard for its whole
// batch instead of updating every event, and every reader of the outbox state sees the event as
// dispatched all the same: the API (status and filter), the sweeper, the pending gauge, the FIFO
// fence, retention.
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { dispatchFloor, raiseFloor } from "../src/db/dispatch-receipts";
import { shardScope, shardIndexOf } from "../src/db/shards";
import { fanOut } from "../src/dispatch/fan-out";
import { clearedUpTo } from "../src/dispatch/fifo-fence";
import { applyRetention } from "../src/dispatch/retention";
import { pendingQuery } from "../src/metrics/pending";
import { SYSTEM_ACCOUNT, UsageMeter } from "../src/metrics/usage-meter";
import { idGenerator } from "../src/lib/ids";
import { call, insertEvent, newAccount, newWebhook, receiverEndpoint, waitForReceived } from "./support/helpers";
import { makePending, outboxStatus, recordsD1Of, recordsDbOf, sweeperFor } from "./support/records";

/** A fresh account with a webhook that predates its events, and `n` pending events (never queued). */
async function accountWithEvents(label: string, n: number, at = Date.now()) {
  const account = await newAccount();
  const ep = receiverEndpoint(label);
  const hook = await newWebhook(account.key, { url: ep.url });
  await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await insertEvent(account.id, { createdAt: at + i, data: { i } }));
  return { account, ep, hook, ids, refs: ids.map((eventId) => ({ accountId: account.id, eventId })) };
}

const receipts = (accountId: string) =>
  recordsD1Of(accountId).prepare("SELECT first_id, last_id, event_ids FROM dispatch_receipts ORDER BY last_id").all<{ first_id: string; last_id: string; event_ids: string }>();

// The tests share one shard floor: the ones that move it come last, each above the one before.
describe("dispatch receipts", () => {
  it("a fan-out of 5 events writes one receipt row and updates no event", async () => {
    const { account, ep, ids, refs } = await accountWithEvents("receipt-one", 5);
    const before = (await receipts(account.id)).results.length;
    const meter = new UsageMeter();
    expect([...(await fanOut(env, refs, meter))]).toEqual([]);
    await waitForReceived(ep.name, 5);

    const mine = (await receipts(account.id)).results.filter((r) => JSON.parse(r.event_ids).includes(ids[0]));
    expect((await receipts(account.id)).results.length - before).toBe(1);
    expect(mine).toEqual([{ first_id: ids[0], last_id: ids[4], event_ids: JSON.stringify(ids) }]);
    // The consumer's only D1 write was that row (the attempts are the objects' writes, metered apart).
    expect(meter.take().get(SYSTEM_ACCOUNT)?.d1_rows_written).toBe(1);
    const columns = await recordsD1Of(account.id).prepare(`SELECT DISTINCT status FROM events WHERE account_id = ?`).bind(account.id).all<{ status: string }>();
    expect(columns.results).toEqual([{ status: "pending" }]);
    for (const id of ids) expect(await outboxStatus(id)).toBe("dispatched");
  });

  it("the events API shows receipted events as dispatched, in detail, in lists and in both status filters", async () => {
    const { account, ep, ids, refs } = await accountWithEvents("receipt-api", 3);
    await fanOut(env, refs.slice(0, 2));
    await waitForReceived(ep.name, 2);

    const get = async (id: string) => (await call("GET", `/v1/events/${id}`, { key: account.key })).json.status;
    expect([await get(ids[0]!), await get(ids[1]!), await get(ids[2]!)]).toEqual(["dispatched", "dispatched", "pending"]);
    const list = await call("GET", "/v1/events?limit=10", { key: account.key });
    expect(list.json.data.map((e: { id: string; status: string }) => [e.id, e.status])).toEqual([
      [ids[2], "pending"],
      [ids[1], "dispatched"],
      [ids[0], "dispatched"],
    ]);
    const pending = await call("GET", "/v1/events?status=pending", { key: account.key });
    expect(pending.json.data.map((e: { id: string }) => e.id)).toEqual([ids[2]]);
    const dispatched = await call("GET", "/v1/events?status=dispatched", { key: account.key });
    expect(dispatched.json.data.map((e: { id: string }) => e.id)).toEqual([ids[1], ids[0]]);
    // Nothing left pending for the sweeper tests below (the tests of a file share their storage).
    await fanOut(env, refs.slice(2));
    await waitForReceived(ep.name, 3);
  });

  it("a second fan-out of receipted events hands nothing over and writes nothing", async () => {
    const { account, ep, refs } = await accountWithEvents("receipt-twice", 2);
    await fanOut(env, refs);
    await waitForReceived(ep.name, 2);
    const before = (await receipts(account.id)).results.length;
    const meter = new UsageMeter();
    await fanOut(env, refs, meter);
    expect(meter.take().get(SYSTEM_ACCOUNT)?.do_requests ?? 0).toBe(0);
    expect((await receipts(account.id)).results.length).toBe(before);
  });

  it("the sweeper re-enqueues none of them, raises the floor only to the oldest still pending, and the gauge counts only that one", async () => {
    const { account, ep, ids, refs } = await accountWithEvents("receipt-sweep", 3);
    await fanOut(env, [refs[0]!, refs[2]!]);
    // FIFO: the third waits for the second, which is still pending.
    await waitForReceived(ep.name, 1);
    const db = recordsDbOf(account.id);
    const sweeper = await sweeperFor(account.id, { name: "receipt-sweeper" });
    // Far enough ahead that the floor could pass all three: it stops at the pending one.
    const later = Date.now() + 3_600_000;
    expect(await sweeper.sweep(later)).toBe(1);
    expect(await dispatchFloor(db)).toBe(ids[1]);
    const gauge = await db.get<{ n: number; oldest_id: string }>(pendingQuery(later, [account.id]));
    expect(gauge).toMatchObject({ n: 1, oldest_id: ids[1] });
    await waitForReceived(ep.name, 3);
  });

  it("an event the floor has passed counts as dispatched without a receipt; the FIFO fence waits only for unreceipted ones", async () => {
    const account = await newAccount();
    const db = recordsDbOf(account.id);
    const now = Date.now() + 3_600_000; // above the floor the sweep before left
    const [a, b, c] = [await insertEvent(account.id, { createdAt: now - 20_000 }), await insertEvent(account.id, { createdAt: now - 10_000 }), await insertEvent(account.id, { createdAt: now })];
    expect(await clearedUpTo(db, account.id, "evt_", c!, new Set())).toBe(a);
    await raiseFloor(db, idGenerator(() => now - 15_000)("evt"));
    expect(await outboxStatus(a!)).toBe("dispatched");
    expect(await clearedUpTo(db, account.id, "evt_", c!, new Set())).toBe(b);
    // The floor never moves back.
    await raiseFloor(db, "evt_");
    expect(await dispatchFloor(db)).not.toBe("evt_");
    // A receipt for b: nothing is held back any more (c is the hand-over's own).
    await createDb(recordsD1Of(account.id)).run(
      sql`INSERT INTO dispatch_receipts (last_id, nonce, first_id, event_ids, created_at) VALUES (${b}, 'x', ${b}, ${JSON.stringify([b])}, ${now})`,
    );
    expect(await clearedUpTo(db, account.id, "evt_", c!, new Set([c!]))).toBeNull();
    // Made pending again (as a test's reset does), b holds the fence again.
    await makePending(b!);
    expect(await clearedUpTo(db, account.id, "evt_", c!, new Set([c!]))).toBe(b);
  });

  it("retention drops receipts wholly below the floor and keeps the others", async () => {
    const { account, ep, ids, refs } = await accountWithEvents("receipt-retention", 2, Date.now() + 7_200_000);
    await fanOut(env, [refs[0]!]);
    await fanOut(env, [refs[1]!]);
    await waitForReceived(ep.name, 2);
    const db = recordsDbOf(account.id);
    const count = async () => (await receipts(account.id)).results.filter((r) => ids.includes(r.last_id)).length;
    expect(await count()).toBe(2);
    // The floor passes the first event only.
    await raiseFloor(db, ids[1]!);
    const scope = shardScope(env, shardIndexOf(env, account.id), new UsageMeter());
    const result = await applyRetention(scope, 30);
    expect(result.receipts).toBeGreaterThanOrEqual(1);
    expect(await count()).toBe(1);
    expect((await receipts(account.id)).results.every((r) => r.last_id >= ids[1]!)).toBe(true);
    // Both still read as dispatched: one below the floor, one by its receipt.
    expect([await outboxStatus(ids[0]!), await outboxStatus(ids[1]!)]).toEqual(["dispatched", "dispatched"]);
  });
});
