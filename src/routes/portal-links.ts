/**
 * Portal links (`/v1/portal_links`): one-time URLs that open the dashboard for
 * the caller's account without an API key, optionally limited to some webhooks
 * and optionally read-only, so a platform can hand its own customers a view of
 * their webhooks. Creating and revoking need `webhooks:write`, listing
 * `webhooks:read` (middleware/scopes.ts's defaults for POST/DELETE and GET).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, inArray } from "drizzle-orm";
import { portalLinks, webhooks } from "../db/schema";
import { createPortalLink, revokePortalLink } from "../dashboard/portal-store";
import { notFound, validationFailed } from "../lib/errors";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, idParam } from "../schemas/common";
import { jsonContent } from "./lookups";
import { createRouter } from "./router";
import { iso } from "./wire";

/** Longest life of a link (and of the session it opens): 7 days. */
export const MAX_PORTAL_SECONDS = 604_800;
/** Most webhooks one link may be limited to. */
const MAX_LINK_WEBHOOKS = 50;

const PortalLinkSchema = z
  .object({
    id: z.string(),
    webhook_ids: z.array(z.string()).nullable(),
    read_only: z.boolean(),
    status: z.enum(["unused", "opened", "expired", "revoked"]),
    created_at: z.string(),
    expires_at: z.string(),
    opened_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .openapi("PortalLink");

const createLink = createRoute({
  method: "post",
  path: "/",
  summary: "Create a one-time link that opens the dashboard for this account (optionally some webhooks only, optionally read-only)",
  request: {
    body: {
      required: true,
      ...jsonContent(
        z
          .strictObject({
            expires_in: z.number().int().min(1).max(MAX_PORTAL_SECONDS).default(3600),
            webhook_ids: z.array(z.string().regex(/^wh_[0-9A-Za-z]{1,64}$/, "must be a wh_ id")).min(1).max(MAX_LINK_WEBHOOKS).optional(),
            read_only: z.boolean().default(false),
          })
          .openapi({ example: { expires_in: 3600, webhook_ids: ["wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W"], read_only: true } }),
      ),
    },
  },
  responses: {
    201: { description: "The link; `url` is shown only here and works once", ...jsonContent(PortalLinkSchema.extend({ url: z.string() })) },
    ...errorResponses(400, 401, 403, 409, 415, 422),
  },
});

const listLinks = createRoute({
  method: "get",
  path: "/",
  summary: "List this account's portal links, newest first (never their URLs)",
  responses: { 200: { description: "Links", ...jsonContent(z.object({ data: z.array(PortalLinkSchema) })) }, ...errorResponses(401, 403) },
});

const revokeLink = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Revoke a portal link: it cannot be opened, and a session it opened ends on its next request",
  request: { params: idParam("pl", "pl_01HV6Z8K2M3N4P5Q6R7S8T9V0W") },
  responses: { 200: { description: "Revoked", ...jsonContent(PortalLinkSchema) }, ...errorResponses(401, 403, 404, 422) },
});

type LinkRow = typeof portalLinks.$inferSelect;

/** A link as the API shows it (never its token or key). */
export function portalLinkToWire(l: LinkRow, now = Date.now()) {
  const status = l.revokedAt != null ? "revoked" : l.expiresAt <= now ? "expired" : l.consumedAt != null ? "opened" : "unused";
  return {
    id: l.id,
    webhook_ids: l.webhookIds ?? null,
    read_only: l.readOnly,
    status: status as "unused" | "opened" | "expired" | "revoked",
    created_at: iso(l.createdAt),
    expires_at: iso(l.expiresAt),
    opened_at: l.consumedAt == null ? null : iso(l.consumedAt),
    revoked_at: l.revokedAt == null ? null : iso(l.revokedAt),
  };
}

export const portalLinksRouter = createRouter();
portalLinksRouter.use("*", apiKeyAuth());

portalLinksRouter.openapi(createLink, async (c) => {
  const input = c.req.valid("json");
  const { accountId, scopes } = c.var.principal;
  const wanted = input.webhook_ids ? [...new Set(input.webhook_ids)] : null;
  if (wanted) {
    // Another account's id is as unknown as a made-up one.
    const own = await c.var.db
      .select({ id: webhooks.id })
      .from(webhooks)
      .where(and(eq(webhooks.accountId, accountId), inArray(webhooks.id, wanted)));
    const known = new Set(own.map((w) => w.id));
    const issues = input.webhook_ids!.flatMap((id, i) => (known.has(id) ? [] : [{ field: `webhook_ids.${i}`, message: `unknown webhook '${id}'` }]));
    if (issues.length) throw validationFailed(issues);
  }
  const { row, token } = await createPortalLink(c, { accountId, creatorScopes: scopes, webhookIds: wanted, readOnly: input.read_only, expiresIn: input.expires_in });
  const url = `${new URL(c.req.url).origin}/dashboard/portal/${token}`;
  return c.json({ ...portalLinkToWire(row), url }, 201);
});

portalLinksRouter.openapi(listLinks, async (c) => {
  const rows = await c.var.db.select().from(portalLinks).where(eq(portalLinks.accountId, c.var.principal.accountId)).orderBy(desc(portalLinks.id)).limit(250);
  return c.json({ data: rows.map((r) => portalLinkToWire(r)) }, 200);
});

portalLinksRouter.openapi(revokeLink, async (c) => {
  const row = await revokePortalLink(c.var.db, c.var.principal.accountId, c.req.valid("param").id);
  if (!row) throw notFound("Portal link");
  return c.json(portalLinkToWire(row), 200);
});
