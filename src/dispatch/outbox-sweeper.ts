/**
 * The outbox sweeper: re-enqueues events that are still `pending` some time
 * after ingest (a queue send failed, or a local runtime died with messages in
 * memory). It runs from its own Durable Object alarm, because crons never fire
 * under `wrangler dev`, and from the cron trigger in production.
 *
 * Events are keyed (account, id) with no other index, and ids are
 * time-ordered, so a sweep scans each account's ids between a watermark and
 * the cut-off. The watermark is the shard's dispatch floor (in D1, so every
 * reader of the outbox state can use it: db/dispatch-receipts.ts). It stays at
 * the oldest event still pending, and never closer to now than {@link SKEW_MS},
 * so an event made by a Worker whose clock runs a little behind is still seen.
 *
 * An event re-enqueued and still pending at the next sweep is re-enqueued
 * again only after a back-off (30 s, doubling, at most an hour), so an event
 * that keeps failing its fan-out does not flood the queue. Each sweep also
 * hands back to their objects the deliveries an object lost (lost-deliveries.ts).
 *
 * There is one sweeper per shard (db/shards.ts), each sweeping, retaining and
 * waking only what its shard holds: no sweep is a deployment-wide singleton.
 */
import { DurableObject } from "cloudflare:workers";
import { and, asc, eq, gte, lt } from "drizzle-orm";
import { chunk } from "../db/client";
import { dispatchFloor, isPending, raiseFloor } from "../db/dispatch-receipts";
import { accounts, events } from "../db/schema";
import { type ShardScope, shardIndexes, shardScope } from "../db/shards";
import { idFloor } from "../lib/ids";
import { flushUsage } from "../metrics/flush";
import { UsageMeter } from "../metrics/usage-meter";
import { MAX_REFS_PER_MESSAGE, sendRefs } from "./messages";
import { type RetryMark, rehandLostDeliveries } from "./lost-deliveries";
import { applyRetention, type RetentionResult } from "./retention";
import { alarmNeedsSetting } from "./alarm-liveness";
import { withStorageRetry } from "./storage-retry";
import { wakeEndpoints } from "./wake-endpoints";

/** At most this many events of one account are re-enqueued per sweep; the next sweep takes the rest. */
const SWEEP_LIMIT = 1000;
/** Retention runs at most this often. */
const RETENTION_EVERY_MS = 3_600_000;
/** How far behind now the watermark always stays. */
const SKEW_MS = 10 * 60_000;
/** Back-off between re-enqueues of the same still-pending event: first, doubling, and at most. */
const RESEND_FIRST_MS = 30_000;
const RESEND_MAX_MS = 3_600_000;
/** The first sweep of an instance leaves events younger than this to the queue (see `sweep`). */
const START_GRACE_MS = 5_000;
/** How far back the first scan for lost retries looks. */
const LOST_LOOKBACK_MS = 24 * 3_600_000;

/** The name of shard `shard`'s sweeper (shard 0's keeps the name of the single sweeper before shards). */
const sweeperName = (shard: number) => (shard === 0 ? "outbox" : `outbox-shard-${shard}`);

