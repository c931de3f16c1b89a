/**
 * Where an account's records live: a jump consistent hash (Lamping & Veach)
 * of the account id's 64-bit FNV-1a hash. No imports on purpose: the reshard
 * script (scripts/move-accounts.mjs) compiles this file alone, so the
 * placement it moves rows by is the service's own, never a copy.
 */

/** FNV-1a, 64 bits, of a string's UTF-16 code units (ids are ASCII). */
function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(s.charCodeAt(i))) * 0x100000001b3n);
  return h;
}

/** Jump consistent hash: the bucket in [0, buckets) of a 64-bit key. */
function jumpHash(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = BigInt.asUintN(64, key * 2862933555777941757n + 1n);
    j = Math.floor(((b + 1) * 2 ** 31) / (Number(key >> 33n) + 1));
  }
  return b;
}

/** The shard (0-based) that holds `accountId`'s records when there are `count` shards. */
export function shardOf(accountId: string, count: number): number {
  return count === 1 ? 0 : jumpHash(fnv1a64(accountId), count);
}
