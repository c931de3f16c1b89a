/**
 * Builds the HTTP app: request context, one error shape, and one router per
 * resource mounted under /v1.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { RETRY_AFTER_SECONDS, storageErrorKind } from "./dispatch/storage-retry";
import { ApiError, type ErrorCode, UnavailableError } from "./lib/errors";
import { RateLimitedError } from "./middleware/rate-limit";
import { bodyLimits, headerLimits, jsonBodies, urlLimit } from "./middleware/limits";
import { requestContext } from "./middleware/request-context";
import { serverTiming } from "./middleware/server-timing";
import { accountsRouter } from "./routes/accounts";
import { adminHealthRouter } from "./routes/admin-health";
import { adminShardsRouter } from "./routes/admin-shards";
import { apiKeysRouter } from "./routes/api-keys";
import { deliveriesRouter } from "./routes/deliveries";
import { docsRouter } from "./routes/docs";
import { eventTypesRouter } from "./routes/event-types";
import { eventsRouter } from "./routes/events";
import { webhookDeliveriesRouter } from "./routes/webhook-deliveries";
import { templatesRouter } from "./routes/templates";
import { webhookToolsRouter } from "./routes/webhook-tools";
import { webhookListenRouter } from "./routes/webhook-listen";
import { metricsRouter, prometheusRouter } from "./routes/metrics";
import { probeRouter } from "./routes/probe";
import { createRouter } from "./routes/router";
import { webhooksRouter } from "./routes/webhooks";
import { portalLinksRouter } from "./routes/portal-links";
import { createDashboard } from "./dashboard";
import type { AppEnv } from "./types";

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  414: "uri_too_long",
  415: "unsupported_media_type",
  422: "validation_failed",
  429: "rate_limited",
};

function respondError(c: Context<AppEnv>, err: ApiError) {
  const requestId = c.get("requestId") ?? "unknown";
  c.header("X-Request-Id", requestId);
  if (err instanceof RateLimitedError || err instanceof UnavailableError) c.header("Retry-After", String(err.retryAfterSeconds));
  return c.json(err.body(requestId), err.status);
}

/** The whole API. */
export function createApp() {
  const app = createRouter();
  // The dashboard (HTML forms, not JSON) has its own request context and limits; mounted first, it answers before them.
  app.mount("/dashboard", createDashboard((req, env, ctx) => app.fetch(req, env, ctx)).fetch);
  app.use("*", requestContext());
  app.use("*", urlLimit(), headerLimits(), bodyLimits(), jsonBodies());

  app.get("/health", (c) => c.json({ ok: true }));
  app.route("/v1/accounts", accountsRouter);
  app.route("/v1/webhooks", webhooksRouter);
  app.route("/v1/webhooks", webhookDeliveriesRouter);
  app.route("/v1/webhooks", webhookToolsRouter);
  app.route("/v1/webhooks", webhookListenRouter);
  app.route("/v1/event_types", eventTypesRouter);
  app.route("/v1/api_keys", apiKeysRouter);
  app.route("/v1/templates", templatesRouter);
  app.route("/v1/portal_links", portalLinksRouter);
  // Where an ingest's time goes (the bench reads it): both ingest paths (and the list, which shares the first).
  app.use("/v1/events", serverTiming());
  app.use("/v1/events/batch", serverTiming());
  app.route("/v1/events", eventsRouter);
  app.route("/v1/deliveries", deliveriesRouter);
  app.route("/v1/metrics", metricsRouter);
  app.route("/v1/admin/probe", probeRouter);
  app.route("/v1/admin/health", adminHealthRouter);
  app.route("/v1/admin/shards", adminShardsRouter);
  app.route("/metrics", prometheusRouter);
  // Last: /openapi.json and /docs describe every route mounted above.
  app.route("/", docsRouter(app));

  app.notFound((c) => respondError(c, new ApiError("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.onError((err, c) => {
    if (err instanceof ApiError) return respondError(c, err);
    if (err instanceof HTTPException && CODE_BY_STATUS[err.status]) {
      return respondError(c, new ApiError(CODE_BY_STATUS[err.status]!, err.message));
    }
    // Storage failing for a moment (or overloaded) is load to shed, not a bug: 503 and when to come back.
    const kind = storageErrorKind(err);
    if (kind) {
      console.warn(`[${c.get("requestId")}] storage ${kind}; answering 503`, err);
      return respondError(c, new UnavailableError(RETRY_AFTER_SECONDS[kind]));
    }
    // Unexpected: log the detail, answer without it (it may hold internals).
    console.error(`[${c.get("requestId")}]`, err);
    return respondError(c, new ApiError("internal_error", "Internal error"));
  });
  return app;
}
