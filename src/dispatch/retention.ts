/**
 * Retention: attempt records and dispatched events older than RETENTION_DAYS
 * are deleted, a bounded batch per webhook and per account per statement, so
 * no statement holds D1 for long, and never an event still pending (an
 * accepted event is never lost). Each shard's sweeper runs it hourly, and at
 * every sweep while a run ran out of time before it caught up.
 */
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { dropReceiptsBelowFloor, isDispatched } from "../db/dispatch-receipts";
import type { ShardScope } from "../db/shards";
import { accounts, deliveryAttempts, events, webhooks } from "../db/schema";
import { idFloor } from "../lib/ids";

/** Deliveries (attempts) or events deleted per statement. */
export const RETENTION_BATCH = 500;
/** One run deletes batch after batch for at most this long; the sweeper's next alarm goes on. */
export const RETENTION_BUDGET_MS = 10_000;

/** What one run deleted, and whether nothing older than the cut-off is left. */
export interface RetentionResult {
  attempts: number;
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
  const result: RetentionResult = { attempts: 0, events: 0, receipts: 0, caughtUp: true };
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
  for (const { id } of hooks) result.attempts += await drain(() => deleteOldAttempts(db, id, cutoff));
  const owners = (await scope.control.select({ id: accounts.id }).from(accounts)).filter((a) => scope.holds(a.id));
  for (const { id } of owners) result.events += await drain(() => deleteOldEvents(db, id, cutoff));
  // Receipts below the dispatch floor say nothing the floor does not (db/dispatch-receipts.ts).
  result.receipts = await drain(() => dropReceiptsBelowFloor(db, RETENTION_BATCH));
  return result;
}

/**
 * The attempts of up to a batch of one webhook's deliveries for events older than the cut-off:
 * attempts are keyed (webhook, delivery, …) and delivery ids start with the event's time, so this
 * is a key range. Returns the rows deleted.
 */
async function deleteOldAttempts(db: Db, webhookId: string, cutoff: number): Promise<number> {
  const a = deliveryAttempts;
  const res = await db
    .delete(a)
    .where(
      and(
        eq(a.webhookId, webhookId),
        sql`${a.deliveryId} IN (SELECT delivery_id FROM delivery_attempts WHERE webhook_id = ${webhookId} AND delivery_id < ${idFloor("dlv", cutoff)} LIMIT ${RETENTION_BATCH})`,
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
