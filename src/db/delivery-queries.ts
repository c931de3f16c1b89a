/**
 * Reads and writes of deliveries. A delivery has no row of its own: it is the
 * sequence of its attempts, keyed (webhook, delivery, attempt), and its state
 * is the latest attempt's `status`.
 */
import { and, asc, eq, gt, gte, inArray, lt, sql } from "drizzle-orm";
import {
  type AttemptFacts,
  compactRequestHeaders,
  expandRequestHeaders,
  storedResponseBody,
  storedResponseHeaders,
} from "../lib/attempt-storage";
import { idFloor, parseDeliveryId } from "../lib/ids";
import type { Db } from "./client";
import { type AttemptValues, fromDelivery, lastPackEnd, ofDeliveries, packAttempts } from "./attempt-packs";
import { accounts, allAttempts, attemptPacks, deliveryAttempts, events, packedAttempts, webhooks } from "./schema";

export type AttemptRow = typeof deliveryAttempts.$inferSelect;

/** The webhook fields a delivery attempt needs. */
export async function loadWebhookForDispatch(db: Db, webhookId: string) {
  return (
    (await db
      .select({
        id: webhooks.id,
        accountId: webhooks.accountId,
        name: webhooks.name,
        url: webhooks.url,
        transport: webhooks.transport,
        secret: webhooks.secret,
        status: webhooks.status,
        retryConfig: webhooks.retryConfig,
        ordering: webhooks.ordering,
        maxInFlight: webhooks.maxInFlight,
        rateLimitPerSecond: webhooks.rateLimitPerSecond,
        timeoutMs: webhooks.timeoutMs,
        format: webhooks.format,
        templates: webhooks.templates,
        headers: webhooks.headers,
        previousSecrets: webhooks.previousSecrets,
        createdAt: webhooks.createdAt,
        accountStatus: accounts.status,
      })
      .from(webhooks)
      .innerJoin(accounts, eq(accounts.id, webhooks.accountId))
      .where(eq(webhooks.id, webhookId))
      .get()) ?? null
  );
}

export type WebhookForDispatch = NonNullable<Awaited<ReturnType<typeof loadWebhookForDispatch>>>;

/** The event fields a delivery attempt needs (what the queue consumer can also hand over directly). */
export interface EventSnapshot {
  id: string;
  type: string;
  createdAt: number;
  data: string;
  metadata: string;
  /** The trace its deliveries continue (null on rows from before trace context: lib/trace-context.ts). */
  traceParent: string | null;
  traceState: string | null;
}

/** The columns of an {@link EventSnapshot}. */
const snapshotColumns = {
  id: events.id,
  type: events.type,
  createdAt: events.createdAt,
  data: events.data,
  metadata: events.metadata,
  traceParent: events.traceParent,
  traceState: events.traceState,
};

/** One event, by its key. */
export async function loadEventForDispatch(db: Db, accountId: string, eventId: string): Promise<EventSnapshot | null> {
  return (
    (await db
      .select(snapshotColumns)
      .from(events)
      .where(and(eq(events.accountId, accountId), eq(events.id, eventId)))
      .get()) ?? null
  );
}

/** Several events of one account, by id (90 per query). */
export async function loadEventsForDispatch(db: Db, accountId: string, eventIds: string[]): Promise<Map<string, EventSnapshot>> {
  const out = new Map<string, EventSnapshot>();
  for (let i = 0; i < eventIds.length; i += 90) {
    const rows = await db
      .select(snapshotColumns)
      .from(events)
      .where(and(eq(events.accountId, accountId), inArray(events.id, eventIds.slice(i, i + 90))));
    for (const r of rows) out.set(r.id, r);
  }
  return out;
}

/** The latest attempt of a delivery: its number and the state it left. */
export interface LatestAttempt {
  attempt: number;
  status: AttemptRow["status"];
  /** When a `retrying` delivery is due again (null otherwise). */
  nextAttemptAt: number | null;
}

