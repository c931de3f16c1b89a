/**
 * Ingest in one D1 round trip. The common request (built-in event types, and
 * no idempotency key to look up first, or a single event) needs the key
 * checked and the events written; both go in one batch: the key's row is
 * read, and each insert writes its event only if the same statement finds
 * the key valid, unrevoked, of an active account and allowed to send events.
 * The row read then decides the answer exactly as the auth middleware would
 * (middleware/auth.ts `judgeKey`), and nothing was written when it refuses.
 * Anything else (a custom type with a schema, an idempotency key that was
 * already used) goes the ordinary way.
 */
import type { Context } from "hono";
import { packText } from "../db/packed-text";
import type { EventRow } from "../db/schema";
import { eventAttributes } from "../dispatch/match";
import type { EventInput } from "../lib/event-input";
import { BUILTIN_EVENT_TYPES, OPERATIONAL_EVENT_TYPES } from "../lib/event-types";
import { judgeKey, type KeyRow } from "../middleware/auth";
import { meterD1 } from "../metrics/usage-meter";
import type { AppEnv } from "../types";

/** An event's row as stored, but for its account (known once the key is). */
export function eventRow(c: Context<AppEnv>, item: EventInput, now: number): Omit<EventRow, "accountId"> {
  const { projectId, severity } = eventAttributes(item);
  return {
    id: c.var.newId("evt"),
    type: item.type,
    createdAt: now,
    data: JSON.stringify(item.data),
    metadata: JSON.stringify(item.metadata ?? {}),
    projectId,
    severity,
    status: "pending",
    idempotencyKey: item.idempotency_key ?? null,
  };
}

/** Whether these items can take the one-round-trip path. */
export function fitsOneTrip(items: EventInput[]): boolean {
  const builtIn = items.every((i) => i.type in BUILTIN_EVENT_TYPES && !OPERATIONAL_EVENT_TYPES.has(i.type));
  // With several keyed items a partial conflict would need the slow path's bookkeeping.
  return builtIn && (items.length === 1 || items.every((i) => !i.idempotency_key));
}

/**
 * Checks the key and inserts the events in one round trip. Sets the
 * principal (or throws 401/403, having written nothing). Returns the stored
 * rows, or null when an insert met an existing idempotency key (the caller
 * then goes the ordinary way, which finds it).
 */
export async function acceptInOneTrip(c: Context<AppEnv>, items: EventInput[]): Promise<EventRow[] | null> {
  const now = Date.now();
  const rows = items.map((item) => eventRow(c, item, now));
  const d1 = meterD1(c.env.DB, c.var.meter);
  // The same rules as judgeKey: unrevoked key, active account, `events:write` or `admin`.
  const insert = d1.prepare(`
    INSERT INTO events (account_id, id, type, created_at, data, metadata, project_id, severity, status, idempotency_key)
    SELECT k.account_id, ?, ?, ?, ?, ?, ?, ?, 'pending', ?
    FROM api_keys k JOIN accounts a ON a.id = k.account_id
    WHERE k.key_hash = ? AND k.revoked_at IS NULL AND a.status = 'active'
      AND EXISTS (SELECT 1 FROM json_each(k.scopes) WHERE value IN ('events:write', 'admin'))
    ON CONFLICT DO NOTHING
    RETURNING id`);
  const lookup = d1
    .prepare(`SELECT k.id AS keyId, k.account_id AS accountId, k.scopes AS scopes, a.status AS status
      FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = ? AND k.revoked_at IS NULL`)
    .bind(c.var.keyHash);
  const [found, ...inserted] = await d1.batch([
    lookup,
    // data and metadata as the schema stores them (long values deflated: db/packed-text.ts).
    ...rows.map((r) =>
      insert.bind(r.id, r.type, r.createdAt, packText(r.data), packText(r.metadata), r.projectId, r.severity, r.idempotencyKey, c.var.keyHash),
    ),
  ]);
  const key = found!.results[0] as (Omit<KeyRow, "scopes"> & { scopes: string }) | undefined;
  const principal = judgeKey(c, key && { ...key, scopes: JSON.parse(key.scopes) as string[] });
  c.set("principal", principal);
  if (inserted.some((r) => r.results.length !== 1)) return null;
  return rows.map((r) => ({ ...r, accountId: principal.accountId }));
}
