/**
 * Tools on one webhook: a synchronous test send (webhooks.test), secret
 * rotation, checking filters against an event, previewing the body.
 */
import { recordsOf } from "../middleware/request-context";
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { recordAttempt } from "../db/delivery-queries";
import { events, webhooks } from "../db/schema";
import { isoSeconds } from "../delivery/envelope";
import { generateSecret } from "../delivery/sign";
import type { AttemptRequest } from "../dispatch/attempt";
import { deliverOnce } from "../dispatch/deliver";
import { eventAttributes, patternMatches } from "../dispatch/match";
import { explainFilters } from "../dispatch/payload-filter";
import { latencyCounters } from "../metrics/counters";
import { deliveryId } from "../lib/ids";
import { importSecretKey, openSecret, sealSecret } from "../lib/secret-box";
import { startTrace } from "../lib/trace-context";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, JsonObject } from "../schemas/common";
import { endpointObject, jsonContent, ownWebhook } from "./lookups";
import { createRouter } from "./router";
import { PreviewSchema, renderPreview } from "./templates";
import { knownEventTypes, throwIfIssues } from "./webhook-rules";
import { WebhookId } from "./webhooks";
import type { Context } from "hono";
import type { AppEnv } from "../types";

/** Longest grace period of a rotated secret: 7 days. */
const MAX_GRACE_SECONDS = 604_800;
/** Rotated secrets kept signing at once, at most. */
const MAX_PREVIOUS_SECRETS = 5;

const SampleEvent = z.strictObject({
  event_type: z.string().min(1).max(100),
  payload: JsonObject.default({}),
});

const testWebhook = createRoute({
  method: "post",
  path: "/{id}/test",
  summary: "Send a test event now and answer with the endpoint's response (webhooks.test); works on a disabled webhook",
  request: {
    params: WebhookId,
    body: {
      required: true,
      ...jsonContent(
        SampleEvent.openapi({
          example: { event_type: "evaluation.completed", payload: { evaluation_id: "eval_test", summary: { triage_accuracy: 0.85, safety_score: 0.92 } } },
        }),
      ),
    },
  },
  responses: {
    200: {
      description: "What the endpoint answered",
      ...jsonContent(
        z.object({
          status: z.enum(["success", "failed"]),
          response_code: z.number().nullable(),
          response_body: z.string().nullable(),
          duration_ms: z.number(),
          error: z.string().nullable(),
          delivery_id: z.string(),
          event_id: z.string(),
        }),
      ),
    },
    ...errorResponses(400, 401, 404, 415, 422),
  },
});

const rotateSecret = createRoute({
  method: "post",
  path: "/{id}/rotate_secret",
  summary: "Replace the signing secret; the old one keeps signing (webhook-signature) for the grace period",
  request: {
    params: WebhookId,
    body: {
      required: false,
      ...jsonContent(
        z
          .strictObject({
            grace_period_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(86_400),
            secret: z.string().min(16).max(256).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces").optional(),
          })
          .openapi({ example: { grace_period_seconds: 3600 } }),
      ),
    },
  },
  responses: {
    200: {
      description: "The new secret (shown only here) and until when the previous one still signs",
      ...jsonContent(z.object({ id: z.string(), secret: z.string(), previous_secret_expires_at: z.string().nullable() })),
    },
    ...errorResponses(400, 401, 404, 415, 422),
  },
});

const getSecret = createRoute({
  method: "get",
  path: "/{id}/secret",
  summary: "The current signing secret (needs webhooks:write: a read-only key cannot sign as you)",
  request: { params: WebhookId },
  responses: {
    200: {
      description: "The secret that signs deliveries now (previous ones still signing are not shown)",
      ...jsonContent(z.object({ id: z.string(), secret: z.string() })),
    },
    ...errorResponses(401, 404),
  },
});

const filterTest = createRoute({
  method: "post",
  path: "/{id}/filter_test",
  summary: "Would this event reach the webhook? If not, why not",
  request: {
    params: WebhookId,
    body: {
      required: true,
      ...jsonContent(
        z
          .strictObject({
            event: z.strictObject({
              type: z.string().min(1).max(100),
              data: JsonObject.default({}),
              metadata: JsonObject.optional(),
              project_id: z.string().optional(),
              severity: z.string().optional(),
            }),
          })
          .openapi({ example: { event: { type: "evaluation.completed", data: { project_id: "patient-triage", summary: { triage_accuracy: 0.87 } } } } }),
      ),
    },
  },
  responses: {
    200: {
      description: "The verdict and the reasons",
      ...jsonContent(
        z.object({
          matches: z.boolean(),
          reasons: z.array(z.object({ filter: z.string(), passed: z.boolean(), detail: z.string() })),
        }),
      ),
    },
    ...errorResponses(400, 401, 404, 415, 422),
  },
});

const preview = createRoute({
  method: "post",
  path: "/{id}/preview",
  summary: "The exact body this webhook would be sent for an event, without sending it",
  request: {
    params: WebhookId,
    body: { required: true, ...jsonContent(SampleEvent.openapi({ example: { event_type: "evaluation.completed", payload: { name: "Daily Evaluation" } } })) },
  },
  responses: {
    200: {
      description: "The body",
      ...jsonContent(PreviewSchema),
    },
    ...errorResponses(400, 401, 404, 415, 422),
  },
});

