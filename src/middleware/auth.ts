/**
 * Authentication: API keys for `/v1`, the operator token for account
 * management. Keys are looked up by their SHA-256 hash only.
 */
import { and, eq, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { accounts, apiKeys } from "../db/schema";
import { sha256Hex, utf8 } from "../lib/encoding";
import { isWellFormedKey } from "../lib/api-keys";
import { ApiError } from "../lib/errors";
import { cachedKey, type KeyRow, rememberKey } from "./key-cache";
import { enforceRateLimit } from "./rate-limit";
import { allows, requiredScope } from "./scopes";
import type { Context } from "hono";
import type { AppEnv, Principal } from "../types";

function bearer(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match ? match[1]! : null;
}

/** Compares two strings in time that does not depend on where they differ. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  // Hash both first so the comparison is over equal lengths and leaks nothing about length.
  const [ha, hb] = await Promise.all([crypto.subtle.digest("SHA-256", utf8(a)), crypto.subtle.digest("SHA-256", utf8(b))]);
  return crypto.subtle.timingSafeEqual(ha, hb) && a.length === b.length;
}

/**
 * Calls whose handler checks the key itself (ingest: routes/ingest-fast.ts,
 * from the per-isolate key cache when fresh), with exactly the rules of
 * {@link principalOf}.
 */
const CHECKED_BY_HANDLER = /^\/v1\/events(\/batch)?$/;

/**
 * Requires a valid, unrevoked API key of an active account with the scope the
 * call needs (middleware/scopes.ts), within its rate limit; sets `c.var.principal`
 * (ingest sets it itself). The rate limit is keyed by the key's hash, so it
 * applies before any lookup. Nothing is cached here: a revoked key or a
 * disabled account stops working on the next request (ingest's cache has a
 * stated delay: middleware/key-cache.ts).
 */
export const apiKeyAuth = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const key = bearer(c.req.header("Authorization"));
    if (!key) throw new ApiError("unauthorized", "Missing API key: send 'Authorization: Bearer <api key>'");
    // Shape and checksum first: a malformed key costs no database lookup.
    if (!isWellFormedKey(key)) throw new ApiError("unauthorized", "Invalid API key");
    c.set("keyHash", await sha256Hex(key));
    await enforceRateLimit(c.env, c.var.keyHash);
    const path = new URL(c.req.url).pathname;
    if (!(c.req.method === "POST" && CHECKED_BY_HANDLER.test(path))) c.set("principal", await principalOf(c));
    await next();
  });

export type { KeyRow } from "./key-cache";

/** The query behind the key check (by hash, unrevoked, with its account's status). */
function keyLookup(c: Context<AppEnv>) {
  return c.var.db
    .select({ keyId: apiKeys.id, accountId: apiKeys.accountId, scopes: apiKeys.scopes, status: accounts.status })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .where(and(eq(apiKeys.keyHash, c.var.keyHash), isNull(apiKeys.revokedAt)));
}

/** Judges a key row for this call: 401 unless found and its account active, 403 without the scope. */
export function judgeKey(c: Context<AppEnv>, row: KeyRow | undefined): Principal {
  if (!row || row.status !== "active") throw new ApiError("unauthorized", "Invalid API key");
  const needed = requiredScope(c.req.method, new URL(c.req.url).pathname);
  if (!allows(row.scopes, needed)) throw new ApiError("forbidden", `This API key lacks the '${needed}' scope`);
  return { accountId: row.accountId, keyId: row.keyId, scopes: row.scopes };
}

/** Looks the request's key up and judges it. */
export async function principalOf(c: Context<AppEnv>): Promise<Principal> {
  return judgeKey(c, await keyLookup(c).get());
}

/** The key's row, from ingest's per-isolate cache (key-cache.ts) when fresh there, else from the control database. */
export async function cachedKeyRow(c: Context<AppEnv>): Promise<KeyRow | undefined> {
  const hit = cachedKey(c.env, c.var.keyHash);
  if (hit) return hit;
  const row = await keyLookup(c).get();
  if (row) rememberKey(c.env, c.var.keyHash, row);
  return row;
}

/** Requires the operator token (the Worker secret ADMIN_TOKEN). */
export const adminAuth = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const token = bearer(c.req.header("Authorization"));
    const expected = c.env.ADMIN_TOKEN;
    if (!expected || !token || !(await constantTimeEqual(token, expected))) {
      throw new ApiError("unauthorized", "This call needs the operator token (ADMIN_TOKEN)");
    }
    await next();
  });
