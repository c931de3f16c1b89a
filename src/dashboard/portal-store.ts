/**
 * Portal links in the database: creation (with the link's own scoped API key),
 * one-time consumption of the token, the check every portal request makes,
 * and revocation. The token is stored only as SHA-256; the key only sealed.
 */
import { forgetKeys } from "../middleware/key-cache";
import { and, eq, isNull, lte, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { apiKeys, portalLinks } from "../db/schema";
import { generateApiKey, type Scope } from "../lib/api-keys";
import { randomBytes, sha256Hex, toBase64 } from "../lib/encoding";
import { ApiError } from "../lib/errors";
import type { IdPrefix } from "../lib/ids";
import { importSecretKey, openSecret, sealSecret } from "../lib/secret-box";
import type { AppEnv } from "../types";

export type PortalLinkRow = typeof portalLinks.$inferSelect;

/** Active keys an account may have at once (as routes/api-keys.ts): a link's key counts. */
const MAX_ACTIVE_KEYS = 50;
/** Expired links whose keys are revoked per creation: keeps the clean-up bounded. */
const CLEANUP_BATCH = 100;

/** What a portal session may do through the API: read-only is `webhooks:read` alone; never `admin`. */
export function portalScopes(creatorScopes: readonly string[], readOnly: boolean): Scope[] {
  if (readOnly) return ["webhooks:read"];
  const all: Scope[] = ["webhooks:read", "webhooks:write", "events:write"];
  return creatorScopes.includes("admin") ? all : all.filter((s) => creatorScopes.includes(s));
}

/** A URL-safe token of 32 random bytes. */
const newToken = () => `rpl_${toBase64(randomBytes(32)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;

interface NewLink {
  accountId: string;
  creatorScopes: readonly string[];
  webhookIds: string[] | null;
  readOnly: boolean;
  expiresIn: number;
}

/** Stores a new link and its key; returns the row and the token (shown once). */
export async function createPortalLink(c: Context<AppEnv>, l: NewLink): Promise<{ row: PortalLinkRow; token: string }> {
  const db = c.var.db;
  const now = Date.now();
  await revokeExpiredKeys(db, l.accountId, now);
  const active = await db.$count(apiKeys, and(eq(apiKeys.accountId, l.accountId), isNull(apiKeys.revokedAt)));
  if (active >= MAX_ACTIVE_KEYS) throw new ApiError("conflict", `An account has at most ${MAX_ACTIVE_KEYS} active keys, portal links included`);
  // Link ids share the k-sortable id format; "pl" is this module's own prefix.
  const id = c.var.newId("pl" as IdPrefix);
  const key = await generateApiKey("live");
  const token = newToken();
  const keyRow = {
    id: c.var.newId("key"),
    accountId: l.accountId,
    name: `portal link ${id}`,
    keyHash: key.hash,
    prefix: key.prefix,
    last4: key.last4,
    scopes: portalScopes(l.creatorScopes, l.readOnly),
    createdAt: now,
    revokedAt: null,
  };
  const row: PortalLinkRow = {
    id,
    accountId: l.accountId,
    tokenHash: await sha256Hex(token),
    keyId: keyRow.id,
    sealedKey: await sealSecret(await importSecretKey(c.env.ENCRYPTION_KEY), key.key),
    webhookIds: l.webhookIds,
    readOnly: l.readOnly,
    createdAt: now,
    expiresAt: now + l.expiresIn * 1000,
    consumedAt: null,
    revokedAt: null,
  };
  await db.batch([db.insert(apiKeys).values(keyRow), db.insert(portalLinks).values(row)]);
  return { row, token };
}

/** Revokes the keys of the account's expired links (a bounded batch), so they do not pile up. */
async function revokeExpiredKeys(db: Db, accountId: string, now: number) {
  const expired = await db
    .select({ keyId: portalLinks.keyId })
    .from(portalLinks)
    .innerJoin(apiKeys, eq(apiKeys.id, portalLinks.keyId))
    .where(and(eq(portalLinks.accountId, accountId), lte(portalLinks.expiresAt, now), isNull(apiKeys.revokedAt)))
    .limit(CLEANUP_BATCH);
  for (const { keyId } of expired) await db.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, keyId));
  if (expired.length) forgetKeys();
}

/**
 * Consumes a token: one conditional UPDATE, so of two opens racing exactly one
 * wins. Returns the link, or why not: unknown, used, expired or revoked.
 */
export async function consumePortalToken(db: Db, token: string): Promise<PortalLinkRow | "invalid"> {
  if (!/^rpl_[A-Za-z0-9_-]{43}$/.test(token)) return "invalid";
  const now = Date.now();
  const claimed = await db
    .update(portalLinks)
    .set({ consumedAt: now })
    .where(and(eq(portalLinks.tokenHash, await sha256Hex(token)), isNull(portalLinks.consumedAt), isNull(portalLinks.revokedAt), sql`${portalLinks.expiresAt} > ${now}`))
    .returning();
  return claimed[0] ?? "invalid";
}

/** The live link behind a portal session with its key, or null once it is revoked or expired. */
export async function openPortalSession(db: Db, env: Env, linkId: string): Promise<{ link: PortalLinkRow; apiKey: string } | null> {
  const link = await db.select().from(portalLinks).where(eq(portalLinks.id, linkId)).get();
  if (!link || link.revokedAt != null || link.consumedAt == null || link.expiresAt <= Date.now()) return null;
  return { link, apiKey: await openSecret(await importSecretKey(env.ENCRYPTION_KEY), link.sealedKey) };
}

/** Revokes one of the account's links and its key; null when it is not theirs. */
export async function revokePortalLink(db: Db, accountId: string, id: string): Promise<PortalLinkRow | null> {
  const link = await db
    .select()
    .from(portalLinks)
    .where(and(eq(portalLinks.id, id), eq(portalLinks.accountId, accountId)))
    .get();
  if (!link) return null;
  const revokedAt = link.revokedAt ?? Date.now();
  await db.batch([
    db.update(portalLinks).set({ revokedAt }).where(eq(portalLinks.id, id)),
    db.update(apiKeys).set({ revokedAt }).where(and(eq(apiKeys.id, link.keyId), isNull(apiKeys.revokedAt))),
  ]);
  forgetKeys();
  return { ...link, revokedAt };
}
