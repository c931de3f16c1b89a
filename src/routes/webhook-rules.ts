/**
 * What a webhook's configuration must satisfy beyond its zod schema: a URL
 * the SSRF guard allows, event types that exist for the account, valid
 * filters, templates and headers. Checked on create and on every change,
 * against the configuration as it would be after the change.
 *
 * These are the API's checks (422s with field paths), and they use the
 * delivery and dispatch floors' own validators (templates, payload filters),
 * so they live with the routes, above both, rather than in lib.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { eventTypes } from "../db/schema";
import { validateTemplates } from "../delivery/templates";
import { validatePayloadFilters } from "../dispatch/payload-filter";
import { type FieldIssue, validationFailed } from "../lib/errors";
import { BUILTIN_EVENT_TYPES, isKnownPattern } from "../lib/event-types";
import { outboundHeaderIssues } from "../lib/outbound-headers";
import { resolverFromEnv } from "../lib/dns-resolve";
import { checkUrl, urlPolicy } from "../lib/url-guard";

/** The parts of a webhook the rules look at. */
export interface WebhookShape {
  url: string;
  /** A listen webhook's URL is the CLI's local address: only its form is checked, never its host. */
  transport?: "http" | "listen";
  events: string[];
  filters: Record<string, unknown> | null;
  format: string;
  templates: Record<string, unknown> | null;
  headers: Record<string, string> | null;
}

/** Built-in and the account's own event type names. */
export async function knownEventTypes(db: Db, accountId: string): Promise<string[]> {
  const custom = await db.select({ name: eventTypes.name }).from(eventTypes).where(eq(eventTypes.accountId, accountId));
  return [...Object.keys(BUILTIN_EVENT_TYPES), ...custom.map((c) => c.name)];
}

/** A 422 listing every issue, or nothing when there are none. */
export function throwIfIssues(issues: FieldIssue[]): void {
  if (issues.length) {
    throw validationFailed(issues);
  }
}

/** Why `url` cannot be a listen webhook's forward address (an absolute http(s) URL), or null. */
function localUrlIssue(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute URL";
  }
  return parsed.protocol === "http:" || parsed.protocol === "https:" ? null : "must be an http or https URL";
}

/** Checks a webhook's configuration; throws a 422 naming every failing field. */
export async function checkWebhookRules(env: Env, db: Db, accountId: string, w: WebhookShape): Promise<void> {
  const issues: FieldIssue[] = [];
  // A name that cannot be resolved now is accepted: delivery checks its addresses again.
  const [refusal, known] = await Promise.all([
    w.transport === "listen" ? localUrlIssue(w.url) : checkUrl(w.url, urlPolicy(env), resolverFromEnv(env)),
    knownEventTypes(db, accountId),
  ]);
  if (refusal) issues.push({ field: "url", message: refusal });
  w.events.forEach((pattern, i) => {
    if (!isKnownPattern(pattern, known)) issues.push({ field: `events.${i}`, message: `unknown event type '${pattern}'` });
  });
  if (w.filters) issues.push(...validatePayloadFilters(w.filters));
  if (w.templates || w.format === "template") issues.push(...validateTemplates(w.format, w.templates ?? {}, w.events));
  issues.push(...outboundHeaderIssues(w.headers));
  throwIfIssues(issues);
}

/** Whether `name` is one of the account's own event types. */
export async function customEventType(db: Db, accountId: string, name: string) {
  return db
    .select()
    .from(eventTypes)
    .where(and(eq(eventTypes.accountId, accountId), eq(eventTypes.name, name)))
    .get();
}
