/**
 * What an attempt row keeps of the exchange (issue 16 part 3, "bytes per
 * delivery"). Attempt rows live in a `WITHOUT ROWID` table, whose leaf pages
 * hold at most ~1 000 bytes of a row: a longer row spills to overflow pages of
 * 4 KiB each, so a 1.6 KB row takes 4.6 KB of the database. Hence:
 *
 * - Request headers: only what cannot be derived from the row is stored (the
 *   two signatures and the webhook's extra headers), with the version of the
 *   header template that was used; the full set is rebuilt on read, identical
 *   to what was sent. Headers that do not fit the template are stored whole.
 * - Response headers: framing, connection and browser-only headers are never
 *   stored; the rest up to a byte budget, `content-type`, `location`,
 *   `retry-after`, `www-authenticate`, request ids and `server` first.
 * - Response body: a 2xx keeps a short excerpt, anything else up to 4 KiB.
 *
 * A first-try success stays under the leaf-page limit this way, whatever the
 * receiver answers (extra headers a webhook is configured with come on top).
 */

/** The User-Agent of every attempt. Changing it needs a new template version below. */
export const USER_AGENT = "Rubric-Webhooks/0.1.0";

/** What an attempt row records from which its derivable request headers are rebuilt. */
export interface AttemptFacts {
  eventId: string;
  eventType: string;
  deliveryId: string;
  attempt: number;
  /** `X-Rubric-Timestamp`: the attempt's start, in Unix seconds. */
  timestamp: number;
  /** The attempt's `traceparent` (its own column on the row); absent or null: none sent. */
  traceparent?: string | null;
}

/**
 * The values that are not derivable from the row: the signatures (they need
 * the secret and the body) and the event's `tracestate` (kept on the event,
 * not on each attempt).
 */
export interface AttemptSignatures {
  rubric: string;
  /** `webhook-signature` (space-separated during a rotation); null when no secret is base64. */
  standard: string | null;
  /** The event's `tracestate`, sent after `traceparent`; absent or null: none. */
  tracestate?: string | null;
}

interface Template {
  contentType: string;
  userAgent: string;
  /** Whether `traceparent`/`tracestate` are sent (W3C Trace Context), after our other headers. */
  trace: boolean;
}

/**
 * Header templates by version. Stored rows name the version they were sent with, and are rebuilt
 * from it: add a version for any change to the headers sent, never edit one.
 */
const TEMPLATES: Readonly<Record<number, Template>> = {
  1: { contentType: "application/json", userAgent: "Rubric-Webhooks/0.1.0", trace: false },
  2: { contentType: "application/json", userAgent: "Rubric-Webhooks/0.1.0", trace: true },
};
const CURRENT = 2;

/** Header names the trace context owns: a webhook's extra headers never carry them (lower case). */
export const TRACE_HEADERS: ReadonlySet<string> = new Set(["traceparent", "tracestate"]);

function build(t: Template, extra: Record<string, string> | null | undefined, f: AttemptFacts, sig: AttemptSignatures): Record<string, string> {
  // A webhook configured with its own trace header before they were reserved: ours replaces it (in
  // any case of the name), so the receiver never sees two traces. Older templates sent it as it was.
  const kept = t.trace && extra ? Object.fromEntries(Object.entries(extra).filter(([name]) => !TRACE_HEADERS.has(name.toLowerCase()))) : extra;
  const headers: Record<string, string> = {
    ...kept,
    "Content-Type": t.contentType,
    "User-Agent": t.userAgent,
    "X-Rubric-Timestamp": String(f.timestamp),
    "X-Rubric-Signature": sig.rubric,
    "X-Rubric-Event-Id": f.eventId,
    "X-Rubric-Event-Type": f.eventType,
    "X-Rubric-Delivery-Id": f.deliveryId,
    "X-Rubric-Attempt": String(f.attempt),
  };
  // The Standard Webhooks message id is the event id, as Svix does: stable across retries.
  if (sig.standard !== null) {
    headers["webhook-id"] = f.eventId;
    headers["webhook-timestamp"] = String(f.timestamp);
    headers["webhook-signature"] = sig.standard;
  }
  // Not signed, like the other transport headers: a proxy that rewrites them breaks no signature.
  if (t.trace && f.traceparent != null) {
    headers.traceparent = f.traceparent;
    if (sig.tracestate != null) headers.tracestate = sig.tracestate;
  }
  return headers;
}

/** The headers one attempt sends (DESIGN §2): the webhook's extra headers, then ours, which win. */
export const attemptRequestHeaders = (extra: Record<string, string> | undefined, facts: AttemptFacts, sig: AttemptSignatures) =>
  build(TEMPLATES[CURRENT]!, extra, facts, sig);

/**
 * A stored request-header set: [template version, X-Rubric-Signature, webhook-signature, extra
 * headers, tracestate], trailing empty slots left out.
 */
export type CompactRequestHeaders = [number, string, (string | null)?, (Record<string, string> | null)?, (string | null)?];
/** What `request_headers` holds: the compact form, or the headers in full (older rows, nothing sent, not from the template). */
export type StoredRequestHeaders = Record<string, string> | CompactRequestHeaders;

