/** Row → wire conversions: snake_case fields and ISO timestamps, as in the seed. */
import type { InferSelectModel } from "drizzle-orm";
import { isoSeconds } from "../delivery/envelope";
import type { deliveries, deliveryAttempts, events, webhooks } from "../db/schema";

/** Millisecond timestamp → ISO-8601 with milliseconds (API records keep their precision). */
export const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms == null ? null : iso(ms));

/** A webhook as the API shows it (never with its secret). */
export function webhookToWire(w: InferSelectModel<typeof webhooks>) {
  return {
    id: w.id,
    name: w.name,
    url: w.url,
    events: w.events,
    filters: w.filters ?? null,
    retry_config: w.retryConfig ?? null,
    ordering: w.ordering,
    timeout_ms: w.timeoutMs,
    format: w.format,
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
  };
}

/** A delivery with the seed's `success` flag. */
export function deliveryToWire(d: InferSelectModel<typeof deliveries>) {
  return {
    id: d.id,
    event_id: d.eventId,
    webhook_id: d.webhookId,
    event_type: d.eventType,
    status: d.status,
    success: d.status === "succeeded",
    attempts: d.attempts,
    response_code: d.responseCode,
    last_error: d.lastError,
    next_attempt_at: isoOrNull(d.nextAttemptAt),
    created_at: iso(d.createdAt),
    completed_at: isoOrNull(d.completedAt),
  };
}

/** One recorded attempt. */
export function attemptToWire(a: InferSelectModel<typeof deliveryAttempts>) {
  return {
    id: a.id,
    attempt: a.attempt,
    trigger: a.trigger,
    started_at: iso(a.startedAt),
    duration_ms: a.durationMs,
    response_code: a.responseCode,
    response_headers: a.responseHeaders ?? null,
    response_body: a.responseBody,
    error: a.error,
    next_attempt_at: isoOrNull(a.nextAttemptAt),
  };
}
