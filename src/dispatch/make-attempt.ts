/**
 * One attempt at one delivery, from either lane: decide whether it is still
 * owed, send it through the webhook's transport, work out what the answer
 * means (retry when, disable the webhook, exhausted), and record it.
 */
import type { AttemptOutcome, EventSnapshot, LatestAttempt, WebhookForDispatch } from "../db/delivery-queries";
import { latestAttemptsOf, loadEventForDispatch } from "../db/delivery-queries";
import { eventOf, newId, parseDeliveryId } from "../lib/ids";
import { latencyCounters } from "../metrics/counters";
import type { AttemptResult } from "./attempt";
import { deliverOnce } from "./deliver";
import { disableReason, disableWebhook, trackFailure } from "./endpoint-health";
import type { Endpoint } from "./endpoint-parts";
import type { Outcome, Trigger } from "./endpoint-queue";
import { emitOperationalEvent } from "./operational-events";
import { honourRetryAfter, retryDelayMs, type RetryConfig } from "./retry-policy";

/** What the caller already read from D1 for this attempt. `buffer`: the record may wait for a batch. */
export interface Known {
  event?: EventSnapshot;
  latest?: LatestAttempt | null;
  buffer?: boolean;
}

/** One attempt from a lane: waits for the pacer's slot, then sends with what the caller already read from D1. */
export async function pacedAttempt(
  ep: Endpoint,
  id: string,
  trigger: Trigger,
  webhook: WebhookForDispatch | null,
  events: Map<string, EventSnapshot>,
  latest: Map<string, LatestAttempt> | null,
): Promise<Outcome> {
  await ep.pacer.wait(webhook?.rateLimitPerSecond);
  return makeAttempt(ep, id, trigger, { event: events.get(eventOf(id)), latest: latest?.get(id) ?? null, buffer: true });
}

/**
 * Makes the next attempt at a delivery and records it. Returns when to try
 * again, `null` when the delivery is finished (or was already, or is gone),
 * or `"hold"` when the webhook is disabled.
 */
