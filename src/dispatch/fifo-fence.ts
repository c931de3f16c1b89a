/**
 * The FIFO fence. Events reach an endpoint's object in whatever order the
 * queue hands them over: a message may be retried, two consumer batches may
 * run side by side, and a local `kill -9` loses messages until the outbox
 * sweeper re-enqueues them. So before a FIFO endpoint is sent event E, its
 * object asks D1 whether an earlier event of the account, after the last one
 * this endpoint was sent, is still pending (not yet fanned out) and not
 * accounted for (held here, or in the hand-over being processed). If one is,
 * E and everything after it wait until it has been fanned out: it may be
 * owed to this endpoint too, and must go first.
 *
 * The read is a range of the events table's key (account, id) between two
 * deliveries of this endpoint, so it touches only the events in between.
 */
import { and, desc, eq, gt, lte, ne } from "drizzle-orm";
import type { Db } from "../db/client";
import { isPending } from "../db/dispatch-receipts";
import { attemptPacks, deliveryAttempts, events } from "../db/schema";
import { parseDeliveryId } from "../lib/ids";

/** A blocked endpoint looks again after this, doubling up to the maximum. */
export const FENCE_FIRST_RECHECK_MS = 200;
export const FENCE_MAX_RECHECK_MS = 5_000;
/** Pending events read per check; more than this many accounted for ends the cleared range there. */
const FENCE_SCAN = 100;

/** The event of the latest delivery this endpoint was ever sent (test sends aside), or null: the later of its last row and its last pack. */
export async function lastAttemptedEventId(db: Db, webhookId: string): Promise<string | null> {
  const a = deliveryAttempts;
  const p = attemptPacks;
  const [rows, packs] = await db.batch([
    db.select({ id: a.deliveryId }).from(a).where(and(eq(a.webhookId, webhookId), ne(a.trigger, "test"))).orderBy(desc(a.deliveryId)).limit(1),
    db.select({ id: p.lastId }).from(p).where(eq(p.webhookId, webhookId)).orderBy(desc(p.lastId)).limit(1),
  ]);
  const last = [rows[0]?.id, packs[0]?.id].filter((id): id is string => id !== undefined).sort().at(-1);
  return last ? (parseDeliveryId(last)?.eventId ?? null) : null;
}

/**
 * The last event id, after `from` and up to `upTo`, that may be sent now: every
 * event after the returned id is held back. `null` means nothing is held back.
 */
export async function clearedUpTo(db: Db, accountId: string, from: string, upTo: string, accounted: Set<string>): Promise<string | null> {
  const pending = await db
    .select({ id: events.id })
    .from(events)
    .where(and(eq(events.accountId, accountId), gt(events.id, from), lte(events.id, upTo), isPending(from, upTo)))
    .orderBy(events.id)
    .limit(FENCE_SCAN);
  const unaccounted = pending.find((e) => !accounted.has(e.id));
  if (unaccounted) return unaccounted.id;
  // A full page, all accounted for: what lies beyond it is unknown until the next look.
  return pending.length === FENCE_SCAN ? pending.at(-1)!.id : null;
}
