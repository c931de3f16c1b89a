/**
 * The stored lane: deliveries in the object's SQLite queue (a failure waiting
 * for its retry, what the inline budget left over, hand-overs that came while
 * the endpoint was busy) are sent by alarms, in rounds. Each round holds the
 * alarm as a lease, sends, writes the attempt records, then settles the queue
 * rows: a crash between the two resends (at least once) rather than forgets.
 */
import type { EventSnapshot, LatestAttempt } from "../db/delivery-queries";
import { latestAttemptsOf, loadEventsForDispatch } from "../db/delivery-queries";
import { eventOf, parseDeliveryId } from "../lib/ids";
import { ERROR_BACKOFF_MS } from "./endpoint-alarm";
import { type Endpoint, lanesOf } from "./endpoint-parts";
import type { Outcome } from "./endpoint-queue";
import { inLanes } from "./lanes";
import { pacedAttempt } from "./make-attempt";

/** Stored deliveries are sent in chunks of at most this many (one read for all of them). */
const DRAIN_CHUNK = 50;

/** Per chunk: fewer under a rate limit, so a chunk takes at most ~10 s and stays well inside the alarm's lease. */
const chunkSize = (perSecond: number | null | undefined) => (perSecond ? Math.min(DRAIN_CHUNK, Math.max(1, perSecond * 10)) : DRAIN_CHUNK);

/**
 * Drains the stored queue, again while deliveries arrived during the drain.
 * An error (D1 unreachable, storage busy past its retries) leaves the
 * deliveries in the queue and sets the alarm to look again after a back-off:
 * an error let out of alarm() is retried by the runtime only a few times, so
 * this does not throw, unless even that alarm could not be set and none set
 * earlier will run. Then throwing is the one way back left: the runtime
 * retries a failed alarm() (and a hand-over's caller retries its message).
 */
export async function drainAll(ep: Endpoint): Promise<void> {
  try {
    do {
      ep.again = false;
      await drain(ep);
    } while (ep.again);
  } catch (err) {
    console.error("endpoint dispatcher: drain failed; looking again after a back-off", err);
    await ep.records.flush().catch((e) => console.error("endpoint dispatcher: records not written yet; kept for the next flush", e));
    await backOffOrThrow(ep);
  }
}

/** Sets the back-off alarm; if storage refuses it too, throws unless an alarm set earlier will still run. */
export async function backOffOrThrow(ep: Endpoint): Promise<void> {
  try {
    await ep.alarm.backOff();
  } catch (err) {
    if (!ep.alarm.willRun()) throw err;
    console.error("endpoint dispatcher: back-off alarm not set; the alarm set earlier comes back", err);
  }
}

/**
 * Sends due stored deliveries until the queue is empty or nothing in it is
 * due. FIFO: the run of due deliveries at the head, one at a time, stopping
 * at the first failure. Parallel: any due delivery, up to max_in_flight at a
 * time; a failure waits for its retry without holding back the rest.
 */
async function drain(ep: Endpoint): Promise<void> {
  for (;;) {
    const headId = ep.queue.headId();
    if (!headId) return ep.alarm.idle();
    const webhookId = parseDeliveryId(headId)?.webhookId;
    const webhook = webhookId ? await ep.webhooks.get(webhookId) : null;
    const fifo = webhook?.ordering !== "parallel";
    const now = Date.now();
    const round = ep.queue.round(fifo, now, chunkSize(webhook?.rateLimitPerSecond));
    if (!round) {
      // Everything waits for a retry. (Never sooner than a moment from now: a queue whose
      // rounds come up empty while a retry looks due must not spin.)
      return ep.alarm.set(Math.max(ep.queue.nextRetryAt(fifo) ?? now + ERROR_BACKOFF_MS, now + 250));
    }
    const cleared = await ep.fence.clearedCount(webhook, round.ids, "scheduled", new Set(round.ids.map(eventOf)));
    // Fenced: look again soon (the missing event is usually fanned out within moments).
    if (cleared === 0) return ep.alarm.set(now + ep.fence.blocked());
    ep.fence.cleared();
    const due = round.ids.slice(0, cleared);
    await ep.alarm.lease(now);
    const known = await prefetch(ep, due);
    const outcomes = new Map<string, Outcome>();
    let stop = false;
    let next = 0;
    const take = () => (stop || next >= due.length ? undefined : due[next++]);
    await inLanes(lanesOf(webhook), take, async (id) => {
      const nextAt = await pacedAttempt(ep, id, round.triggers.get(id) ?? "scheduled", webhook, known.events, known.latest);
      outcomes.set(id, nextAt);
      if (nextAt === "hold" || (fifo && nextAt !== null)) stop = true;
    });
    // Records first, then the queue rows: a crash in between resends (at least once) rather than forgets.
    await ep.records.flush();
    ep.queue.settle(round, outcomes);
    // Disabled: nothing is sent until `resume()`; no alarm needed meanwhile.
    if ([...outcomes.values()].includes("hold")) return ep.alarm.idle();
    // Round again: what is due now is sent, or the alarm is set for the next retry.
  }
}

/** What a chunk of stored deliveries needs from D1, read in two queries instead of two per delivery. */
async function prefetch(ep: Endpoint, ids: string[]): Promise<{ latest: Map<string, LatestAttempt>; events: Map<string, EventSnapshot> }> {
  const webhookId = parseDeliveryId(ids[0]!)?.webhookId;
  const webhook = webhookId ? await ep.webhooks.get(webhookId) : null;
  if (!webhook) return { latest: new Map(), events: new Map() };
  const eventIds = ids.map(eventOf).filter((e) => e !== "");
  const [latest, events] = await Promise.all([
    latestAttemptsOf(ep.recordsOf(webhook.accountId), webhook.id, ids),
    loadEventsForDispatch(ep.recordsOf(webhook.accountId), webhook.accountId, eventIds),
  ]);
  return { latest, events };
}
