/**
 * EndpointDispatcher: one Durable Object per webhook, the only place that
 * decides when an endpoint is called. FIFO: a delivery is not sent before the
 * one ahead of it succeeded or ran out of retries.
 *
 * Two paths, so that the common case costs no storage writes:
 * - Inline: when the endpoint is idle, `enqueue()` sends the new deliveries
 *   right away, during the call. Until the call returns, the caller (the queue
 *   consumer) has not marked the events dispatched, so a crash here loses
 *   nothing: the events are fanned out again and finished deliveries skipped.
 * - Stored: whatever cannot be finished inline (a failure waiting for its
 *   retry, work left when the inline time budget ends, deliveries arriving
 *   while the endpoint is busy) goes into this object's SQLite queue, and
 *   alarms drain it. Delivery ids sort in event order, so the queue's key is
 *   the FIFO order.
 */
import { DurableObject } from "cloudflare:workers";
import { createDb, type Db } from "../db/client";
import {
  type AttemptOutcome,
  type EventSnapshot,
  type LatestAttempt,
  latestAttemptsOf,
  loadAttemptContext,
  loadEventForDispatch,
  loadEventsForDispatch,
  loadWebhookForDispatch,
  recordAttempt,
  recordAttempts,
  type WebhookForDispatch,
} from "../db/delivery-queries";
import { idFloor, idTime, newId, parseDeliveryId } from "../lib/ids";
import { importSecretKey } from "../lib/secret-box";
import { deliverOnce, failedBeforeSending } from "./deliver";
import { disableReason, disableWebhook, trackFailure } from "./endpoint-health";
import { EndpointQueue, type Outcome, type Trigger } from "./endpoint-queue";
import { clearedUpTo, FENCE_FIRST_RECHECK_MS, FENCE_MAX_RECHECK_MS, lastAttemptedEventId } from "./fifo-fence";
import { inLanes, Pacer } from "./lanes";
import { emitOperationalEvent } from "./operational-events";
import { latencyCounters } from "../metrics/counters";
import { flushIntervalMs, flushUsage } from "../metrics/flush";
import { meterD1, UsageMeter } from "../metrics/usage-meter";
import { probeFetch } from "../metrics/probe-fetch";
import { honourRetryAfter, retryDelayMs, type RetryConfig } from "./retry-policy";
import { withStorageRetry } from "./storage-retry";
import { alarmIsDead, alarmNeedsSetting } from "./alarm-liveness";

/** How long `enqueue()` may spend sending before it stores the rest and returns. */
export const INLINE_BUDGET_MS = 250;
/** If the process dies mid-attempt, the alarm fires this long after the longest allowed timeout. */
const LEASE_SLACK_MS = 5_000;
const MAX_TIMEOUT_MS = 30_000;
/** After an unexpected error (D1 unreachable, say) the queue is looked at again after this. */
const ERROR_BACKOFF_MS = 5_000;

/** Deliveries being sent inline; `stored` once they were handed to the SQLite queue. */
interface InlineJob {
  /** Not started yet, in order. */
  ids: string[];
  /** Started and not finished (one in FIFO mode, up to max_in_flight in parallel mode). */
  inFlight: Set<string>;
  trigger: Trigger;
  stored: boolean;
  /** Set the moment no lane will take another id: from then on, nobody may join. */
  closed: boolean;
  /** Events the caller is fanning out right now (pending in D1, but not missing): the FIFO fence ignores them. */
  accounted: Set<string>;
  /** Events the caller already had, by id: no D1 read to send them. */
  events: Map<string, EventSnapshot>;
  /** The latest attempt of each delivery, read once for the whole job. */
  latest: Map<string, LatestAttempt> | null;
  /** Settles when the job has finished (sent, stored or failed over to storage). */
  done: Promise<void> | null;
}

/** The webhook's configuration is re-read after this long even without `invalidate()`. */
const WEBHOOK_CACHE_MS = 30_000;
/** Inline attempt records are written together, at most this many per round trip. */
const RECORD_BATCH = 50;
/**
 * ...or once the oldest has waited this long. A crash loses what is buffered,
 * and each lost record is a delivery sent again after the restart; this keeps
 * that to about a second of one endpoint's successes, while a fast endpoint
 * still fills whole batches.
 */
