/**
 * Reads and writes of deliveries. A delivery has no row of its own: it is the
 * sequence of its attempts, keyed (webhook, delivery, attempt), and its state
 * is the latest attempt's `status`.
 */
import { and, asc, desc, eq, gt, gte, lt, sql } from "drizzle-orm";
import type { AttemptResult } from "../dispatch/attempt";
import { idFloor, parseDeliveryId } from "../lib/ids";
import type { Db } from "./client";
import { deliveryAttempts, events, webhooks } from "./schema";

export type AttemptRow = typeof deliveryAttempts.$inferSelect;

/** Everything one attempt needs (webhook, event, the latest attempt so far), read concurrently. */
export async function loadAttemptContext(db: Db, deliveryId: string) {
  const ids = parseDeliveryId(deliveryId);
  if (!ids) return null;
  // Not db.batch(): batched selects are mapped by column name, and this join has two `id` columns.
  const [target, latest] = await Promise.all([
    db
      .select({
        webhook: {
          id: webhooks.id,
          accountId: webhooks.accountId,
          url: webhooks.url,
          secret: webhooks.secret,
          status: webhooks.status,
          retryConfig: webhooks.retryConfig,
          timeoutMs: webhooks.timeoutMs,
          format: webhooks.format,
          templates: webhooks.templates,
          headers: webhooks.headers,
          previousSecrets: webhooks.previousSecrets,
        },
        event: { id: events.id, type: events.type, createdAt: events.createdAt, data: events.data, metadata: events.metadata },
      })
      .from(webhooks)
      .innerJoin(events, and(eq(events.accountId, webhooks.accountId), eq(events.id, ids.eventId)))
      .where(eq(webhooks.id, ids.webhookId)),
    db
      .select({ attempt: deliveryAttempts.attempt, status: deliveryAttempts.status })
      .from(deliveryAttempts)
      .where(and(eq(deliveryAttempts.webhookId, ids.webhookId), eq(deliveryAttempts.deliveryId, deliveryId)))
      .orderBy(desc(deliveryAttempts.attempt))
      .limit(1),
  ]);
  const found = target[0];
  if (!found) return null;
  return { deliveryId, ...found, latest: latest[0] ?? null };
}

export type AttemptContext = NonNullable<Awaited<ReturnType<typeof loadAttemptContext>>>;

/** How an attempt leaves its delivery. */
export interface AttemptOutcome {
  context: AttemptContext;
  attemptId: string;
  attempt: number;
  trigger: "scheduled" | "manual" | "test";
  result: AttemptResult;
  status: "succeeded" | "retrying" | "failed" | "cancelled";
  nextAttemptAt: number | null;
}

/** Records one attempt: a single row, which is also the delivery's new state. */
export async function recordAttempt(db: Db, o: AttemptOutcome): Promise<void> {
  const r = o.result;
  await db
    .insert(deliveryAttempts)
    .values({
      webhookId: o.context.webhook.id,
      deliveryId: o.context.deliveryId,
      attempt: o.attempt,
      id: o.attemptId,
      accountId: o.context.webhook.accountId,
      eventId: o.context.event.id,
      eventType: o.context.event.type,
      status: o.status,
      trigger: o.trigger,
      startedAt: r.startedAt,
      durationMs: r.durationMs,
      requestHeaders: r.requestHeaders,
      responseCode: r.responseCode,
      responseHeaders: r.responseHeaders,
      responseBody: r.responseBody,
      error: r.error,
      nextAttemptAt: o.nextAttemptAt,
    })
    // A repeated record of the same attempt (a duplicate hand-over racing) is refused by the key.
    .onConflictDoNothing();
}

/** Every attempt of one of the account's deliveries, oldest first (empty when unknown or not theirs). */
export async function deliveryAttemptsOf(db: Db, accountId: string, deliveryId: string): Promise<AttemptRow[]> {
  const ids = parseDeliveryId(deliveryId);
  if (!ids) return [];
  return db
    .select()
    .from(deliveryAttempts)
    .where(
      and(
        eq(deliveryAttempts.webhookId, ids.webhookId),
        eq(deliveryAttempts.deliveryId, deliveryId),
        eq(deliveryAttempts.accountId, accountId),
      ),
    )
    .orderBy(asc(deliveryAttempts.attempt));
}

/** Narrowing of a webhook's delivery history. Times are event times (delivery ids sort by them). */
export interface DeliveryFilter {
  status?: AttemptRow["status"];
  eventType?: string;
  sinceMs?: number;
  untilMs?: number;
  cursor?: string;
}

/** The smallest delivery id for events made at `ms`. */
const deliveryFloor = (ms: number) => idFloor("dlv", ms);

/** A page of a webhook's deliveries in event order: the latest attempt of each. */
export async function latestAttempts(db: Db, webhookId: string, limit: number, f: DeliveryFilter = {}): Promise<AttemptRow[]> {
  const a = deliveryAttempts;
  return db
    .select()
    .from(a)
    .where(
      and(
        eq(a.webhookId, webhookId),
        f.cursor ? gt(a.deliveryId, f.cursor) : undefined,
        f.sinceMs !== undefined ? gte(a.deliveryId, deliveryFloor(f.sinceMs)) : undefined,
        f.untilMs !== undefined ? lt(a.deliveryId, deliveryFloor(f.untilMs)) : undefined,
        f.eventType ? eq(a.eventType, f.eventType) : undefined,
        f.status ? eq(a.status, f.status) : undefined,
        sql`${a.attempt} = (SELECT max(b.attempt) FROM delivery_attempts b WHERE b.webhook_id = ${a.webhookId} AND b.delivery_id = ${a.deliveryId})`,
      ),
    )
    .orderBy(asc(a.deliveryId))
    .limit(limit);
}

/** Attempts of a webhook for events made since `sinceMs` (for stats). */
export async function attemptsSince(db: Db, webhookId: string, sinceMs: number): Promise<AttemptRow[]> {
  const a = deliveryAttempts;
  return db
    .select()
    .from(a)
    .where(and(eq(a.webhookId, webhookId), gte(a.deliveryId, deliveryFloor(sinceMs))))
    .orderBy(asc(a.deliveryId), asc(a.attempt));
}
