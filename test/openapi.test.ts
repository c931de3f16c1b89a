// The API description: /openapi.json covers every route the app has, and /docs (Scalar's reference,
// served from our own static assets) works offline and safely. Everything is derived from the app
// itself, so new routes are checked without touching this file. Scalar renders in the browser: that
// every operation shows up, and that "Send request" reaches the service, is test/browser/docs.test.mjs.
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { toOpenAPIPath } from "../src/routes/docs";
import pkg from "../package.json";
import { ADMIN, call } from "./support/helpers";

/** Routes the document need not describe: the description itself and the plain, non-API routes. */
const UNDOCUMENTED_OK = new Set(["GET /health", "GET /openapi.json", "GET /docs", "GET /docs/scalar.js", "GET /metrics"]);
/** Prefixes served with the operator token rather than an API key. */
const OPERATOR_PREFIXES = ["/v1/accounts", "/metrics", "/v1/admin"];
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components: Record<string, any>; [k: string]: any };

let doc: Doc;
beforeAll(async () => {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  doc = res.json;
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })));

/** Every (METHOD, /openapi/{path}) the app routes, middleware (`ALL`) left out. */
function appRoutes(): string[] {
  const app = createApp();
  return [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toUpperCase()} ${toOpenAPIPath(r.path)}`))];
}

const resolve = (value: any): any => {
  for (let i = 0; i < 10 && typeof value?.$ref === "string"; i++) {
    value = value.$ref
      .replace(/^#\//, "")
      .split("/")
      .reduce((node: any, key: string) => node?.[key], doc);
  }
  return value;
};

/** The example a media type object gives, directly or on its schema. */
const exampleOf = (media: any): unknown => {
  if (media.example !== undefined) return media.example;
  const named = media.examples && Object.values(media.examples)[0];
  if (named) return (named as { value?: unknown }).value;
  const schema = resolve(media.schema);
  return schema?.example !== undefined ? schema.example : Array.isArray(schema?.examples) ? schema.examples[0] : undefined;
};
const hasExample = (media: any) => exampleOf(media) !== undefined;

type ZodLike = { safeParse(v: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } };
const issues = (r: ReturnType<ZodLike["safeParse"]>) => (r.error?.issues ?? []).map((i) => `${i.path.map(String).join(".")} ${i.message}`).join("; ");

const under = (path: string, prefixes: string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));

describe("GET /openapi.json", () => {
  it("needs no auth and is an OpenAPI 3.1 document", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: "Rubric Webhooks API", version: expect.stringMatching(/^\d+\.\d+\.\d+/), description: expect.any(String) });
    expect(doc.servers).toEqual(expect.arrayContaining([expect.objectContaining({ url: "/" })]));
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0);
    expect(Object.keys(doc.components.schemas ?? {}).length).toBeGreaterThan(0);
    expect(doc.components.schemas.Error).toBeDefined();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.bearerAuth.description).toMatch(/rk_live_.*rk_test_/);
    expect(doc.components.securitySchemes.operatorToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    // Every $ref points at something in the document.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of new Set(refs)) expect(resolve({ $ref: ref }), ref).toBeDefined();
  });

  it("describes every route the app has, under its mount prefix", () => {
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThan(UNDOCUMENTED_OK.size);
    const missing = routes.filter((key) => {
      if (UNDOCUMENTED_OK.has(key)) return false;
      const [method, path] = key.split(" ") as [string, string];
      return !doc.paths[path]?.[method.toLowerCase()];
    });
    expect(missing, "routes missing from /openapi.json").toEqual([]);
    // ...and nothing the app does not route (an unprefixed `/` or `/{id}` would show up here).
    const known = new Set(routes);
    const phantom = operations()
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
      .filter((key) => !known.has(key));
    expect(phantom, "documented operations the app does not route").toEqual([]);
    expect(doc.paths["/v1/webhooks/{id}"]?.get).toBeDefined();
  });

  it("gives every operation a summary, a tag, an operationId and a 2xx response with a schema (a WebSocket upgrade: its 101)", () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const key = `${method.toUpperCase()} ${path}`;
      if (!op.summary?.trim()) problems.push(`${key}: no summary`);
      if (!op.tags?.length) problems.push(`${key}: no tag`);
      if (!op.operationId || ids.has(op.operationId)) problems.push(`${key}: missing or duplicate operationId`);
      ids.add(op.operationId);
      const ok = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      const withSchema = ok.some(([, r]) => Object.values(resolve(r)?.content ?? {}).some((media: any) => media?.schema));
      // A WebSocket route (rubric listen's) succeeds with 101 Switching Protocols, which has no body.
      const upgrade = method === "get" && op.responses?.["101"] !== undefined && ok.length === 0;
      if (!withSchema && !upgrade) problems.push(`${key}: no 2xx response with a schema`);
      for (const p of op.parameters ?? []) {
        const param = resolve(p);
        if (param.in === "path" && !path.includes(`{${param.name}}`)) problems.push(`${key}: path parameter ${param.name} not in the path`);
      }
      for (const name of path.match(/\{([^}]+)\}/g) ?? []) {
        const declared = (op.parameters ?? []).some((p: any) => resolve(p).in === "path" && `{${resolve(p).name}}` === name);
        if (!declared) problems.push(`${key}: path parameter ${name} not declared`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("has an example for every JSON request body", () => {
    const missing = operations()
      .filter(({ op }) => resolve(op.requestBody)?.content?.["application/json"])
      .filter(({ op }) => !hasExample(resolve(op.requestBody).content["application/json"]))
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(missing, "request bodies without an example").toEqual([]);
  });

  it("has examples that the route's own schemas accept (request bodies and path parameters)", () => {
    const problems: string[] = [];
    let checked = 0;
    for (const def of createApp().openAPIRegistry.definitions) {
      if (def.type !== "route") continue;
      const { method, path, request } = def.route;
      const op = doc.paths[path]?.[method];
      if (!op) continue; // reported by the coverage test
      const key = `${method.toUpperCase()} ${path}`;
      const bodySchema: ZodLike | undefined = (request?.body?.content?.["application/json"] as { schema?: ZodLike } | undefined)?.schema;
      if (bodySchema && "safeParse" in bodySchema) {
        const example = exampleOf(resolve(op.requestBody).content["application/json"]);
        const result = bodySchema.safeParse(example);
        checked++;
        if (example !== undefined && !result.success) problems.push(`${key} body example: ${issues(result)}`);
      }
      const params = request?.params;
      if (params && "safeParse" in params) {
        const values = Object.fromEntries(
          (op.parameters ?? [])
            .map(resolve)
            .filter((p: any) => p.in === "path")
            .map((p: any) => [p.name, p.example ?? p.schema?.example]),
        );
        if (Object.values(values).every((v) => v !== undefined)) {
          const result = params.safeParse(values);
          checked++;
          if (!result.success) problems.push(`${key} path parameter examples: ${issues(result)}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it("marks the operator-token routes and the public ones", () => {
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const { path, method, op } of operations()) {
      const key = `${method.toUpperCase()} ${path}`;
      const security: Array<Record<string, string[]>> = op.security ?? doc.security;
      for (const requirement of security) for (const name of Object.keys(requirement)) expect(schemes, `${key} uses ${name}`).toContain(name);
      const uses = (name: string) => security.some((r) => name in r);
      if (under(path, OPERATOR_PREFIXES)) {
        expect(uses("operatorToken") && !uses("bearerAuth"), `${key} takes the operator token`).toBe(true);
      } else if (path === "/health") expect(security).toEqual([]);
      else expect(uses("bearerAuth"), `${key} takes an API key`).toBe(true);
    }
  });

  it("documents the answers the API really gives (a sample checked against its schema's required fields)", async () => {
    const res = await call("POST", "/v1/accounts", { headers: ADMIN, body: doc.paths["/v1/accounts"]!.post.requestBody.content["application/json"].example });
    expect(res.status).toBe(201);
    const schema = resolve(doc.paths["/v1/accounts"]!.post.responses["201"].content["application/json"].schema);
    for (const field of schema.required ?? []) expect(res.json).toHaveProperty(field);
  });
});

