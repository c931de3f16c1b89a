/**
 * `GET /v1/admin/health` (operator token): whether recovery keeps its
 * promise, readable without logs. `stalled` means the service itself owes
 * work past RECOVERY_BOUND_SECONDS: accepted events not fanned out in time,
 * or an endpoint's object found asleep (holding deliveries with no alarm that
 * would run; the look re-arms it). Endpoint backlog alone does not stall: a
 * receiver that fails and is retried on schedule is the receiver's outage.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { RECOVERY_BOUND_SECONDS } from "../dispatch/recovery-bound";
import { pendingEvents } from "../metrics/pending";
import { asleepCount, endpointStates, oldestAgeSeconds } from "../metrics/snapshot";
import { adminAuth } from "../middleware/auth";
import { errorResponses } from "../schemas/common";
import { jsonContent } from "./lookups";
import { createRouter } from "./router";
import { iso } from "./wire";

const Health = z
  .object({
    status: z.enum(["ok", "stalled"]).openapi({
      description: "`stalled` when an accepted event has waited for its fan-out longer than the bound, or an endpoint was found asleep",
    }),
    recovery_bound_seconds: z.number().int().openapi({ description: "Every accepted event reaches every webhook owed it within this long of a restart" }),
    pending_events: z.object({
      count: z.number().int().openapi({ description: "Accepted events (all accounts) not yet fanned out to their webhooks" }),
      oldest_age_seconds: z.number().openapi({ description: "Age of the oldest of them, or 0" }),
      over_bound: z.number().int().openapi({ description: "How many have been pending longer than the bound" }),
    }),
    endpoints: z.object({
      backlog: z.number().int().openapi({ description: "Deliveries waiting at endpoints (retries on schedule included; never a stall by itself)" }),
      oldest_undelivered_age_seconds: z.number().openapi({ description: "Age of the oldest event still waiting at any endpoint, or 0" }),
      asleep: z.number().int().openapi({ description: "Endpoints of active webhooks found holding deliveries with no alarm that would run (each is re-armed by this look)" }),
    }),
    checked_at: z.string().openapi({ description: "When this was measured (ISO-8601 UTC)" }),
  })
  .openapi("AdminHealth", {
    example: {
      status: "ok",
      recovery_bound_seconds: RECOVERY_BOUND_SECONDS,
      pending_events: { count: 2, oldest_age_seconds: 0.4, over_bound: 0 },
      endpoints: { backlog: 3, oldest_undelivered_age_seconds: 312.5, asleep: 0 },
      checked_at: "2024-03-15T10:30:00.000Z",
    },
  });

const health = createRoute({
  method: "get",
  path: "/",
  summary: "Whether every accepted event is being fanned out within the recovery bound (operator token)",
  responses: {
    200: { description: "The outbox and endpoint backlog as of now", ...jsonContent(Health) },
    ...errorResponses(401),
  },
});

/** Mounted at `/v1/admin/health`. */
export const adminHealthRouter = createRouter();
adminHealthRouter.use("*", adminAuth());
adminHealthRouter.openapi(health, async (c) => {
  const now = Date.now();
  const [pending, endpoints] = await Promise.all([pendingEvents(c.env, c.var.meter, now), endpointStates(c.env, c.var.db)]);
  return c.json(
    {
      status: pending.over_bound > 0 || asleepCount(endpoints) > 0 ? ("stalled" as const) : ("ok" as const),
      recovery_bound_seconds: RECOVERY_BOUND_SECONDS,
      pending_events: pending,
      endpoints: {
        backlog: endpoints.reduce((sum, e) => sum + e.backlog, 0),
        oldest_undelivered_age_seconds: oldestAgeSeconds(endpoints, now),
        asleep: asleepCount(endpoints),
      },
      checked_at: iso(now),
    },
    200,
  );
});
