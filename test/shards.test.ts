// Shards (issue 16 part 1): where an account's records live, and that accounts on different shards
// are isolated and both delivered. The placement tests run in every pass; the end-to-end ones need
// two shards or more, and run in `npm test`'s SHARDS=4 pass (`npm run test:shards`).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardCount, shardOf } from "../src/db/shards";
import { sweeperOf } from "../src/dispatch/outbox-sweeper";
import { ADMIN, call, insertEvent, newAccount, newWebhook, receiverEndpoint, sendEvent, waitForReceived } from "./support/helpers";
import { recordsD1Of, shardD1s } from "./support/records";

const ids = Array.from({ length: 4000 }, (_, i) => `acct_${i.toString(36).padStart(8, "0")}${crypto.randomUUID().slice(0, 8)}`);

describe("placement: a jump consistent hash of the account id", () => {
  it("is stable: the same id always lands on the same shard (these values are part of the data layout)", () => {
    // Fixed vectors: changing the hash would strand every deployed account's records.
    expect([1, 2, 4, 16].map((n) => shardOf("acct_01HZX3J5Q9R2M8KD7T4W6Y1B0C", n))).toEqual([0, 0, 0, 10]);
    expect([1, 2, 4, 16].map((n) => shardOf("acct_dev", n))).toEqual([0, 0, 3, 8]);
    expect(shardOf("acct_dev", 4)).toBe(shardOf("acct_dev", 4));
  });

  it("spreads accounts evenly (each of 4 shards within 10 % of a quarter)", () => {
    const counts = [0, 0, 0, 0];
    for (const id of ids) counts[shardOf(id, 4)]! += 1;
    for (const n of counts) expect(Math.abs(n - ids.length / 4)).toBeLessThan(ids.length / 40);
  });

  it("moves only the accounts that go to the new shard when SHARDS grows by one", () => {
    for (const n of [1, 2, 3, 4, 8]) {
      const moved = ids.filter((id) => shardOf(id, n) !== shardOf(id, n + 1));
      expect(moved.every((id) => shardOf(id, n + 1) === n)).toBe(true);
      // About 1/(n+1) of them move; never most of them, as with `hash % n`.
      expect(Math.abs(moved.length / ids.length - 1 / (n + 1))).toBeLessThan(0.05);
    }
  });

  it("refuses a SHARDS that is not a whole number of at least 1", () => {
    for (const bad of ["0", "-1", "1.5", "many"]) expect(() => shardCount({ ...env, SHARDS: bad })).toThrow(/SHARDS/);
  });
});

/** Two new accounts whose records are on different shards. */
async function accountsOnTwoShards() {
  const first = await newAccount("shard-a");
  for (let i = 0; i < 40; i++) {
    const other = await newAccount(`shard-b-${i}`);
    if (shardOf(other.id, shardCount(env)) !== shardOf(first.id, shardCount(env))) return [first, other] as const;
  }
  throw new Error("no two accounts on different shards in 40 tries");
}