/** The shard a sweeper's name says it sweeps, if it is one of those names. */
function shardOfName(name: string | undefined): number | undefined {
  if (name === "outbox") return 0;
  const m = /^outbox-shard-(\d+)$/.exec(name ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Shard `shard`'s sweeper. */
export const sweeperOf = (env: Env, shard: number) => env.SWEEPER.get(env.SWEEPER.idFromName(sweeperName(shard)));

/** Makes sure every shard's sweeper has its alarm set and alive (idempotent, cheap). */
export async function armSweeper(env: Env): Promise<void> {
  await Promise.all(shardIndexes(env).map((shard) => sweeperOf(env, shard).arm(shard)));
}

/**
 * Whether this isolate has armed the sweeper yet. Module state on purpose: it
 * is a fact about the isolate (its first request may be the first since the
 * runtime started), not about any one request.
 */
let armedFromThisIsolate = false;

/**
 * On an isolate's first request, arms the sweeper in the background, so that a
 * restarted runtime sweeps and wakes the endpoint objects as soon as it answers
 * anything: its alarms from before the restart do not fire (alarm-liveness.ts).
 */
export function armSweeperOnce(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): void {
  if (armedFromThisIsolate) return;
  armedFromThisIsolate = true;
  ctx.waitUntil(
    armSweeper(env).catch((err) => {
      armedFromThisIsolate = false; // the next request tries again
      console.error("outbox sweeper: arming failed", err);
    }),
  );
}

/** One shard's sweeper, whose alarm sweeps every SWEEP_INTERVAL_SECONDS. */
export class OutboxSweeper extends DurableObject<Env> {
  /** The shard this sweeper works on: its name's (sweeperOf), else the one its `arm` stored, else 0. */
  private shard: number | undefined;
  /** What sweeping costs, flushed after each sweep. */
  private readonly usage = new UsageMeter();
  /**
   * Whether this instance owes the recovery sweep of a start: `unchecked` until
   * its first `arm()` or alarm. A first `arm()` that finds an alarm left by an
   * earlier instance may be the first call since a crash, whose alarms never
   * fire (alarm-liveness.ts): the recovery is `owed`, and brought forward to
   * now. (Storage holds an alarm at every moment of a sweeper's life, a sweep's
   * own included, so none at all means a state never armed.) An alarm that ran
   * before any `arm()` ran on time, so nothing was lost: `none` (an idle
   * sweeper is evicted between sweeps; waking every endpoint object at each
   * sweep would be cost for nothing).
   */
  private recovery: "unchecked" | "owed" | "none" = "unchecked";
  /** When this instance was made: events pending from before it may have lost their queue message. */
  private readonly startedAt = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Events re-enqueued at least once: how often, and not again before `next_at`.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS resends (
      event_id TEXT PRIMARY KEY,
      count INTEGER NOT NULL,
      next_at INTEGER NOT NULL
    ) WITHOUT ROWID`);
  }

  /** This sweeper's shard, as its databases. */
  private async scope(): Promise<ShardScope> {
    this.shard ??= shardOfName(this.ctx.id.name) ?? (await this.ctx.storage.get<number>("shard")) ?? 0;
    return shardScope(this.env, this.shard, this.usage);
  }

  /** Counters go to this sweeper's own shard. */
  private async flush(): Promise<void> {
    await flushUsage(this.env, this.shard ?? 0, this.usage).catch((err) => console.error("usage flush failed", err));
  }

  private intervalMs() {
    return Math.max(1, Number(this.env.SWEEP_INTERVAL_SECONDS)) * 1000;
  }

  /**
   * Sets the alarm if none is set, or if the one set is dead. The first call on
   * a new instance that finds an alarm set by an earlier one moves it to now: a
   * runtime that was killed leaves an alarm that never fires (alarm-liveness.ts),
   * and the sweep it brings is the recovery sweep, which also wakes the endpoint objects.
   * `shard` binds this sweeper to its shard (armSweeper passes it; its name says it too).
   */
  async arm(shard?: number): Promise<void> {
    this.usage.add("do_requests");
    if (shard !== undefined && this.shard !== shard) {
      await withStorageRetry(() => this.ctx.storage.put("shard", shard));
      this.shard = shard;
    }
    const now = Date.now();
    const current = await withStorageRetry(() => this.ctx.storage.getAlarm());
    if (this.recovery === "unchecked") this.recovery = current !== null ? "owed" : "none";
    if (this.recovery === "owed") await withStorageRetry(() => this.ctx.storage.setAlarm(now));
    else if (alarmNeedsSetting(current, now + this.intervalMs(), now)) await withStorageRetry(() => this.ctx.storage.setAlarm(now + this.intervalMs()));
  }

  /** Wakes every active webhook's endpoint object (see wake-endpoints.ts); what it found. */
  async wakeEndpoints(): Promise<{ webhooks: number; holding: number }> {
    this.usage.add("do_requests");
    return wakeEndpoints(this.env, await this.scope());
  }

  /**
   * Re-enqueues events pending longer than SWEEP_AFTER_SECONDS; returns how
   * many. `afterStart` (the first sweep of an instance): also every event
   * pending from before `afterStart.at` (and older than {@link START_GRACE_MS}),
   * whatever its back-off: after a restart their messages are the ones most
   * likely lost, and waiting out SWEEP_AFTER_SECONDS or a back-off grown over
   * earlier crashes would spend the recovery bound for nothing. An event whose
   * message did survive is only fanned out twice, which fan-out is built to take.
   */
  async sweep(now = Date.now(), afterStart?: { at: number }): Promise<number> {
    this.usage.add("do_requests");
    const { control, records: db, holds } = await this.scope();
    // After a start, not the last few seconds' events either: their messages are most likely on their way.
    const sinceStart = afterStart ? Math.min(afterStart.at, now - START_GRACE_MS) : -Infinity;
    const cutoff = idFloor("evt", Math.max(now - Number(this.env.SWEEP_AFTER_SECONDS) * 1000, sinceStart));
    // The floor is the watermark (db/dispatch-receipts.ts): readers of the outbox state rely on it too.
    // (A sweeper from before receipts kept it in its own storage: that one is still true.)
    const watermark = [await dispatchFloor(db), (await this.ctx.storage.get<string>("watermark")) ?? "evt_"].sort().at(-1)!;
    const accountIds = (await control.select({ id: accounts.id }).from(accounts)).map((a) => a.id).filter(holds);
    const stale = (
      await Promise.all(
        accountIds.map((accountId) =>
          db
            .select({ accountId: events.accountId, id: events.id })
            .from(events)
            .where(and(eq(events.accountId, accountId), gte(events.id, watermark), lt(events.id, cutoff), isPending(watermark, cutoff)))
            .orderBy(asc(events.id))
            .limit(SWEEP_LIMIT),
        ),
      )
    ).flat();
    // Each stale event's back-off, read once: whether it may go now, and how often it went before.
    const resent = new Map(stale.map((e) => [e.id, this.resendRow(e.id)]));
    const due = stale.filter((e) => afterStart || (resent.get(e.id)?.next_at ?? 0) <= now);
    // A message per 100 events (messages.ts).
    for (const part of chunk(due, MAX_REFS_PER_MESSAGE)) {
      this.usage.add("queue_operations", await sendRefs(this.env.EVENTS_QUEUE, part.map((e) => ({ accountId: e.accountId, eventId: e.id }))));
      for (const e of part) this.noteResend(e.id, resent.get(e.id)?.count ?? 0, now);
    }
    const oldestPending = stale.reduce<string | null>((min, e) => (min === null || e.id < min ? e.id : min), null);
    const ceiling = idFloor("evt", now - SKEW_MS);
    const next = [oldestPending ?? cutoff, ceiling].sort()[0]!;
    if (next > watermark) {
      await raiseFloor(db, next);
      // Events below the watermark are no longer pending: their back-off is done with.
      this.ctx.storage.sql.exec("DELETE FROM resends WHERE event_id < ?", next);
    }
    await this.flush();
    return due.length;
  }

  /** A pending event's back-off: how often it was re-enqueued and not before when again (none: never yet). */
  private resendRow(eventId: string): { count: number; next_at: number } | undefined {
    return this.ctx.storage.sql.exec<{ count: number; next_at: number }>("SELECT count, next_at FROM resends WHERE event_id = ?", eventId).toArray()[0];
  }

  /** Records a re-enqueue (the `count`-th before it) and when the next one may happen. */
  private noteResend(eventId: string, count: number, now: number) {
    const wait = Math.min(RESEND_FIRST_MS * 2 ** count, RESEND_MAX_MS);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO resends (event_id, count, next_at) VALUES (?, ?, ?)", eventId, count + 1, now + wait);
    this.usage.add("do_rows_written");
  }

  /** Hands back to their objects the deliveries an object lost; returns how many. */
  async recoverLost(now = Date.now()): Promise<number> {
    this.usage.add("do_requests");
    const scope = await this.scope();
    const mark = (await this.ctx.storage.get<RetryMark>("retry_mark")) ?? { at: now - LOST_LOOKBACK_MS, webhookId: "", deliveryId: "" };
    const result = await rehandLostDeliveries(this.env, scope, mark, now);
    await this.ctx.storage.put("retry_mark", result.mark);
    await this.flush();
    return result.rehanded;
  }

  /** Applies retention now (tests, and the hourly run below); returns what was deleted. */
  async retain(now = Date.now()): Promise<RetentionResult> {
    this.usage.add("do_requests");
    const result = await applyRetention(await this.scope(), Number(this.env.RETENTION_DAYS ?? 30), now);
    // Not caught up: the next sweep goes on (retained_at stays where it was).
    if (result.caughtUp) await this.ctx.storage.put("retained_at", now);
    return result;
  }

  override async alarm(): Promise<void> {
    const first = this.recovery === "owed";
    this.recovery = "none";
    // The next sweep is set first, as a lease: a process killed mid-sweep leaves an alarm for `arm()` to find.
    // (Should storage refuse it past its retries, the error leaves alarm(): the runtime's retry of alarm() is the way back.)
    await withStorageRetry(() => this.ctx.storage.setAlarm(Date.now() + this.intervalMs()));
    try {
      if (first) {
        const woken = await this.wakeEndpoints();
        if (woken.holding > 0) console.log(`outbox sweeper woke ${woken.holding} endpoint object(s) holding deliveries`);
      }
      const n = await this.sweep(Date.now(), first ? { at: this.startedAt } : undefined);
      if (n > 0) console.log(`outbox sweeper re-enqueued ${n} pending event(s)`);
      await this.recoverLost();
      const last = (await this.ctx.storage.get<number>("retained_at")) ?? 0;
      if (Date.now() - last >= RETENTION_EVERY_MS) await this.retain();
    } catch (err) {
      // Never throw out of alarm(): the runtime gives up on an alarm after repeated failures.
      console.error("outbox sweep failed", err);
    }
    // The lease above already brings the next sweep; this only moves it to a full interval after this one.
    await withStorageRetry(() => this.ctx.storage.setAlarm(Date.now() + this.intervalMs())).catch((err) =>
      console.error("outbox sweeper: next alarm not moved; the lease brings the next sweep", err),
    );
  }
}
