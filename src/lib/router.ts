/** The router factory every resource uses, so validation failures all look alike. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { principalOf } from "../middleware/auth";
import type { AppEnv } from "../types";
import { type FieldIssue, validationFailed } from "./errors";

/** zod issues → `details` entries with dotted field paths. */
export function zodDetails(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): FieldIssue[] {
  return issues.map((i) => ({ field: i.path.map(String).join(".") || "(body)", message: i.message }));
}

/** Creates a router whose validation failures become 422s in the standard shape. */
export const createRouter = () =>
  new OpenAPIHono<AppEnv>({
    defaultHook: async (result, c) => {
      if (!result.success) {
        // A call whose handler checks the key (ingest) has not been judged yet: an unauthorised
        // caller gets its 401/403, not a description of what its body got wrong.
        if (!c.get("principal") && c.get("keyHash")) c.set("principal", await principalOf(c));
        throw validationFailed(zodDetails(result.error.issues));
      }
    },
  });

