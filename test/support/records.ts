// The shard databases as a test sees them. A test that reads or writes events, attempts, scan
// marks or usage counters by hand goes through `records` (a statement run on every shard in use,
// the answers gathered: a row lives on its account's shard only) or `recordsDbOf(account)`.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createDb } from "../../src/db/client";
import { withOutboxStatus } from "../../src/db/dispatch-receipts";
import { shardCount, shardIndexOf } from "../../src/db/shards";
import { sweeperOf } from "../../src/dispatch/outbox-sweeper";

const BINDINGS = [env.DB_SHARD_0, env.DB_SHARD_1, env.DB_SHARD_2, env.DB_SHARD_3];

/** The shard databases in use (SHARDS of them). */
export const shardD1s = (): D1Database[] => BINDINGS.slice(0, shardCount(env));

/** The raw D1 of the shard that holds `accountId`'s records. */
export const recordsD1Of = (accountId: string): D1Database => BINDINGS[shardIndexOf(env, accountId)]!;

/** The drizzle client of the shard that holds `accountId`'s records. */
export const recordsDbOf = (accountId: string) => createDb(recordsD1Of(accountId));

/** One statement, run on every shard. */
class EveryShard {
  constructor(
    private readonly sql: string,
    private readonly values: unknown[] = [],
  ) {}

  bind(...values: unknown[]): EveryShard {
    return new EveryShard(this.sql, values);
  }

  private each() {
    return shardD1s().map((d1) => d1.prepare(this.sql).bind(...this.values));
  }

  /** The first shard's row (or column) that has one; null when none has. */
  async first<T = Record<string, unknown>>(column?: string): Promise<T | null> {
    for (const s of this.each()) {
      const row = column ? await s.first<T>(column) : await s.first<T>();
      if (row !== null && row !== undefined) return row;
    }
    return null;
  }

  /** Every shard's rows, one list. */
  async all<T = Record<string, unknown>>(): Promise<{ results: T[] }> {
    const parts = await Promise.all(this.each().map((s) => s.all<T>()));
    return { results: parts.flatMap((p) => p.results) };
  }

  /** Runs it everywhere; `changes` added up. */
  async run(): Promise<{ meta: { changes: number } }> {
    const parts = await Promise.all(this.each().map((s) => s.run()));
    return { meta: { changes: parts.reduce((n, p) => n + (p.meta.changes ?? 0), 0) } };
  }
}

/** Statements on the records (events, delivery_attempts, scan_marks, usage_counters) of every shard. */
export const records = {
  prepare: (sql: string) => new EveryShard(sql),
  /** Sums a `count(*) AS n`-style statement's first column over the shards. */
  async count(sql: string, ...values: unknown[]): Promise<number> {
    const rows = await Promise.all(shardD1s().map((d1) => d1.prepare(sql).bind(...values).first<number>("n")));
    return rows.reduce<number>((a, b) => a + Number(b ?? 0), 0);
  },
};

/** The binding name of the shard that holds `accountId`'s records (to swap in a faulty one). */
export const shardBindingOf = (accountId: string) => `DB_SHARD_${shardIndexOf(env, accountId)}` as "DB_SHARD_0";

/**
 * A sweeper bound to the shard that holds `accountId`'s records: that shard's own sweeper, or
 * the instance called `name` (a test's private one). `arm` also arms it, as an isolate's first
 * request does, so that it has an alarm to run.
 */
export async function sweeperFor(accountId: string, opts: { name?: string; arm?: boolean } = {}) {
  const shard = shardIndexOf(env, accountId);
  const sweeper = opts.name ? env.SWEEPER.get(env.SWEEPER.idFromName(opts.name)) : sweeperOf(env, shard);
  if (opts.arm) await sweeper.arm(shard);
  else {
    await runInDurableObject(sweeper, async (object, state) => {
      await state.storage.put("shard", shard);
      (object as unknown as { shard: number }).shard = shard;
    });
  }
  return sweeper;
}

/** An event's outbox status as the API shows it (db/dispatch-receipts.ts): the column, with a stored `pending` resolved. */
export async function outboxStatus(eventId: string): Promise<string | null> {
  const row = await records.prepare("SELECT id, account_id, status FROM events WHERE id = ?").bind(eventId).first<{ id: string; account_id: string; status: "pending" | "dispatched" | "dead_lettered" }>();
  if (!row) return null;
  return (await withOutboxStatus(recordsDbOf(row.account_id), row.account_id, [row]))[0]!.status;
}

/** Makes a fanned-out event pending again, as if its fan-out never ran: its column, and every receipt naming it. */
export async function makePending(eventId: string): Promise<void> {
  await records.prepare("UPDATE events SET status = 'pending' WHERE id = ?").bind(eventId).run();
  await records
    .prepare(
      `UPDATE dispatch_receipts SET event_ids = (SELECT json_group_array(j.value) FROM json_each(event_ids) AS j WHERE j.value != ?1)
       WHERE EXISTS (SELECT 1 FROM json_each(event_ids) AS j WHERE j.value = ?1)`,
    )
    .bind(eventId)
    .run();
}
