/**
 * The dashboard's aggregates over the last 24 hours, computed in the database
 * so that only the buckets travel: each query is a key range per webhook
 * (delivery ids embed the event time, so `delivery_id >= idFloor(now - 24 h)`
 * bounds the scan) and returns at most one row per bucket. Attempts of events
 * made before the window are outside it, as in the API's `/stats`.
 */
import { and, eq, gte, inArray, sql } from "drizzle-orm";
import { chunk, type Db } from "../db/client";
import { fromDelivery } from "../db/attempt-packs";
import { allAttempts as a } from "../db/schema";
import { idFloor } from "../lib/ids";

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** Attempts that succeeded and that did not, per hour (24 buckets, oldest first). */
export interface HourlySeries {
  ok: number[];
  bad: number[];
}

// Every attempt, packed or not (db/attempt-packs.ts): `pack_last` bounds the packs read by their key.
const range = (accountId: string, ids: string[], from: number) =>
  and(
    inArray(a.webhookId, ids),
    fromDelivery(a, idFloor("dlv", from)),
    gte(a.startedAt, from),
    eq(a.accountId, accountId),
  );

/** Per webhook: its attempts of the last 24 h by hour. */
export async function hourlyByWebhook(db: Db, accountId: string, webhookIds: string[], now = Date.now()): Promise<Map<string, HourlySeries>> {
  const from = now - DAY_MS;
  const out = new Map<string, HourlySeries>(webhookIds.map((id) => [id, { ok: Array(24).fill(0), bad: Array(24).fill(0) }]));
  const bucket = sql<number>`cast((${a.startedAt} - ${from}) / ${HOUR_MS} as integer)`;
  for (const ids of chunk(webhookIds)) {
    const rows = await db
      .select({ id: a.webhookId, h: bucket, ok: sql<number>`sum(${a.status} = 'succeeded')`, bad: sql<number>`sum(${a.status} in ('failed', 'retrying'))` })
      .from(a)
      .where(range(accountId, ids, from))
      .groupBy(a.webhookId, bucket);
    for (const r of rows) {
      const s = out.get(r.id);
      if (!s || r.h < 0 || r.h > 23) continue;
      s.ok[r.h] = s.ok[r.h]! + Number(r.ok);
      s.bad[r.h] = s.bad[r.h]! + Number(r.bad);
    }
  }
  return out;
}

/** Deliveries' attempts per minute by outcome (1440 buckets each, oldest first). */
export interface MinuteSeries {
  succeeded: number[];
  retrying: number[];
  failed: number[];
}

/** Latency percentiles of the attempts in the window, in ms (null: no attempts). */
export interface Percentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
}

/** The activity page's data: attempts per minute by outcome and latency percentiles, over `webhookIds`. */
export async function activity(db: Db, accountId: string, webhookIds: string[], now = Date.now()) {
  const from = now - DAY_MS;
  const series: MinuteSeries = { succeeded: Array(1440).fill(0), retrying: Array(1440).fill(0), failed: Array(1440).fill(0) };
  const durations: number[][] = [];
  const bucket = sql<number>`cast((${a.startedAt} - ${from}) / ${MINUTE_MS} as integer)`;
  for (const ids of chunk(webhookIds)) {
    const rows = await db.select({ m: bucket, status: a.status, n: sql<number>`count(*)` }).from(a).where(range(accountId, ids, from)).groupBy(bucket, a.status);
    for (const r of rows) if (r.status !== "cancelled" && r.m >= 0 && r.m < 1440) series[r.status][r.m] = series[r.status][r.m]! + Number(r.n);
    durations.push(await percentileRows(db, accountId, ids, from));
  }
  return { series, latency: mergePercentiles(durations) };
}

const QUANTILES = [0.5, 0.9, 0.95, 0.99] as const;

/**
 * The attempts' durations at the quantiles, one chunk of webhooks: the
 * database ranks them and returns four rows with the count, not the durations.
 */
async function percentileRows(db: Db, accountId: string, ids: string[], from: number): Promise<number[]> {
  const ranked = db
    .select({ d: a.durationMs, rn: sql<number>`row_number() over (order by ${a.durationMs})`.as("rn"), n: sql<number>`count(*) over ()`.as("n") })
    .from(a)
    .where(range(accountId, ids, from))
    .as("ranked");
  const rows = await db
    .select({ d: ranked.d, rn: ranked.rn, n: ranked.n })
    .from(ranked)
    .where(sql`${ranked.rn} in (${sql.join(QUANTILES.map((q) => sql`cast(${ranked.n} * ${q} as integer) + 1`), sql`, `)}) or ${ranked.rn} = ${ranked.n}`);
  if (rows.length === 0) return [];
  const n = Number(rows[0]!.n);
  const at = new Map(rows.map((r) => [Number(r.rn), r.d]));
  // [count, p50, p90, p95, p99]; a quantile past the end is the largest value.
  return [n, ...QUANTILES.map((q) => at.get(Math.min(n, Math.floor(n * q) + 1)) ?? at.get(n)!)];
}

/**
 * Percentiles across chunks. Exact for one chunk (up to 90 webhooks); with
 * more, the count-weighted mean of the chunks' values (an approximation).
 */
function mergePercentiles(parts: number[][]): Percentiles {
  const live = parts.filter((p) => p.length);
  const count = live.reduce((s, p) => s + p[0]!, 0);
  if (count === 0) return { count: 0, p50: null, p90: null, p95: null, p99: null };
  const at = (i: number) => Math.round(live.reduce((s, p) => s + p[i]! * p[0]!, 0) / count);
  return { count, p50: at(1), p90: at(2), p95: at(3), p99: at(4) };
}
