/**
 * The counters kept per account: billable operations (what Cloudflare bills,
 * so cost per delivery can be measured) and delivery outcomes. They are kept
 * in memory and added to D1 in batches, never one write per event. Their
 * names are in lib/counter-names.ts (they are also db columns).
 */
import { type CounterName, LATENCY_BUCKETS_MS } from "../lib/counter-names";

/** Some counters' values (a missing counter is 0). */
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