/** The latest attempt of each of a webhook's deliveries in `ids` (absent: never attempted), in one query per 90 ids. */
export async function latestAttemptsOf(db: Db, webhookId: string, ids: string[]): Promise<Map<string, LatestAttempt>> {
  const v = allAttempts;
  const out = new Map<string, LatestAttempt>();
  const sorted = [...ids].sort();
  for (let i = 0; i < sorted.length; i += 90) {
    const part = sorted.slice(i, i + 90);
    const rows = await db
      .select({ deliveryId: v.deliveryId, attempt: v.attempt, status: v.status, nextAttemptAt: v.nextAttemptAt })
      .from(v)
      .where(ofDeliveries(v, webhookId, part))
      .orderBy(asc(v.deliveryId), asc(v.attempt));
    for (const r of rows) out.set(r.deliveryId, { attempt: r.attempt, status: r.status, nextAttemptAt: r.nextAttemptAt });
  }
  return out;
}

/** Everything one attempt needs: webhook (from `control`), event and the latest attempt so far (from the account's records). */
export async function loadAttemptContext(control: Db, recordsOf: (accountId: string) => Db, deliveryId: string) {
  const ids = parseDeliveryId(deliveryId);
  if (!ids) return null;
  const webhook = await loadWebhookForDispatch(control, ids.webhookId);
  if (!webhook) return null;
  const records = recordsOf(webhook.accountId);
  const [event, latest] = await Promise.all([
    loadEventForDispatch(records, webhook.accountId, ids.eventId),
    latestAttemptsOf(records, webhook.id, [deliveryId]),
  ]);
  if (!event) return null;
  return { deliveryId, webhook, event, latest: latest.get(deliveryId) ?? null };
}

export type AttemptContext = NonNullable<Awaited<ReturnType<typeof loadAttemptContext>>>;

/**
 * What one attempt found out (dispatch/attempt.ts `sendAttempt` makes it).
 * Defined here, with the row it is recorded in, because db sits below
 * dispatch and may not import from it.
 */
export interface AttemptResult {
  ok: boolean;
  responseCode: number | null;
  /** As received; the row keeps fewer (lib/attempt-storage.ts `storedResponseHeaders`). */
  responseHeaders: Record<string, string> | null;
  /** Up to 4 KiB; the row keeps 256 bytes of a success. */
  responseBody: string | null;
  error: string | null;
  startedAt: number;
  durationMs: number;
  /** The headers that were sent (for the attempt record; no secret is in them). Stored compact: see lib/attempt-storage.ts. */
  requestHeaders: Record<string, string>;
}

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

/** What an attempt row holds from which its request headers are rebuilt (lib/attempt-storage.ts). */
export const attemptFacts = (a: Pick<AttemptRow, "eventId" | "eventType" | "deliveryId" | "attempt" | "startedAt" | "traceParent">): AttemptFacts => ({
  eventId: a.eventId,
  eventType: a.eventType,
  deliveryId: a.deliveryId,
  attempt: a.attempt,
  timestamp: Math.floor(a.startedAt / 1000),
  traceparent: a.traceParent,
});

/** The headers an attempt sent, as it sent them, from its row. */
export const sentRequestHeaders = (a: AttemptRow) => expandRequestHeaders(a.requestHeaders, attemptFacts(a));

/** Records one attempt: a single row, which is also the delivery's new state. */
export async function recordAttempt(db: Db, o: AttemptOutcome): Promise<void> {
  await recordAttempts(db, [o]);
}

/**
 * Records several attempts in one round trip: a run of first-try successes
 * as packs (db/attempt-packs.ts), the rest a row each.
 */
export async function recordAttempts(db: Db, outcomes: AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const { packs, rows } = packAttempts(outcomes.map(attemptValues));
  // A repeated record (a duplicate hand-over racing, or a batch repeated after an error that
  // did commit) is refused by the key: the same attempt, or the same pack (its first attempt id).
  const inserts = [
    ...rows.map((v) => db.insert(deliveryAttempts).values(v).onConflictDoNothing()),
    ...packs.map((p) => db.insert(attemptPacks).values(p).onConflictDoNothing()),
  ];
  await db.batch(inserts as [(typeof inserts)[number], ...typeof inserts]);
}

