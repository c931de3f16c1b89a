/** The router factory every resource uses, so validation failures all look alike. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../types";
import { type FieldIssue, validationFailed } from "./errors";

/** zod issues → `details` entries with dotted field paths. */
export function zodDetails(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): FieldIssue[] {
  return issues.map((i) => ({ field: i.path.map(String).join(".") || "(body)", message: i.message }));
}

/** Creates a router whose validation failures become 422s in the standard shape. */
export const createRouter = () =>
  new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const details = zodDetails(result.error.issues);
        throw validationFailed(details);
      }
    },
  });

