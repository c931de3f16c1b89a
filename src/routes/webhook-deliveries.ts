/** A webhook's delivery history, its stats, and retrying its failures (webhooks.deliveries, webhooks.retry_failed). */
import { recordsOf } from "../middleware/request-context";
import { createRoute, z } from "@hono/zod-openapi";
import { attemptsSince, latestAttempts } from "../db/delivery-queries";
import { validationFailed } from "../lib/errors";
import { page } from "../lib/pagination";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, PageQuery } from "../schemas/common";
import { DeliverySchema } from "../schemas/event";
import { endpointObject, jsonContent, ownWebhook } from "./lookups";
import { createRouter } from "./router";
import { WebhookId } from "./webhooks";
import { deliveryToWire, iso } from "./wire";

const isoTime = z.iso.datetime({ offset: true }).openapi({ example: "2024-03-15T00:00:00Z" });
const WIRE_STATUS = { pending: "retrying", succeeded: "succeeded", failed: "failed", cancelled: "cancelled" } as const;

const listDeliveries = createRoute({
  method: "get",
  path: "/{id}/deliveries",
  summary: "Delivery history of a webhook (webhooks.deliveries), in event order; times are event times",
  request: {
    params: WebhookId,
    query: PageQuery.extend({
      status: z.enum(["pending", "succeeded", "failed", "cancelled"]).optional(),
      event_type: z.string().max(100).optional(),
      since: isoTime.optional(),
      until: isoTime.optional(),
    }),
  },
  responses: {
    200: { description: "A page of deliveries", ...jsonContent(z.object({ data: z.array(DeliverySchema), next_cursor: z.string().nullable() })) },
    ...errorResponses(401, 404, 422),
  },
});

const WINDOWS = { "1h": 3_600_000, "6h": 21_600_000, "24h": 86_400_000, "7d": 604_800_000, "30d": 2_592_000_000 } as const;

const stats = createRoute({
  method: "get",
  path: "/{id}/stats",
  summary: "Delivery stats of a webhook over a window (events made within it)",
  request: { params: WebhookId, query: z.object({ window: z.enum(Object.keys(WINDOWS) as [keyof typeof WINDOWS]).default("24h") }) },
  responses: {
    200: {
      description: "Stats",
      ...jsonContent(
        z.object({
          window: z.string(),
          deliveries: z.object({ pending: z.number(), succeeded: z.number(), failed: z.number(), cancelled: z.number(), total: z.number() }),
          attempts: z.number(),
          success_rate: z.number().nullable(),
          latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
          last_success_at: z.string().nullable(),
          last_failure_at: z.string().nullable(),
        }),
      ),
    },
    ...errorResponses(401, 404, 422),
  },
});

/** At most this many failed deliveries are re-queued per call; `has_more` says to call again. */
const RETRY_FAILED_LIMIT = 1000;

const retryFailed = createRoute({
  method: "post",
  path: "/{id}/retry_failed",
  summary: "Retry every failed delivery of events made in [since, until), in order (webhooks.retry_failed)",
  request: {
    params: WebhookId,
    body: {
      required: true,
      ...jsonContent(z.strictObject({ since: isoTime, until: isoTime.optional() }).openapi({ example: { since: "2024-03-15T00:00:00Z" } })),
    },
  },
  responses: {
    202: { description: "Queued", ...jsonContent(z.object({ queued: z.number(), has_more: z.boolean() })) },
    ...errorResponses(400, 401, 404, 415, 422),
  },
});

/** The value at quantile `q` of sorted numbers. */
const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : null);

export const webhookDeliveriesRouter = createRouter();
webhookDeliveriesRouter.use("*", apiKeyAuth());

webhookDeliveriesRouter.openapi(listDeliveries, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  const q = c.req.valid("query");
  const rows = await latestAttempts(recordsOf(c), webhook.id, q.limit + 1, {
    cursor: q.cursor,
    status: q.status ? WIRE_STATUS[q.status] : undefined,
    eventType: q.event_type,
    sinceMs: q.since ? Date.parse(q.since) : undefined,
    untilMs: q.until ? Date.parse(q.until) : undefined,
  });
  return c.json(page(rows, q.limit, deliveryToWire, (r) => r.deliveryId), 200);
});

webhookDeliveriesRouter.openapi(stats, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  const { window } = c.req.valid("query");
  const rows = await attemptsSince(recordsOf(c), webhook.id, Date.now() - WINDOWS[window]);
  const latest = new Map(rows.map((r) => [r.deliveryId, r]));
  const counts = { pending: 0, succeeded: 0, failed: 0, cancelled: 0, total: latest.size };
  for (const r of latest.values()) counts[r.status === "retrying" ? "pending" : r.status]++;
  const durations = rows.map((r) => r.durationMs).sort((a, b) => a - b);
  const lastAt = (ok: boolean) => {
    const times = rows.filter((r) => (r.status === "succeeded") === ok && r.status !== "cancelled").map((r) => r.startedAt);
    return times.length ? iso(Math.max(...times)) : null;
  };
  const finished = counts.succeeded + counts.failed;
  return c.json(
    {
      window,
      deliveries: counts,
      attempts: rows.length,
      success_rate: finished ? counts.succeeded / finished : null,
      latency_ms: { p50: quantile(durations, 0.5), p95: quantile(durations, 0.95) },
      last_success_at: lastAt(true),
      last_failure_at: lastAt(false),
    },
    200,
  );
});

webhookDeliveriesRouter.openapi(retryFailed, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  const { since, until } = c.req.valid("json");
  const sinceMs = Date.parse(since);
  const untilMs = until ? Date.parse(until) : undefined;
  if (untilMs !== undefined && untilMs <= sinceMs) {
    throw validationFailed([{ field: "until", message: "must be after since" }]);
  }
  const failed = await latestAttempts(recordsOf(c), webhook.id, RETRY_FAILED_LIMIT + 1, { status: "failed", sinceMs, untilMs });
  const ids = failed.slice(0, RETRY_FAILED_LIMIT).map((r) => r.deliveryId);
  // The object's queue is keyed by delivery id: calling again while these are in flight adds nothing.
  const endpoint = endpointObject(c.env, webhook.id);
  for (let i = 0; i < ids.length; i += 100) await endpoint.enqueue(ids.slice(i, i + 100), "manual");
  return c.json({ queued: ids.length, has_more: failed.length > RETRY_FAILED_LIMIT }, 202);
});
