/**
 * Putting accepted events on the queue, several to a message. Ingest answers
 * 202 once an event is stored (D1 is the outbox: a send that never happens is
 * the sweeper's to make up, SWEEP_AFTER_SECONDS later), so the send need not
 * hold the answer back: each isolate gathers the events its requests accepted
 * for {@link GATHER_MS} (longer while busy: {@link BUSY_GATHER_MS}) and sends
 * them as messages of up to 100 ids. The queue bills three operations per
 * message, so under load an event costs a fraction of a message; alone it
 * waits {@link GATHER_MS} and goes in a message of its own.
 *
 * Module state on purpose: gathering across the requests an isolate serves is
 * the point. One gathering per queue binding (tests swap the binding).
 */
import { recordUsage } from "../metrics/flush";
import { UsageMeter } from "../metrics/usage-meter";
import { type EventRef, MAX_REFS_PER_MESSAGE, sendRefs } from "./messages";

/** How long an idle isolate gathers accepted events before it sends them. */
export const GATHER_MS = 5;
/**
 * How long a busy one gathers: one whose last send went out less than
 * {@link BUSY_GAP_MS} before its next event came. Under steady traffic the
 * queue's own batch wait (50 ms) and any backlog already dwarf it, and a
 * message then carries several events (a third of the cost per event at
 * fan-out 1); an event after a quiet spell still goes after GATHER_MS.
 */
export const BUSY_GATHER_MS = 25;
export const BUSY_GAP_MS = 25;

interface Gathering {
  refs: EventRef[];
  sent: Promise<void>;
  go: () => void;
}

const gatherings = new WeakMap<Queue, Gathering>();
/** When each queue's last send from this isolate went out. */
const lastSent = new WeakMap<Queue, number>();

/**
 * Adds accepted events to this isolate's next send; the promise settles once
 * they were sent (or the send failed and was logged: never rejects). Hand it
 * to `waitUntil`.
 */
export function announceEvents(env: Env, refs: EventRef[]): Promise<void> {
  const queue = env.EVENTS_QUEUE;
  let g = gatherings.get(queue);
  if (!g) {
    let go!: () => void;
    const due = new Promise<void>((resolve) => (go = resolve));
    const busy = Date.now() - (lastSent.get(queue) ?? -Infinity) < BUSY_GAP_MS;
    const timer = setTimeout(() => go(), busy ? BUSY_GATHER_MS : GATHER_MS);
    const gathering: Gathering = { refs: [], go, sent: due.then(() => (clearTimeout(timer), send(env, queue, gathering))) };
    gatherings.set(queue, (g = gathering));
  }
  g.refs.push(...refs);
  // A full message's worth goes at once.
  if (g.refs.length >= MAX_REFS_PER_MESSAGE) g.go();
  return g.sent;
}

async function send(env: Env, queue: Queue, g: Gathering): Promise<void> {
  if (gatherings.get(queue) === g) gatherings.delete(queue);
  lastSent.set(queue, Date.now());
  const meter = new UsageMeter();
  try {
    const messages = await sendRefs(queue, g.refs);
    meter.add("queue_operations", messages);
    const weights = new Map<string, number>();
    for (const r of g.refs) weights.set(r.accountId, (weights.get(r.accountId) ?? 0) + 1);
    meter.spread(weights);
  } catch (err) {
    // The outbox sweeper re-enqueues events left pending, so a failed send delays but never loses.
    console.warn(`queue send of ${g.refs.length} event(s) failed; the sweeper will retry`, err);
  }
  await recordUsage(env, meter);
}
