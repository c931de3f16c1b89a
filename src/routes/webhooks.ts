/** Webhooks (endpoints): create, list, read, change, disable, enable, delete. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { webhooks } from "../db/schema";
import { generateSecret } from "../delivery/sign";
import { armSweeper } from "../dispatch/outbox-sweeper";
import { page } from "../lib/pagination";
import { importSecretKey, sealSecret } from "../lib/secret-box";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, idParam, PageQuery } from "../schemas/common";
import { CreatedWebhookSchema, CreateWebhookSchema, UpdateWebhookSchema, WebhookSchema } from "../schemas/webhook";
import { endpointObject, jsonContent, ownWebhook } from "./lookups";
import { createRouter } from "./router";
import { checkWebhookRules } from "./webhook-rules";
import { webhookToWire } from "./wire";

export const WebhookId = idParam("wh", "wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W");

const createWebhook = createRoute({
  method: "post",
  path: "/",
  summary: "Create a webhook (webhooks.create); the answer carries its signing secret",
  request: { body: { required: true, ...jsonContent(CreateWebhookSchema) } },
  responses: { 201: { description: "Created", ...jsonContent(CreatedWebhookSchema) }, ...errorResponses(400, 401, 415, 422) },
});

const listWebhooks = createRoute({
  method: "get",
  path: "/",
  summary: "List webhooks (webhooks.list), oldest first; `transport` lists only that kind (rubric listen finds its own with `listen`)",
  request: { query: PageQuery.extend({ transport: z.enum(["http", "listen"]).optional() }) },
  responses: {
    200: { description: "A page of webhooks", ...jsonContent(z.object({ data: z.array(WebhookSchema), next_cursor: z.string().nullable() })) },
    ...errorResponses(401, 422),
  },
});

const getWebhook = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a webhook",
  request: { params: WebhookId },
  responses: { 200: { description: "The webhook", ...jsonContent(WebhookSchema) }, ...errorResponses(401, 404, 422) },
});

const updateWebhook = createRoute({
  method: "patch",
  path: "/{id}",
  summary: "Change any field of a webhook; takes effect from the next attempt",
  request: { params: WebhookId, body: { required: true, ...jsonContent(UpdateWebhookSchema) } },
  responses: { 200: { description: "The changed webhook", ...jsonContent(WebhookSchema) }, ...errorResponses(400, 401, 404, 415, 422) },
});

const deleteWebhook = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Delete a webhook (webhooks.delete); deliveries still waiting are cancelled and recorded as such",
  request: { params: WebhookId },
  responses: {
    200: { description: "Deleted", ...jsonContent(z.object({ id: z.string(), deleted: z.literal(true), cancelled_deliveries: z.number() })) },
    ...errorResponses(401, 404, 422),
  },
});

const statusChange = (action: "disable" | "enable") =>
  createRoute({
    method: "post",
    path: `/{id}/${action}`,
    summary:
      action === "disable"
        ? "Disable a webhook (webhooks.disable): it gets no new events and sends nothing; what it holds waits"
        : "Enable a webhook: it gets new events again and sends what it held",
    request: {
      params: WebhookId,
      body: {
        required: false,
        ...jsonContent(z.strictObject({ reason: z.string().max(500).optional() }).openapi({ example: { reason: "maintenance window" } })),
      },
    },
    responses: { 200: { description: "The webhook", ...jsonContent(WebhookSchema) }, ...errorResponses(401, 404, 422) },
  });

export const webhooksRouter = createRouter();
webhooksRouter.use("*", apiKeyAuth());

webhooksRouter.openapi(createWebhook, async (c) => {
  const input = c.req.valid("json");
  const shape = {
    url: input.url,
    transport: input.transport,
    events: input.events,
    filters: input.filters ?? null,
    format: input.format,
    templates: input.templates ?? null,
    headers: input.headers ?? null,
  };
  await checkWebhookRules(c.env, c.var.db, c.var.principal.accountId, shape);
  const secret = input.secret ?? generateSecret();
  const now = Date.now();
  const row = {
    ...shape,
    id: c.var.newId("wh"),
    accountId: c.var.principal.accountId,
    name: input.name,
    secret: await sealSecret(await importSecretKey(c.env.ENCRYPTION_KEY), secret),
    previousSecrets: null,
    retryConfig: input.retry_config ?? null,
    ordering: input.ordering,
    maxInFlight: input.max_in_flight,
    rateLimitPerSecond: input.rate_limit_per_second ?? null,
    timeoutMs: input.timeout_ms,
    status: "active" as const,
    disabledReason: null,
    description: input.description ?? null,
    metadata: input.metadata ?? null,
    createdAt: now,
    updatedAt: now,
  };
  await c.var.db.insert(webhooks).values(row);
  // A listen webhook nobody attaches to expires like one whose listener left.
  if (row.transport === "listen") await endpointObject(c.env, row.id).awaitListener(row.id);
  // The outbox sweeper runs on its own alarm once armed; a new endpoint is the moment it starts to matter.
  c.executionCtx.waitUntil(armSweeper(c.env));
  return c.json({ ...webhookToWire(row), secret }, 201);
});

webhooksRouter.openapi(listWebhooks, async (c) => {
  const { limit, cursor, transport } = c.req.valid("query");
  const rows = await c.var.db
    .select()
    .from(webhooks)
    .where(
      and(
        eq(webhooks.accountId, c.var.principal.accountId),
        cursor ? gt(webhooks.id, cursor) : undefined,
        transport ? eq(webhooks.transport, transport) : undefined,
      ),
    )
    .orderBy(asc(webhooks.id))
    .limit(limit + 1);
  return c.json(page(rows, limit, webhookToWire, (r) => r.id), 200);
});

webhooksRouter.openapi(getWebhook, async (c) => c.json(webhookToWire(await ownWebhook(c, c.req.valid("param").id)), 200));

webhooksRouter.openapi(updateWebhook, async (c) => {
  const current = await ownWebhook(c, c.req.valid("param").id);
  const input = c.req.valid("json");
  const pick = <K extends keyof typeof input, T>(key: K, fallback: T) => (input[key] === undefined ? fallback : input[key]);
  const next = {
    name: pick("name", current.name)!,
    url: pick("url", current.url)!,
    events: pick("events", current.events)!,
    filters: pick("filters", current.filters),
    retryConfig: pick("retry_config", current.retryConfig),
    ordering: pick("ordering", current.ordering)!,
    maxInFlight: pick("max_in_flight", current.maxInFlight)!,
    rateLimitPerSecond: pick("rate_limit_per_second", current.rateLimitPerSecond),
    timeoutMs: pick("timeout_ms", current.timeoutMs)!,
    format: pick("format", current.format)!,
    templates: pick("templates", current.templates),
    headers: pick("headers", current.headers),
    description: pick("description", current.description),
    metadata: pick("metadata", current.metadata),
    updatedAt: Date.now(),
  };
  await checkWebhookRules(c.env, c.var.db, current.accountId, { ...next, transport: current.transport });
  await c.var.db.update(webhooks).set(next).where(eq(webhooks.id, current.id));
  // The endpoint's object caches the configuration: the change applies from its next attempt.
  await endpointObject(c.env, current.id).invalidate();
  return c.json(webhookToWire({ ...current, ...next }), 200);
});

webhooksRouter.openapi(deleteWebhook, async (c) => {
  const current = await ownWebhook(c, c.req.valid("param").id);
  // Cancel first: the object records each cancellation, which needs the webhook row.
  const cancelled = await endpointObject(c.env, current.id).cancelAll("webhook deleted");
  await c.var.db.delete(webhooks).where(eq(webhooks.id, current.id));
  return c.json({ id: current.id, deleted: true as const, cancelled_deliveries: cancelled }, 200);
});

webhooksRouter.openapi(statusChange("disable"), async (c) => {
  const current = await ownWebhook(c, c.req.valid("param").id);
  const body = (await c.req.json().catch(() => ({}))) as { reason?: string };
  const next = { status: "disabled" as const, disabledReason: body.reason ?? "disabled by API", updatedAt: Date.now() };
  await c.var.db.update(webhooks).set(next).where(eq(webhooks.id, current.id));
  await endpointObject(c.env, current.id).invalidate();
  return c.json(webhookToWire({ ...current, ...next }), 200);
});

webhooksRouter.openapi(statusChange("enable"), async (c) => {
  const current = await ownWebhook(c, c.req.valid("param").id);
  const next = { status: "active" as const, disabledReason: null, updatedAt: Date.now() };
  await c.var.db.update(webhooks).set(next).where(eq(webhooks.id, current.id));
  // Resume what the object held while the webhook was disabled.
  await endpointObject(c.env, current.id).resume();
  if (current.transport === "listen") await endpointObject(c.env, current.id).awaitListener(current.id);
  return c.json(webhookToWire({ ...current, ...next }), 200);
});
