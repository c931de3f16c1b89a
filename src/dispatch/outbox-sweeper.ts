/**
 * The outbox sweeper: re-enqueues events that are still `pending` some time
 * after ingest (a queue send failed, or a local runtime died with messages in
 * memory). It runs from the cron trigger in production and from its own
 * Durable Object alarm everywhere, because crons never fire under `wrangler dev`.
 */
import { DurableObject } from "cloudflare:workers";
import { and, asc, eq, lt } from "drizzle-orm";
import { chunk, createDb } from "../db/client";
import { events } from "../db/schema";
import { eventMessage } from "./messages";

/** At most this many events are re-enqueued per sweep; the next sweep takes the rest. */
const SWEEP_LIMIT = 1000;

/** Re-enqueues events pending longer than SWEEP_AFTER_SECONDS. Returns how many. */
export async function sweepOutbox(env: Env, now = Date.now()): Promise<number> {
  const olderThan = now - Number(env.SWEEP_AFTER_SECONDS) * 1000;
  const db = createDb(env.DB);
  const stale = await db
    .select({ id: events.id })
    .from(events)
    .where(and(eq(events.status, "pending"), lt(events.createdAt, olderThan)))
    .orderBy(asc(events.createdAt))
    .limit(SWEEP_LIMIT);
  // sendBatch takes at most 100 messages.
  for (const ids of chunk(stale, 100)) {
    await env.EVENTS_QUEUE.sendBatch(ids.map((e) => ({ body: eventMessage(e.id), contentType: "json" as const })));
  }
  return stale.length;
}

/** Makes sure the sweeper's alarm is set (idempotent, cheap). */
export async function armSweeper(env: Env): Promise<void> {
  await env.SWEEPER.get(env.SWEEPER.idFromName("outbox")).arm();
}

/** A singleton whose alarm runs {@link sweepOutbox} every SWEEP_INTERVAL_SECONDS. */
export class OutboxSweeper extends DurableObject<Env> {
  private intervalMs() {
    return Math.max(1, Number(this.env.SWEEP_INTERVAL_SECONDS)) * 1000;
  }

  /** Sets the alarm if none is set. */
  async arm(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.intervalMs());
  }

  /** Sweeps now (used by tests and the cron) and returns how many events were re-enqueued. */
  async sweep(): Promise<number> {
    return sweepOutbox(this.env);
  }

  override async alarm(): Promise<void> {
    try {
      const n = await sweepOutbox(this.env);
      if (n > 0) console.log(`outbox sweeper re-enqueued ${n} pending event(s)`);
    } catch (err) {
      // Never throw out of alarm(): the runtime gives up on an alarm after repeated failures.
      console.error("outbox sweep failed", err);
    }
    await this.ctx.storage.setAlarm(Date.now() + this.intervalMs());
  }
}
