/** Reading the metrics back: counters from D1, live queue state from the endpoints' objects. */
import { eq, like, notLike, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { usageCounters, webhooks } from "../db/schema";
import { DB_TAG_PREFIX, shardDb, shardIndexes } from "../db/shards";
import type { CounterSink } from "../lib/counter-names";
import { COUNTER_NAMES } from "../lib/counter-names";
import { addCounters, type Counters } from "./counters";

/** How many endpoints a scrape asks for their live state. */
export const MAX_ENDPOINTS_PER_SCRAPE = 1000;

/** Counters summed over one account, or over every account and `system` (each database's own traffic left out), from every shard. */
export async function readCounters(env: Env, meter: CounterSink, accountId?: string): Promise<Counters> {
  const where = accountId ? eq(usageCounters.accountId, accountId) : notLike(usageCounters.accountId, `${DB_TAG_PREFIX}%`);
  return sumRows(await rowsOnEveryShard(env, meter, where));
}

/** Each database's own traffic (statements and rows), by tag: `db:control`, `db:shard_0`, … */
export async function readDatabaseTraffic(env: Env, meter: CounterSink): Promise<Map<string, Counters>> {
  const rows = await rowsOnEveryShard(env, meter, like(usageCounters.accountId, `${DB_TAG_PREFIX}%`));
  const out = new Map<string, Counters>();
  for (const row of rows) out.set(row.accountId, sumRows([row], out.get(row.accountId)));
  return out;
}

async function rowsOnEveryShard(env: Env, meter: CounterSink, where: SQL) {
  return (await Promise.all(shardIndexes(env).map((i) => shardDb(env, i, meter).select().from(usageCounters).where(where)))).flat();
}

function sumRows(rows: Array<typeof usageCounters.$inferSelect>, total: Counters = {}): Counters {
  for (const row of rows) addCounters(total, Object.fromEntries(COUNTER_NAMES.map((n) => [n, Number(row[n] ?? 0)])));
  return total;
}

export interface EndpointState {
  webhook_id: string;
  backlog: number;
  in_flight: number;
  oldest_event_at: number | null;
  /** Held deliveries with no alarm that would run (re-armed by the look); never for a disabled webhook, which holds on purpose. */
  asleep: boolean;
}

/** Live backlog and in-flight count of webhooks (of one account, or all), up to the cap. */
export async function endpointStates(env: Env, db: Db, accountId?: string): Promise<EndpointState[]> {
  const hooks = await db
    .select({ id: webhooks.id, status: webhooks.status })
    .from(webhooks)
    .where(accountId ? eq(webhooks.accountId, accountId) : undefined)
    .limit(MAX_ENDPOINTS_PER_SCRAPE);
  return Promise.all(
    hooks.map(async ({ id, status }) => {
      const stats = await env.ENDPOINT.get(env.ENDPOINT.idFromName(id)).stats();
      return { webhook_id: id, ...stats, asleep: stats.asleep && status === "active" };
    }),
  );
}

/** How many endpoints were found asleep. */
export const asleepCount = (states: EndpointState[]) => states.filter((s) => s.asleep).length;

/** Age in seconds of the oldest event still waiting at any endpoint, or 0. */
export function oldestAgeSeconds(states: EndpointState[], now = Date.now()): number {
  const oldest = Math.min(...states.map((s) => s.oldest_event_at ?? Infinity));
  return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0;
}
