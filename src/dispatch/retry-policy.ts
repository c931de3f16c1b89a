/**
 * When to try a failed delivery again. Delays are computed from the webhook's
 * `retry_config`; the default is Svix's schedule (about 27 h in all).
 */

/** 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
export const DEFAULT_INITIAL_DELAY_MS = 5_000;
export const DEFAULT_MAX_DELAY_MS = 36_000_000;
export const JITTER = 0.2;

/** A webhook's retry configuration as stored (the wire's snake_case). */
export interface RetryConfig {
  max_retries?: number;
  backoff?: "exponential" | "linear" | "fixed";
  initial_delay_ms?: number;
  max_delay_ms?: number;
  schedule_ms?: number[];
}

/** How many retries follow the first attempt. */
export function maxRetries(config: RetryConfig | null | undefined): number {
  if (config?.max_retries !== undefined) return config.max_retries;
  if (config?.schedule_ms) return config.schedule_ms.length;
  return DEFAULT_SCHEDULE_MS.length;
}

/**
 * The delay before retry number `retry` (1-based), without jitter.
 * Exponential doubles from `initial_delay_ms`, linear adds it each time, fixed
 * repeats it; all are capped at `max_delay_ms`. An explicit schedule repeats
 * its last entry if `max_retries` asks for more retries than it lists.
 */
export function baseDelayMs(config: RetryConfig | null | undefined, retry: number): number {
  const schedule = config?.schedule_ms ?? (config?.backoff ? null : DEFAULT_SCHEDULE_MS);
  if (schedule) return schedule[Math.min(retry, schedule.length) - 1] ?? 0;
  const initial = config?.initial_delay_ms ?? DEFAULT_INITIAL_DELAY_MS;
  const cap = config?.max_delay_ms ?? DEFAULT_MAX_DELAY_MS;
  const raw =
    config?.backoff === "linear" ? initial * retry : config?.backoff === "fixed" ? initial : initial * 2 ** (retry - 1);
  return Math.min(raw, cap);
}

/**
 * The delay before retry `retry`, with ±20 % jitter so that many endpoints
 * failing together do not retry in lock-step; `null` when retries are exhausted.
 */
export function retryDelayMs(
  config: RetryConfig | null | undefined,
  retry: number,
  random: () => number = Math.random,
): number | null {
  if (retry > maxRetries(config)) return null;
  const base = baseDelayMs(config, retry);
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

/** Statuses whose `Retry-After` is honoured. */
export const RETRY_AFTER_STATUSES = new Set([429, 502, 503, 504]);
/** The longest wait a `Retry-After` can ask for. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/** A `Retry-After` value (seconds, or an HTTP date) in milliseconds from `now`; `null` if unusable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its day and month; anything else ("-5", "1.5") is not a date.
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The delay before the next attempt when the endpoint answered `status` with
 * `retryAfter`: at least the scheduled delay, at most twice it, never over 24 h.
 * Without a usable header, or for other statuses, the schedule stands.
 */
export function honourRetryAfter(scheduledMs: number, status: number | null, retryAfter: string | null | undefined, now = Date.now()): number {
  if (status === null || !RETRY_AFTER_STATUSES.has(status)) return scheduledMs;
  const asked = parseRetryAfter(retryAfter, now);
  if (asked === null) return scheduledMs;
  return Math.min(Math.max(asked, scheduledMs), 2 * scheduledMs, MAX_RETRY_AFTER_MS);
}