describe.skipIf(shardCount(env) < 2)(`accounts on different shards (SHARDS=${env.SHARDS})`, () => {
  it("are both delivered, their records only on their own shard, and neither sees the other's", async () => {
    const [a, b] = await accountsOnTwoShards();
    const epA = receiverEndpoint("shard-a");
    const epB = receiverEndpoint("shard-b");
    const hookA = await newWebhook(a.key, { url: epA.url });
    const hookB = await newWebhook(b.key, { url: epB.url });
    const evA = await sendEvent(a.key, { type: "sample.scored", data: { who: "a" } });
    const evB = await sendEvent(b.key, { type: "sample.scored", data: { who: "b" } });
    const [gotA] = await waitForReceived(epA.name, 1);
    const [gotB] = await waitForReceived(epB.name, 1);
    expect(JSON.parse(gotA!.body).data).toEqual({ who: "a" });
    expect(JSON.parse(gotB!.body).data).toEqual({ who: "b" });

    // Each account's event and attempt rows are on its shard and nowhere else.
    for (const [acct, ev] of [[a, evA], [b, evB]] as const) {
      const home = recordsD1Of(acct.id);
      for (const d1 of shardD1s()) {
        const events = await d1.prepare("SELECT count(*) AS n FROM events WHERE id = ?").bind(ev.id).first<number>("n");
        const attempts = await d1.prepare("SELECT count(*) AS n FROM all_attempts WHERE event_id = ?").bind(ev.id).first<number>("n");
        expect([events, attempts]).toEqual(d1 === home ? [1, 1] : [0, 0]);
      }
    }
    // The control database holds no records at all.
    expect(await env.DB.prepare("SELECT count(*) AS n FROM events").first<number>("n")).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM all_attempts").first<number>("n")).toBe(0);

    // Each sees its own event and delivery, and a 404 for the other's.
    expect((await call("GET", `/v1/events/${evA.id}`, { key: a.key })).json.deliveries).toHaveLength(1);
    expect((await call("GET", `/v1/events/${evA.id}`, { key: b.key })).status).toBe(404);
    expect((await call("GET", `/v1/events/${evB.id}`, { key: a.key })).status).toBe(404);
    const listA = await call("GET", `/v1/webhooks/${hookA.id}/deliveries`, { key: a.key });
    expect(listA.json.data.map((d: { event_id: string }) => d.event_id)).toEqual([evA.id]);
    expect((await call("GET", `/v1/webhooks/${hookA.id}/deliveries`, { key: b.key })).status).toBe(404);
    expect((await call("GET", `/v1/webhooks/${hookB.id}/deliveries`, { key: b.key })).json.data).toHaveLength(1);
  });

  it("are swept each by their own shard's sweeper", async () => {
    const [a, b] = await accountsOnTwoShards();
    const epA = receiverEndpoint("sweep-a");
    const epB = receiverEndpoint("sweep-b");
    const hookA = await newWebhook(a.key, { url: epA.url });
    const hookB = await newWebhook(b.key, { url: epB.url });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id IN (?, ?)").bind(hookA.id, hookB.id).run();
    // Pending events whose queue message was lost: only a sweep finds them.
    const lostA = await insertEvent(a.id, { createdAt: Date.now() - 120_000 });
    const lostB = await insertEvent(b.id, { createdAt: Date.now() - 120_000 });
    const shardA = shardOf(a.id, shardCount(env));
    const shardB = shardOf(b.id, shardCount(env));
    await sweeperOf(env, shardA).arm(shardA);
    expect(await sweeperOf(env, shardA).sweep()).toBeGreaterThanOrEqual(1);
    const [gotA] = await waitForReceived(epA.name, 1);
    expect(JSON.parse(gotA!.body).id).toBe(lostA);
    // Shard A's sweep did not touch shard B's event.
    expect(await recordsD1Of(b.id).prepare("SELECT status FROM events WHERE id = ?").bind(lostB).first<string>("status")).toBe("pending");
    await sweeperOf(env, shardB).arm(shardB);
    expect(await sweeperOf(env, shardB).sweep()).toBeGreaterThanOrEqual(1);
    const [gotB] = await waitForReceived(epB.name, 1);
    expect(JSON.parse(gotB!.body).id).toBe(lostB);
  });

  it("show per shard in GET /v1/admin/shards: accounts, rows and each database's own traffic", async () => {
    const [a] = await accountsOnTwoShards();
    await sendEvent(a.key, { type: "sample.scored", data: {} });
    const res = await call("GET", "/v1/admin/shards", { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.json.shards.map((s: { index: number }) => s.index)).toEqual([...Array(shardCount(env)).keys()]);
    const home = res.json.shards[shardOf(a.id, shardCount(env))];
    expect(home.accounts).toBeGreaterThanOrEqual(1);
    expect(home.events).toBeGreaterThanOrEqual(1);
    // Counters are flushed on every request here (USAGE_FLUSH_SECONDS=0): the shard's own inserts show.
    expect(home.d1_queries).toBeGreaterThan(0);
    expect(home.d1_rows_written).toBeGreaterThan(0);
    expect(res.json.control.d1_queries).toBeGreaterThan(0);
    expect((await call("GET", "/v1/admin/shards")).status).toBe(401);
  });
});