function attemptValues(o: AttemptOutcome): AttemptValues {
  const r = o.result;
  const { event, deliveryId } = o.context;
  // The attempt's own trace header, as sent (the transport put it there); none when nothing was sent.
  const traceParent = r.requestHeaders.traceparent ?? null;
  const facts = attemptFacts({ eventId: event.id, eventType: event.type, deliveryId, attempt: o.attempt, startedAt: r.startedAt, traceParent });
  return {
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
    requestHeaders: compactRequestHeaders(r.requestHeaders, facts),
    responseCode: r.responseCode,
    responseHeaders: storedResponseHeaders(r.responseHeaders, r.ok),
    responseBody: storedResponseBody(r.responseBody, r.ok),
    error: r.error,
    nextAttemptAt: o.nextAttemptAt,
    traceParent,
  };
}

/** Every attempt of one of the account's deliveries, oldest first (empty when unknown or not theirs). */
export async function deliveryAttemptsOf(db: Db, accountId: string, deliveryId: string): Promise<AttemptRow[]> {
  const ids = parseDeliveryId(deliveryId);
  if (!ids) return [];
  const v = allAttempts;
  const rows = await db
    .select()
    .from(v)
    .where(and(ofDeliveries(v, ids.webhookId, [deliveryId]), eq(v.accountId, accountId)))
    .orderBy(asc(v.attempt));
  // One attempt in two packs: a flush whose write committed but reported an error, written again
  // later together with newer records (a different pack). Rare; shown once.
  return [...new Map(rows.map((r) => [r.attempt, r])).values()];
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

/**
 * A page of a webhook's deliveries in event order: the latest attempt of
 * each. The table's deliveries and the packed ones are read apart and merged:
 * packs are read in the order of their ends, and a pack ending later may
 * still hold an earlier delivery (within the span), so the packs up to a span
 * past the last one read are read too.
 */
export async function latestAttempts(db: Db, webhookId: string, limit: number, f: DeliveryFilter = {}): Promise<AttemptRow[]> {
  const a = deliveryAttempts;
  const fromTable = db
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
  // Every entry is a first-try success: no entry answers another status.
  if (f.status && f.status !== "succeeded") return fromTable;
  const p = packedAttempts;
  const floor = f.sinceMs !== undefined ? deliveryFloor(f.sinceMs) : undefined;
  const packed = and(
    eq(p.webhookId, webhookId),
    f.cursor ? and(gt(p.packLast, f.cursor), gt(p.deliveryId, f.cursor)) : undefined,
    floor ? fromDelivery(p, floor) : undefined,
    f.untilMs !== undefined ? and(lt(p.packFirst, deliveryFloor(f.untilMs)), lt(p.deliveryId, deliveryFloor(f.untilMs))) : undefined,
    f.eventType ? eq(p.eventType, f.eventType) : undefined,
    // An entry is its delivery's latest unless a later attempt (a manual one) has a row.
    sql`NOT EXISTS (SELECT 1 FROM delivery_attempts b WHERE b.webhook_id = ${p.webhookId} AND b.delivery_id = ${p.deliveryId})`,
  );
  const [rows, first] = await db.batch([fromTable, db.select().from(p).where(packed).orderBy(asc(p.packLast), asc(p.deliveryId)).limit(limit)]);
  let entries: AttemptRow[] = first;
  if (first.length === limit) {
    // The last pack read may have been cut by the limit, so it is read again, whole.
    const end = first.at(-1)!.packLast;
    entries = first.concat(await db.select().from(p).where(and(packed, gte(p.packLast, end), lt(p.packLast, lastPackEnd(end)))));
  }
  const byDelivery = new Map<string, AttemptRow>([...entries, ...rows].map((r) => [r.deliveryId, r]));
  return [...byDelivery.values()].sort((x, y) => (x.deliveryId < y.deliveryId ? -1 : 1)).slice(0, limit);
}

/** Attempts of a webhook for events made since `sinceMs` (for stats). */
export async function attemptsSince(db: Db, webhookId: string, sinceMs: number): Promise<AttemptRow[]> {
  const v = allAttempts;
  return db
    .select()
    .from(v)
    .where(and(eq(v.webhookId, webhookId), fromDelivery(v, deliveryFloor(sinceMs))))
    .orderBy(asc(v.deliveryId), asc(v.attempt));
}
