/**
 * Verifying a delivery on the receiver's side, as the seed's verify_webhook.py
 * does, plus Standard Webhooks. Two schemes can be present; a delivery is
 * genuine when either verifies:
 *
 * - `X-Rubric-Signature: sha256=<hex>` of `"{X-Rubric-Timestamp}.{body}"`,
 *   keyed by the UTF-8 bytes of the whole secret (`whsec_…` included);
 * - `webhook-signature: v1,<base64> [v1,<base64> …]` of
 *   `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed by the base64-decoded
 *   part of the secret after `whsec_`. During a secret rotation it carries one
 *   signature per live secret.
 *
 * The timestamp must be within `toleranceSeconds` (300) of now, and every
 * signature comparison is constant-time.
 */
import { concat, fromBase64, fromHex, hmacSha256, timingSafeEqual, utf8 } from "./encoding.js";
import { RubricError } from "./errors.js";

/** Why a delivery was refused. */
export type WebhookVerificationReason =
  /** No complete set of signature headers (signature, timestamp, and for Standard Webhooks the id). */
  | "missing_headers"
  /** The timestamp is not whole Unix seconds. */
  | "invalid_timestamp"
  /** The timestamp is more than the tolerance in the past (a replay, or a very late retry of a captured request). */
  | "timestamp_too_old"
  /** The timestamp is more than the tolerance in the future. */
  | "timestamp_too_new"
  /** No signature in the headers has a recognised form (`sha256=<hex>`, `v1,<base64>`). */
  | "malformed_signature"
  /** Signatures are well formed but none matches the body with any of the secrets. */
  | "signature_mismatch"
  /** The secret is empty or not a string. */
  | "invalid_secret"
  /** The signature is valid but the body is not JSON. */
  | "invalid_payload";

/** Thrown by {@link verifyWebhook}; `reason` says why, for logs and metrics (never tell the sender). */
export class WebhookVerificationError extends RubricError {
  constructor(
    readonly reason: WebhookVerificationReason,
    message: string,
  ) {
    super(message);
  }
}

/** Request headers in any common shape: `Headers`, Node's `IncomingHttpHeaders`, or a plain record. */
export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** Largest accepted distance between the timestamp and now, in seconds (default 300, as the seed). */
  toleranceSeconds?: number;
  /** "Now", for tests (ms since the epoch or a Date; default the clock). */
  now?: number | Date;
}

/** The envelope a `json`-format webhook delivers (the seed's "Webhook Payload Format"). */
export interface WebhookEvent<Data = Record<string, unknown>> {
  id: string;
  type: string;
  created_at: string;
  data: Data;
  metadata: Record<string, unknown>;
}

/** One scheme's headers, as found. */
interface Scheme {
  name: string;
  timestamp: string;
  /** The header's signatures, decoded (`null`: one that cannot match, e.g. another version); throws malformed_signature. */
  parse: () => Array<Uint8Array | null>;
  /** The expected signature for one secret, or `null` when the secret cannot key this scheme. */
  expected: (secret: string, body: Uint8Array) => Promise<Uint8Array | null>;
}

/**
 * Verifies a delivery's signature and timestamp and returns the parsed body.
 * Pass the raw body exactly as received (string or bytes: not re-serialised
 * JSON), the request headers, and the endpoint's secret, or several secrets
 * while rotating.
 * @throws {WebhookVerificationError} with a `reason` when the delivery is not genuine or not fresh
 */
export async function verifyWebhook<T = WebhookEvent>(
  payload: string | Uint8Array | ArrayBuffer,
  headers: HeadersLike,
  secret: string | readonly string[],
  options: VerifyOptions = {},
): Promise<T> {
  const secrets: unknown[] = typeof secret === "string" ? [secret] : Array.isArray(secret) ? [...secret] : [];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new WebhookVerificationError("invalid_secret", "the webhook secret must be a non-empty string");
  }
  const keys = secrets as string[];
  const body = typeof payload === "string" ? utf8(payload) : payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const schemes = findSchemes(headers);
  if (schemes.length === 0) {
    throw new WebhookVerificationError("missing_headers", "no X-Rubric-Signature/X-Rubric-Timestamp or webhook-id/webhook-timestamp/webhook-signature headers");
  }
  const nowMs = options.now === undefined ? Date.now() : +options.now;
  const tolerance = options.toleranceSeconds ?? 300;

  // Timestamps first: a replayed old delivery fails whatever its signature.
  for (const scheme of schemes) checkTimestamp(scheme, nowMs, tolerance);
  // Either scheme verifies the body; webhook-signature also carries the rotated secret's signature.
  let malformed: WebhookVerificationError | undefined;
  let ok = false;
  for (const scheme of schemes) {
    try {
      ok = await matches(scheme, body, keys);
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      malformed = err;
    }
    if (ok) break;
  }
  if (!ok) throw malformed ?? new WebhookVerificationError("signature_mismatch", "no signature matches the body with the secret");

  try {
    return JSON.parse(new TextDecoder().decode(body)) as T;
  } catch {
    throw new WebhookVerificationError("invalid_payload", "the signature is valid but the body is not JSON");
  }
}

