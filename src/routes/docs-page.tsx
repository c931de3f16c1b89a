/** @jsxImportSource hono/jsx */
/**
 * `GET /docs`: a shell for Scalar's API reference (`@scalar/api-reference`'s
 * standalone bundle, served by this Worker as `/docs/scalar.js`). Scalar reads
 * its configuration from the `#api-reference` element's `data-configuration`
 * attribute, so the page needs no inline script: a JSON data block is never run.
 */
import type { OpenAPIDoc } from "./docs-document";

/** Where the page loads Scalar from: our own origin, never a CDN. */
export const SCALAR_PATH = "/docs/scalar.js";
/** The description Scalar renders (docs.ts serves it). */
export const SPEC_PATH = "/openapi.json";

/**
 * Scalar's configuration for a page served at `origin`. "Send request" goes
 * straight to `origin` (no proxy), the key field is the bearer scheme's, and
 * everything that would call Scalar's servers is off: fonts, telemetry, the
 * agent, the developer toolbar (`showDeveloperTools`; 1.46's `showToolbar` is its deprecated alias).
 */
export function scalarConfig(origin: string) {
  return {
    url: SPEC_PATH,
    servers: [{ url: origin, description: "This service" }],
    authentication: { preferredSecurityScheme: "bearerAuth" },
    // Keys stay in the page's memory: never written to localStorage.
    persistAuth: false,
    withDefaultFonts: false,
    telemetry: false,
    agent: { disabled: true },
    showDeveloperTools: "never",
    documentDownloadType: "json",
    // Its "Open API Client" leaves the page for Scalar's hosted client; "Test Request" stays here.
    hideClientButton: true,
    // Every group open, as the reference used to be: one page to search with the browser's find.
    defaultOpenAllTags: true,
  };
}

/** The whole page as a string. */
export async function renderDocsPage(doc: OpenAPIDoc, origin: string): Promise<string> {
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${doc.info.title} ${doc.info.version} — reference`}</title>
      </head>
      <body>
        <noscript>
          <p>
            This reference is drawn by a script, which is off. The same description is at <a href={SPEC_PATH}>{SPEC_PATH}</a>.
          </p>
        </noscript>
        <script id="api-reference" type="application/json" data-configuration={JSON.stringify(scalarConfig(origin))}></script>
        <script src={SCALAR_PATH}></script>
      </body>
    </html>
  );
  return `<!doctype html>${await page.toString()}`;
}
