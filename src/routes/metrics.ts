/**
 * Metrics: `GET /metrics` for the operator (Prometheus text, every account)
 * and `GET /v1/metrics` for an account (JSON). Counters are as of their last
 * flush (USAGE_FLUSH_SECONDS); backlog and in-flight are live.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { BILLABLE_OPS, LATENCY_BUCKETS_MS, OUTCOMES } from "../lib/counter-names";
import type { Counters } from "../metrics/counters";
import { costUsd } from "../metrics/prices";
import { pendingEvents } from "../metrics/pending";
import { renderPrometheus } from "../metrics/prometheus";
import { endpointStates, oldestAgeSeconds, readCounters } from "../metrics/snapshot";
import { adminAuth, apiKeyAuth } from "../middleware/auth";
import { errorResponses } from "../schemas/common";
import { createRouter } from "./router";

const pick = (c: Counters, names: readonly string[]) => Object.fromEntries(names.map((n) => [n, c[n as keyof Counters] ?? 0]));

/** Operator metrics, mounted at `/metrics`. */
export const prometheusRouter = createRouter();
prometheusRouter.use("*", adminAuth());
prometheusRouter.get("/", async (c) => {
  const [counters, endpoints, pending] = await Promise.all([readCounters(c.env, c.var.meter), endpointStates(c.env, c.var.db), pendingEvents(c.env, c.var.meter)]);
  return c.text(renderPrometheus(counters, endpoints, pending), 200, { "Content-Type": "text/plain; version=0.0.4" });
});

const accountMetrics = createRoute({
  method: "get",
  path: "/",
  summary: "This account's delivery metrics and billable operations",
  responses: {
    200: { description: "Metrics", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...errorResponses(401),
  },
});

/** Account metrics, mounted at `/v1/metrics`. */
export const metricsRouter = createRouter();
metricsRouter.use("*", apiKeyAuth());
metricsRouter.openapi(accountMetrics, async (c) => {
  const accountId = c.var.principal.accountId;
  const [counters, endpoints] = await Promise.all([readCounters(c.env, c.var.meter, accountId), endpointStates(c.env, c.var.db, accountId)]);
  const cost = costUsd(counters);
  const delivered = (counters.deliveries_succeeded ?? 0) + (counters.deliveries_failed ?? 0);
  return c.json(
    {
      ...pick(counters, OUTCOMES),
      attempt_latency_ms: {
        buckets: Object.fromEntries([...LATENCY_BUCKETS_MS.map((b) => [`le_${b}`, counters[`latency_le_${b}`] ?? 0]), ["le_inf", counters.latency_le_inf ?? 0]]),
        sum: counters.latency_sum_ms ?? 0,
        count: counters.attempts ?? 0,
      },
      billable_operations: pick(counters, BILLABLE_OPS),
      cost_usd: cost,
      cost_per_million_deliveries_usd: delivered ? (cost.total / delivered) * 1e6 : null,
      endpoints,
      oldest_undelivered_age_seconds: oldestAgeSeconds(endpoints),
    },
    200,
  );
});
