/**
 * Finding deliveries that an endpoint's object lost (its storage cleared, or
 * a bug), from D1 alone. A delivery waiting for a retry has an attempt record
 * with `status = 'retrying'` and `next_attempt_at`; if that time is long past
 * and no later attempt exists, the object did not do its job, so the sweeper
 * hands the delivery over again, together with the deliveries owed to the
 * same webhook behind it that were never attempted (in FIFO mode they waited
 * in the same lost queue). Re-handing is idempotent: an object that still has
 * a delivery ignores the copy, and a finished delivery is never sent twice.
 */
import { and, asc, eq, gt, gte, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import type { ShardScope } from "../db/shards";
import { latestAttemptsOf } from "../db/delivery-queries";
import { isDispatched } from "../db/dispatch-receipts";
import { deliveryAttempts, events, webhooks } from "../db/schema";
import { deliveryId } from "../lib/ids";
import { isOwed, lazyFilterable } from "./fan-out";
import { aboutWebhook } from "./operational-events";

/** A retry this much overdue is taken as lost (an object's alarm fires within seconds). */
export const LOST_AFTER_MS = 60_000;
/** Overdue retries looked at per sweep; the watermark carries on from the last. */
const SCAN_LIMIT = 200;
/** Never-attempted deliveries re-handed behind one lost retry per sweep. */
const BEHIND_LIMIT = 500;

/** Position of the scan: (next_attempt_at, webhook id, delivery id) of the last retry looked at. */
export interface RetryMark {
  at: number;
  webhookId: string;
  deliveryId: string;
}

interface OverdueRetry {
  webhookId: string;
  deliveryId: string;
  attempt: number;
  eventId: string;
  nextAttemptAt: number;
}

/** Retrying attempts due after `from` and no later than `until`, in due order (the partial index). */
async function overdueRetries(db: Db, from: RetryMark, until: number): Promise<OverdueRetry[]> {
  const a = deliveryAttempts;
  const rows = await db
    .select({ webhookId: a.webhookId, deliveryId: a.deliveryId, attempt: a.attempt, eventId: a.eventId, nextAttemptAt: a.nextAttemptAt })
    .from(a)
    .where(
      and(
        eq(a.status, "retrying"),
        gte(a.nextAttemptAt, from.at),
        lte(a.nextAttemptAt, until),
        // Past the mark: later time, or the same time and a later key.
        sql`(${a.nextAttemptAt} > ${from.at} OR ${a.webhookId} > ${from.webhookId} OR (${a.webhookId} = ${from.webhookId} AND ${a.deliveryId} > ${from.deliveryId}))`,
      ),
    )
    .orderBy(asc(a.nextAttemptAt), asc(a.webhookId), asc(a.deliveryId))
    .limit(SCAN_LIMIT);
  return rows.map((r) => ({ ...r, nextAttemptAt: r.nextAttemptAt! }));
}

/** Deliveries owed to `hook` for events after `afterEventId` that were never attempted, in order. */
async function unattemptedBehind(db: Db, hook: typeof webhooks.$inferSelect, afterEventId: string): Promise<string[]> {
  const later = await db
    .select()
    .from(events)
    .where(and(eq(events.accountId, hook.accountId), gt(events.id, afterEventId), isDispatched(afterEventId)))
    .orderBy(asc(events.id))
    .limit(BEHIND_LIMIT);
  const owed = later
    .filter((e) => isOwed(hook, e, aboutWebhook(e.type, e.data), lazyFilterable(e)))
    .map((e) => deliveryId(e.id, hook.id));
  const attempted = await latestAttemptsOf(db, hook.id, owed);
  return owed.filter((id) => !attempted.has(id));
}

/**
 * Looks at overdue retries after `mark` (up to `now - LOST_AFTER_MS`) and hands
 * the lost ones back to their objects. Returns how many deliveries were handed
 * over and where the next scan starts.
 */
export async function rehandLostDeliveries(env: Env, scope: ShardScope, mark: RetryMark, now: number): Promise<{ rehanded: number; mark: RetryMark }> {
  const db = scope.records;
  const until = now - LOST_AFTER_MS;
  const overdue = await overdueRetries(db, mark, until);
  const byWebhook = new Map<string, OverdueRetry[]>();
  for (const r of overdue) byWebhook.set(r.webhookId, [...(byWebhook.get(r.webhookId) ?? []), r]);
  let rehanded = 0;
  for (const [webhookId, rows] of byWebhook) {
    const latest = await latestAttemptsOf(db, webhookId, rows.map((r) => r.deliveryId));
    // Lost: the overdue attempt is still the latest one (no attempt came after it).
    const lost = rows.filter((r) => latest.get(r.deliveryId)?.attempt === r.attempt && latest.get(r.deliveryId)?.status === "retrying");
    if (lost.length === 0) continue;
    const hook = await scope.control.select().from(webhooks).where(eq(webhooks.id, webhookId)).get();
    if (!hook) continue; // deleted: its deliveries were cancelled
    const first = lost.map((r) => r.eventId).sort()[0]!;
    const ids = [...new Set([...lost.map((r) => r.deliveryId), ...(await unattemptedBehind(db, hook, first))])].sort();
    console.warn(`re-handing ${ids.length} deliveries that webhook ${webhookId}'s object lost`);
    await env.ENDPOINT.get(env.ENDPOINT.idFromName(webhookId)).enqueue(ids, "scheduled");
    rehanded += ids.length;
  }
  const last = overdue.at(-1);
  // A short page means everything due up to `until` was seen.
  const next = overdue.length < SCAN_LIMIT || !last ? { at: until, webhookId: "~", deliveryId: "~" } : { at: last.nextAttemptAt, webhookId: last.webhookId, deliveryId: last.deliveryId };
  return { rehanded, mark: next };
}
