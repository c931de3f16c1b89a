/** Loading the caller's own resources: another account's id is a 404, never a 403. */
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { webhooks } from "../db/schema";
import { notFound } from "../lib/errors";
import type { AppEnv } from "../types";

/** One of the caller's webhooks, or a 404. */
export async function ownWebhook(c: Context<AppEnv>, id: string) {
  const row = await c.var.db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, id), eq(webhooks.accountId, c.var.principal.accountId)))
    .get();
  if (!row) throw notFound("Webhook");
  return row;
}

/** The endpoint's Durable Object. */
export const endpointObject = (env: Env, webhookId: string) => env.ENDPOINT.get(env.ENDPOINT.idFromName(webhookId));

/** `{content: {"application/json": {schema}}}`, the shape every route body and response uses. */
export const jsonContent = <T>(schema: T) => ({ content: { "application/json": { schema } } });
