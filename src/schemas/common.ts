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

/** Answers that tell the client when to come back: 429 (its key's rate limit) and 503 (storage busy or overloaded). */
const RETRY_LATER: Record<number, string> = {
  429: "Too many requests for this API key (code `rate_limited`); retry after `Retry-After` seconds",
  503: "Storage is busy or overloaded for a moment (code `unavailable`); retry after `Retry-After` seconds. Writes are all or nothing: retried with the same idempotency key, an event is stored once",
};

type ErrorResponse = {
  description: string;
  headers?: Record<string, { description: string; schema: { type: "integer"; minimum: number } }>;
  content: { "application/json": { schema: typeof ErrorBody } };
};

/** Standard error responses for a route, by status; 429 and 503 also carry `Retry-After`. */
export const errorResponses = (...codes: Array<400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503>) =>
  Object.fromEntries(
    codes.map((code): [number, ErrorResponse] => [
      code,
      {
        description: RETRY_LATER[code] ?? "Error",
        ...(RETRY_LATER[code] ? { headers: { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer", minimum: 1 } } } } : {}),
        content: { "application/json": { schema: ErrorBody } },
      },
    ]),
  ) as Record<number, ErrorResponse>;

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
