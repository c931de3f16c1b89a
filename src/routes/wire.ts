/** Row → wire conversions: snake_case fields and ISO timestamps, as in the seed. */
import type { InferSelectModel } from "drizzle-orm";
import { isoSeconds } from "../delivery/envelope";
import { type AttemptRow, sentRequestHeaders } from "../db/delivery-queries";
import type { events, webhooks } from "../db/schema";
import { idTime } from "../lib/ids";
import { eventTraceparent } from "../lib/trace-context";

/** Millisecond timestamp → ISO-8601 with milliseconds (API records keep their precision). */
export const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms == null ? null : iso(ms));

/** A webhook as the API shows it (never with its secret). */
export function webhookToWire(w: InferSelectModel<typeof webhooks>) {
  return {
    id: w.id,
    name: w.name,
    url: w.url,
    transport: w.transport,
    events: w.events,
    filters: w.filters ?? null,
    retry_config: w.retryConfig ?? null,
    ordering: w.ordering,
    max_in_flight: w.maxInFlight,
    rate_limit_per_second: w.rateLimitPerSecond,
    timeout_ms: w.timeoutMs,
    format: w.format,
    templates: w.templates ?? null,
    headers: w.headers ?? null,
    status: w.status,
    disabled_reason: w.disabledReason,
    description: w.description,
    metadata: w.metadata ?? null,
    created_at: iso(w.createdAt),
    updated_at: iso(w.updatedAt),
  };
}

/** An event as the API shows it; `created_at` as in the delivered envelope. */
export function eventToWire(e: InferSelectModel<typeof events>) {
  return {
    id: e.id,
    type: e.type,
    created_at: isoSeconds(e.createdAt),
    data: JSON.parse(e.data) as Record<string, unknown>,
    metadata: JSON.parse(e.metadata) as Record<string, unknown>,
    project_id: e.projectId,
    severity: e.severity,
    status: e.status,
    // What its deliveries continue (derived from the id for events stored before trace context).
    traceparent: eventTraceparent(e),
    tracestate: e.traceState,
  };
}

/** A delivery, from its latest attempt, with the seed's `success` flag. */
export function deliveryToWire(latest: AttemptRow) {
  const finished = latest.status !== "retrying";
  return {
    id: latest.deliveryId,
    event_id: latest.eventId,
    webhook_id: latest.webhookId,
    event_type: latest.eventType,
    status: latest.status === "retrying" ? ("pending" as const) : latest.status,
    success: latest.status === "succeeded",
    attempts: latest.attempt,
    response_code: latest.responseCode,
    last_error: latest.error,
    next_attempt_at: isoOrNull(latest.nextAttemptAt),
    created_at: iso(idTime(latest.eventId)),
    completed_at: finished ? iso(latest.startedAt + latest.durationMs) : null,
  };
}

/** One recorded attempt. */
export function attemptToWire(a: AttemptRow) {
  return {
    id: a.id,
    attempt: a.attempt,
    trigger: a.trigger,
    started_at: iso(a.startedAt),
    duration_ms: a.durationMs,
    // Stored compact; rebuilt exactly as sent (lib/attempt-storage.ts).
    request_headers: sentRequestHeaders(a),
    response_code: a.responseCode,
    response_headers: a.responseHeaders ?? null,
    response_body: a.responseBody,
    error: a.error,
    next_attempt_at: isoOrNull(a.nextAttemptAt),
    traceparent: a.traceParent,
  };
}
