/**
 * The counters kept per account: billable operations (what Cloudflare bills,
 * so cost per delivery can be measured) and delivery outcomes. They are kept
 * in memory and added to D1 in batches, never one write per event.
 */

/** Billable operations, named as the price list names them. */
export const BILLABLE_OPS = [
  "worker_requests",
  "d1_rows_read",
  "d1_rows_written",
  "do_requests",
  "do_rows_read",
  "do_rows_written",
  "do_alarms_set",
  "queue_operations",
] as const;

/** Outcome counters. */
export const OUTCOMES = ["events_accepted", "attempts", "retries", "deliveries_succeeded", "deliveries_failed"] as const;

/** Upper bounds (ms) of the attempt latency histogram; a last bucket takes the rest. */
export const LATENCY_BUCKETS_MS = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
export const LATENCY_COLUMNS = [...LATENCY_BUCKETS_MS.map((b) => `latency_le_${b}` as const), "latency_le_inf", "latency_sum_ms"] as const;

export const COUNTER_NAMES = [...BILLABLE_OPS, ...OUTCOMES, ...LATENCY_COLUMNS] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Partial<Record<CounterName, number>>;

/** Adds `from` into `into`. */
export function addCounters(into: Counters, from: Counters): void {
  for (const [k, v] of Object.entries(from) as Array<[CounterName, number]>) if (v) into[k] = (into[k] ?? 0) + v;
}

/** The histogram counters for one attempt that took `ms`. */
export function latencyCounters(ms: number): Counters {
  const bucket = LATENCY_BUCKETS_MS.find((b) => ms <= b);
  return { [bucket === undefined ? "latency_le_inf" : `latency_le_${bucket}`]: 1, latency_sum_ms: ms } as Counters;
}
