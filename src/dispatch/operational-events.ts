/**
 * Operational events: the service's own `webhook.disabled` and
 * `delivery.exhausted`, stored and announced like any event, and delivered to
 * the account's webhooks that subscribe to them, never to the webhook they are
 * about (a disabled endpoint cannot hear that it was disabled; an exhausted
 * one must not feed itself a loop).
 */
import { isoSeconds } from "../delivery/envelope";
import { events } from "../db/schema";
import { recordsDb } from "../db/shards";
import type { CounterSink } from "../lib/counter-names";
import { newId } from "../lib/ids";
import { startTrace, type TraceContext } from "../lib/trace-context";
import { eventMessage } from "./messages";

/** The types only the service emits. */
export type OperationalType = "webhook.disabled" | "delivery.exhausted";

/**
 * Stores an operational event for `accountId` and puts it on the queue (the
 * outbox covers a failed send). `trace`: the trace it continues (a
 * `delivery.exhausted` continues the exhausted event's, as a child of its last
 * attempt); by default it starts its own.
 */
export async function emitOperationalEvent(
  env: Env,
  meter: CounterSink,
  accountId: string,
  type: OperationalType,
  data: Record<string, unknown>,
  trace: TraceContext = startTrace(),
): Promise<string> {
  const now = Date.now();
  const id = newId("evt");
  await recordsDb(env, accountId, meter).insert(events).values({
    accountId,
    id,
    type,
    createdAt: now,
    data: JSON.stringify(data),
    metadata: JSON.stringify({ operational: true, emitted_at: isoSeconds(now) }),
    projectId: null,
    severity: null,
    status: "pending",
    idempotencyKey: null,
    traceParent: trace.traceparent,
    traceState: trace.tracestate,
  });
  try {
    await env.EVENTS_QUEUE.send(eventMessage(accountId, id), { contentType: "json" });
  } catch (err) {
    console.warn(`queue send failed for operational event ${id}; the sweeper will retry`, err);
  }
  return id;
}

/** The webhook an operational event is about, which must not receive it. */
export function aboutWebhook(type: string, data: string): string | null {
  if (type !== "webhook.disabled" && type !== "delivery.exhausted") return null;
  const parsed = JSON.parse(data) as { webhook_id?: unknown };
  return typeof parsed.webhook_id === "string" ? parsed.webhook_id : null;
}
