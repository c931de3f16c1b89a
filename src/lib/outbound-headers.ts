/**
 * Rules for a webhook's extra outbound headers: they may add headers, never
 * replace ours (signatures, ids, content type) or steer the connection.
 */
import type { FieldIssue } from "./errors";

/** Names refused outright (lower case). */
const RESERVED = new Set([
  "host",
  "content-length",
  "content-type",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "user-agent",
  "cookie",
  // W3C trace context: every attempt sends the event's trace with a span of its own (lib/trace-context.ts).
  "traceparent",
  "tracestate",
]);
/** Prefixes refused: ours, the Standard Webhooks trio, proxies and Cloudflare's own. */
const RESERVED_PREFIXES = ["x-rubric-", "webhook-", "proxy-", "cf-", "sec-"];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

export const MAX_OUTBOUND_HEADERS = 20;

/** Issues with a webhook's `headers`, as `headers.<name>` fields. */
export function outboundHeaderIssues(headers: Record<string, string> | null | undefined): FieldIssue[] {
  if (!headers) return [];
  const issues: FieldIssue[] = [];
  const entries = Object.entries(headers);
  if (entries.length > MAX_OUTBOUND_HEADERS) issues.push({ field: "headers", message: `at most ${MAX_OUTBOUND_HEADERS} headers` });
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    const field = `headers.${name}`;
    if (!TOKEN.test(name)) issues.push({ field, message: "is not a valid header name" });
    else if (RESERVED.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p))) {
      issues.push({ field, message: "is set by Rubric Webhooks and cannot be overridden" });
    }
    if (value.length > 1000) issues.push({ field, message: "value must be at most 1000 characters" });
    if (/[\r\n\0]/.test(value)) issues.push({ field, message: "value must not contain line breaks or NUL" });
  }
  return issues;
}
