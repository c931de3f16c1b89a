/**
 * Every page after sign-in: reads the sealed session cookie, re-checks a
 * portal session's link (so revocation and expiry end it at once), and on
 * every POST checks the form's CSRF token and the portal's read-only flag.
 */
import { and, eq, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { apiKeys } from "../db/schema";
import { sha256Hex } from "../lib/encoding";
import { ApiError } from "../lib/errors";
import { apiCaller } from "./api-client";
import { openPortalSession } from "./portal-store";
import { endSession, readSession, sameToken } from "./session";
import type { ApiFetch, DashEnv } from "./types";

/** Paths a read-only portal may still POST to (they change nothing of the account). */
const READ_ONLY_POSTS = [/^\/sign-out$/, /^\/webhooks\/[^/]+\/preview$/];

/** Requires a session; sets `c.var.dash`. */
export const requireSession = (apiFetch: ApiFetch) =>
  createMiddleware<DashEnv>(async (c, next) => {
    const session = await readSession(c);
    if (!session) return c.redirect("/dashboard/sign-in", 303);
    if (session.exp <= Date.now()) {
      endSession(c);
      return c.redirect(`/dashboard/sign-in?ended=${session.kind}`, 303);
    }
    if (session.kind === "key") {
      const key = await c.var.db
        .select({ accountId: apiKeys.accountId })
        .from(apiKeys)
        .where(and(eq(apiKeys.keyHash, await sha256Hex(session.key)), isNull(apiKeys.revokedAt)))
        .get();
      if (!key) {
        endSession(c);
        return c.redirect("/dashboard/sign-in?ended=key", 303);
      }
      c.set("dash", { kind: "key", accountId: key.accountId, csrf: session.csrf, readOnly: false, webhookIds: null, api: apiCaller(c, apiFetch, session.key) });
    } else {
      const live = await openPortalSession(c.var.db, c.env, session.link);
      if (!live) {
        endSession(c);
        return c.redirect("/dashboard/sign-in?ended=portal", 303);
      }
      const { link, apiKey } = live;
      c.set("dash", { kind: "portal", accountId: link.accountId, csrf: session.csrf, readOnly: link.readOnly, webhookIds: link.webhookIds ?? null, api: apiCaller(c, apiFetch, apiKey) });
    }
    if (c.req.method === "POST") {
      const form = await c.req.parseBody();
      if (!sameToken(typeof form._csrf === "string" ? form._csrf : null, session.csrf)) {
        throw new ApiError("forbidden", "The form's security token is missing or wrong. Reload the page and try again.");
      }
      const path = new URL(c.req.url).pathname;
      if (c.var.dash.readOnly && !READ_ONLY_POSTS.some((r) => r.test(path))) throw new ApiError("forbidden", "This portal is read-only");
    }
    await next();
  });
