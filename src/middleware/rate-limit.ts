/**
 * Per-key request rate limiting. Two layers: a token bucket in this isolate
 * (exact for everything one isolate serves, and the layer that works under
 * `wrangler dev`, whose rate-limit binding keeps no state between requests),
 * then Cloudflare's rate-limiting binding, which spans isolates in production.
 */
import { ApiError } from "../lib/errors";

/** The limiter's window in seconds (also wrangler.toml's `[[ratelimits]]` period), sent as Retry-After. */
export const RATE_LIMIT_PERIOD_SECONDS = 10;
/** Keys tracked per isolate before the least recently seen are forgotten. */
const MAX_TRACKED_KEYS = 10_000;

/** A 429 that tells the client when to come back. */
export class RateLimitedError extends ApiError {
  constructor(readonly retryAfterSeconds: number) {
    super("rate_limited", `Too many requests for this API key; retry after ${retryAfterSeconds} s`);
  }
}

/**
 * Token buckets of this isolate, by key id. Module state on purpose: the
 * budget is shared by every request the isolate serves.
 */
const buckets = new Map<string, { tokens: number; at: number }>();

/** Takes a token for `keyId`; false when its bucket is empty. */
export function takeToken(keyId: string, limit: number, now = Date.now()): boolean {
  const refillPerMs = limit / (RATE_LIMIT_PERIOD_SECONDS * 1000);
  const bucket = buckets.get(keyId) ?? { tokens: limit, at: now };
  bucket.tokens = Math.min(limit, bucket.tokens + (now - bucket.at) * refillPerMs);
  bucket.at = now;
  buckets.delete(keyId); // re-insert: the map's order is least recently seen first
  if (buckets.size >= MAX_TRACKED_KEYS) buckets.delete(buckets.keys().next().value!);
  const allowed = bucket.tokens >= 1;
  if (allowed) bucket.tokens -= 1;
  buckets.set(keyId, bucket);
  return allowed;
}

/** Throws a 429 when `keyId` is over its limit (API_RATE_LIMIT requests per period). */
export async function enforceRateLimit(env: Env, keyId: string): Promise<void> {
  const limit = Number(env.API_RATE_LIMIT ?? 10_000);
  if (!takeToken(keyId, limit)) throw new RateLimitedError(RATE_LIMIT_PERIOD_SECONDS);
  const binding = (env as { API_RATE_LIMITER?: RateLimit }).API_RATE_LIMITER;
  if (binding && !(await binding.limit({ key: keyId })).success) throw new RateLimitedError(RATE_LIMIT_PERIOD_SECONDS);
}
