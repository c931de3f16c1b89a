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
import { enforceRateLimit } from "./rate-limit";
import { allows, requiredScope } from "./scopes";
import type { AppEnv } from "../types";

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
 * Requires a valid, unrevoked API key of an active account with the scope the
 * call needs (middleware/scopes.ts), within its rate limit; sets `c.var.principal`.
 * Nothing is cached: a revoked key or a disabled account stops working on the next request.
 */
export const apiKeyAuth = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const key = bearer(c.req.header("Authorization"));
    if (!key) throw new ApiError("unauthorized", "Missing API key: send 'Authorization: Bearer <api key>'");
    // Shape and checksum first: a malformed key costs no database lookup.
    if (!isWellFormedKey(key)) throw new ApiError("unauthorized", "Invalid API key");
    const row = await c.var.db
      .select({ keyId: apiKeys.id, accountId: apiKeys.accountId, scopes: apiKeys.scopes, status: accounts.status })
      .from(apiKeys)
      .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
      .where(and(eq(apiKeys.keyHash, await sha256Hex(key)), isNull(apiKeys.revokedAt)))
      .get();
    if (!row || row.status !== "active") throw new ApiError("unauthorized", "Invalid API key");
    const needed = requiredScope(c.req.method, new URL(c.req.url).pathname);
    if (!allows(row.scopes, needed)) throw new ApiError("forbidden", `This API key lacks the '${needed}' scope`);
    c.set("principal", { accountId: row.accountId, keyId: row.keyId, scopes: row.scopes });
    await enforceRateLimit(c.env, row.keyId);
    await next();
  });

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
