/**
 * The API's own description: `GET /openapi.json` (OpenAPI 3.1, generated from
 * the zod schemas that validate requests) and `GET /docs` (a self-contained,
 * offline API reference with a "Try it" form per operation). Neither needs a key.
 *
 * The document is generated from the top-level app, after every router is
 * mounted, so its paths carry the mount prefixes (`/v1/webhooks/{id}`).
 */
import { createRouter } from "../lib/router";
import { buildOpenAPIDocument, type DocumentedApp, type OpenAPIDoc } from "./docs-document";
import { renderDocsPage } from "./docs-page";

export { API_VERSION, buildOpenAPIDocument, toOpenAPIPath } from "./docs-document";

/** 16 random bytes, base64: a fresh CSP nonce for each page. */
function nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

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
  router.get("/openapi.json", (c) =>
    c.body(current().json, 200, {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-cache",
      "X-Content-Type-Options": "nosniff",
    }),
  );
  router.get("/docs", async (c) => {
    const n = nonce();
    const html = await renderDocsPage(current().doc, n);
    return c.body(html, 200, {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": [
        "default-src 'none'",
        `script-src 'nonce-${n}'`,
        `style-src 'nonce-${n}'`,
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join("; "),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "X-Frame-Options": "DENY",
      "Cross-Origin-Opener-Policy": "same-origin",
    });
  });
  return router;
}