function checkTimestamp(scheme: Scheme, nowMs: number, tolerance: number) {
  if (!/^\d{1,12}$/.test(scheme.timestamp)) {
    throw new WebhookVerificationError("invalid_timestamp", `${scheme.name}: the timestamp is not Unix seconds`);
  }
  const age = nowMs / 1000 - Number(scheme.timestamp);
  if (age > tolerance) throw new WebhookVerificationError("timestamp_too_old", `${scheme.name}: the timestamp is ${Math.round(age)} s old (tolerance ${tolerance} s)`);
  if (-age > tolerance) throw new WebhookVerificationError("timestamp_too_new", `${scheme.name}: the timestamp is ${Math.round(-age)} s in the future (tolerance ${tolerance} s)`);
}

/** Whether one of the scheme's signatures matches the body with one of the secrets; throws malformed_signature for a header of the wrong form. */
async function matches(scheme: Scheme, body: Uint8Array, secrets: string[]): Promise<boolean> {
  const given = scheme.parse();
  let found = false;
  for (const secret of secrets) {
    const expected = await scheme.expected(secret, body);
    if (!expected) continue;
    // Every pair is compared (no early exit), each in constant time.
    for (const sig of given) found = (sig !== null && timingSafeEqual(sig, expected)) || found;
  }
  return found;
}

/** The schemes whose headers are all present, Standard Webhooks first (it carries both secrets during a rotation). */
function findSchemes(headers: HeadersLike): Scheme[] {
  const get = headerGetter(headers);
  const schemes: Scheme[] = [];
  const [id, swTimestamp, swSignature] = [get("webhook-id"), get("webhook-timestamp"), get("webhook-signature")];
  if (id && swTimestamp && swSignature) {
    schemes.push({
      name: "webhook-signature",
      timestamp: swTimestamp,
      // Space-separated `version,signature` entries; only v1 entries can match (others are other schemes' versions).
      parse: () => {
        const entries = swSignature.split(/\s+/).filter(Boolean);
        if (entries.length === 0 || !entries.every((e) => e.includes(","))) {
          throw new WebhookVerificationError("malformed_signature", "webhook-signature must be space-separated 'v1,<base64>' entries");
        }
        return entries.map((e) => (e.startsWith("v1,") ? fromBase64(e.slice(3)) : null));
      },
      expected: async (secret, body) => {
        const key = fromBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
        return key ? hmacSha256(key, concat(utf8(`${id}.${swTimestamp}.`), body)) : null;
      },
    });
  }
  const [timestamp, signature] = [get("x-rubric-timestamp"), get("x-rubric-signature")];
  if (timestamp && signature) {
    schemes.push({
      name: "X-Rubric-Signature",
      timestamp,
      parse: () => {
        const entries = signature.split(/[\s,]+/).filter(Boolean);
        if (entries.length === 0 || !entries.every((e) => /^sha256=[0-9a-fA-F]{64}$/.test(e))) {
          throw new WebhookVerificationError("malformed_signature", "X-Rubric-Signature must be 'sha256=' and 64 hex digits");
        }
        return entries.map((e) => fromHex(e.slice(7)));
      },
      expected: (secret, body) => hmacSha256(utf8(secret), concat(utf8(`${timestamp}.`), body)),
    });
  }
  return schemes;
}

/** Case-insensitive header lookup over every {@link HeadersLike} shape; repeated headers are joined with a space. */
function headerGetter(headers: HeadersLike): (name: string) => string | undefined {
  if (typeof (headers as Headers).get === "function" && typeof (headers as Headers).forEach === "function") {
    return (name) => (headers as Headers).get(name)?.trim() || undefined;
  }
  const lower = new Map<string, string>();
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    lower.set(key.toLowerCase(), (Array.isArray(value) ? value.join(" ") : String(value)).trim());
  }
  return (name) => lower.get(name) || undefined;
}
