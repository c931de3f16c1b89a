/**
 * One delivery attempt: sign the body, POST it, and read a bounded amount of
 * the answer. Never throws: every outcome becomes an {@link AttemptResult}.
 */
import type { AttemptResult } from "../db/delivery-queries";
import { rubricSignature, standardSignature } from "../delivery/sign";
import { attemptRequestHeaders, truncateUtf8 } from "../lib/attempt-storage";

export { USER_AGENT } from "../lib/attempt-storage";
/** At most this much of a response is read; the rest is cancelled unread. */
export const MAX_RESPONSE_READ = 64 * 1024;
/**
 * At most this much of a response body is kept in the result (the test send answers with it);
 * the attempt row keeps less of a 2xx (lib/attempt-storage.ts).
 */
export const MAX_RESPONSE_STORED = 4 * 1024;

/** What one attempt sends. */
export interface AttemptRequest {
  url: string;
  /** Signing secrets, newest first: the newest signs `X-Rubric-Signature`, all sign `webhook-signature`. */
  secrets: string[];
  /** The customer's extra headers (validated at create time); ours are set after them and win. */
  extraHeaders?: Record<string, string>;
  body: string;
  eventId: string;
  eventType: string;
  deliveryId: string;
  attempt: number;
  timeoutMs: number;
  /** W3C `traceparent` of this attempt (the event's trace, a span id of its own); not signed. */
  traceparent?: string;
  /** The event's `tracestate`, sent beside `traceparent`. */
  tracestate?: string | null;
}

// The result's shape is what an attempt row records, so the db floor defines it (db must not import
// dispatch); it is re-exported here because every caller of sendAttempt names it.
export type { AttemptResult } from "../db/delivery-queries";

/** The headers of DESIGN §2 for one attempt at `timestamp` (Unix seconds). */
export async function deliveryHeaders(req: AttemptRequest, timestamp: number): Promise<Record<string, string>> {
  // During a rotation every valid secret signs `webhook-signature`, space-separated, newest first.
  const standard = (await Promise.all(req.secrets.map((s) => standardSignature(s, req.eventId, timestamp, req.body)))).filter(
    (sig): sig is string => sig !== null,
  );
  return attemptRequestHeaders(
    req.extraHeaders,
    { eventId: req.eventId, eventType: req.eventType, deliveryId: req.deliveryId, attempt: req.attempt, timestamp, traceparent: req.traceparent },
    {
      rubric: await rubricSignature(req.secrets[0]!, timestamp, req.body),
      standard: standard.length ? standard.join(" ") : null,
      tracestate: req.tracestate,
    },
  );
}

/** What was read of a response body, and why reading stopped early if it failed. */
interface BodyRead {
  text: string;
  /** Whether the body could not be read to its end or the cap (timeout, dropped connection); `error` says why. */
  failed: boolean;
  error: unknown;
}

/**
 * Reads up to {@link MAX_RESPONSE_READ} bytes, then cancels the rest of the
 * stream, so a receiver streaming without end costs at most that much. Every
 * read also races `signal` (the attempt's timeout), so a receiver trickling
 * bytes is cut off at the deadline, not when it pleases; the stream is then
 * cancelled, which closes the connection. Never throws.
 */
async function readCapped(res: Response, signal: AbortSignal): Promise<BodyRead> {
  if (!res.body) return { text: "", failed: false, error: null };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let failed = false;
  let error: unknown = null;
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
  });
  aborted.catch(() => {});
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    while (total < MAX_RESPONSE_READ) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch (err) {
    failed = true;
    error = err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  // Past the cap, timed out or broken: nothing more is pulled, and the connection is let go.
  if (failed || total >= MAX_RESPONSE_READ) await reader.cancel().catch(() => {});
  const kept = new Uint8Array(Math.min(total, MAX_RESPONSE_STORED));
  let offset = 0;
  for (const c of chunks) {
    if (offset >= kept.length) break;
    const take = c.subarray(0, kept.length - offset);
    kept.set(take, offset);
    offset += take.length;
  }
  // `stream: true` drops a character cut in half at the end; invalid bytes become U+FFFD
  // (3 bytes each), so the text is trimmed again to stay within what is stored.
  return { text: truncateUtf8(new TextDecoder().decode(kept, { stream: true }), MAX_RESPONSE_STORED), failed, error };
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError");
}

function describeError(err: unknown, timeoutMs: number): string {
  if (isTimeout(err)) return `timed out after ${timeoutMs} ms`;
  return err instanceof Error ? `network error: ${err.message}` : "network error";
}

/** The error of an answer whose body could not be read to the end within the timeout. */
function describeBodyError(err: unknown, timeoutMs: number): string {
  if (isTimeout(err)) return `timed out after ${timeoutMs} ms while reading the response body`;
  return err instanceof Error ? `network error while reading the response body: ${err.message}` : "network error while reading the response body";
}

/**
 * Sends one attempt. 2xx is success; anything else, a redirect included, is a
 * failure. `timeoutMs` bounds the whole exchange: connecting, the answer's
 * headers and reading its body. Outcomes:
 * - a 2xx with a body longer than {@link MAX_RESPONSE_READ}: success (the rest is not read);
 * - no answer by the deadline: failure, `timed out after N ms`, no status code;
 * - an answer whose body is still arriving at the deadline, or whose connection
 *   drops mid-body: failure, with its status code, headers and what was read,
 *   and an error saying so (`timed out after N ms while reading the response
 *   body`, `network error while reading the response body: …`).
 */
export async function sendAttempt(req: AttemptRequest, now: () => number = Date.now): Promise<AttemptResult> {
  const startedAt = now();
  const headers = await deliveryHeaders(req, Math.floor(startedAt / 1000));
  const signal = AbortSignal.timeout(req.timeoutMs);
  const base = { startedAt, requestHeaders: headers };
  let res: Response;
  try {
    // Redirects are never followed: a 3xx is reported as a failure, with its Location.
    res = await fetch(req.url, { method: "POST", headers, body: req.body, redirect: "manual", signal });
  } catch (err) {
    return {
      ...base,
      ok: false,
      responseCode: null,
      responseHeaders: null,
      responseBody: null,
      error: describeError(err, req.timeoutMs),
      durationMs: now() - startedAt,
    };
  }
  const responseHeaders = Object.fromEntries(res.headers);
  const body = await readCapped(res, signal);
  const ok = !body.failed && res.status >= 200 && res.status < 300;
  let error: string | null = null;
  if (body.failed) error = describeBodyError(body.error, req.timeoutMs);
  else if (res.status >= 300 && res.status < 400) error = `redirect (not followed) to ${res.headers.get("location") ?? "?"}`;
  else if (!ok) error = `HTTP ${res.status}`;
  return { ...base, ok, responseCode: res.status, responseHeaders, responseBody: body.text, error, durationMs: now() - startedAt };
}
