/**
 * Retention: attempt records and dispatched events older than RETENTION_DAYS
 * are deleted, a bounded batch per webhook and per account at a time, so a
 * run never holds D1 for long and never touches an event still pending (an
 * accepted event is never lost). Runs from the sweeper's alarm, at most hourly.
 */
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { ShardScope } from "../db/shards";
import { accounts, deliveryAttempts, events, webhooks } from "../db/schema";
import { idFloor } from "../lib/ids";

/** Rows deleted per webhook (attempts) or per account (events) in one run. */
export const RETENTION_BATCH = 500;

/** What one run deleted. */
export interface RetentionResult {
  attempts: number;
  events: number;
}

/** Deletes what is older than `retentionDays` before `now`, in bounded batches. */
export async function applyRetention(scope: ShardScope, retentionDays: number, now = Date.now()): Promise<RetentionResult> {
  const db = scope.records;
  const cutoff = now - retentionDays * 86_400_000;
  const result: RetentionResult = { attempts: 0, events: 0 };
  // Attempts are keyed (webhook, delivery, …) and delivery ids start with the event's time: a key range per webhook.
  const hooks = (await scope.control.select({ id: webhooks.id, accountId: webhooks.accountId }).from(webhooks)).filter((h) => scope.holds(h.accountId));
  for (const { id } of hooks) {
    const a = deliveryAttempts;
    const old = await db
      .select({ deliveryId: a.deliveryId })
      .from(a)
      .where(and(eq(a.webhookId, id), lt(a.deliveryId, idFloor("dlv", cutoff))))
      .limit(RETENTION_BATCH);
    const ids = [...new Set(old.map((r) => r.deliveryId))];
    for (let i = 0; i < ids.length; i += 90) {
      const res = await db.delete(a).where(and(eq(a.webhookId, id), inArray(a.deliveryId, ids.slice(i, i + 90))));
      result.attempts += res.meta.changes ?? 0;
    }
  }
  // Events: each account's dispatched events older than the cut-off (ids are time-ordered).
  const owners = (await scope.control.select({ id: accounts.id }).from(accounts)).filter((a) => scope.holds(a.id));
  for (const { id } of owners) {
    const res = await db
      .delete(events)
      .where(
        and(
          eq(events.accountId, id),
          sql`${events.id} IN (SELECT id FROM events WHERE account_id = ${id} AND id < ${idFloor("evt", cutoff)} AND status = 'dispatched' LIMIT ${RETENTION_BATCH})`,
        ),
      );
    result.events += res.meta.changes ?? 0;
  }
  return result;
}
