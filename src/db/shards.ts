/**
 * Where data lives. The control database (`DB`) holds configuration:
 * accounts, API keys, webhooks, event types, portal links. Events, delivery
 * attempts, dispatch receipts, scan marks and usage counters live on `SHARDS` shard databases
 * (`DB_SHARD_0`…); an account's on the shard its id hashes to. This module is
 * the only one that picks a database: everything else asks it for "the
 * records of account A" or "each shard's records", never for a binding.
 *
 * Placement is a jump consistent hash of the account id (Lamping & Veach):
 * no lookup on any path (ingest, the consumer and the endpoint objects know
 * the account id already), no directory to keep consistent, and raising
 * SHARDS from n to n+1 moves only 1/(n+1) of the accounts (README "Shards";
 * the function is db/shard-hash.ts, which scripts/move-accounts.mjs uses too).
 */
import type { CounterSink } from "../lib/counter-names";
import { createDb, type Db } from "./client";
import { meterD1 } from "./metered-d1";
import { shardOf } from "./shard-hash";

export { shardOf };

/** The tag rows of per-database traffic carry in `usage_counters` (left out of every total). */
export const DB_TAG_PREFIX = "db:";

/** How many shards are in use (SHARDS, default 1). */
export function shardCount(env: Env): number {
  const n = Number(env.SHARDS ?? 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SHARDS must be a whole number of at least 1, not "${env.SHARDS}"`);
  return n;
}

/** The binding of shard `index`: refused loudly when SHARDS names more than wrangler.toml binds. */
function shardBinding(env: Env, index: number): D1Database {
  const d1 = (env as unknown as Record<string, D1Database | undefined>)[`DB_SHARD_${index}`];
  if (!d1) throw new Error(`SHARDS is ${env.SHARDS} but DB_SHARD_${index} is not bound: add it to wrangler.toml`);
  return d1;
}

/** The tag each database's own traffic is counted under (see `meterD1`). */
export const shardTag = (index: number) => `${DB_TAG_PREFIX}shard_${index}`;
export const CONTROL_TAG = `${DB_TAG_PREFIX}control`;

/** Shard `index`'s D1, its rows counted into `meter` (and under the shard's own tag). */
export const shardD1 = (env: Env, index: number, meter: CounterSink): D1Database => meterD1(shardBinding(env, index), meter, shardTag(index));

/** Shard `index` as a drizzle client. */
export const shardDb = (env: Env, index: number, meter: CounterSink): Db => createDb(shardD1(env, index, meter));

/** The shard index of an account, under this deployment's SHARDS. */
export const shardIndexOf = (env: Env, accountId: string): number => shardOf(accountId, shardCount(env));

/** The database that holds `accountId`'s events and delivery records. */
export const recordsDb = (env: Env, accountId: string, meter: CounterSink): Db => shardDb(env, shardIndexOf(env, accountId), meter);

/** Every shard's index, 0 upwards. */
export const shardIndexes = (env: Env): number[] => [...Array(shardCount(env)).keys()];

/** The control database (configuration), counted under its own tag too. */
export const controlD1 = (env: Env, meter: CounterSink): D1Database => meterD1(env.DB, meter, CONTROL_TAG);

/** The control database as a drizzle client. */
export const controlDb = (env: Env, meter: CounterSink): Db => createDb(controlD1(env, meter));

/**
 * Groups account-keyed items by the shard that holds them: shard index →
 * the items, in their order.
 */
export function byShard<T>(env: Env, items: T[], accountOf: (item: T) => string): Map<number, T[]> {
  const count = shardCount(env);
  const out = new Map<number, T[]>();
  for (const item of items) {
    const i = shardOf(accountOf(item), count);
    out.set(i, [...(out.get(i) ?? []), item]);
  }
  return out;
}

/** What a per-shard worker (sweeper, retention, recovery) works with. */
export interface ShardScope {
  index: number;
  /** Configuration: accounts and webhooks (whose records may be on any shard: filter with `holds`). */
  control: Db;
  /** This shard's events and delivery records. */
  records: Db;
  /** Whether this shard holds the account's records. */
  holds(accountId: string): boolean;
}

/** Shard `index` as its own sweeper sees it. */
export function shardScope(env: Env, index: number, meter: CounterSink): ShardScope {
  const count = shardCount(env);
  return { index, control: controlDb(env, meter), records: shardDb(env, index, meter), holds: (accountId) => shardOf(accountId, count) === index };
}
