/**
 * The queue consumer: hands each pending event to the Durable Object of every
 * matching webhook, then writes one dispatch receipt for the batch. Nothing is
 * written per event or per delivery here: a delivery's first record is its
 * first attempt. Every step is idempotent, so a message seen twice changes
 * nothing the second time.
 */
import { and, eq, inArray } from "drizzle-orm";
import { chunk, type Db } from "../db/client";
import type { EventSnapshot } from "../db/delivery-queries";
import { isPending, receiptOf } from "../db/dispatch-receipts";
import { accounts, events, webhooks } from "../db/schema";
import { byShard, controlDb, recordsDb, shardDb } from "../db/shards";
import { deliveryId } from "../lib/ids";
import { recordUsage } from "../metrics/flush";
import { UsageMeter } from "../metrics/usage-meter";
import { webhookMatches } from "./match";
import { type FilterableEvent, hasPayloadFilters, payloadFiltersMatch } from "./payload-filter";
import { type EventRef, QueueMessage, refsOf } from "./messages";
import { aboutWebhook } from "./operational-events";

type EventRow = typeof events.$inferSelect;


/** Loads the named events that are still pending, in id (= time) order, from each shard that holds some. */
async function loadPending(env: Env, meter: UsageMeter, refs: EventRef[]): Promise<EventRow[]> {
  const perShard = await Promise.all([...byShard(env, refs, (r) => r.accountId)].map(([shard, part]) => loadPendingOn(shardDb(env, shard, meter), part)));
  return perShard.flat().sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The still-pending events of `refs` on one database (not floored: whatever a message names is looked at). */
async function loadPendingOn(db: Db, refs: EventRef[]): Promise<EventRow[]> {
  const byAccount = new Map<string, string[]>();
  for (const r of refs) byAccount.set(r.accountId, [...(byAccount.get(r.accountId) ?? []), r.eventId]);
  const queries = [...byAccount].flatMap(([accountId, ids]) =>
    chunk(ids.sort()).map((part) =>
      db
        .select()
        .from(events)
        .where(and(eq(events.accountId, accountId), inArray(events.id, part), isPending(part[0]!, part.at(-1)!, { floored: false }))),
    ),
  );
  return (await Promise.all(queries)).flat();
}

/** The event as payload filters see it, parsed at most once and only if some webhook asks. */
export function lazyFilterable(event: EventRow): () => FilterableEvent {
  let parsed: FilterableEvent | null = null;
  return () =>
    (parsed ??= {
      id: event.id,
      type: event.type,
      data: JSON.parse(event.data),
      metadata: JSON.parse(event.metadata),
      project_id: event.projectId,
      severity: event.severity,
    });
}

/** Whether a webhook gets an event: its type patterns, the seed's attribute filters and payload filters. */
export function eventMatchesWebhook(
  hook: { events: string[]; filters: Record<string, unknown> | null },
  event: EventRow,
  filterable: () => FilterableEvent,
): boolean {
  if (!webhookMatches({ events: hook.events, filters: hook.filters ?? null }, event)) return false;
  return !hasPayloadFilters(hook.filters) || payloadFiltersMatch(hook.filters, filterable());
}

/**
 * Whether `event` is owed to `hook`: same account, the webhook existed when
 * the event was accepted (a late re-run must not widen the audience), the
 * event is not an operational one `about` this webhook, and it matches.
 */
export function isOwed(
  hook: { id: string; accountId: string; createdAt: number; events: string[]; filters: Record<string, unknown> | null },
  event: EventRow,
  about: string | null,
  filterable: () => FilterableEvent,
): boolean {
  if (hook.id === about || hook.accountId !== event.accountId || hook.createdAt > event.createdAt) return false;
  return eventMatchesWebhook(hook, event, filterable);
}

/** What one webhook gets from a batch: delivery ids in event order and the events themselves. */
interface Handover {
  accountId: string;
  ids: string[];
  events: Set<string>;
  snapshots: EventSnapshot[];
  bytes: number;
}

/** Events travel with the hand-over (saving the object a D1 read each) up to this size per call. */
const MAX_HANDOVER_BYTES = 512 * 1024;

/** webhook id → what it gets from `batch`. */
async function planDeliveries(db: Db, batch: EventRow[]): Promise<Map<string, Handover>> {
  const accountIds = [...new Set(batch.map((e) => e.accountId))];
  const hooks = (
    await Promise.all(
      chunk(accountIds).map((ids) =>
        db
          .select({ id: webhooks.id, accountId: webhooks.accountId, events: webhooks.events, filters: webhooks.filters, createdAt: webhooks.createdAt })
          .from(webhooks)
          .innerJoin(accounts, eq(accounts.id, webhooks.accountId))
          .where(and(inArray(webhooks.accountId, ids), eq(webhooks.status, "active"), eq(accounts.status, "active"))),
      ),
    )
  ).flat();
  const plan = new Map<string, Handover>();
  for (const event of batch) {
    const filterable = lazyFilterable(event);
    const about = aboutWebhook(event.type, event.data);
    for (const hook of hooks) {
      if (!isOwed(hook, event, about, filterable)) continue;
      const entry = plan.get(hook.id) ?? { accountId: hook.accountId, ids: [], events: new Set<string>(), snapshots: [], bytes: 0 };
      entry.ids.push(deliveryId(event.id, hook.id));
      entry.events.add(event.id);
      const size = event.data.length + event.metadata.length;
      if (entry.bytes + size <= MAX_HANDOVER_BYTES) {
        entry.snapshots.push({
          id: event.id,
          type: event.type,
          createdAt: event.createdAt,
          data: event.data,
          metadata: event.metadata,
          traceParent: event.traceParent,
          traceState: event.traceState,
        });
        entry.bytes += size;
      }
      plan.set(hook.id, entry);
    }
  }
  return plan;
}

/**
 * Fans out the named events. Returns the ids of events that could not be
 * handed over completely (their messages are retried); all others are done.
 */
export async function fanOut(env: Env, refs: EventRef[], meter = new UsageMeter()): Promise<Set<string>> {
  const pending = await loadPending(env, meter, refs);
  if (pending.length === 0) return new Set();
  const plan = await planDeliveries(controlDb(env, meter), pending);

  // One RPC per webhook per batch. It returns once each delivery was sent or stored by the object.
  const failed = new Set<string>();
  await Promise.all(
    [...plan].map(async ([webhookId, entry]) => {
      try {
        meter.add("do_requests");
        // The batch's events are pending until this call returns: the FIFO fence must not wait for them.
        const accounted = pending.filter((e) => e.accountId === entry.accountId).map((e) => e.id);
        await env.ENDPOINT.get(env.ENDPOINT.idFromName(webhookId)).enqueue(entry.ids, "scheduled", entry.snapshots, accounted);
      } catch (err) {
        console.error(`handing deliveries to ${webhookId} failed`, err);
        for (const id of entry.events) failed.add(id);
      }
    }),
  );

  const done = pending.filter((e) => !failed.has(e.id));
  // One receipt per shard says these were handed over (db/dispatch-receipts.ts), not a row per event.
  await Promise.all([...byShard(env, done, (e) => e.accountId)].map(([shard, part]) => receiptOf(shardDb(env, shard, meter), part.map((e) => e.id))));
  return failed;
}

/** Events one fan-out call takes at most (a consumer batch of 100 single-event messages). */
const MAX_EVENTS_PER_FAN_OUT = 100;

/** The dead-letter queue's name (wrangler.toml). */
export const DEAD_LETTER_QUEUE = "rubric-events-dlq";

/**
 * Messages that failed every retry: their events are marked `dead_lettered`,
 * so they show in `GET /v1/events?status=dead_lettered` and can be replayed,
 * and the sweeper leaves them alone. A message is acked only once recorded.
 */
async function handleDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const meter = new UsageMeter();
  for (const message of batch.messages) {
    const parsed = QueueMessage.safeParse(message.body);
    if (!parsed.success) {
      console.error("dropping malformed dead-lettered message", message.id, parsed.error.message);
      message.ack();
      continue;
    }
    const refs = refsOf(parsed.data);
    try {
      for (const { accountId, eventId } of refs) {
        await recordsDb(env, accountId, meter)
          .update(events)
          .set({ status: "dead_lettered" })
          .where(and(eq(events.accountId, accountId), eq(events.id, eventId), isPending(eventId, eventId, { floored: false })));
      }
      console.error(`event(s) ${refs.map((r) => r.eventId).join(", ")} dead-lettered after ${message.attempts} attempt(s)`);
      message.ack();
    } catch (err) {
      console.error(`recording dead-lettered event(s) of message ${message.id} failed; retrying`, err);
      message.retry({ delaySeconds: 30 });
    }
  }
  await recordUsage(env, meter);
}

