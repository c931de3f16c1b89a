/**
 * Which scope a call needs. One table for every route, so a new route is
 * covered by its method and path without a line of its own: reads need
 * `webhooks:read` (but a signing secret `webhooks:write`), sending events
 * `events:write`, other changes `webhooks:write`, key management `admin`;
 * `admin` may do everything.
 */
import type { Scope } from "../lib/api-keys";

/** Calls that change nothing although they are POSTs (they render or evaluate). */
const READ_ONLY_POSTS = [/^\/v1\/webhooks\/[^/]+\/(preview|filter_test)$/, /^\/v1\/templates\/preview$/];
const SECRET_READS = /^\/v1\/webhooks\/[^/]+\/secret$/;
/** A listener receives a webhook's deliveries and answers for them: it takes the scope that can change the webhook. */
const LISTEN = /^\/v1\/webhooks\/[^/]+\/listen$/;
const EVENT_WRITES = [/^\/v1\/events$/, /^\/v1\/events\/batch$/, /^\/v1\/events\/[^/]+\/replay$/];

/** The scope a call needs. */
export function requiredScope(method: string, path: string): Scope {
  if (path.startsWith("/v1/api_keys")) return "admin";
  // Reading a signing secret lets one forge deliveries: it takes the scope that can change the webhook.
  if (SECRET_READS.test(path) || LISTEN.test(path)) return "webhooks:write";
  if (method === "GET" || method === "HEAD") return "webhooks:read";
  if (method === "POST" && READ_ONLY_POSTS.some((r) => r.test(path))) return "webhooks:read";
  if (method === "POST" && EVENT_WRITES.some((r) => r.test(path))) return "events:write";
  return "webhooks:write";
}

/** Whether a key with `scopes` may make a call that needs `needed`. */
export const allows = (scopes: readonly string[], needed: Scope): boolean => scopes.includes("admin") || scopes.includes(needed);
