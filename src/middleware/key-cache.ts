/**
 * Ingest's per-isolate cache of API key rows. A `POST /v1/events` whose key
 * was seen here within KEY_CACHE_SECONDS skips the control database: its
 * events go to the account's shard in one round trip, and ingest never
 * queues behind configuration reads. The price is a stated revocation delay:
 * a revoked key, or a key of an account just disabled, can still send events
 * for up to KEY_CACHE_SECONDS through an isolate that cached it (an isolate
 * that revokes or disables forgets at once). Only ingest reads it; every
 * other route checks the key on each request.
 *
 * Module state on purpose: the cache is a fact about the isolate, shared by
 * the requests it serves, like the usage counters (metrics/flush.ts).
 */
/** A key's row, as auth.ts `judgeKey` judges it. */
export interface KeyRow {
  keyId: string;
  accountId: string;
  scopes: string[];
  /** The account's status. */
  status: string;
}

/** At most this many keys are kept; the oldest entry goes first. */
const MAX_KEYS = 10_000;

const cached = new Map<string, { row: KeyRow; at: number }>();

/** How long a key row is trusted (KEY_CACHE_SECONDS; 0 turns the cache off). */
const ttlMs = (env: Env) => Math.max(0, Number(env.KEY_CACHE_SECONDS ?? 10)) * 1000;

/** The cached row of a key (by hash), if it is fresh. */
export function cachedKey(env: Env, keyHash: string, now = Date.now()): KeyRow | undefined {
  const entry = cached.get(keyHash);
  if (!entry) return undefined;
  if (now - entry.at < ttlMs(env)) return entry.row;
  cached.delete(keyHash);
  return undefined;
}

/** Remembers a key row found in the control database (only rows found: an unknown key is never cached). */
export function rememberKey(env: Env, keyHash: string, row: KeyRow, now = Date.now()): void {
  if (ttlMs(env) === 0) return;
  if (cached.size >= MAX_KEYS) cached.delete(cached.keys().next().value!);
  cached.set(keyHash, { row, at: now });
}

/** Forgets every cached key of this isolate: called wherever a key is revoked or an account's status changes. */
export function forgetKeys(): void {
  cached.clear();
}
