/** Schemas shared by every resource: the error body, pagination, ids. */
import { z } from "@hono/zod-openapi";

/** The one error body of the API. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation_failed" }),
      message: z.string(),
      details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
      request_id: z.string().openapi({ example: "req_01HV6Z8K2M3N4P5Q6R7S8T9V0W" }),
    }),
  })
  .openapi("Error");

/** Standard error responses for a route, by status. */
export const errorResponses = (...codes: Array<400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429>) =>
  Object.fromEntries(
    codes.map((code) => [code, { description: "Error", content: { "application/json": { schema: ErrorBody } } }]),
  ) as Record<number, { description: string; content: { "application/json": { schema: typeof ErrorBody } } }>;

/** `limit` and `cursor` of every list. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50).openapi({ example: 50 }),
  cursor: z
    .string()
    .regex(/^[a-z]+_(?:[0-9A-Z]{26}|[0-9A-Z]{52})$/, "must be a cursor returned by a previous page")
    .optional(),
});

/** A path parameter holding an id with the given prefix. */
export const idParam = (prefix: string, example: string) =>
  z.object({
    id: z
      .string()
      .regex(new RegExp(`^${prefix}_[0-9A-Za-z]{1,64}$`), `must be a ${prefix}_ id`)
      .openapi({ param: { name: "id", in: "path" }, example }),
  });

/** JSON object (string keys). */
export const JsonObject = z.record(z.string(), z.unknown());
