/**
 * One delivery attempt: sign the body, POST it, and read a bounded amount of
 * the answer. Never throws: every outcome becomes an {@link AttemptResult}.
 */
import { rubricSignature, standardSignature } from "../delivery/sign";

export const USER_AGENT = "Rubric-Webhooks/0.1.0";
/** At most this much of a response is read; the rest is cancelled unread. */
export const MAX_RESPONSE_READ = 64 * 1024;
/** At most this much of a response is stored with the attempt. */
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
}

/** What one attempt found out. */
export interface AttemptResult {
  ok: boolean;
  responseCode: number | null;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  error: string | null;
  startedAt: number;
  durationMs: number;
  /** The headers that were sent (for the attempt record; no secret is in them). */
  requestHeaders: Record<string, string>;
}

/** The headers of DESIGN §2 for one attempt at `timestamp` (Unix seconds). */
export async function deliveryHeaders(req: AttemptRequest, timestamp: number): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    ...req.extraHeaders,
    "Content-Type": "application/json",
    "User-Agent": USER_AGENT,
    "X-Rubric-Timestamp": String(timestamp),
    "X-Rubric-Signature": await rubricSignature(req.secrets[0]!, timestamp, req.body),
    "X-Rubric-Event-Id": req.eventId,
    "X-Rubric-Event-Type": req.eventType,
    "X-Rubric-Delivery-Id": req.deliveryId,
    "X-Rubric-Attempt": String(req.attempt),
  };
  // The Standard Webhooks message id is the event id, as Svix does: stable across retries.
  // During a rotation every valid secret signs, space-separated, newest first.
  const standard = (await Promise.all(req.secrets.map((s) => standardSignature(s, req.eventId, timestamp, req.body)))).filter(
    (sig): sig is string => sig !== null,
  );
  if (standard.length) {
    headers["webhook-id"] = req.eventId;
    headers["webhook-timestamp"] = String(timestamp);
    headers["webhook-signature"] = standard.join(" ");
  }
  return headers;
}

/** Reads up to {@link MAX_RESPONSE_READ} bytes, then cancels the rest of the stream. */
async function readCapped(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < MAX_RESPONSE_READ) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  if (total >= MAX_RESPONSE_READ) await reader.cancel().catch(() => {});
  const all = new Uint8Array(Math.min(total, MAX_RESPONSE_STORED));
  let offset = 0;
  for (const c of chunks) {
    if (offset >= all.length) break;
    const take = c.subarray(0, all.length - offset);
    all.set(take, offset);
    offset += take.length;
  }
  return new TextDecoder().decode(all);
}

function describeError(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `timed out after ${timeoutMs} ms`;
  }
  return err instanceof Error ? `network error: ${err.message}` : "network error";
}

/** Sends one attempt. 2xx is success; anything else, a redirect included, is a failure. */
export async function sendAttempt(req: AttemptRequest, now: () => number = Date.now): Promise<AttemptResult> {
  const startedAt = now();
  const headers = await deliveryHeaders(req, Math.floor(startedAt / 1000));
  const signal = AbortSignal.timeout(req.timeoutMs);
  const base = { startedAt, requestHeaders: headers };
  try {
    // Redirects are never followed: a 3xx is reported as a failure, with its Location.
    const res = await fetch(req.url, { method: "POST", headers, body: req.body, redirect: "manual", signal });
    const responseHeaders = Object.fromEntries(res.headers);
    const responseBody = await readCapped(res);
    const ok = res.status >= 200 && res.status < 300;
    return {
      ...base,
      ok,
      responseCode: res.status,
      responseHeaders,
      responseBody,
      error: ok ? null : res.status >= 300 && res.status < 400 ? `redirect (not followed) to ${res.headers.get("location") ?? "?"}` : `HTTP ${res.status}`,
      durationMs: now() - startedAt,
    };
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
}
