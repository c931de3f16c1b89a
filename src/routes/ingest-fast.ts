/**
 * Ingest in one D1 round trip. The common request (built-in event types, and
 * no idempotency key to look up first, or a single event) needs the key
 * checked and the events written. The key's row comes from the per-isolate
 * cache when it is fresh there (middleware/key-cache.ts: a stated revocation
 * delay of KEY_CACHE_SECONDS), and is judged exactly as the auth middleware
 * would (middleware/auth.ts `judgeKey`); then the events go to the account's
 * shard in one statement or batch. Anything else (a custom type with a
 * schema, an idempotency key that was already used) goes the ordinary way.
 */
import type { Context } from "hono";
import { packText } from "../db/packed-text";
import type { EventRow } from "../db/schema";
import { eventAttributes } from "../dispatch/match";
import type { EventInput } from "../lib/event-input";
import { BUILTIN_EVENT_TYPES, OPERATIONAL_EVENT_TYPES } from "../lib/event-types";
import type { TraceContext } from "../lib/trace-context";
import { cachedKeyRow, judgeKey } from "../middleware/auth";
import { recordsD1Of } from "../middleware/request-context";
import { timed } from "../middleware/server-timing";
import type { AppEnv } from "../types";

/** An event's row as stored, but for its account (known once the key is), in the request's trace. */
export function eventRow(c: Context<AppEnv>, item: EventInput, now: number, trace: TraceContext): Omit<EventRow, "accountId"> {
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
    traceParent: trace.traceparent,
    traceState: trace.tracestate,
  };
}

/** Whether these items can take the one-round-trip path. */
export function fitsOneTrip(items: EventInput[]): boolean {
  const builtIn = items.every((i) => i.type in BUILTIN_EVENT_TYPES && !OPERATIONAL_EVENT_TYPES.has(i.type));
  // With several keyed items a partial conflict would need the slow path's bookkeeping.
  return builtIn && (items.length === 1 || items.every((i) => !i.idempotency_key));
}

/**
 * Checks the key (from the per-isolate cache when fresh: middleware/key-cache.ts)
 * and inserts the events into the account's shard in one round trip. Sets
 * the principal (or throws 401/403, having written nothing). Returns the
 * stored rows, or null when an insert met an existing idempotency key (the
 * caller then goes the ordinary way, which finds it).
 */
export async function acceptInOneTrip(c: Context<AppEnv>, items: EventInput[], trace: TraceContext): Promise<EventRow[] | null> {
  const principal = judgeKey(c, await timed(c, "key", () => cachedKeyRow(c)));
  c.set("principal", principal);
  const now = Date.now();
  const rows = items.map((item) => ({ ...eventRow(c, item, now, trace), accountId: principal.accountId }));
  const d1 = recordsD1Of(c);
  const insert = d1.prepare(`
    INSERT INTO events (account_id, id, type, created_at, data, metadata, project_id, severity, status, idempotency_key, trace_parent, trace_state)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
    ON CONFLICT DO NOTHING
    RETURNING id`);
  // data and metadata as the schema stores them (long values deflated: db/packed-text.ts).
  const bound = rows.map((r) =>
    insert.bind(
      r.accountId,
      r.id,
      r.type,
      r.createdAt,
      packText(r.data),
      packText(r.metadata),
      r.projectId,
      r.severity,
      r.idempotencyKey,
      r.traceParent,
      r.traceState,
    ),
  );
  const inserted = await timed(c, "d1", () => d1.batch(bound));
  if (inserted.some((r) => r.results.length !== 1)) return null;
  return rows;
}
