/**
 * Cloudflare's list prices (USD per million operations, beyond the included
 * amounts), used to turn counted operations into dollars. Durable Object
 * duration and Workers CPU time are not counted here.
 */
import type { Counters } from "./counters";

export const PRICE_PER_MILLION_USD = {
  worker_requests: 0.3,
  d1_rows_read: 0.001,
  d1_rows_written: 1.0,
  do_requests: 0.15,
  do_rows_read: 0.001,
  do_rows_written: 1.0,
  queue_operations: 0.4,
} as const;

/** Dollars for the billable operations in `c`, per operation kind and in total. */
export function costUsd(c: Counters) {
  const byOp = Object.fromEntries(
    Object.entries(PRICE_PER_MILLION_USD).map(([op, price]) => [op, ((c[op as keyof Counters] ?? 0) * price) / 1e6]),
  ) as Record<keyof typeof PRICE_PER_MILLION_USD, number>;
  return { by_op: byOp, total: Object.values(byOp).reduce((a, b) => a + b, 0) };
}