const RECORD_MAX_WAIT_MS = 1_000;
/** Stored deliveries are sent in chunks of at most this many (one read for all of them). */
const DRAIN_CHUNK = 50;

/**
 * Stored deliveries sent per chunk: fewer under a rate limit, so a chunk
 * takes at most ~10 s and stays well inside the alarm's lease.
 */
/** Attempts in flight at once: one in FIFO mode, max_in_flight in parallel mode. */
const lanesOf = (webhook: WebhookForDispatch | null) => (webhook?.ordering === "parallel" ? webhook.maxInFlight : 1);

/** The event id inside a delivery id. */
const eventOf = (deliveryId: string) => parseDeliveryId(deliveryId)?.eventId ?? "";

const chunkSize = (perSecond: number | null | undefined) => (perSecond ? Math.min(DRAIN_CHUNK, Math.max(1, perSecond * 10)) : DRAIN_CHUNK);

export class EndpointDispatcher extends DurableObject<Env> {
  private readonly db: Db;
  /** The deliveries waiting in this object's storage. */
  private readonly queue: EndpointQueue;
  /** True while an inline job or a drain runs: at most one sends at a time. */
  private busy = false;
  /** Set when deliveries were stored during a run, so the run drains again before it stops. */
  private again = false;
  private secretKey: Promise<CryptoKey> | null = null;
  /** The inline job being sent, if any (for stats). */
  private inline: InlineJob | null = null;
  /** Attempts in flight right now, inline or from the stored queue. */
  private sending = 0;
  /** Spaces attempt starts when the webhook has a rate_limit_per_second. */
  private readonly pacer = new Pacer();
  /** The event of the latest delivery attempted here (FIFO fence's lower bound); undefined until read. */
  private lastEvent: string | null | undefined = undefined;
  /** How long a fenced queue waits before it looks again (doubles while blocked). */
  private fenceWait = FENCE_FIRST_RECHECK_MS;
  /** This object's billable operations and outcomes, flushed to D1 every USAGE_FLUSH_SECONDS. */
  private readonly usage = new UsageMeter();
  private lastFlush = 0;
  /** This webhook's configuration, kept between attempts; the API invalidates it on every change. */
  private webhook: { value: WebhookForDispatch | null; at: number } | null = null;
  /** Attempt records of the inline path, written in batches (a crash before the write means a resend: at least once). */
  private records: AttemptOutcome[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = createDb(meterD1(env.DB, this.usage));
    this.queue = new EndpointQueue(ctx.storage.sql, this.usage);
    ctx.blockConcurrencyWhile(async () => this.queue.create());
  }

  /**
   * Takes deliveries for this endpoint (ids already queued are ignored). Resolves
   * once each one was either attempted or stored durably, and within about
   * {@link INLINE_BUDGET_MS} even when the endpoint is slow.
   */
  async enqueue(deliveryIds: string[], trigger: Trigger = "scheduled", events: EventSnapshot[] = [], accounted: string[] = []): Promise<void> {
    this.usage.add("do_requests");
    try {
      await this.accept([...new Set(deliveryIds)].sort(), trigger, events, new Set(accounted));
    } finally {
      this.afterWork();
    }
  }

  /** Forgets the cached webhook configuration (the API calls this after every change). */
  async invalidate(): Promise<void> {
    this.usage.add("do_requests");
    this.webhook = null;
    // A stored backlog is looked at again under the new configuration (a switch to
    // parallel mode frees what waited behind a retry; nothing is sent before it is due).
    if (!this.queue.isEmpty()) await this.ensureAlarm(Date.now());
    this.afterWork();
  }

