/**
 * Retention: attempt records (rows and packs) and dispatched events older than RETENTION_DAYS
 * are deleted, a bounded batch per webhook and per account per statement, so
 * no statement holds D1 for long, and never an event still pending (an
 * accepted event is never lost). Each shard's sweeper runs it hourly, and at
 * every sweep while a run ran out of time before it caught up.
 */
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { dropReceiptsBelowFloor, isDispatched } from "../db/dispatch-receipts";
import type { ShardScope } from "../db/shards";
import { accounts, attemptPacks, deliveryAttempts, events, webhooks } from "../db/schema";
import { idFloor } from "../lib/ids";

/** Deliveries (attempts) or events deleted per statement. */
export const RETENTION_BATCH = 500;
/** One run deletes batch after batch for at most this long; the sweeper's next alarm goes on. */
export const RETENTION_BUDGET_MS = 10_000;

/** What one run deleted, and whether nothing older than the cut-off is left. */
export interface RetentionResult {
  attempts: number;
  /** Attempt packs deleted (db/attempt-packs.ts). */
  packs: number;
  events: number;
  /** Dispatch receipts dropped (those below the shard's floor, whatever their age). */
  receipts: number;
  caughtUp: boolean;
}

/**
 * Deletes what is older than `retentionDays` before `now` on this shard: for
 * each webhook and each account, batch after batch until none is left or
 * `budgetMs` is spent (then `caughtUp` is false and the next run goes on).
 */
export async function applyRetention(scope: ShardScope, retentionDays: number, now = Date.now(), budgetMs = RETENTION_BUDGET_MS): Promise<RetentionResult> {
  const db = scope.records;
  const cutoff = now - retentionDays * 86_400_000;
  const deadline = Date.now() + budgetMs;
  const result: RetentionResult = { attempts: 0, packs: 0, events: 0, receipts: 0, caughtUp: true };
  // Batch after batch of one webhook's (or account's) rows: until a short one, or the time is up.
  const drain = async (step: () => Promise<number>): Promise<number> => {
    let total = 0;
    for (;;) {
      const n = await step();
      total += n;
      if (n < RETENTION_BATCH) return total;
      if (Date.now() >= deadline) {
        result.caughtUp = false;
        return total;
      }
    }
  };
  const hooks = (await scope.control.select({ id: webhooks.id, accountId: webhooks.accountId }).from(webhooks)).filter((h) => scope.holds(h.accountId));
  for (const { id } of hooks) result.attempts += await drain(() => deleteOldRecords(db, deliveryAttempts, id, cutoff));
  for (const { id } of hooks) result.packs += await drain(() => deleteOldRecords(db, attemptPacks, id, cutoff));
  const owners = (await scope.control.select({ id: accounts.id }).from(accounts)).filter((a) => scope.holds(a.id));
  for (const { id } of owners) result.events += await drain(() => deleteOldEvents(db, id, cutoff));
  // Receipts below the dispatch floor say nothing the floor does not (db/dispatch-receipts.ts).
  result.receipts = await drain(() => dropReceiptsBelowFloor(db, RETENTION_BATCH));
  return result;
}

/**
 * Up to a batch of one webhook's attempt records for events older than the cut-off: attempt rows
 * are keyed (webhook, delivery, …) and packs (webhook, largest delivery id, …), and delivery ids
 * start with the event's time, so either is a key range (a pack goes once its largest id is past
 * the cut-off). Returns the rows deleted.
 */
async function deleteOldRecords(db: Db, table: typeof deliveryAttempts | typeof attemptPacks, webhookId: string, cutoff: number): Promise<number> {
  const key = table === deliveryAttempts ? deliveryAttempts.deliveryId : attemptPacks.lastId;
  const res = await db
    .delete(table)
    .where(
      and(
        eq(table.webhookId, webhookId),
        sql`${key} IN (SELECT ${sql.identifier(key.name)} FROM ${table} WHERE webhook_id = ${webhookId} AND ${sql.identifier(key.name)} < ${idFloor("dlv", cutoff)} LIMIT ${RETENTION_BATCH})`,
      ),
    );
  return res.meta.changes ?? 0;
}

/** Up to a batch of one account's dispatched events older than the cut-off (ids are time-ordered). */
async function deleteOldEvents(db: Db, accountId: string, cutoff: number): Promise<number> {
  const upTo = idFloor("evt", cutoff);
  const res = await db
    .delete(events)
    .where(
      and(
        eq(events.accountId, accountId),
        inArray(
          events.id,
          db
            .select({ id: events.id })
            .from(events)
            .where(and(eq(events.accountId, accountId), lt(events.id, upTo), isDispatched("evt_", upTo)))
            .limit(RETENTION_BATCH),
        ),
      ),
    );
  return res.meta.changes ?? 0;
}