/** The names the template sets (everything else in a sent set is the webhook's extra headers). */
const OURS = new Set(
  Object.keys(
    build(
      TEMPLATES[CURRENT]!,
      {},
      { eventId: "", eventType: "", deliveryId: "", attempt: 0, timestamp: 0, traceparent: "" },
      { rubric: "", standard: "", tracestate: "" },
    ),
  ),
);

/** The sent headers as stored: compact when the template rebuilds them exactly, in full otherwise. */
export function compactRequestHeaders(sent: Record<string, string>, facts: AttemptFacts): StoredRequestHeaders {
  const rubric = sent["X-Rubric-Signature"];
  if (rubric === undefined) return sent;
  const standard = sent["webhook-signature"] ?? null;
  const tracestate = sent.tracestate ?? null;
  const extra = Object.fromEntries(Object.entries(sent).filter(([name]) => !OURS.has(name)));
  const hasExtra = Object.keys(extra).length > 0;
  // Exact, order included: anything the template would not reproduce is kept whole.
  if (JSON.stringify(build(TEMPLATES[CURRENT]!, extra, facts, { rubric, standard, tracestate })) !== JSON.stringify(sent)) return sent;
  const slots: CompactRequestHeaders = [CURRENT, rubric, standard, hasExtra ? extra : null, tracestate];
  while (slots.length > 2 && slots[slots.length - 1] === null) slots.pop();
  return slots;
}

/** The headers that were sent, from what the row stored. */
export function expandRequestHeaders(stored: StoredRequestHeaders | null, facts: AttemptFacts): Record<string, string> | null {
  if (!Array.isArray(stored)) return stored;
  const [version, rubric, standard = null, extra, tracestate = null] = stored;
  const template = TEMPLATES[version];
  if (!template) throw new Error(`request headers stored with unknown template ${version}`);
  return build(template, extra, facts, { rubric, standard, tracestate });
}

/**
 * Response headers never stored: framing and connection management, the date
 * (the attempt has its own time), cookies, and what only a browser acts on.
 * `server` is kept: on a failure it tells which hop answered.
 */
export const UNSTORED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "te",
  "trailer",
  "upgrade",
  "proxy-connection",
  "date",
  "set-cookie",
  "nel",
  "report-to",
  "reporting-endpoints",
  "alt-svc",
  "strict-transport-security",
  "content-security-policy",
  "content-security-policy-report-only",
  "permissions-policy",
  "referrer-policy",
  "x-frame-options",
  "x-xss-protection",
  "x-content-type-options",
  "x-dns-prefetch-control",
  "x-download-options",
  "x-permitted-cross-domain-policies",
  "cross-origin-opener-policy",
  "cross-origin-embedder-policy",
  "cross-origin-resource-policy",
  "origin-agent-cluster",
  "expect-ct",
  "accept-ranges",
  "vary",
  "etag",
  "last-modified",
  "expires",
  "pragma",
  "cache-control",
  "age",
]);
/**
 * Kept before any other header when the budget is tight: what decides the outcome, then what
 * names the request to the receiver's operator (request ids) and which hop answered.
 */
const FIRST = [
  "content-type",
  "location",
  "retry-after",
  "www-authenticate",
  "x-request-id",
  "request-id",
  "x-correlation-id",
  "x-amzn-requestid",
  "cf-ray",
  "traceparent",
  "server",
];

/** Stored bytes of a response (UTF-8; headers as their JSON text) by outcome. */
export const RESPONSE_STORED = {
  success: { headers: 256, body: 256 },
  failure: { headers: 1024, body: 4096 },
} as const;

const utf8Length = (s: string) => new TextEncoder().encode(s).byteLength;

/** The longest prefix of `text` whose UTF-8 form fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const buffer = new Uint8Array(maxBytes);
  const { read } = new TextEncoder().encodeInto(text, buffer);
  return read >= text.length ? text : text.slice(0, read);
}

/**
 * The response headers an attempt row keeps: without the unstored ones, and
 * within `RESPONSE_STORED[outcome].headers` bytes of JSON (a header that does
 * not fit is left out; later, smaller ones may still fit). Names are lower
 * case and sorted, as `Headers` yields them.
 */
export function storedResponseHeaders(headers: Record<string, string> | null, ok: boolean): Record<string, string> | null {
  if (!headers) return null;
  let room = (ok ? RESPONSE_STORED.success : RESPONSE_STORED.failure).headers - 2; // the braces
  const entries = Object.entries(headers).filter(([name]) => !UNSTORED_RESPONSE_HEADERS.has(name.toLowerCase()));
  const rank = (name: string) => {
    const i = FIRST.indexOf(name.toLowerCase());
    return i < 0 ? FIRST.length : i;
  };
  const kept: Array<[string, string]> = [];
  for (const entry of [...entries].sort((a, b) => rank(a[0]) - rank(b[0]))) {
    // `"name":"value"` and the comma before it (the first one's is spare).
    const bytes = utf8Length(JSON.stringify(entry[0])) + utf8Length(JSON.stringify(entry[1])) + 2;
    if (bytes > room) continue;
    room -= bytes;
    kept.push(entry);
  }
  return Object.fromEntries(kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** The response body excerpt an attempt row keeps: `RESPONSE_STORED[outcome].body` bytes at most. */
export function storedResponseBody(body: string | null, ok: boolean): string | null {
  return body === null ? null : truncateUtf8(body, (ok ? RESPONSE_STORED.success : RESPONSE_STORED.failure).body);
}
