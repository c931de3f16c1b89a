/**
 * Adding counters to D1 in batches. Each flush upserts one row per account it
 * has counts for into one shard (any shard: readers sum them all, so flushes
 * spread over the shards rather than meet on one database); between flushes
 * counts wait in memory. A flush's own rows are counted too, into the next flush.
 */
import { shardCount, shardD1 } from "../db/shards";
import { COUNTER_NAMES } from "../lib/counter-names";
import type { Counters } from "./counters";
import { UsageMeter } from "./usage-meter";

const COLUMNS = COUNTER_NAMES.join(", ");
const UPSERT = `INSERT INTO usage_counters (account_id, ${COLUMNS}) VALUES (?${", ?".repeat(COUNTER_NAMES.length)})
  ON CONFLICT (account_id) DO UPDATE SET ${COUNTER_NAMES.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`;

/** Writes `meter`'s counts to shard `shard`; on failure they go back into the meter, so nothing is lost. */
export async function flushUsage(env: Env, shard: number, meter: UsageMeter): Promise<void> {
  const counts = meter.take();
  if (counts.size === 0) return;
  // The flush's own rows are the service's overhead, not any account's: count them under `system`.
  const own = new UsageMeter();
  const db = shardD1(env, shard, own);
  try {
    await db.batch(
      [...counts].map(([account, c]: [string, Counters]) => db.prepare(UPSERT).bind(account, ...COUNTER_NAMES.map((n) => c[n] ?? 0))),
    );
    own.drainInto(meter);
  } catch (err) {
    for (const [account, c] of counts) meter.addAll(c, account);
    throw err;
  }
}

/** How often counts are flushed (USAGE_FLUSH_SECONDS; 0 flushes every time). */
export const flushIntervalMs = (env: Env): number => Math.max(0, Number(env.USAGE_FLUSH_SECONDS ?? 10)) * 1000;

/**
 * This isolate's counts waiting for a flush. Module state on purpose, and the
 * only such state here: counting across the requests an isolate serves is
 * what keeps counting from adding a D1 write to every request.
 */
const isolateUsage = new UsageMeter();
let isolateLastFlush = 0;
/** How many flushes this isolate made: each goes to the next shard. */
let isolateFlushes = 0;

/** Adds a request's or batch's counts to this isolate's and flushes them when due. */
export async function recordUsage(env: Env, meter: UsageMeter, now = Date.now()): Promise<void> {
  meter.drainInto(isolateUsage);
  if (now - isolateLastFlush < flushIntervalMs(env)) return;
  isolateLastFlush = now;
  try {
    await flushUsage(env, isolateFlushes++ % shardCount(env), isolateUsage);
  } catch (err) {
    console.error("usage flush failed; counts kept for the next one", err);
  }
}