  private async accept(all: string[], trigger: Trigger, events: EventSnapshot[], accounted: Set<string>): Promise<void> {
    // Already being sent inline: a second hand-over (or a second manual retry) changes nothing.
    // Finished here but not yet recorded in D1 (records are written in batches): a copy must not send it again.
    const unrecorded = new Set(trigger === "manual" ? [] : this.records.map((r) => r.context.deliveryId));
    const ids = all.filter((id) => !this.inline?.ids.includes(id) && !this.inline?.inFlight.has(id) && !unrecorded.has(id));
    if (ids.length === 0) return;
    const running = this.inline;
    if (running && !running.stored && !running.closed && running.trigger === trigger && this.queue.isEmpty()) {
      // Join the inline job in progress instead of paying for storage: same order, same time budget.
      const webhookId = parseDeliveryId(ids[0]!)?.webhookId;
      const webhook = webhookId ? await this.webhookConfig(webhookId) : null;
      const held = new Set([...accounted, ...[...running.inFlight, ...running.ids].map(eventOf)]);
      const [latest, cleared] = await Promise.all([
        webhookId ? latestAttemptsOf(this.db, webhookId, ids) : new Map<string, LatestAttempt>(),
        this.clearedCount(webhook, ids, trigger, held),
      ]);
      // Checked again after the reads: the job may have been stored or finished meanwhile.
      if (cleared === ids.length && !running.stored && !running.closed && this.inline === running) {
        running.latest ??= new Map();
        for (const [id, l] of latest) running.latest.set(id, l);
        for (const e of events) running.events.set(e.id, e);
        running.ids = [...running.ids, ...ids].sort();
        await this.awaitInline(running);
        return;
      }
    }
    if (this.busy || !this.queue.isEmpty()) {
      this.queue.store(ids, trigger);
      this.again = true;
      await this.ensureAlarm(Date.now());
      return;
    }
    const job: InlineJob = {
      ids,
      inFlight: new Set(),
      trigger,
      stored: false,
      closed: false,
      accounted,
      events: new Map(events.map((e) => [e.id, e])),
      latest: null,
      done: null,
    };
    this.busy = true;
    this.inline = job;
    job.done = this.runInline(job).finally(() => {
      this.busy = false;
      this.inline = null;
    });
    await this.awaitInline(job);
  }

