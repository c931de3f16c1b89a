import { describe, expect, it } from "vitest";
import { baseDelayMs, DEFAULT_SCHEDULE_MS, honourRetryAfter, maxRetries, parseRetryAfter, retryDelayMs } from "../src/dispatch/retry-policy";

const delays = (config: Parameters<typeof baseDelayMs>[0], n: number) => Array.from({ length: n }, (_, i) => baseDelayMs(config, i + 1));

describe("retry policy", () => {
  it("defaults to Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h", () => {
    expect(maxRetries(undefined)).toBe(7);
    expect(delays(undefined, 7)).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(DEFAULT_SCHEDULE_MS.reduce((a, b) => a + b) / 3_600_000).toBeCloseTo(27.6, 1);
    expect(retryDelayMs(undefined, 8, () => 0.5)).toBeNull();
  });

  it("doubles from initial_delay_ms for exponential (the seed's config), capped", () => {
    const seed = { max_retries: 5, backoff: "exponential" as const, initial_delay_ms: 1000 };
    expect(maxRetries(seed)).toBe(5);
    expect(delays(seed, 5)).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(retryDelayMs(seed, 6)).toBeNull();
    expect(delays({ backoff: "exponential", initial_delay_ms: 1000, max_delay_ms: 5000 }, 5)).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it("adds initial_delay_ms each time for linear, and repeats it for fixed", () => {
    expect(delays({ backoff: "linear", initial_delay_ms: 500 }, 4)).toEqual([500, 1000, 1500, 2000]);
    expect(delays({ backoff: "linear", initial_delay_ms: 500, max_delay_ms: 1200 }, 4)).toEqual([500, 1000, 1200, 1200]);
    expect(delays({ backoff: "fixed", initial_delay_ms: 750 }, 3)).toEqual([750, 750, 750]);
  });

  it("follows an explicit schedule, repeating its last entry if max_retries asks for more", () => {
    expect(maxRetries({ schedule_ms: [10, 20] })).toBe(2);
    expect(delays({ schedule_ms: [10, 20], max_retries: 4 }, 4)).toEqual([10, 20, 20, 20]);
  });

  it("uses 5 s as the default initial delay for a backoff without one", () => {
    expect(delays({ backoff: "exponential" }, 2)).toEqual([5000, 10000]);
  });

  it("jitters by ±20 %", () => {
    const cfg = { backoff: "fixed" as const, initial_delay_ms: 1000 };
    expect(retryDelayMs(cfg, 1, () => 0)).toBe(800);
    expect(retryDelayMs(cfg, 1, () => 0.5)).toBe(1000);
    expect(retryDelayMs(cfg, 1, () => 0.999999)).toBe(1200);
  });

  it("allows no retries at all", () => {
    expect(retryDelayMs({ max_retries: 0 }, 1)).toBeNull();
  });
});

describe("Retry-After", () => {
  const now = Date.UTC(2026, 10, 28, 12, 0, 0);

  it("is read as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter(new Date(now - 30_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter("-5", now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });

  it("stretches the scheduled delay up to twice it, never shortens it, and caps at 24 h", () => {
    expect(honourRetryAfter(1000, 503, "1.5", now)).toBe(1000); // not a whole number of seconds: ignored
    expect(honourRetryAfter(1000, 503, "2", now)).toBe(2000);
    expect(honourRetryAfter(1000, 429, "60", now)).toBe(2000);
    expect(honourRetryAfter(10_000, 503, "1", now)).toBe(10_000);
    expect(honourRetryAfter(60_000_000, 503, "999999", now)).toBe(86_400_000);
    expect(honourRetryAfter(1000, 500, "60", now)).toBe(1000); // only 429/502/503/504
    expect(honourRetryAfter(1000, null, "60", now)).toBe(1000);
    for (const status of [429, 502, 503, 504]) expect(honourRetryAfter(1000, status, "3", now)).toBe(2000);
  });
});
