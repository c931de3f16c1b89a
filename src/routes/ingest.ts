/**
 * Accepting events: validation (type known, data matching the type's schema),
 * idempotency keys, the outbox write and the queue announcement. Shared by
 * single and batch ingest so both behave the same way.
 */
import { and, eq, inArray, lt } from "drizzle-orm";
import type { Context } from "hono";
import { chunk } from "../db/client";
import { type EventRow, events, eventTypes } from "../db/schema";
import { announceEvents } from "../dispatch/event-announcer";
import type { FieldIssue } from "../lib/errors";
import type { EventInput } from "../lib/event-input";
import { BUILTIN_EVENT_TYPES, OPERATIONAL_EVENT_TYPES } from "../lib/event-types";
import { validateAgainstSchema } from "../lib/json-schema";
import { incomingTrace, type TraceContext } from "../lib/trace-context";
import { principalOf } from "../middleware/auth";
import { throughIngestGate } from "../middleware/ingest-gate";
import { recordsOf } from "../middleware/request-context";
import { acceptInOneTrip, eventRow, fitsOneTrip } from "./ingest-fast";
import { throwIfIssues } from "./webhook-rules";
import type { AppEnv } from "../types";

/** An idempotency key returns the first event for this long. */
export const IDEMPOTENCY_WINDOW_MS = 86_400_000;

/** Checks types and schemas of every item; throws one 422 for all of them (field prefix per item). */
async function validate(c: Context<AppEnv>, items: EventInput[], prefix: (i: number) => string) {
  const names = [...new Set(items.map((i) => i.type))].filter((t) => !(t in BUILTIN_EVENT_TYPES));
  const custom = names.length
    ? await c.var.db
        .select({ name: eventTypes.name, schema: eventTypes.schema })
        .from(eventTypes)
        .where(and(eq(eventTypes.accountId, c.var.principal.accountId), inArray(eventTypes.name, names)))
    : [];
  const schemas = new Map(custom.map((t) => [t.name, t.schema]));
  const issues: FieldIssue[] = [];
  items.forEach((item, i) => {
    const operational = OPERATIONAL_EVENT_TYPES.has(item.type);
    if (operational || (!(item.type in BUILTIN_EVENT_TYPES) && !schemas.has(item.type))) {
      issues.push({ field: `${prefix(i)}type`, message: operational ? `'${item.type}' is emitted by the service itself` : `unknown event type '${item.type}'` });
      return;
    }
    const schema = schemas.get(item.type);
    if (schema) issues.push(...validateAgainstSchema(schema, item.data).map((d) => ({ ...d, field: `${prefix(i)}${d.field}` })));
  });
  throwIfIssues(issues);
}

/** Events already accepted under these keys within the window, by key. */
async function existingByKey(c: Context<AppEnv>, keys: string[]): Promise<Map<string, EventRow>> {
  if (keys.length === 0) return new Map();
  const rows = (
    await Promise.all(
      chunk(keys).map((part) =>
        recordsOf(c)
          .select()
          .from(events)
          .where(and(eq(events.accountId, c.var.principal.accountId), inArray(events.idempotencyKey, part))),
      ),
    )
  ).flat();
  return new Map(rows.map((r) => [r.idempotencyKey!, r]));
}

/**
 * The request's W3C trace context, which every event it brings joins: the
 * producer's `traceparent` (and `tracestate`) when valid, else a new trace.
 * An invalid header is ignored, never refused, as the spec asks of a receiver.
 */
export const requestTrace = (c: Context<AppEnv>): TraceContext => incomingTrace(c.req.header("traceparent"), c.req.header("tracestate"));

/**
 * Stores and announces events, in `trace`. Returns each item's event and
 * whether it was new or a replay of an earlier one with the same idempotency key.
 */
export const acceptEvents = (c: Context<AppEnv>, items: EventInput[], prefix: (i: number) => string, trace: TraceContext) =>
  throughIngestGate(c.env, () => acceptAdmitted(c, items, prefix, trace));

async function acceptAdmitted(c: Context<AppEnv>, items: EventInput[], prefix: (i: number) => string, trace: TraceContext) {
  // The auth middleware leaves the key to ingest: checked here, in the write's round trip when it can be.
  if (!c.get("principal")) {
    if (fitsOneTrip(items)) {
      const stored = await acceptInOneTrip(c, items, trace);
      if (stored) {
        await announce(c, stored);
        return stored.map((event) => ({ event, duplicate: false }));
      }
    } else {
      c.set("principal", await principalOf(c));
    }
  }
  await validate(c, items, prefix);
  const db = recordsOf(c);
  const accountId = c.var.principal.accountId;
  const now = Date.now();
  const keys = [...new Set(items.map((i) => i.idempotency_key).filter((k): k is string => !!k))];
  const existing = await existingByKey(c, keys);
  // A key older than the window is free again: release it from the old event.
  const expired = [...existing.values()].filter((e) => e.createdAt < now - IDEMPOTENCY_WINDOW_MS);
  for (const part of chunk(expired.map((e) => e.id))) {
    await db.update(events).set({ idempotencyKey: null }).where(and(eq(events.accountId, accountId), inArray(events.id, part), lt(events.createdAt, now - IDEMPOTENCY_WINDOW_MS)));
  }
  for (const e of expired) existing.delete(e.idempotencyKey!);

  const results: Array<{ event: EventRow; duplicate: boolean }> = [];
  const fresh: EventRow[] = [];
  const claimed = new Map<string, EventRow>();
  for (const item of items) {
    const key = item.idempotency_key ?? null;
    const prior = key ? (existing.get(key) ?? claimed.get(key)) : undefined;
    if (prior) {
      results.push({ event: prior, duplicate: true });
      continue;
    }
    const row: EventRow = { ...eventRow(c, item, now, trace), accountId };
    if (key) claimed.set(key, row);
    fresh.push(row);
    results.push({ event: row, duplicate: false });
  }
  if (fresh.length === 0) return results;

  // One atomic batch; a key taken meanwhile by a concurrent request makes its insert a no-op.
  const inserts = fresh.map((row) => db.insert(events).values(row).onConflictDoNothing().returning({ id: events.id }));
  const inserted = await db.batch(inserts as [(typeof inserts)[number], ...typeof inserts]);
  const lost = fresh.filter((row, i) => inserted[i]!.length === 0);
  if (lost.length) {
    const winners = await existingByKey(c, lost.map((r) => r.idempotencyKey!));
    for (const r of results) {
      const winner = r.event.idempotencyKey ? winners.get(r.event.idempotencyKey) : undefined;
      if (winner && lost.includes(r.event)) Object.assign(r, { event: winner, duplicate: true });
    }
  }
  await announce(
    c,
    fresh.filter((row) => !lost.includes(row)),
  );
  return results;
}

/** Counts the stored events and puts their ids on the queue. */
async function announce(c: Context<AppEnv>, stored: EventRow[]) {
  c.var.meter.add("events_accepted", stored.length);
  c.executionCtx.waitUntil(announceEvents(c.env, stored.map((e) => ({ accountId: e.accountId, eventId: e.id }))));
}