  /**
   * Waits for an inline job to finish, but no longer than the budget: then what
   * is left (the attempt in flight included) is stored, and the job goes on.
   */
  private async awaitInline(job: InlineJob): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const budget = new Promise<"budget">((resolve) => (timer = setTimeout(() => resolve("budget"), INLINE_BUDGET_MS)));
    const first = await Promise.race([job.done!.then(() => "done" as const), budget]);
    clearTimeout(timer);
    if (first === "budget" && !job.stored) {
      job.stored = true;
      this.queue.store([...job.inFlight, ...job.ids], job.trigger);
      // The caller marks these events dispatched once this returns, and what the job already
      // finished is in neither the queue nor D1: record it first, or a crash now loses it unsent
      // and unrecorded.
      await this.flushRecords();
      await this.ensureAlarm(Date.now() + LEASE_SLACK_MS);
    }
  }

  /**
   * Backlog, in-flight count and the time of the oldest undelivered event, for
   * metrics; and whether the object was asleep: holding deliveries, sending
   * none, with no alarm that will run. That is a stall of ours, so it is
   * reported, and the alarm is re-armed on the spot.
   */
  async stats(): Promise<{ backlog: number; in_flight: number; oldest_event_at: number | null; asleep: boolean }> {
    this.usage.add("do_requests");
    const inline = this.inline && !this.inline.stored ? [...this.inline.inFlight, ...this.inline.ids].sort() : [];
    const head = [this.queue.headId() ?? undefined, inline[0]].filter((id) => id !== undefined).sort()[0];
    const oldest = head ? parseDeliveryId(head) : null;
    const idle = !this.queue.isEmpty() && !this.busy && this.sending === 0;
    const asleep = idle && alarmIsDead(await withStorageRetry(() => this.ctx.storage.getAlarm()));
    if (asleep) await this.setAlarm(Date.now());
    this.afterWork();
    return {
      backlog: this.queue.length() + inline.length,
      in_flight: this.sending,
      oldest_event_at: oldest ? idTime(oldest.eventId) : null,
      asleep,
    };
  }

  /**
   * Benchmark probe (operator only): `count` plain POSTs to `url` from this
   * object, `concurrency` at a time; the runtime's own ceiling for outbound calls.
   */
  async probeFetch(url: string, count: number, concurrency: number) {
    return probeFetch(url, count, concurrency);
  }

  override async alarm(): Promise<void> {
    this.usage.add("do_requests");
    if (this.busy) {
      // A run is in progress and will drain before it stops.
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      await this.drainAll();
    } finally {
      this.busy = false;
      this.afterWork();
    }
  }

  /**
   * Flushes this object's counters when due; otherwise makes sure an alarm
   * will come back for them (an idle object would never flush).
   */
  private afterWork() {
    if (this.usage.empty) return;
    const due = this.lastFlush + flushIntervalMs(this.env);
    if (Date.now() >= due) {
      this.lastFlush = Date.now();
      this.ctx.waitUntil(flushUsage(this.env.DB, this.usage).catch((err) => console.error("usage flush failed", err)));
    } else {
      // Only the counters' flush waits on this alarm: a failure is logged, never thrown into the runtime.
      this.ctx.waitUntil(this.ensureAlarm(due).catch((err) => console.error("endpoint dispatcher: flush alarm not set", err)));
    }
  }

  /**
   * Sends an inline job's deliveries: in FIFO mode one at a time, and a
   * failure stores it and everything behind it; in parallel mode up to
   * max_in_flight at a time, and a failure stores only itself. Once the job
   * is stored (time budget spent, or the webhook is disabled) the lanes stop
   * taking ids and the stored queue takes over.
   */
  private async runInline(job: InlineJob): Promise<void> {
    try {
      const webhookId = parseDeliveryId(job.ids[0]!)?.webhookId;
      const webhook = webhookId ? await this.webhookConfig(webhookId) : null;
      // One read tells which of these deliveries were already attempted (a repeated hand-over);
      // another, which of them the FIFO fence lets through.
      const [fetched, cleared] = await Promise.all([
        webhookId ? latestAttemptsOf(this.db, webhookId, job.ids) : new Map<string, LatestAttempt>(),
        this.clearedCount(webhook, job.ids, job.trigger, new Set([...job.accounted, ...job.ids.map(eventOf)])),
      ]);
      // Keep what callers that joined meanwhile already read for their ids.
      job.latest = new Map([...fetched, ...(job.latest ?? [])]);
      if (cleared < job.ids.length && !job.stored) {
        // Fenced: an earlier event may still be owed here. These wait in storage (joins too, now).
        this.queue.store(job.ids.splice(cleared), job.trigger);
        this.again = true;
      }
      const fifo = webhook?.ordering !== "parallel";
      let open = lanesOf(webhook);
      const take = () => {
        const id = job.stored ? undefined : job.ids.shift();
        if (id === undefined && --open === 0) job.closed = true;
        else if (id !== undefined) job.inFlight.add(id);
        return id;
      };
      await inLanes(open, take, async (id) => {
        const nextAt = await this.pacedAttempt(id, job.trigger, webhook, job.events, job.latest);
        job.inFlight.delete(id);
        await this.afterInlineAttempt(job, id, nextAt, fifo);
      });
      job.closed = true;
      await this.flushRecords();
      if (job.stored || this.again) await this.drainAll();
    } catch (err) {
      job.closed = true;
      console.error("endpoint dispatcher: inline send failed", err);
      await this.flushRecords().catch((e) => console.error("endpoint dispatcher: records lost; deliveries may repeat", e));
      if (!job.stored) {
        job.stored = true;
        this.queue.store([...job.inFlight, ...job.ids], job.trigger);
      }
      await this.setAlarm(Date.now() + ERROR_BACKOFF_MS);
    }
  }

  /** What an inline attempt's outcome means for the job and the stored queue. */
  private async afterInlineAttempt(job: InlineJob, id: string, nextAt: number | null | "hold", fifo: boolean) {
    if (nextAt === "hold") {
      // The webhook is disabled: keep everything, in order, until it is enabled again.
      if (!job.stored) this.queue.store([id, ...job.inFlight, ...job.ids], job.trigger);
      job.stored = true;
      return;
    }
    if (job.stored) {
      // Already in the stored queue: a retry gets its time; a finished one is cleared by the next drain
      // (its record is written first), so finishing costs no storage write here.
      if (nextAt !== null) this.queue.retryAt(id, nextAt, job.trigger);
      return;
    }
    if (nextAt === null) return;
    // A failure waits in storage for its retry (its record is already written).
    this.queue.retryAt(id, nextAt, job.trigger);
    if (fifo) {
      // FIFO: everything behind it waits too.
      job.stored = true;
      this.queue.store(job.ids, job.trigger);
      await this.setAlarm(nextAt);
    } else {
      await this.ensureAlarm(nextAt);
    }
  }

  /** Drains the stored queue, again while deliveries arrived during the drain. Never throws. */
  private async drainAll(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.drain();
      } while (this.again);
    } catch (err) {
      // Never let an error escape alarm(): the runtime gives up on an alarm after repeated failures.
      console.error("endpoint dispatcher: drain failed", err);
      await this.setAlarm(Date.now() + ERROR_BACKOFF_MS);
    }
  }

  /**
   * Sends due stored deliveries until the queue is empty or nothing in it is
   * due. FIFO: the run of due deliveries at the head, one at a time, stopping
   * at the first failure. Parallel: any due delivery, up to max_in_flight at a
   * time; a failure waits for its retry without holding back the rest.
   */
  private async drain(): Promise<void> {
    for (;;) {
      const headId = this.queue.headId();
      if (!headId) {
        // Keep an alarm only if counters still wait for their flush.
        if (this.usage.empty) await this.ctx.storage.deleteAlarm();
        return;
      }
      const webhookId = parseDeliveryId(headId)?.webhookId;
      const webhook = webhookId ? await this.webhookConfig(webhookId) : null;
      const fifo = webhook?.ordering !== "parallel";
      const now = Date.now();
      const round = this.queue.round(fifo, now, chunkSize(webhook?.rateLimitPerSecond));
      if (!round) {
        // Everything waits for a retry. (Never sooner than a moment from now: a queue whose
        // rounds come up empty while a retry looks due must not spin.)
        await this.setAlarm(Math.max(this.queue.nextRetryAt(fifo) ?? now + ERROR_BACKOFF_MS, now + 250));
        return;
      }
      const cleared = await this.clearedCount(webhook, round.ids, "scheduled", new Set(round.ids.map(eventOf)));
      if (cleared === 0) {
        // Fenced: look again soon (the missing event is usually fanned out within moments).
        await this.setAlarm(now + this.fenceWait);
        this.fenceWait = Math.min(this.fenceWait * 2, FENCE_MAX_RECHECK_MS);
        return;
      }
      this.fenceWait = FENCE_FIRST_RECHECK_MS;
      const due = round.ids.slice(0, cleared);
      // A lease: if this process dies mid-attempt, the alarm brings the attempts back.
      await this.setAlarm(now + MAX_TIMEOUT_MS + LEASE_SLACK_MS);
      const known = await this.prefetch(due);
      const outcomes = new Map<string, Outcome>();
      let stop = false;
      let next = 0;
      const take = () => (stop || next >= due.length ? undefined : due[next++]);
      await inLanes(lanesOf(webhook), take, async (id) => {
        const nextAt = await this.pacedAttempt(id, round.triggers.get(id) ?? "scheduled", webhook, known.events, known.latest);
        outcomes.set(id, nextAt);
        if (nextAt === "hold" || (fifo && nextAt !== null)) stop = true;
      });
      // Records first, then the queue rows: a crash in between resends (at least once) rather than forgets.
      await this.flushRecords();
      this.queue.settle(round, outcomes);
      if ([...outcomes.values()].includes("hold")) {
        // Disabled: nothing is sent until `resume()`; no alarm needed meanwhile.
        if (this.usage.empty) await this.ctx.storage.deleteAlarm();
        return;
      }
      // Round again: what is due now is sent, or the alarm is set for the next retry.
    }
  }

  /** One attempt from a lane: waits for the pacer's slot, then sends with what the caller already read from D1. */
  private async pacedAttempt(
    id: string,
    trigger: Trigger,
    webhook: WebhookForDispatch | null,
    events: Map<string, EventSnapshot>,
    latest: Map<string, LatestAttempt> | null,
  ): Promise<Outcome> {
    await this.pacer.wait(webhook?.rateLimitPerSecond);
    return this.attempt(id, trigger, { event: events.get(eventOf(id)), latest: latest?.get(id) ?? null, buffer: true });
  }

  /**
   * FIFO fence (see fifo-fence.ts): how many of these deliveries, in order, may
   * be sent now. Parallel mode and manual retries are not fenced.
   */
  private async clearedCount(webhook: WebhookForDispatch | null, ids: string[], trigger: Trigger, accounted: Set<string>): Promise<number> {
    if (!webhook || webhook.ordering === "parallel" || trigger === "manual" || ids.length === 0) return ids.length;
    this.lastEvent ??= await lastAttemptedEventId(this.db, webhook.id);
    const floor = idFloor("evt", webhook.createdAt);
    const from = this.lastEvent && this.lastEvent > floor ? this.lastEvent : floor;
    const eventIds = ids.map(eventOf);
    const upTo = eventIds.reduce((max, e) => (e > max ? e : max));
    if (upTo <= from) return ids.length;
    const cleared = await clearedUpTo(this.db, webhook.accountId, from, upTo, accounted);
    if (cleared === null) return ids.length;
    const blocked = eventIds.findIndex((e) => e > cleared);
    return blocked === -1 ? ids.length : blocked;
  }

  /** What a chunk of stored deliveries needs from D1, read in two queries instead of two per delivery. */
  private async prefetch(ids: string[]): Promise<{ latest: Map<string, LatestAttempt>; events: Map<string, EventSnapshot> }> {
    const webhookId = parseDeliveryId(ids[0]!)?.webhookId;
    const webhook = webhookId ? await this.webhookConfig(webhookId) : null;
    if (!webhook) return { latest: new Map(), events: new Map() };
    const eventIds = ids.map(eventOf).filter((e) => e !== "");
    const [latest, events] = await Promise.all([latestAttemptsOf(this.db, webhook.id, ids), loadEventsForDispatch(this.db, webhook.accountId, eventIds)]);
    return { latest, events };
  }

  /** Sets the alarm, repeating a transient storage failure (SQLITE_BUSY under load) before giving up. */
  private async setAlarm(at: number) {
    this.usage.add("do_alarms_set");
    await withStorageRetry(() => this.ctx.storage.setAlarm(at));
  }

  private async ensureAlarm(at: number) {
    const current = await withStorageRetry(() => this.ctx.storage.getAlarm());
    if (alarmNeedsSetting(current, at)) await this.setAlarm(at);
  }

  /**
   * Re-arms the alarm for what this object holds; true when it holds deliveries.
   * The sweeper calls it on every active webhook's object after a start (see
   * wake-endpoints.ts): the alarm in storage may be one that will never fire.
   */
  async wake(): Promise<boolean> {
    this.usage.add("do_requests");
    const holding = !this.queue.isEmpty();
    // A run in progress drains before it stops; otherwise the next drain starts now.
    if (holding && !this.busy) await this.setAlarm(Date.now());
    this.afterWork();
    return holding;
  }

  /** Sends what is held after the webhook is enabled again. */
  async resume(): Promise<void> {
    this.usage.add("do_requests");
    this.webhook = null;
    if (!this.queue.isEmpty()) await this.ensureAlarm(Date.now());
    this.afterWork();
  }

  /**
   * Cancels every delivery waiting here (the webhook is being deleted): each
   * gets a last record with status `cancelled`, then the storage is cleared.
   */
  async cancelAll(reason: string): Promise<number> {
    this.usage.add("do_requests");
    this.webhook = null;
    await this.flushRecords();
    const ids = this.queue.ids();
    for (const id of ids) {
      const context = await loadAttemptContext(this.db, id);
      if (!context || (context.latest && context.latest.status !== "retrying")) continue;
      await recordAttempt(this.db, {
        context,
        attemptId: newId("att"),
        attempt: (context.latest?.attempt ?? 0) + 1,
        trigger: "manual",
        result: failedBeforeSending(`cancelled: ${reason}`),
        status: "cancelled",
        nextAttemptAt: null,
      });
    }
    // Clear everything (alarm included); an empty queue stays for any late hand-over.
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.queue.create();
    this.afterWork();
    return ids.length;
  }

  /**
   * Makes the next attempt at a delivery and records it. Returns when to try
   * again, `null` when the delivery is finished (or was already, or is gone),
   * or `"hold"` when the webhook is disabled.
   */
  private async attempt(
    deliveryId: string,
    trigger: Trigger,
    known: { event?: EventSnapshot; latest?: LatestAttempt | null; buffer?: boolean } = {},
  ): Promise<number | null | "hold"> {
    const ids = parseDeliveryId(deliveryId);
    const webhook = ids ? await this.webhookConfig(ids.webhookId) : null;
    if (!ids || !webhook) return null; // not a delivery id, or the webhook was deleted
    const latest = known.latest !== undefined ? known.latest : ((await latestAttemptsOf(this.db, webhook.id, [deliveryId])).get(deliveryId) ?? null);
    const finished = latest !== null && latest.status !== "retrying";
    // A scheduled hand-over of a finished delivery is a duplicate; a manual retry sends it again.
    if (finished && trigger !== "manual") return null;
    // A disabled webhook, or one of a disabled account, holds everything until enabled again.
    if (webhook.status === "disabled" || webhook.accountStatus !== "active") return "hold";
    const event = known.event ?? (await loadEventForDispatch(this.db, webhook.accountId, ids.eventId));
    if (!event) return null; // deleted (retention)
    const context = { deliveryId, webhook, event, latest };
    this.usage.account = context.webhook.accountId;
    const attempt = (context.latest?.attempt ?? 0) + 1;
    if (this.lastEvent !== undefined && (this.lastEvent === null || ids.eventId > this.lastEvent)) this.lastEvent = ids.eventId;
    this.sending++;
    const result = await deliverOnce(this.env, await this.key(), context, attempt).finally(() => this.sending--);
    // A manual retry of a finished delivery is one attempt; a pending delivery keeps its schedule.
    const retries = !result.ok && !finished;
    // 410 Gone: the endpoint says it is gone for good. Disable it at once; what waits here is held.
    const gone = result.responseCode === 410;
    const reason = disableReason(this.env, result.responseCode, await trackFailure(this.ctx.storage, result.ok, result.startedAt));
    if (reason) {
      await disableWebhook(this.env, this.db, this.ctx.storage, context.webhook, reason);
      this.webhook = null;
    }
    const scheduled = retries && !gone ? retryDelayMs(context.webhook.retryConfig as RetryConfig | null, attempt) : null;
    const delay = scheduled === null ? null : honourRetryAfter(scheduled, result.responseCode, result.responseHeaders?.["retry-after"]);
    const nextAttemptAt = delay === null ? null : result.startedAt + result.durationMs + delay;
    this.usage.addAll({
      attempts: 1,
      retries: attempt > 1 ? 1 : 0,
      deliveries_succeeded: result.ok ? 1 : 0,
      deliveries_failed: !result.ok && nextAttemptAt === null ? 1 : 0,
      ...latencyCounters(result.durationMs),
    });
    const outcome: AttemptOutcome = {
      context,
      attemptId: newId("att"),
      attempt,
      trigger,
      result,
      status: result.ok ? "succeeded" : nextAttemptAt === null ? "failed" : "retrying",
      nextAttemptAt,
    };
    // A delivery that will be retried is recorded at once: its next attempt reads this record.
    this.records.push(outcome);
    if (retries && !result.ok && nextAttemptAt === null) {
      await emitOperationalEvent(this.env, this.db, webhook.accountId, "delivery.exhausted", {
        delivery_id: deliveryId,
        webhook_id: webhook.id,
        webhook_name: webhook.name,
        event_id: event.id,
        event_type: event.type,
        attempts: attempt,
        response_code: result.responseCode,
        last_error: result.error,
      });
    }
    const waited = Date.now() - this.records[0]!.result.startedAt - this.records[0]!.result.durationMs;
    if (!known.buffer || nextAttemptAt !== null || this.records.length >= RECORD_BATCH || waited >= RECORD_MAX_WAIT_MS) await this.flushRecords();
    return nextAttemptAt;
  }

  /** Writes the buffered attempt records. */
  private async flushRecords(): Promise<void> {
    const batch = this.records;
    this.records = [];
    try {
      await recordAttempts(this.db, batch);
    } catch (err) {
      // Keep them for the next flush rather than lose the history.
      this.records = batch.concat(this.records);
      throw err;
    }
  }

  /** The webhook's configuration, from the cache while it is fresh. */
  private async webhookConfig(id: string): Promise<WebhookForDispatch | null> {
    const now = Date.now();
    if (!this.webhook || now - this.webhook.at > WEBHOOK_CACHE_MS || this.webhook.value?.id !== id) {
      this.webhook = { value: await loadWebhookForDispatch(this.db, id), at: now };
    }
    return this.webhook.value;
  }

  private key(): Promise<CryptoKey> {
    this.secretKey ??= importSecretKey(this.env.ENCRYPTION_KEY);
    return this.secretKey;
  }
}
