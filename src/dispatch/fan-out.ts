/**
 * The queue consumer: turns each pending event into one delivery per matching
 * webhook and hands them to the webhooks' Durable Objects. Every step is
 * idempotent, so a message seen twice changes nothing the second time.
 */
import { and, eq, inArray } from "drizzle-orm";
import { chunk, createDb, type Db } from "../db/client";
import { deliveries, events, webhooks } from "../db/schema";
import { deliveryId } from "../lib/ids";
import { webhookMatches } from "./match";
import { QueueMessage } from "./messages";

type EventRow = typeof events.$inferSelect;

/** The deliveries one event needs: webhook id → delivery id. */
async function planDeliveries(db: Db, batch: EventRow[]) {
  const accountIds = [...new Set(batch.map((e) => e.accountId))];
  const hooks = (
    await Promise.all(
      chunk(accountIds).map((ids) =>
        db
          .select({ id: webhooks.id, accountId: webhooks.accountId, events: webhooks.events, filters: webhooks.filters, createdAt: webhooks.createdAt })
          .from(webhooks)
          .where(and(inArray(webhooks.accountId, ids), eq(webhooks.status, "active"))),
      ),
    )
  ).flat();
  const rows: Array<typeof deliveries.$inferInsert> = [];
  for (const event of batch) {
    for (const hook of hooks) {
      // Only endpoints that existed when the event was accepted: a late re-run must not widen the audience.
      if (hook.accountId !== event.accountId || hook.createdAt > event.createdAt) continue;
      if (!webhookMatches({ events: hook.events, filters: hook.filters ?? null }, event)) continue;
      rows.push({
        id: await deliveryId(event.id, hook.id),
        accountId: event.accountId,
        eventId: event.id,
        webhookId: hook.id,
        eventType: event.type,
        status: "pending",
        createdAt: Date.now(),
      });
    }
  }
  return rows;
}

/**
 * Fans out the events named in a batch. Returns the event ids that could not
 * be handed over (their messages are retried); all others are done.
 */
export async function fanOut(env: Env, eventIds: string[]): Promise<Set<string>> {
  const db = createDb(env.DB);
  const loaded = (await Promise.all(chunk(eventIds).map((ids) => db.select().from(events).where(inArray(events.id, ids))))).flat();
  const pending = loaded.filter((e) => e.status === "pending").sort((a, b) => (a.id < b.id ? -1 : 1));
  if (pending.length === 0) return new Set();

  const planned = await planDeliveries(db, pending);
  if (planned.length) {
    const inserts = planned.map((row) => db.insert(deliveries).values(row).onConflictDoNothing());
    await db.batch(inserts as [(typeof inserts)[number], ...typeof inserts]);
  }

  // Hand each webhook its deliveries in event order; one RPC per webhook per batch.
  const byWebhook = new Map<string, typeof planned>();
  for (const row of planned) byWebhook.set(row.webhookId, [...(byWebhook.get(row.webhookId) ?? []), row]);
  const failed = new Set<string>();
  await Promise.all(
    [...byWebhook].map(async ([webhookId, rows]) => {
      try {
        const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(webhookId));
        await stub.enqueue(rows.map((r) => r.id));
      } catch (err) {
        console.error(`handing deliveries to ${webhookId} failed`, err);
        for (const r of rows) failed.add(r.eventId);
      }
    }),
  );

  const done = pending.map((e) => e.id).filter((id) => !failed.has(id));
  for (const ids of chunk(done)) {
    await db.update(events).set({ status: "dispatched" }).where(and(inArray(events.id, ids), eq(events.status, "pending")));
  }
  return failed;
}

/** The `queue()` handler: parse, fan out, ack or retry message by message. */
export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const byEvent = new Map<string, Message<unknown>[]>();
  for (const message of batch.messages) {
    const parsed = QueueMessage.safeParse(message.body);
    if (!parsed.success) {
      // Not ours to process and never will be: say so loudly, then drop it.
      console.error("dropping malformed queue message", message.id, parsed.error.message);
      message.ack();
      continue;
    }
    byEvent.set(parsed.data.event_id, [...(byEvent.get(parsed.data.event_id) ?? []), message]);
  }
  if (byEvent.size === 0) return;
  let failed: Set<string>;
  try {
    failed = await fanOut(env, [...byEvent.keys()]);
  } catch (err) {
    console.error("fan-out failed; retrying the batch", err);
    failed = new Set(byEvent.keys());
  }
  for (const [eventId, messages] of byEvent) {
    for (const m of messages) (failed.has(eventId) ? m.retry({ delaySeconds: Math.min(2 ** m.attempts, 60) }) : m.ack());
  }
}