/** An attribute's value as a browser reads it (HTMLRewriter gives the escaped source text). */
const unescapeHtml = (text: string) =>
  text.replace(/&(quot|#39|lt|gt|amp);/g, (_, e: string) => ({ quot: '"', "#39": "'", lt: "<", gt: ">", amp: "&" })[e]!);

/** What the page is made of: its scripts, any URL leaving the origin, and Scalar's configuration. */
async function readPage(html: string) {
  const found = { external: [] as string[], scripts: [] as Array<{ src: string | null; type: string | null; id: string | null }>, inlineCode: 0, config: "", lang: "" };
  let inScript = false;
  await new HTMLRewriter()
    .on("*", {
      element(el) {
        for (const [name = "", value = ""] of el.attributes) {
          if (["src", "href", "action", "formaction", "srcset", "poster", "data", "xlink:href"].includes(name) && /^\s*(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(value)) {
            found.external.push(`<${el.tagName} ${name}="${value}">`);
          }
        }
      },
    })
    .on("html", { element: (el) => void (found.lang = el.getAttribute("lang") ?? "") })
    .on("link, style, [style]", { element: (el) => void found.external.push(`<${el.tagName}> (Scalar brings its own styles)`) })
    .on("script", {
      element(el) {
        found.scripts.push({ src: el.getAttribute("src"), type: el.getAttribute("type"), id: el.getAttribute("id") });
        if (el.getAttribute("id") === "api-reference") found.config = unescapeHtml(el.getAttribute("data-configuration") ?? "");
        inScript = !el.hasAttribute("src");
      },
      text(t) {
        if (inScript && t.text.trim()) found.inlineCode++;
      },
    })
    .transform(new Response(html))
    .text();
  return found;
}

describe("GET /docs", () => {
  it("is a small page that loads Scalar from this origin, with strict security headers, and needs no auth", async () => {
    const res = await call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    const csp = Object.fromEntries(
      res.headers
        .get("Content-Security-Policy")!
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values.join(" ")]),
    );
    expect(csp["default-src"]).toBe("'none'");
    // Scripts from this origin only: no nonce, no inline code, no eval, no other host.
    expect(csp["script-src"]).toBe("'self'");
    expect(csp["connect-src"]).toBe("'self'");
    expect(csp["frame-ancestors"]).toBe("'none'");
    expect(csp["base-uri"]).toBe("'none'");
    // Scalar adds <style> elements at run time: styles may be inline, but from nowhere else.
    expect(csp["style-src"]).toBe("'self' 'unsafe-inline'");
    expect(JSON.stringify(csp)).not.toMatch(/unsafe-eval|\*|https?:|\/\//);

    const page = await readPage(res.text);
    expect(res.text).toMatch(/^<!doctype html>/i);
    expect(page.lang).toBe("en");
    expect(page.external, "external URLs").toEqual([]);
    expect(res.text).not.toMatch(/cdn|jsdelivr|unpkg|scalar\.com/i);
    // One script to run (the bundle, same origin) and one JSON data block (the configuration), no inline code.
    expect(page.scripts).toEqual([
      { src: null, type: "application/json", id: "api-reference" },
      { src: "/docs/scalar.js", type: null, id: null },
    ]);
    expect(page.inlineCode).toBe(0);
    expect(new TextEncoder().encode(res.text).byteLength).toBeLessThan(4 * 1024);
  });

  it("points Scalar at /openapi.json, at this service for Send request, and at the API key scheme", async () => {
    const config = JSON.parse((await readPage((await call("GET", "/docs")).text)).config);
    // The description it loads is the one this file checks, so every operation above is on the page.
    const spec = await call("GET", config.url);
    expect(spec.status).toBe(200);
    expect(spec.json).toEqual(doc);
    expect(operations().length).toBeGreaterThan(0);
    // Requests go straight to the origin that served the page: no proxy, nothing of Scalar's own.
    expect(config.servers).toEqual([{ url: "http://rubric.test", description: expect.any(String) }]);
    expect(config).not.toHaveProperty("proxyUrl");
    expect(config).not.toHaveProperty("proxy");
    expect(config).toMatchObject({ withDefaultFonts: false, telemetry: false, agent: { disabled: true }, showDeveloperTools: "never", persistAuth: false });
    expect(config.authentication.preferredSecurityScheme).toBe("bearerAuth");
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });

    // What Send request does with a pasted key: the configured server, the bearer header, a real answer.
    const account = await call("POST", "/v1/accounts", { headers: ADMIN, body: { name: "docs", mode: "test" } });
    expect(account.status).toBe(201);
    const listed = await exports.default.fetch(new Request(`${config.servers[0].url}/v1/webhooks?limit=5`, { headers: { Authorization: `Bearer ${account.json.api_key}` } }));
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ data: [], next_cursor: null });

    // Another host, another server URL: it follows the request, not a fixed setting.
    const other = await exports.default.fetch(new Request("https://hooks.example.test/docs"));
    expect(JSON.parse((await readPage(await other.text())).config).servers[0].url).toBe("https://hooks.example.test");
  });

  it("serves Scalar's pinned standalone bundle from the static assets, as JavaScript, revalidated by ETag", async () => {
    const res = await exports.default.fetch(new Request("http://rubric.test/docs/scalar.js"));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Cache-Control")).toBe("no-cache");
    const etag = res.headers.get("ETag");
    expect(etag).toBeTruthy();
    const text = await res.text();
    expect(new TextEncoder().encode(text).byteLength).toBeGreaterThan(1024 * 1024);
    // The version package.json pins (the bundle logs it when it starts).
    const version = pkg.devDependencies["@scalar/api-reference"];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(text).toContain(`@scalar/api-reference@${version}`);
    expect(text).toContain("createApiReference");

    const again = await exports.default.fetch(new Request("http://rubric.test/docs/scalar.js", { headers: { "If-None-Match": etag! } }));
    expect(again.status).toBe(304);
    await again.arrayBuffer();
    // No auth needed, and it is not mistaken for an API route.
    expect((await call("GET", "/docs/other.js")).status).toBe(404);
  });
});
