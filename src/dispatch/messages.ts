/**
 * Queue messages: ids only (payloads live in D1; a message is capped at
 * 128 KB), versioned, and parsed with `safeParse` on the way in.
 */
import { z } from "zod";

export const QueueMessage = z.discriminatedUnion("kind", [
  z.object({
    v: z.literal(1),
    kind: z.literal("event"),
    account_id: z.string().startsWith("acct_"),
    event_id: z.string().startsWith("evt_"),
  }),
]);

export type QueueMessage = z.infer<typeof QueueMessage>;

/** The message that asks the consumer to fan an event out. */
export const eventMessage = (accountId: string, eventId: string): QueueMessage => ({
  v: 1,
  kind: "event",
  account_id: accountId,
  event_id: eventId,
});
