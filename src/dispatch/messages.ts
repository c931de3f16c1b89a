/**
 * Queue messages: ids only (payloads live in D1; a message is capped at
 * 128 KB), versioned, and parsed with `safeParse` on the way in. One message
 * names up to {@link MAX_REFS_PER_MESSAGE} events: a queue bills each message
 * three operations (write, read, delete), so events accepted together travel
 * together (event-announcer.ts).
 */
import { z } from "zod";

/** Events per message at most (about 6 KB of ids: far under the 128 KB cap). */
export const MAX_REFS_PER_MESSAGE = 100;

const AccountId = z.string().startsWith("acct_");
const EventId = z.string().startsWith("evt_");

export const QueueMessage = z.discriminatedUnion("kind", [
  z.object({ v: z.literal(1), kind: z.literal("event"), account_id: AccountId, event_id: EventId }),
  z.object({
    v: z.literal(1),
    kind: z.literal("events"),
    /** [account id, event id] pairs. */
    refs: z.array(z.tuple([AccountId, EventId])).min(1).max(MAX_REFS_PER_MESSAGE),
  }),
]);

export type QueueMessage = z.infer<typeof QueueMessage>;

/** An event as the queue names it. */
export interface EventRef {
  accountId: string;
  eventId: string;
}

/** The message that asks the consumer to fan one event out. */
export const eventMessage = (accountId: string, eventId: string): QueueMessage => ({
  v: 1,
  kind: "event",
  account_id: accountId,
  event_id: eventId,
});

/** The messages that name `refs`, {@link MAX_REFS_PER_MESSAGE} to a message. */
export function eventsMessages(refs: EventRef[]): QueueMessage[] {
  const out: QueueMessage[] = [];
  for (let i = 0; i < refs.length; i += MAX_REFS_PER_MESSAGE) {
    out.push({ v: 1, kind: "events", refs: refs.slice(i, i + MAX_REFS_PER_MESSAGE).map((r) => [r.accountId, r.eventId]) });
  }
  return out;
}

/** The events a message names. */
export const refsOf = (m: QueueMessage): EventRef[] =>
  m.kind === "event" ? [{ accountId: m.account_id, eventId: m.event_id }] : m.refs.map(([accountId, eventId]) => ({ accountId, eventId }));

/** Sends `refs` in as few messages as they fit (sendBatch takes 100 messages); returns how many messages. */
export async function sendRefs(queue: Queue, refs: EventRef[]): Promise<number> {
  const messages = eventsMessages(refs);
  for (let i = 0; i < messages.length; i += 100) {
    await queue.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
  }
  return messages.length;
}
