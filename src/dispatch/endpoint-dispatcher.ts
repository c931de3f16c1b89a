/**
 * EndpointDispatcher: one Durable Object per webhook, the only place that
 * decides when an endpoint is called. Its SQLite storage holds the endpoint's
 * queue of delivery ids; ids sort in event order, so the head of the queue is
 * the oldest undelivered event. FIFO: the head is retried (on alarms) until it
 * succeeds or runs out of retries, and nothing behind it is sent meanwhile.
 */
import { DurableObject } from "cloudflare:workers";
import { createDb, type Db } from "../db/client";
import { type AttemptContext, loadAttemptContext, recordAttempt } from "../db/delivery-queries";
import { renderEnvelope } from "../delivery/envelope";
import { newId } from "../lib/ids";
import { importSecretKey, openSecret } from "../lib/secret-box";
import { urlPolicy, urlRefusal } from "../lib/url-guard";
import { type AttemptResult, sendAttempt } from "./attempt";
import { retryDelayMs, type RetryConfig } from "./retry-policy";

/** If the process dies mid-attempt, the alarm fires this long after the attempt's timeout. */
const LEASE_SLACK_MS = 5_000;
/** After an unexpected error (D1 unreachable, say) the queue is looked at again after this. */
const ERROR_BACKOFF_MS = 5_000;

interface QueueRow extends Record<string, SqlStorageValue> {
  delivery_id: string;
  next_at: number;
  trigger: string;
}

export class EndpointDispatcher extends DurableObject<Env> {
  private readonly db: Db;
  private running: Promise<void> | null = null;
  private again = false;
  private secretKey: Promise<CryptoKey> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = createDb(env.DB);
    ctx.blockConcurrencyWhile(async () => {
      // WITHOUT ROWID: the primary key is the table, so an enqueue writes one row, not two.
      ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS queue (
        delivery_id TEXT PRIMARY KEY,
        next_at INTEGER NOT NULL DEFAULT 0,
        trigger TEXT NOT NULL DEFAULT 'scheduled'
      ) WITHOUT ROWID`);
    });
  }

  /**
   * Adds deliveries to this endpoint's queue (ids already queued are ignored)
   * and makes sure the alarm will process them. Returns the queue length.
   */
  async enqueue(deliveryIds: string[], trigger: "scheduled" | "manual" = "scheduled"): Promise<number> {
    for (const id of deliveryIds) {
      this.ctx.storage.sql.exec("INSERT OR IGNORE INTO queue (delivery_id, trigger) VALUES (?, ?)", id, trigger);
    }
    const alarm = await this.ctx.storage.getAlarm();
    const head = this.head();
    const due = Math.max(Date.now(), head?.next_at ?? 0);
    if (alarm === null || alarm > due) await this.ctx.storage.setAlarm(due);
    return this.queueLength();
  }

  /** Queue length (for tests and metrics). */
  async pending(): Promise<number> {
    return this.queueLength();
  }

  override async alarm(): Promise<void> {
    await this.kick();
  }

  private queueLength(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM queue").one().n;
  }

  private head(): QueueRow | null {
    return this.ctx.storage.sql.exec<QueueRow>("SELECT * FROM queue ORDER BY delivery_id LIMIT 1").toArray()[0] ?? null;
  }

  private drop(id: string) {
    this.ctx.storage.sql.exec("DELETE FROM queue WHERE delivery_id = ?", id);
  }

  /** Runs the queue, or asks the run in progress to look again; never two runs at once. */
  private kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.drain();
        } while (this.again);
      } catch (err) {
        // Never let an error escape alarm(): record it and look again shortly.
        console.error("endpoint dispatcher error", err);
        await this.ctx.storage.setAlarm(Date.now() + ERROR_BACKOFF_MS);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Sends due deliveries in order until the queue is empty or the head must wait. */
  private async drain(): Promise<void> {
    for (;;) {
      const head = this.head();
      if (!head) {
        await this.ctx.storage.deleteAlarm();
        return;
      }
      const now = Date.now();
      if (head.next_at > now) {
        await this.ctx.storage.setAlarm(head.next_at);
        return;
      }
      const context = await loadAttemptContext(this.db, head.delivery_id);
      if (!context || context.delivery.status !== "pending") {
        // Already finished (a duplicate hand-over) or deleted: nothing to send.
        this.drop(head.delivery_id);
        continue;
      }
      // A lease: if this process dies mid-attempt, the alarm brings the attempt back.
      await this.ctx.storage.setAlarm(now + context.webhook.timeoutMs + LEASE_SLACK_MS);
      const nextAt = await this.attempt(context, head.trigger === "manual" ? "manual" : "scheduled");
      if (nextAt === null) {
        this.drop(head.delivery_id);
      } else {
        this.ctx.storage.sql.exec("UPDATE queue SET next_at = ? WHERE delivery_id = ?", nextAt, head.delivery_id);
        await this.ctx.storage.setAlarm(nextAt);
        return;
      }
    }
  }

  /** Makes one attempt and records it. Returns when to try again, or `null` when the delivery is finished. */
  private async attempt(ctx: AttemptContext, trigger: "scheduled" | "manual"): Promise<number | null> {
    const attempt = ctx.delivery.attempts + 1;
    const refusal = urlRefusal(ctx.webhook.url, urlPolicy(this.env));
    const result: AttemptResult = refusal
      ? { ok: false, responseCode: null, responseHeaders: null, responseBody: null, error: `URL ${refusal}`, startedAt: Date.now(), durationMs: 0, requestHeaders: {} }
      : await sendAttempt({
          url: ctx.webhook.url,
          secret: await openSecret(await this.key(), ctx.webhook.secret),
          body: renderEnvelope(ctx.event),
          eventId: ctx.event.id,
          eventType: ctx.event.type,
          deliveryId: ctx.delivery.id,
          attempt,
          timeoutMs: ctx.webhook.timeoutMs,
        });
    const delay = result.ok ? null : retryDelayMs(ctx.webhook.retryConfig as RetryConfig | null, attempt);
    const nextAttemptAt = delay === null ? null : result.startedAt + result.durationMs + delay;
    await recordAttempt(this.db, {
      deliveryId: ctx.delivery.id,
      attemptId: newId("att"),
      attempt,
      trigger,
      result,
      status: result.ok ? "succeeded" : nextAttemptAt === null ? "failed" : "pending",
      nextAttemptAt,
    });
    return nextAttemptAt;
  }

  private key(): Promise<CryptoKey> {
    this.secretKey ??= importSecretKey(this.env.ENCRYPTION_KEY);
    return this.secretKey;
  }
}