/**
 * The `queue()` handler: parse, fan out, then ack each message whose events
 * were all handed over and retry the others (a message names one event or
 * several: a retried message fans out again only what is still pending).
 */
export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  if (batch.queue === DEAD_LETTER_QUEUE) return handleDeadLetters(batch, env);
  const refs = new Map<string, EventRef>();
  const named: Array<{ message: Message<unknown>; eventIds: string[] }> = [];
  for (const message of batch.messages) {
    const parsed = QueueMessage.safeParse(message.body);
    if (!parsed.success) {
      // Not ours to process and never will be: say so loudly, then drop it.
      console.error("dropping malformed queue message", message.id, parsed.error.message);
      message.ack();
      continue;
    }
    const mine = refsOf(parsed.data);
    for (const r of mine) refs.set(r.eventId, r);
    named.push({ message, eventIds: mine.map((r) => r.eventId) });
  }
  if (refs.size === 0) return;
  const meter = new UsageMeter();
  // A batch of messages that each name many events (a sweeper's re-enqueue after a restart) is fanned
  // out a bounded part at a time, as a batch of single-event messages would be: one failing part
  // retries only its own messages.
  const failed = new Set<string>();
  for (const part of chunk([...refs.values()], MAX_EVENTS_PER_FAN_OUT)) {
    try {
      for (const id of await fanOut(env, part, meter)) failed.add(id);
    } catch (err) {
      console.error("fan-out failed; retrying its messages", err);
      for (const r of part) failed.add(r.eventId);
    }
  }
  for (const { message: m, eventIds } of named) (eventIds.some((id) => failed.has(id)) ? m.retry({ delaySeconds: Math.min(2 ** m.attempts, 60) }) : m.ack());
  // One invocation; each message read once and then acked (or retried): two queue operations.
  meter.add("worker_requests");
  meter.add("queue_operations", 2 * batch.messages.length);
  const weights = new Map<string, number>();
  for (const ref of refs.values()) weights.set(ref.accountId, (weights.get(ref.accountId) ?? 0) + 1);
  meter.spread(weights);
  await recordUsage(env, meter);
}
