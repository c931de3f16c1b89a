/** The dispatcher's reads and writes of D1: one read before an attempt, one batch after it. */
import { eq } from "drizzle-orm";
import type { AttemptResult } from "../dispatch/attempt";
import type { Db } from "./client";
import { deliveries, deliveryAttempts, events, webhooks } from "./schema";

/** Everything one attempt needs, read in a single query. */
export async function loadAttemptContext(db: Db, id: string) {
  return db
    .select({
      delivery: { id: deliveries.id, status: deliveries.status, attempts: deliveries.attempts },
      event: { id: events.id, type: events.type, createdAt: events.createdAt, data: events.data, metadata: events.metadata },
      webhook: {
        id: webhooks.id,
        url: webhooks.url,
        secret: webhooks.secret,
        status: webhooks.status,
        retryConfig: webhooks.retryConfig,
        timeoutMs: webhooks.timeoutMs,
      },
    })
    .from(deliveries)
    .innerJoin(events, eq(events.id, deliveries.eventId))
    .innerJoin(webhooks, eq(webhooks.id, deliveries.webhookId))
    .where(eq(deliveries.id, id))
    .get();
}

export type AttemptContext = NonNullable<Awaited<ReturnType<typeof loadAttemptContext>>>;

/** How an attempt leaves its delivery. */
export interface AttemptOutcome {
  deliveryId: string;
  attemptId: string;
  attempt: number;
  trigger: "scheduled" | "manual" | "test";
  result: AttemptResult;
  status: "pending" | "succeeded" | "failed";
  nextAttemptAt: number | null;
}

/** Records the attempt and the delivery's new state atomically. */
export async function recordAttempt(db: Db, o: AttemptOutcome): Promise<void> {
  const r = o.result;
  await db.batch([
    db
      .insert(deliveryAttempts)
      .values({
        deliveryId: o.deliveryId,
        attempt: o.attempt,
        id: o.attemptId,
        startedAt: r.startedAt,
        durationMs: r.durationMs,
        responseCode: r.responseCode,
        responseHeaders: r.responseHeaders,
        responseBody: r.responseBody,
        error: r.error,
        trigger: o.trigger,
        nextAttemptAt: o.nextAttemptAt,
      })
      .onConflictDoNothing(),
    db
      .update(deliveries)
      .set({
        status: o.status,
        attempts: o.attempt,
        responseCode: r.responseCode,
        lastError: r.error,
        nextAttemptAt: o.nextAttemptAt,
        completedAt: o.status === "pending" ? null : r.startedAt + r.durationMs,
      })
      .where(eq(deliveries.id, o.deliveryId)),
  ]);
}
