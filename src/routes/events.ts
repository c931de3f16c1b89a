/** The producer side: send (single or batch, idempotent), list, read with deliveries, replay. */
import { recordsOf } from "../middleware/request-context";
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gte, lt } from "drizzle-orm";
import { bodyLimit } from "hono/body-limit";
import type { Db } from "../db/client";
import { isDispatched, isPending, withOutboxStatus } from "../db/dispatch-receipts";
import { ofDeliveries } from "../db/attempt-packs";
import { allAttempts, type EventRow, events, webhooks } from "../db/schema";
import { eventMatchesWebhook, lazyFilterable } from "../dispatch/fan-out";
import { ApiError, notFound } from "../lib/errors";
import { deliveryId, idFloor } from "../lib/ids";
import { page } from "../lib/pagination";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, idParam, PageQuery } from "../schemas/common";
import { DeliverySchema, EventSchema, SendEventSchema } from "../schemas/event";
import { acceptEvents, requestTrace } from "./ingest";
import { endpointObject, jsonContent } from "./lookups";
import { createRouter } from "./router";
import { deliveryToWire, eventToWire } from "./wire";

/** Event bodies may be up to 256 KiB; a batch up to 100 of them in 1 MiB. */
export const MAX_EVENT_BYTES = 256 * 1024;
const MAX_BATCH_BYTES = 1024 * 1024;

const limit = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError("payload_too_large", `Request bodies here are limited to ${maxSize} bytes`);
    },
  });

/**
 * W3C trace context of the request. Documented, never refused: an invalid
 * value is ignored and a new trace started (routes/ingest.ts `requestTrace`).
 */
const TraceHeaders = z.object({
  traceparent: z.string().optional().openapi({
    description: "W3C `traceparent`: the event (every event of a batch) joins this trace; when absent or invalid, a new trace is started",
    example: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  }),
  tracestate: z.string().optional().openapi({ description: "W3C `tracestate`, kept (≤ 512 characters, ≤ 32 members) when `traceparent` is valid" }),
});

/** The trace the events' deliveries continue, on a 202. */
const traceResponseHeaders = {
  traceparent: { description: "The event's `traceparent` (the request's, or the trace started for it)", schema: { type: "string" as const } },
  tracestate: { description: "The event's `tracestate`, when it has one", schema: { type: "string" as const } },
};

const IdempotencyHeader = TraceHeaders.extend({
  "idempotency-key": z.string().min(1).max(255).optional().openapi({ description: "Same key within 24 h returns the first event" }),
});

const EventId = idParam("evt", "evt_01HV6Z8K2M3N4P5Q6R7S8T9V0W");

const sendEvent = createRoute({
  method: "post",
  path: "/",
  summary: "Send an event; it is stored before the answer and delivered to every matching webhook",
  middleware: [limit(MAX_EVENT_BYTES)] as const,
  request: { headers: IdempotencyHeader, body: { required: true, ...jsonContent(SendEventSchema) } },
  responses: {
    202: {
      description: "Accepted: stored and queued for delivery (or the earlier event with the same key)",
      headers: traceResponseHeaders,
      ...jsonContent(EventSchema),
    },
    ...errorResponses(400, 401, 413, 415, 422, 429, 503),
  },
});

const sendBatch = createRoute({
  method: "post",
  path: "/batch",
  summary: "Send up to 100 events at once; if any item is invalid, none is stored",
  middleware: [limit(MAX_BATCH_BYTES)] as const,
  request: {
    headers: TraceHeaders,
    body: {
      required: true,
      ...jsonContent(
        z
          .strictObject({ events: z.array(SendEventSchema.extend({ idempotency_key: z.string().min(1).max(255).optional() })).min(1).max(100) })
          .openapi({ example: { events: [{ type: "sample.scored", data: { sample_id: "s_1", score: 0.9 }, idempotency_key: "s_1-scored" }] } }),
      ),
    },
  },
  responses: {
    202: {
      description: "Per-item results, in order",
      headers: traceResponseHeaders,
      ...jsonContent(z.object({ data: z.array(z.object({ index: z.number(), id: z.string(), status: z.enum(["accepted", "duplicate"]) })) })),
    },
    ...errorResponses(400, 401, 413, 415, 422, 429, 503),
  },
});

const listEvents = createRoute({
  method: "get",
  path: "/",
  summary: "List events, newest first",
  request: {
    query: PageQuery.extend({
      type: z.string().max(100).optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      status: z.enum(["pending", "dispatched", "dead_lettered"]).optional(),
    }),
  },
  responses: {
    200: { description: "A page of events", ...jsonContent(z.object({ data: z.array(EventSchema), next_cursor: z.string().nullable() })) },
    ...errorResponses(401, 422),
  },
});

const getEvent = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get an event with its deliveries",
  request: { params: EventId },
  responses: { 200: { description: "The event", ...jsonContent(EventSchema.extend({ deliveries: z.array(DeliverySchema) })) }, ...errorResponses(401, 404, 422) },
});

const replayEvent = createRoute({
  method: "post",
  path: "/{id}/replay",
  summary: "Deliver an event again: to one webhook, or to every active webhook it matches",
  request: {
    params: EventId,
    body: { required: false, ...jsonContent(z.strictObject({ webhook_id: z.string().startsWith("wh_").optional() }).openapi({ example: {} })) },
  },
  responses: {
    202: { description: "Queued", ...jsonContent(z.object({ data: z.array(z.object({ webhook_id: z.string(), delivery_id: z.string() })) })) },
    ...errorResponses(401, 404, 422),
  },
});

