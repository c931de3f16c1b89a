/** The event catalogue: the built-in types and the account's own, optionally with a JSON schema for `data`. */
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { eventTypes } from "../db/schema";
import { ApiError } from "../lib/errors";
import { BUILTIN_EVENT_TYPES, isEventTypeName, OPERATIONAL_EVENT_TYPES } from "../lib/event-types";
import { checkSchema } from "../lib/json-schema";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, JsonObject } from "../schemas/common";
import { jsonContent } from "./lookups";
import { createRouter } from "./router";
import { customEventType, throwIfIssues } from "./webhook-rules";
import { iso } from "./wire";

const EventTypeSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    builtin: z.boolean(),
    operational: z.boolean(),
    schema: JsonObject.nullable(),
    created_at: z.string().nullable(),
  })
  .openapi("EventType");

/** At most this many custom types per account. */
const MAX_CUSTOM_TYPES = 200;

const listTypes = createRoute({
  method: "get",
  path: "/",
  summary: "The event types this account can use: the seed's eight, the operational ones, and its own",
  responses: { 200: { description: "Every type", ...jsonContent(z.object({ data: z.array(EventTypeSchema) })) }, ...errorResponses(401) },
});

const createType = createRoute({
  method: "post",
  path: "/",
  summary: "Register a custom event type; with a schema, `data` is validated against it at ingest",
  request: {
    body: {
      required: true,
      ...jsonContent(
        z
          .strictObject({ name: z.string().min(3).max(100), description: z.string().min(1).max(500), schema: JsonObject.optional() })
          .openapi({
            example: {
              name: "dataset.refreshed",
              description: "A dataset was refreshed",
              schema: { type: "object", required: ["dataset_id"], properties: { dataset_id: { type: "string" } } },
            },
          }),
      ),
    },
  },
  responses: { 201: { description: "Created", ...jsonContent(EventTypeSchema) }, ...errorResponses(400, 401, 409, 415, 422) },
});

export const eventTypesRouter = createRouter();
eventTypesRouter.use("*", apiKeyAuth());

eventTypesRouter.openapi(listTypes, async (c) => {
  const custom = await c.var.db.select().from(eventTypes).where(eq(eventTypes.accountId, c.var.principal.accountId)).orderBy(asc(eventTypes.name));
  const builtin = Object.entries(BUILTIN_EVENT_TYPES).map(([name, description]) => ({
    name,
    description,
    builtin: true,
    operational: OPERATIONAL_EVENT_TYPES.has(name),
    schema: null,
    created_at: null,
  }));
  const own = custom.map((t) => ({ name: t.name, description: t.description, builtin: false, operational: false, schema: t.schema ?? null, created_at: iso(t.createdAt) }));
  return c.json({ data: [...builtin, ...own] }, 200);
});

eventTypesRouter.openapi(createType, async (c) => {
  const { name, description, schema } = c.req.valid("json");
  const accountId = c.var.principal.accountId;
  throwIfIssues([
    ...(isEventTypeName(name) ? [] : [{ field: "name", message: "must be lower-case words joined by dots, like 'dataset.refreshed'" }]),
    ...(schema ? checkSchema(schema) : []),
  ]);
  if (name in BUILTIN_EVENT_TYPES || (await customEventType(c.var.db, accountId, name))) {
    throw new ApiError("conflict", `Event type '${name}' already exists`);
  }
  const count = await c.var.db.$count(eventTypes, eq(eventTypes.accountId, accountId));
  if (count >= MAX_CUSTOM_TYPES) throw new ApiError("conflict", `An account has at most ${MAX_CUSTOM_TYPES} custom event types`);
  const row = { accountId, name, id: c.var.newId("et"), description, schema: schema ?? null, createdAt: Date.now() };
  await c.var.db.insert(eventTypes).values(row);
  return c.json({ name, description, builtin: false, operational: false, schema: row.schema, created_at: iso(row.createdAt) }, 201);
});
