/**
 * The inline lane: when the endpoint is idle, a hand-over's deliveries are
 * sent during the call itself, so the common case costs no storage write.
 * Until the call returns the caller (the queue consumer) has not marked the
 * events dispatched, so a crash here loses nothing: the events are fanned out
 * again and finished deliveries skipped. Whatever cannot finish inline (a
 * failure waiting for its retry, work left when the budget ends, a disabled
 * webhook) is stored, and the stored lane takes over.
 */
import type { LatestAttempt } from "../db/delivery-queries";
import { latestAttemptsOf } from "../db/delivery-queries";
import { eventOf, parseDeliveryId } from "../lib/ids";
import { type Endpoint, type InlineJob, lanesOf } from "./endpoint-parts";
import type { Outcome } from "./endpoint-queue";
import { inLanes } from "./lanes";
import { pacedAttempt } from "./make-attempt";
import { backOffOrThrow, drainAll } from "./stored-lane";

/**
 * Sends an inline job's deliveries: in FIFO mode one at a time, and a
 * failure stores it and everything behind it; in parallel mode up to
 * max_in_flight at a time, and a failure stores only itself. Once the job
 * is stored (time budget spent, or the webhook is disabled) the lanes stop
 * taking ids and the stored queue takes over.
 */
export async function runInline(ep: Endpoint, job: InlineJob): Promise<void> {
  try {
    const webhookId = parseDeliveryId(job.ids[0]!)?.webhookId;
    const webhook = webhookId ? await ep.webhooks.get(webhookId) : null;
    // One read tells which of these deliveries were already attempted (a repeated hand-over);
    // another, which of them the FIFO fence lets through.
    const [fetched, cleared] = await Promise.all([
      webhook ? latestAttemptsOf(ep.recordsOf(webhook.accountId), webhook.id, job.ids) : new Map<string, LatestAttempt>(),
      ep.fence.clearedCount(webhook, job.ids, job.trigger, new Set([...job.accounted, ...job.ids.map(eventOf)])),
    ]);
    // Keep what callers that joined meanwhile already read for their ids.
    job.latest = new Map([...fetched, ...(job.latest ?? [])]);
    if (cleared < job.ids.length && !job.stored) {
      // Fenced: an earlier event may still be owed here. These wait in storage (joins too, now).
      ep.queue.store(job.ids.splice(cleared), job.trigger);
      ep.again = true;
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
      const nextAt = await pacedAttempt(ep, id, job.trigger, webhook, job.events, job.latest);
      job.inFlight.delete(id);
      await afterInlineAttempt(ep, job, id, nextAt, fifo);
    });
    job.closed = true;
    await ep.records.flush();
    if (job.stored || ep.again) await drainAll(ep);
  } catch (err) {
    job.closed = true;
    console.error("endpoint dispatcher: inline send failed", err);
    // Not written now, they stay buffered: the next flush writes them, and no attempt sends them again meanwhile.
    const unwritten = await ep.records.flush().then(
      () => null,
      (e: unknown) => (console.error("endpoint dispatcher: records not written yet; kept for the next flush", e), e),
    );
    if (!job.stored) {
      job.stored = true;
      ep.queue.store([...job.inFlight, ...job.ids], job.trigger);
    }
    // Throws only if no alarm will come back: a caller still waiting then fails, and its message is retried.
    await backOffOrThrow(ep);
    // What was sent is stored or finished, but finished without a record in D1: a caller still waiting
    // must not mark the events dispatched yet, so it fails too (its retried message writes the records).
    if (unwritten) throw unwritten;
  }
}

/** What an inline attempt's outcome means for the job and the stored queue. */
async function afterInlineAttempt(ep: Endpoint, job: InlineJob, id: string, nextAt: Outcome, fifo: boolean): Promise<void> {
  if (nextAt === "hold") {
    // The webhook is disabled: keep everything, in order, until it is enabled again.
    if (!job.stored) ep.queue.store([id, ...job.inFlight, ...job.ids], job.trigger);
    job.stored = true;
    return;
  }
  if (job.stored) {
    // Already in the stored queue: a retry gets its time; a finished one is cleared by the next drain
    // (its record is written first), so finishing costs no storage write here.
    if (nextAt !== null) ep.queue.retryAt(id, nextAt, job.trigger);
    return;
  }
  if (nextAt === null) return;
  // A failure waits in storage for its retry (its record is already written).
  ep.queue.retryAt(id, nextAt, job.trigger);
  if (fifo) {
    // FIFO: everything behind it waits too.
    job.stored = true;
    ep.queue.store(job.ids, job.trigger);
    await ep.alarm.set(nextAt);
  } else {
    await ep.alarm.ensure(nextAt);
  }
}
