/**
 * Accounts, managed by the operator (ADMIN_TOKEN): create (with a first API
 * key), list, disable and enable. A disabled account's keys stop working and
 * its webhooks send nothing until it is enabled again.
 */
import { forgetKeys } from "../middleware/key-cache";
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq, gt } from "drizzle-orm";
import type { Context } from "hono";
import { accounts, apiKeys, webhooks } from "../db/schema";
import { ALL_SCOPES, generateApiKey } from "../lib/api-keys";
import { notFound } from "../lib/errors";
import { page } from "../lib/pagination";
import { adminAuth } from "../middleware/auth";
import { errorResponses, idParam, PageQuery } from "../schemas/common";
import type { AppEnv } from "../types";
import { endpointObject, jsonContent } from "./lookups";
import { createRouter } from "./router";
import { iso } from "./wire";

const AccountSchema = z.object({ id: z.string(), name: z.string(), status: z.enum(["active", "disabled"]), created_at: z.string() }).openapi("Account");
const AccountId = idParam("acct", "acct_01HV6Z8K2M3N4P5Q6R7S8T9V0W");

const CreateAccount = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    mode: z.enum(["live", "test"]).default("live"),
  })
  .openapi({ example: { name: "Acme Health", mode: "test" } });

const createAccount = createRoute({
  method: "post",
  path: "/",
  summary: "Create an account and its first API key, with every scope (operator token)",
  request: { body: { required: true, ...jsonContent(CreateAccount) } },
  responses: {
    201: { description: "The account; `api_key` is shown only here", ...jsonContent(AccountSchema.extend({ api_key: z.string() })) },
    ...errorResponses(401, 422),
  },
});

const listAccounts = createRoute({
  method: "get",
  path: "/",
  summary: "List accounts (operator token)",
  request: { query: PageQuery },
  responses: { 200: { description: "A page of accounts", ...jsonContent(z.object({ data: z.array(AccountSchema), next_cursor: z.string().nullable() })) }, ...errorResponses(401, 422) },
});

const setStatus = (action: "disable" | "enable") =>
  createRoute({
    method: "post",
    path: `/{id}/${action}`,
    summary: action === "disable" ? "Disable an account: its keys stop working, its webhooks send nothing (operator token)" : "Enable an account again (operator token)",
    request: { params: AccountId },
    responses: { 200: { description: "The account", ...jsonContent(AccountSchema) }, ...errorResponses(401, 404, 422) },
  });

const wire = (a: typeof accounts.$inferSelect) => ({ id: a.id, name: a.name, status: a.status, created_at: iso(a.createdAt) });

export const accountsRouter = createRouter();
accountsRouter.use("*", adminAuth());

accountsRouter.openapi(createAccount, async (c) => {
  const { name, mode } = c.req.valid("json");
  const now = Date.now();
  const account = { id: c.var.newId("acct"), name, status: "active" as const, createdAt: now };
  const key = await generateApiKey(mode);
  await c.var.db.batch([
    c.var.db.insert(accounts).values(account),
    c.var.db.insert(apiKeys).values({
      id: c.var.newId("key"),
      accountId: account.id,
      name: "default",
      keyHash: key.hash,
      prefix: key.prefix,
      last4: key.last4,
      scopes: [...ALL_SCOPES],
      createdAt: now,
    }),
  ]);
  return c.json({ ...wire(account), api_key: key.key }, 201);
});

accountsRouter.openapi(listAccounts, async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const rows = await c.var.db.select().from(accounts).where(cursor ? gt(accounts.id, cursor) : undefined).orderBy(asc(accounts.id)).limit(limit + 1);
  return c.json(page(rows, limit, wire, (r) => r.id), 200);
});

async function changeStatus(c: Context<AppEnv>, id: string, status: "active" | "disabled") {
  const account = await c.var.db.select().from(accounts).where(eq(accounts.id, id)).get();
  if (!account) throw notFound("Account");
  await c.var.db.update(accounts).set({ status }).where(eq(accounts.id, id));
  forgetKeys();
  // The endpoints' objects cache their configuration (account status included): refresh them.
  const hooks = await c.var.db.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.accountId, id));
  await Promise.all(hooks.map((h) => (status === "active" ? endpointObject(c.env, h.id).resume() : endpointObject(c.env, h.id).invalidate())));
  return c.json(wire({ ...account, status }), 200);
}

accountsRouter.openapi(setStatus("disable"), (c) => changeStatus(c, c.req.valid("param").id, "disabled"));
accountsRouter.openapi(setStatus("enable"), (c) => changeStatus(c, c.req.valid("param").id, "active"));
