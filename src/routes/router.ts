/**
 * The router factory every resource uses, so validation failures and optional bodies all behave alike.
 * It lives with the routes, not in lib: it is built on the app's request variables (types.ts) and, for
 * a call whose key is still unchecked, asks the auth middleware to judge the key (a floor lib may not import).
 */
import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { ApiError, type FieldIssue, validationFailed } from "../lib/errors";
import { principalOf } from "../middleware/auth";
import type { AppEnv } from "../types";

/** zod issues → `details` entries with dotted field paths. */
export function zodDetails(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): FieldIssue[] {
  return issues.map((i) => ({ field: i.path.map(String).join(".") || "(body)", message: i.message }));
}

/** A body of nothing but JSON's whitespace holds no value: it is no body. */
const BLANK = /^[ \t\r\n]*$/;
/** A JSON media type, as the route validators recognise one (parameters such as `charset` allowed). */
const JSON_TYPE = /^application\/([a-z-.]+\+)?json/i;

/** Whether a route may be called without a body: a write whose body is optional, or that declares none. */
const takesNoBodyOrOptional = (route: RouteConfig) =>
  route.method !== "get" && route.method !== "head" && route.request?.body?.required !== true;

/**
 * On a route whose body is optional: an empty (or whitespace-only) body is no
 * body, whatever its `Content-Type`, and a non-empty one declared JSON must
 * parse (400 `bad_request` otherwise).
 *
 * Without this, `Content-Type: application/json` with an empty body is a 400:
 * the validator of an optional JSON body runs whenever the header says JSON,
 * and `JSON.parse("")` fails. Many clients send that header on every request.
 * The request is handed on without its body and body headers, so the body's
 * validator records `{}`, exactly as for a call that sent nothing.
 */
export const emptyBodyIsNoBody = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const raw = c.req.raw;
    const type = c.req.header("content-type");
    if (raw.body === null && type === undefined) return next();
    const text = raw.body === null ? "" : await c.req.text();
    if (BLANK.test(text)) {
      const headers = new Headers(raw.headers);
      for (const name of ["content-type", "content-length", "transfer-encoding"]) headers.delete(name);
      c.req.raw = new Request(raw.url, { method: raw.method, headers });
      c.req.bodyCache = {};
    } else if (JSON_TYPE.test(type ?? "")) {
      // Routes that declare no body never parse it: a malformed one is refused here, not silently ignored.
      try {
        JSON.parse(text);
      } catch {
        throw new ApiError("bad_request", "Malformed JSON in request body");
      }
    }
    await next();
  });

/**
 * Creates a router whose validation failures become 422s in the standard shape,
 * and whose optional-body routes take an empty body as none ({@link emptyBodyIsNoBody}).
 */
export const createRouter = () => {
  const router = new OpenAPIHono<AppEnv>({
    defaultHook: async (result, c) => {
      if (!result.success) {
        // A call whose handler checks the key (ingest) has not been judged yet: an unauthorised
        // caller gets its 401/403, not a description of what its body got wrong.
        if (!c.get("principal") && c.get("keyHash")) c.set("principal", await principalOf(c));
        throw validationFailed(zodDetails(result.error.issues));
      }
    },
  });
  const register = router.openapi;
  // Runs before the route's own middleware and its validators (after the router's `use`, so after authentication).
  const wrapped = (route: RouteConfig, ...rest: unknown[]) => {
    const withBodyRule = takesNoBodyOrOptional(route) ? { ...route, middleware: [emptyBodyIsNoBody(), ...[route.middleware ?? []].flat()] } : route;
    return (register as (route: RouteConfig, ...rest: unknown[]) => unknown)(withBodyRule, ...rest);
  };
  router.openapi = wrapped as typeof register;
  return router;
};