export const eventsRouter = createRouter();
eventsRouter.use("*", apiKeyAuth());

eventsRouter.openapi(sendEvent, async (c) => {
  const input = c.req.valid("json");
  const key = c.req.valid("header")["idempotency-key"];
  const [result] = await acceptEvents(c, [{ ...input, idempotency_key: key }], () => "", requestTrace(c));
  if (result!.duplicate) c.header("Idempotent-Replayed", "true");
  // A duplicate answers with the first event as it stands now.
  const stored = result!.duplicate ? (await withOutboxStatus(recordsOf(c), result!.event.accountId, [result!.event]))[0]! : result!.event;
  const event = eventToWire(stored);
  // The trace the event's deliveries continue (a duplicate's is the first event's).
  c.header("traceparent", event.traceparent);
  if (event.tracestate) c.header("tracestate", event.tracestate);
  return c.json(event, 202);
});

eventsRouter.openapi(sendBatch, async (c) => {
  const { events: items } = c.req.valid("json");
  // One trace for the request: its header (or the trace started for it) applies to every event of the batch.
  const trace = requestTrace(c);
  const results = await acceptEvents(c, items, (i) => `events.${i}.`, trace);
  c.header("traceparent", trace.traceparent);
  if (trace.tracestate) c.header("tracestate", trace.tracestate);
  return c.json({ data: results.map((r, index) => ({ index, id: r.event.id, status: r.duplicate ? ("duplicate" as const) : ("accepted" as const) })) }, 202);
});

/** One of the caller's events (its status resolved), or a 404. */
async function ownEvent(db: Db, accountId: string, id: string) {
  const row = await db
    .select()
    .from(events)
    .where(and(eq(events.accountId, accountId), eq(events.id, id)))
    .get();
  if (!row) throw notFound("Event");
  return (await withOutboxStatus(db, accountId, [row]))[0]!;
}

/** The `?status=` filter: the outbox state, as db/dispatch-receipts.ts defines it. */
function outboxStatusIs(status: EventRow["status"]) {
  if (status === "pending") return isPending("evt_");
  if (status === "dispatched") return isDispatched("evt_");
  return eq(events.status, status);
}


eventsRouter.openapi(listEvents, async (c) => {
  const q = c.req.valid("query");
  const rows = await recordsOf(c)
    .select()
    .from(events)
    .where(
      and(
        eq(events.accountId, c.var.principal.accountId),
        q.cursor ? lt(events.id, q.cursor) : undefined,
        q.since ? gte(events.id, idFloor("evt", Date.parse(q.since))) : undefined,
        q.until ? lt(events.id, idFloor("evt", Date.parse(q.until))) : undefined,
        q.type ? eq(events.type, q.type) : undefined,
        q.status ? outboxStatusIs(q.status) : undefined,
      ),
    )
    .orderBy(desc(events.id))
    .limit(q.limit + 1);
  return c.json(page(await withOutboxStatus(recordsOf(c), c.var.principal.accountId, rows), q.limit, eventToWire, (r) => r.id), 200);
});

/** At most this many of the account's webhooks are looked at for one event's deliveries. */
const MAX_WEBHOOKS_PER_EVENT = 250;

eventsRouter.openapi(getEvent, async (c) => {
  const db = c.var.db;
  const records = recordsOf(c);
  const event = await ownEvent(records, c.var.principal.accountId, c.req.valid("param").id);
  const hooks = await db.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.accountId, event.accountId)).orderBy(asc(webhooks.id)).limit(MAX_WEBHOOKS_PER_EVENT);
  // Delivery ids are derived from (event, webhook): each lookup is a range of the attempts' key.
  const v = allAttempts;
  const lookups = hooks.map((h) =>
    records
      .select()
      .from(v)
      .where(ofDeliveries(v, h.id, [deliveryId(event.id, h.id)]))
      .orderBy(desc(v.attempt))
      .limit(1),
  );
  const found = lookups.length ? await records.batch(lookups as [(typeof lookups)[number], ...typeof lookups]) : [];
  const deliveries = found.flatMap((rows) => rows.slice(0, 1)).map(deliveryToWire);
  return c.json({ ...eventToWire(event), deliveries }, 200);
});

eventsRouter.openapi(replayEvent, async (c) => {
  const db = c.var.db;
  const records = recordsOf(c);
  const event = await ownEvent(records, c.var.principal.accountId, c.req.valid("param").id);
  const body = (await c.req.json().catch(() => ({}))) as { webhook_id?: string };
  const filterable = lazyFilterable(event);
  const targets = body.webhook_id
    ? await db.select().from(webhooks).where(and(eq(webhooks.accountId, event.accountId), eq(webhooks.id, body.webhook_id)))
    : (await db.select().from(webhooks).where(and(eq(webhooks.accountId, event.accountId), eq(webhooks.status, "active")))).filter((w) =>
        eventMatchesWebhook(w, event, filterable),
      );
  if (body.webhook_id && targets.length === 0) throw notFound("Webhook");
  const queued = targets.map((w) => ({ webhook_id: w.id, delivery_id: deliveryId(event.id, w.id) }));
  await Promise.all(queued.map((q) => endpointObject(c.env, q.webhook_id).enqueue([q.delivery_id], "manual")));
  // A dead-lettered event that is replayed has now been handed over.
  if (event.status === "dead_lettered") {
    await records.update(events).set({ status: "dispatched" }).where(and(eq(events.accountId, event.accountId), eq(events.id, event.id)));
  }
  return c.json({ data: queued }, 202);
});

