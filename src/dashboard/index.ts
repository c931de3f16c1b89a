/**
 * The customer dashboard, mounted at `/dashboard` by app.ts: server-rendered
 * pages over the API. Every page and form acts through the API in-process with
 * the session's key (api-client.ts), so validation, scopes and account
 * isolation are the API's own; the session adds only the portal limits
 * (guard.ts) and CSRF tokens.
 */
import { Hono } from "hono";
import { bodyLimits, headerLimits, urlLimit } from "../middleware/limits";
import { requestContext } from "../middleware/request-context";
import { assetsRouter } from "./assets";
import { handleError } from "./error-page";
import { activityRouter } from "./pages/activity";
import { authRouter } from "./pages/auth";
import { deliveryRouter } from "./pages/deliveries";
import { eventsRouter } from "./pages/events";
import { webhookActionsRouter } from "./pages/webhook-actions";
import { webhookListRouter } from "./pages/webhook-list";
import { requireSession } from "./require-session";
import { endSession } from "./session";
import type { ApiFetch, DashEnv } from "./types";

/** Headers of every dashboard answer: no outside resources, no framing, no referrer. */
const CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "script-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The dashboard app; `apiFetch` is the API app's own fetch. */
export function createDashboard(apiFetch: ApiFetch) {
  const app = new Hono<DashEnv>();
  app.use("*", requestContext() as never, urlLimit() as never, headerLimits() as never, bodyLimits() as never);
  app.use("*", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
  });
  app.route("/assets", assetsRouter);
  app.route("/", authRouter(apiFetch));
  app.use("*", requireSession(apiFetch));
  app.post("/sign-out", (c) => {
    endSession(c);
    return c.redirect("/dashboard/sign-in?ended=out", 303);
  });
  app.route("/", webhookListRouter);
  app.route("/", webhookActionsRouter);
  app.route("/", deliveryRouter);
  app.route("/", eventsRouter);
  app.route("/", activityRouter);
  app.notFound((c) => handleError(c, 404, "There is no such page."));
  app.onError((err, c) => handleError(c, err));
  return app;
}
