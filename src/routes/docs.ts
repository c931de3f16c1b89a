/**
 * The API's own description: `GET /openapi.json` (OpenAPI 3.1, generated from
 * the zod schemas that validate requests) and `GET /docs` (Scalar's API
 * reference, with "Send request" against this service; `GET /docs/scalar.js`
 * is its bundle, from the static assets, so the page works with no network).
 * None needs a key.
 *
 * The document is generated from the top-level app, after every router is
 * mounted, so its paths carry the mount prefixes (`/v1/webhooks/{id}`).
 */
import { ApiError } from "../lib/errors";
import { createRouter } from "./router";
import { buildOpenAPIDocument, type DocumentedApp, type OpenAPIDoc } from "./docs-document";
import { renderDocsPage, SCALAR_PATH, SPEC_PATH } from "./docs-page";

export { API_VERSION, buildOpenAPIDocument, toOpenAPIPath } from "./docs-document";

/**
 * The page's policy. Scripts only from this origin (the bundle; the config is a JSON
 * data block, never run). Styles also allow 'unsafe-inline': Scalar (Vue) adds its
 * stylesheets as <style> elements at run time, with no nonce to give them. Requests
 * (the description, "Send request") only to this origin. Images may also be data: URLs:
 * Scalar's stylesheets draw some icons (markdown alerts, previews) as inline SVG.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The docs router for `app`: mount it after every other router (`app.route("/", docsRouter(app))`).
 * The document is generated on first use, when the app is complete, and kept.
 */
export function docsRouter(app: DocumentedApp) {
  let cached: { doc: OpenAPIDoc; json: string } | undefined;
  const current = () => {
    if (!cached) {
      const doc = buildOpenAPIDocument(app);
      cached = { doc, json: JSON.stringify(doc) };
    }
    return cached;
  };

  const router = createRouter();
  router.get(SPEC_PATH, (c) =>
    c.body(current().json, 200, {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-cache",
      "X-Content-Type-Options": "nosniff",
    }),
  );
  router.get("/docs", async (c) => {
    const html = await renderDocsPage(current().doc, new URL(c.req.url).origin);
    return c.body(html, 200, {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": DOCS_CSP,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "X-Frame-Options": "DENY",
      "Cross-Origin-Opener-Policy": "same-origin",
    });
  });
  // The bundle, from Workers Static Assets (wrangler.toml `[assets]`, run_worker_first): the
  // asset server answers conditional requests (ETag → 304); we add the headers we want.
  router.get(SCALAR_PATH, async (c) => {
    const asset = await c.env.ASSETS.fetch(c.req.raw);
    if (!asset.ok && asset.status !== 304) {
      throw new ApiError("not_found", `${SCALAR_PATH} is missing from the static assets: run \`node scripts/docs-assets.mjs\``);
    }
    const headers = new Headers(asset.headers);
    headers.set("Content-Type", "text/javascript; charset=utf-8");
    // Revalidate every time (cheap: a 304), so a new Scalar version is picked up at once.
    headers.set("Cache-Control", "no-cache");
    headers.set("X-Content-Type-Options", "nosniff");
    headers.set("Cross-Origin-Resource-Policy", "same-origin");
    return new Response(asset.body, { status: asset.status, headers });
  });
  return router;
}
