/**
 * Which webhooks an event goes to: event type patterns and the seed's
 * attribute filters.
 */

/** The attributes of an event that filters look at. */
export interface MatchableEvent {
  type: string;
  projectId: string | null;
  severity: string | null;
}

/** Whether one subscription pattern (`*`, `prefix.*` or an exact type) covers `type`. */
export function patternMatches(pattern: string, type: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** The seed's filter keys and the event attribute each one reads. */
const ATTRIBUTE_FILTERS = {
  projects: (e: MatchableEvent) => e.projectId,
  severity: (e: MatchableEvent) => e.severity,
} as const;

export type AttributeFilterKey = keyof typeof ATTRIBUTE_FILTERS;
export const ATTRIBUTE_FILTER_KEYS = Object.keys(ATTRIBUTE_FILTERS) as AttributeFilterKey[];

/**
 * Whether the seed's attribute filters let the event through. An attribute
 * the event does not carry does not exclude it: the seed subscribes
 * `evaluation.completed` (which has no severity) with a severity filter.
 */
export function filtersMatch(filters: Record<string, unknown> | null | undefined, event: MatchableEvent): boolean {
  if (!filters) return true;
  for (const key of ATTRIBUTE_FILTER_KEYS) {
    const allowed = filters[key];
    if (!Array.isArray(allowed)) continue;
    const value = ATTRIBUTE_FILTERS[key](event);
    if (value == null) continue;
    if (!allowed.includes(value)) return false;
  }
  return true;
}

/** Whether a webhook with these patterns and filters receives the event. */
export function webhookMatches(
  webhook: { events: string[]; filters: Record<string, unknown> | null },
  event: MatchableEvent,
): boolean {
  return webhook.events.some((p) => patternMatches(p, event.type)) && filtersMatch(webhook.filters, event);
}

/**
 * Reads the filterable attributes from the ingest body, falling back to
 * `data` (the seed's payload carries `data.project_id`).
 */
export function eventAttributes(body: { project_id?: string | null; severity?: string | null; data: unknown }) {
  const data = (body.data && typeof body.data === "object" ? body.data : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    projectId: body.project_id ?? str(data.project_id),
    severity: body.severity ?? str(data.severity),
  };
}
