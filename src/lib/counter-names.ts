/**
 * The names of the counters kept per account: billable operations, outcomes
 * and the attempt latency histogram. They are the metrics' vocabulary
 * (metrics/counters.ts) and also the columns of `usage_counters`
 * (db/schema.ts), so they live down here where both floors can import them.
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

/** Database traffic that is not billed as such (D1 bills rows): statements run, per database. */
export const TRAFFIC = ["d1_queries"] as const;

/** Upper bounds (ms) of the attempt latency histogram; a last bucket takes the rest. */
export const LATENCY_BUCKETS_MS = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
/** The histogram's counters: one per bucket, the last bucket, and the sum of all latencies. */
export const LATENCY_COLUMNS = [...LATENCY_BUCKETS_MS.map((b) => `latency_le_${b}` as const), "latency_le_inf", "latency_sum_ms"] as const;

/** Every counter, in column order. */
export const COUNTER_NAMES = [...BILLABLE_OPS, ...OUTCOMES, ...LATENCY_COLUMNS, ...TRAFFIC] as const;
/** One counter's name. */
export type CounterName = (typeof COUNTER_NAMES)[number];

/** Where counts go: a metrics/usage-meter.ts `UsageMeter`, as the floors below it see one. */
export interface CounterSink {
  add(name: CounterName, n?: number, account?: string): void;
}
