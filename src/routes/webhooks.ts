/** Webhooks (endpoints): create, list, read, and their delivery history. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { latestAttempts } from "../db/delivery-queries";
import { webhooks } from "../db/schema";
import { generateSecret } from "../delivery/sign";
import { armSweeper } from "../dispatch/outbox-sweeper";
import { ApiError, type FieldIssue, notFound } from "../lib/errors";
import { BUILTIN_EVENT_TYPES, isKnownPattern } from "../lib/event-types";
import { page } from "../lib/pagination";
import { createRouter } from "../lib/router";
import { importSecretKey, sealSecret } from "../lib/secret-box";
import { urlPolicy, urlRefusal } from "../lib/url-guard";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, idParam, PageQuery } from "../schemas/common";
import { DeliverySchema } from "../schemas/event";
import { CreatedWebhookSchema, CreateWebhookSchema, WebhookSchema } from "../schemas/webhook";
import type { AppEnv } from "../types";
import type { Context } from "hono";
import { deliveryToWire, webhookToWire } from "./wire";

const WebhookId = idParam("wh", "wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W");
const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });

/** Checks what zod cannot: the URL against the SSRF policy, and that each pattern names known types. */
function checkWebhookRules(env: Env, input: { url: string; events: string[] }) {
  const issues: FieldIssue[] = [];
  const refusal = urlRefusal(input.url, urlPolicy(env));
  if (refusal) issues.push({ field: "url", message: refusal });
  input.events.forEach((pattern, i) => {
    if (!isKnownPattern(pattern, Object.keys(BUILTIN_EVENT_TYPES))) {
      issues.push({ field: `events.${i}`, message: `unknown event type '${pattern}'` });
    }
  });
  if (issues.length) {
    throw new ApiError("validation_failed", `Invalid request: ${issues.map((d) => `${d.field} ${d.message}`).join("; ")}`, issues);
  }
}

/** Loads one of the caller's webhooks; another account's id is a 404, never a 403. */
async function ownWebhook(c: Context<AppEnv>, id: string) {
  const row = await c.var.db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, id), eq(webhooks.accountId, c.var.principal.accountId)))
    .get();
  if (!row) throw notFound("Webhook");
  return row;
}

const createWebhook = createRoute({
  method: "post",
  path: "/",
  summary: "Create a webhook (webhooks.create); the answer carries its signing secret",
  request: { body: { required: true, ...json(CreateWebhookSchema) } },
  responses: { 201: { description: "Created", ...json(CreatedWebhookSchema) }, ...errorResponses(400, 401, 415, 422) },
});

const listWebhooks = createRoute({
  method: "get",
  path: "/",
  summary: "List webhooks (webhooks.list)",
  request: { query: PageQuery },
  responses: {
    200: { description: "A page of webhooks", ...json(z.object({ data: z.array(WebhookSchema), next_cursor: z.string().nullable() })) },
    ...errorResponses(401, 422),
  },
});

const getWebhook = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a webhook",
  request: { params: WebhookId },
  responses: { 200: { description: "The webhook", ...json(WebhookSchema) }, ...errorResponses(401, 404, 422) },
});

const listDeliveries = createRoute({
  method: "get",
  path: "/{id}/deliveries",
  summary: "Delivery history of a webhook (webhooks.deliveries), oldest first",
  request: { params: WebhookId, query: PageQuery },
  responses: {
    200: { description: "A page of deliveries", ...json(z.object({ data: z.array(DeliverySchema), next_cursor: z.string().nullable() })) },
    ...errorResponses(401, 404, 422),
  },
});

export const webhooksRouter = createRouter();
webhooksRouter.use("*", apiKeyAuth());

webhooksRouter.openapi(createWebhook, async (c) => {
  const input = c.req.valid("json");
  checkWebhookRules(c.env, input);
  const secret = input.secret ?? generateSecret();
  const now = Date.now();
  const row = {
    id: c.var.newId("wh"),
    accountId: c.var.principal.accountId,
    name: input.name,
    url: input.url,
    events: input.events,
    secret: await sealSecret(await importSecretKey(c.env.ENCRYPTION_KEY), secret),
    filters: input.filters ?? null,
    retryConfig: input.retry_config ?? null,
    ordering: input.ordering,
    timeoutMs: input.timeout_ms,
    format: input.format,
    status: "active" as const,
    disabledReason: null,
    description: input.description ?? null,
    metadata: input.metadata ?? null,
    createdAt: now,
    updatedAt: now,
  };
  await c.var.db.insert(webhooks).values(row);
  // The outbox sweeper runs on its own alarm once armed; a new endpoint is the moment it starts to matter.
  c.executionCtx.waitUntil(armSweeper(c.env));
  return c.json({ ...webhookToWire(row), secret }, 201);
});

webhooksRouter.openapi(listWebhooks, async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const rows = await c.var.db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.accountId, c.var.principal.accountId), cursor ? gt(webhooks.id, cursor) : undefined))
    .orderBy(asc(webhooks.id))
    .limit(limit + 1);
  return c.json(page(rows, limit, webhookToWire), 200);
});

webhooksRouter.openapi(getWebhook, async (c) => c.json(webhookToWire(await ownWebhook(c, c.req.valid("param").id)), 200));

webhooksRouter.openapi(listDeliveries, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  const { limit, cursor } = c.req.valid("query");
  const rows = await latestAttempts(c.var.db, webhook.id, limit + 1, cursor);
  const more = rows.length > limit;
  const data = rows.slice(0, limit).map(deliveryToWire);
  return c.json({ data, next_cursor: more ? data[data.length - 1]!.id : null }, 200);
});
