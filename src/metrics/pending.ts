/**
 * Accepted events not fanned out yet (the outbox's `pending` rows), across
 * every account: what `GET /v1/admin/health` and `/metrics` report.
 *
 * The events table has no status index on purpose (each index entry is a row
 * written for every event), so this reads each account's ids from a mark
 * kept in D1 (`scan_marks`), as the sweeper does from its own watermark: no
 * pending event has a smaller id. The mark follows the oldest pending event
 * and never comes closer to now than {@link SKEW_MS}, so a check reads only
 * the last few minutes of events unless something is stuck. It is kept apart
 * from the sweeper's on purpose: this is how a stalled sweeper gets noticed.
 */
import { sql } from "drizzle-orm";
import { isPending } from "../db/dispatch-receipts";
import { accounts, events, scanMarks } from "../db/schema";
import { type ShardScope, shardIndexes, shardScope } from "../db/shards";
import type { CounterSink } from "../lib/counter-names";
import { RECOVERY_BOUND_SECONDS } from "../dispatch/recovery-bound";
import { idFloor } from "../lib/ids";

const MARK = "pending_events";
/** The mark stays this far behind now, so an event made by a Worker whose clock runs behind is still counted. */
const SKEW_MS = 10 * 60_000;

/** Pending events: how many, the oldest one's age, and how many are older than RECOVERY_BOUND_SECONDS. */
export interface PendingEvents {
  count: number;
  oldest_age_seconds: number;
  over_bound: number;
}

interface Row {
  n: number;
  oldest_id: string | null;
  oldest_at: number | null;
  over: number | null;
  mark: string | null;
}

/**
 * The one read: pending events from the mark on (created before `cutoff`
 * counted apart), and the mark itself. Exported so a test can check its plan.
 */
export function pendingQuery(cutoff: number, accountIds: string[]) {
  const mark = sql`coalesce((SELECT ${scanMarks.value} FROM ${scanMarks} WHERE ${scanMarks.name} = ${MARK}), 'evt_')`;
  // The shard's accounts (from the control database, as one JSON parameter) are the outer loop:
  // one range of the events key per account, never a table scan.
  return sql`
    SELECT count(${events.id}) AS n, min(${events.id}) AS oldest_id, min(${events.createdAt}) AS oldest_at,
           sum(${events.createdAt} < ${cutoff}) AS over, ${mark} AS mark
    FROM json_each(${JSON.stringify(accountIds)}) AS a CROSS JOIN ${events} ON ${events.accountId} = a.value
    WHERE ${events.id} >= ${mark} AND ${isPending("evt_")}`;
}

/** Pending events over every shard: counts added, the oldest of all. */
export async function pendingEvents(env: Env, meter: CounterSink, now = Date.now()): Promise<PendingEvents> {
  const shards = shardIndexes(env).map((i) => shardScope(env, i, meter));
  const ids = (await shards[0]!.control.select({ id: accounts.id }).from(accounts)).map((a) => a.id);
  const each = await Promise.all(shards.map((s) => pendingOnShard(s, ids.filter(s.holds), now)));
  return {
    count: each.reduce((n, p) => n + p.count, 0),
    oldest_age_seconds: Math.max(0, ...each.map((p) => p.oldest_age_seconds)),
    over_bound: each.reduce((n, p) => n + p.over_bound, 0),
  };
}

/** Counts one shard's pending events in one D1 read (plus one write when its mark moves on). */
async function pendingOnShard(scope: ShardScope, accountIds: string[], now: number): Promise<PendingEvents> {
  const db = scope.records;
  const row = (await db.get<Row>(pendingQuery(now - RECOVERY_BOUND_SECONDS * 1000, accountIds)))!;
  const ceiling = idFloor("evt", now - SKEW_MS);
  const next = row.oldest_id !== null && row.oldest_id < ceiling ? row.oldest_id : ceiling;
  if (next > (row.mark ?? "evt_")) {
    // Only forward: every mark written was true when written and stays true, so the largest wins.
    await db
      .insert(scanMarks)
      .values({ name: MARK, value: next })
      .onConflictDoUpdate({ target: scanMarks.name, set: { value: next }, setWhere: sql`${scanMarks.value} < excluded.value` });
  }
  return {
    count: row.n,
    oldest_age_seconds: row.oldest_at === null ? 0 : Math.max(0, (now - row.oldest_at) / 1000),
    over_bound: row.over ?? 0,
  };
}
