/** Accounts, created by the operator (ADMIN_TOKEN); each comes with its first API key. */
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../lib/router";
import { accounts, apiKeys } from "../db/schema";
import { ALL_SCOPES, generateApiKey } from "../lib/api-keys";
import { adminAuth } from "../middleware/auth";
import { errorResponses } from "../schemas/common";
import { iso } from "./wire";

const CreateAccount = z.strictObject({
  name: z.string().trim().min(1).max(200),
  mode: z.enum(["live", "test"]).default("live"),
});

const createAccount = createRoute({
  method: "post",
  path: "/",
  summary: "Create an account and its first API key (operator token)",
  middleware: [adminAuth()] as const,
  request: { body: { required: true, content: { "application/json": { schema: CreateAccount } } } },
  responses: {
    201: {
      description: "The account; `api_key` is shown only here",
      content: {
        "application/json": {
          schema: z.object({ id: z.string(), name: z.string(), created_at: z.string(), api_key: z.string() }),
        },
      },
    },
    ...errorResponses(401, 422),
  },
});

export const accountsRouter = createRouter().openapi(createAccount, async (c) => {
  const { name, mode } = c.req.valid("json");
  const now = Date.now();
  const account = { id: c.var.newId("acct"), name, status: "active" as const, createdAt: now };
  const key = await generateApiKey(mode);
  await c.var.db.batch([
    c.var.db.insert(accounts).values(account),
    c.var.db.insert(apiKeys).values({
      id: c.var.newId("key"),
      accountId: account.id,
      keyHash: key.hash,
      prefix: key.prefix,
      last4: key.last4,
      scopes: ALL_SCOPES,
      createdAt: now,
    }),
  ]);
  return c.json({ id: account.id, name, created_at: iso(now), api_key: key.key }, 201);
});
