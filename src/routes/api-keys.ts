/** An account's API keys: create (shown once), list (prefix and last four only), revoke. Needs the `admin` scope. */
import { forgetKeys } from "../middleware/key-cache";
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, isNull } from "drizzle-orm";
import { apiKeys } from "../db/schema";
import { ALL_SCOPES, generateApiKey } from "../lib/api-keys";
import { ApiError, notFound } from "../lib/errors";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, idParam } from "../schemas/common";
import { jsonContent } from "./lookups";
import { createRouter } from "./router";
import { iso } from "./wire";

/** Keys an account may have at once. */
const MAX_KEYS = 50;

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    last4: z.string(),
    scopes: z.array(z.string()),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("ApiKey");

const createKey = createRoute({
  method: "post",
  path: "/",
  summary: "Create an API key with the given scopes; the key is shown only in this answer",
  request: {
    body: {
      required: true,
      ...jsonContent(
        z
          .strictObject({
            name: z.string().trim().min(1).max(100),
            scopes: z.array(z.enum(ALL_SCOPES)).min(1).max(ALL_SCOPES.length),
            mode: z.enum(["live", "test"]).default("live"),
          })
          .openapi({ example: { name: "producer", scopes: ["events:write"] } }),
      ),
    },
  },
  responses: { 201: { description: "The key", ...jsonContent(ApiKeySchema.extend({ key: z.string() })) }, ...errorResponses(400, 401, 403, 409, 415, 422) },
});

const listKeys = createRoute({
  method: "get",
  path: "/",
  summary: "List the account's API keys (never the keys themselves)",
  responses: { 200: { description: "Keys", ...jsonContent(z.object({ data: z.array(ApiKeySchema) })) }, ...errorResponses(401, 403) },
});

const revokeKey = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Revoke an API key; it stops working on the next request",
  request: { params: idParam("key", "key_01HV6Z8K2M3N4P5Q6R7S8T9V0W") },
  responses: { 200: { description: "Revoked", ...jsonContent(ApiKeySchema) }, ...errorResponses(401, 403, 404, 422) },
});

const wire = (k: typeof apiKeys.$inferSelect) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  last4: k.last4,
  scopes: k.scopes,
  created_at: iso(k.createdAt),
  revoked_at: k.revokedAt == null ? null : iso(k.revokedAt),
});

export const apiKeysRouter = createRouter();
apiKeysRouter.use("*", apiKeyAuth());

apiKeysRouter.openapi(createKey, async (c) => {
  const { name, scopes, mode } = c.req.valid("json");
  const accountId = c.var.principal.accountId;
  const active = await c.var.db.$count(apiKeys, and(eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt)));
  if (active >= MAX_KEYS) throw new ApiError("conflict", `An account has at most ${MAX_KEYS} active keys`);
  const key = await generateApiKey(mode);
  const row = { id: c.var.newId("key"), accountId, name, keyHash: key.hash, prefix: key.prefix, last4: key.last4, scopes: [...new Set(scopes)], createdAt: Date.now(), revokedAt: null };
  await c.var.db.insert(apiKeys).values(row);
  return c.json({ ...wire(row), key: key.key }, 201);
});

apiKeysRouter.openapi(listKeys, async (c) => {
  const rows = await c.var.db.select().from(apiKeys).where(eq(apiKeys.accountId, c.var.principal.accountId)).orderBy(asc(apiKeys.id));
  return c.json({ data: rows.map(wire) }, 200);
});

apiKeysRouter.openapi(revokeKey, async (c) => {
  const { id } = c.req.valid("param");
  const row = await c.var.db.select().from(apiKeys).where(and(eq(apiKeys.id, id), eq(apiKeys.accountId, c.var.principal.accountId))).get();
  if (!row) throw notFound("API key");
  const revokedAt = row.revokedAt ?? Date.now();
  await c.var.db.update(apiKeys).set({ revokedAt }).where(eq(apiKeys.id, id));
  forgetKeys();
  return c.json(wire({ ...row, revokedAt }), 200);
});
