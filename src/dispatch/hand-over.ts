/**
 * Admission of a hand-over: the queue consumer (or a manual retry) gives the
 * object delivery ids, and each is sent inline at once, joined to the inline
 * job in progress, or stored for the stored lane. The call returns once each
 * one was attempted or stored durably, and within about {@link INLINE_BUDGET_MS}
 * even when the endpoint is slow: the consumer marks the events dispatched
 * next, so nothing may be only in memory by then.
 */
import type { EventSnapshot, LatestAttempt } from "../db/delivery-queries";
import { latestAttemptsOf } from "../db/delivery-queries";
import { eventOf, parseDeliveryId } from "../lib/ids";
import { LEASE_SLACK_MS } from "./endpoint-alarm";
import type { Endpoint, InlineJob } from "./endpoint-parts";
import type { Trigger } from "./endpoint-queue";
import { runInline } from "./inline-lane";

/** How long a hand-over may spend sending before it stores the rest and returns. */
export const INLINE_BUDGET_MS = 250;

/** Takes sorted, distinct delivery ids; see the file's comment. */
export async function handOver(ep: Endpoint, all: string[], trigger: Trigger, events: EventSnapshot[], accounted: Set<string>): Promise<void> {
  // Finished here but not yet recorded in D1 (records are written in batches, and a flush may have
  // failed): the caller marks these events dispatched once this returns, so write the records first
  // (a failure fails the call, and the caller's message is retried).
  if (trigger !== "manual") {
    const pending = ep.records.unwritten();
    if (all.some((id) => pending.has(id))) await ep.records.flush();
  }
  // Already being sent inline: a second hand-over (or a second manual retry) changes nothing.
  // Still unrecorded (another call's batch is being written): a copy must not send it again.
  const unrecorded = trigger === "manual" ? new Set<string>() : ep.records.unwritten();
  const ids = all.filter((id) => !ep.inline?.ids.includes(id) && !ep.inline?.inFlight.has(id) && !unrecorded.has(id));
  if (ids.length === 0) return;
  if (await joinRunning(ep, ids, trigger, events, accounted)) return;
  if (ep.busy || !ep.queue.isEmpty()) {
    ep.queue.store(ids, trigger);
    ep.again = true;
    await ep.alarm.ensure(Date.now());
    return;
  }
  const job: InlineJob = {
    ids,
    inFlight: new Set(),
    trigger,
    stored: false,
    closed: false,
    accounted,
    events: new Map(events.map((e) => [e.id, e])),
    latest: null,
    done: null,
  };
  ep.busy = true;
  ep.inline = job;
  job.done = runInline(ep, job).finally(() => {
    ep.busy = false;
    ep.inline = null;
  });
  // A caller that stopped waiting (the budget) is not there to hear a failure, so it is logged here too.
  job.done.catch((err) => console.error("endpoint dispatcher: inline job failed", err));
  await awaitInline(ep, job);
}

/** Joins the inline job in progress instead of paying for storage (same order, same budget); false if it may not. */
async function joinRunning(ep: Endpoint, ids: string[], trigger: Trigger, events: EventSnapshot[], accounted: Set<string>): Promise<boolean> {
  const running = ep.inline;
  if (!running || running.stored || running.closed || running.trigger !== trigger || !ep.queue.isEmpty()) return false;
  const webhookId = parseDeliveryId(ids[0]!)?.webhookId;
  const webhook = webhookId ? await ep.webhooks.get(webhookId) : null;
  const held = new Set([...accounted, ...[...running.inFlight, ...running.ids].map(eventOf)]);
  const [latest, cleared] = await Promise.all([
    webhook ? latestAttemptsOf(ep.recordsOf(webhook.accountId), webhook.id, ids) : new Map<string, LatestAttempt>(),
    ep.fence.clearedCount(webhook, ids, trigger, held),
  ]);
  // Checked again after the reads: the job may have been stored or finished meanwhile.
  if (cleared !== ids.length || running.stored || running.closed || ep.inline !== running) return false;
  running.latest ??= new Map();
  for (const [id, l] of latest) running.latest.set(id, l);
  for (const e of events) running.events.set(e.id, e);
  running.ids = [...running.ids, ...ids].sort();
  await awaitInline(ep, running);
  return true;
}

/**
 * Waits for an inline job to finish, but no longer than the budget: then what
 * is left (the attempt in flight included) is stored, and the job goes on.
 */
async function awaitInline(ep: Endpoint, job: InlineJob): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const budget = new Promise<"budget">((resolve) => (timer = setTimeout(() => resolve("budget"), INLINE_BUDGET_MS)));
  // A failure of the job is handled here even when the budget ends first (it is logged by handOver then).
  const done = job.done!.then(
    () => "done" as const,
    (err: unknown) => ({ err }),
  );
  const first = await Promise.race([done, budget]);
  clearTimeout(timer);
  if (typeof first === "object") throw first.err;
  if (first === "budget" && !job.stored) {
    job.stored = true;
    ep.queue.store([...job.inFlight, ...job.ids], job.trigger);
    // The caller marks these events dispatched once this returns, and what the job already
    // finished is in neither the queue nor D1: record it first, or a crash now loses it unsent
    // and unrecorded.
    await ep.records.flush();
    await ep.alarm.ensure(Date.now() + LEASE_SLACK_MS);
  }
}