/** Refuses an event type the account does not know. */
async function requireKnownType(c: Context<AppEnv>, type: string, field: string) {
  if (!(await knownEventTypes(c.var.db, c.var.principal.accountId)).includes(type)) {
    throwIfIssues([{ field, message: `unknown event type '${type}'` }]);
  }
}

export const webhookToolsRouter = createRouter();
webhookToolsRouter.use("*", apiKeyAuth());

webhookToolsRouter.openapi(testWebhook, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  const { event_type: type, payload } = c.req.valid("json");
  await requireKnownType(c, type, "event_type");
  const { projectId, severity } = eventAttributes({ data: payload });
  // A real event, marked as a test and not fanned out: it goes to this webhook only, outside its queue.
  const event = {
    id: c.var.newId("evt"),
    accountId: webhook.accountId,
    type,
    createdAt: Date.now(),
    data: JSON.stringify(payload),
    metadata: JSON.stringify({ test: true }),
    projectId,
    severity,
    status: "dispatched" as const,
    idempotencyKey: null,
    // A test send is a trace of its own, whatever the request carried.
    traceParent: startTrace().traceparent,
    traceState: null,
  };
  const records = recordsOf(c);
  await records.insert(events).values(event);
  // Only an active account gets here (its key worked), so the webhook is sendable whatever its own status.
  const context = { deliveryId: deliveryId(event.id, webhook.id), webhook: { ...webhook, accountStatus: "active" as const }, event, latest: null };
  // A listen webhook's test goes over its CLI's socket, held by the endpoint's object.
  const object = endpointObject(c.env, webhook.id);
  const transport = webhook.transport === "listen" ? { send: (r: AttemptRequest) => object.listenSend(r) } : undefined;
  const result = await deliverOnce(c.env, await importSecretKey(c.env.ENCRYPTION_KEY), context, 1, transport);
  await recordAttempt(records, {
    context,
    attemptId: c.var.newId("att"),
    attempt: 1,
    trigger: "test",
    result,
    status: result.ok ? "succeeded" : "failed",
    nextAttemptAt: null,
  });
  c.var.meter.addAll({ events_accepted: 1, attempts: 1, [result.ok ? "deliveries_succeeded" : "deliveries_failed"]: 1, ...latencyCounters(result.durationMs) });
  return c.json(
    {
      status: result.ok ? ("success" as const) : ("failed" as const),
      response_code: result.responseCode,
      response_body: result.responseBody,
      duration_ms: result.durationMs,
      error: result.error,
      delivery_id: context.deliveryId,
      event_id: event.id,
    },
    200,
  );
});

webhookToolsRouter.openapi(rotateSecret, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  const body = (await c.req.json().catch(() => ({}))) as { grace_period_seconds?: number; secret?: string };
  const grace = body.grace_period_seconds ?? 86_400;
  const now = Date.now();
  const key = await importSecretKey(c.env.ENCRYPTION_KEY);
  const secret = body.secret ?? generateSecret();
  const expiresAt = now + grace * 1000;
  const kept = (webhook.previousSecrets ?? []).filter((p) => p.expires_at > now);
  const previousSecrets = grace > 0 ? [{ secret: webhook.secret, expires_at: expiresAt }, ...kept].slice(0, MAX_PREVIOUS_SECRETS) : kept;
  await c.var.db
    .update(webhooks)
    .set({ secret: await sealSecret(key, secret), previousSecrets, updatedAt: now })
    .where(eq(webhooks.id, webhook.id));
  await endpointObject(c.env, webhook.id).invalidate();
  return c.json({ id: webhook.id, secret, previous_secret_expires_at: grace > 0 ? new Date(expiresAt).toISOString() : null }, 200);
});

webhookToolsRouter.openapi(getSecret, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  c.header("Cache-Control", "no-store");
  return c.json({ id: webhook.id, secret: await openSecret(await importSecretKey(c.env.ENCRYPTION_KEY), webhook.secret) }, 200);
});

webhookToolsRouter.openapi(filterTest, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  const { event } = c.req.valid("json");
  const envelope = { id: "evt_test", type: event.type, created_at: isoSeconds(Date.now()), data: event.data, metadata: event.metadata ?? {} };
  const typeMatches = webhook.events.some((p) => patternMatches(p, event.type));
  const typeReason = {
    filter: "events",
    passed: typeMatches,
    detail: typeMatches ? `${event.type} is subscribed` : `${event.type} is not among ${webhook.events.join(", ")}`,
  };
  const explained = explainFilters(webhook.filters ?? {}, { ...envelope, project_id: event.project_id, severity: event.severity });
  return c.json({ matches: typeMatches && explained.matches, reasons: [typeReason, ...explained.reasons] }, 200);
});

webhookToolsRouter.openapi(preview, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  const { event_type: type, payload } = c.req.valid("json");
  const envelope = { id: "evt_preview", type, created_at: isoSeconds(Date.now()), data: payload, metadata: {} };
  return c.json(await renderPreview(webhook.format, webhook.templates ?? undefined, envelope), 200);
});