export async function makeAttempt(ep: Endpoint, deliveryId: string, trigger: Trigger, known: Known = {}): Promise<Outcome> {
  const ids = parseDeliveryId(deliveryId);
  const webhook = ids ? await ep.webhooks.get(ids.webhookId) : null;
  if (!ids || !webhook) return null; // not a delivery id, or the webhook was deleted
  // A record this object has not written yet is newer than anything D1 holds (a flush may have failed).
  const unwritten = ep.records.latest(deliveryId);
  const latest = unwritten
    ? { attempt: unwritten.attempt, status: unwritten.status, nextAttemptAt: unwritten.nextAttemptAt }
    : known.latest !== undefined
      ? known.latest
      : ((await latestAttemptsOf(ep.recordsOf(webhook.accountId), webhook.id, [deliveryId])).get(deliveryId) ?? null);
  const finished = latest !== null && latest.status !== "retrying";
  // A scheduled hand-over of a finished delivery is a duplicate; a manual retry sends it again.
  if (finished && trigger !== "manual") return null;
  // Waiting for its retry: keep its time, whether the record is still here or in D1. A scheduled
  // hand-over of it (a repeated message, a copy without this object's retry row) is not a reason to
  // send it early; only a manual retry is.
  if (latest?.status === "retrying" && latest.nextAttemptAt != null && latest.nextAttemptAt > Date.now() && trigger !== "manual") {
    return latest.nextAttemptAt;
  }
  // A disabled webhook, or one of a disabled account, holds everything until enabled again.
  if (webhook.status === "disabled" || webhook.accountStatus !== "active") return "hold";
  // A listen webhook whose CLI is away holds everything, in order, until it attaches again (listen-lifecycle.ts).
  if (webhook.transport === "listen" && !ep.listen.connected()) return "hold";
  const event = known.event ?? (await loadEventForDispatch(ep.recordsOf(webhook.accountId), webhook.accountId, ids.eventId));
  if (!event) return null; // deleted (retention)
  const context = { deliveryId, webhook, event, latest };
  ep.usage.account = webhook.accountId;
  const attempt = (latest?.attempt ?? 0) + 1;
  ep.fence.attempted(ids.eventId);
  ep.sending++;
  const result = await deliverOnce(ep.env, await ep.key(), context, attempt, ep.transportFor(webhook)).finally(() => ep.sending--);
  // A manual retry of a finished delivery is one attempt; a pending delivery keeps its schedule.
  const retries = !result.ok && !finished;
  // 410 Gone: the endpoint says it is gone for good. Disable it at once; what waits here is held.
  const gone = result.responseCode === 410;
  const scheduled = retries && !gone ? retryDelayMs(webhook.retryConfig as RetryConfig | null, attempt) : null;
  const delay = scheduled === null ? null : honourRetryAfter(scheduled, result.responseCode, result.responseHeaders?.["retry-after"]);
  const nextAttemptAt = delay === null ? null : result.startedAt + result.durationMs + delay;
  ep.usage.addAll({
    attempts: 1,
    retries: attempt > 1 ? 1 : 0,
    deliveries_succeeded: result.ok ? 1 : 0,
    deliveries_failed: !result.ok && nextAttemptAt === null ? 1 : 0,
    ...latencyCounters(result.durationMs),
  });
  const outcome: AttemptOutcome = {
    context,
    attemptId: newId("att"),
    attempt,
    trigger,
    result,
    status: result.ok ? "succeeded" : nextAttemptAt === null ? "failed" : "retrying",
    nextAttemptAt,
  };
  // The request went out: from here on nothing may throw before its record is buffered, or it is sent again.
  ep.records.add(outcome);
  await afterAnswer(ep, webhook, result, retries && nextAttemptAt === null, { deliveryId, event, attempt });
  // A delivery that will be retried is recorded at once: its next attempt reads this record.
  if (!known.buffer || nextAttemptAt !== null || ep.records.due()) await ep.records.flush();
  return nextAttemptAt;
}

/**
 * What an answer sets off besides its record: the failure clock, disabling
 * the webhook (410, or failing too long), `delivery.exhausted`. A storage
 * error here is logged, not thrown: the attempt is recorded either way, and
 * the next answer keeps the clock and disables the webhook if still due.
 */
async function afterAnswer(
  ep: Endpoint,
  webhook: WebhookForDispatch,
  result: AttemptResult,
  exhausted: boolean,
  about: { deliveryId: string; event: EventSnapshot; attempt: number },
): Promise<void> {
  try {
    const reason = disableReason(ep.env, result.responseCode, await trackFailure(ep.ctx.storage, result.ok, result.startedAt));
    if (reason) {
      await disableWebhook(ep.env, ep.control, ep.usage, ep.ctx.storage, webhook, reason);
      ep.webhooks.clear();
    }
  } catch (err) {
    console.error(`endpoint ${webhook.id}: failure clock or disabling failed; the next answer tries again`, err);
  }
  if (!exhausted) return;
  // The exhausted event's trace goes on, as a child of the last attempt (when one was sent).
  const lastSpan = result.requestHeaders.traceparent;
  const trace = lastSpan ? { traceparent: lastSpan, tracestate: about.event.traceState } : undefined;
  try {
    await emitOperationalEvent(ep.env, ep.usage, webhook.accountId, "delivery.exhausted", {
      delivery_id: about.deliveryId,
      webhook_id: webhook.id,
      webhook_name: webhook.name,
      event_id: about.event.id,
      event_type: about.event.type,
      attempts: about.attempt,
      response_code: result.responseCode,
      last_error: result.error,
    }, trace);
  } catch (err) {
    console.error(`delivery ${about.deliveryId}: delivery.exhausted not emitted`, err);
  }
}
