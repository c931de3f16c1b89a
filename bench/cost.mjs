// Billable operations per delivery, read from the service's Prometheus /metrics,
// and what they cost at Cloudflare's list prices.

/**
 * Dollars per million operations, per `rubric_billable_ops_total{op}`. Duration-billed
 * items (Durable Object GB-s, Workers CPU ms) have no price here: they are not counted.
 */
export const PRICES = {
  worker_requests: { usdPerMillion: 0.3, label: "Workers requests" },
  worker_cpu_ms: { usdPerMillion: 0, label: "Workers CPU ms (not counted)" },
  d1_rows_read: { usdPerMillion: 0.001, label: "D1 rows read" },
  d1_rows_written: { usdPerMillion: 1.0, label: "D1 rows written" },
  do_requests: { usdPerMillion: 0.15, label: "Durable Objects requests" },
  do_rows_read: { usdPerMillion: 0.001, label: "DO SQLite rows read" },
  do_rows_written: { usdPerMillion: 1.0, label: "DO SQLite rows written" },
  queue_operations: { usdPerMillion: 0.4, label: "Queues operations (write, read, delete each 1)" },
};

/**
 * Parses Prometheus text exposition into {name, labels, value} samples
 * (comments and malformed lines are skipped).
 * @param {string} text
 */
export function parseProm(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    const l = line.trim();
    if (!l || l.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(l);
    if (!m) continue;
    /** @type {Record<string,string>} */
    const labels = {};
    for (const lm of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    const value = Number(m[3]);
    if (Number.isFinite(value)) samples.push({ name: m[1], labels, value });
  }
  return samples;
}

/**
 * The counters the cost needs: {ops: {op: value}, succeeded}. Summed over any other labels.
 * @param {ReturnType<typeof parseProm>} samples
 */
export function billingCounters(samples) {
  /** @type {Record<string, number>} */
  const ops = {};
  let succeeded = 0;
  for (const s of samples) {
    if (s.name === "rubric_billable_ops_total" && s.labels.op) ops[s.labels.op] = (ops[s.labels.op] ?? 0) + s.value;
    if (s.name === "rubric_deliveries_total" && s.labels.status === "succeeded") succeeded += s.value;
  }
  return { ops, succeeded };
}

/**
 * Per-delivery operations and $ per million deliveries between two scrapes
 * (usdPerMillion null when no delivery succeeded in between or a counter was reset).
 * @param {{ops: Record<string,number>, succeeded: number}} before
 * @param {{ops: Record<string,number>, succeeded: number}} after
 * @returns {{deliveries: number | null, perDelivery: Record<string, number>, usdByOp?: Record<string, number>,
 *   usdPerMillion: number | null, missing: string[], reset?: boolean}}
 */
export function costBetween(before, after) {
  // A counter that went down was reset (the service reloaded mid-scenario): the deltas mean nothing.
  const reset = after.succeeded < before.succeeded || Object.keys(before.ops).some((op) => (after.ops[op] ?? 0) < before.ops[op]);
  if (reset) return { deliveries: null, perDelivery: {}, usdPerMillion: null, missing: [], reset: true };
  const deliveries = after.succeeded - before.succeeded;
  if (deliveries <= 0) return { deliveries, perDelivery: {}, usdPerMillion: null, missing: [] };
  /** @type {Record<string, number>} */
  const perDelivery = {};
  /** @type {Record<string, number>} */
  const usdByOp = {};
  let usd = 0;
  const missing = [];
  for (const [op, price] of Object.entries(PRICES)) {
    if (!(op in after.ops)) {
      // Only a priced counter that is absent changes the total; unpriced ones (CPU ms) may be.
      if (price.usdPerMillion > 0) missing.push(op);
      continue;
    }
    const delta = after.ops[op] - (before.ops[op] ?? 0);
    perDelivery[op] = delta / deliveries;
    // (ops per delivery) × ($ per op) × 10^6 deliveries = ops/delivery × $ per million ops.
    usdByOp[op] = perDelivery[op] * price.usdPerMillion;
    usd += usdByOp[op];
  }
  // Counters the price table does not know are kept too (per delivery), but not priced.
  for (const op of Object.keys(after.ops)) {
    if (!(op in PRICES)) perDelivery[op] = (after.ops[op] - (before.ops[op] ?? 0)) / deliveries;
  }
  return { deliveries, perDelivery, usdByOp, usdPerMillion: usd, missing };
}

/**
 * Operations per unit (e.g. per accepted event) between two scrapes: {op: Δ/units}.
 * @param {{ops: Record<string,number>}} before
 * @param {{ops: Record<string,number>} | null} after
 * @param {number} units
 */
export function opsBetween(before, after, units) {
  if (!after || units <= 0) return null;
  return Object.fromEntries(Object.keys(after.ops).map((op) => [op, (after.ops[op] - (before.ops[op] ?? 0)) / units]));
}
